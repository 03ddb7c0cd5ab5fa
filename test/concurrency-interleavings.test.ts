/**
 * Two connections on one file, with another's commit forced into the moment after a process read its
 * plan and before it holds the write lock: rare between real processes, so forced here. Run on every
 * driver of this runtime that declares `fileLocking` (npm test runs this file under Node 20, Node 24
 * and Bun, so every such driver meets it); the change counter that notices the commit is each
 * driver's own.
 */
import assert from "node:assert/strict";
import { renameSync } from "node:fs";
import { test } from "node:test";
import type { StepwiseError } from "../src/core/errors.js";
import type { SyncMigrationManager } from "../src/core/manager.js";
import type { MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { describeEachDriver, type DriverHarness, type TestDatabase } from "./support/driver-matrix.js";

/**
 * Runs `action` once, just before `manager` first asks for the write lock. Anchored on the driver's
 * `begin("immediate")` primitive, the public boundary of the executor, not on how it reads its state.
 */
function interleaveBeforeFirstWriteLock(manager: SyncMigrationManager<unknown, MigrationRegistry>, action: () => void): () => boolean {
  let fired = false;
  const driver = manager.driver as { begin: (mode: "immediate" | "deferred") => void };
  const begin = driver.begin.bind(driver);
  driver.begin = (mode) => {
    if (mode === "immediate" && !fired) {
      fired = true;
      action();
    }
    begin(mode);
  };
  return () => fired;
}

/** Three migrations, each leaving a row that says it ran; inline, so Bun (which tsx cannot load a registry under) runs them too. */
const migrations: MigrationRegistry = [
  "CREATE TABLE side_effects (id INTEGER PRIMARY KEY, version INTEGER NOT NULL); INSERT INTO side_effects (version) VALUES (1);",
  "CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL); INSERT INTO items (label) VALUES ('first'); INSERT INTO side_effects (version) VALUES (2);",
  "INSERT INTO items (label) SELECT 'bulk ' || value FROM json_each('[1,2,3]'); INSERT INTO side_effects (version) VALUES (3);",
].map((upSql, index): MigrationEntry => ({
  kind: "sql",
  version: index + 1,
  name: `m${index + 1}`,
  file: `migrations/00${index + 1}_m${index + 1}.sql`,
  description: null,
  checksum: `sha256:${index + 1}`,
  reversible: false,
  transaction: true,
  disableForeignKeys: false,
  upSql,
  downSql: null,
}));

/** Two connections to one fresh file: one that locks late, one early. */
async function twoConnections(h: DriverHarness, run: (late: TestDatabase, early: TestDatabase) => void): Promise<void> {
  await h.withDatabase(async (late) => run(late, await late.reopen()));
}

await describeEachDriver("a commit between another process's plan and its lock", (h) => {
  test("a process that planned before another committed re-plans instead of applying twice", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    await twoConnections(h, (late, early) => {
      // `late` reads its plan, then `early` applies everything before `late` takes the write lock.
      const manager = late.manager(migrations);
      const interleaved = interleaveBeforeFirstWriteLock(manager, () => early.manager(migrations).up());
      assert.deepEqual(manager.up().steps, []);
      assert.ok(interleaved());
      assert.deepEqual(
        late.rows("SELECT version FROM side_effects ORDER BY version").map((row) => row.version),
        [1, 2, 3],
      );
    });
  });

  test("a process that sees another's first migration land before it locks does not call the database unmanaged", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    await twoConnections(h, (late, early) => {
      // `late` planned on an empty file; by the time it locks, `early` has made tables and a history.
      const manager = late.manager(migrations);
      const interleaved = interleaveBeforeFirstWriteLock(manager, () => early.manager(migrations).up({ to: 1 }));
      assert.deepEqual(
        manager.up().steps.map((step) => step.version),
        [2, 3],
      );
      assert.ok(interleaved());
      assert.deepEqual(
        late.rows("SELECT version FROM side_effects ORDER BY version").map((row) => row.version),
        [1, 2, 3],
      );
    });
  });

  test("down({ steps: 1 }) that planned before another process applied one more reverts one migration from where the database stands under the lock, and reports that version", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    await twoConnections(h, (late, early) => {
      // Each down drops what its up made, so the number reverted shows in the tables left.
      const reversible = migrations.map((entry, index) => ({ ...entry, reversible: true, downSql: `DELETE FROM side_effects WHERE version = ${index + 1};` }));
      late.manager(reversible).up({ to: 2 });
      const manager = late.manager(reversible);
      const interleaved = interleaveBeforeFirstWriteLock(manager, () => early.manager(reversible).up());
      const result = manager.down({ steps: 1 });
      assert.ok(interleaved());
      assert.deepEqual([result.fromVersion, result.toVersion, result.steps.map((step) => step.version)], [3, 2, [3]]);
      assert.deepEqual(
        late.rows("SELECT version FROM side_effects ORDER BY version").map((row) => row.version),
        [1, 2],
      );
    });
  });

  for (const journalMode of ["WAL", "DELETE"]) {
    test(`a file renamed over the database (a restore) while a run waits for its lock: the run refuses (SQLITE_READONLY_DBMOVED) and writes neither file, in ${journalMode} mode`, async (t) => {
      if (h.lacks(t, "fileLocking")) return;
      await h.withDatabase(async (late) => {
        late.exec(`PRAGMA journal_mode = ${journalMode}`);
        late.manager(migrations).up({ to: 1 });
        // The restored database, made beside the live one: at version 1 too.
        late.exec(`VACUUM INTO '${late.file}.restored'`);
        const manager = late.manager(migrations);
        const interleaved = interleaveBeforeFirstWriteLock(manager, () => renameSync(`${late.file}.restored`, late.file));
        assert.throws(
          () => manager.up(),
          (error: StepwiseError) => error.code === "DATABASE_UNUSABLE" && (error.details as { sqliteCode: string }).sqliteCode === "SQLITE_READONLY_DBMOVED",
        );
        assert.ok(interleaved());
        // Neither the file the connection had open nor the one now at the path got migration 2.
        const versions = (db: TestDatabase) => db.rows("SELECT version FROM side_effects ORDER BY version").map((row) => row.version);
        assert.deepEqual(versions(late), [1]);
        assert.deepEqual(versions(await late.reopen()), [1]);
      });
    });
  }

  test("an up that planned before another process applied everything reports the version it found under the lock", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    await twoConnections(h, (late, early) => {
      late.manager(migrations).up({ to: 1 });
      const manager = late.manager(migrations);
      const interleaved = interleaveBeforeFirstWriteLock(manager, () => early.manager(migrations).up());
      const result = manager.up();
      assert.ok(interleaved());
      assert.deepEqual([result.fromVersion, result.toVersion, result.steps.length], [3, 3, 0]);
    });
  });
});
