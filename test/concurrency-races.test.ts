/**
 * Processes (4; 6 with STEPWISE_SOAK=1), each in the driver's own runtime, run `up` on one fresh file
 * at the same moment, on every driver that reaches a file several processes share (libsql-client on
 * a `file:` URL included). The series' last migration holds the write lock for a
 * while (a bulk insert), so the others queue on it. Each must succeed, and each migration's side
 * effect must happen exactly once. (The forced interleavings of two connections in one process are
 * in `concurrency-interleavings.test.ts`.)
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { createTestProject } from "./support/project.js";
import { describeEachChildDriver } from "./support/child-drivers.js";

const PROCESSES = process.env.STEPWISE_SOAK ? 6 : 4;

await describeEachChildDriver(
  "processes racing up on a migration that holds the lock",
  (h) => {
    test(`${PROCESSES} processes migrating one fresh file at once all succeed and apply each migration once`, { timeout: 5 * 60_000 }, async (t) => {
      if (h.lacksSharedFile(t)) return;
      const project = createTestProject(t, { fixture: h.fixture("runtime/side-effects") });
      const migrations = await project.load();
      const file = project.databasePath();
      assert.equal(existsSync(file), false);

      // Loaded first, released together, so start-up time does not serialize them.
      const workers = await Promise.all(Array.from({ length: PROCESSES }, () => h.startWorker(project.registryFile)));
      const startAt = Date.now() + 200;
      const replies = await Promise.all(workers.map((worker) => worker.request({ databasePath: file, startAt, sideEffectLog: project.databasePath("unused.log") })));
      assert.deepEqual(
        await Promise.all(workers.map((worker) => worker.stop())),
        workers.map(() => 0),
        "every process exits 0",
      );

      const applied: number[] = [];
      for (const reply of replies) {
        assert.ok(reply.ok, `a process failed: ${reply.ok ? "" : `${reply.code} ${reply.nativeCode} ${reply.message}`}`);
        applied.push(...reply.ran);
      }
      assert.deepEqual(applied.sort(), [1, 2, 3], "each migration must be applied by exactly one process");

      const reader = await h.openReader(file);
      t.after(() => reader.close());
      const value = (sql: string) => Object.values(reader.driver.query(sql, [])[0] ?? {})[0];
      assert.deepEqual(
        reader.driver.query("SELECT version FROM side_effects ORDER BY version", []).map((row) => row.version),
        [1, 2, 3],
      );
      assert.equal(value("SELECT count(*) FROM counter"), 1);
      assert.equal(value("SELECT count(*) FROM items"), 3 + 2_000);
      assert.deepEqual(
        reader.driver.query("SELECT version, state FROM schema_migrations ORDER BY version", []).map((row) => [row.version, row.state]),
        [
          [1, "applied"],
          [2, "applied"],
          [3, "applied"],
        ],
      );
      assert.equal(migrations.length, 3);
      assert.equal(value("PRAGMA user_version"), 3);
    });
  },
  { clients: true },
);
