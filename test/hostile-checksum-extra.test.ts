/**
 * Hostile cases the first round of checksum fixes did not cover. Each test names a promise from
 * docs/guarantees.md and a class of input that breaks it; every "runs differently" claim is checked
 * against the real thing (SQLite, or the TypeScript compiled and run) inside the test, so a pair can
 * only fail the assertion on the checksum, never because the pair was not really different.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { ts } from "ts-morph";
import { checksumSqlMigration } from "../src/shared/checksum.js";
import { scanMigrations, type ScanResult } from "../codegen/scan.js";
import { createTestProject, makeTempDir, runCli, type TestProject } from "./support/project.js";

function write(root: string, relative: string, text: string | Buffer): void {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** Scans one TypeScript migration body in a fresh folder and returns its checksum. */
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

const migrationWithUp = (body: string, extra = "") => `import { defineMigration } from "stepwise-migrate";
${extra}
export default defineMigration({
  up(db) {
    ${body}
  },
});
`;

/**
 * Compiles a migration with TypeScript and runs its `up` against a fake database that records what
 * it is asked to execute: the migration's observable behaviour, without SQLite or a module loader.
 */
function runUp(source: string, open = true): string {
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const moduleObject: { exports: { default?: { up(db: unknown): void } } } = { exports: {} };
  const fakeRequire = (name: string) => {
    if (name === "stepwise-migrate") return { defineMigration: (definition: unknown) => definition };
    throw new Error(`unexpected import ${name}`);
  };
  new Function("module", "exports", "require", js)(moduleObject, moduleObject.exports, fakeRequire);
  const executed: string[] = [];
  const db = { open, exec: (sql: string) => void executed.push(sql) };
  try {
    moduleObject.exports.default!.up(db);
    return JSON.stringify({ executed });
  } catch (error) {
    return JSON.stringify({ executed, threw: (error as Error).name });
  }
}

function assertPairsHashApart(t: { after(fn: () => void): void }, pairs: ReadonlyArray<readonly [string, string, string]>): void {
  const checksumOf = tsChecksummer(t);
  const collisions: string[] = [];
  for (const [what, a, b] of pairs) {
    const sourceA = migrationWithUp(a);
    const sourceB = migrationWithUp(b);
    assert.notEqual(runUp(sourceA), runUp(sourceB), `${what}: the pair must really behave differently`);
    if (checksumOf(sourceA) === checksumOf(sourceB)) collisions.push(what);
  }
  assert.deepEqual(collisions, [], "same checksum for TypeScript that runs differently");
}

// ---------------------------------------------------------------------------------------------
// The standing promise: a description change alone does not change the checksum.
// ---------------------------------------------------------------------------------------------

test("a TypeScript migration's description alone does not change its checksum (as for SQL)", (t) => {
  const checksumOf = tsChecksummer(t);
  const withDescription = (description: string | null) => `import { defineMigration } from "stepwise-migrate";

export default defineMigration({${description === null ? "" : `\n  description: ${JSON.stringify(description)},`}
  up(db) {
    db.exec("CREATE TABLE nicknames (id INTEGER PRIMARY KEY)");
  },
});
`;
  const original = checksumOf(withDescription("Nicknames for contacts"));
  assert.equal(checksumOf(withDescription("Nicknames for contacts, typo fixed")), original, "editing the description changed the checksum");
  assert.equal(checksumOf(withDescription(null)), original, "removing the description changed the checksum");
  assert.equal(checksumOf(withDescription("")), original, "emptying the description changed the checksum");

  // The SQL half already keeps it out; the two halves must agree.
  const sql = (description: string) => `-- description: ${description}\n-- migrate:up\nCREATE TABLE nicknames (id INTEGER PRIMARY KEY);\n`;
  const root = makeTempDir(t);
  const sqlChecksums = ["Nicknames", "Nicknames, typo fixed"].map((description, i) => {
    const migrationsDir = path.join(root, `sql-${i}`);
    mkdirSync(migrationsDir);
    writeFileSync(path.join(migrationsDir, "001_variant.sql"), sql(description));
    return scanMigrations({ projectRoot: root, migrationsDir }).migrations[0]!.checksum;
  });
  assert.equal(sqlChecksums[0], sqlChecksums[1]);
});

// ---------------------------------------------------------------------------------------------
// TypeScript that runs differently must hash differently.
// ---------------------------------------------------------------------------------------------

test("TypeScript that fills different optional slots of a node hashes differently: destructuring defaults, for-loop clauses, an empty then-branch", (t) => {
  assertPairsHashApart(t, [
    // BindingElement(propertyName?, name, initializer?): `a: b` renames, `a = b` defaults.
    [
      "destructuring: rename versus default",
      'const b = "DROP TABLE keep"; { const { a: b } = { a: "CREATE TABLE t(x)" }; db.exec(b); }',
      'const b = "DROP TABLE keep"; { const { a = b } = { a: "CREATE TABLE t(x)" }; db.exec(b); }',
    ],
    [
      "destructuring in a parameter",
      'const text = "DROP TABLE keep"; const run = ({ sql: text }: { sql?: string }) => db.exec(String(text)); run({ sql: "CREATE TABLE t(x)" });',
      'const text = "DROP TABLE keep"; const run = ({ sql = text }: { sql?: string }) => db.exec(String(text)); run({ sql: "CREATE TABLE t(x)" });',
    ],
    // ForStatement(initializer?, condition?, incrementor?, statement).
    [
      "for: condition versus incrementor",
      "for (let i = 0; i < 2; ) { db.exec(`CREATE TABLE t${i}(x)`); if (++i > 3) break; }",
      "for (let i = 0; ; i < 2) { db.exec(`CREATE TABLE t${i}(x)`); if (++i > 3) break; }",
    ],
    ["for: initializer versus condition", 'let n = 0; for (n++; ; ) { db.exec("CREATE TABLE t(x)"); break; }', 'let n = 0; for (; n++; ) { db.exec("CREATE TABLE t(x)"); break; }'],
    // IfStatement(expression, thenStatement, elseStatement?) with the empty then-branch dropped.
    ["if with an empty then-branch and an else", 'if (db.open) ; else db.exec("DROP TABLE contacts");', 'if (db.open) db.exec("DROP TABLE contacts");'],
  ]);
});

test("parentheses that end an optional chain are part of a TypeScript migration's checksum", (t) => {
  assertPairsHashApart(t, [
    // `a?.b.c` short-circuits to undefined when a is nullish; `(a?.b).c` throws.
    [
      "property access after a chain",
      'const config = null as null | { sql: { text: string } }; db.exec((config?.sql).text ?? "SELECT 1");',
      'const config = null as null | { sql: { text: string } }; db.exec(config?.sql.text ?? "SELECT 1");',
    ],
    [
      "call after a chain",
      'const hooks = null as null | { before: () => void }; (hooks?.before)(); db.exec("CREATE TABLE t(x)");',
      'const hooks = null as null | { before: () => void }; hooks?.before(); db.exec("CREATE TABLE t(x)");',
    ],
    [
      "non-null assertion after a chain",
      'const config = null as null | { sql: { text: string } }; db.exec((config?.sql)!.text ?? "SELECT 1");',
      'const config = null as null | { sql: { text: string } }; db.exec(config?.sql!.text ?? "SELECT 1");',
    ],
  ]);
});

test("a tagged template without substitutions is hashed by its raw text, which is what the tag reads", (t) => {
  assertPairsHashApart(t, [
    // String.raw sees `\n` as backslash-n and a line break as a line break; the cooked values are equal.
    ["an escape versus the character it stands for", "db.exec(String.raw`INSERT INTO notes VALUES ('a\\nb')`);", "db.exec(String.raw`INSERT INTO notes VALUES ('a\nb')`);"],
    ["a hex escape versus the letter", "db.exec(String.raw`INSERT INTO notes VALUES ('\\x41')`);", "db.exec(String.raw`INSERT INTO notes VALUES ('A')`);"],
    ["a unicode escape versus the letter", "db.exec(String.raw`INSERT INTO notes VALUES ('\\u0041')`);", "db.exec(String.raw`INSERT INTO notes VALUES ('A')`);"],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Local imports: every project file a migration loads is covered, or the import is refused.
// ---------------------------------------------------------------------------------------------

const seedMigration = (importLine: string, call = "seed(db);") => `import { defineMigration } from "stepwise-migrate";
${importLine}

export default defineMigration({
  up(db) {
    ${call}
  },
});
`;
const seedHelper = (table: string) => `export function seed(db: { exec(sql: string): void }): void {
  db.exec("CREATE TABLE ${table} (id INTEGER PRIMARY KEY)");
}
`;

function scanProject(project: TestProject): ScanResult {
  return scanMigrations({ projectRoot: project.root, migrationsDir: project.migrationsDir });
}

/** Covered: editing the helper changes the checksum. Refused: the scan reports a problem. Anything else is a hole. */
function helperCoveredOrRefused(project: TestProject, helperPath: string): boolean {
  const before = scanProject(project);
  if (before.problems.length > 0) return true;
  write(project.root, helperPath, seedHelper("seeded_differently"));
  const after = scanProject(project);
  return after.problems.length > 0 || after.migrations[0]!.checksum !== before.migrations[0]!.checksum;
}

test("a helper reached through tsconfig paths, package.json imports, the package's own name or createRequire is covered or refused", (t) => {
  const cases: Array<{ what: string; importLine: string; call?: string; helper: string; packageJson?: object; tsconfigPaths?: Record<string, string[]> }> = [
    { what: "tsconfig paths alias (tsx resolves it)", importLine: 'import { seed } from "@lib/seed.js";', helper: "migrations/lib/seed.ts", tsconfigPaths: { "@lib/*": ["migrations/lib/*"] } },
    { what: "package.json imports (#lib/*)", importLine: 'import { seed } from "#lib/seed.js";', helper: "migrations/lib/seed.ts", packageJson: { imports: { "#lib/*": "./migrations/lib/*" } } },
    {
      what: "self-reference through package.json exports",
      importLine: 'import { seed } from "test-app/lib/seed.js";',
      helper: "migrations/lib/seed.ts",
      packageJson: { exports: { "./lib/*": "./migrations/lib/*" } },
    },
    {
      what: "createRequire(import.meta.url)",
      importLine: 'import { createRequire } from "node:module";\nconst load = createRequire(import.meta.url);',
      call: 'load("./lib/seed.ts").seed(db);',
      helper: "migrations/lib/seed.ts",
    },
    // createRequire under another name: imported as one, or taken out of the module's namespace.
    ...[
      'import { createRequire as makeRequire } from "node:module";',
      'import * as nodeModule from "node:module";\nconst { createRequire: makeRequire } = nodeModule;',
      'import nodeModule from "node:module";\nconst makeRequire = (url: string) => nodeModule.createRequire(url);',
      'import * as nodeModule from "node:module";\nconst makeRequire = nodeModule.createRequire;',
    ].map((line) => ({ what: line, importLine: `${line}\nconst load = makeRequire(import.meta.url);`, call: 'load("./lib/seed.ts").seed(db);', helper: "migrations/lib/seed.ts" })),
    // A created require under a type assertion, a non-null mark or parentheses is the same function.
    ...["createRequire(import.meta.url) as NodeRequire", "createRequire(import.meta.url)!", "(createRequire(import.meta.url))"].map((made) => ({
      what: made,
      importLine: `import { createRequire } from "node:module";\nconst load = ${made};`,
      call: 'load("./lib/seed.ts").seed(db);',
      helper: "migrations/lib/seed.ts",
    })),
  ];
  const holes: string[] = [];
  for (const c of cases) {
    const project = createTestProject(t, { packageJson: c.packageJson });
    if (c.tsconfigPaths) {
      writeFileSync(
        path.join(project.root, "tsconfig.json"),
        JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, baseUrl: ".", paths: c.tsconfigPaths } }),
      );
    }
    project.writeMigration("001_seed.ts", seedMigration(c.importLine, c.call));
    write(project.root, c.helper, seedHelper("seeded"));
    if (!helperCoveredOrRefused(project, c.helper)) holes.push(c.what);
  }
  assert.deepEqual(holes, [], "editing the helper changed what the migration does, but neither its checksum changed nor was the import refused");
});

test("through the real bin: a helper imported as #lib/… is edited: gen --check fails, up refuses it as stale, and after gen a new database gets another schema", async (t) => {
  const project = createTestProject(t, { packageJson: { imports: { "#lib/*": "./migrations/lib/*" } } });
  project.writeMigration("001_seed.ts", seedMigration('import { seed } from "#lib/seed.js";'));
  write(project.root, "migrations/lib/seed.ts", seedHelper("seeded"));
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const first = await runCli(["up", "--db", project.databasePath("first.db")], { cwd: project.root });
  assert.equal(first.code, 0, first.stderr);

  write(project.root, "migrations/lib/seed.ts", seedHelper("seeded_differently"));
  for (const args of [
    ["gen", "--check"],
    ["gen", "--check", "--no-cache"],
  ]) {
    const check = await runCli(args, { cwd: project.root });
    assert.equal(check.code, 1, `${args.join(" ")} passed although the migration's helper changed:\n${check.stdout}`);
  }
  // The bin's runtime commands run the same check first, so the edited helper never runs unregistered.
  const stale = await runCli(["up", "--db", project.databasePath("second.db")], { cwd: project.root });
  assert.equal(stale.code, 1, stale.stdout + stale.stderr);
  assert.match(stale.stderr, /\[REGISTRY_STALE\][\s\S]*migrations\/001_seed\.ts \(or a file it imports: migrations\/lib\/seed\.ts\)/);

  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const second = await runCli(["up", "--db", project.databasePath("second.db")], { cwd: project.root });
  assert.equal(second.code, 0, second.stderr);
  const tables = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations' ORDER BY name").all() as Array<{ name: string }>).map((row) => row.name);
    } finally {
      db.close();
    }
  };
  assert.notDeepEqual(tables(project.databasePath("first.db")), tables(project.databasePath("second.db")), "the helper really decides the schema");
});

test("an extensionless import is resolved in the order tsx uses, so the file that runs is the file hashed", async (t) => {
  const { tsImport } = (await import("tsx/esm/api")) as { tsImport: (specifier: string, parent: string) => Promise<unknown> };
  // [what, the files next to each other, the file tsx loads for "./lib/seed"]
  const cases: Array<[string, Record<string, string>, string]> = [
    [
      "seed.js beside seed.mts",
      { "migrations/lib/seed.mts": seedHelper("from_mts"), "migrations/lib/seed.js": 'export function seed(db) { db.exec("CREATE TABLE from_js (id INTEGER)"); }\n' },
      "migrations/lib/seed.js",
    ],
    [
      "seed.js beside seed.cts",
      {
        "migrations/lib/seed.cts": 'exports.seed = (db: any) => db.exec("CREATE TABLE from_cts (id INTEGER)");\n',
        "migrations/lib/seed.js": 'export function seed(db) { db.exec("CREATE TABLE from_js (id INTEGER)"); }\n',
      },
      "migrations/lib/seed.js",
    ],
    [
      "seed.json beside seed/index.ts",
      { "migrations/lib/seed/index.ts": 'export default { table: "from_index" };\n', "migrations/lib/seed.json": '{ "table": "from_json" }\n' },
      "migrations/lib/seed.json",
    ],
  ];
  let load = 0;
  const holes: string[] = [];
  for (const [what, files, loaded] of cases) {
    const project = createTestProject(t);
    const usesData = loaded.endsWith(".json");
    project.writeMigration(
      "001_seed.ts",
      usesData
        ? seedMigration('import data from "./lib/seed";', "db.exec(`CREATE TABLE ${(data as { table: string }).table} (id INTEGER)`);")
        : seedMigration('import * as helper from "./lib/seed";', "(helper as unknown as { seed(db: unknown): void }).seed(db);"),
    );
    for (const [file, text] of Object.entries(files)) write(project.root, file, text);

    // Which file really runs: import the migration as the runtime does and record its SQL.
    const module = (await tsImport(`${path.join(project.migrationsDir, "001_seed.ts")}?load=${++load}`, import.meta.url)) as { default: { up(db: unknown): void } };
    const executed: string[] = [];
    module.default.up({ exec: (sql: string) => void executed.push(sql) });
    const marker = usesData ? "from_json" : "from_js";
    assert.match(executed.join("\n"), new RegExp(marker), `${what}: tsx loads ${loaded}`);

    const before = scanProject(project);
    if (before.problems.length > 0) continue; // refused: no hole
    write(project.root, loaded, files[loaded]!.replace(marker, `${marker}_edited`));
    const after = scanProject(project);
    if (after.problems.length === 0 && after.migrations[0]!.checksum === before.migrations[0]!.checksum) {
      holes.push(`${what}: ${loaded} runs, the scan hashed ${before.migrations[0]!.localImports?.join(", ")}`);
    }
  }
  assert.deepEqual(holes, [], "the file that runs is not the file hashed");
});

// ---------------------------------------------------------------------------------------------
// The gen cache never vouches for a registry its inputs no longer produce.
// ---------------------------------------------------------------------------------------------

test("the gen cache notices a helper that was a symlink to another helper and is now a file of its own", async (t) => {
  const project = createTestProject(t);
  const helper = (table: string) => `export function seed(db: { exec(sql: string): void }): void {
  db.exec("CREATE TABLE ${table} (id INTEGER PRIMARY KEY)");
}
export function other(db: { exec(sql: string): void }): void {
  db.exec("CREATE TABLE ${table}_other (id INTEGER PRIMARY KEY)");
}
`;
  project.writeMigration("001_seed.ts", seedMigration('import { seed } from "./lib/a.js";\nimport { other } from "./lib/b.js";', "seed(db);\n    other(db);"));
  write(project.root, "migrations/lib/a.ts", helper("first"));
  symlinkSync("a.ts", path.join(project.root, "migrations/lib/b.ts"));
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 0, "the cache was primed");

  // b.ts stops being a link to a.ts: `other` now creates another table.
  rmSync(path.join(project.root, "migrations/lib/b.ts"));
  write(project.root, "migrations/lib/b.ts", helper("changed"));
  const uncached = await runCli(["gen", "--check", "--no-cache"], { cwd: project.root });
  assert.equal(uncached.code, 1, "without the cache the registry is stale");
  assert.match(uncached.stderr, /\[REGISTRY_STALE\]/);
  const cached = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(cached.code, 1, `the cache vouched for a stale registry:\n${cached.stdout}`);
  assert.match(cached.stderr, /\[REGISTRY_STALE\]/);
});

test("a migrations folder or a helper folder reached through a symbolic link has its imports followed from where its files are, as Node resolves them", async (t) => {
  // A monorepo app links the migrations of a shared package; a decoy helper sits where the link's own path would lead.
  const project = createTestProject(t);
  rmSync(project.migrationsDir, { recursive: true, force: true });
  write(project.root, "shared/db/migrations/001_seed.ts", seedMigration('import { seed } from "../lib/seed.js";'));
  write(project.root, "shared/db/lib/seed.ts", seedHelper("from_shared"));
  write(project.root, "lib/seed.ts", seedHelper("from_decoy"));
  symlinkSync(path.join("shared", "db", "migrations"), project.migrationsDir);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const up = await runCli(["up", "--db", project.databasePath()], { cwd: project.root });
  assert.equal(up.code, 0, up.stderr);
  const db = new Database(project.databasePath(), { readonly: true });
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'from_%'").all();
  db.close();
  assert.deepEqual(tables, [{ name: "from_shared" }], "Node runs the helper beside the real folder");
  const scanned = scanProject(project);
  assert.deepEqual(scanned.problems, []);
  assert.deepEqual(scanned.migrations[0]!.localImports, ["shared/db/lib/seed.ts"]);
  write(project.root, "lib/seed.ts", seedHelper("decoy_edited"));
  assert.equal(scanProject(project).migrations[0]!.checksum, scanned.migrations[0]!.checksum, "the decoy never runs");
  write(project.root, "shared/db/lib/seed.ts", seedHelper("shared_edited"));
  const check = await runCli(["gen", "--check", "--json"], { cwd: project.root });
  assert.equal(check.code, 1, `gen --check passed although the helper that runs changed:\n${check.stdout}`);
  const { problems } = JSON.parse(check.stdout) as { problems: Array<{ code: string; file: string; relatedFiles?: string[] }> };
  assert.deepEqual(
    problems.map(({ code, file, relatedFiles }) => ({ code, file, relatedFiles })),
    [{ code: "REGISTRY_STALE", file: "migrations/001_seed.ts", relatedFiles: ["shared/db/lib/seed.ts"] }],
  );

  // A helper folder linked into the migrations folder: its files' own imports start from the real folder too.
  const linked = createTestProject(t);
  linked.writeMigration("001_seed.ts", seedMigration('import { seed } from "./lib/seed.js";'));
  write(linked.root, "shared/lib/seed.ts", 'export { seed } from "../config.js";\n');
  write(linked.root, "shared/config.ts", seedHelper("from_shared"));
  write(linked.root, "migrations/config.ts", seedHelper("from_decoy"));
  symlinkSync(path.join("..", "shared", "lib"), path.join(linked.migrationsDir, "lib"));
  const scannedLinked = scanProject(linked);
  assert.deepEqual(scannedLinked.problems, []);
  assert.deepEqual(scannedLinked.migrations[0]!.localImports, ["migrations/lib/seed.ts", "shared/config.ts"], "the path as written is kept where it names the file that runs");
});

// ---------------------------------------------------------------------------------------------
// SQL that SQLite runs differently must hash differently.
// ---------------------------------------------------------------------------------------------

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

test("whitespace or a comment inside an unaliased result column names the column, so it is part of the checksum there", (t) => {
  // The same reason keyword case is kept (see hostile-checksum.test.ts): SQLite names a view's or a
  // CREATE TABLE … AS table's column after the expression's source text, spaces and comments included.
  const root = makeTempDir(t);
  let count = 0;
  const checksumOf = (sql: string) => {
    const migrationsDir = path.join(root, `variant-${++count}`);
    mkdirSync(migrationsDir);
    writeFileSync(path.join(migrationsDir, "001_variant.sql"), `-- migrate:up\n${sql}\n`);
    const scan = scanMigrations({ projectRoot: root, migrationsDir });
    assert.deepEqual(scan.problems, []);
    return scan.migrations[0]!.checksum;
  };
  const pairs: Array<[string, string, string]> = [
    ["two spaces in a view's column", "CREATE VIEW v AS SELECT a + 1 FROM t;", "CREATE VIEW v AS SELECT a  +  1 FROM t;"],
    ["a block comment in a view's column", "CREATE VIEW v AS SELECT a + 1 FROM t;", "CREATE VIEW v AS SELECT a + /* one */ 1 FROM t;"],
    ["tabs in a CREATE TABLE AS column", "CREATE TABLE c AS SELECT a + 1 FROM t;", "CREATE TABLE c AS SELECT a\t+\t1 FROM t;"],
    ["a line comment in a CREATE TABLE AS column", "CREATE TABLE c AS SELECT a + 1 FROM t;", "CREATE TABLE c AS SELECT a + -- one\n 1 FROM t;"],
    ["a space after a comma in a function call", "CREATE VIEW v AS SELECT coalesce(a, 1) FROM t;", "CREATE VIEW v AS SELECT coalesce(a,1) FROM t;"],
    // Every way to write a schema-qualified name: the canonical form reads `main.` as one word, the quoted name after it as another.
    ...['main."v"', "main.[v]", "main.`v`", '"main"."v"', '"main".v', "main.v", "main . v", 'main . "v"', 'IF NOT EXISTS main."v"'].map((name): [string, string, string] => [
      `two spaces in view ${name}'s column`,
      `CREATE VIEW ${name} AS SELECT a + 1 FROM t;`,
      `CREATE VIEW ${name} AS SELECT a  +  1 FROM t;`,
    ]),
    ['two spaces in table main."c"\'s column', 'CREATE TABLE main."c" AS SELECT a + 1 FROM t;', 'CREATE TABLE main."c" AS SELECT a  +  1 FROM t;'],
  ];
  const collisions: string[] = [];
  for (const [what, a, b] of pairs) {
    assert.notEqual(columnNames(a), columnNames(b), `${what}: SQLite must really name the columns differently`);
    if (checksumOf(a) === checksumOf(b)) collisions.push(what);
  }
  assert.deepEqual(collisions, [], "same checksum, different column names");
});

test("the canonical SQL form cannot be confused across the up/down boundary (a NUL in the SQL)", () => {
  // SQLite stops reading at a NUL, so each up below creates the table; only one of them can be reverted.
  const irreversible = { upSql: "CREATE TABLE a(x);\u0000down=DROP TABLE a;", downSql: null, transaction: true, disableForeignKeys: false };
  const reversible = { upSql: "CREATE TABLE a(x);", downSql: "DROP TABLE a;\u0000down=<none>", transaction: true, disableForeignKeys: false };
  const db = new Database(":memory:");
  db.exec(irreversible.upSql);
  assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'a'").get() as { n: number }).n, 1);
  db.close();
  assert.notEqual(checksumSqlMigration(irreversible), checksumSqlMigration(reversible), "a reversible and an irreversible migration share a checksum");
});

test('a directive is recognised by its exact text, so an escaped "use strict" in a helper is not the same code', async (t) => {
  // "use\x20strict" has the value "use strict" but is not a directive: the helper runs in sloppy mode.
  const { tsImport } = (await import("tsx/esm/api")) as { tsImport: (specifier: string, parent: string) => Promise<unknown> };
  const outcomes: Array<{ checksum: string; executed: string[] }> = [];
  let load = 0;
  for (const directive of ['"use strict";', '"use\\x20strict";']) {
    const project = createTestProject(t);
    project.writeMigration("001_mode.ts", seedMigration('import { seed } from "./lib/mode.cjs";'));
    write(
      project.root,
      "migrations/lib/mode.cjs",
      `${directive}\nexports.seed = function (db) {\n  const strict = (function () { return this === undefined; })();\n  db.exec(strict ? "CREATE TABLE strict_mode (x)" : "CREATE TABLE sloppy_mode (x)");\n};\n`,
    );
    const scan = scanProject(project);
    assert.deepEqual(scan.problems, []);
    const module = (await tsImport(`${path.join(project.migrationsDir, "001_mode.ts")}?directive=${++load}`, import.meta.url)) as { default: { up(db: unknown): void } };
    const executed: string[] = [];
    module.default.up({ exec: (sql: string) => void executed.push(sql) });
    outcomes.push({ checksum: scan.migrations[0]!.checksum, executed });
  }
  assert.notDeepEqual(outcomes[0]!.executed, outcomes[1]!.executed, "the two helpers really run differently");
  assert.notEqual(outcomes[0]!.checksum, outcomes[1]!.checksum, "same checksum for a strict and a sloppy helper");
});

test("the registry runs the SQL that was hashed: a lone carriage return inside a SQL string survives gen", async (t) => {
  // The checksum covers 'a\rb'; the registry's template literal is formatted by prettier (endOfLine
  // lf) and cooked by JavaScript, both of which turn a lone CR into LF, so the database gets 'a\nb'.
  const project = createTestProject(t);
  project.writeMigration("001_notes.sql", "-- migrate:up\nCREATE TABLE notes(body TEXT);\nINSERT INTO notes VALUES('a\rb');\n");
  const scanned = scanProject(project);
  assert.deepEqual(scanned.problems, []);
  const registry = await project.load();
  const entry = registry[0] as unknown as { upSql: string };
  assert.equal(entry.upSql, scanned.migrations[0]!.upSql, "the registry inlines other SQL than the checksum covers");
});

test("a project that lives under a folder named node_modules still has its helpers covered", (t) => {
  // Only packages are left out; the test for one must look at the path inside the project, not above it.
  const parent = path.join(makeTempDir(t), "node_modules");
  mkdirSync(parent);
  const project = createTestProject(t, { parentDir: parent });
  project.writeMigration("001_seed.ts", seedMigration('import { seed } from "./lib/seed.js";'));
  write(project.root, "migrations/lib/seed.ts", seedHelper("seeded"));
  assert.deepEqual(scanProject(project).migrations[0]!.localImports, ["migrations/lib/seed.ts"]);
  assert.ok(helperCoveredOrRefused(project, "migrations/lib/seed.ts"), "editing the helper left the checksum alone");
});
