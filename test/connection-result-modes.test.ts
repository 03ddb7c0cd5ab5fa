/**
 * A connection the app opened to read rows its own way (integers as BigInt: better-sqlite3's and
 * libsql's `defaultSafeIntegers(true)`, node:sqlite's `readBigInts`, bun:sqlite's `safeIntegers`;
 * rows as arrays: node:sqlite's `returnArrays`). stepwise's own reads take numbers and objects
 * whatever the connection's default; a migration body, and the rows `forEachBatch` hands it, read as
 * the app's connection does, on the copies the safety nets replay on too. Real files, every driver.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { rehearseUp, verifySchema, type MigrationContext, type MigrationEntry } from "./support/stepwise.js";
import { toPlainError } from "../src/core/error-factories.js";
import { StepwiseError } from "../src/core/errors.js";
import { describeEachDriver, skipWithReason } from "./support/driver-matrix.js";
import { makeTempDir } from "./support/project.js";
import { sqlEntry, tsEntry } from "./support/registry-builders.js";

// Variable specifiers: each module exists only on its runtime.
const NODE_SQLITE: string = "node:sqlite";
const BUN_SQLITE: string = "bun:sqlite";

interface Native {
  prepare(sql: string): { get(...params: unknown[]): unknown };
  close(): void;
}

/** The driver's library opening `file` so that it reads integers as BigInt, or `null` where the library has no such switch. */
async function openReadingBigInts(driver: string, file: string, options: Record<string, unknown> = {}): Promise<Native | null> {
  if (driver === "better-sqlite3" || driver === "never-seen") return new (await import("better-sqlite3")).default(file).defaultSafeIntegers(true) as unknown as Native;
  if (driver === "libsql") return new (await import("libsql")).default(file).defaultSafeIntegers(true) as unknown as Native;
  if (driver === "node-sqlite") return new ((await import(NODE_SQLITE)) as { DatabaseSync: new (file: string, options: object) => Native }).DatabaseSync(file, { readBigInts: true, ...options });
  if (driver === "bun-sqlite") return new ((await import(BUN_SQLITE)) as { Database: new (file: string, options: object) => Native }).Database(file, { safeIntegers: true, create: true });
  return null;
}

/** What each library's refusal of a key past 2^53 tells the app to switch on. */
const BIG_INT_ADVICE: Readonly<Record<string, string>> = {
  "better-sqlite3": "call db.defaultSafeIntegers(true)",
  libsql: "call db.defaultSafeIntegers(true)",
  "node-sqlite": "new DatabaseSync(file, { readBigInts: true })",
  "bun-sqlite": "new Database(file, { safeIntegers: true })",
  "sql.js": "sql.js cannot read them otherwise",
  "never-seen": "reads integers as BigInt",
};

/** Migration 1: a table whose keys reach past 2^53 (`keys`, as SQL integers). */
const keysTable = (keys: readonly string[]): MigrationEntry => sqlEntry(1, `CREATE TABLE w (k INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO w (k) VALUES ${keys.map((key) => `(${key})`).join(", ")};`);

/** Migration 2: walks `w` by `k`, two rows a batch, noting each key it is handed. */
const walkEntry = (seen: unknown[]): MigrationEntry =>
  tsEntry(2, { up: (_db: unknown, context: MigrationContext) => void context.forEachBatch({ table: "w", key: "k", batchSize: 2 }, (rows) => void seen.push(...rows.map((row) => row.k))) });

const pastSafeIntegers = ["1", "9007199254740993"];

await describeEachDriver("connections that read rows their own way", (h) => {
  test("a data migration walking a key past 2^53 is applied, rehearsed, and replayed by verifySchema and migrate({ verifySchema }): every copy reads integers as the app's connection does", async (t) => {
    const db = await openReadingBigInts(h.name, path.join(makeTempDir(t), "app.db"));
    if (db === null) return skipWithReason(t, `${h.name} has no switch to read integers as BigInt`);
    t.after(() => db.close());
    const seen: unknown[] = [];
    const migrations = [keysTable(pastSafeIntegers), walkEntry(seen)];
    const manager = new h.entry.MigrationManager(db as never, migrations);
    manager.up({ to: 1 });

    const { rehearsal } = rehearseUp(manager);
    assert.equal(rehearsal.failure, null);
    assert.deepEqual(seen.splice(0), [1n, 9007199254740993n]);

    assert.equal(manager.up().toVersion, 2);
    assert.deepEqual(seen.splice(0), [1n, 9007199254740993n]);

    assert.equal(verifySchema(manager).ok, true);
    assert.deepEqual(seen.splice(0), [1n, 9007199254740993n]);
    assert.equal(h.entry.migrate(db as never, migrations, { verifySchema }).toVersion, 2);
    assert.deepEqual(seen.splice(0), [1n, 9007199254740993n]);
  });

  test("a key past 2^53 on a connection reading integers as numbers: refused with the row's exact key, and the advice names this library's switch", async () => {
    for (const key of ["9007199254740993", "-9007199254740993"]) {
      await h.withDatabase((db) => {
        const seen: unknown[] = [];
        const manager = db.manager([keysTable(["1", key]), walkEntry(seen)]);
        manager.up({ to: 1 });
        const { rehearsal } = rehearseUp(manager);
        assert.equal(rehearsal.failure?.code, "BATCH_KEY_INVALID");
        // Plain data: the CLI prints it with JSON.stringify.
        assert.equal(JSON.parse(JSON.stringify(rehearsal)).failure.fields.value, key);
        const error = (() => {
          try {
            manager.up();
          } catch (caught) {
            return caught;
          }
          return assert.fail("the walk was not refused");
        })();
        assert.ok(error instanceof StepwiseError);
        assert.equal(error.code, "BATCH_KEY_INVALID");
        assert.equal(error.details.problem, "unsafe-integer");
        assert.equal(error.details.value, BigInt(key));
        assert.equal(toPlainError(error).value, key);
        assert.match(error.message, new RegExp(`the key ${key} is beyond 2\\^53`));
        assert.ok(error.message.includes(BIG_INT_ADVICE[h.name]!), error.message);
        assert.deepEqual(seen, []);
        assert.equal(manager.currentVersion(), 1);
      });
    }
  });

  // node:sqlite's own option (Node 24), so only its suite has these.
  if (h.name !== "node-sqlite") return;
  for (const readBigInts of [false, true]) {
    test(`returnArrays${readBigInts ? " and readBigInts" : ""}: every later start, status, history, verifySchema, rehearseUp and down work, and bodies read arrays on every copy`, async (t) => {
      const file = path.join(makeTempDir(t), "app.db");
      const open = async () => (await openReadingBigInts("node-sqlite", file, { returnArrays: true, readBigInts }))!;
      const seen: unknown[] = [];
      const shapes: boolean[] = [];
      const readsArrays: MigrationEntry = tsEntry(3, {
        up: (db: Native) => void shapes.push(Array.isArray(db.prepare("SELECT count(*) FROM w").get())),
        down: () => undefined,
      });
      const migrations = [keysTable(["1", "2", "3"]), walkEntry(seen), readsArrays];
      let db = await open();
      assert.equal(h.entry.migrate(db as never, migrations.slice(0, 1)).toVersion, 1);
      db.close();
      db = await open();
      t.after(() => db.close());
      const manager = new h.entry.MigrationManager(db as never, migrations);
      assert.equal(rehearseUp(manager).rehearsal.failure, null);
      assert.equal(h.entry.migrate(db as never, migrations).toVersion, 3);
      const key = (n: number) => (readBigInts ? BigInt(n) : n);
      assert.deepEqual(seen.splice(0), [1, 2, 3, 1, 2, 3].map(key));
      assert.deepEqual(shapes.splice(0), [true, true]);
      assert.equal(manager.status().currentVersion, 3);
      assert.deepEqual(
        manager.history().map((row) => row.version),
        [1, 2, 3],
      );
      assert.equal(verifySchema(manager).ok, true);
      assert.deepEqual(shapes.splice(0), [true]);
      assert.equal(manager.down({ steps: 1 }).toVersion, 2);
      assert.equal(h.entry.migrate(db as never, migrations, { verifySchema }).toVersion, 3);
    });
  }
});
