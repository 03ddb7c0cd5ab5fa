/**
 * The real `stepwise` bin, as a child process, on inputs that used to get the wrong diagnosis or a
 * stack trace: a hot journal, a folder as --db, a lock longer than SQLite's default wait, history rows
 * stepwise never writes, --table in another case, a closed stdout, and bad flags and configs. Asserts
 * on exit codes and the printed `[CODE]`, never on prose.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager, type MigrationRegistry } from "./support/stepwise.js";
import { binArgs } from "./support/compiled-bin.js";
import { createTestProject, readBytes, repoRoot, runCli, type RunResult } from "./support/project.js";
import { prepareUnprivilegedCli, type UnprivilegedCli } from "./support/unprivileged-cli.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

const nodeModules = path.join(repoRoot, "node_modules");

/** A project on the runtime fixture with its database migrated to version 3 by the real bin. */
async function migratedProject(t: Parameters<typeof createTestProject>[0], create: typeof createTestProject = createTestProject) {
  const project = create(t, { fixture: "runtime/side-effects" });
  const migrations = await project.load();
  const database = project.databasePath();
  const cli = (args: readonly string[], env?: Record<string, string | undefined>) => runCli(["--db", database, ...args], { cwd: project.root, env });
  const up = await cli(["up"]);
  assert.equal(up.code, 0, up.stderr);
  return { project, migrations, database, cli };
}

/** The code the CLI printed as `error [CODE]`, or null. */
function printedCode(result: RunResult): string | null {
  return /error \[([A-Z_]+)\]/.exec(result.stderr)?.[1] ?? null;
}

/** Asserts exit code and printed error code, and that no stack trace leaked. */
function assertFailure(result: RunResult, exitCode: number, code: string, context: string): void {
  assert.equal(result.code, exitCode, `${context}: exit ${result.code}\n${result.stderr}`);
  assert.equal(printedCode(result), code, `${context}:\n${result.stderr}`);
  assertNoStackTrace(result, context);
}

function assertNoStackTrace(result: RunResult, context: string): void {
  assert.doesNotMatch(result.stderr, /^\s+at .+:\d+:\d+\)?$|unexpected error|Unhandled 'error' event/m, `${context}: a stack trace leaked\n${result.stderr}`);
}

/**
 * Leaves a hot rollback journal: a child process in journal_mode=DELETE with a tiny page cache writes
 * inside a transaction until pages spill into the file, then is SIGKILLed before it commits.
 */
function leaveHotJournal(database: string): void {
  const script = `
    const db = new (require("better-sqlite3"))(process.argv[1]);
    db.pragma("journal_mode = DELETE");
    db.pragma("cache_size = 4");
    db.exec("BEGIN IMMEDIATE");
    db.exec("CREATE TABLE spill (payload BLOB)");
    const insert = db.prepare("INSERT INTO spill VALUES (randomblob(4000))");
    for (let i = 0; i < 100; i++) insert.run();
    db.exec("DELETE FROM items");
    process.kill(process.pid, "SIGKILL");`;
  const child = spawnSync(process.execPath, ["-e", script, database], { env: { ...process.env, NODE_PATH: nodeModules } });
  assert.equal(child.signal, "SIGKILL", child.stderr.toString());
  assert.ok(existsSync(`${database}-journal`), "no journal was left behind");
}

describe("a hot journal left by a crashed writer", () => {
  test("status, history, version, info, verify and up --dry-run roll it back and answer, instead of reporting read-only", async (t) => {
    const { database, cli } = await migratedProject(t);
    leaveHotJournal(database);

    const status = await cli(["status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as { currentVersion: number; problem: unknown };
    assert.equal(parsed.currentVersion, 3);
    assert.equal(parsed.problem, null);

    // Each from a fresh hot journal: the first command's connection already rolled the last one back.
    for (const args of [["history", "--json"], ["version"], ["info", "--json"], ["verify", "--json"], ["up", "--dry-run", "--json"]]) {
      leaveHotJournal(database);
      const result = await cli(args);
      assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
      assertNoStackTrace(result, args.join(" "));
    }

    // The crashed write is gone: the table it created and the rows it deleted are as before it.
    const db = new Database(database, { readonly: true });
    t.after(() => db.close());
    assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'spill'").pluck().get(), 0);
    assert.equal(db.prepare("SELECT count(*) FROM items").pluck().get(), 2003);
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
  });

  test("a connection that may not write gets DATABASE_NEEDS_RECOVERY, not DATABASE_UNUSABLE", async (t) => {
    const { database, migrations } = await migratedProject(t);
    leaveHotJournal(database);
    const before = readBytes(database);
    const db = new Database(database, { readonly: true });
    t.after(() => db.close());
    const manager = new MigrationManager(db, migrations as MigrationRegistry);
    for (const read of [() => manager.status(), () => manager.history(), () => manager.currentVersion()]) {
      assert.throws(read, stepwiseFailure({ code: "DATABASE_NEEDS_RECOVERY", sqliteCode: "SQLITE_READONLY_ROLLBACK" }));
    }
    assert.deepEqual(readBytes(database), before);
  });
});

// The staged copy, so the unprivileged child can read what it runs even when the checkout sits under
// a folder only root can enter.
let unprivileged: UnprivilegedCli;
before(() => {
  unprivileged = prepareUnprivilegedCli();
});
after(() => unprivileged?.dispose());

test("a process that may not write: a hot journal is DATABASE_NEEDS_RECOVERY, an unreadable file DATABASE_UNUSABLE, both unchanged", async (t) => {
  if (unprivileged.unavailable) return t.skip(unprivileged.unavailable);
  const { project, database } = await migratedProject(t, (context, options) => unprivileged.createProject(context, options));
  chmodSync(project.root, 0o755);
  const unreadable = path.join(project.root, "unreadable.db");
  writeFileSync(unreadable, readBytes(database));
  chmodSync(unreadable, 0o000);
  leaveHotJournal(database);
  chmodSync(database, 0o444);
  const before = readBytes(database);
  // Two series side by side, each command after the last: no run may meet another on the hot journal's locks.
  const series = async (file: string, code: string, what: string) => {
    for (const command of ["status", "history", "version", "up"]) assertFailure(await unprivileged.run(["--db", file, command], { cwd: project.root }), 1, code, `${command} on ${what}`);
    // The library's error cannot name the file; the CLI's names the one it opened.
    const json = JSON.parse((await unprivileged.run(["--db", file, "status", "--json"], { cwd: project.root })).stdout) as { error: { code: string; databasePath?: string } };
    assert.deepEqual([json.error.code, json.error.databasePath], [code, file], what);
  };
  await Promise.all([series(database, "DATABASE_NEEDS_RECOVERY", "a hot journal"), series(unreadable, "DATABASE_UNUSABLE", "an unreadable file")]);
  assert.deepEqual(readBytes(database), before);
  assert.ok(existsSync(`${database}-journal`), "the journal was removed without rolling back");
  chmodSync(database, 0o644);
});

describe("--db that does not name a database file", () => {
  test("a folder: DATABASE_PATH_INVALID (exit 2) from every command, and nothing is created in it", async (t) => {
    const { project } = await migratedProject(t);
    const folder = path.join(project.root, "data-folder");
    mkdirSync(folder);
    const commands = [["status"], ["history"], ["version"], ["info"], ["verify"], ["up"], ["up", "--dry-run"], ["down"], ["baseline", "1"], ["repair", "--forget", "1", "--yes"]];
    const results = await Promise.all(commands.map((args) => runCli(["--db", folder, ...args], { cwd: project.root })));
    results.forEach((result, i) => assertFailure(result, 2, "DATABASE_PATH_INVALID", commands[i]!.join(" ")));
    assert.deepEqual(readdirSync(folder), []);
    // The working folder itself, as `--db .` and `--db ""` would name it (given once: `cli` adds its
    // own --db, and two different --db values are a usage error of their own).
    const dot = await runCli(["--db", ".", "status"], { cwd: project.root });
    assertFailure(dot, 2, "DATABASE_PATH_INVALID", "--db .");
  });

  test("an empty path, a path through a file, a device, a FIFO, a name too long, a NUL: DATABASE_PATH_INVALID (exit 2), not a stack trace or a hang", async (t) => {
    const { project } = await migratedProject(t);
    writeFileSync(path.join(project.root, "plain-file"), "not a folder");
    const fifo = path.join(project.root, "a-fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    for (const db of ["", "plain-file/app.db", "plain-file/deeper/app.db", "/dev/null", fifo, `${"n".repeat(300)}.db`, `${"n".repeat(300)}/app.db`]) {
      for (const command of ["status", "up"]) {
        const result = await runCli(["--db", db, command], { cwd: project.root });
        assertFailure(result, 2, "DATABASE_PATH_INVALID", `--db "${db}" ${command}`);
      }
    }
    // Command lines cannot carry a NUL; a config and DATABASE_URL can.
    writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ database: "app\u0000.db" }));
    assertFailure(await runCli(["up"], { cwd: project.root }), 2, "DATABASE_PATH_INVALID", "a NUL in the config's database");
    writeFileSync(path.join(project.root, "stepwise.config.json"), "{}");
    assertFailure(await runCli(["status"], { cwd: project.root, env: { DATABASE_URL: "sqlite:app%00.db" } }), 2, "DATABASE_PATH_INVALID", "a NUL in DATABASE_URL");
  });

  test("a path into a missing folder: read commands report version 0 and create nothing", async (t) => {
    const { project } = await migratedProject(t);
    for (const command of [["status", "--json"], ["history", "--json"], ["version"]]) {
      const result = await runCli(["--db", "missing/deeper/app.db", ...command], { cwd: project.root });
      assert.equal(result.code, 0, result.stderr);
    }
    assert.equal(existsSync(path.join(project.root, "missing")), false);
  });
});

test("read commands wait as long as --busy-timeout says, past SQLite's default of 5 seconds", async (t) => {
  const { database, migrations, project } = await migratedProject(t);
  // Children: the test releases the lock while they wait, and SQLite's busy wait blocks its thread.
  const cli = (args: readonly string[]) => runCli(["--db", database, ...args], { cwd: project.root, child: true });
  // An EXCLUSIVE lock in rollback-journal mode keeps readers out too. The holder commits 6.5 seconds
  // after a "release <ms>" line, sent once the 100 ms reader has met the lock (however slowly a
  // loaded machine starts it), just before the API's own wait begins.
  const holder = spawn(
    process.execPath,
    [
      "-e",
      `const db = new (require("better-sqlite3"))(process.argv[1]); db.exec("BEGIN EXCLUSIVE"); db.exec("DELETE FROM side_effects WHERE 0"); console.log("locked"); process.stdin.on("data", (line) => setTimeout(() => { db.exec("COMMIT"); db.close(); process.exit(0); }, Number(String(line).split(" ")[1])));`,
      database,
    ],
    { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, NODE_PATH: nodeModules } },
  );
  t.after(() => holder.kill("SIGKILL"));
  await new Promise<void>((resolve) => holder.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && resolve()));

  const shortRun = cli(["--busy-timeout", "100", "status"]);
  const running = Promise.all([cli(["--busy-timeout", "30000", "status", "--json"]), cli(["--busy-timeout", "30000", "history", "--json"]), cli(["--busy-timeout", "30000", "version"])]);
  const shortWait = await shortRun;
  holder.stdin!.write("release 6500\n");
  // The API too: status() waits under the manager's busy timeout, not the connection's 5 s default.
  const db = new Database(database);
  t.after(() => db.close());
  assert.equal(new MigrationManager(db, migrations as MigrationRegistry, { busyTimeoutMs: 30_000 }).status().currentVersion, 3);
  const [status, history, version] = await running;
  assertFailure(shortWait, 1, "DATABASE_LOCKED", "status --busy-timeout 100");
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { currentVersion: number }).currentVersion, 3);
  assert.equal(history.code, 0, history.stderr);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, "3\n");
});

describe("history rows stepwise never writes", () => {
  test("a version of 0 or below is HISTORY_TABLE_INVALID naming the row, not DATABASE_AHEAD (nor a current version of 0), from the CLI and the API", async (t) => {
    const { database, cli, migrations } = await migratedProject(t);
    for (const version of [0, -4]) {
      const db = new Database(database);
      db.prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state) VALUES (?, 'ghost', 'x', '2020-01-01T00:00:00.000Z', 1, 'applied')").run(version);
      db.close();
      const before = readBytes(database);
      // version too: a script reading it must not take 0 (a fresh database) for an answer.
      const results = await Promise.all([cli(["status"]), cli(["up"]), cli(["history"]), cli(["down"]), cli(["up", "--dry-run"]), cli(["version"])]);
      for (const result of results) assertFailure(result, 1, "HISTORY_TABLE_INVALID", `version ${version}`);
      assert.deepEqual(readBytes(database), before, "a refused command changed the file");
      const reader = new Database(database);
      assert.throws(
        () => new MigrationManager(reader, migrations as MigrationRegistry).up(),
        stepwiseFailure({ code: "HISTORY_TABLE_INVALID", version, rowid: version, problem: "version-not-positive-integer" }),
      );
      assert.throws(() => new MigrationManager(reader, migrations as MigrationRegistry).currentVersion(), stepwiseFailure({ code: "HISTORY_TABLE_INVALID", version }));
      reader.prepare("DELETE FROM schema_migrations WHERE version = ?").run(version);
      reader.close();
    }
  });

  test("text, NULL, fractional and repeated versions, a non-text checksum and an unknown state, in a hand-made table", async (t) => {
    const { database, migrations } = await migratedProject(t);
    const cases: Array<{ row: string; problem: string }> = [
      { row: "('abc', 'n', 'c', 't', 1, 'applied')", problem: "version-not-positive-integer" },
      { row: "(NULL, 'n', 'c', 't', 1, 'applied')", problem: "version-not-positive-integer" },
      { row: "(1.5, 'n', 'c', 't', 1, 'applied')", problem: "version-not-positive-integer" },
      { row: "(1, 'again', 'c', 't', 1, 'applied')", problem: "duplicate-version" },
      { row: "(2, 'n', 42, 't', 1, 'applied')", problem: "checksum-not-text" },
      { row: "(2, 'n', 'c', 't', 1, 'done')", problem: "unknown-state" },
    ];
    for (const { row, problem } of cases) {
      const db = new Database(database);
      // A composite key lets the version column hold what an INTEGER PRIMARY KEY would refuse.
      db.exec(`DROP TABLE IF EXISTS odd_history; CREATE TABLE odd_history (version INTEGER, name TEXT, checksum, applied_at TEXT, duration_ms INTEGER, state TEXT, PRIMARY KEY (version, name));
        INSERT INTO odd_history VALUES (1, 'create_log', '${(migrations as MigrationRegistry)[0]!.checksum}', 't', 1, 'applied'), ${row};`);
      const manager = new MigrationManager(db, migrations as MigrationRegistry, { tableName: "odd_history" });
      for (const read of [() => manager.planUp(), () => manager.history()]) {
        assert.throws(read, stepwiseFailure({ code: "HISTORY_TABLE_INVALID", problem }), `${row} should be ${problem}`);
      }
      // status reports what up refuses, and does not throw for it.
      assert.deepEqual([manager.status().problem?.code, manager.status().problem?.problem], ["HISTORY_TABLE_INVALID", problem], `${row} should be ${problem}`);
      db.close();
    }
    const cli = await runCli(["--db", database, "--table", "odd_history", "status"], { cwd: path.dirname(database) });
    assertFailure(cli, 1, "HISTORY_TABLE_INVALID", "status --table odd_history");
  });
});

test("--table in another case names the same history table, as SQLite resolves it", async (t) => {
  const { database, cli } = await migratedProject(t);
  const before = readBytes(database);
  for (const table of ["Schema_Migrations", "SCHEMA_MIGRATIONS"]) {
    const status = await cli(["--table", table, "status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { currentVersion: number }).currentVersion, 3);
    const up = await cli(["--table", table, "up", "--json"]);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual((JSON.parse(up.stdout) as { steps: unknown[] }).steps, []);
    const history = await cli(["--table", table, "history", "--json"]);
    assert.equal((JSON.parse(history.stdout) as unknown[]).length, 3);
    const verify = await cli(["--table", table, "verify", "--json"]);
    assert.equal(verify.code, 0, verify.stderr);
  }
  assert.deepEqual(readBytes(database), before);
});

test("up | head -1: the closed pipe ends no migration early and prints no stack trace", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_first.sql", "-- migrate:up\nCREATE TABLE one (id INTEGER PRIMARY KEY);\n");
  // Slow enough that the reader has gone before the next line is written.
  const slow = (table: string) =>
    `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db) {\n    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);\n    db.exec("CREATE TABLE ${table} (id INTEGER PRIMARY KEY)");\n  },\n});\n`;
  project.writeMigration("002_second.ts", slow("two"));
  project.writeMigration("003_third.ts", slow("three"));
  const generated = await project.generate();
  assert.ok(generated.ok);
  const database = project.databasePath();

  // stdout closed after the first line, stderr still read: nothing may be printed there but nothing.
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [...binArgs(), "--db", database, "up"], {
      cwd: project.root,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once("data", () => child.stdout.destroy());
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
  assert.equal(result.signal, null);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  const versionOf = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare("SELECT max(version) FROM schema_migrations").pluck().get();
    } finally {
      db.close();
    }
  };
  assert.equal(versionOf(database), 3);

  // The shell pipeline of the issue, with stderr in the same closed pipe: the bin's own exit status.
  const second = project.databasePath("second.db");
  const command = [process.execPath, ...binArgs(), "--db", second, "up"].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(" ");
  const shell = spawnSync("bash", ["-c", `${command} 2>&1 | head -1; exit "\${PIPESTATUS[0]}"`], { cwd: project.root, env: { ...process.env, NO_COLOR: "1" } });
  assert.equal(shell.status, 0, shell.stdout.toString() + shell.stderr.toString());
  assert.match(shell.stdout.toString(), /^\s+\S+ 001_first/);
  assert.equal(versionOf(second), 3);
});

test("DATABASE_URL: SQLite paths and URLs are read after --db and the config; other databases are refused without echoing secrets", async (t) => {
  const { project, database } = await migratedProject(t);
  const run = (url: string, args: readonly string[] = ["version"]) => runCli(args, { cwd: project.root, env: { DATABASE_URL: url } });
  for (const url of [database, "app.db", "sqlite://app.db", `sqlite://${database}`, "file:app.db?mode=rwc", `file://${database}`]) {
    const result = await run(url);
    assert.equal(result.code, 0, `${url}: ${result.stderr}`);
    assert.equal(result.stdout, "3\n", url);
  }
  for (const url of ["postgres://admin:s3cret-pass@db.internal:5432/app", "mysql://root:s3cret-pass@localhost/app", "sqlite:", "file://other-host/app.db"]) {
    const result = await run(url, ["status"]);
    assertFailure(result, 2, "DATABASE_PATH_INVALID", url);
    assert.doesNotMatch(result.stdout + result.stderr, /s3cret|admin|db\.internal/, "a secret from DATABASE_URL was printed");
  }
  // --db wins over DATABASE_URL, so a stray URL for another tool never gets in the way.
  const explicit = await runCli(["--db", database, "version"], { cwd: project.root, env: { DATABASE_URL: "postgres://admin:s3cret-pass@db/app" } });
  assert.equal(explicit.code, 0, explicit.stderr);
  assert.equal(existsSync(path.join(project.root, "sqlite:")), false);
});

test("a registry that does not compile, or a migration that throws on import: REGISTRY_LOAD_FAILED naming the place", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  const registry = readBytes(project.registryFile);
  writeFileSync(project.registryFile, Buffer.concat([registry, Buffer.from("\n<<<<<<< HEAD\n")]));
  // With the migrations folder present, the bin first finds the registry is not what gen writes.
  assertFailure(await runCli(["--db", "app.db", "status"], { cwd: project.root }), 1, "REGISTRY_STALE", "registry with a merge marker, folder present");
  // A deployed app has no folder to compare with: loading is what fails, and says where.
  const folderAway = `${project.migrationsDir}-away`;
  renameSync(project.migrationsDir, folderAway);
  const broken = await runCli(["--db", "app.db", "status"], { cwd: project.root });
  // gen cannot rewrite it while the merged folder holds two migrations of one version: the way out is one side's registry.
  const brokenJson = await runCli(["--db", "app.db", "status", "--json"], { cwd: project.root });
  renameSync(folderAway, project.migrationsDir);
  assertFailure(broken, 1, "REGISTRY_LOAD_FAILED", "registry with a merge marker");
  assert.match(broken.stderr, /generated\/registry\.ts:\d+:\d+/);
  assert.match(String((JSON.parse(brokenJson.stdout) as { error: { fix: string } }).error.fix), /git checkout <branch> -- generated\/registry\.ts/);

  writeFileSync(project.registryFile, registry);
  const migration = path.join(project.migrationsDir, "003_bump_counter.ts");
  writeFileSync(migration, `throw new Error("no config at import time");\n${readBytes(migration).toString()}`);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const throwing = await runCli(["--db", "app.db", "up"], { cwd: project.root });
  assertFailure(throwing, 1, "REGISTRY_LOAD_FAILED", "migration throwing on import");
  assert.match(throwing.stderr, /migrations\/003_bump_counter\.ts:1:\d+/);
  assert.equal(existsSync(path.join(project.root, "app.db")), false);
});

test("a CommonJS helper that throws when a migration imports it: REGISTRY_LOAD_FAILED once, and the process ends with no second report of it", async (t) => {
  // Node 20 hands that error to the import and again as an unhandled rejection, which ended the bin with a raw stack after its coded error.
  const project = createTestProject(t);
  mkdirSync(path.join(project.migrationsDir, "lib"), { recursive: true });
  project.writeMigration("lib/config.cjs", `if (!process.env.REGION) throw new Error("REGION is not set");\nmodule.exports = { table: "t_" + process.env.REGION };\n`);
  project.writeMigration(
    "001_regional.ts",
    `import { defineMigration } from "stepwise-migrate";\nimport config from "./lib/config.cjs";\n\nexport default defineMigration({\n  up(db) {\n    db.exec(\`CREATE TABLE \${config.table} (id INTEGER)\`);\n  },\n});\n`,
  );
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  for (const args of [
    ["--db", "app.db", "up"],
    ["gen", "--check"],
  ]) {
    // A process of its own: only there does an unhandled rejection end the run.
    const result = await runCli([...args, "--json"], { cwd: project.root, child: true, env: { REGION: undefined } });
    assert.equal(result.code, 1, `${args.join(" ")}: exit ${result.code}\n${result.stderr}`);
    const parsed = JSON.parse(result.stdout) as { error?: { code: string; location: string }; problems?: Array<{ code: string; file: string; line: number }> };
    const found = parsed.error ? { code: parsed.error.code, at: parsed.error.location } : { code: parsed.problems?.[0]?.code, at: `${parsed.problems?.[0]?.file}:${parsed.problems?.[0]?.line}` };
    assert.deepEqual(found, args[0] === "gen" ? { code: "REPLAY_REGISTRY_UNLOADABLE", at: "migrations/lib/config.cjs:1" } : { code: "REGISTRY_LOAD_FAILED", at: "migrations/lib/config.cjs:1:32" });
    assertNoStackTrace(result, args.join(" "));
    assert.doesNotMatch(result.stderr, /triggerUncaughtException/, `${args.join(" ")}: the same error was reported again as a crash`);
  }
});

describe("bad flags and settings: exit 2 or 1 with a code, never a stack trace", () => {
  test("flags", async (t) => {
    const { cli } = await migratedProject(t);
    const cases: Array<{ args: string[]; exit: number; code: string }> = [
      { args: ["up", "--to", "abc"], exit: 2, code: "USAGE" },
      { args: ["up", "--to", "-3"], exit: 2, code: "USAGE" },
      { args: ["up", "--to", "99"], exit: 1, code: "INVALID_TARGET" },
      { args: ["down", "--steps", "-1"], exit: 2, code: "USAGE" },
      { args: ["down", "--steps", "0"], exit: 2, code: "USAGE" },
      { args: ["down", "--steps", "1.5"], exit: 2, code: "USAGE" },
      { args: ["--busy-timeout", "-1", "status"], exit: 2, code: "USAGE" },
      { args: ["--busy-timeout", "abc", "status"], exit: 2, code: "USAGE" },
      { args: ["--busy-timeout", "", "status"], exit: 2, code: "USAGE" },
      { args: ["--busy-timeout", "99999999999999", "status"], exit: 2, code: "USAGE" },
      { args: ["--table", "bad name", "status"], exit: 2, code: "INVALID_TABLE_NAME" },
      { args: ["status", "--bogus"], exit: 2, code: "USAGE" },
      { args: ["reset"], exit: 2, code: "USAGE" },
    ];
    const results = await Promise.all(cases.map((c) => cli(c.args)));
    results.forEach((result, i) => assertFailure(result, cases[i]!.exit, cases[i]!.code, cases[i]!.args.join(" ")));
    // A refusal for want of --yes names the step in --json's fix, as every refusal whose message names one.
    for (const args of [["reset"], ["repair", "--forget", "1"]]) {
      const refused = JSON.parse((await cli([...args, "--json"])).stdout) as { error: { code: string; fix: string | null } };
      assert.deepEqual([refused.error.code, refused.error.fix], ["USAGE", "run it again with --yes to confirm"], args.join(" "));
    }
  });

  test("configs that are not JSON, not objects, or hold wrong types", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    await project.generate();
    const packageJson = (stepwise: string) => `{"name": "test-app", "private": true, "type": "module", "stepwise": ${stepwise}}`;
    const configs: Array<{ file: "stepwise.config.json" | "package.json"; text: string }> = [
      { file: "stepwise.config.json", text: "{ database: 'data/app.db' " },
      { file: "stepwise.config.json", text: "null" },
      { file: "stepwise.config.json", text: "[]" },
      { file: "stepwise.config.json", text: '{"database": 5}' },
      { file: "stepwise.config.json", text: '{"database": ""}' },
      { file: "stepwise.config.json", text: '{"databse": "typo.db"}' },
      { file: "package.json", text: packageJson('"data/app.db"') },
      { file: "package.json", text: packageJson('{"database": ["a"]}') },
      { file: "package.json", text: packageJson("null") },
      { file: "package.json", text: "{ not json" },
    ];
    const originalPackage = readBytes(path.join(project.root, "package.json"));
    for (const { file, text } of configs) {
      writeFileSync(path.join(project.root, file), text);
      for (const command of ["status", "up"]) {
        const result = await runCli([command], { cwd: project.root });
        assertFailure(result, 2, "USAGE", `${file} = ${text}, ${command}`);
      }
      if (file === "package.json") writeFileSync(path.join(project.root, "package.json"), originalPackage);
      else writeFileSync(path.join(project.root, file), "{}");
    }
    writeFileSync(path.join(project.root, "stepwise.config.json"), '{"database": "app.db", "tableName": "bad name"}');
    assertFailure(await runCli(["status"], { cwd: project.root }), 2, "INVALID_TABLE_NAME", "tableName with a space");
    assert.equal(existsSync(path.join(project.root, "data")), false);
  });

  test("a config or package.json saved with a byte order mark is read; one that does not parse is USAGE at its line and column; a misspelt key names the setting it resembles", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/irreversible" });
    await project.generate();
    const [configFile, packageFile] = [path.join(project.root, "stepwise.config.json"), path.join(project.root, "package.json")];
    const jsonError = async (args: string[]) => {
      const result = await runCli([...args, "--json"], { cwd: project.root });
      assert.equal(result.code, 2, result.stderr);
      return (JSON.parse(result.stdout) as { error: { code: string; message: string; fix: string | null; setting?: string; configFile?: string } }).error;
    };
    // Windows editors write a BOM; npm and Node read past it in package.json, so stepwise must, even with --db given (tsx does not: a registry that imports nothing is not loaded through it).
    writeFileSync(packageFile, `\uFEFF${readBytes(packageFile).toString("utf8")}`);
    const withDb = await runCli(["status", "--db", "given.db", "--json"], { cwd: project.root });
    assert.equal(withDb.code, 0, withDb.stderr);
    writeFileSync(configFile, '\uFEFF{"database": "data/app.db"}');
    const fromConfig = await runCli(["status", "--json"], { cwd: project.root });
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.equal((JSON.parse(fromConfig.stdout) as { database: string }).database, path.join(project.root, "data", "app.db"));

    writeFileSync(configFile, '{\n  "database": "data/app.db",\n  "tableName": "x",\n}\n');
    const trailingComma = await jsonError(["status"]);
    assert.deepEqual([trailingComma.code, trailingComma.configFile], ["USAGE", configFile]);
    assert.ok(trailingComma.message.startsWith(`${configFile}:4:1: `), trailingComma.message);
    assert.equal(trailingComma.fix, `fix the JSON at ${configFile}:4:1`);
    writeFileSync(configFile, '{"database": "data/app.db"');
    assert.ok((await jsonError(["up"])).message.startsWith(`${configFile}:1:27: `));

    writeFileSync(configFile, '{"databse": "data/app.db"}');
    const misspelt = await jsonError(["status"]);
    assert.deepEqual([misspelt.setting, misspelt.configFile, misspelt.fix], ["databse", configFile, `rename "databse" to "database" in ${configFile}`]);
    writeFileSync(configFile, '{"database": "data/app.db", "driver": 3}');
    assert.deepEqual(await jsonError(["status"]).then(({ setting, configFile: file }) => [setting, file]), ["driver", configFile]);
    assert.equal(existsSync(path.join(project.root, "data")), false);
  });
});
