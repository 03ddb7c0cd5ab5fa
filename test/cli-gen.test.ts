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

test("a migration deleted from the folder after a database applied it: VERSION_GAP names it as deleted (deletedFiles) with the restore, a renumbered one is not; restoring it lets the database start", async (t) => {
  const project = createTestProject(t);
  const table = (name: string) => `-- migrate:up\nCREATE TABLE ${name} (id INTEGER);\n-- migrate:down\nDROP TABLE ${name};\n`;
  for (const name of ["a", "b", "c", "d"]) project.writeMigration(`00${"abcd".indexOf(name) + 1}_${name}.sql`, table(name));
  const cwd = project.root;
  assert.equal((await runCli(["gen"], { cwd })).code, 0);
  assert.equal((await runCli(["up", "--db", "app.db"], { cwd })).code, 0);
  const gap = async () => {
    const result = await runCli(["gen", "--json"], { cwd });
    assert.equal(result.code, 1, result.stdout);
    return (JSON.parse(result.stdout) as { problems: { code: string; file: string; missingVersions?: unknown; deletedFiles?: unknown }[] }).problems.map(
      ({ code, file, missingVersions, deletedFiles }) => ({ code, file, missingVersions, deletedFiles }),
    );
  };

  const removed = readFileSync(path.join(project.migrationsDir, "002_b.sql"));
  rmSync(path.join(project.migrationsDir, "002_b.sql"));
  assert.deepEqual(await gap(), [{ code: "VERSION_GAP", file: "migrations/003_c.sql", missingVersions: { from: 2, to: 2 }, deletedFiles: ["migrations/002_b.sql"] }]);
  const status = await runCli(["status", "--db", "app.db", "--json"], { cwd });
  const stale = (JSON.parse(status.stdout) as { error: { code: string; problems: { code: string; message: string }[] } }).error;
  assert.equal(stale.code, "REGISTRY_STALE");
  assert.ok(stale.problems[0]!.message.includes("migrations/002_b.sql"), stale.problems[0]!.message);

  // Renumbered, as a rebase before the merge leaves a branch: the file is still there, under another number, so nothing was deleted.
  writeFileSync(path.join(project.migrationsDir, "002_b.sql"), removed);
  renameSync(path.join(project.migrationsDir, "004_d.sql"), path.join(project.migrationsDir, "006_d.sql"));
  assert.deepEqual(await gap(), [{ code: "VERSION_GAP", file: "migrations/006_d.sql", missingVersions: { from: 4, to: 5 }, deletedFiles: undefined }]);
  renameSync(path.join(project.migrationsDir, "006_d.sql"), path.join(project.migrationsDir, "004_d.sql"));

  assert.equal((await runCli(["gen"], { cwd })).code, 0);
  assert.equal((await runCli(["status", "--db", "app.db"], { cwd })).code, 0);
});
