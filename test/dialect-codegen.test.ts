/**
 * Dialect-aware codegen end to end: the real `gen` bin as a child process on real PostgreSQL
 * fixture folders (test/fixtures/dialect/), the dialect chosen by flag or config, recorded in the
 * registry, and a registry of one dialect refused by a driver of the other.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { importTypeScript } from "../codegen/ts-import.js";
import { buildRegistrySource, generateRegistry, readRecordedDialect } from "../codegen/generate.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { MigrationManager, migrate } from "../src/entries/better-sqlite3.js";
import { createTestProject, fixturesDir, readBytes, repoRoot, runCli, type TestProject } from "./support/project.js";
import { parseProblemLines } from "./support/problem-lines.js";
import { caught } from "./support/registry-builders.js";

const postgresFixture = path.join(fixturesDir, "dialect", "postgres");
const postgresSnapshot = path.join(repoRoot, "test", "snapshots", "golden-registry-postgres.ts");

function writeConfig(project: TestProject, config: object): void {
  writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify(config));
}

async function importRegistry(file: string): Promise<{ migrations: MigrationRegistry; dialect?: string }> {
  return (await importTypeScript(pathToFileURL(file).href, import.meta.url)) as { migrations: MigrationRegistry; dialect?: string };
}

test("gen --dialect postgres accepts dollar-quoted bodies holding ; and COMMIT, E-strings, nested comments and CONCURRENTLY with transaction:false, and records the dialect", async (t) => {
  const project = createTestProject(t, { fixture: "dialect/postgres" });
  const result = await runCli(["gen", "--dialect", "postgres"], { cwd: project.root });
  assert.equal(result.code, 0, result.stderr);
  const text = readFileSync(project.registryFile, "utf8");
  assert.equal(readRecordedDialect(text), "postgres");

  const loaded = await importRegistry(project.registryFile);
  assert.equal(loaded.dialect, "postgres");
  assert.deepEqual(
    loaded.migrations.map((entry) => [entry.version, entry.dialect, entry.transaction]),
    [
      [1, "postgres", true],
      [2, "postgres", true],
      [3, "postgres", false],
      [4, "postgres", true],
    ],
  );
  // The SQL is carried byte for byte: the dollar body and the E-string are not touched.
  const second = loaded.migrations[1]!;
  assert.ok(second.kind === "sql" && second.upSql.includes("  COMMIT;\nEND\n$$;"));
  const first = loaded.migrations[0]!;
  assert.ok(first.kind === "sql" && first.upSql.includes(String.raw`E'it\'s here; COMMIT; \\ ok'`));

  const check = await runCli(["gen", "--check", "--dialect", "postgres"], { cwd: project.root });
  assert.equal(check.code, 0, check.stderr);
});

test("the postgres registry equals its committed snapshot byte for byte: the dialect line, and each entry carrying it", async () => {
  const built = await buildRegistrySource({ projectRoot: repoRoot, migrationsDir: postgresFixture, registryFile: postgresSnapshot, dialect: "postgres" });
  assert.ok(built.ok, "the postgres fixture must be valid");
  if (process.env.UPDATE_SNAPSHOTS === "1") writeFileSync(postgresSnapshot, built.source);
  assert.equal(built.source, readFileSync(postgresSnapshot, "utf8"), "gen's postgres output changed; if intended, update the snapshot (test/snapshots/README.md)");
});

test("the same folder read as sqlite is refused: the tokeniser is the dialect's, so a COMMIT in a dollar body is a statement to SQLite", async (t) => {
  const project = createTestProject(t, { fixture: "dialect/postgres" });
  const result = await runCli(["gen"], { cwd: project.root });
  assert.equal(result.code, 1);
  const problems = parseProblemLines(result.stderr);
  assert.ok(
    problems.some((p) => p.code === "SQL_TRANSACTION_CONTROL" && p.file === "migrations/002_audit_function.sql" && p.line === 17 && p.column === 3),
    result.stderr,
  );
  assert.equal(existsSync(project.registryFile), false, "nothing is written");
});

test("a transactional postgres migration with CONCURRENTLY, VACUUM, COMMIT or START TRANSACTION is refused at file:line:col, and so is foreign_keys:off and an unclosed dollar quote", async (t) => {
  const project = createTestProject(t, { fixture: "dialect/postgres-refused" });
  const result = await runCli(["gen", "--dialect", "postgres"], { cwd: project.root });
  assert.equal(result.code, 1);
  assert.deepEqual(parseProblemLines(result.stderr), [
    { file: "migrations/001_index_in_transaction.sql", line: 3, column: 1, code: "SQL_NEEDS_NO_TRANSACTION" },
    { file: "migrations/001_index_in_transaction.sql", line: 5, column: 1, code: "SQL_NEEDS_NO_TRANSACTION" },
    { file: "migrations/002_commits_itself.sql", line: 3, column: 1, code: "SQL_TRANSACTION_CONTROL" },
    { file: "migrations/002_commits_itself.sql", line: 4, column: 3, code: "SQL_TRANSACTION_CONTROL" },
    { file: "migrations/003_vacuum.sql", line: 3, column: 1, code: "SQL_NEEDS_NO_TRANSACTION" },
    { file: "migrations/004_foreign_keys_flag.sql", line: 1, column: 15, code: "FOREIGN_KEYS_FLAG_UNSUPPORTED" },
    { file: "migrations/005_unclosed_body.sql", line: 2, column: 49, code: "SQL_UNTERMINATED" },
  ]);
  // Every refusal of a statement names the fix.
  for (const line of result.stderr.split("\n").filter((l) => /SQL_NEEDS_NO_TRANSACTION|SQL_TRANSACTION_CONTROL/.test(l))) assert.match(line, /transaction:false/);
  assert.equal(existsSync(project.registryFile), false);
});

test("the same statements pass with transaction:false; ALTER TYPE … ADD VALUE passes in a transaction (PostgreSQL 12 and later)", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_enum.sql", "-- migrate:up\nCREATE TYPE mood AS ENUM ('sad');\nALTER TYPE mood ADD VALUE 'happy';\n");
  project.writeMigration(
    "002_maintenance.sql",
    "-- migrate:up transaction:false\nCREATE UNIQUE INDEX CONCURRENTLY i ON t (a);\nREINDEX (VERBOSE) TABLE CONCURRENTLY t;\nVACUUM t;\nALTER TABLE p DETACH PARTITION c CONCURRENTLY;\n",
  );
  project.writeMigration("003_not_a_transaction.sql", "-- migrate:up\nPREPARE q (int) AS SELECT $1;\nSELECT 'COMMIT';\n");
  const result = await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, dialect: "postgres" });
  assert.deepEqual(result.problems, []);
  assert.equal(result.status, "written");
});

test("each statement PostgreSQL refuses in a transaction block is refused in a transactional migration, named by code and line", async (t) => {
  const project = createTestProject(t);
  const statements = [
    "REINDEX TABLE CONCURRENTLY t",
    "REINDEX (VERBOSE) DATABASE app",
    "CREATE DATABASE other",
    "DROP DATABASE other",
    "CREATE TABLESPACE s LOCATION '/x'",
    "ALTER SYSTEM SET work_mem = '64MB'",
    "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
    "CLUSTER",
    "DISCARD ALL",
    "ROLLBACK",
    "ABORT",
    "END",
    "BEGIN",
    "SAVEPOINT s",
    "RELEASE SAVEPOINT s",
    "PREPARE TRANSACTION 'x'",
  ];
  project.writeMigration("001_all.sql", `-- migrate:up\n${statements.map((s) => `${s};`).join("\n")}\n`);
  const result = await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, dialect: "postgres" });
  assert.deepEqual(
    result.problems.map((p) => p.line),
    statements.map((_, index) => index + 2),
  );
  assert.deepEqual(
    result.problems.map((p) => p.code),
    statements.map((_, index) => (index < 9 ? "SQL_NEEDS_NO_TRANSACTION" : "SQL_TRANSACTION_CONTROL")),
  );
});

test("the flag wins over the config, an unknown dialect is USAGE naming the dialects, from the flag or the config", async (t) => {
  const project = createTestProject(t, { fixture: "dialect/postgres" });
  writeConfig(project, { dialect: "postgres" });
  const fromConfig = await runCli(["gen"], { cwd: project.root });
  assert.equal(fromConfig.code, 0, fromConfig.stderr);
  assert.equal(readRecordedDialect(readFileSync(project.registryFile, "utf8")), "postgres");

  // The flag says sqlite: the folder is read by SQLite's rules, which refuse it.
  const flagWins = await runCli(["gen", "--dialect", "sqlite", "--dir", "migrations", "--out", "generated/other.ts"], { cwd: project.root });
  assert.equal(flagWins.code, 1);
  assert.ok(parseProblemLines(flagWins.stderr).some((p) => p.code === "SQL_TRANSACTION_CONTROL"));

  const badFlag = await runCli(["gen", "--dialect", "mysql"], { cwd: project.root });
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /^error \[USAGE\]: .*sqlite, postgres/m);

  writeConfig(project, { dialect: "Postgres" });
  const badConfig = await runCli(["gen"], { cwd: project.root });
  assert.equal(badConfig.code, 2);
  assert.match(badConfig.stderr, /^error \[USAGE\]: .*"Postgres".*sqlite, postgres/m);

  for (const dialects of [{ mysql: { migrationsDir: "m" } }, { postgres: { database: "x.db" } }, { postgres: { migrationsDir: "" } }, { postgres: "migrations/postgres" }]) {
    writeConfig(project, { dialects });
    const bad = await runCli(["gen", "--dialect", "postgres"], { cwd: project.root });
    assert.equal(bad.code, 2, JSON.stringify(dialects));
    assert.match(bad.stderr, /^error \[USAGE\]: .*"dialects"/m, JSON.stringify(dialects));
  }
});

test("an app on both dialects keeps a folder and a registry per dialect in one config; gen and gen --dialect postgres each write and check their own", async (t) => {
  const project = createTestProject(t);
  cpSync(path.join(fixturesDir, "codegen", "golden"), path.join(project.root, "migrations", "sqlite"), { recursive: true });
  cpSync(postgresFixture, path.join(project.root, "migrations", "postgres"), { recursive: true });
  writeConfig(project, {
    migrationsDir: "migrations/sqlite",
    registryFile: "generated/registry.ts",
    dialects: { postgres: { migrationsDir: "migrations/postgres", registryFile: "generated/registry.postgres.ts" } },
  });
  const sqlite = await runCli(["gen"], { cwd: project.root });
  assert.equal(sqlite.code, 0, sqlite.stderr);
  const postgres = await runCli(["gen", "--dialect", "postgres"], { cwd: project.root });
  assert.equal(postgres.code, 0, postgres.stderr);
  const postgresFile = path.join(project.root, "generated", "registry.postgres.ts");
  assert.equal(readRecordedDialect(readFileSync(project.registryFile, "utf8")), "sqlite");
  assert.equal(readRecordedDialect(readFileSync(postgresFile, "utf8")), "postgres");
  for (const args of [
    ["gen", "--check"],
    ["gen", "--check", "--dialect", "postgres"],
  ]) {
    const check = await runCli(args, { cwd: project.root });
    assert.equal(check.code, 0, `${args.join(" ")}: ${check.stderr}`);
  }

  // A second postgres migration goes to the postgres folder and registry only.
  const created = await runCli(["create", "--sql", "--dialect", "postgres", "add notes"], { cwd: project.root });
  assert.equal(created.code, 0, created.stderr);
  const createdFile = path.join(project.root, "migrations", "postgres", "005_add_notes.sql");
  assert.ok(existsSync(createdFile));
  // create leaves the registry to gen, which refuses the template until it is written.
  assert.equal((await importRegistry(postgresFile)).migrations.length, 4);
  writeFileSync(createdFile, "-- migrate:up\nCREATE TABLE notes (id integer PRIMARY KEY);\n-- migrate:down\nDROP TABLE notes;\n");
  assert.equal((await runCli(["gen", "--dialect", "postgres"], { cwd: project.root })).code, 0);
  assert.equal((await importRegistry(postgresFile)).migrations.length, 5);
  assert.equal((await importRegistry(project.registryFile)).migrations.length, 5);
});

test("a dialect the config names no folder for is USAGE rather than the other dialect's folder and registry, the default ones of a config that names its dialect included", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  writeConfig(project, { migrationsDir: "migrations", registryFile: "generated/registry.ts" });
  const result = await runCli(["gen", "--dialect", "postgres"], { cwd: project.root });
  assert.equal(result.code, 2, result.stdout + result.stderr);
  assert.match(result.stderr, /^error \[USAGE\]: .*"dialects": \{"postgres"/m);
  assert.equal(existsSync(project.registryFile), false);

  writeConfig(project, { dialect: "postgres", driver: "pg" });
  const before = readdirSync(project.migrationsDir).sort();
  for (const args of [
    ["create", "--dialect", "sqlite", "add notes"],
    ["gen", "--dialect", "sqlite"],
  ]) {
    const refused = await runCli(args, { cwd: project.root });
    assert.equal(refused.code, 2, `${args.join(" ")}: ${refused.stdout + refused.stderr}`);
    assert.match(refused.stderr, /^error \[USAGE\]: .*"dialects": \{"sqlite"/m);
  }
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), before);
});

test("import of the other dialect into the folder the config's dialect owns is refused as create's is, with the same dialects entry to add; --dir alone is advised only where the config names the registry; following the fix, it imports", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  mkdirSync(path.join(project.root, "db", "migrations"), { recursive: true });
  writeFileSync(path.join(project.root, "db", "migrations", "20200101000000_notes.sql"), "-- migrate:up\nCREATE TABLE notes (id INTEGER);\n-- migrate:down\nDROP TABLE notes;\n");
  const json = async (args: string[]) => {
    const result = await runCli([...args, "--json"], { cwd: project.root });
    return { code: result.code, error: (JSON.parse(result.stdout) as { error?: { code: string; fix: string } }).error };
  };
  const before = readdirSync(project.migrationsDir).sort();
  for (const config of [
    { dialect: "postgres", driver: "pg" },
    { migrationsDir: "migrations", registryFile: "generated/registry.ts", dialect: "postgres" },
  ]) {
    writeConfig(project, config);
    // create has no --json: its refusal's entry is read from the message.
    const created = await runCli(["create", "--dialect", "sqlite", "add notes"], { cwd: project.root });
    const entry = /^error \[USAGE\]: .*; (add "dialects": \{"sqlite": .*?\}\} to stepwise\.config\.json), or pass --dir and --out\.$/m.exec(created.stderr)?.[1];
    assert.ok(entry, created.stderr);
    for (const args of [
      ["import", "dbmate", "db/migrations", "--dialect", "sqlite", "--yes"],
      ["import", "dbmate", "db/migrations", "--dialect", "sqlite", "--dir", "migrations-sqlite", "--yes"],
    ]) {
      const refused = await json(args);
      assert.deepEqual([refused.code, refused.error?.code, refused.error?.fix], [2, "USAGE", entry], `${JSON.stringify(config)} ${args.join(" ")}`);
    }
    assert.deepEqual(readdirSync(project.migrationsDir).sort(), before, "nothing was written into the other dialect's folder");
    assert.equal(existsSync(path.join(project.root, "migrations-sqlite")), false);
  }
  // A config naming the registry of the dialect but not its folder: --dir is enough, and advised.
  writeConfig(project, { dialect: "postgres", dialects: { sqlite: { registryFile: "generated/registry.sqlite.ts" } } });
  assert.match((await json(["import", "dbmate", "db/migrations", "--dialect", "sqlite"])).error!.fix, /, or pass --dir$/);
  writeConfig(project, { dialect: "postgres", dialects: { sqlite: { migrationsDir: "migrations-sqlite", registryFile: "generated/registry.sqlite.ts" } } });
  const imported = await json(["import", "dbmate", "db/migrations", "--dialect", "sqlite", "--yes"]);
  assert.deepEqual([imported.code, imported.error], [0, undefined]);
  assert.ok(existsSync(path.join(project.root, "migrations-sqlite", "001_notes.sql")));
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), before);
});

test("gen refuses to overwrite a registry of the other dialect (REGISTRY_DIALECT_CHANGED), and --check names the change", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id integer PRIMARY KEY);\n-- migrate:down\nDROP TABLE items;\n");
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const before = readBytes(project.registryFile);
  for (const args of [
    ["gen", "--dialect", "postgres"],
    ["gen", "--check", "--dialect", "postgres"],
  ]) {
    const result = await runCli(args, { cwd: project.root });
    assert.equal(result.code, 1, args.join(" "));
    assert.deepEqual(parseProblemLines(result.stderr), [{ file: "generated/registry.ts", line: 1, column: 1, code: "REGISTRY_DIALECT_CHANGED" }]);
    assert.ok(readBytes(project.registryFile).equals(before), "the sqlite registry is kept");
  }
  // A registry from before dialects (no dialect line, entries listed) is sqlite too.
  writeFileSync(project.registryFile, before.toString("utf8").replace(/\n\/\*\* The SQL dialect[^\n]*\nexport const dialect = "sqlite";\n/, "\n"));
  assert.equal(readRecordedDialect(readFileSync(project.registryFile, "utf8")), null);
  const legacy = await runCli(["gen", "--dialect", "postgres"], { cwd: project.root });
  assert.deepEqual(
    parseProblemLines(legacy.stderr).map((p) => p.code),
    ["REGISTRY_DIALECT_CHANGED"],
  );
});

test("a postgres registry generated by gen is refused by a SQLite driver at construction, before the database is touched", async (t) => {
  const project = createTestProject(t, { fixture: "dialect/postgres" });
  const result = await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, dialect: "postgres" });
  assert.deepEqual(result.problems, []);
  const { migrations } = await importRegistry(project.registryFile);
  const file = project.databasePath();
  const db = new Database(file);
  t.after(() => db.close());
  for (const attempt of [() => new MigrationManager(db, migrations), () => migrate(db, migrations), () => migrate(db, migrations.slice(0, 2)), () => migrate(db, migrations.slice(3))]) {
    const error = caught(attempt);
    assert.equal(error.code, "REGISTRY_DIALECT_MISMATCH");
    assert.equal(error.registryDialect, "postgres");
    assert.equal(error.driverDialect, "sqlite");
    assert.equal(error.driver, "better-sqlite3");
    assert.equal(typeof error.file, "string");
  }
  assert.deepEqual(db.prepare("SELECT name FROM sqlite_master").all(), []);
  assert.equal(db.pragma("user_version", { simple: true }), 0);
});

test("TypeScript migrations with disableForeignKeys are refused on postgres, accepted on sqlite", async (t) => {
  const project = createTestProject(t);
  mkdirSync(project.migrationsDir, { recursive: true });
  project.writeMigration(
    "001_rebuild.ts",
    `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  disableForeignKeys: true,\n  up(db) {\n    void db;\n  },\n});\n`,
  );
  const postgres = await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, dialect: "postgres" });
  assert.deepEqual(
    postgres.problems.map((p) => [p.code, p.file, p.line, p.column]),
    [["FOREIGN_KEYS_FLAG_UNSUPPORTED", "migrations/001_rebuild.ts", 4, 3]],
  );
  const sqlite = await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile });
  assert.deepEqual(sqlite.problems, []);
});

test("the CLI's runtime commands refuse a postgres registry on a SQLite driver with REGISTRY_DIALECT_MISMATCH, creating no database file", async (t) => {
  const project = createTestProject(t, { fixture: "dialect/postgres" });
  assert.equal((await runCli(["gen", "--dialect", "postgres"], { cwd: project.root })).code, 0);
  for (const command of ["up", "status"]) {
    const result = await runCli([command, "--db", "app.db", "--json"], { cwd: project.root });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const error = (JSON.parse(result.stdout) as { error: Record<string, unknown> }).error;
    assert.deepEqual([error.code, error.registryDialect, error.driverDialect, error.driver], ["REGISTRY_DIALECT_MISMATCH", "postgres", "sqlite", "better-sqlite3"]);
    assert.equal(existsSync(project.databasePath()), false, `${command} must not create the database`);
  }
});
