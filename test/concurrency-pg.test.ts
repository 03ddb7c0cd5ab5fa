/**
 * Several processes racing `up` on one PostgreSQL database: 8 long-lived worker processes
 * (test/support/pg-migrate-child.ts), each with its own `pg.Pool`, start `up` at the same instant on
 * a fresh database per trial; the last migration builds an index `CONCURRENTLY` (`transaction:
 * false`) while the others wait. The session advisory lock serialises them: every migration runs exactly
 * once (by the workers' own account, in the database, and in a log outside it), and every worker
 * succeeds.
 *
 * The quick run runs 2 trials, the full one 6 (`test/support/tier.ts`); STEPWISE_SOAK_PG_CONCURRENCY_TRIALS
 * sets the count (`.ci/run` runs 20); STEPWISE_SOAK=1 alone runs 100.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface, type Interface } from "node:readline";
import { test } from "node:test";
import pg from "pg";
import { matrixRoot } from "./support/driver-matrix.js";
import { PG_RACE_CONCURRENT_INDEX, PG_RACE_LATEST, PG_RACE_SIDE_EFFECT_VERSIONS, type PgWorkerReply } from "./support/pg-race-registry.js";
import { trialCount } from "./support/tier.js";
import { createTestDatabase, postgresServer } from "./support/postgres-server.js";

const PROCESSES = 8;
const trials = trialCount("STEPWISE_SOAK_PG_CONCURRENCY_TRIALS", { quick: 2, full: 6, soak: 100 });

/** A worker process and the lines it prints, one at a time. */
interface Worker {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: AsyncIterator<string>;
  readonly exited: Promise<number | null>;
}

async function startWorker(url: string): Promise<Worker> {
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(matrixRoot, "test/support/pg-migrate-child.ts"), "serve"], {
    env: { ...process.env, STEPWISE_PG_URL: url },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const reader: Interface = createInterface({ input: child.stdout });
  const lines = reader[Symbol.asyncIterator]();
  const first = await lines.next();
  assert.equal(first.done, false, `worker exited before it was ready: ${stderr}`);
  assert.deepEqual(JSON.parse(first.value as string), { ready: true });
  return { child, lines, exited };
}

test(`${PROCESSES} processes racing up on one PostgreSQL database apply each migration exactly once, ${trials} trials`, { timeout: 600_000 }, async (t) => {
  const server = await postgresServer();
  const workers = await Promise.all(Array.from({ length: PROCESSES }, () => startWorker(server.url("postgres"))));
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-pg-race-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  try {
    for (let trial = 0; trial < trials; trial++) {
      const database = await createTestDatabase();
      const sideEffectLog = path.join(dir, `side-effects-${trial}.log`);
      writeFileSync(sideEffectLog, "");
      // Far enough ahead that every worker has the request and waits for the same instant.
      const startAt = Date.now() + 300;
      for (const worker of workers) worker.child.stdin.write(`${JSON.stringify({ url: database.url, startAt, sideEffectLog })}\n`);
      const replies = await Promise.all(workers.map(async (worker) => JSON.parse((await worker.lines.next()).value as string) as PgWorkerReply));
      const context = `trial ${trial}`;
      for (const reply of replies) assert.ok(reply.ok, `${context}: a worker failed: ${JSON.stringify(reply)}`);
      const ran = replies.flatMap((reply) => (reply.ok ? reply.ran : [])).sort((a, b) => a - b);
      const all = Array.from({ length: PG_RACE_LATEST }, (_, index) => index + 1);
      assert.deepEqual(ran, all, `${context}: the workers between them ran each migration once`);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const history = (await client.query<{ version: string }>("SELECT version FROM schema_migrations WHERE state = 'applied' ORDER BY version")).rows.map((row) => Number(row.version));
        assert.deepEqual(history, all, `${context}: history`);
        const effects = (await client.query<{ version: number }>("SELECT version FROM side_effects ORDER BY version")).rows.map((row) => row.version);
        assert.deepEqual(effects, [...PG_RACE_SIDE_EFFECT_VERSIONS], `${context}: rows written by the bodies`);
        const index = (
          await client.query<{ valid: boolean }>("SELECT i.indisvalid AS valid FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid WHERE c.relname = $1", [
            PG_RACE_CONCURRENT_INDEX,
          ])
        ).rows;
        assert.deepEqual(index, [{ valid: true }], `${context}: the index built CONCURRENTLY outside a transaction is there and valid`);
        const locks = (
          await client.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())",
          )
        ).rows[0]!.n;
        assert.equal(locks, 0, `${context}: no advisory lock is left held`);
      } finally {
        await client.end();
      }
      const logged = readFileSync(sideEffectLog, "utf8")
        .split("\n")
        .filter(Boolean)
        .map(Number)
        .sort((a, b) => a - b);
      assert.deepEqual(logged, [...PG_RACE_SIDE_EFFECT_VERSIONS], `${context}: bodies run, as logged outside the database`);
      await database.drop();
    }
  } finally {
    for (const worker of workers) worker.child.stdin.end();
  }
  const codes = await Promise.all(workers.map((worker) => worker.exited));
  assert.deepEqual(
    codes,
    Array.from({ length: PROCESSES }, () => 0),
    "every worker exits 0",
  );
});
