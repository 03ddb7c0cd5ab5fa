/**
 * `gen` and async migrations: every form of async `up`/`down` it recognises (the
 * `codegen/async-detection` fixture) is marked in the registry, sync look-alikes are not, `--check`
 * notices a mark edited away, the sync API refuses the generated registry before anything runs, and
 * the CLI runs it through the driver's async manager, `up --backup` included.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { Project } from "ts-morph";
import { scanMigrations } from "../codegen/scan.js";
import { createTestProject, runCli } from "./support/project.js";
import { parseProblemLines } from "./support/problem-lines.js";
import { MigrationManager, isAsyncMigration, migrate, migrateAsync, type MigrationRegistry } from "./support/stepwise.js";
import { StepwiseError } from "../src/core/errors.js";
import { factsOf } from "./support/stepwise-failure.js";

/** The fixture's async migrations, by version; the README there says why each is what it is. */
const ASYNC_VERSIONS = [1, 2, 3, 4, 5, 6, 7, 10, 11, 13];

test("gen marks every async form as async, and only those, through the real CLI", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/async-detection" });
  const gen = await runCli(["gen"], { cwd: project.root });
  assert.equal(gen.code, 0, gen.stderr);

  const migrations = await project.load<MigrationRegistry>();
  assert.deepEqual(
    migrations.filter(isAsyncMigration).map((entry) => entry.version),
    ASYNC_VERSIONS,
  );
  assert.equal(migrations.length, 13);
  const registry = readFileSync(project.registryFile, "utf8");
  assert.match(registry, /async: true/);
  assert.match(registry, /readonly async: boolean/);

  const check = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(check.code, 0, check.stderr);
});

test("gen reads the function that runs: an overload by its implementation, and a name assigned again or declared twice is refused", (t) => {
  const project = createTestProject(t);
  const head = `import { defineMigration } from "stepwise-migrate/better-sqlite3";\n`;
  // An async implementation behind a void overload signature: the implementation runs, so the migration is async.
  project.writeMigration(
    "001_overloaded.ts",
    `${head}function up(db: any): void;\nasync function up(db: any) { await Promise.resolve(); db.exec("CREATE TABLE a (x)"); }\nexport default defineMigration({ up });\n`,
  );
  // The implementation's body is read for the pragma transactions ignore, too.
  project.writeMigration("002_overloaded_pragma.ts", `${head}function up(db: any): void;\nfunction up(db: any) { db.exec("PRAGMA foreign_keys = OFF"); }\nexport default defineMigration({ up });\n`);
  // Each of these may hand the migration another function than the declaration gen would read.
  project.writeMigration("003_let.ts", `${head}let up = (db: any) => {};\nup = async (db: any) => {};\nexport default defineMigration({ up });\n`);
  project.writeMigration("004_var_twice.ts", `${head}var down = (db: any) => {};\nvar down = async (db: any) => {};\nexport default defineMigration({ up() {}, down });\n`);
  project.writeMigration("005_function_assigned.ts", `${head}function up(db: any) {}\n[up] = [async () => {}];\nexport default defineMigration({ up: up });\n`);
  project.writeMigration("006_const.ts", `${head}const up = async (db: any) => {};\nexport default defineMigration({ up });\n`);
  const { migrations, problems } = scanMigrations({ projectRoot: project.root, migrationsDir: project.migrationsDir });
  assert.deepEqual(
    problems.map((p) => [p.code, p.file, p.line]),
    [
      ["FOREIGN_KEYS_PRAGMA_IN_TRANSACTION", "migrations/002_overloaded_pragma.ts", 3],
      ["TS_NOT_A_FUNCTION", "migrations/003_let.ts", 4],
      ["TS_NOT_A_FUNCTION", "migrations/004_var_twice.ts", 4],
      ["TS_NOT_A_FUNCTION", "migrations/005_function_assigned.ts", 4],
    ],
  );
  assert.deepEqual(
    migrations.map((m) => [m.version, m.async]),
    [
      [1, true],
      [6, true],
    ],
  );
});

test("an up or down that nothing defines when the file runs (a declare function or const, overload signatures alone, a method without a body) is TS_NOT_A_FUNCTION; a declare beside an implementation is the implementation", async (t) => {
  const project = createTestProject(t);
  const head = `import { defineMigration } from "stepwise-migrate/better-sqlite3";\n`;
  const up = `up(db: any) { db.exec("CREATE TABLE x1 (a)"); }`;
  const nothing = {
    "001_declare_function.ts": `${head}declare function down(db: unknown): void;\nexport default defineMigration({ ${up}, down });\n`,
    "002_overloads_only.ts": `${head}function down(db: unknown): void;\nfunction down(db: unknown, again: boolean): void;\nexport default defineMigration({ ${up}, down });\n`,
    "003_declare_with_body.ts": `${head}declare function down(db: unknown): void {}\nexport default defineMigration({ ${up}, down });\n`,
    "004_declare_const.ts": `${head}declare const up = (db: any) => { db.exec("CREATE TABLE x1 (a)"); };\nexport default defineMigration({ up });\n`,
    "005_export_declare.ts": `${head}export declare function up(db: any): void;\nexport default defineMigration({ up });\n`,
    "006_method_without_body.ts": `${head}export default defineMigration({\n  ${up},\n  down(db: any)\n});\n`,
  };
  for (const [file, text] of Object.entries(nothing)) project.writeMigration(file, text);
  const { problems } = scanMigrations({ projectRoot: project.root, migrationsDir: project.migrationsDir });
  assert.deepEqual(
    problems.map((p) => [p.code, p.file, p.line]),
    Object.entries({
      "001_declare_function.ts": 3,
      "002_overloads_only.ts": 4,
      "003_declare_with_body.ts": 3,
      "004_declare_const.ts": 3,
      "005_export_declare.ts": 3,
      "006_method_without_body.ts": 4,
    }).map(([file, line]) => ["TS_NOT_A_FUNCTION", `migrations/${file}`, line]),
  );

  // Through the bin: refused, and no registry that would fail when up runs.
  const gen = await runCli(["gen"], { cwd: project.root });
  assert.equal(gen.code, 1, gen.stdout + gen.stderr);
  assert.deepEqual(new Set(parseProblemLines(gen.stderr).map((problem) => problem.code)), new Set(["TS_NOT_A_FUNCTION"]));

  // A declare or overload signature beside the implementation: the implementation runs, up and down alike.
  for (const file of Object.keys(nothing)) rmSync(path.join(project.migrationsDir, file));
  project.writeMigration(
    "001_declared_and_implemented.ts",
    `${head}declare function down(db: unknown): void;\nfunction down(db: any) { db.exec("DROP TABLE x1"); }\nexport default defineMigration({ ${up}, down });\n`,
  );
  project.writeMigration(
    "002_overloaded.ts",
    `${head}function up(db: any): void;\nfunction up(db: any) { db.exec("CREATE TABLE x2 (a)"); }\nexport default defineMigration({ up, down(db: any) { db.exec("DROP TABLE x2"); } });\n`,
  );
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const applied = await runCli(["up", "--db", "app.db"], { cwd: project.root });
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  const reverted = await runCli(["down", "--db", "app.db", "--to", "0"], { cwd: project.root });
  assert.equal(reverted.code, 0, reverted.stdout + reverted.stderr);
  const db = new Database(path.join(project.root, "app.db"), { readonly: true });
  t.after(() => db.close());
  assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'x%'").all(), []);
});

test("gen --check reports a registry whose async mark was edited away, naming the migration", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/async-detection" });
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const registry = readFileSync(project.registryFile, "utf8");
  assert.ok(registry.includes('"migrations/002_async_arrow_property.ts"'));
  // The mark is a field of the migration's entry, after its file.
  const lines = registry.split("\n");
  const entry = lines.findIndex((line) => line.includes('"migrations/002_async_arrow_property.ts"'));
  const flagLine = lines.findIndex((line, index) => index >= entry && /^\s*async: true,$/.test(line));
  assert.notEqual(flagLine, -1);
  lines[flagLine] = lines[flagLine]!.replace("async: true", "async: false");
  writeFileSync(project.registryFile, lines.join("\n"));

  const check = await runCli(["gen", "--check", "--no-cache"], { cwd: project.root });
  assert.equal(check.code, 1);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_async_arrow_property.ts", line: 1, column: 1, code: "REGISTRY_STALE" }]);
});

test("the sync API refuses a generated registry with async migrations, naming them, before anything runs", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/async-detection" });
  const migrations = await project.load<MigrationRegistry>();
  const db = new Database(project.databasePath());
  t.after(() => db.close());

  for (const attempt of [() => new MigrationManager(db, migrations), () => migrate(db, migrations)]) {
    assert.throws(attempt, (error: unknown) => {
      assert.ok(error instanceof StepwiseError && error.is("ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER"));
      assert.equal(error.code, "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER");
      assert.deepEqual(error.details.versions, ASYNC_VERSIONS);
      assert.equal(error.details.files[0], "migrations/001_async_method.ts");
      assert.equal(error.details.files.length, ASYNC_VERSIONS.length);
      assert.equal(error.details.driver, "better-sqlite3");
      return true;
    });
  }
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_master").pluck().get(), 0);
  assert.equal(db.pragma("user_version", { simple: true }), 0);
});

test("a body returning a promise gen cannot see (an any-typed helper) is still refused by the sync API, leaving the database as it was; migrateAsync applies it", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/async-hidden-from-gen" });
  const gen = await runCli(["gen"], { cwd: project.root });
  assert.equal(gen.code, 0, gen.stderr);
  const migrations = await project.load<MigrationRegistry>();
  assert.deepEqual(
    migrations.filter(isAsyncMigration).map((entry) => entry.version),
    [],
    "gen marked a migration async: the fixture no longer hides it",
  );
  const db = new Database(project.databasePath());
  t.after(() => db.close());
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  const state = () => ({ tables: db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all(), contacts: db.prepare("SELECT count(*) FROM contacts").pluck().get() });
  const refusedAt = (version: number) => (error: unknown) => {
    const fields = factsOf(error) as { code?: unknown; version?: unknown; rolledBack?: unknown; cause?: { code?: unknown } };
    assert.deepEqual([fields.code, fields.version, fields.rolledBack, fields.cause?.code], ["MIGRATION_FAILED", version, true, "ASYNC_IN_SYNC_RUNNER"]);
    return true;
  };

  // 001 applies in its own transaction; 002 is refused when it returns its promise, rolled back, and its .then cannot write.
  assert.throws(() => migrate(db, migrations), refusedAt(2));
  await tick();
  assert.deepEqual(state(), { tables: ["contacts", "schema_migrations"], contacts: 0 });
  assert.deepEqual(
    (await migrateAsync(db, migrations)).steps.map((step) => step.version),
    [2],
  );
  assert.deepEqual(state(), { tables: ["contacts", "in_then", "schema_migrations"], contacts: 1 });
});

/** The tables of the SQLite file at `file` (the history table aside), by name. */
function tablesOf(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations' ORDER BY name").pluck().all() as string[];
  } finally {
    db.close();
  }
}

test("the CLI runs a registry with async migrations through the driver's AsyncMigrationManager: up, status, history, down, verify, up --dry-run, reset", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/async-detection" });
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const cli = async <T>(args: readonly string[]): Promise<T> => {
    const result = await runCli([...args, "--json", "--db", "app.db"], { cwd: project.root });
    assert.equal(result.code, 0, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  const file = project.databasePath();

  // 001 awaits before its statement: the transaction is held across the await, and its table is there.
  const up = await cli<{ toVersion: number; steps: Array<{ version: number }> }>(["up", "--to", "12"]);
  assert.deepEqual([up.toVersion, up.steps.length], [12, 12]);
  // 006 builds no table (its query builder is a stand-in).
  assert.deepEqual(tablesOf(file), ["a", "b", "c", "d", "e", "g", "h", "i", "j", "k", "l"]);
  const status = await cli<{ currentVersion: number; pendingCount: number }>(["status"]);
  assert.deepEqual([status.currentVersion, status.pendingCount], [12, 1]);
  assert.equal((await cli<unknown[]>(["history"])).length, 12);

  // 011's down returns a PromiseLike; 012's is SQL.
  const down = await cli<{ toVersion: number; steps: Array<{ version: number }> }>(["down", "--to", "10"]);
  assert.deepEqual([down.toVersion, down.steps.map((step) => step.version)], [10, [12, 11]]);
  assert.ok(!tablesOf(file).includes("k") && !tablesOf(file).includes("l"));

  assert.deepEqual(await cli<{ ok: boolean; version: number }>(["verify"]).then((v) => [v.ok, v.version]), [true, 10]);
  // The async rehearsal runs on the file inside a transaction rolled back: nothing stays.
  const before = readFileSync(file);
  const rehearsal = await cli<{ ok: boolean; reachedVersion: number; steps: Array<{ version: number; status: string }> }>(["up", "--dry-run"]);
  assert.deepEqual([rehearsal.ok, rehearsal.reachedVersion, rehearsal.steps.map((step) => step.version)], [true, 13, [11, 12, 13]]);
  assert.deepEqual(readFileSync(file), before);

  assert.equal((await cli<{ toVersion: number }>(["up"])).toVersion, 13);
  assert.ok(tablesOf(file).includes("m"));
  assert.deepEqual((await cli<{ steps: unknown[] }>(["up"])).steps, []);
  const reset = await cli<{ toVersion: number; steps: unknown[] }>(["reset", "--yes"]);
  assert.deepEqual([reset.toVersion, reset.steps.length], [13, 13]);
});

test("up --backup on a registry with async migrations snapshots the database, then applies them through the async runner", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/async-detection" });
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["up", "--to", "2", "--db", "app.db"], { cwd: project.root })).code, 0);
  const result = await runCli(["up", "--backup", "snapshots", "--json", "--db", "app.db"], { cwd: project.root });
  assert.equal(result.code, 0, result.stderr);
  const { toVersion, backup } = JSON.parse(result.stdout) as { toVersion: number; backup: { version: number; path: string } };
  assert.deepEqual([toVersion, backup.version, path.dirname(backup.path)], [13, 2, path.join(project.root, "snapshots")]);
  assert.ok(tablesOf(backup.path).length < tablesOf(project.databasePath()).length);
});

test("baseline and repair through the CLI on a registry with async migrations use the async nets", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/async-detection" });
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const run = (args: readonly string[]) => runCli([...args, "--json", "--db", "app.db"], { cwd: project.root });
  const file = project.databasePath();
  assert.equal((await run(["up", "--to", "12"])).code, 0);
  const edit = (sql: string) => {
    const db = new Database(file);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  };

  // A database "made before stepwise": the schema of 1..12 (async bodies included in the replay), no history.
  edit("DROP TABLE schema_migrations; PRAGMA user_version = 0");
  const baseline = await run(["baseline", "12"]);
  assert.equal(baseline.code, 0, baseline.stdout + baseline.stderr);
  assert.deepEqual((JSON.parse(baseline.stdout) as { version: number; forced: boolean }).version, 12);

  // An interrupted attempt at 12, resolved by forgetting it: up then runs 12 and 13 again.
  edit("UPDATE schema_migrations SET state = 'started' WHERE version = 12; DROP TABLE l");
  const repair = await run(["repair", "--forget", "12", "--yes"]);
  assert.equal(repair.code, 0, repair.stdout + repair.stderr);
  const repaired = JSON.parse(repair.stdout) as { version: number; resolution: string; currentVersion: number };
  assert.deepEqual([repaired.version, repaired.resolution, repaired.currentVersion], [12, "forget", 11]);
  const up = await run(["up"]);
  assert.equal(up.code, 0, up.stderr);
  assert.deepEqual(
    (JSON.parse(up.stdout) as { steps: Array<{ version: number }> }).steps.map((step) => step.version),
    [12, 13],
  );
});

test("gen's type check of bodies that return a call keeps one migration in TypeScript's program at a time, however many the folder holds", (t) => {
  // Each migration added to the checker's program made TypeScript build it again with every earlier one: a folder of 1,000 such bodies took minutes (quadratic).
  const project = createTestProject(t);
  mkdirSync(path.join(project.root, "lib"));
  writeFileSync(path.join(project.root, "lib", "helpers.ts"), "export const touch = (db: { exec(sql: string): unknown }) => db.exec('SELECT 1');\nexport const later = async () => {};\n");
  const count = 120;
  for (let version = 1; version <= count; version++) {
    const body = version % 10 === 0 ? "up: () => later()," : "up: (db) => touch(db),";
    project.writeMigration(
      `${String(version).padStart(3, "0")}_m.ts`,
      `import { defineMigration } from "stepwise-migrate";\nimport { later, touch } from "../lib/helpers.js";\nexport default defineMigration({ ${body} down: (db) => touch(db) });\n`,
    );
  }
  const projects = new Set<Project>();
  const createSourceFile = Project.prototype.createSourceFile;
  t.mock.method(Project.prototype, "createSourceFile", function (this: Project, ...args: Parameters<Project["createSourceFile"]>) {
    projects.add(this);
    return createSourceFile.apply(this, args);
  });

  const scan = scanMigrations({ projectRoot: project.root, migrationsDir: project.migrationsDir });
  assert.deepEqual(scan.problems, []);
  assert.deepEqual(
    scan.migrations.filter((migration) => migration.async).map((migration) => migration.version),
    Array.from({ length: count / 10 }, (_, index) => (index + 1) * 10),
  );
  assert.equal(projects.size, 1);
  const migrationTwins = [...projects][0]!.getSourceFiles().filter((file) => file.getFilePath().startsWith(project.migrationsDir.replaceAll("\\", "/")));
  assert.ok(migrationTwins.length <= 1, `${migrationTwins.length} migrations held in the checker's program`);
});
