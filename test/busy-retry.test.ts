/**
 * How the sync runner waits out SQLITE_BUSY by the clock. It runs an operation again only where
 * SQLite refused it whole, judged before the attempt, and waits out SQLITE_BUSY and nothing else. It
 * gives the connection its busy timeout back, and a refused shorter timeout ends the wait with
 * SQLITE_BUSY. The refusals are better-sqlite3's own error class, thrown by a wrapped driver at the
 * moment a test needs them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import type { SyncDriver } from "../src/core/driver.js";
import { retryWhileBusy, runSync } from "../src/core/runners.js";
import { begin, commit, run, type Step } from "../src/core/step.js";
import { caught } from "./support/registry-builders.js";
import { createBetterSqlite3Driver } from "./support/stepwise.js";

const busy = () => new Database.SqliteError("database is locked", "SQLITE_BUSY");

function openDriver(t: TestContext): { db: Database.Database; driver: SyncDriver<Database.Database> } {
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-busy-"));
  const db = new Database(path.join(dir, "app.db"));
  db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY)");
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, driver: createBetterSqlite3Driver(db) };
}

test("a statement whose SQLITE_BUSY rolled its transaction back is not run again alone, outside it: the refusal reaches the caller and nothing is committed", (t) => {
  const { db, driver } = openDriver(t);
  let refusals = 0;
  // SQLite may roll a whole transaction back on SQLITE_BUSY (sqlite3_get_autocommit's documentation); this refusal does so.
  const rollingBack: SyncDriver<Database.Database> = {
    ...driver,
    run: (sql, params) => {
      if (sql.includes("(2)") && refusals++ === 0) {
        db.exec("ROLLBACK");
        throw busy();
      }
      return driver.run(sql, params);
    },
  };
  function* migration(): Step<void> {
    yield* begin();
    yield* run("INSERT INTO items VALUES (1)");
    yield* run("INSERT INTO items VALUES (2)");
    yield* commit();
  }
  const error = caught(() => runSync(migration(), rollingBack));
  assert.equal(error.code, "SQLITE_BUSY");
  assert.equal(refusals, 1, "the statement was run again after its transaction was rolled back");
  assert.deepEqual(db.prepare("SELECT id FROM items").all(), []);
});

test("a statement outside a transaction refused with SQLITE_BUSY is run again until it passes, and the connection keeps its busy timeout", (t) => {
  const { driver } = openDriver(t);
  driver.setBusyTimeout(2_000);
  let attempts = 0;
  const result = retryWhileBusy(driver, () => {
    if (++attempts < 3) throw busy();
    return driver.getBusyTimeout();
  });
  assert.equal(attempts, 3);
  assert.ok(result < 2_000, `the last attempt was not given what was left of the timeout: ${result} ms`);
  assert.equal(driver.getBusyTimeout(), 2_000);
});

test("a refused setting of what is left of the busy timeout ends the wait with SQLITE_BUSY, not with the setting's error, and runs nothing again", (t) => {
  const { driver } = openDriver(t);
  driver.setBusyTimeout(150);
  let shortenings = 0;
  const refusingShorterTimeouts: SyncDriver<Database.Database> = {
    ...driver,
    setBusyTimeout: (ms) => {
      if (ms !== 150) {
        shortenings++;
        throw new TypeError("the connection refused the setting");
      }
      driver.setBusyTimeout(ms);
    },
  };
  let attempts = 0;
  const error = caught(() =>
    retryWhileBusy(refusingShorterTimeouts, () => {
      attempts++;
      throw busy();
    }),
  );
  assert.equal(error.code, "SQLITE_BUSY");
  // An attempt with the whole timeout again could wait up to twice it.
  assert.deepEqual({ attempts, shortenings }, { attempts: 1, shortenings: 1 });
  assert.equal(driver.getBusyTimeout(), 150);
});

test("SQLITE_LOCKED, a conflict within the connection that no wait ends, is not run again", (t) => {
  const { driver } = openDriver(t);
  driver.setBusyTimeout(5_000);
  let attempts = 0;
  const started = performance.now();
  const error = caught(() =>
    retryWhileBusy(driver, () => {
      attempts++;
      throw new Database.SqliteError("database table is locked", "SQLITE_LOCKED");
    }),
  );
  assert.equal(error.code, "SQLITE_LOCKED");
  assert.equal(attempts, 1);
  assert.ok(performance.now() - started < 2_500, "the refusal waited for the busy timeout");
});
