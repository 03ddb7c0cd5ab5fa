/**
 * What the generated registry's shape promises a start (see `codegen/render.ts`): a no-op start reads
 * only each entry's version, kind, checksum and flags, so it never calls the `sqlOf()`/`tsOf()`
 * functions that hold the names, files, descriptions and SQL; every entry of a kind shares one
 * hidden class with fast properties (per-entry getters had put each entry in dictionary mode); an
 * entry still copies and serialises as a plain object with every field; and what the engine must
 * parse at start is in its cheapest form: rows of constants, SQL as string literals. Speed itself is
 * `npm run bench`'s business.
 *
 *   node --import tsx --test test/registry-shape.test.ts
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { ts } from "ts-morph";
import { MigrationManager, migrate } from "./support/stepwise.js";
import { createTestProject, repoRoot, type TestProject } from "./support/project.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

/** The counter the instrumented `sqlOf()`/`tsOf()` bump, on the global object so the test can read it. */
const COUNTER = "__stepwiseRegistryDetailReads";

function detailReads(): number {
  return ((globalThis as Record<string, unknown>)[COUNTER] as number | undefined) ?? 0;
}

/**
 * Generates the registry, then makes `sqlOf()` and `tsOf()` count their calls on the global object:
 * the line after each one's signature, which ends with its return type's `] {`.
 */
async function instrumentedRegistry(project: TestProject): Promise<void> {
  assert.equal((await project.generate()).ok, true);
  const source = readFileSync(project.registryFile, "utf8");
  const counted = source.replace(
    /\nfunction (sqlOf|tsOf)\([^]*?\] \{\n/g,
    (whole) => `${whole}  (globalThis as Record<string, number>).${COUNTER} = ((globalThis as Record<string, number>).${COUNTER} ?? 0) + 1;\n`,
  );
  assert.equal(counted.split(COUNTER).length - 1, 4, "both functions are instrumented");
  writeFileSync(project.registryFile, counted);
}

test("a no-op start of a generated registry never reads a name, file, description, SQL text or legacy checksum", async (t) => {
  // The golden fixture has SQL and TypeScript migrations, an irreversible one, one without a
  // transaction, one that disables foreign keys, and a TypeScript migration with a legacy checksum.
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await instrumentedRegistry(project);
  const { migrations } = (await import(`${project.registryFile}?shape=${Date.now()}`)) as { migrations: Parameters<typeof migrate>[1] };
  const db = new Database(project.databasePath());
  t.after(() => db.close());

  const applied = migrate(db, migrations);
  assert.equal(applied.steps.length, 5);
  assert.ok(detailReads() > 0, "applying reads the SQL, so the counter works");

  const before = detailReads();
  const noop = migrate(db, migrations);
  assert.equal(noop.steps.length, 0);
  const manager = new MigrationManager(db, migrations);
  assert.equal(manager.up().steps.length, 0);
  assert.equal(manager.planUp().steps.length, 0);
  assert.equal(detailReads(), before, "a start with nothing to do called sqlOf() or tsOf()");

  // Asking for a field reads it, with the text the file holds.
  assert.equal(migrations[0]!.name, "create_contacts");
  assert.ok(detailReads() > before);
});

test("a refusal on a no-op start still names the file: drift is reported with the migration's file", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await instrumentedRegistry(project);
  const { migrations } = (await import(`${project.registryFile}?drift=${Date.now()}`)) as { migrations: Parameters<typeof migrate>[1] };
  const db = new Database(project.databasePath());
  t.after(() => db.close());
  migrate(db, migrations);
  db.prepare("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 3").run();
  assert.throws(() => migrate(db, migrations), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 3, file: "migrations/003_vacuum.sql" }));
});

test("every entry of a kind shares one hidden class with fast properties, and copies as a plain object with every field", (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  // Many entries, so a shape that gives each entry its own map would show.
  for (let version = 6; version <= 60; version++) {
    project.writeMigration(`${String(version).padStart(3, "0")}_table_${version}.sql`, `-- migrate:up\nCREATE TABLE t${version} (id INTEGER);\n-- migrate:down\nDROP TABLE t${version};\n`);
  }
  const script = [
    `import { generateRegistry } from ${JSON.stringify(path.join(repoRoot, "codegen", "generate.ts"))};`,
    `const result = await generateRegistry(${JSON.stringify({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile })});`,
    `if (!result.ok) throw new Error("gen failed");`,
    `const { migrations } = await import(${JSON.stringify(project.registryFile)});`,
    `const sql = migrations.filter((entry) => entry.kind === "sql");`,
    `const ts = migrations.filter((entry) => entry.kind === "ts");`,
    `const report = {`,
    `  sqlFast: sql.every((entry) => %HasFastProperties(entry)),`,
    `  tsFast: ts.every((entry) => %HasFastProperties(entry)),`,
    `  sqlOneMap: sql.every((entry) => %HaveSameMap(entry, sql[0])),`,
    `  tsOneMap: ts.every((entry) => %HaveSameMap(entry, ts[0])),`,
    `  sqlCount: sql.length,`,
    `  copy: { ...migrations[4] },`,
    `  json: JSON.parse(JSON.stringify(migrations[1])),`,
    `};`,
    `process.stdout.write(JSON.stringify(report));`,
  ].join("\n");
  const child = spawnSync(process.execPath, ["--allow-natives-syntax", "--import", import.meta.resolve("tsx"), "--input-type=module", "-e", script], { cwd: project.root, encoding: "utf8" });
  assert.equal(child.status, 0, child.stderr);
  const report = JSON.parse(child.stdout) as Record<string, unknown>;
  assert.deepEqual(
    { sqlFast: report.sqlFast, tsFast: report.tsFast, sqlOneMap: report.sqlOneMap, tsOneMap: report.tsOneMap, sqlCount: report.sqlCount },
    { sqlFast: true, tsFast: true, sqlOneMap: true, tsOneMap: true, sqlCount: 58 },
  );
  // A spread or JSON copy carries every field as data, as tests and tools that tamper with or
  // serialise an entry expect.
  const source005 = readFileSync(path.join(project.migrationsDir, "005_escaping_in_sql.sql"), "utf8");
  assert.deepEqual(report.copy, {
    version: 5,
    checksum: (report.copy as { checksum: string }).checksum,
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
  assert.match((report.copy as { checksum: string }).checksum, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    Object.keys(report.json as object).sort(),
    ["checksum", "description", "disableForeignKeys", "file", "kind", "legacyChecksum", "module", "name", "reversible", "transaction", "version"].sort(),
  );
  assert.equal((report.json as { name: string }).name, "add_preferences");
});

test("rows are literals of constants and SQL texts are string literals, what a start parses fastest", async (t) => {
  // An expression in a row (flags written REVERSIBLE | TRANSACTION) made the engine build every row
  // in code rather than copy it from a template, and V8 scans a template literal's characters one by
  // one where it scans a string's in bulk: together about 15 million instructions of a Node 20 start
  // at 1,000 migrations (bench/README.md, session 11).
  const project = createTestProject(t, { fixture: "codegen/golden" });
  assert.equal((await project.generate()).ok, true);
  const source = ts.createSourceFile("registry.ts", readFileSync(project.registryFile, "utf8"), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const rows: ts.ArrayLiteralExpression[] = [];
  const sqlTexts: ts.Expression[] = [];
  const sqlLines: ts.Expression[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "entries") {
      const list = node.arguments[0]!;
      assert.ok(ts.isArrayLiteralExpression(list));
      for (const row of list.elements) rows.push(row as ts.ArrayLiteralExpression);
    }
    if (ts.isFunctionDeclaration(node) && node.name?.text === "sqlOf") {
      node.forEachChild(function cases(inner: ts.Node): void {
        if (ts.isReturnStatement(inner) && inner.expression && ts.isArrayLiteralExpression(inner.expression)) {
          sqlTexts.push(...inner.expression.elements.slice(3, 5));
          sqlLines.push(...inner.expression.elements.slice(5));
        } else inner.forEachChild(cases);
      });
    }
    node.forEachChild(visit);
  };
  visit(source);
  assert.equal(rows.length, 5);
  for (const row of rows) {
    const [version, kind, checksum, flags, module, ...rest] = row.elements;
    assert.ok(version && ts.isNumericLiteral(version) && kind && ts.isStringLiteral(kind) && checksum && ts.isStringLiteral(checksum), row.getText());
    assert.ok(flags && ts.isStringLiteral(flags), `flags are a string of constants: ${row.getText()}`);
    // A TypeScript migration's module is the one value a row reads from a variable.
    assert.ok(module === undefined || (kind.text === "ts" && ts.isIdentifier(module)), row.getText());
    assert.deepEqual(rest, []);
  }
  assert.equal(sqlTexts.length, 6);
  const stringParts = (node: ts.Expression): boolean =>
    ts.isStringLiteral(node) ||
    node.kind === ts.SyntaxKind.NullKeyword ||
    (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken && stringParts(node.left) && stringParts(node.right));
  for (const text of sqlTexts) assert.ok(stringParts(text), `SQL is string literals joined with +: ${text.getText()}`);
  // The lines where each section begins are a literal pair of numbers (null for no down).
  assert.equal(sqlLines.length, 3);
  for (const lines of sqlLines) {
    assert.ok(ts.isArrayLiteralExpression(lines) && lines.elements.every((line) => ts.isNumericLiteral(line) || line.kind === ts.SyntaxKind.NullKeyword), lines.getText());
  }
});

test("a SQL migration of many thousand lines generates, its text exact, in few enough literals for the tools that read the registry", async (t) => {
  // Each `+` of the SQL's literals nests the expression one level deeper: one literal per line of a
  // 5,000-line seed overflowed prettier's stack, and gen failed with FORMATTER_FAILED.
  const project = createTestProject(t);
  const upSql =
    ["CREATE TABLE seed (id INTEGER PRIMARY KEY, note TEXT);", ...Array.from({ length: 5000 }, (_, index) => `INSERT INTO seed VALUES (${index}, 'row "${index}" \\ \`b\` \${x}');`)].join("\n") + "\n";
  project.writeMigration("001_seed.sql", `-- migrate:up\n${upSql}`);
  const result = await project.generate();
  assert.deepEqual(
    result.problems.map((problem) => problem.code),
    [],
  );
  const source = readFileSync(project.registryFile, "utf8");
  const literals = source.split("\n").filter((line) => line.includes("INSERT INTO seed")).length;
  assert.ok(literals <= 200, `${literals} lines of literals`);
  const [entry] = await project.load();
  assert.equal(entry?.kind, "sql");
  assert.equal(entry.upSql, upSql.slice(0, -1), "the section without its last line break, as gen reads every SQL file");
  assert.equal((await project.generate({ check: true })).ok, true);
});
