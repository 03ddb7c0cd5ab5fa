/**
 * `transaction: false` migrations: a `started` row is committed before the body runs and marked
 * applied after it. A crash in between leaves the row, `up` refuses with INCOMPLETE_MIGRATION, and
 * `stepwise repair` records what a person found. A row whose owner is still alive is waited for.
 * The crash is a real SIGKILL of the CLI (which runs better-sqlite3), once per crash point; every
 * driver available here then reads, refuses and repairs a copy of the file it left.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { test } from "node:test";
import { repairIncompleteMigration, StepwiseError } from "./support/stepwise.js";
import { currentMigrationOwner, serializeMigrationOwner, type MigrationOwner } from "../src/core/migration-owner.js";
import { describeEachDriver, openWithAnyDriver, type TestDatabase } from "./support/driver-matrix.js";
import { createTestProject, readBytes, runCli, type TestProject } from "./support/project.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

/** Writes migration 2's `started` row as `owner` would have: an attempt in progress, or one left behind. */
function recordStartedRow(db: TestDatabase, migrations: MigrationRegistry, owner: MigrationOwner): void {
  db.driver.run("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (2, ?, ?, ?, NULL, 'started', ?)", [
    migrations[1]!.name,
    migrations[1]!.checksum,
    new Date().toISOString(),
    serializeMigrationOwner(owner),
  ]);
}

type CrashPoint = "middle" | "end";
/** The fixture project every test here shares: it only writes database files, each test its own. */
let shared: Promise<{ project: TestProject; migrations: MigrationRegistry; crashed: Record<CrashPoint, string> }> | undefined;
let copies = 0;

/**
 * The fixture generated once, and the bin SIGKILLed once at each point by the migration itself: what
 * each crash leaves is the same every time, so a test gets its own copy of that file (with any
 * journal beside it) instead of paying a gen and a crashed child of its own.
 */
function loadShared() {
  shared ??= (async () => {
    const project = createTestProject({ after: (cleanUp) => void process.once("exit", cleanUp) }, { fixture: "interrupted-non-transactional" });
    const migrations = await project.load();
    const crashed = { middle: project.databasePath("crashed-middle.db"), end: project.databasePath("crashed-end.db") };
    for (const crashAt of ["middle", "end"] as const) {
      const run = await runCli(["up", "--db", crashed[crashAt]], { cwd: project.root, env: { STEPWISE_CRASH_AT: crashAt } });
      assert.equal(run.signal, "SIGKILL", run.stderr);
    }
    return { project, migrations, crashed };
  })();
  return shared;
}

async function crashDuringMigration2(crashAt: CrashPoint) {
  const { project, migrations, crashed } = await loadShared();
  const databasePath = project.databasePath(`copy-${++copies}.db`);
  for (const suffix of ["", "-journal", "-wal", "-shm"]) if (existsSync(crashed[crashAt] + suffix)) copyFileSync(crashed[crashAt] + suffix, databasePath + suffix);
  return { project, migrations, databasePath };
}

// The CLI's own messages and flow: once, not per driver (the bin runs better-sqlite3 whichever runtime this is).
test("the CLI refuses an interrupted migration with the command that repairs it", async () => {
  const { project, databasePath } = await crashDuringMigration2("middle");
  const before = readBytes(databasePath);
  const refused = await runCli(["up", "--db", databasePath], { cwd: project.root });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /\[INCOMPLETE_MIGRATION\]/);
  assert.match(refused.stderr, /"stepwise repair --db \S+ --forget 2 --yes"/);
  const status = await runCli(["status", "--json", "--db", databasePath], { cwd: project.root });
  assert.equal((JSON.parse(status.stdout) as { problem: { code: string } }).problem.code, "INCOMPLETE_MIGRATION");
  assert.deepEqual(readBytes(databasePath), before, "refusing changed the file");
});

test("repair --forget, after cleaning up by hand, lets up run the migration again", async (t) => {
  const { project, databasePath } = await crashDuringMigration2("middle");
  const withoutYes = await runCli(["repair", "--forget", "2", "--db", databasePath], { cwd: project.root });
  assert.equal(withoutYes.code, 2);

  const cleanup = await openWithAnyDriver(databasePath);
  cleanup.exec("DROP TABLE notes_copy"); // what the person does after checking: undo the partial step
  cleanup.close();
  const repaired = await runCli(["repair", "--forget", "2", "--yes", "--json", "--db", databasePath], { cwd: project.root });
  assert.equal(repaired.code, 0, repaired.stderr);
  const { version, resolution, currentVersion } = JSON.parse(repaired.stdout) as { version: number; resolution: string; currentVersion: number };
  assert.deepEqual({ version, resolution, currentVersion }, { version: 2, resolution: "forget", currentVersion: 1 });

  const up = await runCli(["up", "--json", "--db", databasePath], { cwd: project.root });
  assert.equal(up.code, 0, up.stderr);
  assert.deepEqual(
    (JSON.parse(up.stdout) as { steps: Array<{ version: number }> }).steps.map((s) => s.version),
    [2, 3],
  );
  const db = await openWithAnyDriver(databasePath);
  t.after(() => db.close());
  assert.equal(db.value("SELECT count(*) FROM notes_copy"), 3);
});

await describeEachDriver("interrupted transaction: false migrations", { quickOn: ["better-sqlite3", "sql.js"] }, (h) => {
  test("a crash inside a transaction:false migration leaves a started row, and up refuses with INCOMPLETE_MIGRATION", async (t) => {
    const { migrations, databasePath } = await crashDuringMigration2("middle");
    const db = await h.open(databasePath);
    t.after(() => db.close());
    assert.deepEqual(db.rows("SELECT version, state FROM schema_migrations ORDER BY version"), [
      { version: 1, state: "applied" },
      { version: 2, state: "started" },
    ]);
    const before = readBytes(databasePath);
    assert.throws(() => db.manager(migrations).up(), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 2 }));
    assert.equal(db.manager(migrations).status().problem?.code, "INCOMPLETE_MIGRATION");
    assert.deepEqual(readBytes(databasePath), before, "refusing changed the file");
  });

  test("repair --applied records a migration whose changes are all there; up continues after it", async (t) => {
    const { project, migrations, databasePath } = await crashDuringMigration2("end");
    const repaired = await runCli(["repair", "--applied", "2", "--yes", "--db", databasePath], { cwd: project.root });
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.match(repaired.stdout, /marked applied/);
    const db = await h.open(databasePath);
    t.after(() => db.close());
    assert.equal(db.userVersion(), 2);
    const result = db.manager(migrations).up();
    assert.deepEqual(
      result.steps.map((step) => step.version),
      [3],
    );
    // Repairing again finds nothing to repair.
    assert.throws(() => repairIncompleteMigration(db.manager(migrations), { version: 2, resolution: "applied" }), { code: "INVALID_TARGET" });
  });

  test("repair through the API, on the driver's own connection: forget, then up runs the migration again", async (t) => {
    const { migrations, databasePath } = await crashDuringMigration2("middle");
    const db = await h.open(databasePath);
    t.after(() => db.close());
    db.exec("DROP TABLE notes_copy");
    const repaired = repairIncompleteMigration(db.manager(migrations), { version: 2, resolution: "forget" });
    assert.deepEqual({ version: repaired.version, resolution: repaired.resolution, currentVersion: repaired.currentVersion }, { version: 2, resolution: "forget", currentVersion: 1 });
    assert.deepEqual(
      db
        .manager(migrations)
        .up()
        .steps.map((step) => step.version),
      [2, 3],
    );
    assert.equal(db.value("SELECT count(*) FROM notes_copy"), 3);
  });

  test("a started row whose owner is alive is waited for, then reported as MIGRATION_IN_PROGRESS; repair and reset refuse it", async (t) => {
    const { project, migrations } = await loadShared();
    const db = await h.open(project.databasePath(`copy-${++copies}.db`));
    t.after(() => db.close());
    db.manager(migrations).up({ to: 1 });
    // A live process on this host stands in for the one still running migration 2.
    const owner = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    t.after(() => owner.kill("SIGKILL"));
    await new Promise((resolve) => owner.once("spawn", resolve));
    recordStartedRow(db, migrations, { ...currentMigrationOwner(), pid: owner.pid! });
    assert.throws(
      () => db.manager(migrations, { busyTimeoutMs: 200 }).up(),
      (error) => error instanceof StepwiseError && error.is("MIGRATION_IN_PROGRESS") && error.details.version === 2 && error.details.owner?.pid === owner.pid && error.details.waitedMs >= 200,
    );
    assert.throws(() => repairIncompleteMigration(db.manager(migrations), { version: 2, resolution: "forget" }), { code: "MIGRATION_IN_PROGRESS" });
    // reset would drop the started row and run the migration a second time beside its owner.
    const before = db.rows("SELECT type, name FROM sqlite_master ORDER BY name");
    assert.throws(() => db.manager(migrations, { busyTimeoutMs: 200 }).reset({ dangerouslyDropAllData: true }), { code: "MIGRATION_IN_PROGRESS" });
    assert.deepEqual(db.rows("SELECT type, name FROM sqlite_master ORDER BY name"), before);
    assert.equal(db.value("SELECT state FROM schema_migrations WHERE version = 2"), "started");

    // Once the owner is gone, the same row reads as an interrupted attempt.
    owner.kill("SIGKILL");
    await new Promise((resolve) => owner.once("exit", resolve));
    assert.throws(() => db.manager(migrations, { busyTimeoutMs: 200 }).up(), { code: "INCOMPLETE_MIGRATION" });
  });

  test("a started row with no applied_at, in a history table made without NOT NULL, is still interrupted: status and up report it, up does not pass it", async (t) => {
    const project = createTestProject(t, { fixture: "interrupted-non-transactional" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.manager(migrations).up({ to: 1 });
    // Another tool's (or a hand-made) history table has the columns but not the constraints; read by applied_at, the row passed for applied and up ran migration 3.
    db.exec(
      "ALTER TABLE schema_migrations RENAME TO old_history; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, checksum TEXT, applied_at TEXT, duration_ms INTEGER, state TEXT, owner TEXT); INSERT INTO schema_migrations SELECT version, name, checksum, applied_at, duration_ms, state, owner FROM old_history; DROP TABLE old_history",
    );
    db.driver.run("INSERT INTO schema_migrations (version, name, checksum, applied_at, state) VALUES (2, ?, ?, NULL, 'started')", [migrations[1]!.name, migrations[1]!.checksum]);
    assert.equal(db.manager(migrations).status().problem?.code, "INCOMPLETE_MIGRATION");
    assert.throws(() => db.manager(migrations, { busyTimeoutMs: 200 }).up(), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 2 }));
    assert.deepEqual(
      db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
      [1, 2],
    );
  });

  test("a started row with this process's pid: another thread of this process (the same start) is waited for; a predecessor that had the pid (an earlier start) is interrupted at once", async (t) => {
    const project = createTestProject(t, { fixture: "interrupted-non-transactional" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.manager(migrations).up({ to: 1 });
    const us = currentMigrationOwner();
    for (const [owner, code] of [
      [{ ...us, token: "another thread" }, "MIGRATION_IN_PROGRESS"],
      [{ ...us, token: "a predecessor", processStart: us.processStart! - 3600 }, "INCOMPLETE_MIGRATION"],
    ] as const) {
      recordStartedRow(db, migrations, owner);
      assert.throws(() => db.manager(migrations, { busyTimeoutMs: 200 }).up(), stepwiseFailure({ code, version: 2 }), owner.token);
      db.driver.run("DELETE FROM schema_migrations WHERE version = 2", []);
    }
  });

  test("a started row whose owner pid names no single process (0 or below, as a hand edit leaves it) is interrupted, not running: up refuses at once, repair resolves it", async (t) => {
    const project = createTestProject(t, { fixture: "interrupted-non-transactional" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.manager(migrations).up({ to: 1 });
    // Signal 0 to pid 0 or -1 reaches a process group, which always answers: such an owner read as alive left the row unrepairable.
    for (const pid of [0, -1]) {
      recordStartedRow(db, migrations, { ...currentMigrationOwner(), token: "another process", pid });
      assert.throws(() => db.manager(migrations, { busyTimeoutMs: 200 }).up(), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 2 }), String(pid));
      assert.equal(repairIncompleteMigration(db.manager(migrations), { version: 2, resolution: "forget" }).currentVersion, 1, String(pid));
    }
  });
});
