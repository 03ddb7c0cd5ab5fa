/**
 * Crash safety, on every driver with a file and a lock: a child process, in the driver's own runtime,
 * applies a long series of migrations (some heavy on data, some table rebuilds, one outside a
 * transaction that commits batch by batch under the owner lock) and is killed with SIGKILL at a
 * seeded random moment. After each kill the database must hold exactly the migrations its history
 * records: its schema and every table's rows equal a clean replay of those migrations on the same
 * driver, nothing is half-applied, and the next `up` carries on. A kill inside the `transaction:
 * false` migration leaves its `started` row: the next `up` must call it interrupted
 * (`INCOMPLETE_MIGRATION`, never `MIGRATION_IN_PROGRESS`: the killed owner's lock died with it), and
 * once an operator resolves it (`repair --forget`, right for this migration, which is safe to run
 * again) `up` finishes and the database equals the full replay.
 *
 * Every state is read by the next child through the driver under test, before it migrates.
 * The quick run (`npm test`) runs 2 trials on one driver, the full run (`STEPWISE_FULL=1`, `.ci/run`)
 * 4 on every driver, and STEPWISE_SOAK=1 runs STEPWISE_SOAK_CRASH_TRIALS (default 300) per driver
 * (`test/support/tier.ts`). STEPWISE_SEED replays a failing sequence.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_BUSY_TIMEOUT_MS } from "../src/core/options.js";
import { ownerLockFileName } from "../src/drivers/sqlite-shared.js";
import type { MigrationRegistry } from "../src/core/types.js";
import type { DatabaseDigest } from "./support/database-digest.js";
import { createTestProject } from "./support/project.js";
import { chooseSeed, createPrng } from "./support/prng.js";
import { trialCount } from "./support/tier.js";
import { collect, describeEachChildDriver, type ChildDriverHarness } from "./support/child-drivers.js";
import type { Inspection, ReplayReport } from "./support/migrate-child.js";

const LANES = 2;
/** At most this many extra trials, each aimed at a kind of migration the seeded kills missed. */
const AIMED_TRIES = 4;
const trials = trialCount("STEPWISE_SOAK_CRASH_TRIALS", { quick: 2, full: 4, soak: 300 });

/** When to kill a child: `delayMs` after it announces that migration `atVersion` is starting. */
interface KillPlan {
  readonly atVersion: number;
  readonly delayMs: number;
}

interface TrialOutcome {
  readonly killed: boolean;
  /** The database as the child found it, before it migrated. */
  readonly before: Inspection | null;
  /** The database as the child left it, when it finished. */
  readonly after: Inspection | null;
  /** The interrupted migration `up` refused, when it did. */
  readonly refused: { code: string; version: number } | null;
  /** The last migration the child announced before it died or finished. */
  readonly lastStarted: number | null;
  readonly exitCode: number | null;
  readonly stderr: string;
}

/**
 * Runs a `crash` child and kills it per the plan `choose` makes from the database as the child found
 * it, unless it finishes first (`null`: let it finish). Kills are timed from the child's own
 * progress, not from a wall-clock calibration, so a loaded or an idle machine gives the same spread
 * of kill points.
 */
function runAndKill(h: ChildDriverHarness, registryFile: string, databasePath: string, journalMode: string, choose: (found: Inspection) => KillPlan | null): Promise<TrialOutcome> {
  return new Promise((resolve, reject) => {
    const child = h.spawnChild("crash", [registryFile, databasePath, journalMode]);
    let stdout = "";
    let stderr = "";
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    let plan: KillPlan | null = null;
    let before: Inspection | null = null;
    let after: Inspection | null = null;
    let refused: TrialOutcome["refused"] = null;
    let lastStarted: number | null = null;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      for (let end = stdout.indexOf("\n"); end >= 0; end = stdout.indexOf("\n")) {
        const line = stdout.slice(0, end);
        stdout = stdout.slice(end + 1);
        const space = line.indexOf(" ");
        const [word, rest] = space < 0 ? [line, ""] : [line.slice(0, space), line.slice(space + 1)];
        if (word === "state") {
          before = JSON.parse(rest) as Inspection;
          plan = choose(before);
        } else if (word === "done") after = JSON.parse(rest) as Inspection;
        else if (word === "refused") refused = JSON.parse(rest) as TrialOutcome["refused"];
        else if (word === "migrating") {
          lastStarted = Number(rest);
          if (plan && timer === undefined && lastStarted === plan.atVersion) timer = setTimeout(() => (killed = child.kill("SIGKILL")), plan.delayMs);
        }
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: killed && signal === "SIGKILL", before, after, refused, lastStarted, exitCode: code, stderr });
    });
  });
}

/** What the history records: `applied` versions 1..recorded, and the version of a `started` row, if any. */
interface Recorded {
  readonly recorded: number;
  readonly started: number | null;
}

/**
 * The invariant after a kill: history, schema and data agree with a replay of what is recorded. A
 * `started` row may follow them only for a `transaction: false` migration, whose partial batches are
 * in the database by design; then `user_version` still names the last applied one.
 */
function assertConsistent(state: Inspection, migrations: MigrationRegistry, replay: readonly DatabaseDigest[], context: string, forgotten: number | null = null): Recorded {
  const applied = state.history.filter((row) => row.state === "applied").map((row) => row.version);
  const recorded = applied.length;
  assert.deepEqual(
    applied,
    Array.from({ length: recorded }, (_, i) => i + 1),
    `${context}: history is not a prefix of the registry`,
  );
  const others = state.history.filter((row) => row.state !== "applied");
  assert.equal(state.integrity, "ok", `${context}: integrity_check failed`);
  assert.equal(state.foreignKeyViolations, 0, `${context}: foreign key violations`);
  if (others.length === 0) {
    // A forgotten run's partial batches stand, with no row, until the next run of that migration commits its started row (its
    // `migrating` event comes first): what the operator accepted with "forget". The next up must still end equal to the replay.
    if (forgotten === recorded + 1) assert.equal(state.digest.userVersion, recorded, `${context}: user_version counts the forgotten migration`);
    else assert.deepEqual(state.digest, replay[recorded], `${context}: database differs from a replay of versions 1..${recorded}`);
    return { recorded, started: null };
  }
  assert.deepEqual(others, [{ version: recorded + 1, state: "started" }], `${context}: unexpected history rows`);
  assert.equal(migrations[recorded]?.transaction, false, `${context}: a started row for a migration that runs in a transaction`);
  assert.equal(state.digest.userVersion, recorded, `${context}: user_version counts an unfinished migration`);
  return { recorded, started: recorded + 1 };
}

// One project for every driver: generating the registry is the slow part of setting one up.
const project = createTestProject({ after }, { fixture: "crash-series" });
const migrations = await project.load();
const outsideTransaction = migrations.find((entry) => !entry.transaction)!.version;

await describeEachChildDriver("SIGKILL crash series", (h) => {
  test(`SIGKILL at seeded random moments never leaves a partial migration (${trials} trials)`, { timeout: 60 * 60_000 }, async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    const seed = chooseSeed();
    const replay = JSON.parse(await collect(h.spawnChild("replay", [project.registryFile, project.databasePath(`${h.name}-replay.db`)]))) as ReplayReport;
    const started = performance.now();

    const recordedCounts = new Map<number, number>();
    let kills = 0;
    let killsInTransaction = 0;
    let killsHoldingOwnerLock = 0;
    let startedRowsResolved = 0;
    let completions = 0;
    /**
     * `spread` trials alternate between the two kinds of migration and spread their kill points; an
     * aimed lane kills inside the body of the kind it names, for a seed whose spread missed one.
     */
    const runLane = async (lane: number, laneTrials: number, aim: "spread" | "transaction" | "outside" = "spread") => {
      // A generator per lane: lanes run side by side, so a shared one would hand out its numbers in whatever order they ask.
      const random = createPrng(seed + lane);
      let series = 0;
      let databasePath = project.databasePath(`${h.name}-lane${lane}-series${series}.db`);
      let journalMode = random() < 0.5 ? "wal" : "delete";
      // What the previous child left: known when it finished, learned from the next child's own reading after a kill.
      let expected: Recorded | null = { recorded: 0, started: null };
      // The migration a killed child had forgotten (repair --forget) and not yet started again, if any.
      let forgotten: number | null = null;
      const check = (outcome: TrialOutcome, context: string): void => {
        assert.ok(outcome.killed || outcome.exitCode === 0, `${context}: the child failed on its own:\n${outcome.stderr}`);
        assert.ok(outcome.before, `${context}: the child never read the database:\n${outcome.stderr}`);
        const found = assertConsistent(outcome.before, migrations, replay.digests, `${context}, as found`, forgotten);
        // Found still without its row, and this child killed too before it could write one: still forgotten.
        const stillForgotten = forgotten !== null && found.started === null && found.recorded + 1 === forgotten;
        forgotten = outcome.killed ? (outcome.refused?.version ?? (stillForgotten ? forgotten : null)) : null;
        if (expected !== null) assert.deepEqual(found, expected, `${context}: the database changed between two runs`);
        recordedCounts.set(found.recorded, (recordedCounts.get(found.recorded) ?? 0) + 1);
        // A started row whose owner was killed is interrupted, not in progress: its owner lock died with it.
        assert.deepEqual(outcome.refused, found.started === null ? null : { code: "INCOMPLETE_MIGRATION", version: found.started }, `${context}: the next up's refusal`);
        if (found.started !== null) startedRowsResolved++;
        if (outcome.killed) {
          kills++;
          if (outcome.lastStarted === outsideTransaction) killsHoldingOwnerLock++;
          else killsInTransaction++;
          expected = null;
          return;
        }
        assert.ok(outcome.after, `${context}: finished without a final reading:\n${outcome.stderr}`);
        assert.deepEqual(assertConsistent(outcome.after, migrations, replay.digests, `${context}, finished`), { recorded: migrations.length, started: null });
        completions++;
        series++;
        databasePath = project.databasePath(`${h.name}-lane${lane}-series${series}.db`);
        journalMode = random() < 0.5 ? "wal" : "delete";
        expected = { recorded: 0, started: null };
      };
      for (let trial = 0; trial < laneTrials; trial++) {
        let context = `${h.name}, seed ${seed} (STEPWISE_SEED=${seed}), lane ${lane}, trial ${trial}, ${journalMode}`;
        const outcome = await runAndKill(h, project.registryFile, databasePath, journalMode, (found) => {
          const applied = found.history.filter((row) => row.state === "applied").length;
          if (applied === migrations.length) return null;
          // Half the trials aim inside the migration that runs outside a transaction (it holds the
          // owner lock throughout, and its body commits batch by batch), early enough to land in its
          // body however much faster than the replay this run goes. The rest aim at a pending
          // transactional migration that does real work, with a delay within about its own length:
          // before its body, inside it, during its commit, or in a later migration.
          const aimOutside = aim === "spread" ? (trial + lane) % 2 === 0 && applied < outsideTransaction : aim === "outside";
          const heavy = migrations.filter((entry) => entry.version > applied && entry.version < outsideTransaction && replay.durations[entry.version]! >= 5);
          // Past the heavy ones, only quick migrations are left: killing in them every time would keep
          // a lane there, so most such runs are let finish and a new series starts.
          if (!aimOutside && heavy.length === 0 && applied >= outsideTransaction && random() < 0.7) return null;
          const atVersion = aimOutside
            ? outsideTransaction
            : heavy.length > 0
              ? heavy[Math.floor(random() * heavy.length)]!.version
              : applied + 1 + Math.floor(random() * (migrations.length - applied));
          const duration = replay.durations[atVersion]!;
          const reach = atVersion === outsideTransaction ? duration * 0.25 : aim === "transaction" ? duration * 0.8 : duration * 1.5 + 2;
          const delayMs = Math.floor(random() * reach);
          context += `, kill ${delayMs} ms into migration ${atVersion}`;
          return { atVersion, delayMs };
        });
        check(outcome, context);
      }
      // Whatever state the lane ended in, one more up finishes the series.
      const finish = await runAndKill(h, project.registryFile, databasePath, journalMode, () => null);
      check(finish, `${h.name}, seed ${seed}, lane ${lane}, final up`);
    };
    await Promise.all(Array.from({ length: LANES }, (_, lane) => runLane(lane, Math.ceil(trials / LANES) - (lane < trials % LANES || trials % LANES === 0 ? 0 : 1))));
    // A loaded machine can shift a handful of spread kills all into one kind (seen at load 13: four
    // kills, all in the migration outside a transaction). Each kind must still take a kill, so the
    // missing one is aimed at directly, each try on a series of its own, every outcome checked alike.
    for (let aimed = 0; aimed < AIMED_TRIES && (killsInTransaction === 0 || killsHoldingOwnerLock === 0); aimed++) {
      await runLane(LANES + aimed, 1, killsInTransaction === 0 ? "transaction" : "outside");
    }

    t.diagnostic(
      `${h.name}, seed ${seed}: ${trials} trials in ${Math.round(performance.now() - started)} ms; ${kills} kills (${killsInTransaction} in a transactional migration, ${killsHoldingOwnerLock} holding the owner lock in migration ${outsideTransaction}), ${startedRowsResolved} started rows refused and resolved, ${completions} completed series; runs found ${JSON.stringify(Object.fromEntries([...recordedCounts].sort((a, b) => a[0] - b[0])))} migrations applied`,
    );
    // A test that never kills mid-series proves nothing.
    assert.ok(kills >= trials * 0.5, `seed ${seed}: only ${kills} of ${trials} trials were killed`);
    assert.ok(killsInTransaction > 0 && killsHoldingOwnerLock > 0, `seed ${seed}: kills missed a kind of migration`);
  });

  test("a process waiting on a live owner's started row reports INCOMPLETE_MIGRATION once the owner is SIGKILLed, by its lock, not by waiting out the timeout", { timeout: 5 * 60_000 }, async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    const own = createTestProject(t);
    own.writeMigration("001_notes.sql", "-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE notes;\n");
    own.writeMigration(
      "002_slow_outside_transaction.ts",
      'import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  transaction: false,\n  up(db) {\n    db.exec("INSERT INTO notes DEFAULT VALUES");\n    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);\n  },\n});\n',
    );
    const ownMigrations = await own.load();
    const file = own.databasePath();
    const waiter = await h.startWorker(own.registryFile);
    const owner = h.spawnChild("crash", [own.registryFile, file, "delete"]);
    const closed = once(owner, "close");
    let output = "";
    await new Promise<void>((resolve) => owner.stdout.on("data", (chunk: Buffer) => ((output += chunk.toString()), output.includes("migrating 2\n") && resolve())));
    // The owner is inside its body, holding the owner lock; the waiter meets its started row and waits.
    const answer = waiter.request({ databasePath: file, startAt: Date.now(), sideEffectLog: own.databasePath("unused.log") });
    await sleep(500);
    const killedAt = performance.now();
    owner.kill("SIGKILL");
    await closed;
    const reply = await answer;
    const answeredAfterMs = performance.now() - killedAt;
    assert.equal(await waiter.stop(), 0);
    assert.equal(reply.ok, false, "the waiter went on as if nothing were interrupted");
    assert.deepEqual(reply.ok ? null : { code: reply.code, version: reply.version }, { code: "INCOMPLETE_MIGRATION", version: 2 }, reply.ok ? "" : reply.message);
    // It answered only after the kill (it waited for the live owner), and long before the busy timeout (the lock told it).
    assert.ok(answeredAfterMs > 0 && answeredAfterMs < DEFAULT_BUSY_TIMEOUT_MS / 3, `answered ${Math.round(answeredAfterMs)} ms after the kill`);
    const reader = await h.openReader(file);
    t.after(() => reader.close());
    assert.equal(reader.manager(ownMigrations).status().problem?.code, "INCOMPLETE_MIGRATION");
    // The row names the owner lock, which is what the waiter probed before the pid.
    const startedBy = JSON.parse(String(reader.driver.query("SELECT owner FROM schema_migrations WHERE version = 2", [])[0]?.owner)) as { lockFile: string | null };
    assert.equal(startedBy.lockFile, ownerLockFileName(file, "schema_migrations"));
  });
});
