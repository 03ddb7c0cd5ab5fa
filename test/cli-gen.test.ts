/**
 * `stepwise gen` and `gen --check` end to end: the real bin as a child process, in temp projects.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTestProject, readBytes, runCli } from "./support/project.js";
import { parseProblemLines } from "./support/problem-lines.js";

const newTsMigration = `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db) {\n    db.exec("CREATE TABLE added (id INTEGER)");\n  },\n});\n`;

test("gen --check passes on a current registry; a migration added without gen makes it exit 1 naming the file", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const first = await runCli(["gen"], { cwd: project.root });
  assert.equal(first.code, 0, first.stderr);
  const registry = readBytes(project.registryFile);

  const current = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(current.code, 0, current.stderr);
  assert.deepEqual(parseProblemLines(current.stderr), []);

  project.writeMigration("006_added.ts", newTsMigration);
  const stale = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(stale.code, 1);
  assert.deepEqual(parseProblemLines(stale.stderr), [{ file: "migrations/006_added.ts", line: 1, column: 1, code: "REGISTRY_STALE" }]);
  assert.ok(readBytes(project.registryFile).equals(registry), "--check must not write");
});

test("gen --check names an edited, a removed and a renamed migration", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await project.generate();
  const registryText = readFileSync(project.registryFile, "utf8");
  const entryLine = (file: string) => {
    // An entry is an object literal of `migrations`: the line of its opening brace, above its file.
    const lines = registryText.split("\n");
    const fileLine = lines.findIndex((line) => line.includes(`${JSON.stringify(file)},`));
    return lines.slice(0, fileLine).findLastIndex((line) => line.trim() === "{") + 1;
  };
  const check = async () => {
    const result = await runCli(["gen", "--check"], { cwd: project.root });
    assert.equal(result.code, 1, result.stdout);
    return result;
  };

  const edited = path.join(project.migrationsDir, "002_add_preferences.ts");
  const original = readBytes(edited);
  writeFileSync(edited, original.toString("utf8").replace("DROP TABLE preferences", "DROP TABLE IF EXISTS preferences"));
  assert.deepEqual(parseProblemLines((await check()).stderr), [{ file: "migrations/002_add_preferences.ts", line: 1, column: 1, code: "REGISTRY_STALE" }]);
  writeFileSync(edited, original);

  const removed = path.join(project.migrationsDir, "005_escaping_in_sql.sql");
  const removedBytes = readBytes(removed);
  rmSync(removed);
  const afterRemoval = await check();
  assert.deepEqual(parseProblemLines(afterRemoval.stderr), [{ file: "generated/registry.ts", line: entryLine("migrations/005_escaping_in_sql.sql"), column: 1, code: "REGISTRY_STALE" }]);
  assert.match(afterRemoval.stderr, /migrations\/005_escaping_in_sql\.sql/);
  writeFileSync(removed, removedBytes);

  renameSync(path.join(project.migrationsDir, "003_vacuum.sql"), path.join(project.migrationsDir, "003_compact.sql"));
  const afterRename = await check();
  assert.deepEqual(parseProblemLines(afterRename.stderr), [
    { file: "generated/registry.ts", line: entryLine("migrations/003_vacuum.sql"), column: 1, code: "REGISTRY_STALE" },
    { file: "migrations/003_compact.sql", line: 1, column: 1, code: "REGISTRY_STALE" },
  ]);
  assert.match(afterRename.stderr, /migrations\/003_vacuum\.sql/);
});

test("gen prints every problem in every file before it exits 1, and writes nothing", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", "-- migrate:up\nCREATE TABLE a (id INTEGER);\n");
  project.writeMigration("002_Bad_Name.sql", "-- migrate:up\nSELECT 1;\n");
  project.writeMigration("003_no_up.sql", "-- migrate:down\nDROP TABLE a;\n");
  project.writeMigration("004_generator.ts", `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  *up(db) {},\n  transaction: "no",\n});\n`);
  project.writeMigration("007_late.sql", "-- migrate:up\nSELECT 1;\n");

  const result = await runCli(["gen"], { cwd: project.root });
  assert.equal(result.code, 1);
  assert.deepEqual(parseProblemLines(result.stderr), [
    { file: "migrations/002_Bad_Name.sql", line: 1, column: 1, code: "BAD_FILE_NAME" },
    // 002's badly named file still holds version 2, so 003 does not also follow a gap.
    { file: "migrations/003_no_up.sql", line: 1, column: 1, code: "SQL_MISSING_UP" },
    { file: "migrations/003_no_up.sql", line: 1, column: 4, code: "SQL_DOWN_BEFORE_UP" },
    { file: "migrations/004_generator.ts", line: 4, column: 3, code: "TS_NOT_A_FUNCTION" },
    { file: "migrations/004_generator.ts", line: 5, column: 16, code: "TS_NON_LITERAL_OPTION" },
    { file: "migrations/007_late.sql", line: 1, column: 1, code: "VERSION_GAP" },
  ]);
  assert.equal(existsSync(project.registryFile), false);

  const check = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(check.code, 1);
  assert.deepEqual(parseProblemLines(check.stderr), parseProblemLines(result.stderr));
});
