/**
 * `gen` and async migrations: every form of async `up`/`down` it recognises (the
 * `codegen/async-detection` fixture) is marked in the registry, sync look-alikes are not, `--check`
 * notices a mark edited away, and the sync API refuses the generated registry before anything runs.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createTestProject, runCli } from "./support/project.js";
import { parseProblemLines } from "./support/problem-lines.js";
import { AsyncMigrationsNeedAsyncRunnerError, MigrationManager, isAsyncMigration, migrate, type MigrationRegistry } from "./support/stepwise.js";

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
  assert.match(registry, /const ASYNC = 8;/);
  assert.match(registry, /readonly async: boolean/);

  const check = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(check.code, 0, check.stderr);
});

test("gen --check reports a registry whose async mark was edited away, naming the migration", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/async-detection" });
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const registry = readFileSync(project.registryFile, "utf8");
  const entry = registry.split("\n").findIndex((line) => line.includes('"migrations/002_async_arrow_property.ts"'));
  assert.notEqual(entry, -1);
  // The flags follow the checksum in the call, possibly on a line of their own after prettier.
  const lines = registry.split("\n");
  const flagLine = lines.findIndex((line, index) => index >= entry && /\bASYNC\b/.test(line));
  lines[flagLine] = lines[flagLine]!.replace(/\s*\|\s*ASYNC\b|\bASYNC\s*\|\s*/, "");
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
      assert.ok(error instanceof AsyncMigrationsNeedAsyncRunnerError);
      assert.equal(error.code, "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER");
      assert.deepEqual(error.versions, ASYNC_VERSIONS);
      assert.equal(error.files[0], "migrations/001_async_method.ts");
      assert.equal(error.files.length, ASYNC_VERSIONS.length);
      assert.equal(error.driver, "better-sqlite3");
      return true;
    });
  }
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_master").pluck().get(), 0);
  assert.equal(db.pragma("user_version", { simple: true }), 0);
});

test("the CLI refuses a registry with async migrations with the typed error and creates no database", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/async-detection" });
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  for (const command of [["up"], ["status"]]) {
    const result = await runCli([...command, "--json", "--db", "app.db"], { cwd: project.root });
    assert.equal(result.code, 1, result.stderr);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; versions: number[]; driver: string } };
    assert.equal(error.code, "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER");
    assert.deepEqual(error.versions, ASYNC_VERSIONS);
    assert.equal(error.driver, "better-sqlite3");
  }
  assert.equal(existsSync(project.databasePath()), false);
});
