/**
 * What the generated registry's shape promises (see `codegen/render.ts`): one plain object literal per
 * migration, as a reviewer reads it in a pull request; an entry copies and serialises with every
 * field; a refusal names the migration's file; and a SQL text of thousands of lines generates exactly.
 * Speed itself is `npm run bench`'s business.
 *
 *   node --import tsx --test test/registry-shape.test.ts
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { ts } from "ts-morph";
import { migrate } from "./support/stepwise.js";
import { createTestProject } from "./support/project.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

test("migrations is one object literal per migration, its fields written out as literals", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  assert.equal((await project.generate()).ok, true);
  const source = ts.createSourceFile("registry.ts", readFileSync(project.registryFile, "utf8"), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  let entries: ts.ObjectLiteralExpression[] = [];
  source.forEachChild((node) => {
    if (!ts.isVariableStatement(node)) return;
    const declaration = node.declarationList.declarations[0]!;
    if (ts.isIdentifier(declaration.name) && declaration.name.text === "migrations" && declaration.initializer && ts.isArrayLiteralExpression(declaration.initializer)) {
      entries = declaration.initializer.elements.map((element) => {
        assert.ok(ts.isObjectLiteralExpression(element), element.getText());
        return element;
      });
    }
  });
  assert.deepEqual(
    entries.map((entry) => entry.properties.map((property) => (property.name as ts.Identifier).text).filter((name) => ["version", "name", "file", "kind", "checksum"].includes(name))),
    Array.from({ length: 5 }, () => ["version", "name", "file", "kind", "checksum"]),
  );
  for (const entry of entries) {
    for (const property of entry.properties) {
      assert.ok(ts.isPropertyAssignment(property), property.getText());
      const value = property.initializer;
      const name = (property.name as ts.Identifier).text;
      // A TypeScript migration's module is the one value read from a variable.
      const literal = ts.isLiteralExpression(value) || value.kind === ts.SyntaxKind.TrueKeyword || value.kind === ts.SyntaxKind.FalseKeyword || value.kind === ts.SyntaxKind.NullKeyword;
      assert.ok(literal || ts.isArrayLiteralExpression(value) || (name === "module" && ts.isIdentifier(value)), property.getText());
    }
  }
});

test("a refusal on a no-op start still names the file: drift is reported with the migration's file", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const migrations = (await project.load()) as Parameters<typeof migrate>[1];
  const db = new Database(project.databasePath());
  t.after(() => db.close());
  migrate(db, migrations);
  db.prepare("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 3").run();
  assert.throws(() => migrate(db, migrations), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 3, file: "migrations/003_vacuum.sql" }));
});

test("an entry copies as a plain object with every field", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const migrations = await project.load();
  // A spread or JSON copy carries every field as data, as tests and tools that tamper with or serialise an entry expect.
  const copy = { ...migrations[4]! };
  const source005 = readFileSync(path.join(project.migrationsDir, "005_escaping_in_sql.sql"), "utf8");
  assert.deepEqual(copy, {
    version: 5,
    checksum: copy.checksum,
    reversible: true,
    transaction: true,
    disableForeignKeys: true,
    kind: "sql",
    name: "escaping_in_sql",
    file: "migrations/005_escaping_in_sql.sql",
    description: "SQL that a template literal must escape: `backticks`, ${braces} and \\backslashes",
    upSql: source005.split("\n").slice(2, 4).join("\n"),
    downSql: "DROP TABLE `notes`;",
    // The file's lines where the up and down SQL begin, for a failed statement's location.
    sqlLines: [3, 6],
  });
  assert.match(copy.checksum, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    Object.keys(JSON.parse(JSON.stringify(migrations[1])) as object).sort(),
    ["checksum", "description", "disableForeignKeys", "file", "kind", "legacyChecksum", "module", "name", "reversible", "transaction", "version"].sort(),
  );
  assert.equal(migrations[1]!.name, "add_preferences");
});

test("a SQL migration of many thousand lines generates, its text exact", async (t) => {
  const project = createTestProject(t);
  const upSql =
    ["CREATE TABLE seed (id INTEGER PRIMARY KEY, note TEXT);", ...Array.from({ length: 5000 }, (_, index) => `INSERT INTO seed VALUES (${index}, 'row "${index}" \\ \`b\` \${x}');`)].join("\n") + "\n";
  project.writeMigration("001_seed.sql", `-- migrate:up\n${upSql}`);
  const result = await project.generate();
  assert.deepEqual(
    result.problems.map((problem) => problem.code),
    [],
  );
  const [entry] = await project.load();
  assert.equal(entry?.kind, "sql");
  assert.equal(entry.upSql, upSql.slice(0, -1), "the section without its last line break, as gen reads every SQL file");
  assert.equal((await project.generate({ check: true })).ok, true);
});
