/**
 * Several app instances starting at once: 8 processes run `up` on one fresh file at the same moment.
 * Every one succeeds (no SQLITE_BUSY, no refusal), and every migration runs exactly once, counted
 * both inside the database and by a side effect outside it that a rollback could not undo. The
 * series includes a `transaction: false` migration, which runs without holding the lock, so the
 * other processes meet its `started` row and must wait for it rather than call it interrupted.
 *
 * `npm test` runs 20 trials; STEPWISE_SOAK=1 runs STEPWISE_SOAK_CONCURRENCY_TRIALS (default 100).
 */
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "./support/stepwise.js";
import { createTestProject, repoRoot, runCli } from "./support/project.js";
import type { WorkerReply, WorkerRequest } from "./support/concurrent-worker.js";
import { envCount } from "./support/prng.js";

const PROCESSES = 8;
const trials = process.env.STEPWISE_SOAK ? envCount("STEPWISE_SOAK_CONCURRENCY_TRIALS", 100) : 20;
const workerPath = path.join(repoRoot, "test", "support", "concurrent-worker.ts");

function startWorker(registryFile: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = fork(workerPath, [registryFile], { execArgv: ["--import", import.meta.resolve("tsx")], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.once("message", (message) => (message === "ready" ? resolve(child) : reject(new Error(`unexpected ${String(message)}`))));
    child.once("error", reject);
  });
}

function request(worker: ChildProcess, message: WorkerRequest): Promise<WorkerReply> {
  return new Promise((resolve) => {
    worker.once("message", (reply) => resolve(reply as WorkerReply));
    worker.send(message);
  });
}

/** Each migration ran once: by the processes' own account, in the database, and outside it. */
function assertExactlyOnce(databasePath: string, sideEffectLog: string, replies: readonly WorkerReply[], latest: number, context: string): void {
  const ran = replies.flatMap((reply) => (reply.ok ? reply.ran : [])).sort((a, b) => a - b);
  assert.deepEqual(ran, Array.from({ length: latest }, (_, i) => i + 1), `${context}: versions run across processes`);
  const db = new Database(databasePath, { readonly: true });
  try {
    const effects = db.prepare("SELECT version FROM effects ORDER BY version").pluck().all();
    assert.deepEqual(effects, [1, 2, 3, 4, 5], `${context}: effects rows`);
    const history = db.prepare("SELECT version, state FROM schema_migrations ORDER BY version").all();
    assert.deepEqual(history, [1, 2, 3, 4, 5].map((version) => ({ version, state: "applied" })), `${context}: history`);
  } finally {
    db.close();
  }
  const logged = readFileSync(sideEffectLog, "utf8").trim().split("\n").map((line) => Number(line.split(" ")[0])).sort((a, b) => a - b);
  assert.deepEqual(logged, [2, 3, 5], `${context}: TypeScript migration bodies invoked`);
}

test(`${PROCESSES} processes migrating one fresh file at once: all succeed, each migration once (${trials} trials)`, { timeout: 30 * 60_000 }, async (t) => {
  const project = createTestProject(t, { fixture: "concurrent-side-effects" });
  const migrations = await project.load();
  const workers = await Promise.all(Array.from({ length: PROCESSES }, () => startWorker(project.registryFile)));
  const exits = workers.map((worker) => new Promise<number | null>((resolve) => worker.once("exit", (code) => resolve(code))));
  let waitedOnStartedRow = 0;
  try {
    for (let trial = 0; trial < trials; trial++) {
      const databasePath = project.databasePath(`trial-${trial}.db`);
      const sideEffectLog = project.databasePath(`trial-${trial}.log`);
      writeFileSync(sideEffectLog, "");
      const journalMode = trial % 2 === 0 ? "delete" : "wal";
      if (journalMode === "wal") {
        // WAL is a property of the file; set it before the race, as an app's first start would.
        const db = new Database(databasePath);
        db.pragma("journal_mode = WAL");
        db.close();
      }
      const startAt = Date.now() + 150;
      const replies = await Promise.all(workers.map((worker) => request(worker, { databasePath, startAt, sideEffectLog })));
      const context = `trial ${trial} (${journalMode})`;
      for (const reply of replies) {
        assert.ok(reply.ok, `${context}: a process failed: ${reply.ok ? "" : `${reply.code} ${reply.sqliteCode} ${reply.message}`}`);
      }
      assertExactlyOnce(databasePath, sideEffectLog, replies, migrations.length, context);
      // Processes that ran nothing after 3 began were held back by its started row or the lock.
      waitedOnStartedRow += replies.filter((reply) => reply.ok && reply.ran.length === 0).length;
    }
  } finally {
    for (const worker of workers) worker.disconnect();
  }
  assert.deepEqual(await Promise.all(exits), workers.map(() => 0), "every worker exits 0");
  t.diagnostic(`${trials} trials × ${PROCESSES} processes; ${waitedOnStartedRow} process runs found everything done by others`);
});

test("8 real `stepwise up` processes on one fresh file all exit 0 and apply each migration once", { timeout: 5 * 60_000 }, async (t) => {
  const project = createTestProject(t, { fixture: "concurrent-side-effects" });
  const migrations = await project.load();
  const databasePath = project.databasePath("cli.db");
  const sideEffectLog = project.databasePath("cli.log");
  writeFileSync(sideEffectLog, "");
  const results = await Promise.all(
    Array.from({ length: PROCESSES }, () => runCli(["up", "--db", databasePath, "--json"], { cwd: project.root, env: { STEPWISE_SIDE_EFFECT_LOG: sideEffectLog } })),
  );
  for (const result of results) assert.equal(result.code, 0, result.stderr);
  const replies: WorkerReply[] = results.map((result) => ({ ok: true, ran: (JSON.parse(result.stdout) as { steps: Array<{ version: number }> }).steps.map((s) => s.version), skipped: [] }));
  assertExactlyOnce(databasePath, sideEffectLog, replies, migrations.length, "cli");
  const db = new Database(databasePath);
  t.after(() => db.close());
  assert.deepEqual(new MigrationManager(db, migrations).up().steps, [], "a ninth up changes nothing");
});
