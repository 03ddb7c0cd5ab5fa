/**
 * Further instances of the checksum holes in test/hostile-checksum-extra.test.ts, and the other half
 * of each fix: checksums of code that never hit a hole do not move. Every "runs differently" claim is
 * checked against the real thing (TypeScript compiled and run, tsx, or SQLite) in the test itself.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { ts } from "ts-morph";
import { checksumSqlMigration } from "../src/shared/checksum.js";
import { scanMigrations, type ScanResult } from "../codegen/scan.js";
import { createTestProject, makeTempDir, type TestProject } from "./support/project.js";

function write(root: string, relative: string, text: string): void {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

const migrationWithUp = (body: string) => `import { defineMigration } from "stepwise-migrate";

export default defineMigration({
  up(db) {
    ${body}
  },
});
`;

function tsChecksummer(t: { after(fn: () => void): void }) {
  const root = makeTempDir(t);
  let count = 0;
  return (source: string): string => {
    const migrationsDir = path.join(root, `variant-${++count}`);
    mkdirSync(migrationsDir);
    writeFileSync(path.join(migrationsDir, "001_variant.ts"), source);
    const scan = scanMigrations({ projectRoot: root, migrationsDir });
    assert.deepEqual(scan.problems, [], `variant ${count} must be a valid migration:\n${source}`);
    return scan.migrations[0]!.checksum;
  };
}

/** Compiles and runs `up` against a recording fake database: what the migration really does. */
function runUp(source: string): string {
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const moduleObject: { exports: { default?: { up(db: unknown): void } } } = { exports: {} };
  const fakeRequire = () => ({ defineMigration: (definition: unknown) => definition });
  new Function("module", "exports", "require", js)(moduleObject, moduleObject.exports, fakeRequire);
  const executed: string[] = [];
  try {
    moduleObject.exports.default!.up({ open: true, exec: (sql: string) => void executed.push(sql) });
    return JSON.stringify({ executed });
  } catch (error) {
    return JSON.stringify({ executed, threw: (error as Error).name });
  }
}

test("TypeScript pairs that differ only in which optional slot a child fills, or in meaningful parentheses, hash apart", (t) => {
  const checksumOf = tsChecksummer(t);
  const pairs: Array<[string, string, string]> = [
    [
      "for: initializer versus incrementor",
      "let n = 0; for (n++; ; ) { db.exec(`CREATE TABLE t${n}(x)`); if (n++ > 3) break; }",
      "let n = 0; for (; ; n++) { db.exec(`CREATE TABLE t${n}(x)`); if (n++ > 3) break; }",
    ],
    ["for: condition alone versus initializer alone", "let n = 0; for (; n++ < 2; ) db.exec(`CREATE TABLE t${n}(x)`);", "let n = 0; for (n++ < 2; ; ) { db.exec(`CREATE TABLE t${n}(x)`); break; }"],
    [
      "for: initializer and condition versus condition and incrementor",
      "let n = 0; for (n = 5; n < 7; ) { db.exec(`CREATE TABLE t${n}(x)`); n++; }",
      "let n = 0; for (; n = 5, n < 7; n++) { db.exec(`CREATE TABLE t${n}(x)`); break; }",
    ],
    [
      "for-of destructuring: rename versus default",
      'const b = "DROP TABLE keep"; for (const { a: b } of [{ a: "CREATE TABLE t(x)" }]) db.exec(b);',
      'const b = "DROP TABLE keep"; for (const { a = b } of [{ a: "CREATE TABLE t(x)" }]) db.exec(b);',
    ],
    ["nested: an empty then-branch before else-if", 'if (db.open) ; else if (true) db.exec("DROP TABLE contacts");', 'if (db.open) if (true) db.exec("DROP TABLE contacts");'],
    [
      "element access after a chain",
      'const rows = null as null | { list: string[] }; db.exec((rows?.list)[0] ?? "SELECT 1");',
      'const rows = null as null | { list: string[] }; db.exec(rows?.list[0] ?? "SELECT 1");',
    ],
    [
      "a call after a chained call",
      'const make = null as null | (() => () => void); (make?.())(); db.exec("CREATE TABLE t(x)");',
      'const make = null as null | (() => () => void); make?.()(); db.exec("CREATE TABLE t(x)");',
    ],
    [
      "doubled parentheses after a chain",
      'const config = null as null | { sql: { text: string } }; db.exec(((config?.sql)).text ?? "SELECT 1");',
      'const config = null as null | { sql: { text: string } }; db.exec(config?.sql.text ?? "SELECT 1");',
    ],
    [
      "a tagged template with a custom tag",
      "const tag = (parts: TemplateStringsArray) => parts.raw[0]!; db.exec(tag`INSERT INTO n VALUES ('\\u0041')`);",
      "const tag = (parts: TemplateStringsArray) => parts.raw[0]!; db.exec(tag`INSERT INTO n VALUES ('A')`);",
    ],
  ];
  const collisions: string[] = [];
  for (const [what, a, b] of pairs) {
    const sourceA = migrationWithUp(a);
    const sourceB = migrationWithUp(b);
    assert.notEqual(runUp(sourceA), runUp(sourceB), `${what}: the pair must really behave differently`);
    if (checksumOf(sourceA) === checksumOf(sourceB)) collisions.push(what);
  }
  assert.deepEqual(collisions, []);
});

test("checksums of TypeScript and SQL that hit none of the holes are the ones recorded before the fixes", (t) => {
  // Recorded with the checksum code before the fixes: users' history tables hold these values.
  const checksumOf = tsChecksummer(t);
  const typescript: Array<[string, string]> = [
    ['for (let i = 0; ; i += 1) { db.exec("SELECT 1"); if (i > 2) break; }', "ce1c8194ee18b3c6370576363c406b13c0a3c52b7181e03001becd8168ef0a75"],
    ['for (;;) { db.exec("SELECT 1"); break; }', "345f9089c86ac89f0f9762ad2830bce4622de8dbf662397ea12f0fc21f723ff8"],
    ['for (let i = 0; i < 2; i++) db.exec("SELECT 1");', "091186d0479ed683cc34a30a3e8e913de2964fde8c829fce6b62b055a369252e"],
    ['const { a: b, c } = { a: "SELECT 1", c: 2 }; db.exec(b);', "47d0d9109e36edbac3e92bec65f706b180cf922d11bf4f83aee0282eaa7a58d3"],
    ['const [x = "SELECT 1"] = []; db.exec(x);', "6f2fff2af7d3e26903466289e69f98de8f602c00003f7307bc63b513afe93a88"],
    ['const o = { b: { c: "SELECT 1" } }; db.exec((o.b).c); db.exec(o?.b.c);', "0f00d77b9b23da2142dca32e14d8ae8f8cf062a6da27d38a295dfda0de735381"],
    ["const sql = String.raw; db.exec(sql`SELECT 1`);", "5e11d95b1379624162582ab0db2bf92d051f2bf45492c4a241b814d8776f28d3"],
    ['if (db) db.exec("SELECT 1"); else ;', "04cde465da461cac22140e0d2979a34adf9958395aa10afd1a56ec8b1227d833"],
    ["while (false);", "e1e932c5ae29d2cdbb5bb015e6c4bba63b00d4c88e9f5d5781b4c378dc0d0377"],
  ];
  for (const [body, recorded] of typescript) assert.equal(checksumOf(migrationWithUp(body)), recorded, body);
  const sql: Array<[string, string]> = [
    ["CREATE VIEW v AS SELECT a + 1, coalesce(a,1), count(*) AS n, t.a FROM t;", "58562b0b45df0aac5e991e688e234be948940a24c21fccfe08f27793e57992cb"],
    ["CREATE VIEW v AS SELECT a  +  1 AS x FROM t -- note\n;", "e03e2f13985c20b03d5c3af3c765036b458a387da272da6ab7f840e19af9a0d4"],
    ["CREATE TABLE c AS SELECT a, b FROM t WHERE a  >  1;", "1054b4aa3a43c7b048fbb7c19acde728981af289cd9edbef90dfac43c564647b"],
    ["CREATE VIEW v(x) AS SELECT a  +  1 FROM t;", "d0c2282a7f17a0c3ff32e767e55dac6d91b946c29df31d0bf083b7c4a6222c8a"],
  ];
  for (const [upSql, recorded] of sql) assert.equal(checksumSqlMigration({ upSql, downSql: null, transaction: true, disableForeignKeys: false }), recorded, upSql);
});

test('a parenthesised or escaped "use strict" in a function body is not a directive, and hashes apart from one', async (t) => {
  const { tsImport } = (await import("tsx/esm/api")) as { tsImport: (specifier: string, parent: string) => Promise<unknown> };
  const outcomes: Array<{ checksum: string; executed: string[] }> = [];
  let load = 0;
  for (const directive of ['"use strict";', '("use strict");', "'use\\u0020strict';"]) {
    const project = createTestProject(t);
    project.writeMigration(
      "001_mode.ts",
      `import { defineMigration } from "stepwise-migrate";\nimport { seed } from "./lib/mode.cjs";\n\nexport default defineMigration({\n  up(db) {\n    seed(db);\n  },\n});\n`,
    );
    write(
      project.root,
      "migrations/lib/mode.cjs",
      `exports.seed = function (db) {\n  ${directive}\n  const strict = (function () { return this === undefined; })();\n  db.exec(strict ? "CREATE TABLE strict_mode (x)" : "CREATE TABLE sloppy_mode (x)");\n};\n`,
    );
    const scan = scanProject(project);
    assert.deepEqual(scan.problems, []);
    const module = (await tsImport(`${path.join(project.migrationsDir, "001_mode.ts")}?mode=${++load}`, import.meta.url)) as { default: { up(db: unknown): void } };
    const executed: string[] = [];
    module.default.up({ exec: (sql: string) => void executed.push(sql) });
    outcomes.push({ checksum: scan.migrations[0]!.checksum, executed });
  }
  for (const other of outcomes.slice(1)) {
    assert.notDeepEqual(other.executed, outcomes[0]!.executed, "only the exact directive makes the function strict");
    assert.notEqual(other.checksum, outcomes[0]!.checksum);
  }
});

function scanProject(project: TestProject): ScanResult {
  return scanMigrations({ projectRoot: project.root, migrationsDir: project.migrationsDir });
}

const seedMigration = (importLine: string, call = "seed(db);") =>
  `import { defineMigration } from "stepwise-migrate";\n${importLine}\n\nexport default defineMigration({\n  up(db) {\n    ${call}\n  },\n});\n`;
const seedHelper = (table: string) => `export function seed(db: { exec(sql: string): void }): void {\n  db.exec("CREATE TABLE ${table} (id INTEGER PRIMARY KEY)");\n}\n`;

test("non-relative imports that resolve into the project are followed: paths fallbacks, baseUrl, conditional #imports and exports", (t) => {
  const cases: Array<{ what: string; importLine: string; helper: string; packageJson?: object; compilerOptions?: object }> = [
    {
      what: "a paths alias whose first substitution is missing",
      importLine: 'import { seed } from "@lib/seed.js";',
      helper: "migrations/shared/seed.ts",
      compilerOptions: { paths: { "@lib/*": ["missing/*", "migrations/shared/*"] } },
    },
    { what: "an exact paths alias", importLine: 'import { seed } from "seeder";', helper: "migrations/lib/seed.ts", compilerOptions: { paths: { seeder: ["./migrations/lib/seed.ts"] } } },
    { what: "baseUrl alone", importLine: 'import { seed } from "migrations/lib/seed.js";', helper: "migrations/lib/seed.ts", compilerOptions: { baseUrl: "." } },
    {
      what: "#imports with conditions",
      importLine: 'import { seed } from "#seed";',
      helper: "migrations/lib/seed.ts",
      packageJson: { imports: { "#seed": { types: "./nowhere.d.ts", import: "./migrations/lib/seed.ts", default: "./nowhere.js" } } },
    },
    {
      what: "self-reference through the root export",
      importLine: 'import { seed } from "test-app";',
      helper: "migrations/lib/seed.ts",
      packageJson: { exports: { ".": { import: "./migrations/lib/seed.ts" } } },
    },
  ];
  for (const c of cases) {
    const project = createTestProject(t, { packageJson: c.packageJson });
    if (c.compilerOptions) {
      writeFileSync(path.join(project.root, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", ...c.compilerOptions } }));
    }
    project.writeMigration("001_seed.ts", seedMigration(c.importLine));
    write(project.root, c.helper, seedHelper("seeded"));
    const before = scanProject(project);
    assert.deepEqual(before.problems, [], c.what);
    assert.deepEqual(before.migrations[0]!.localImports, [c.helper], c.what);
    write(project.root, c.helper, seedHelper("seeded_differently"));
    assert.notEqual(scanProject(project).migrations[0]!.checksum, before.migrations[0]!.checksum, c.what);
  }
});

test("imports that cannot be traced are refused with a code at their place: an undefined #import, createRequire with a computed base or passed around", (t) => {
  const cases: Array<[string, string, string, string]> = [
    ["an #import the package.json does not define", 'import { seed } from "#nowhere";', "seed(db);", "TS_IMPORT_NOT_FOUND"],
    ["createRequire with a computed base", 'import { createRequire } from "node:module";\nconst load = createRequire(process.argv[1]!);', 'load("./lib/seed.ts").seed(db);', "TS_UNTRACEABLE_IMPORT"],
    [
      "require handed on as a value",
      'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\nconst load = require;',
      'load("./lib/seed.ts").seed(db);',
      "TS_UNTRACEABLE_IMPORT",
    ],
    [
      "require called through .call",
      'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);',
      'require.call(null, "./lib/seed.ts").seed(db);',
      "TS_UNTRACEABLE_IMPORT",
    ],
    [
      "createRequire itself handed on as a value",
      'import { createRequire } from "node:module";\nconst make = createRequire;',
      'make(import.meta.url)("./lib/seed.ts").seed(db);',
      "TS_UNTRACEABLE_IMPORT",
    ],
    [
      "a created require passed to another function",
      'import { createRequire } from "node:module";\nconst load = createRequire(import.meta.url);\nconst call = (f: (id: string) => { seed(db: unknown): void }) => f("./lib/seed.ts");',
      "call(load).seed(db);",
      "TS_UNTRACEABLE_IMPORT",
    ],
  ];
  for (const [what, importLine, call, code] of cases) {
    const project = createTestProject(t);
    project.writeMigration("001_seed.ts", seedMigration(importLine, call));
    write(project.root, "migrations/lib/seed.ts", seedHelper("seeded"));
    const problems = scanProject(project).problems;
    assert.deepEqual(
      problems.map((p) => [p.code, p.file]),
      [[code, "migrations/001_seed.ts"]],
      what,
    );
    assert.ok(problems[0]!.line > 1, what);
  }
  // The stepwise runtime is never part of a migration, however the project maps its name.
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", paths: { "stepwise-migrate": ["./runtime.ts"] } } }));
  write(project.root, "runtime.ts", "export const defineMigration = (m: unknown) => m;\n");
  project.writeMigration("001_plain.ts", migrationWithUp('db.exec("SELECT 1");'));
  assert.deepEqual(scanProject(project).migrations[0]!.localImports, []);
});

test("extensionless imports follow tsx's order in CommonJS too, put declarations last, and never reach .mts, .cts, .mjs or .cjs", async (t) => {
  const { tsImport } = (await import("tsx/esm/api")) as { tsImport: (specifier: string, parent: string) => Promise<unknown> };
  const js = (table: string) => `export function seed(db) { db.exec("CREATE TABLE ${table} (id INTEGER)"); }\n`;
  const cases: Array<[string, object, Record<string, string>, string]> = [
    [
      "CommonJS project: seed/index.js before seed/index.ts",
      { type: "commonjs" },
      { "migrations/lib/seed/index.ts": seedHelper("from_index_ts"), "migrations/lib/seed/index.js": js("from_index_js") },
      "migrations/lib/seed/index.js",
    ],
    [
      "ES module project: seed/index.ts before seed/index.js",
      {},
      { "migrations/lib/seed/index.ts": seedHelper("from_index_ts"), "migrations/lib/seed/index.js": js("from_index_js") },
      "migrations/lib/seed/index.ts",
    ],
    [
      "seed/index.ts before seed.d.ts, which tsx never loads",
      {},
      { "migrations/lib/seed.d.ts": "export declare function seed(db: unknown): void;\n", "migrations/lib/seed/index.ts": seedHelper("from_index_ts") },
      "migrations/lib/seed/index.ts",
    ],
    ["seed.jsx before seed.js", {}, { "migrations/lib/seed.jsx": js("from_jsx"), "migrations/lib/seed.js": js("from_js") }, "migrations/lib/seed.jsx"],
  ];
  let load = 0;
  for (const [what, packageJson, files, loaded] of cases) {
    const project = createTestProject(t, { packageJson });
    project.writeMigration("001_seed.ts", seedMigration('import * as helper from "./lib/seed";', "(helper as unknown as { seed(db: unknown): void }).seed(db);"));
    for (const [file, text] of Object.entries(files)) write(project.root, file, text);
    const module = (await tsImport(`${path.join(project.migrationsDir, "001_seed.ts")}?order=${++load}`, import.meta.url)) as {
      default: { up?(db: unknown): void; default?: { up(db: unknown): void } };
    };
    // A CommonJS module's exports arrive as the default export.
    const migration = module.default.up ? module.default : module.default.default!;
    const executed: string[] = [];
    migration.up!({ exec: (sql: string) => void executed.push(sql) });
    const marker = /from_\w+/.exec(files[loaded]!)![0];
    assert.match(executed.join("\n"), new RegExp(`${marker} `), `${what}: tsx loads ${loaded}`);
    assert.deepEqual(scanProject(project).migrations[0]!.localImports, [loaded], what);
  }
  const project = createTestProject(t);
  project.writeMigration("001_seed.ts", seedMigration('import { seed } from "./lib/seed";'));
  write(project.root, "migrations/lib/seed.mts", seedHelper("from_mts"));
  await assert.rejects(tsImport(`${path.join(project.migrationsDir, "001_seed.ts")}?order=${load + 1}`, import.meta.url), "tsx does not find seed.mts");
  assert.deepEqual(
    scanProject(project).problems.map((p) => p.code),
    ["TS_IMPORT_NOT_FOUND"],
  );
});

function columnNames(sql: string): string {
  const db = new Database(":memory:");
  try {
    db.exec("CREATE TABLE t(a INTEGER)");
    db.exec(sql);
    const objects = db.prepare("SELECT name FROM sqlite_master WHERE name <> 't' AND type IN ('table', 'view') ORDER BY name").all() as Array<{ name: string }>;
    return JSON.stringify(objects.map(({ name }) => [name, (db.prepare("SELECT name FROM pragma_table_info(?)").all(name) as Array<{ name: string }>).map((c) => c.name)]));
  } finally {
    db.close();
  }
}

test("result-column text counts exactly where SQLite names a column by it, and nowhere else", () => {
  const checksumOf = (upSql: string) => checksumSqlMigration({ upSql, downSql: null, transaction: true, disableForeignKeys: false });
  const apart: Array<[string, string]> = [
    ["WITH x AS (SELECT 1) SELECT a + 1 FROM t", "WITH x AS (SELECT 1) SELECT a  +  1 FROM t"],
    ["SELECT a + 1 FROM t UNION SELECT a FROM t", "SELECT a /* c */ + 1 FROM t UNION SELECT a FROM t"],
    ["SELECT DISTINCT a, - a FROM t", "SELECT DISTINCT a, -/* minus */a FROM t"],
  ].map(([a, b]) => [`CREATE TEMP VIEW IF NOT EXISTS v AS ${a};`, `CREATE TEMP VIEW IF NOT EXISTS v AS ${b};`]);
  apart.push(["CREATE TABLE main.c AS SELECT a*2 FROM t;", "CREATE TABLE main.c AS SELECT a * 2 FROM t;"]);
  // `SELECT *` passes on the names of a FROM subquery or a CTE.
  apart.push(["CREATE VIEW v AS SELECT * FROM (SELECT a + 1 FROM t);", "CREATE VIEW v AS SELECT * FROM (SELECT a  +  1 FROM t);"]);
  apart.push(["CREATE VIEW v AS WITH c AS (SELECT a + 1 FROM t) SELECT * FROM c;", "CREATE VIEW v AS WITH c AS (SELECT a/**/+ 1 FROM t) SELECT * FROM c;"]);
  apart.push(["CREATE VIEW v AS SELECT s.* FROM t JOIN (SELECT a + 1 FROM t UNION SELECT 2) s;", "CREATE VIEW v AS SELECT s.* FROM t JOIN (SELECT a +\n1 FROM t UNION SELECT 2) s;"]);
  // A CTE written `AS [NOT] MATERIALIZED (…)`, and a subquery in a second pair of parentheses, pass on their names too.
  apart.push(["CREATE VIEW v AS WITH c AS MATERIALIZED (SELECT a + 1 FROM t) SELECT * FROM c;", "CREATE VIEW v AS WITH c AS MATERIALIZED (SELECT a  +  1 FROM t) SELECT * FROM c;"]);
  apart.push(["CREATE VIEW v AS WITH c AS NOT MATERIALIZED (SELECT a + 1 FROM t) SELECT * FROM c;", "CREATE VIEW v AS WITH c AS NOT MATERIALIZED (SELECT a/**/+ 1 FROM t) SELECT * FROM c;"]);
  apart.push(["CREATE VIEW v AS SELECT * FROM ((SELECT a + 1 FROM t));", "CREATE VIEW v AS SELECT * FROM ((SELECT a  +  1 FROM t));"]);
  for (const [a, b] of apart) {
    const tempNames = (sql: string) => {
      const db = new Database(":memory:");
      try {
        db.exec("CREATE TABLE t(a INTEGER)");
        db.exec(sql);
        return JSON.stringify(db.prepare("SELECT name FROM pragma_table_info('v')").all().concat(db.prepare("SELECT name FROM pragma_table_info('c')").all()));
      } finally {
        db.close();
      }
    };
    assert.notEqual(tempNames(a), tempNames(b), `SQLite names the columns differently: ${a}`);
    assert.notEqual(checksumOf(a), checksumOf(b), a);
  }
  const same: Array<[string, string]> = [
    ["CREATE VIEW v AS SELECT a + 1 AS x FROM t;", "CREATE VIEW v AS SELECT a  +  1 AS x FROM t;"],
    ["CREATE VIEW v(x) AS SELECT a + 1 FROM t;", "CREATE VIEW v(x) AS SELECT a /* c */ + 1 FROM t;"],
    ["CREATE VIEW v AS SELECT a + 1 FROM t UNION SELECT a - 1 FROM t;", "CREATE VIEW v AS SELECT a + 1 FROM t UNION SELECT a  -  1 FROM t;"],
    ["CREATE VIEW v AS SELECT a + 1 FROM t WHERE a > 1;", "CREATE VIEW v AS SELECT a + 1 FROM t WHERE a  >  1 -- why\n;"],
    ["CREATE VIEW v AS SELECT ((a)) FROM t;", "CREATE VIEW v AS SELECT ( ( a ) ) FROM t;"],
    ["CREATE VIEW v AS WITH c(x) AS (SELECT a + 1 FROM t) SELECT * FROM c;", "CREATE VIEW v AS WITH c(x) AS (SELECT a  +  1 FROM t) SELECT * FROM c;"],
    ["CREATE VIEW v AS SELECT a FROM t WHERE a IN (SELECT a + 1 FROM t);", "CREATE VIEW v AS SELECT a FROM t WHERE a IN (SELECT a  +  1 FROM t);"],
  ];
  for (const [a, b] of same) {
    assert.equal(columnNames(a), columnNames(b), `SQLite names the columns the same: ${a}`);
    assert.equal(checksumOf(a), checksumOf(b), a);
  }
});

test("a FROM inside a result column (IS [NOT] DISTINCT FROM) does not end the select list: the columns' exact text counts up to the clause's FROM, and views without one keep their checksums", () => {
  const checksumOf = (upSql: string) => checksumSqlMigration({ upSql, downSql: null, transaction: true, disableForeignKeys: false });
  const apart: Array<[string, string]> = [
    ["CREATE VIEW v AS SELECT a IS DISTINCT FROM 1 FROM t;", "CREATE VIEW v AS SELECT a IS DISTINCT FROM    1 FROM t;"],
    ["CREATE VIEW v AS SELECT a IS NOT DISTINCT FROM 1 FROM t;", "CREATE VIEW v AS SELECT a IS NOT DISTINCT FROM /* one */ 1 FROM t;"],
    ["CREATE VIEW v AS SELECT a IS DISTINCT FROM 1, a + 1 FROM t;", "CREATE VIEW v AS SELECT a IS DISTINCT FROM 1, a  +  1 FROM t;"],
    ["CREATE VIEW v AS SELECT (a IS DISTINCT FROM 1) IS DISTINCT FROM a + 1 FROM t;", "CREATE VIEW v AS SELECT (a IS DISTINCT FROM 1) IS DISTINCT FROM a+1 FROM t;"],
    ["CREATE TABLE c AS SELECT a IS DISTINCT FROM 1, a + 1 FROM t;", "CREATE TABLE c AS SELECT a IS DISTINCT FROM 1, a +\n1 FROM t;"],
    ["CREATE VIEW v AS SELECT * FROM (SELECT a IS DISTINCT FROM 1, a + 1 FROM t);", "CREATE VIEW v AS SELECT * FROM (SELECT a IS DISTINCT FROM 1, a  +  1 FROM t);"],
  ];
  for (const [a, b] of apart) {
    assert.notEqual(columnNames(a), columnNames(b), `SQLite names the columns differently: ${a}`);
    assert.notEqual(checksumOf(a), checksumOf(b), a);
  }
  const same: Array<[string, string]> = [
    ["CREATE VIEW v AS SELECT a IS DISTINCT FROM 1 FROM t WHERE a > 1;", "CREATE VIEW v AS SELECT a IS DISTINCT FROM 1 FROM  t  WHERE a  >  1;"],
    ["CREATE VIEW v AS SELECT a IS DISTINCT FROM 1 AS x FROM t;", "CREATE VIEW v AS SELECT a IS DISTINCT FROM  1  AS x FROM t;"],
  ];
  for (const [a, b] of same) {
    assert.equal(columnNames(a), columnNames(b), `SQLite names the columns the same: ${a}`);
    assert.equal(checksumOf(a), checksumOf(b), a);
  }
  // Written as the canonical form spaces them, nothing is recorded either way: these checksums are the ones earlier releases computed.
  const recorded: Array<[string, string]> = [
    ["CREATE VIEW v AS SELECT a IS DISTINCT FROM 1, a IS NOT DISTINCT FROM 2 FROM t;", "10cde78cd22861834308efcbc09d59eddfc34bd9c10081d5f0defdea195ac0ab"],
    ["CREATE VIEW v AS SELECT a IS DISTINCT FROM 1 AS x, a  +  1 AS y FROM t WHERE a  >  1;", "066772ba25d34de0840651dfdc73be75faee1f685c45377094495aed44f86b65"],
  ];
  for (const [upSql, checksum] of recorded) assert.equal(checksumOf(upSql), checksum, upSql);
});

test("a NUL byte is refused at gen with its line and column: in SQL, in a TypeScript migration, in a helper", (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_notes.sql", "-- migrate:up\nCREATE TABLE notes(x);\nSELECT 1;\u0000DROP TABLE notes;\n");
  project.writeMigration("002_raw.ts", migrationWithUp('db.exec("SELECT 1;\u0000DROP TABLE notes");'));
  project.writeMigration("003_helper.ts", seedMigration('import { seed } from "./lib/seed.js";'));
  write(project.root, "migrations/lib/seed.ts", `// \u0000\n${seedHelper("seeded")}`);
  const problems = scanProject(project).problems.map((p) => [p.code, p.file, p.line, p.column]);
  assert.deepEqual(problems, [
    ["SQL_NUL_BYTE", "migrations/001_notes.sql", 3, 10],
    ["TS_NUL_BYTE", "migrations/002_raw.ts", 5, 23],
    ["TS_NUL_BYTE", "migrations/lib/seed.ts", 1, 4],
  ]);
  // The escape says the same and is fine.
  const escaped = createTestProject(t);
  escaped.writeMigration("001_escaped.ts", migrationWithUp('db.exec("SELECT 1;\\u0000");'));
  assert.deepEqual(scanProject(escaped).problems, []);
});

test("the registry inlines exactly the SQL that was hashed, for characters that cooking or formatting would change", async (t) => {
  const strings = ["a\rb", "a\r\nb", "a\u2028b\u2029c", "back\\slash", "back\\", "tick`", "${x}", "\\${x}", "$${x}", "\r", "tab\there", "\\r\\n"];
  const project = createTestProject(t);
  const statements = strings.map((s) => `INSERT INTO notes VALUES('${s}');`).join("\n");
  project.writeMigration("001_notes.sql", `-- migrate:up\nCREATE TABLE notes(body TEXT);\n${statements}\n-- migrate:down\nDELETE FROM notes WHERE body = '${strings.join("")}';\n`);
  const scanned = scanProject(project);
  assert.deepEqual(scanned.problems, []);
  const entry = (await project.load())[0] as unknown as { upSql: string; downSql: string };
  assert.equal(entry.upSql, scanned.migrations[0]!.upSql);
  assert.equal(entry.downSql, scanned.migrations[0]!.downSql);
});
