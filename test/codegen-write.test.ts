/**
 * What `gen` does to the registry file: nothing at all when it fails, an atomic replace when it
 * succeeds, and with `--check` a comparison that names the migrations that differ.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { generateRegistry } from "../codegen/generate.js";
import { createTestProject, readBytes } from "./support/project.js";

const brokenTs = `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  *up(db) {\n    db.exec("SELECT 1");\n  },\n});\n`;

test("a failed gen leaves the previous registry unchanged byte for byte, with no temp files behind", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  assert.equal((await project.generate()).status, "written");
  const before = readBytes(project.registryFile);
  const generatedDir = path.dirname(project.registryFile);

  const failures: Array<[string, () => void]> = [
    ["an invalid new migration", () => project.writeMigration("006_broken.ts", brokenTs)],
    ["a duplicated version", () => project.writeMigration("005_again.sql", "-- migrate:up\nSELECT 1;\n")],
    ["a gap", () => project.writeMigration("009_later.sql", "-- migrate:up\nSELECT 1;\n")],
  ];
  for (const [what, breakIt] of failures) {
    breakIt();
    const result = await project.generate();
    assert.equal(result.status, "invalid", what);
    assert.equal(result.ok, false);
    assert.ok(readBytes(project.registryFile).equals(before), `${what}: the registry changed`);
    assert.deepEqual(readdirSync(generatedDir), ["registry.ts"], `${what}: files left in generated/`);
    for (const file of readdirSync(project.migrationsDir)) {
      if (/^(006_broken|005_again|009_later)/.test(file)) rmSync(path.join(project.migrationsDir, file));
    }
  }
  assert.equal((await project.generate()).status, "unchanged");
});

test("a gen whose formatter fails reports FORMATTER_FAILED and leaves the previous registry unchanged", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await project.generate();
  const before = readBytes(project.registryFile);
  project.writeMigration("006_more.sql", "-- migrate:up\nCREATE TABLE more (id INTEGER);\n");
  writeFileSync(path.join(project.root, ".prettierrc.json"), "{ this is not json");
  // The formatter failed, not the migrations: one problem at the broken config, no exception.
  const result = await project.generate();
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.problems.map((p) => [p.code, p.file]),
    [["FORMATTER_FAILED", ".prettierrc.json"]],
  );
  assert.ok(readBytes(project.registryFile).equals(before));
  assert.deepEqual(readdirSync(path.dirname(project.registryFile)), ["registry.ts"]);
});

test("a successful gen replaces the registry and leaves only it in generated/", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await project.generate();
  const before = readBytes(project.registryFile);
  project.writeMigration("006_more.sql", "-- migrate:up\nCREATE TABLE more (id INTEGER);\n");
  const result = await project.generate();
  assert.equal(result.status, "written");
  assert.equal(result.latestVersion, 6);
  assert.ok(!readBytes(project.registryFile).equals(before));
  assert.deepEqual(readdirSync(path.dirname(project.registryFile)), ["registry.ts"]);
});

test("a registry path that cannot be read is reported, not thrown", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  mkdirSync(project.registryFile, { recursive: true });
  for (const check of [false, true]) {
    const result = await project.generate({ check });
    assert.deepEqual(
      result.problems.map((p) => [p.code, p.file, p.line, p.column]),
      [["REGISTRY_UNREADABLE", "generated/registry.ts", 1, 1]],
    );
  }
});

test("a registry path that cannot be read is reported with the migrations' own problems, so one run shows everything to fix", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  mkdirSync(project.registryFile, { recursive: true });
  project.writeMigration("009_later.sql", "-- migrate:up\nSELECT 1;\n");
  const result = await project.generate({ check: true });
  const codes = result.problems.map((p) => p.code);
  assert.equal(codes[0], "REGISTRY_UNREADABLE");
  assert.ok(codes.length > 1, codes.join(", "));
  assert.ok(
    result.problems.slice(1).every((p) => p.file !== "generated/registry.ts"),
    codes.join(", "),
  );
});

test("--check names exactly the migrations that differ, whatever quotes the project's prettier config uses", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  writeFileSync(path.join(project.root, ".prettierrc.json"), JSON.stringify({ singleQuote: true, printWidth: 100 }));
  await project.generate();
  assert.equal((await project.generate({ check: true })).status, "unchanged");

  const stale = async () => {
    const result = await project.generate({ check: true });
    assert.equal(result.status, "stale");
    return result.problems.map((p) => [p.code, p.file]);
  };

  project.writeMigration("006_added.sql", "-- migrate:up\nCREATE TABLE added (id INTEGER);\n");
  assert.deepEqual(await stale(), [["REGISTRY_STALE", "migrations/006_added.sql"]]);
  rmSync(path.join(project.migrationsDir, "006_added.sql"));

  // Only the description comment changes: outside the checksum, yet the registry is stale.
  const first = path.join(project.migrationsDir, "001_create_contacts.sql");
  const original = readBytes(first);
  writeFileSync(first, original.toString("utf8").replace("-- description: Contacts", "-- description: People"));
  assert.deepEqual(await stale(), [["REGISTRY_STALE", "migrations/001_create_contacts.sql"]]);
  writeFileSync(first, original);

  renameSync(path.join(project.migrationsDir, "003_vacuum.sql"), path.join(project.migrationsDir, "003_compact.sql"));
  assert.deepEqual(await stale(), [
    ["REGISTRY_STALE", "generated/registry.ts"],
    ["REGISTRY_STALE", "migrations/003_compact.sql"],
  ]);
});

test("a prettier config that names another parser still formats the registry as TypeScript, with the SQL inlined exactly", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const sql = "CREATE TABLE notes (body TEXT DEFAULT 'Todo:\n* first\n* second', mark TEXT DEFAULT '*a*  b');";
  project.writeMigration("006_notes.sql", `-- migrate:up\n${sql}\n`);
  // Markdown would reflow the list and the emphasis inside the SQL's strings.
  writeFileSync(path.join(project.root, ".prettierrc.json"), JSON.stringify({ parser: "markdown" }));
  const result = await project.generate();
  assert.equal(result.status, "written", JSON.stringify(result.problems));
  const { migrations } = (await import(`${pathToFileURL(project.registryFile).href}?parser`)) as { migrations: Array<{ version: number; upSql?: string }> };
  assert.equal(migrations.find((migration) => migration.version === 6)?.upSql, sql);
});

test("a prettier plugin that rewrites the inlined SQL is FORMATTER_FAILED at the config, and the previous registry stays", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  project.writeMigration("006_more.sql", "-- migrate:up\nCREATE TABLE more (id INTEGER);\n");
  // A plugin that rewrites text in what it parses, as an SQL-formatting plugin would in template literals.
  const plugin = (from: string, to: string) =>
    `import { parsers } from ${JSON.stringify(import.meta.resolve("prettier/plugins/babel"))};\nconst babelTs = parsers["babel-ts"];\nexport default { parsers: { "babel-ts": { ...babelTs, preprocess: (text) => text.replaceAll(${JSON.stringify(from)}, ${JSON.stringify(to)}) } } };\n`;
  // Loaded, and harmless while it rewrites nothing the registry holds (a module of its own: Node keeps a module it imported once).
  writeFileSync(path.join(project.root, "rewrite-nothing.mjs"), plugin("NOT IN THE REGISTRY", "x"));
  writeFileSync(path.join(project.root, ".prettierrc.json"), JSON.stringify({ plugins: ["./rewrite-nothing.mjs"] }));
  assert.equal((await project.generate()).status, "written");
  const before = readBytes(project.registryFile);
  writeFileSync(path.join(project.root, "rewrite-sql.mjs"), plugin("CREATE TABLE", "create table"));
  writeFileSync(path.join(project.root, ".prettierrc.json"), JSON.stringify({ plugins: ["./rewrite-sql.mjs"] }));
  project.writeMigration("007_most.sql", "-- migrate:up\nCREATE TABLE most (id INTEGER);\n");
  const result = await project.generate();
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.problems.map((problem) => [problem.code, problem.file]),
    [["FORMATTER_FAILED", ".prettierrc.json"]],
  );
  assert.ok(readBytes(project.registryFile).equals(before), "the registry changed");
  assert.deepEqual(readdirSync(path.dirname(project.registryFile)), ["registry.ts"]);
});

test("a prettier plugin that only reorders the registry's imports is no change of its values: gen writes it", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  // As an import-sorting plugin does: the last migration's import moved above the first's.
  writeFileSync(
    path.join(project.root, "sort-imports.mjs"),
    `import { parsers } from ${JSON.stringify(import.meta.resolve("prettier/plugins/babel"))};\nconst babelTs = parsers["babel-ts"];\nexport default { parsers: { "babel-ts": { ...babelTs, preprocess: (text) => text.replace(/(import migration\\d+ from [^\\n]+\\n)(import migration\\d+ from [^\\n]+\\n)/, "$2$1") } } };\n`,
  );
  writeFileSync(path.join(project.root, ".prettierrc.json"), JSON.stringify({ plugins: ["./sort-imports.mjs"] }));
  const result = await project.generate();
  assert.equal(result.status, "written", JSON.stringify(result.problems));
  const registry = readFileSync(project.registryFile, "utf8");
  assert.ok(registry.indexOf("import migration004") < registry.indexOf("import migration002"), "the plugin did not reorder the imports");
});

test("a migrations folder whose name holds U+2028 or U+2029 gives a registry that loads: the separator is escaped in the header's comment", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const folder = path.join(project.root, "mig\u2028ra\u2029tions");
  renameSync(project.migrationsDir, folder);
  const result = await generateRegistry({ projectRoot: project.root, migrationsDir: folder, registryFile: project.registryFile });
  assert.equal(result.status, "written", JSON.stringify(result.problems));
  const { migrations } = (await import(`${pathToFileURL(project.registryFile).href}?separators`)) as { migrations: unknown[] };
  assert.equal(migrations.length, 5);
});

test("gen --check names a SQL migration whose layout or comments alone changed: the registry inlines them, though the checksum leaves them out", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await project.generate();
  const file = path.join(project.migrationsDir, "005_escaping_in_sql.sql");
  writeFileSync(file, `-- a comment added above the marker\n${readFileSync(file, "utf8").replace(/\n/g, "\n\n")}`);
  const stale = await project.generate({ check: true });
  assert.equal(stale.status, "stale");
  assert.deepEqual(
    stale.problems.map((problem) => [problem.code, problem.file, problem.staleness?.change, problem.staleness?.file]),
    [["REGISTRY_STALE", "migrations/005_escaping_in_sql.sql", "changed", "migrations/005_escaping_in_sql.sql"]],
  );
  // A blank line above the marker alone: the SQL is the same, the lines its errors are placed at are not.
  await project.generate();
  writeFileSync(file, `\n${readFileSync(file, "utf8")}`);
  const moved = await project.generate({ check: true });
  assert.deepEqual(
    moved.problems.map((problem) => [problem.code, problem.file, problem.staleness?.change]),
    [["REGISTRY_STALE", "migrations/005_escaping_in_sql.sql", "changed"]],
  );
});
