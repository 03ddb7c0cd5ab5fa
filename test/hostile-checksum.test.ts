/**
 * Checksum holes under hostile input, each on real migration folders scanned as `gen` scans them:
 * helper files a TypeScript migration imports are part of its checksum (and of the gen cache's
 * inputs), files that are not UTF-8 are refused with the position of the first bad byte, and the SQL
 * canonical form keeps apart exactly what SQLite keeps apart, checked against SQLite itself.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { scanMigrations, type ScanResult } from "../codegen/scan.js";
import { createTestProject, makeTempDir, runCli, type TestProject } from "./support/project.js";

const migrationUsing = (importLine: string, call = "seed(db);") => `import { defineMigration } from "stepwise-migrate";
${importLine}

export default defineMigration({
  up(db) {
    ${call}
  },
});
`;
const seedHelper = (table: string) => `import type { Database } from "stepwise-migrate";

/** Creates the table the migration fills. */
export function seed(db: Database): void {
  db.exec("CREATE TABLE ${table} (id INTEGER PRIMARY KEY)");
}
`;

function scan(project: TestProject): ScanResult {
  return scanMigrations({ projectRoot: project.root, migrationsDir: project.migrationsDir });
}

function checksumOf(project: TestProject): string {
  const result = scan(project);
  assert.deepEqual(result.problems, []);
  return result.migrations[0]!.checksum;
}

function write(project: TestProject, relative: string, text: string | Buffer): void {
  const file = path.join(project.root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

test("editing a helper a TypeScript migration imports changes its checksum, whatever form the import takes", (t) => {
  const forms: Array<[string, string, string, string]> = [
    // [label, import line in the migration, helper path, call]
    ["import with a .js ending resolving to .ts", 'import { seed } from "./lib/seed.js";', "migrations/lib/seed.ts", "seed(db);"],
    ["extensionless import of a folder's index.ts", 'import { seed } from "./lib";', "migrations/lib/index.ts", "seed(db);"],
    ["a .mjs ending resolving to .mts", 'import { seed } from "./lib/seed.mjs";', "migrations/lib/seed.mts", "seed(db);"],
    ["a .cjs ending resolving to .cts", 'import { seed } from "./lib/seed.cjs";', "migrations/lib/seed.cts", "seed(db);"],
    ["import = require()", 'import helpers = require("./lib/seed.js");', "migrations/lib/seed.ts", "helpers.seed(db);"],
    ["require()", 'const helpers = require("./lib/seed.js");', "migrations/lib/seed.ts", "helpers.seed(db);"],
    ["a namespace import from outside the migrations folder", 'import * as helpers from "../src/db/seed.js";', "src/db/seed.ts", "helpers.seed(db);"],
    ["a literal dynamic import()", 'const loading = import("./lib/seed.js");', "migrations/lib/seed.ts", "void loading;"],
  ];
  for (const [label, importLine, helperPath, call] of forms) {
    const project = createTestProject(t);
    project.writeMigration("001_seed.ts", migrationUsing(importLine, call));
    write(project, helperPath, seedHelper("seeded"));
    const original = checksumOf(project);
    write(project, helperPath, `// Reformatted, with a comment: the meaning is the same.\n${seedHelper("seeded").replace(/\n/g, "\r\n").replace(/"/g, "'")}`);
    assert.equal(checksumOf(project), original, `${label}: a formatting-only edit of the helper must not change the checksum`);
    write(project, helperPath, seedHelper("seeded_differently"));
    assert.notEqual(checksumOf(project), original, `${label}: editing the helper must change the checksum`);
    assert.deepEqual(scan(project).migrations[0]!.localImports, [helperPath], label);
  }
});

test("local imports are followed transitively, through re-exports and cycles, in a stable order", (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_seed.ts", migrationUsing('import { seed } from "./lib/index.js";'));
  write(project, "migrations/lib/index.ts", 'export * from "./seed.js";\nexport { other } from "./other.js";\n');
  write(project, "migrations/lib/seed.ts", 'import { other } from "./other.js";\nexport function seed(db: { exec(sql: string): void }) { db.exec(other()); }\n');
  write(project, "migrations/lib/other.ts", 'import { seed } from "./seed.js";\nexport function other() { void seed; return "CREATE TABLE a (id INTEGER)"; }\n');
  const original = checksumOf(project);
  assert.deepEqual(scan(project).migrations[0]!.localImports, ["migrations/lib/index.ts", "migrations/lib/other.ts", "migrations/lib/seed.ts"]);
  assert.equal(checksumOf(project), original, "the same folder gives the same checksum every time");

  // A symlinked folder pointing back up is walked once, not until the path is too long.
  symlinkSync("..", path.join(project.migrationsDir, "lib", "loop"));
  write(project, "migrations/lib/seed.ts", 'import { other } from "./other.js";\nimport "./loop/lib/seed.js";\nexport function seed(db: { exec(sql: string): void }) { db.exec(other()); }\n');
  const withLoop = checksumOf(project);
  assert.notEqual(withLoop, original, "the new import line is code");
  assert.equal(checksumOf(project), withLoop);

  // The deepest file in the chain (reached only through `export { } from` and a cycle) still counts.
  write(project, "migrations/lib/other.ts", 'import { seed } from "./seed.js";\nexport function other() { void seed; return "CREATE TABLE b (id INTEGER)"; }\n');
  assert.notEqual(checksumOf(project), original);
});

test("package and type-only imports are not part of the checksum, and a migration without local imports keeps its old checksum", (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  // 002 imports only "stepwise-migrate" (a package): its checksum as committed before local imports counted is
  // unchanged. It has a description, which later left the checksum; that form is its legacy checksum.
  const before = scan(project).migrations.find((m) => m.version === 2)!;
  assert.equal(before.legacyChecksum, "66d83826352104faf11a7c6b99d0a17c6a085311234566d1c5f2d147f2b4804c");
  assert.deepEqual(before.localImports, []);

  const typesOnly = createTestProject(t);
  typesOnly.writeMigration("001_typed.ts", migrationUsing('import type { Row } from "./lib/types.js";', "const row: Row | null = null; void row;"));
  write(typesOnly, "migrations/lib/types.ts", "export interface Row { id: number }\n");
  const original = checksumOf(typesOnly);
  write(typesOnly, "migrations/lib/types.ts", "export interface Row { id: string }\n");
  assert.equal(checksumOf(typesOnly), original, "a type-only import runs nothing");
});

test("a missing import target, a helper that does not parse and an import with a computed specifier are problems with file:line:col", (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_seed.ts", migrationUsing('import { seed } from "./lib/seed.js";'));
  write(project, "migrations/lib/seed.ts", 'import { missing } from "../shared/gone.js";\nexport function seed(db: unknown) { void db; void missing; }\n');
  project.writeMigration("002_dynamic.ts", migrationUsing("const name = process.env.HELPER!;", "void import(name);\n    void require(`./lib/${name}`);"));
  project.writeMigration("003_broken_helper.ts", migrationUsing('import { seed } from "./lib/broken.js";'));
  write(project, "migrations/lib/broken.ts", 'export function seed(db) {\n  db.exec("x";\n}\n');
  const problems = scan(project)
    .problems.map((p) => [p.code, p.file, p.line, p.column])
    .sort();
  assert.deepEqual(problems, [
    ["TS_IMPORT_NOT_FOUND", "migrations/lib/seed.ts", 1, 25],
    ["TS_SYNTAX_ERROR", "migrations/lib/broken.ts", 2, 14],
    ["TS_UNTRACEABLE_IMPORT", "migrations/002_dynamic.ts", 6, 17],
    ["TS_UNTRACEABLE_IMPORT", "migrations/002_dynamic.ts", 7, 18],
  ]);
});

test("gen --check through the real bin fails naming the migration and the helper when only the helper changed, cache or not", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_seed.ts", migrationUsing('import { seed } from "./lib/seed.js";'));
  write(project, "migrations/lib/seed.ts", seedHelper("seeded"));
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 0, "the cache is primed");

  write(project, "migrations/lib/seed.ts", seedHelper("seeded_differently"));
  for (const args of [
    ["gen", "--check"],
    ["gen", "--check", "--no-cache"],
  ]) {
    const check = await runCli(args, { cwd: project.root });
    assert.equal(check.code, 1, `${args.join(" ")} passed a stale registry`);
    assert.match(check.stderr, /^migrations\/001_seed\.ts:1:1: .*migrations\/lib\/seed\.ts.*\[REGISTRY_STALE\]$/m);
  }
  const result = await project.generate({ check: true });
  assert.deepEqual(
    result.problems.map((p) => [p.code, p.file, p.relatedFiles]),
    [["REGISTRY_STALE", "migrations/001_seed.ts", ["migrations/lib/seed.ts"]]],
  );

  // A new file that changes what "./lib" resolves to is caught too, though it was not read before.
  project.writeMigration("001_seed.ts", migrationUsing('import { seed } from "./lib";'));
  rmSync(path.join(project.migrationsDir, "lib", "seed.ts"));
  write(project, "migrations/lib/index.ts", seedHelper("seeded"));
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 0);
  write(project, "migrations/lib.ts", seedHelper("from_lib_ts"));
  assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 1, "lib.ts now wins over lib/index.ts");
});

test("files that are not UTF-8 are refused with the position of the first bad byte, in SQL, TypeScript and imported helpers", (t) => {
  const project = createTestProject(t);
  const latin1 = Buffer.concat([Buffer.from("-- migrate:up\nINSERT INTO t VALUES ('caf"), Buffer.from([0xe9]), Buffer.from("');\n")]);
  write(project, "migrations/001_latin1.sql", latin1);
  const tsBytes = Buffer.from(migrationUsing('import { seed } from "./lib/seed.js";', "db.exec(\"SELECT '\u00e9\u00e9'\"); seed(db);"), "utf8");
  // A UTF-8 BOM is fine; a surrogate encoded in three bytes (ED A0 80) is not UTF-8.
  write(
    project,
    "migrations/002_surrogate.ts",
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), tsBytes.subarray(0, tsBytes.indexOf("\u00e9\u00e9")), Buffer.from([0xed, 0xa0, 0x80]), tsBytes.subarray(tsBytes.indexOf("\u00e9\u00e9") + 4)]),
  );
  write(project, "migrations/003_utf16.sql", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("-- migrate:up\nSELECT 1;\n", "utf16le")]));
  // Without a byte order mark, in either byte order: not a file of NUL bytes and SQL outside its sections.
  write(project, "migrations/006_utf16_unmarked.sql", Buffer.from("-- migrate:up\r\nSELECT 1;\r\n", "utf16le"));
  write(project, "migrations/007_utf16be_unmarked.sql", Buffer.from("-- migrate:up\nSELECT 1;\n", "utf16le").swap16());
  project.writeMigration("004_helper.ts", migrationUsing('import { seed } from "./lib/seed.js";'));
  write(project, "migrations/lib/seed.ts", Buffer.concat([Buffer.from("export function seed(db: unknown) {\n  // na"), Buffer.from([0xef, 0x76]), Buffer.from("ve\n  void db;\n}\n")]));
  // After a UTF-8 BOM, on the first line: the BOM is not a column.
  write(project, "migrations/005_bom.sql", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("-- "), Buffer.from([0xc0, 0xaf]), Buffer.from("\n-- migrate:up\nSELECT 1;\n")]));

  const problems = scan(project).problems;
  assert.deepEqual(problems.map((p) => [p.code, p.file, p.line, p.column]).sort(), [
    ["FILE_NOT_UTF8", "migrations/001_latin1.sql", 2, 27],
    ["FILE_NOT_UTF8", "migrations/002_surrogate.ts", 6, 22],
    ["FILE_NOT_UTF8", "migrations/003_utf16.sql", 1, 1],
    ["FILE_NOT_UTF8", "migrations/005_bom.sql", 1, 4],
    ["FILE_NOT_UTF8", "migrations/006_utf16_unmarked.sql", 1, 1],
    ["FILE_NOT_UTF8", "migrations/007_utf16be_unmarked.sql", 1, 1],
    ["FILE_NOT_UTF8", "migrations/lib/seed.ts", 2, 8],
  ]);
  assert.match(problems.find((p) => p.file.endsWith("003_utf16.sql"))!.message, /UTF-16LE/);
  assert.match(problems.find((p) => p.file.endsWith("006_utf16_unmarked.sql"))!.message, /UTF-16LE without a byte order mark/);
  assert.match(problems.find((p) => p.file.endsWith("007_utf16be_unmarked.sql"))!.message, /UTF-16BE without a byte order mark/);
  for (const problem of problems) assert.match(problem.message, /re-save it as UTF-8/);
});

test("gen through the real bin prints the non-UTF-8 file as file:line:col and writes nothing", async (t) => {
  const project = createTestProject(t);
  write(project, "migrations/001_latin1.sql", Buffer.concat([Buffer.from("-- migrate:up\nSELECT '"), Buffer.from([0xe8]), Buffer.from("';\n")]));
  const result = await runCli(["gen"], { cwd: project.root });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^migrations\/001_latin1\.sql:2:9: .*\[FILE_NOT_UTF8\]$/m);
  assert.throws(() => readFileSync(project.registryFile), { code: "ENOENT" });
});

/**
 * What SQLite does with a script: the objects, columns and rows it leaves, or the error it raises.
 * Not the stored CREATE text, which keeps the author's whitespace and comments verbatim.
 */
function sqliteOutcome(sql: string): string {
  const db = new Database(":memory:");
  try {
    db.exec(sql);
    const objects = db.prepare("SELECT type, name, tbl_name FROM sqlite_master ORDER BY name").all() as Array<{ type: string; name: string }>;
    const tables = objects
      .filter((o) => o.type === "table" || o.type === "view")
      .map((o) => {
        const quoted = `"${o.name.replace(/"/g, '""')}"`;
        return { columns: db.prepare(`PRAGMA table_xinfo(${quoted})`).all(), rows: db.prepare(`SELECT * FROM ${quoted}`).raw().all() };
      });
    return JSON.stringify({ objects, tables });
  } catch (error) {
    return `error: ${(error as Error).message}`;
  } finally {
    db.close();
  }
}

function sqlChecksummer(t: { after(fn: () => void): void }) {
  const root = makeTempDir(t);
  let count = 0;
  return (sql: string): string => {
    const migrationsDir = path.join(root, `variant-${++count}`);
    mkdirSync(migrationsDir);
    writeFileSync(path.join(migrationsDir, "001_variant.sql"), `-- migrate:up\n${sql}\n`);
    const result = scanMigrations({ projectRoot: root, migrationsDir });
    assert.deepEqual(result.problems, [], JSON.stringify(sql));
    return result.migrations[0]!.checksum;
  };
}

test("SQL that SQLite runs differently gets a different checksum: Unicode spaces, quoting, case in quotes, numbers, parameters, comments", (t) => {
  const checksumOf = sqlChecksummer(t);
  const table = (column: string) => `CREATE TABLE t(${column} INTEGER);`;
  const pairs: Array<[string, string, string]> = [
    ["a no-break space before a name", table("\u00a0x"), table("x")],
    ["a no-break space between words", "CREATE TABLE a\u00a0b(x);", "CREATE TABLE a b(x);"],
    ["an ideographic space", "CREATE TABLE t(x INTEGER);\nCREATE TABLE\u3000u(y);", "CREATE TABLE t(x INTEGER);\nCREATE TABLE u(y);"],
    ["an en quad (U+2000)", table("\u2000x"), table("x")],
    ["a hair space (U+200A)", table("x\u200a"), table("x")],
    ["a line separator (U+2028)", table("\u2028x"), table("x")],
    ["a BOM inside a name (where a token starts, SQLite skips it)", "CREATE TABLE a\ufeffb(x);", "CREATE TABLE a b(x);"],
    ["a vertical tab inside a statement (whitespace only between statements)", "CREATE TABLE t(x\vINTEGER);", table("x")],
    ["a no-break space alone on the last line", `${table("x")}\n\u00a0`, table("x")],
    ["case inside a string", "CREATE TABLE t(x); INSERT INTO t VALUES('Abc');", "CREATE TABLE t(x); INSERT INTO t VALUES('abc');"],
    ["case inside a double-quoted identifier", 'CREATE TABLE "T"(x); CREATE TABLE "t"(y);', 'CREATE TABLE "T"(x); CREATE TABLE "t2"(y);'],
    ["bracket identifiers", "CREATE TABLE [my table](x);", "CREATE TABLE [my  table](x);"],
    ["backtick identifiers", "CREATE TABLE `my table`(x);", "CREATE TABLE `my  table`(x);"],
    ["a blob literal", "CREATE TABLE t(x); INSERT INTO t VALUES(X'0A');", "CREATE TABLE t(x); INSERT INTO t VALUES(X'0B');"],
    ["1e3 and 1000", "CREATE TABLE t(x); INSERT INTO t VALUES(typeof(1e3));", "CREATE TABLE t(x); INSERT INTO t VALUES(typeof(1000));"],
    // Keyword case is kept, not folded: SQLite names a view's columns after the expression's text.
    ["keyword case in a view's expression", "CREATE TABLE t(a); CREATE VIEW v AS SELECT a is null FROM t;", "CREATE TABLE t(a); CREATE VIEW v AS SELECT a IS NULL FROM t;"],
    ["block comments do not nest", "CREATE TABLE t(x); /* a /* b */ INSERT INTO t VALUES(1); /* */", "CREATE TABLE t(x); /* a /* b */ INSERT INTO t VALUES(2); /* */"],
  ];
  for (const [what, a, b] of pairs) {
    assert.notEqual(sqliteOutcome(a), sqliteOutcome(b), `${what}: the pair must really differ to SQLite`);
    assert.notEqual(checksumOf(a), checksumOf(b), `${what}: same checksum for SQL that SQLite runs differently`);
  }
  // Parameters bind by name, which db.exec cannot show; a migration run by a tool that binds them would differ.
  assert.notEqual(checksumOf("SELECT $a, :a, @a;"), checksumOf("SELECT $b, :a, @a;"));
  assert.notEqual(checksumOf("SELECT :a;"), checksumOf("SELECT @a;"));
});

test("SQL that SQLite runs identically keeps its checksum: ASCII whitespace, comments, an unterminated comment at the end", (t) => {
  const checksumOf = sqlChecksummer(t);
  const base = "CREATE TABLE t(x INTEGER, y TEXT DEFAULT 'a  b');\nINSERT INTO t(x) VALUES(1);";
  const variants: Array<[string, string]> = [
    ["tabs, form feeds and carriage returns", base.replace(/ /g, (match, offset: number) => (offset < 20 ? "\t\f\r " : match))],
    ["a line comment", base.replace("\n", " -- the table\n")],
    ["a block comment", base.replace("INSERT", "/* rows */ INSERT")],
    ["an unterminated block comment at the end", `${base}\n/* trailing note`],
    ["a BOM where a token starts", `\ufeff${base.replace("INSERT", "\ufeffINSERT").replace("(x)", "(\ufeffx)")}`],
  ];
  for (const [what, variant] of variants) {
    assert.equal(sqliteOutcome(variant), sqliteOutcome(base), `${what}: SQLite must really treat it the same`);
    assert.equal(checksumOf(variant), checksumOf(base), `${what}: the checksum changed`);
  }
});

test("a database migrated before a helper was edited refuses to start with CHECKSUM_MISMATCH, through the real bin", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_seed.ts", migrationUsing('import { seed } from "./lib/seed.js";'));
  write(project, "migrations/lib/seed.ts", seedHelper("seeded"));
  const database = project.databasePath();
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const applied = await runCli(["up", "--db", database], { cwd: project.root });
  assert.equal(applied.code, 0, applied.stderr);

  write(project, "migrations/lib/seed.ts", seedHelper("seeded_differently"));
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const refused = await runCli(["up", "--db", database], { cwd: project.root });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /\[CHECKSUM_MISMATCH\]/);
  assert.match(refused.stderr, /001_seed\.ts/);
  // The edit is in the helper, which the migration's file does not show: the way back names both.
  const json = await runCli(["up", "--json", "--db", database], { cwd: project.root });
  const { error } = JSON.parse(json.stdout) as { error: { code: string; fix: { accidental: string } } };
  assert.equal(error.code, "CHECKSUM_MISMATCH");
  assert.match(error.fix.accidental, /^restore migrations\/001_seed\.ts \(or the project files it imports/);
});
