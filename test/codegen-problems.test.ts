/**
 * Every problem `stepwise gen` reports, on real fixture folders under test/fixtures/codegen/. Each
 * case lists the complete set of problems the folder must produce (code, file, line, column), so a
 * missing report and a spurious extra one both fail.
 */
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { test } from "node:test";
import type { ProblemCode } from "../codegen/problems.js";
import { scanMigrations } from "../codegen/scan.js";
import { renderSquashRecord } from "../codegen/squash/squash-record.js";
import { fixturesDir, makeTempDir } from "./support/project.js";

const codegenFixtures = path.join(fixturesDir, "codegen");

/** `[code, file name in the fixture folder, line, column]`. */
type Expected = readonly [ProblemCode, string, number, number];

interface FixtureCase {
  readonly fixture: string;
  readonly problems: readonly Expected[];
  /** Versions of the files that passed their own checks, when the case is about what is accepted. */
  readonly acceptedVersions?: readonly number[];
}

const cases: readonly FixtureCase[] = [
  {
    fixture: "file-names",
    problems: [
      ["BAD_FILE_NAME", "004_.sql", 1, 1],
      ["BAD_FILE_NAME", "004_Add.ts", 1, 1],
      ["BAD_FILE_NAME", "0_init.ts", 1, 1],
      ["BAD_FILE_NAME", "4-add.ts", 1, 1],
      // The badly named files still hold version 4, so 2 and 3 really are missing.
      ["VERSION_GAP", "004_.sql", 1, 1],
    ],
    acceptedVersions: [1],
  },
  // README.md, a helpers/ subfolder of helpers, and a .d.ts, a .txt and a helper .ts whose names do not start with a digit.
  { fixture: "ignored-files", problems: [], acceptedVersions: [1, 2] },
  // A migration in a subfolder, which gen does not read, is never left out unseen.
  { fixture: "nested-migrations", problems: [["MIGRATIONS_IN_SUBFOLDER", "archive/003_not_scanned.sql", 1, 1]], acceptedVersions: [1, 2] },
  {
    fixture: "duplicate-versions",
    problems: [
      ["DUPLICATE_VERSION", "0002_third.sql", 1, 1],
      ["DUPLICATE_VERSION", "002_second.ts", 1, 1],
      ["DUPLICATE_VERSION", "002_second_again.sql", 1, 1],
    ],
  },
  { fixture: "versions-start-at-two", problems: [["VERSIONS_DO_NOT_START_AT_ONE", "002_a.sql", 1, 1]] },
  {
    fixture: "version-gaps",
    problems: [
      ["VERSION_GAP", "005_step.sql", 1, 1],
      ["VERSION_GAP", "009_step.sql", 1, 1],
      ["VERSION_GAP", "020_step.sql", 1, 1],
    ],
  },
  {
    fixture: "ts-syntax-error",
    problems: [
      ["TS_SYNTAX_ERROR", "001_unclosed_call.ts", 5, 42],
      ["TS_SYNTAX_ERROR", "002_stray_token.ts", 3, 16],
      ["TS_SYNTAX_ERROR", "002_stray_token.ts", 3, 18],
    ],
  },
  {
    fixture: "ts-default-export",
    problems: [
      ["TS_NO_DEFAULT_EXPORT", "001_named_only.ts", 1, 1],
      ["TS_MULTIPLE_DEFAULT_EXPORTS", "002_two_defaults.ts", 5, 1],
      ["TS_MULTIPLE_DEFAULT_EXPORTS", "003_export_as_default.ts", 10, 10],
    ],
  },
  {
    fixture: "ts-not-define-migration",
    problems: [
      ["TS_NOT_DEFINE_MIGRATION", "001_plain_object.ts", 1, 1],
      ["TS_NOT_DEFINE_MIGRATION", "002_identifier.ts", 9, 1],
      ["TS_NOT_DEFINE_MIGRATION", "003_default_function.ts", 1, 1],
      ["TS_NOT_DEFINE_MIGRATION", "004_other_call.ts", 3, 1],
    ],
  },
  {
    fixture: "ts-not-object-literal",
    problems: [
      ["TS_NOT_OBJECT_LITERAL", "001_variable.ts", 9, 32],
      ["TS_NOT_OBJECT_LITERAL", "002_no_argument.ts", 3, 16],
      ["TS_NOT_OBJECT_LITERAL", "003_extra_argument.ts", 4, 3],
    ],
  },
  {
    fixture: "ts-properties",
    problems: [
      ["TS_UNKNOWN_PROPERTY", "001_unknown.ts", 7, 3],
      ["TS_UNKNOWN_PROPERTY", "001_unknown.ts", 8, 3],
      ["TS_UNSUPPORTED_PROPERTY", "002_spread.ts", 6, 3],
      ["TS_UNSUPPORTED_PROPERTY", "003_computed_and_accessor.ts", 6, 3],
      ["TS_UNSUPPORTED_PROPERTY", "003_computed_and_accessor.ts", 7, 3],
      ["TS_DUPLICATE_PROPERTY", "004_duplicate.ts", 7, 3],
    ],
    // 005 quotes a known property name, which is still read.
    acceptedVersions: [5],
  },
  {
    fixture: "ts-functions",
    problems: [
      ["TS_MISSING_UP", "001_missing_up.ts", 3, 32],
      ["TS_NOT_A_FUNCTION", "002_up_not_function.ts", 4, 3],
      ["TS_NOT_A_FUNCTION", "003_up_imported.ts", 5, 3],
      ["TS_NOT_A_FUNCTION", "004_up_generator.ts", 4, 3],
      ["TS_NOT_A_FUNCTION", "005_down_not_function.ts", 7, 3],
    ],
    // An arrow function, a function expression, functions declared in the file, and a shorthand.
    acceptedVersions: [6, 7, 8],
  },
  {
    fixture: "ts-literal-options",
    problems: [
      ["TS_NON_LITERAL_OPTION", "001_description_constant.ts", 6, 16],
      ["TS_NON_LITERAL_OPTION", "002_description_template.ts", 6, 16],
      ["TS_NON_LITERAL_OPTION", "003_transaction_string.ts", 7, 16],
      ["TS_NON_LITERAL_OPTION", "004_transaction_expression.ts", 9, 16],
      ["TS_NON_LITERAL_OPTION", "005_description_shorthand.ts", 6, 3],
    ],
    acceptedVersions: [6],
  },
  {
    fixture: "ts-foreign-keys",
    problems: [
      ["FOREIGN_KEYS_WITHOUT_TRANSACTION", "001_without_transaction.ts", 8, 3],
      ["FOREIGN_KEYS_PRAGMA_IN_TRANSACTION", "002_pragma_in_exec.ts", 5, 13],
      ["FOREIGN_KEYS_PRAGMA_IN_TRANSACTION", "003_pragma_method.ts", 8, 15],
      // The SQL sits in a function declared elsewhere in the file, not in the property itself.
      ["FOREIGN_KEYS_PRAGMA_IN_TRANSACTION", "005_pragma_in_declared_function.ts", 5, 11],
    ],
    acceptedVersions: [4],
  },
  {
    fixture: "sql-sections",
    problems: [
      ["SQL_MISSING_UP", "001_missing_up.sql", 1, 1],
      ["SQL_OUTSIDE_SECTION", "001_missing_up.sql", 2, 1],
      ["SQL_DUPLICATE_UP", "002_duplicate_up.sql", 3, 4],
      ["SQL_DUPLICATE_DOWN", "003_duplicate_down.sql", 5, 4],
      ["SQL_DOWN_BEFORE_UP", "004_down_before_up.sql", 1, 4],
      ["SQL_EMPTY_UP", "005_empty_up.sql", 1, 1],
      ["SQL_EMPTY_DOWN", "006_empty_down.sql", 3, 1],
      ["SQL_OUTSIDE_SECTION", "007_outside_section.sql", 2, 3],
    ],
    acceptedVersions: [8],
  },
  {
    fixture: "sql-markers",
    problems: [
      ["SQL_UNKNOWN_MARKER", "001_unknown_marker.sql", 3, 4],
      ["SQL_UNKNOWN_FLAG", "002_unknown_flag.sql", 1, 15],
      ["SQL_FLAG_ON_DOWN", "003_flag_on_down.sql", 3, 4],
      ["FOREIGN_KEYS_PRAGMA_IN_TRANSACTION", "004_pragma_in_transaction.sql", 4, 3],
      // Both flags together would give a registry the runtime refuses at every start.
      ["FOREIGN_KEYS_WITHOUT_TRANSACTION", "007_foreign_keys_without_transaction.sql", 2, 33],
    ],
    acceptedVersions: [5, 6],
  },
  {
    // Each comment is meant as a marker but is not one exactly, so it would be read as a plain comment.
    fixture: "sql-lookalike-markers",
    problems: [
      ["SQL_MALFORMED_MARKER", "001_case_variant.sql", 3, 1],
      ["SQL_MALFORMED_MARKER", "002_no_space.sql", 3, 1],
      ["SQL_MALFORMED_MARKER", "003_goose.sql", 1, 1],
      ["SQL_MALFORMED_MARKER", "003_goose.sql", 3, 1],
      ["SQL_MISPLACED_MARKER", "004_block_comment.sql", 3, 1],
      ["SQL_MISPLACED_MARKER", "005_after_sql.sql", 2, 30],
      ["SQL_MALFORMED_MARKER", "006_description_case.sql", 1, 1],
      ["SQL_MALFORMED_MARKER", "007_flag_own_line.sql", 2, 1],
      ["SQL_UNTERMINATED", "008_unterminated.sql", 2, 30],
      ["SQL_MISPLACED_DESCRIPTION", "010_description_below_up.sql", 2, 1],
    ],
    // 009's "-- migrate:down" lines sit inside a string and a block comment: text, not markers.
    // 011's "-- Up" and "-- Down migration" are headings inside the sections they name.
    acceptedVersions: [9, 11],
  },
  {
    fixture: "sql-flags",
    problems: [
      ["SQL_UNKNOWN_FLAG", "001_flag_case.sql", 1, 15],
      ["SQL_DUPLICATE_FLAG", "002_duplicate.sql", 1, 33],
      ["SQL_CONFLICTING_FLAGS", "003_conflicting.sql", 1, 33],
      ["SQL_UNKNOWN_FLAG", "004_transaction_no.sql", 1, 15],
    ],
  },
  {
    fixture: "sql-transaction-control",
    problems: [
      ["SQL_TRANSACTION_CONTROL", "001_commit_begin.sql", 3, 1],
      ["SQL_TRANSACTION_CONTROL", "001_commit_begin.sql", 4, 1],
      ["SQL_TRANSACTION_CONTROL", "002_savepoints.sql", 3, 3],
      ["SQL_TRANSACTION_CONTROL", "002_savepoints.sql", 4, 1],
      ["SQL_TRANSACTION_CONTROL", "002_savepoints.sql", 5, 1],
      ["SQL_TRANSACTION_CONTROL", "002_savepoints.sql", 7, 15],
      ["SQL_NEEDS_NO_TRANSACTION", "003_vacuum.sql", 2, 1],
    ],
    // 004 holds the keywords only as strings, names, comments, a trigger body and CASE … END;
    // 005 manages its own transaction and VACUUMs, which transaction:false allows.
    acceptedVersions: [4, 5],
  },
];

function scanFixture(fixture: string) {
  return scanMigrations({ projectRoot: codegenFixtures, migrationsDir: path.join(codegenFixtures, fixture) });
}

function sortExpected(problems: readonly Expected[]): Expected[] {
  return [...problems].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) || a[2] - b[2] || a[3] - b[3]);
}

for (const { fixture, problems, acceptedVersions } of cases) {
  test(`fixture ${fixture}: reports exactly the expected problems`, () => {
    const scan = scanFixture(fixture);
    const actual = scan.problems.map((p): Expected => [p.code, p.file, p.line, p.column]);
    const expected = problems.map(([code, fileName, line, column]): Expected => [code, `${fixture}/${fileName}`, line, column]);
    assert.deepEqual(sortExpected(actual), sortExpected(expected));
    if (acceptedVersions)
      assert.deepEqual(
        scan.migrations.map((m) => m.version),
        acceptedVersions,
      );
  });
}

test("a gap names the missing versions as data", () => {
  const gaps = scanFixture("version-gaps").problems.map((p) => [p.file, p.missingVersions]);
  assert.deepEqual(gaps, [
    ["version-gaps/005_step.sql", { from: 3, to: 4 }],
    ["version-gaps/009_step.sql", { from: 7, to: 8 }],
    ["version-gaps/020_step.sql", { from: 10, to: 19 }],
  ]);
});

test("a version as large as a timestamp or 2^53 - 1 is a VERSION_GAP naming the missing range, in time, not a crash", (t) => {
  const root = makeTempDir(t);
  const migrationsDir = path.join(root, "migrations");
  mkdirSync(migrationsDir);
  const sql = (table: string) => `-- migrate:up\nCREATE TABLE ${table} (x);\n`;
  writeFileSync(path.join(migrationsDir, "001_a.sql"), sql("a"));
  writeFileSync(path.join(migrationsDir, "002_b.sql"), sql("b"));
  writeFileSync(path.join(migrationsDir, "003_c.ts"), `import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up() {} });\n`);
  // A timestamp version copied from another tool's folder (fewer than stepwise's own, so not FOREIGN_MIGRATIONS), and the largest version a name may have.
  writeFileSync(path.join(migrationsDir, "20240101120000_d.sql"), sql("d"));
  writeFileSync(path.join(migrationsDir, "9007199254740991_e.sql"), sql("e"));
  const started = Date.now();
  const { problems } = scanMigrations({ projectRoot: root, migrationsDir });
  assert.ok(Date.now() - started < 10_000, "the scan walked the versions");
  assert.deepEqual(
    problems.map((p) => [p.code, p.file, p.missingVersions]),
    [
      ["VERSION_GAP", "migrations/20240101120000_d.sql", { from: 4, to: 20240101119999 }],
      ["VERSION_GAP", "migrations/9007199254740991_e.sql", { from: 20240101120001, to: 9007199254740990 }],
    ],
  );
});

test("a squash whose record cannot be read still holds the versions below it without listing them, however large its version", (t) => {
  const root = makeTempDir(t);
  const migrationsDir = path.join(root, "migrations");
  mkdirSync(migrationsDir);
  // A record whose hash matches but whose head claims a version its lines do not list.
  const forged = renderSquashRecord(2, [], []).map((line) => line.replace(" 2 record:", " 9007199254740990 record:"));
  writeFileSync(path.join(migrationsDir, "9007199254740990_squash.sql"), [...forged, "-- migrate:up", "CREATE TABLE a (x);", ""].join("\n"));
  writeFileSync(path.join(migrationsDir, "9007199254740991_next.ts"), `import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up() {} });\n`);
  // Stepwise's own files outnumber the timestamp-sized ones, so the folder is not taken for another tool's; 005 sits inside the squash's range.
  for (const name of ["005_inside", "006_more", "007_more"]) writeFileSync(path.join(migrationsDir, `${name}.sql`), `-- migrate:up\nCREATE TABLE t${name} (x);\n`);
  const { problems } = scanMigrations({ projectRoot: root, migrationsDir });
  assert.deepEqual(problems.map((p) => [p.code, p.file]).sort(), [
    ["DUPLICATE_VERSION", "migrations/005_inside.sql"],
    ["DUPLICATE_VERSION", "migrations/006_more.sql"],
    ["DUPLICATE_VERSION", "migrations/007_more.sql"],
    ["DUPLICATE_VERSION", "migrations/9007199254740990_squash.sql"],
    ["DUPLICATE_VERSION", "migrations/9007199254740990_squash.sql"],
    ["DUPLICATE_VERSION", "migrations/9007199254740990_squash.sql"],
    ["SQUASH_RECORD_INVALID", "migrations/9007199254740990_squash.sql"],
  ]);
});

test("a migrations folder that is the project root names its problems' files from the root, never from the file system's root", (t) => {
  const root = makeTempDir(t);
  mkdirSync(path.join(root, "migrations"));
  writeFileSync(path.join(root, "migrations", "001_a.sql"), "-- migrate:up\nCREATE TABLE a (x);\n");
  const nested = scanMigrations({ projectRoot: root, migrationsDir: root }).problems;
  assert.deepEqual(
    nested.map((p) => [p.code, p.file]),
    [["MIGRATIONS_IN_SUBFOLDER", "migrations/001_a.sql"]],
  );
  assert.doesNotMatch(nested[0]!.message, / {2}|^\//);

  const foreign = makeTempDir(t);
  for (const name of ["20240101120000_a.sql", "20240102120000_b.sql"]) writeFileSync(path.join(foreign, name), "-- migrate:up\nCREATE TABLE a (x);\n-- migrate:down\nDROP TABLE a;\n");
  assert.deepEqual(
    scanMigrations({ projectRoot: foreign, migrationsDir: foreign }).problems.map((p) => [p.code, p.file]),
    [["FOREIGN_MIGRATIONS", "20240101120000_a.sql"]],
  );
});

test("a duplicated version names every file that holds it, and no other", () => {
  const files = scanFixture("duplicate-versions")
    .problems.map((p) => p.file)
    .sort();
  assert.deepEqual(files, ["duplicate-versions/0002_third.sql", "duplicate-versions/002_second.ts", "duplicate-versions/002_second_again.sql"]);
});

test("transaction:false on the up marker line is read as a flag", () => {
  const byVersion = new Map(scanFixture("sql-markers").migrations.map((m) => [m.version, m]));
  assert.equal(byVersion.get(5)?.transaction, false);
  assert.equal(byVersion.get(5)?.reversible, false);
  assert.equal(byVersion.get(6)?.transaction, true);
  assert.equal(byVersion.get(6)?.disableForeignKeys, true);
});

test("a marker inside a string or a block comment is text: the migration has no down section", () => {
  const accepted = scanFixture("sql-lookalike-markers").migrations.find((m) => m.version === 9);
  assert.equal(accepted?.reversible, false);
  assert.match(accepted?.upSql ?? "", /-- migrate:down\nDROP TABLE i;\n\*\/$/);
});

test("a flag that is not spelled exactly names the flag it was probably meant as", () => {
  const messages = scanFixture("sql-flags")
    .problems.filter((p) => p.code === "SQL_UNKNOWN_FLAG")
    .map((p) => p.message);
  assert.equal(messages.length, 2);
  for (const message of messages) assert.ok(message.includes(`"transaction:false"?`), message);
});

test("a SQL file whose line breaks are lone carriage returns is one SQL_CR_LINE_BREAKS problem, not a problem per word; a file with CRLF ones is read as ever", (t) => {
  const dir = makeTempDir(t);
  writeFileSync(path.join(dir, "001_items.sql"), "-- migrate:up\rCREATE TABLE items (id INTEGER PRIMARY KEY);\r-- migrate:down\rDROP TABLE items;\r");
  writeFileSync(path.join(dir, "002_notes.sql"), "-- migrate:up\r\nCREATE TABLE notes (id INTEGER);\r\n");
  // Lone CRs in a file that also has an LF (a line a modern editor appended).
  writeFileSync(path.join(dir, "003_tags.sql"), "-- migrate:up\rCREATE TABLE tags (id INTEGER);\r-- migrate:down\rDROP TABLE tags;\n");
  // One lone CR after a comment: SQLite reads the DROP as part of the comment, so it would never run.
  writeFileSync(path.join(dir, "004_drop.sql"), "-- migrate:up\nCREATE TABLE old (id INTEGER);\nCREATE TABLE gone (id INTEGER); -- to drop\rDROP TABLE old;\n");
  // A CR inside a string is data.
  writeFileSync(path.join(dir, "005_rows.sql"), "-- migrate:up\nINSERT INTO notes (id) SELECT length('a\rb');\n");
  const scan = scanMigrations({ projectRoot: dir, migrationsDir: dir });
  assert.deepEqual(
    scan.problems.map((p) => [p.code, p.file, p.line, p.column]),
    [
      ["SQL_CR_LINE_BREAKS", "001_items.sql", 1, 14],
      ["SQL_CR_LINE_BREAKS", "003_tags.sql", 1, 14],
      ["SQL_CR_LINE_BREAKS", "004_drop.sql", 3, 43],
    ],
  );
  assert.deepEqual(
    scan.migrations.map((m) => m.version),
    [2, 5],
  );
});

test("a transactional migration that switches PRAGMA journal_mode is SQL_NEEDS_NO_TRANSACTION whatever the mode, since on a WAL database it fails or, after a write, does nothing", (t) => {
  const dir = makeTempDir(t);
  // What SQLite does with it on a WAL file, inside a transaction after a write: nothing, and no error.
  const db = new Database(path.join(dir, "wal.db"));
  t.after(() => db.close());
  db.pragma("journal_mode = WAL");
  db.exec("BEGIN IMMEDIATE; CREATE TABLE t (a); PRAGMA journal_mode = DELETE; COMMIT;");
  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");

  const migrations = path.join(dir, "migrations");
  mkdirSync(migrations);
  writeFileSync(path.join(migrations, "001_delete.sql"), "-- migrate:up\nCREATE TABLE t (a);\nPRAGMA journal_mode = DELETE;\n");
  writeFileSync(path.join(migrations, "002_truncate.sql"), "-- migrate:up\nPRAGMA main.journal_mode=truncate;\n");
  writeFileSync(path.join(migrations, "003_wal.sql"), "-- migrate:up\nPRAGMA journal_mode('wal');\n");
  // Reading the mode, or switching it outside a transaction, is fine.
  writeFileSync(path.join(migrations, "004_read.sql"), "-- migrate:up\nSELECT 1;\nPRAGMA journal_mode;\n");
  writeFileSync(path.join(migrations, "005_outside.sql"), "-- migrate:up transaction:false\nPRAGMA journal_mode = DELETE;\n");
  const scan = scanMigrations({ projectRoot: dir, migrationsDir: migrations });
  assert.deepEqual(
    scan.problems.map((p) => [p.code, p.file, p.line, p.column]),
    [
      ["SQL_NEEDS_NO_TRANSACTION", "migrations/001_delete.sql", 3, 1],
      ["SQL_NEEDS_NO_TRANSACTION", "migrations/002_truncate.sql", 2, 1],
      ["SQL_NEEDS_NO_TRANSACTION", "migrations/003_wal.sql", 2, 1],
    ],
  );
  for (const problem of scan.problems) assert.match(problem.message, /transaction:false/);
  assert.deepEqual(
    scan.migrations.map((m) => m.version),
    [4, 5],
  );
});

test("a transactional migration that changes PRAGMA synchronous or temp_store, or checkpoints the WAL, is SQL_NEEDS_NO_TRANSACTION, since SQLite refuses each inside a transaction", (t) => {
  const dir = makeTempDir(t);
  // What SQLite does with each inside a transaction (temp_store once the connection has a temporary table, as an app's may).
  const db = new Database(path.join(dir, "wal.db"));
  t.after(() => db.close());
  db.exec("PRAGMA journal_mode = WAL; CREATE TEMP TABLE scratch (a);");
  const refusedInside = ["PRAGMA synchronous = OFF", "PRAGMA temp_store = MEMORY", "PRAGMA wal_checkpoint(TRUNCATE)"].filter((statement) => {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.prepare(statement).all();
      return false;
    } catch {
      return true;
    } finally {
      db.exec("ROLLBACK");
    }
  });
  assert.equal(refusedInside.length, 3);

  const migrations = path.join(dir, "migrations");
  mkdirSync(migrations);
  writeFileSync(path.join(migrations, "001_sync.sql"), "-- migrate:up\nCREATE TABLE t (a);\nPRAGMA synchronous = OFF;\n");
  writeFileSync(path.join(migrations, "002_temp.sql"), "-- migrate:up\nPRAGMA main.temp_store(2);\n");
  writeFileSync(path.join(migrations, "003_checkpoint.sql"), "-- migrate:up\nPRAGMA wal_checkpoint;\n");
  // Reading them, another setting, or a change outside a transaction, is fine.
  writeFileSync(path.join(migrations, "004_read.sql"), "-- migrate:up\nPRAGMA synchronous;\nPRAGMA temp_store;\nPRAGMA cache_size = 100;\n");
  writeFileSync(path.join(migrations, "005_outside.sql"), "-- migrate:up transaction:false\nPRAGMA synchronous = OFF;\nPRAGMA temp_store = MEMORY;\nPRAGMA wal_checkpoint(TRUNCATE);\n");
  const scan = scanMigrations({ projectRoot: dir, migrationsDir: migrations });
  assert.deepEqual(
    scan.problems.map((p) => [p.code, p.file, p.line, p.column]),
    [
      ["SQL_NEEDS_NO_TRANSACTION", "migrations/001_sync.sql", 3, 1],
      ["SQL_NEEDS_NO_TRANSACTION", "migrations/002_temp.sql", 2, 1],
      ["SQL_NEEDS_NO_TRANSACTION", "migrations/003_checkpoint.sql", 2, 1],
    ],
  );
  for (const problem of scan.problems) assert.match(problem.message, /transaction:false/);
  assert.deepEqual(
    scan.migrations.map((m) => m.version),
    [4, 5],
  );
});

test("a missing migrations folder is one problem naming the folder", () => {
  const scan = scanFixture("does-not-exist");
  assert.deepEqual(
    scan.problems.map((p) => [p.code, p.file, p.line, p.column]),
    [["MIGRATIONS_DIR_MISSING", "does-not-exist", 1, 1]],
  );
});

/**
 * Which test covers each code. The `Record` makes the compiler refuse a new code until a test is
 * named for it; the loop checks that the fixture cases really produce the codes they claim.
 */
const coverage: Record<ProblemCode, "fixture" | string> = {
  MIGRATIONS_DIR_MISSING: "a missing migrations folder is one problem naming the folder",
  BAD_FILE_NAME: "fixture",
  DUPLICATE_VERSION: "fixture",
  VERSIONS_DO_NOT_START_AT_ONE: "fixture",
  VERSION_GAP: "fixture",
  TS_SYNTAX_ERROR: "fixture",
  TS_NO_DEFAULT_EXPORT: "fixture",
  TS_MULTIPLE_DEFAULT_EXPORTS: "fixture",
  TS_NOT_DEFINE_MIGRATION: "fixture",
  TS_DEFINE_MIGRATION_SOURCE: "test/codegen-define-migration.test.ts",
  TS_MIGRATION_ON_D1: "test/cloudflare-gen-target.test.ts",
  TS_NOT_OBJECT_LITERAL: "fixture",
  TS_UNSUPPORTED_PROPERTY: "fixture",
  TS_UNKNOWN_PROPERTY: "fixture",
  TS_DUPLICATE_PROPERTY: "fixture",
  TS_MISSING_UP: "fixture",
  TS_NOT_A_FUNCTION: "fixture",
  TS_NON_LITERAL_OPTION: "fixture",
  FOREIGN_KEYS_WITHOUT_TRANSACTION: "fixture",
  FOREIGN_KEYS_PRAGMA_IN_TRANSACTION: "fixture",
  SQL_MISSING_UP: "fixture",
  SQL_DUPLICATE_UP: "fixture",
  SQL_DUPLICATE_DOWN: "fixture",
  SQL_DOWN_BEFORE_UP: "fixture",
  SQL_EMPTY_UP: "fixture",
  SQL_EMPTY_DOWN: "fixture",
  SQL_OUTSIDE_SECTION: "fixture",
  SQL_UNKNOWN_MARKER: "fixture",
  SQL_UNKNOWN_FLAG: "fixture",
  SQL_FLAG_ON_DOWN: "fixture",
  SQL_CR_LINE_BREAKS: "a SQL file whose line breaks are lone carriage returns is one SQL_CR_LINE_BREAKS problem, not a problem per word; a file with CRLF ones is read as ever",
  REGISTRY_STALE: "test/cli-gen.test.ts",
  REGISTRY_DIALECT_CHANGED: "test/dialect-codegen.test.ts",
  FOREIGN_KEYS_FLAG_UNSUPPORTED: "test/dialect-codegen.test.ts",
  SQL_PSQL_ONLY: "test/dialect-postgres-sql.test.ts",
  REGISTRY_UNREADABLE: "test/codegen-write.test.ts",
  FILE_NOT_UTF8: "test/hostile-checksum.test.ts",
  TS_IMPORT_NOT_FOUND: "test/hostile-checksum.test.ts",
  TSCONFIG_INVALID: "test/local-import-resolution.test.ts",
  TS_UNTRACEABLE_IMPORT: "test/hostile-checksum.test.ts",
  TS_NUL_BYTE: "test/checksum-holes.test.ts",
  TS_TOO_DEEPLY_NESTED: "test/hostile-codegen.test.ts",
  SQL_NUL_BYTE: "test/checksum-holes.test.ts",
  REGISTRY_UNWRITABLE: "test/hostile-codegen.test.ts",
  FORMATTER_FAILED: "test/hostile-codegen.test.ts",
  VERSION_TAKEN_ON_BASE: "test/rebase.test.ts",
  MIGRATIONS_DIR_NOT_A_FOLDER: "test/hostile-codegen.test.ts",
  MIGRATIONS_DIR_UNREADABLE: "test/hostile-codegen.test.ts",
  MIGRATIONS_DIR_UNIMPORTABLE: "test/hostile-codegen.test.ts",
  MIGRATION_NOT_A_FILE: "test/hostile-codegen.test.ts",
  MIGRATION_SYMLINK: "test/hostile-codegen.test.ts",
  MIGRATION_UNREADABLE: "test/hostile-codegen.test.ts",
  FOREIGN_MIGRATIONS: "test/foreign-migrations.test.ts",
  MIGRATIONS_IN_SUBFOLDER: "fixture",
  SQL_MALFORMED_MARKER: "fixture",
  SQL_MISPLACED_MARKER: "fixture",
  SQL_MISPLACED_DESCRIPTION: "fixture",
  SQL_DUPLICATE_FLAG: "fixture",
  SQL_CONFLICTING_FLAGS: "fixture",
  SQL_UNTERMINATED: "fixture",
  SQL_TRANSACTION_CONTROL: "fixture",
  SQL_NEEDS_NO_TRANSACTION: "fixture",
  SQL_MISPLACED_EMPTY: "test/devloop-markers.test.ts",
  SQL_EMPTY_REASON_MISSING: "test/devloop-markers.test.ts",
  SQL_DUPLICATE_EMPTY: "test/devloop-markers.test.ts",
  SQL_EMPTY_WITH_SQL: "test/devloop-markers.test.ts",
  TEMPLATE_UNEDITED: "test/devloop-markers.test.ts",
  REPLAY_FAILED: "test/gen-replay.test.ts",
  REPLAY_DOWN_FAILED: "test/gen-replay.test.ts",
  REPLAY_REGISTRY_UNLOADABLE: "test/gen-replay.test.ts",
  REPLAY_SKIPPED: "test/gen-replay-skips.test.ts",
  FOREIGN_KEY_PARENT_REBUILT: "test/gen-replay.test.ts",
  SQUASH_RECORD_INVALID: "test/squash-sqlite.test.ts",
  SQUASH_REVIEW_PENDING: "test/squash-sqlite.test.ts",
  SQUASH_SCHEMA_CHANGED: "test/squash-sqlite.test.ts",
};

test("every problem code said to come from a fixture has a fixture case that produces it", () => {
  const expectedCodes = new Set(cases.flatMap((c) => c.problems.map(([code]) => code)));
  for (const [code, where] of Object.entries(coverage)) {
    if (where === "fixture") assert.ok(expectedCodes.has(code as ProblemCode), `no fixture case expects ${code}`);
  }
});

test("a subfolder of migrations reached through a symbolic link is reported as a real one is, not left out in silence", (t) => {
  const root = makeTempDir(t);
  const migrationsDir = path.join(root, "migrations");
  mkdirSync(migrationsDir);
  writeFileSync(path.join(migrationsDir, "001_a.sql"), "-- migrate:up\nCREATE TABLE a (x);\n");
  const elsewhere = path.join(root, "elsewhere");
  mkdirSync(elsewhere);
  writeFileSync(path.join(elsewhere, "002_b.sql"), "-- migrate:up\nCREATE TABLE b (x);\n");
  symlinkSync(elsewhere, path.join(migrationsDir, "more"));
  // Links back into the folder, or above it, hold nothing the scan has not read: no loop, no report.
  symlinkSync(migrationsDir, path.join(migrationsDir, "self"));
  symlinkSync(root, path.join(migrationsDir, "up"));
  assert.deepEqual(
    scanMigrations({ projectRoot: root, migrationsDir }).problems.map((p) => [p.code, p.file]),
    [["MIGRATIONS_IN_SUBFOLDER", "migrations/more/002_b.sql"]],
  );
});
