/**
 * A hostile environment: each case gets a typed error and leaves the file byte for byte as it was.
 *
 * Read-only cases: root ignores file modes, and tests may run as root, so the CLI runs as the
 * unprivileged user `nobody` when the suite is root (from a staged copy it can read, wherever this
 * checkout sits), and as the current user otherwise; a connection opened with `{ readonly: true }`
 * covers the same refusal in-process everywhere.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after as afterAll, before as beforeAll, test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "./support/stepwise.js";
import { binArgs } from "./support/compiled-bin.js";
import { cliNode, collectOutput, createTestProject, readBytes, repoRoot, runCli, type RunResult, type TestProject } from "./support/project.js";
import { prepareUnprivilegedCli, type UnprivilegedCli } from "./support/unprivileged-cli.js";
import { StepwiseError } from "../src/core/errors.js";

let unprivileged: UnprivilegedCli;
beforeAll(() => {
  unprivileged = prepareUnprivilegedCli();
});
afterAll(() => unprivileged?.dispose());

/** A project whose database has migration 1 applied and 2 pending. */
async function projectWithPendingMigration(
  t: Parameters<typeof createTestProject>[0],
  create: typeof createTestProject = createTestProject,
): Promise<{ project: TestProject; file: string; migrations: Awaited<ReturnType<TestProject["load"]>> }> {
  const project = create(t, { fixture: "fk-parent-rebuild" });
  const migrations = await project.load();
  const file = project.databasePath();
  const db = new Database(file);
  new MigrationManager(db, migrations).up({ to: 1 });
  db.close();
  return { project, file, migrations };
}

test("a read-only connection: DATABASE_UNUSABLE (SQLITE_READONLY), nothing changed", async (t) => {
  const { file, migrations } = await projectWithPendingMigration(t);
  const before = readBytes(file);
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  assert.throws(
    () => new MigrationManager(db, migrations).up(),
    (error: StepwiseError<"DATABASE_UNUSABLE">) => error.code === "DATABASE_UNUSABLE" && error.details.sqliteCode === "SQLITE_READONLY",
  );
  assert.deepEqual(readBytes(file), before);
});

test("a read-only database file and a read-only folder: the CLI exits 1 with DATABASE_UNUSABLE, nothing changed", async (t) => {
  if (unprivileged.unavailable) {
    t.skip(unprivileged.unavailable);
    return;
  }
  const { project, file } = await projectWithPendingMigration(t, (context, options) => unprivileged.createProject(context, options));
  chmodSync(project.root, 0o755);
  const before = readBytes(file);

  chmodSync(file, 0o444);
  const readOnlyFile = await unprivileged.run(["up", "--db", file], { cwd: project.root });
  assert.equal(readOnlyFile.code, 1, readOnlyFile.stderr);
  assert.match(readOnlyFile.stderr, /\[DATABASE_UNUSABLE\]/);
  assert.deepEqual(readBytes(file), before);

  // The file itself is writable, but SQLite cannot create its journal beside it.
  chmodSync(file, 0o666);
  chmodSync(project.root, 0o555);
  let readOnlyFolder: RunResult;
  try {
    readOnlyFolder = await unprivileged.run(["up", "--db", file], { cwd: project.root });
  } finally {
    chmodSync(project.root, 0o755);
  }
  assert.equal(readOnlyFolder.code, 1, readOnlyFolder.stderr);
  assert.match(readOnlyFolder.stderr, /\[DATABASE_UNUSABLE\]/);
  assert.deepEqual(readBytes(file), before);
});

test("a lock held beyond the busy timeout: DATABASE_LOCKED naming the holding process, nothing changed", async (t) => {
  const { project, file, migrations } = await projectWithPendingMigration(t);
  const before = readBytes(file);
  const holder = spawn(
    process.execPath,
    ["-e", `const db = new (require("better-sqlite3"))(process.argv[1]); db.exec("BEGIN IMMEDIATE"); console.log("locked"); setTimeout(() => {}, 60000);`, file],
    // A path, not a URL's percent-encoded pathname: the checkout may sit under "my proj é".
    { cwd: project.root, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NODE_PATH: path.join(repoRoot, "node_modules") } },
  );
  t.after(() => holder.kill("SIGKILL"));
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && resolve());
    holder.once("exit", (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock; its stderr is above`)));
  });

  const db = new Database(file);
  t.after(() => db.close());
  assert.throws(
    () => new MigrationManager(db, migrations, { busyTimeoutMs: 100 }).up(),
    (error: StepwiseError<"DATABASE_LOCKED">) =>
      error.code === "DATABASE_LOCKED" &&
      error.details.busyTimeoutMs === 100 &&
      // Linux names the holder through /proc/locks; elsewhere the list is empty.
      (process.platform !== "linux" || error.details.holders.some((h) => h.pid === holder.pid && h.lock === "write")),
  );
  const cli = await runCli(["up", "--busy-timeout", "100", "--db", file], { cwd: project.root });
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /\[DATABASE_LOCKED\]/);

  holder.kill("SIGKILL");
  await new Promise((resolve) => holder.once("exit", resolve));
  db.close();
  assert.deepEqual(readBytes(file), before);
});

test("a database file replaced while up runs: DATABASE_UNUSABLE (SQLITE_READONLY_DBMOVED) saying so, not read-only advice, and the file now at the path untouched", async (t) => {
  const project = createTestProject(t);
  // The first migration swaps the file under the run, as a deploy script or a restore of another process would: aside, and a copy of it before the run in its place.
  project.writeMigration(
    "001_swap.ts",
    `import { copyFileSync, renameSync } from "node:fs";
import { defineMigration } from "stepwise-migrate";
export default defineMigration({
  up(db) {
    db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY)");
    renameSync(db.name, db.name + ".aside");
    copyFileSync(db.name + ".before", db.name);
  },
});
`,
  );
  project.writeMigration("002_more.sql", "-- migrate:up\nCREATE TABLE more (id INTEGER PRIMARY KEY);\n");
  await project.generateAsBin();
  const file = project.databasePath();
  new Database(file).close();
  writeFileSync(`${file}.before`, readBytes(file));
  const before = readBytes(file);
  const run = await runCli(["up", "--json", "--db", file], { cwd: project.root, child: true });
  assert.equal(run.code, 1, run.stderr);
  const { error } = JSON.parse(run.stdout) as { error: { code: string; sqliteCode: string; fix: string } };
  assert.deepEqual([error.code, error.sqliteCode], ["DATABASE_UNUSABLE", "SQLITE_READONLY_DBMOVED"]);
  assert.doesNotMatch(error.fix, /writable|query_only/);
  assert.match(error.fix, /"stepwise status --db /);
  assert.deepEqual(readBytes(file), before);
});

test("the database's folder remounted read-only while up runs: the migration is not kept, and the error names the read-only folder, not free space", async (t) => {
  if (spawnSync("unshare", ["-m", "--propagation", "private", "true"]).status !== 0) return void t.skip("unshare -m is not allowed here");
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  // What a file system remounted read-only after an error does to a run: its journal cannot be removed at COMMIT.
  project.writeMigration(
    "002_fill.ts",
    `import { execFileSync } from "node:child_process";
import path from "node:path";
import { defineMigration } from "stepwise-migrate";
export default defineMigration({
  up(db) {
    db.exec("INSERT INTO items DEFAULT VALUES");
    // Only in the run given its own mount namespace.
    if (!process.env.REMOUNT_READ_ONLY) return;
    const folder = path.dirname(db.name);
    execFileSync("sh", ["-c", 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1"', "sh", folder]);
  },
});
`,
  );
  await project.generateAsBin();
  const file = project.databasePath();
  assert.equal((await runCli(["up", "--to", "1", "--db", file], { cwd: project.root })).code, 0);
  const before = readBytes(file);
  const child = spawn("unshare", ["-m", "--propagation", "private", cliNode(), ...binArgs(), "up", "--json", "--db", file], {
    cwd: project.root,
    env: { ...process.env, REMOUNT_READ_ONLY: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run = await collectOutput(child);
  assert.equal(run.code, 1, run.stderr);
  const { error } = JSON.parse(run.stdout) as { error: { code: string; sqliteCode: string; fix: string } };
  assert.equal(error.code, "DATABASE_UNUSABLE");
  assert.match(error.sqliteCode, /^SQLITE_IOERR/);
  assert.doesNotMatch(error.fix, /^free disk space/);
  assert.match(error.fix, /read-only/);
  // The mount went with the run's namespace: the next connection rolls the journal back, and up applies the migration.
  const status = await runCli(["status", "--json", "--db", file], { cwd: project.root });
  assert.equal((JSON.parse(status.stdout) as { currentVersion: number }).currentVersion, 1);
  assert.deepEqual(readBytes(file), before);
  const again = await runCli(["up", "--db", file], { cwd: project.root });
  assert.equal(again.code, 0, again.stderr);
});

for (const driver of ["better-sqlite3", "libsql"]) {
  test(`${driver}: a journal something else deletes while up runs: DATABASE_UNUSABLE (SQLITE_IOERR_DELETE_NOENT), which does not say nothing was changed nor blame a read-only folder or a quota, since the migration was committed`, async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
    // Its deletion is SQLite's commit: already gone, the transaction is kept.
    project.writeMigration(
      "002_fill.ts",
      `import { rmSync } from "node:fs";
import { defineMigration } from "stepwise-migrate";
export default defineMigration({
  up(db) {
    db.exec("INSERT INTO items DEFAULT VALUES");
    rmSync((db.prepare("PRAGMA database_list").all() as { file: string }[])[0]!.file + "-journal");
  },
});
`,
    );
    await project.generateAsBin();
    const file = project.databasePath();
    const at = ["--db", file, "--driver", driver];
    assert.equal((await runCli(["up", "--to", "1", ...at], { cwd: project.root })).code, 0);
    const run = await runCli(["up", "--json", ...at], { cwd: project.root });
    assert.equal(run.code, 1, run.stderr);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; sqliteCode: string; message: string; fix: string } };
    assert.deepEqual([error.code, error.sqliteCode], ["DATABASE_UNUSABLE", "SQLITE_IOERR_DELETE_NOENT"]);
    assert.doesNotMatch(`${error.message} ${error.fix}`, /Nothing was changed|nothing was committed|read-only|quota/);
    assert.match(error.fix, /"stepwise status/);
    const status = await runCli(["status", "--json", ...at], { cwd: project.root });
    assert.equal((JSON.parse(status.stdout) as { currentVersion: number }).currentVersion, 2);
  });
}

test("a file that is not SQLite: DATABASE_UNUSABLE (SQLITE_NOTADB) from the library and exit 1 from the CLI, nothing changed", async (t) => {
  const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
  const migrations = await project.load();
  const file = project.databasePath();
  writeFileSync(file, "name,phone\nAda,555-0100\n".repeat(200));
  const before = readBytes(file);
  const db = new Database(file);
  t.after(() => db.close());
  assert.throws(
    () => new MigrationManager(db, migrations).up(),
    (error: StepwiseError<"DATABASE_UNUSABLE">) => error.code === "DATABASE_UNUSABLE" && error.details.sqliteCode === "SQLITE_NOTADB",
  );
  const cli = await runCli(["up", "--db", file], { cwd: project.root });
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /\[DATABASE_UNUSABLE\]/);
  // The CLI names the file it opened, here from DATABASE_URL, which the library's error cannot: a write and a read alike.
  for (const command of ["up", "status"]) {
    const run = await runCli([command, "--json"], { cwd: project.root, env: { DATABASE_URL: file } });
    assert.equal(run.code, 1, run.stderr);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; sqliteCode: string; databasePath: string; message: string } };
    assert.deepEqual([error.code, error.sqliteCode, error.databasePath], ["DATABASE_UNUSABLE", "SQLITE_NOTADB", file], command);
    assert.ok(error.message.startsWith(`${file}: `), error.message);
  }
  assert.deepEqual(readBytes(file), before);
});

test("a migration that reads a damaged ATTACHed file: the CLI's error does not name the database as that file", async (t) => {
  const project = createTestProject(t);
  const other = path.join(project.root, "other.db");
  const damaged = new Database(other);
  damaged.exec("CREATE TABLE x (v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO x SELECT hex(randomblob(200)) FROM n");
  damaged.close();
  // The table's pages overwritten: the file opens, its schema reads, its rows do not.
  const bytes = readBytes(other);
  bytes.fill(0xff, 4096 * 2, bytes.length);
  writeFileSync(other, bytes);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  project.writeMigration("002_copy.sql", `-- migrate:up\nATTACH DATABASE '${other}' AS other;\nCREATE TABLE copied AS SELECT * FROM other.x;\n`);
  await project.generateAsBin();
  const file = project.databasePath();
  const run = await runCli(["up", "--json", "--db", file], { cwd: project.root });
  assert.equal(run.code, 1, run.stderr);
  const { error } = JSON.parse(run.stdout) as { error: { code: string; version?: number; databasePath?: string; message: string } };
  assert.equal(error.databasePath, undefined, error.message);
  assert.ok(!error.message.startsWith(file), error.message);
  const status = await runCli(["status", "--json", "--db", file], { cwd: project.root });
  assert.equal((JSON.parse(status.stdout) as { currentVersion: number }).currentVersion, 1);
});

test("user tables without a history table: UNMANAGED_DATABASE listing them, nothing changed", async (t) => {
  const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
  const migrations = await project.load();
  const file = project.databasePath();
  const setup = new Database(file);
  setup.exec("CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO authors (name) VALUES ('Le Guin')");
  setup.close();
  const before = readBytes(file);
  const db = new Database(file);
  t.after(() => db.close());
  assert.throws(
    () => new MigrationManager(db, migrations).up(),
    (error: StepwiseError<"UNMANAGED_DATABASE">) => error.code === "UNMANAGED_DATABASE" && error.details.tables.includes("authors"),
  );
  const cli = await runCli(["up", "--db", file], { cwd: project.root });
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /\[UNMANAGED_DATABASE\]/);
  assert.deepEqual(readBytes(file), before);
});

test("a history table of another shape: HISTORY_TABLE_INVALID naming the missing columns, nothing changed", async (t) => {
  const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
  const migrations = await project.load();
  const file = project.databasePath();
  const setup = new Database(file);
  setup.exec("CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, filename TEXT NOT NULL); INSERT INTO schema_migrations (filename) VALUES ('0001_init.sql')");
  setup.close();
  const before = readBytes(file);
  const db = new Database(file);
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);
  for (const action of [() => manager.up(), () => manager.history()]) {
    assert.throws(
      action,
      (error: unknown) =>
        error instanceof StepwiseError &&
        error.is("HISTORY_TABLE_INVALID") &&
        "missingColumns" in error.details &&
        error.details.missingColumns.includes("version") &&
        error.details.missingColumns.includes("checksum"),
    );
  }
  // status reports the same refusal as plain data.
  const problem = manager.status().problem as { code: string; missingColumns?: string[] } | null;
  assert.equal(problem?.code, "HISTORY_TABLE_INVALID");
  assert.ok(problem?.missingColumns?.includes("version") && problem.missingColumns.includes("checksum"), JSON.stringify(problem));
  const cli = await runCli(["up", "--db", file], { cwd: project.root });
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /\[HISTORY_TABLE_INVALID\]/);
  assert.deepEqual(readBytes(file), before);
});
