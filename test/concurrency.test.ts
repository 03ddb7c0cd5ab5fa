/**
 * Several app instances starting at once, on every driver that reaches a file several processes
 * share (the sync drivers with file locking, and libsql-client on a `file:` URL; PostgreSQL's series
 * is `concurrency-pg.test.ts`): processes, each in the driver's own runtime, run `up` on one fresh file
 * at the same moment. Every one succeeds (no SQLITE_BUSY, no refusal), and every migration runs
 * exactly once, counted both inside the database and by a side effect outside it that a rollback
 * could not undo. The series includes a `transaction: false` migration, which runs without holding
 * the lock, so the other processes meet its `started` row and must wait for it rather than call it
 * interrupted.
 *
 * `npm test` runs 4 processes, 2 trials per driver (one per journal mode); STEPWISE_SOAK=1 runs 8
 * processes and STEPWISE_SOAK_CONCURRENCY_TRIALS (default 100) trials per driver.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { createTestProject, runCli } from "./support/project.js";
import { describeEachChildDriver, type ParentReader } from "./support/child-drivers.js";
import type { WorkerReply } from "./support/migrate-child.js";
import { envCount } from "./support/prng.js";
import { DRIVERS } from "./support/driver-matrix.js";

const PROCESSES = process.env.STEPWISE_SOAK ? 8 : 4;
const trials = process.env.STEPWISE_SOAK ? envCount("STEPWISE_SOAK_CONCURRENCY_TRIALS", 100) : 2;

/** Each migration ran once: by the processes' own account, in the database, and outside it. */
function assertExactlyOnce(reader: ParentReader, sideEffectLog: string, replies: readonly WorkerReply[], latest: number, context: string): void {
  const ran = replies.flatMap((reply) => (reply.ok ? reply.ran : [])).sort((a, b) => a - b);
  assert.deepEqual(
    ran,
    Array.from({ length: latest }, (_, i) => i + 1),
    `${context}: versions run across processes`,
  );
  const effects = reader.driver.query("SELECT version FROM effects ORDER BY version", []).map((row) => row.version);
  assert.deepEqual(effects, [1, 2, 3, 4, 5], `${context}: effects rows`);
  const history = reader.driver.query("SELECT version, state FROM schema_migrations ORDER BY version", []).map((row) => ({ ...row }));
  assert.deepEqual(
    history,
    [1, 2, 3, 4, 5].map((version) => ({ version, state: "applied" })),
    `${context}: history`,
  );
  const logged = readFileSync(sideEffectLog, "utf8")
    .trim()
    .split("\n")
    .map((line) => Number(line.split(" ")[0]))
    .sort((a, b) => a - b);
  assert.deepEqual(logged, [2, 3, 5], `${context}: TypeScript migration bodies invoked`);
}

await describeEachChildDriver(
  "processes racing up",
  (h) => {
    test(`${PROCESSES} processes migrating one fresh file at once: all succeed, each migration once (${trials} trials)`, { timeout: 60 * 60_000 }, async (t) => {
      if (h.lacksSharedFile(t)) return;
      const project = createTestProject(t, { fixture: h.fixture("concurrent-side-effects") });
      const migrations = await project.load();
      const workers = await Promise.all(Array.from({ length: PROCESSES }, () => h.startWorker(project.registryFile)));
      let waitedOnOthers = 0;
      const started = performance.now();
      try {
        for (let trial = 0; trial < trials; trial++) {
          const databasePath = project.databasePath(`trial-${trial}.db`);
          const sideEffectLog = project.databasePath(`trial-${trial}.log`);
          writeFileSync(sideEffectLog, "");
          const journalMode = trial % 2 === 0 ? "delete" : "wal";
          if (journalMode === "wal") {
            // WAL is a property of the file; set it before the race, as an app's first start would.
            const reader = await h.openReader(databasePath);
            reader.driver.exec("PRAGMA journal_mode = WAL");
            reader.close();
          }
          const startAt = Date.now() + 150;
          const replies = await Promise.all(workers.map((worker) => worker.request({ databasePath, startAt, sideEffectLog })));
          const context = `${h.name} trial ${trial} (${journalMode})`;
          for (const reply of replies) {
            assert.ok(reply.ok, `${context}: a process failed: ${reply.ok ? "" : `${reply.code} ${reply.nativeCode} ${reply.message}`}`);
          }
          const reader = await h.openReader(databasePath);
          try {
            assertExactlyOnce(reader, sideEffectLog, replies, migrations.length, context);
          } finally {
            reader.close();
          }
          // Through a worker, so through the driver under test (libsql-client's registry has async bodies).
          assert.deepEqual(await workers[0]!.request({ databasePath, startAt: 0, sideEffectLog }), { ok: true, ran: [], skipped: [] }, `${context}: one more up changes nothing`);
          // Processes that ran nothing found everything done by others: held back by the lock or the started row.
          waitedOnOthers += replies.filter((reply) => reply.ok && reply.ran.length === 0).length;
        }
      } finally {
        assert.deepEqual(
          await Promise.all(workers.map((worker) => worker.stop())),
          workers.map(() => 0),
          "every worker exits 0",
        );
      }
      t.diagnostic(`${h.name}: ${trials} trials × ${PROCESSES} processes in ${Math.round(performance.now() - started)} ms; ${waitedOnOthers} process runs found everything done by others`);
    });
  },
  { clients: true },
);

// The real bin on its default driver, better-sqlite3 (the library-level race above covers every driver); its file is read through libsql's driver.
test(`${PROCESSES} real \`stepwise up\` processes on one fresh file all exit 0 and apply each migration once`, { timeout: 5 * 60_000 }, async (t) => {
  const project = createTestProject(t, { fixture: "concurrent-side-effects" });
  const migrations = await project.load();
  const databasePath = project.databasePath("cli.db");
  const sideEffectLog = project.databasePath("cli.log");
  writeFileSync(sideEffectLog, "");
  const results = await Promise.all(Array.from({ length: PROCESSES }, () => runCli(["up", "--db", databasePath, "--json"], { cwd: project.root, env: { STEPWISE_SIDE_EFFECT_LOG: sideEffectLog } })));
  for (const result of results) assert.equal(result.code, 0, result.stderr);
  const replies: WorkerReply[] = results.map((result) => ({ ok: true, ran: (JSON.parse(result.stdout) as { steps: Array<{ version: number }> }).steps.map((s) => s.version), skipped: [] }));
  const libsql = DRIVERS.find((candidate) => candidate.name === "libsql")!;
  const native = await libsql.open(databasePath);
  t.after(() => void native.close());
  const { MigrationManager: LibsqlManager } = await libsql.load();
  const manager = new LibsqlManager(native as never, migrations);
  assertExactlyOnce({ driverName: "libsql", driver: manager.driver, manager: () => manager, close: () => {} }, sideEffectLog, replies, migrations.length, "cli");
  assert.deepEqual(manager.up().steps, [], "one more up changes nothing");
});
