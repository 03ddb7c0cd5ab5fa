/**
 * The PostgreSQL tokeniser, checksum and transaction checks (`src/shared/postgres-*.ts`): what
 * PostgreSQL's lexer reads as one token (dollar quotes, E-strings, nested comments) stays one, hostile
 * input never throws or loses a character, and the checksum follows meaning the way SQLite's does.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { scanMigrations } from "../codegen/scan.js";
import { canonicalizePostgresSql, checksumSqlMigration } from "../src/shared/checksum.js";
import { splitPostgresSqlText, tokenizePostgresSql, type SqlToken } from "../src/shared/postgres-tokens.js";
import { parseSqlMigrationSource } from "../src/shared/sql-source.js";
import { makeTempDir } from "./support/project.js";

const significant = (sql: string) => tokenizePostgresSql(sql).filter((token) => token.kind !== "whitespace");
const shape = (sql: string) => significant(sql).map((token) => [token.kind, token.text]);

/** Checksums a SQL migration the way gen does for a postgres registry: a real file in a real folder. */
function postgresChecksummer(t: { after(fn: () => void): void }) {
  const root = makeTempDir(t);
  let count = 0;
  return (text: string): string => {
    const migrationsDir = path.join(root, `variant-${++count}`);
    mkdirSync(migrationsDir);
    writeFileSync(path.join(migrationsDir, "001_variant.sql"), text);
    const scan = scanMigrations({ projectRoot: root, migrationsDir, dialect: "postgres" });
    assert.deepEqual(scan.problems, [], `variant ${count} must be a valid migration:\n${text}`);
    return scan.migrations[0]!.checksum;
  };
}

test("dollar quotes: $$ and $tag$ hold ; and COMMIT to the same delimiter; $1 is a parameter; $ inside a name opens nothing", () => {
  assert.deepEqual(shape("SELECT $$a; COMMIT;$$, $fn_1$ $$ $x$ $fn_1$;"), [
    ["word", "SELECT"],
    ["string", "$$a; COMMIT;$$"],
    ["punctuation", ","],
    ["string", "$fn_1$ $$ $x$ $fn_1$"],
    ["punctuation", ";"],
  ]);
  assert.deepEqual(shape("SELECT $1, $12$"), [
    ["word", "SELECT"],
    ["word", "$1"],
    ["punctuation", ","],
    ["word", "$12"],
    ["punctuation", "$"],
  ]);
  // A tag cannot start with a digit, and a `$` continues a name: neither opens a quote.
  assert.deepEqual(shape("SELECT $1a$ x, a$$b, é$t$"), [
    ["word", "SELECT"],
    ["word", "$1"],
    ["word", "a$"],
    ["word", "x"],
    ["punctuation", ","],
    ["word", "a$$b"],
    ["punctuation", ","],
    ["word", "é$t$"],
  ]);
  // Tags are case-sensitive: $A$ does not close $a$.
  const unclosed = significant("SELECT $a$ body $A$;");
  assert.equal(unclosed.length, 2);
  assert.equal(unclosed[1]!.unterminated, true);
});

test("strings: E'' takes backslash escapes, plain '' does not, U&'', B'', X'', N'' are strings, and a prefix counts only standing alone", () => {
  assert.deepEqual(shape(String.raw`SELECT E'it\'s; COMMIT', e'\\', 'a\'; COMMIT;`), [
    ["word", "SELECT"],
    ["string", String.raw`E'it\'s; COMMIT'`],
    ["punctuation", ","],
    ["string", String.raw`e'\\'`],
    ["punctuation", ","],
    ["string", String.raw`'a\'`],
    ["punctuation", ";"],
    ["word", "COMMIT"],
    ["punctuation", ";"],
  ]);
  assert.deepEqual(shape(`SELECT U&'d\\0061t', u&"x""y", B'01', X'ff', N'n''s', ne'x'`), [
    ["word", "SELECT"],
    ["string", "U&'d\\0061t'"],
    ["punctuation", ","],
    ["quoted-identifier", 'u&"x""y"'],
    ["punctuation", ","],
    ["string", "B'01'"],
    ["punctuation", ","],
    ["string", "X'ff'"],
    ["punctuation", ","],
    ["string", "N'n''s'"],
    ["punctuation", ","],
    ["word", "ne"],
    ["string", "'x'"],
  ]);
});

test("comments: block comments nest, a line comment ends at CR or LF, and backticks and brackets are punctuation", () => {
  assert.deepEqual(shape("a /* x /* y; COMMIT */ z */ b -- c\rd [e] `f`"), [
    ["word", "a"],
    ["block-comment", "/* x /* y; COMMIT */ z */"],
    ["word", "b"],
    ["line-comment", "-- c"],
    ["word", "d"],
    ["punctuation", "["],
    ["word", "e"],
    ["punctuation", "]"],
    ["punctuation", "`"],
    ["word", "f"],
    ["punctuation", "`"],
  ]);
  const unclosed = significant("SELECT 1; /* a /* b */ still open");
  assert.equal(unclosed.at(-1)!.kind, "block-comment");
  assert.equal(unclosed.at(-1)!.unterminated, true);
});

test("statements split at ; outside dollar bodies, parentheses and BEGIN ATOMIC bodies, where CASE … END does not close the body", () => {
  const sql = [
    "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $b$ BEGIN PERFORM 1; COMMIT; RETURN 1; END $b$;",
    "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; INSERT INTO t VALUES (1); END;",
    "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2));",
    "SELECT x.end FROM t x",
  ].join("\n");
  assert.deepEqual(splitPostgresSqlText(sql), [
    "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $b$ BEGIN PERFORM 1; COMMIT; RETURN 1; END $b$",
    "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; INSERT INTO t VALUES (1); END",
    "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2))",
    "SELECT x.end FROM t x",
  ]);
});

test("a COMMIT in a dollar body, an E-string or a nested comment is text; one after a plain string holding a backslash is a statement", () => {
  const check = (body: string) => {
    const result = parseSqlMigrationSource(`-- migrate:up\n${body}\n`, { dialect: "postgres" });
    return result.ok ? [] : result.problems.map((p) => [p.code, p.line, p.column]);
  };
  assert.deepEqual(check("DO $$ BEGIN COMMIT; END $$;"), []);
  assert.deepEqual(check(String.raw`SELECT E'\'; COMMIT; '`), []);
  assert.deepEqual(check("/* /* */ COMMIT; */ SELECT 1;"), []);
  assert.deepEqual(check(String.raw`SELECT 'a\';` + "\nCOMMIT;"), [["SQL_TRANSACTION_CONTROL", 3, 1]]);
});

test("an unclosed block comment is refused on postgres, where it is a syntax error, and left alone on sqlite, which runs what came before", () => {
  const unclosed = (comment: string) => `-- migrate:up\nCREATE TABLE t (id integer);\n${comment}\n`;
  for (const comment of ["/* never closed", "/* a /* nested */ but the outer one never closed"]) {
    const postgres = parseSqlMigrationSource(unclosed(comment), { dialect: "postgres" });
    assert.deepEqual(postgres.ok ? [] : postgres.problems.map((p) => [p.code, p.line, p.column]), [["SQL_UNTERMINATED", 3, 1]], comment);
  }
  assert.equal(parseSqlMigrationSource(unclosed("/* never closed")).ok, true);
});

test("SQL after a carriage return on a marker's line, which PostgreSQL reads and the sections would drop, is refused there on both dialects", () => {
  const sources = [
    "-- migrate:up\rDROP TABLE users CASCADE;\nCREATE TABLE b (x integer);\n-- migrate:down\nDROP TABLE b;\n",
    "-- migrate:up\rDROP TABLE important;\n-- migrate:empty nothing\n",
    "-- migrate:up\nCREATE TABLE b (x integer);\n-- migrate:down\rDROP TABLE a;\nDROP TABLE b;\n",
  ];
  for (const source of sources) {
    const postgres = parseSqlMigrationSource(source, { dialect: "postgres" });
    const markerLine = source.split("\n").findIndex((line) => line.includes("\r")) + 1;
    assert.deepEqual(postgres.ok ? [] : postgres.problems.map((p) => [p.code, p.line]), [["SQL_OUTSIDE_SECTION", markerLine]], JSON.stringify(source));
    // On SQLite the comment runs on to the line feed, so the text is a flag of the marker, and refused as one.
    assert.equal(parseSqlMigrationSource(source).ok, false, JSON.stringify(source));
  }
  // A comment after the carriage return is no SQL.
  assert.equal(parseSqlMigrationSource("-- migrate:up\r-- a note\nCREATE TABLE b (x integer);\n", { dialect: "postgres" }).ok, true);
});

/** Fragments PostgreSQL's lexer treats specially, for hostile input built from them. */
const HOSTILE_FRAGMENTS = [
  "$",
  "$$",
  "$a$",
  "$a1$",
  "$1",
  "$1$",
  "$_$",
  "'",
  "''",
  "E'",
  "e'",
  "U&'",
  'U&"',
  "\\",
  "\\'",
  '"',
  '""',
  "/*",
  "*/",
  "--",
  "-",
  "/",
  "*",
  "\n",
  "\r",
  "\r\n",
  " ",
  "\t",
  ";",
  "(",
  ")",
  "COMMIT",
  "BEGIN",
  "ATOMIC",
  "CASE",
  "END",
  "CREATE FUNCTION",
  "a",
  "x1",
  "é",
  "\u00A0",
  "\uFEFF",
  "0",
];
const hostileSql = fc.array(fc.constantFrom(...HOSTILE_FRAGMENTS), { maxLength: 40 }).map((parts) => parts.join(""));

test("hostile input: tokens never throw, cover the source exactly with true positions, and only the last may be unclosed", () => {
  fc.assert(
    fc.property(hostileSql, (sql) => {
      const tokens = tokenizePostgresSql(sql);
      assert.equal(tokens.map((token) => token.text).join(""), sql);
      let offset = 0;
      tokens.forEach((token: SqlToken, index) => {
        assert.equal(token.offset, offset);
        assert.ok(token.text.length > 0);
        const before = sql.slice(0, offset);
        assert.equal(token.line, before.split("\n").length);
        assert.equal(token.column, offset - before.lastIndexOf("\n"));
        if (token.unterminated) assert.equal(index, tokens.length - 1, "only the token that reaches the end can be unclosed");
        offset += token.text.length;
      });
      // Neither the splitter, the canonical form nor the whole parse may throw on any of it.
      splitPostgresSqlText(sql);
      canonicalizePostgresSql(sql);
      parseSqlMigrationSource(`-- migrate:up\n${sql}`, { dialect: "postgres" });
    }),
    { numRuns: 2000 },
  );
});

const tag = fc.oneof(fc.constant(""), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,5}$/));

test("hostile bodies: whatever a dollar body holds (;, COMMIT, quotes, comment openers, other tags) it is one token, one statement, and never a transaction problem", () => {
  fc.assert(
    fc.property(tag, hostileSql, (name, body) => {
      const delimiter = `$${name}$`;
      fc.pre(!`${body}$`.includes(delimiter) && !body.includes("\0"));
      const quoted = `${delimiter}${body}${delimiter}`;
      const sql = `CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS ${quoted};\nSELECT 1;`;
      const bodyToken = tokenizePostgresSql(sql).find((token) => token.offset === sql.indexOf(delimiter));
      assert.equal(bodyToken?.text, quoted);
      assert.equal(bodyToken?.kind, "string");
      assert.equal(splitPostgresSqlText(sql).length, 2);
      const parsed = parseSqlMigrationSource(`-- migrate:up\n${sql}\n`, { dialect: "postgres" });
      assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.problems));
    }),
    { numRuns: 1000 },
  );
});

test("checksum: reformatting and comments (nested ones included) leave a postgres checksum alone; any change inside a dollar body or string changes it", (t) => {
  const checksumOf = postgresChecksummer(t);
  const base = `-- migrate:up
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  NEW.updated_at := now();  -- keep   spacing
  RETURN NEW;
END;
$body$;
INSERT INTO notes (body) VALUES (E'a\\'b  c');
-- migrate:down
DROP FUNCTION touch();
`;
  const reformatted = `-- migrate:up
/* Rewritten /* with a nested */ comment */
CREATE   FUNCTION touch()
  RETURNS trigger
  LANGUAGE plpgsql
  AS $body$
BEGIN
  NEW.updated_at := now();  -- keep   spacing
  RETURN NEW;
END;
$body$ ;   -- trailing comment
INSERT INTO notes (body)
\tVALUES (E'a\\'b  c');\r
-- migrate:down
DROP FUNCTION touch() ;
`;
  const original = checksumOf(base);
  assert.equal(checksumOf(reformatted), original);
  assert.equal(checksumOf(`\uFEFF${base.replace(/\n/g, "\r\n")}`), original);
  for (const edit of [
    base.replace("keep   spacing", "keep spacing"), // a comment, but inside the body it is code's text
    base.replace("RETURN NEW;", "RETURN  NEW;"),
    base.replace("$body$", "$fn$").replace("$body$;", "$fn$;"),
    base.replace("E'a\\'b  c'", "E'a\\'b c'"),
    base.replace("E'a\\'b", "'a''b"),
  ]) {
    assert.notEqual(checksumOf(edit), original, edit);
  }
});

test("checksum: hostile formatting between tokens never changes it, whatever whitespace and comments are used", () => {
  const pieces = ["CREATE", "FUNCTION", "f", "(", "a", "int", ")", "RETURNS", "int", "AS", "$q$ SELECT a; -- x\n$q$", "LANGUAGE", "sql", ";", "SELECT", "E'\\'/*'", ",", "$1", ";"];
  const separator = fc.constantFrom(" ", "  ", "\n", "\t", "\r\n", " /* c */ ", "/* a /* b */ c */", " -- note\n", "\f", "\v");
  fc.assert(
    fc.property(fc.array(separator, { minLength: pieces.length - 1, maxLength: pieces.length - 1 }), (separators) => {
      const spaced = pieces.join(" ");
      const hostile = pieces.reduce((sql, piece, index) => (index === 0 ? piece : `${sql}${separators[index - 1]}${piece}`), "");
      const checksum = (upSql: string) => checksumSqlMigration({ upSql, downSql: null, transaction: true, disableForeignKeys: false, dialect: "postgres" });
      assert.equal(checksum(hostile), checksum(spaced));
    }),
    { numRuns: 300 },
  );
});

test("checksum: a postgres checksum names its dialect, and a sqlite one is what it always was", () => {
  const input = { upSql: "CREATE TABLE t (id integer);", downSql: null, transaction: true, disableForeignKeys: false };
  const sqlite = checksumSqlMigration(input);
  // Recorded with the checksum code from before dialects existed.
  assert.equal(sqlite, "28fad2d2e43266402814b7d1b22d47ef4ef079c2dfe60850cbebc6e29ff4427f");
  assert.equal(checksumSqlMigration({ ...input, dialect: "sqlite" }), sqlite);
  assert.notEqual(checksumSqlMigration({ ...input, dialect: "postgres" }), sqlite);
});

test("what only psql runs is refused on postgres at its line: meta-commands and COPY … FROM STDIN, as pg_dump writes them", () => {
  const source = [
    "-- migrate:up",
    "\\connect app",
    "SET statement_timeout = 0;",
    "COPY public.items (id, name) FROM stdin;",
    "1\tfirst",
    "\\.",
    "SELECT 'a \\ b', E'\\\\', $$\\x$$;",
    "COPY items TO STDOUT;",
    "COPY items FROM '/data/items.csv';",
    "",
  ].join("\n");
  const result = parseSqlMigrationSource(source, { dialect: "postgres" });
  assert.deepEqual(result.ok ? [] : result.problems.map((p) => [p.code, p.line, p.column]), [
    ["SQL_PSQL_ONLY", 2, 1],
    ["SQL_PSQL_ONLY", 4, 1],
    ["SQL_PSQL_ONLY", 6, 1],
    ["SQL_PSQL_ONLY", 8, 1],
  ]);
  assert.match(result.ok ? "" : result.problems[0]!.message, /"\\connect"/);
});

test('a PostgreSQL function read by the sqlite dialect (no "dialect": "postgres" in the config) is refused saying so, since its END; looks like transaction control there', () => {
  const source = "-- migrate:up\nCREATE FUNCTION touch() RETURNS trigger AS $body$\nBEGIN\n  NEW.at := now();\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\n";
  const result = parseSqlMigrationSource(source, { dialect: "sqlite" });
  assert.deepEqual(result.ok ? [] : result.problems.map((p) => [p.code, p.line, p.column]), [["SQL_TRANSACTION_CONTROL", 6, 1]]);
  assert.match(result.ok ? "" : result.problems[0]!.message, /line 2 quotes with \$body\$ as PostgreSQL does.*"dialect": "postgres"/);
  assert.equal(parseSqlMigrationSource(source, { dialect: "postgres" }).ok, true);
  // A tag holds digits after its first character, as PostgreSQL's identifiers do.
  const numbered = parseSqlMigrationSource(source.replaceAll("$body$", "$fn_2$"), { dialect: "sqlite" });
  assert.match(numbered.ok ? "" : numbered.problems[0]!.message, /quotes with \$fn_2\$ as PostgreSQL does/);
  // A SQLite file's own problems say nothing of PostgreSQL.
  const sqlite = parseSqlMigrationSource("-- migrate:up\nCREATE TABLE t (x);\nCOMMIT;\n", { dialect: "sqlite" });
  assert.doesNotMatch(sqlite.ok ? "" : sqlite.problems[0]!.message, /postgres/i);
});

test("the rows of a COPY … FROM STDIN are data, not SQL: a quote, a dollar, a comment opener, a \\N or a marker in one neither hides the COPY's refusal nor swallows the file after it", () => {
  const source = [
    "-- migrate:up",
    "CREATE TABLE public.people (id integer, name text, note text);",
    "COPY public.people (id, name, note) FROM stdin;",
    "1\tO'Brien\t\\N",
    "2\t$$cash\t/* see below",
    "-- migrate:down",
    "\\.",
    "",
    "COPY public.pets (id) FROM STDIN;",
    "3",
    "\\.",
    "CREATE INDEX people_name ON public.people (name);",
    "-- migrate:down",
    "DROP TABLE public.people;",
    "",
  ].join("\n");
  const result = parseSqlMigrationSource(source, { dialect: "postgres" });
  assert.deepEqual(result.ok ? [] : result.problems.map((p) => [p.code, p.line, p.column]), [
    ["SQL_PSQL_ONLY", 3, 1],
    ["SQL_PSQL_ONLY", 7, 1],
    ["SQL_PSQL_ONLY", 9, 1],
    ["SQL_PSQL_ONLY", 11, 1],
  ]);
  assert.match(result.ok ? "" : result.problems[0]!.message, /COPY … FROM STDIN/);
  // Without the rows the file is valid, and its down section is the one after the data.
  const withoutRows = source.replace(/^COPY[^\n]*\n[^]*?^\\\.\n/gm, "");
  const parsed = parseSqlMigrationSource(withoutRows, { dialect: "postgres" });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.equal(parsed.migration.downSql, "DROP TABLE public.people;");
  // A "\\." line that ends no COPY's rows is left to be read as the meta-command it is; a dollar body holding one is text.
  assert.deepEqual(parseSqlMigrationSource("-- migrate:up\nSELECT $$\n\\.\n$$;\n", { dialect: "postgres" }).ok, true);
});
