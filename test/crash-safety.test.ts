/**
 * Crash safety: a child process applies a long series of migrations (some heavy on data, some table
 * rebuilds) and is killed with SIGKILL at a random moment. After each kill the database must hold
 * exactly the migrations its history records: its schema and every table's rows equal a clean replay
 * of those migrations, nothing is half-applied, and the next `up` carries on.
 *
 * `npm test` runs CRASH_TRIALS_DEFAULT trials; STEPWISE_SOAK=1 runs STEPWISE_SOAK_CRASH_TRIALS
 * (default 300). STEPWISE_SEED replays a failing sequence.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "./support/stepwise.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { digestDatabase, type DatabaseDigest } from "./support/database-digest.js";
import { createTestProject, repoRoot } from "./support/project.js";
import { chooseSeed, createPrng, envCount } from "./support/prng.js";

const CRASH_TRIALS_DEFAULT = 30;
const LANES = 2;
const trials = process.env.STEPWISE_SOAK ? envCount("STEPWISE_SOAK_CRASH_TRIALS", 300) : CRASH_TRIALS_DEFAULT;
const workerPath = path.join(repoRoot, "test", "support", "migrate-worker.ts");
const tsxLoader = import.meta.resolve("tsx");

interface TrialOutcome {
  readonly killed: boolean;
  /** From "ready" to exit: how long the migrations ran. */
  readonly ranMs: number;
  readonly exitCode: number | null;
  readonly stderr: string;
}

/** When to kill a worker: `delayMs` after it announces that migration `atVersion` is starting. */
interface KillPlan {
  readonly atVersion: number;
  readonly delayMs: number;
}

/**
 * Starts the worker and kills it per `plan` unless it finishes first (`plan` null: let it finish).
 * Kills are timed from the worker's own progress, not from a wall-clock calibration, so a loaded or
 * an idle machine gives the same spread of kill points.
 */
function runWorkerAndKill(registryFile: string, databasePath: string, journalMode: string, plan: KillPlan | null): Promise<TrialOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", tsxLoader, workerPath, registryFile, databasePath, journalMode], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    let readyAt = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (readyAt === 0 && stdout.includes("ready\n")) readyAt = performance.now();
      if (plan && timer === undefined && stdout.includes(`migrating ${plan.atVersion}\n`)) {
        timer = setTimeout(() => {
          killed = child.kill("SIGKILL");
        }, plan.delayMs);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: killed && signal === "SIGKILL", ranMs: readyAt === 0 ? 0 : performance.now() - readyAt, exitCode: code, stderr });
    });
  });
}

/** Replays the registry once on a fresh database; snapshots and durations after every version. */
function replay(migrations: MigrationRegistry, file: string): { snapshots: DatabaseDigest[]; durations: number[] } {
  const db = new Database(file);
  try {
    db.pragma("foreign_keys = ON");
    const snapshots: DatabaseDigest[] = [digestDatabase(db)];
    const durations: number[] = [0];
    new MigrationManager(db, migrations, {
      onEvent: (event) => {
        if (event.type !== "migrated") return;
        durations[event.version] = event.durationMs;
        snapshots[event.version] = digestDatabase(db);
      },
    }).up();
    return { snapshots, durations };
  } finally {
    db.close();
  }
}

/** The invariant after a kill: history, schema and data agree with a replay of what is recorded. */
function assertConsistent(databasePath: string, migrations: MigrationRegistry, replay: DatabaseDigest[], context: string): number {
  const db = new Database(databasePath);
  try {
    db.pragma("foreign_keys = ON");
    const manager = new MigrationManager(db, migrations);
    const history = manager.history();
    assert.ok(history.every((row) => row.state === "applied"), `${context}: a started row remained`);
    const recorded = history.length;
    assert.deepEqual(
      history.map((row) => row.version),
      Array.from({ length: recorded }, (_, i) => i + 1),
      `${context}: history is not a prefix of the registry`,
    );
    assert.deepEqual(digestDatabase(db), replay[recorded], `${context}: database differs from a replay of versions 1..${recorded}`);
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok", `${context}: integrity_check failed`);
    assert.deepEqual(db.pragma("foreign_key_check"), [], `${context}: foreign key violations`);
    // The next up has a plan, not a refusal.
    assert.equal(manager.planUp().steps.length, migrations.length - recorded, `${context}: next up would not run the rest`);
    return recorded;
  } finally {
    db.close();
  }
}

test(`SIGKILL at random moments never leaves a partial migration (${trials} trials)`, { timeout: 60 * 60_000 }, async (t) => {
  const seed = chooseSeed();
  const random = createPrng(seed);
  const project = createTestProject(t, { fixture: "crash-series" });
  const migrations = await project.load();
  const { snapshots: replaySnapshots, durations } = replay(migrations, project.databasePath("replay.db"));

  const recordedCounts = new Map<number, number>();
  let kills = 0;
  let completions = 0;
  const runLane = async (lane: number, laneTrials: number) => {
    let series = 0;
    let databasePath = project.databasePath(`lane${lane}-series${series}.db`);
    let journalMode = random() < 0.5 ? "wal" : "delete";
    let recorded = 0;
    for (let trial = 0; trial < laneTrials; trial++) {
      // Any pending migration, then a delay within about its own length: the kill lands before its
      // body, inside it, during its commit, or in a later migration.
      const atVersion = recorded + 1 + Math.floor(random() * (migrations.length - recorded));
      const delayMs = Math.floor(random() * (durations[atVersion]! * 2 + 5));
      const context = `seed ${seed} (STEPWISE_SEED=${seed}), lane ${lane}, trial ${trial}, ${journalMode}, kill ${delayMs} ms into migration ${atVersion}`;
      const outcome = await runWorkerAndKill(project.registryFile, databasePath, journalMode, { atVersion, delayMs });
      assert.ok(outcome.killed || outcome.exitCode === 0, `${context}: the worker failed on its own:\n${outcome.stderr}`);
      recorded = assertConsistent(databasePath, migrations, replaySnapshots, context);
      recordedCounts.set(recorded, (recordedCounts.get(recorded) ?? 0) + 1);
      if (outcome.killed) kills++;
      if (recorded === migrations.length) {
        completions++;
        series++;
        databasePath = project.databasePath(`lane${lane}-series${series}.db`);
        journalMode = random() < 0.5 ? "wal" : "delete";
        recorded = 0;
      }
    }
    // Whatever state the lane ended in, one more up finishes the series.
    const finish = await runWorkerAndKill(project.registryFile, databasePath, journalMode, null);
    assert.equal(finish.exitCode, 0, finish.stderr);
    assert.equal(assertConsistent(databasePath, migrations, replaySnapshots, `seed ${seed}, lane ${lane}, final up`), migrations.length);
  };
  await Promise.all(Array.from({ length: LANES }, (_, lane) => runLane(lane, Math.ceil(trials / LANES) - (lane < trials % LANES || trials % LANES === 0 ? 0 : 1))));

  t.diagnostic(`seed ${seed}: ${kills} kills, ${completions} completed series; killed at versions ${JSON.stringify(Object.fromEntries([...recordedCounts].sort((a, b) => a[0] - b[0])))}`);
  // A test that never kills mid-series proves nothing.
  // About 80% of trials die mid-series by construction; half is a bar a working harness never misses.
  assert.ok(kills >= trials * 0.5, `seed ${seed}: only ${kills} of ${trials} trials were killed`);
  assert.ok(recordedCounts.size >= 3, `seed ${seed}: kills landed at too few positions`);
});
