/**
 * SIGKILL of a process migrating a PostgreSQL database, at seeded random points: the database then
 * equals a replay of exactly the migrations its history records as applied (nothing half applied),
 * the server releases the dead session's advisory lock, and the next `up` finishes the rest. A kill
 * inside the `transaction: false` migration (an index built `CONCURRENTLY`) leaves its `started` row:
 * the next `up` refuses with `INCOMPLETE_MIGRATION` naming it (its owner's process is gone), and once
 * an operator forgets the attempt (the migration drops a half-built index itself), `up` finishes.
 *
 * 2 seeded trials in the quick run, 6 in the full one (`test/support/tier.ts`); a failure prints its
 * seed, and STEPWISE_SEED=<seed> replays it. STEPWISE_SOAK_PG_CRASH_TRIALS sets the count (`.ci/run`
 * runs 20); STEPWISE_SOAK=1 alone runs 100.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import pg from "pg";
import { migrate } from "../src/entries/pg.js";
import { matrixRoot } from "./support/driver-matrix.js";
import { PG_RACE_CONCURRENT_INDEX, PG_RACE_LATEST, PG_RACE_REGISTRY } from "./support/pg-race-registry.js";
import { digestPostgres } from "./support/postgres-digest.js";
import { createTestDatabase, postgresServer } from "./support/postgres-server.js";
import { chooseSeed, createPrng } from "./support/prng.js";
import { trialCount } from "./support/tier.js";

const trials = trialCount("STEPWISE_SOAK_PG_CRASH_TRIALS", { quick: 2, full: 6, soak: 100 });

/** Runs the crash child on `url` and SIGKILLs it `delayMs` after it starts migration `killAt`; resolves to what it printed. */
function runAndKill(url: string, sideEffectLog: string, killAt: number, delayMs: number): Promise<{ lines: string[]; killed: boolean }> {
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(matrixRoot, "test/support/pg-migrate-child.ts"), "crash", url, sideEffectLog], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    if (line === `migrating ${killAt}`) setTimeout(() => child.kill("SIGKILL"), delayMs);
  });
  return new Promise((resolve, reject) =>
    child.on("close", (code, signal) => {
      if (signal === "SIGKILL") resolve({ lines, killed: true });
      else if (code === 0) resolve({ lines, killed: false });
      else reject(new Error(`the child failed (${code}): ${stderr}`));
    }),
  );
}

/** Waits until no session but `client`'s is connected to its database (at most 30 s). */
async function waitForOtherSessions(client: pg.Client): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { rows } = await client.query<{ others: number }>("SELECT count(*)::int AS others FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
    if (rows[0]!.others === 0) return;
    assert.ok(Date.now() < deadline, "the killed client's session ended within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

type Digest = Awaited<ReturnType<typeof digestPostgres>>;
const replays = new Map<number, Promise<Digest>>();

/** The digest of a fresh database with `registry` applied up to `to` (nothing at 0, not even the history table), made once per `to`. */
function replay(to: number): Promise<Digest> {
  let digest = replays.get(to);
  if (digest === undefined) replays.set(to, (digest = replayOnce(to)));
  // Each trial's comparison edits what it is given (the history table it cannot have at 0).
  return digest.then((found) => structuredClone(found));
}

async function replayOnce(to: number): Promise<Digest> {
  const database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    if (to > 0) await migrate(client, PG_RACE_REGISTRY, { to });
    return await digestPostgres(client);
  } finally {
    await client.end();
    await database.drop();
  }
}

test(`SIGKILL while migrating PostgreSQL leaves a replay of the recorded history, and the next up finishes, ${trials} seeded trials`, { timeout: 600_000 }, async (t) => {
  await postgresServer();
  const seed = chooseSeed();
  const random = createPrng(seed);
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-pg-crash-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const full = await replay(PG_RACE_LATEST);
  let interrupted = 0;
  let incomplete = 0;
  for (let trial = 0; trial < trials; trial++) {
    const killAt = 1 + Math.floor(random() * PG_RACE_LATEST);
    const delayMs = Math.floor(random() * 12);
    const context = `seed ${seed}, trial ${trial} (kill ${delayMs} ms into migration ${killAt})`;
    const database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { killed } = await runAndKill(database.url, path.join(dir, `side-effects-${trial}.log`), killAt, delayMs);
      if (killed) interrupted++;
      // A COMMIT the child sent just before the kill may still be on its way through the server:
      // read the history only once the dead client's session has ended.
      await waitForOtherSessions(client);
      const hasHistory = (await client.query("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename = 'schema_migrations'")).rowCount === 1;
      const rows = hasHistory ? (await client.query<{ version: number; state: string }>("SELECT version::int AS version, state FROM schema_migrations ORDER BY version")).rows : [];
      const recorded = rows.filter((row) => row.state === "applied");
      const started = rows.filter((row) => row.state === "started").map((row) => row.version);
      assert.deepEqual(
        recorded.map((row) => row.version),
        recorded.map((_, index) => index + 1),
        `${context}: the applied history is a prefix of the registry`,
      );
      const at = recorded.length;
      const found = await digestPostgres(client);
      const expected = await replay(at);
      // A history table created by the run's first transaction, and nothing recorded in it, is all a kill before migration 1 commits can leave.
      if (at === 0) delete (found.tables as Record<string, unknown>).schema_migrations;
      if (started.length > 0) {
        // Killed inside the transaction: false migration: its started row, and whatever of its index it built, are its trace.
        assert.deepEqual(started, [PG_RACE_LATEST], `${context}: only the transaction: false migration can be left started`);
        const tables = found.tables as unknown as Record<string, { rows: unknown[]; indexes: string[] }>;
        tables.schema_migrations!.rows = tables.schema_migrations!.rows.filter((row) => (row as { state: string }).state === "applied");
        tables.t_9!.indexes = tables.t_9!.indexes.filter((index) => !index.includes(PG_RACE_CONCURRENT_INDEX));
      }
      assert.deepEqual(found, expected, `${context}: the database equals a replay of versions 1..${at}`);
      if (started.length > 0) {
        incomplete++;
        const refused = await migrate(client, PG_RACE_REGISTRY, { busyTimeoutMs: 20_000 }).then(
          () => assert.fail(`${context}: up ran over an interrupted transaction: false migration`),
          (error: { code?: string; details?: { version?: number } }) => error,
        );
        assert.equal(refused.code, "INCOMPLETE_MIGRATION", context);
        assert.equal(refused.details?.version, PG_RACE_LATEST, context);
        // What `repair --forget` does: the operator checked the migration is safe to run again.
        await client.query("DELETE FROM schema_migrations WHERE version = $1 AND state = 'started'", [PG_RACE_LATEST]);
      }
      // The dead session's lock is the server's to release; up waits for it up to the busy timeout.
      const rest = await migrate(client, PG_RACE_REGISTRY, { busyTimeoutMs: 20_000 });
      assert.deepEqual(
        rest.steps.map((step) => step.version),
        Array.from({ length: PG_RACE_LATEST - at }, (_, index) => at + index + 1),
        `${context}: the next up ran exactly the rest`,
      );
      assert.deepEqual(await digestPostgres(client), full, `${context}: after the next up, the database equals a full replay`);
      const locks = (
        await client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())",
        )
      ).rows[0]!.n;
      assert.equal(locks, 0, `${context}: no advisory lock is left held`);
    } finally {
      await client.end();
      await database.drop();
    }
  }
  assert.ok(interrupted > 0, `seed ${seed}: at least one trial was killed mid-run`);
  t.diagnostic(`seed ${seed}: ${interrupted} of ${trials} runs killed, ${incomplete} inside the transaction: false migration`);
});
