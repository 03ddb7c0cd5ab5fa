/**
 * `stepwise squash` on histories its first tests did not cover, through the real bin in-process on real database files and the suite's PostgreSQL server: what a literal or the stored DDL
 * could lose (a rowid, a full-text index's rows, text with a NUL or a carriage return, a counter past 2^53, `application_id`, quoted names, `WITHOUT ROWID`, `STRICT`, generated columns); what
 * the squash's own proof must refuse (a contentless full-text table); PostgreSQL's configured schema, an enum grown with `ADD VALUE`, a materialized view's index, a column that shadows
 * the row it is read through; `--yes` in a monorepo and over a migration that already has the squash's name, and one that fails part way (a delete, gen) putting every file back; and a database from before the squash under `repair` and `restore`.
 * Asserts codes and fields.
 */
import assert from "node:assert/strict";
import childProcess from "node:child_process";
import fs, { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { MigrationManager } from "../src/entries/better-sqlite3.js";
import { readSchemaSnapshot } from "../src/safety/schema-reader.js";
import { commitAll, git, gitUnavailableReason, initRepository } from "./support/git-repo.js";
import { createTestDatabase, type TestPostgresDatabase } from "./support/postgres-server.js";
import { createTestProject, makeTempDir, runCli, type TestProject } from "./support/project.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field
type Json = Record<string, any>;

const skipGit = gitUnavailableReason() ?? false;
const json = (run: { stdout: string }): Json => JSON.parse(run.stdout) as Json;
const errorOf = (run: { stdout: string }): Json => json(run).error as Json;

/** Deletes the `-- stepwise:review` lines, as a user does once they have read them. */
function resolveReviews(file: string): void {
  writeFileSync(
    file,
    readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => !line.startsWith("-- stepwise:review"))
      .join("\n"),
  );
}

/** Squashes to `to` with --yes, reads the notes, regenerates and proves it: the state a team commits. */
async function squashAndReview(project: TestProject, to: number, env?: Record<string, string | undefined>): Promise<Json> {
  const wrote = await runCli(["squash", "--to", String(to), "--yes", "--json"], { cwd: project.root, env });
  assert.equal(wrote.code, 0, wrote.stdout + wrote.stderr);
  resolveReviews(path.join(project.root, json(wrote).file as string));
  assert.equal((await runCli(["gen"], { cwd: project.root, env })).code, 0);
  const checked = await runCli(["gen", "--check", "--json"], { cwd: project.root, env });
  assert.equal(checked.code, 0, checked.stdout);
  return json(wrote);
}

/** SQLite: values a literal must carry exactly, rowids apps and full-text indexes rely on, and names and table kinds the stored DDL must keep. */
const SQLITE_HISTORY: Record<string, string> = {
  "001_kinds.sql": `-- migrate:up
CREATE TABLE "odd ""name"" table" ("select" TEXT COLLATE NOCASE, [two words] INT, \`back\` BLOB) STRICT;
CREATE TABLE settings (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;
CREATE TABLE amounts (id INTEGER PRIMARY KEY, net INT, gross INT GENERATED ALWAYS AS (net * 2) VIRTUAL, stored INT AS (net + 1) STORED);
CREATE INDEX amounts_positive ON amounts (abs(net)) WHERE net > 0;
CREATE TABLE tags (name TEXT);
CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, note TEXT);
`,
  "002_documents.sql": `-- migrate:up
CREATE TABLE documents (id INTEGER PRIMARY KEY, body TEXT);
CREATE VIRTUAL TABLE documents_search USING fts5(body, content='documents', content_rowid='id');
CREATE VIRTUAL TABLE notes_search USING fts5(note);
CREATE VIEW documents_view AS SELECT id, body FROM documents;
CREATE TRIGGER documents_view_insert INSTEAD OF INSERT ON documents_view BEGIN INSERT INTO documents (id, body) VALUES (NEW.id, NEW.body); END;
CREATE TABLE rowid_named (rowid TEXT, value INT);
-- Fills a new table from another: data, flagged like an INSERT (a generated column's AS is not).
CREATE TABLE documents_copy AS SELECT id, body FROM documents;
`,
  "003_rows.sql": `-- migrate:up
INSERT INTO "odd ""name"" table" VALUES ('it''s', 9223372036854775807, x'00ff');
INSERT INTO settings VALUES ('line ends', CAST('a' || char(13) || char(10) || 'b' || char(0) || 'c' AS TEXT)), ('blob', x'0001feff'), ('null', NULL);
INSERT INTO amounts (id, net) VALUES (1, 5), (2, -9223372036854775808);
INSERT INTO tags (name) VALUES ('gone'), ('kept'), ('also kept');
DELETE FROM tags WHERE name = 'gone';
INSERT INTO counters (id, note) VALUES (9007199254740993, 'past 2^53');
DELETE FROM counters;
INSERT INTO documents (id, body) VALUES (5, 'hello world'), (9, 'other words');
INSERT INTO documents_search (rowid, body) SELECT id, body FROM documents;
INSERT INTO notes_search (rowid, note) VALUES (42, 'alpha');
INSERT INTO rowid_named VALUES ('not the rowid', 1), ('second', 2);
DELETE FROM rowid_named WHERE value = 1;
PRAGMA application_id = 1234;
`,
  "004_later.sql": `-- migrate:up
CREATE TABLE later (id INTEGER PRIMARY KEY);
`,
};

/** What a fresh database must match: the schema, every table's rows with their rowids (a full-text table's shadow tables by what they answer), the counters and `application_id`. */
function observeSqlite(file: string) {
  const db = new Database(file, { readonly: true });
  db.defaultSafeIntegers(true);
  try {
    const tables = db
      .prepare("SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'virtual') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'schema_%'")
      .all() as {
      name: string;
      type: string;
      wr: bigint;
    }[];
    const rows: Record<string, unknown[]> = {};
    for (const table of tables) {
      const quoted = `"${table.name.replace(/"/g, '""')}"`;
      const rowid = table.wr ? "" : "_rowid_ AS _rowid_, ";
      rows[table.name] = db
        .prepare(`SELECT ${rowid}* FROM ${quoted} ORDER BY 1`)
        .all()
        .map((row) => JSON.stringify(row, (_key, value: unknown) => (typeof value === "bigint" ? `${value}n` : Buffer.isBuffer(value) ? value.toString("hex") : value)));
    }
    return {
      schema: readSchemaSnapshot(new MigrationManager(db, [])),
      rows,
      counters: db.prepare("SELECT name, CAST(seq AS TEXT) AS seq FROM sqlite_sequence WHERE name NOT LIKE 'schema_%'").all(),
      applicationId: db.pragma("application_id", { simple: true }),
      matches: db.prepare("SELECT rowid FROM documents_search WHERE documents_search MATCH 'words'").all(),
      notes: db.prepare("SELECT rowid FROM notes_search WHERE notes_search MATCH 'alpha'").all(),
    };
  } finally {
    db.close();
  }
}

test("SQLite: a fresh database from the squash holds the schema, rows, rowids, full-text index, counters and application_id the migrations left", { skip: skipGit }, async (t) => {
  const project = createTestProject(t);
  for (const [name, text] of Object.entries(SQLITE_HISTORY)) project.writeMigration(name, text);
  await project.generateAsBin();
  initRepository(project.root);
  commitAll(project.root, "history");
  const cli = (args: string[]) => runCli(args, { cwd: project.root });
  const reference = project.databasePath("reference.db");
  const atK = project.databasePath("at3.db");
  const edited = project.databasePath("edited.db");
  for (const [file, to] of [
    [reference, "4"],
    [atK, "3"],
    [edited, "3"],
  ] as const)
    assert.equal((await cli(["up", "--to", to, "--db", file])).code, 0);
  // A backup of a database at K, taken by up --backup before the squash.
  const backups = project.databasePath("backups");
  const backed = project.databasePath("backed.db");
  assert.equal((await cli(["up", "--to", "3", "--db", backed])).code, 0);
  assert.equal((await cli(["up", "--db", backed, "--backup", backups])).code, 0);
  const [backup] = readdirSync(backups);
  // Version 1 recorded with another checksum (its file edited after it ran): still reported after the squash.
  const db = new Database(edited);
  db.prepare("UPDATE schema_migrations SET checksum = ? WHERE version = 1").run("0".repeat(64));
  db.close();

  const plan = await squashAndReview(project, 3);
  assert.deepEqual(
    plan.review.filter((item: Json) => item.kind === "data-statement").map((item: Json) => [item.subject, item.line]),
    [["migrations/002_documents.sql", 9], ...[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13].map((line) => ["migrations/003_rows.sql", line])],
  );
  const fresh = project.databasePath("fresh.db");
  const up = await cli(["up", "--db", fresh, "--json"]);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  assert.deepEqual(observeSqlite(fresh), observeSqlite(reference));

  // A database at K from before the squash: repair finds nothing to realign (K's row is the migration the squash replaced, not another one under its number).
  const repairAtK = await cli(["repair", "--checksums", "--db", atK, "--json"]);
  assert.equal(repairAtK.code, 0, repairAtK.stdout);
  assert.deepEqual(json(repairAtK).realignments, []);
  // One with version 1 edited: the mismatch is still reported, and repair realigns that version alone.
  assert.equal(json(await cli(["status", "--db", edited, "--json"])).problem.code, "CHECKSUM_MISMATCH");
  const repaired = await cli(["repair", "--checksums", "--db", edited, "--yes", "--json"]);
  assert.equal(repaired.code, 0, repaired.stdout);
  assert.deepEqual(
    json(repaired).realignments.map((row: Json) => [row.version, row.reason]),
    [[1, "edited"]],
  );
  assert.equal(json(await cli(["status", "--db", edited, "--json"])).problem, null);
  // A backup from before the squash is this app's, not a foreign one.
  const restored = await cli(["restore", path.join(backups, backup!), "--db", backed, "--yes", "--json"]);
  assert.equal(restored.code, 0, restored.stdout + restored.stderr);
  assert.equal(json(await cli(["status", "--db", backed, "--json"])).problem, null);
});

test("SQLite: what the squash cannot carry is refused by its proof, naming the rows that differ, before anything is written", async (t) => {
  const project = createTestProject(t);
  // A contentless full-text table keeps only its index: its rows read back empty, so INSERTs of them would index nothing.
  project.writeMigration("001_search.sql", "-- migrate:up\nCREATE VIRTUAL TABLE search USING fts5(body, content='');\n");
  project.writeMigration("002_rows.sql", "-- migrate:up\nINSERT INTO search (rowid, body) VALUES (3, 'one two');\n");
  await project.generateAsBin();
  const refused = await runCli(["squash", "--to", "2", "--json"], { cwd: project.root });
  assert.equal(refused.code, 1);
  assert.equal(errorOf(refused).code, "SQUASH_NOT_FAITHFUL");
  assert.deepEqual(errorOf(refused).differences, ['rows "search_docsize" differs', 'rows "search" differs']);
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["001_search.sql", "002_rows.sql"]);
});

test("SQLite: a table a migration made under a name stepwise keeps for its own tables is refused by name, not left out of the squash in silence", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_odd_names.sql", "-- migrate:up\nCREATE TABLE stepwise_guard_orders (a);\nCREATE TABLE schema_migrations_expected_schema (b);\nCREATE TABLE kept (c);\n");
  project.writeMigration("002_b.sql", PLAIN("b"));
  await project.generateAsBin();
  const refused = await runCli(["squash", "--to", "2", "--json"], { cwd: project.root });
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.equal(errorOf(refused).code, "SQUASH_NOT_FAITHFUL");
  assert.deepEqual(
    (errorOf(refused).differences as string[]).map((difference) => /^table "([^"]+)"/.exec(difference)?.[1]),
    ["stepwise_guard_orders", "schema_migrations_expected_schema"],
  );
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["001_odd_names.sql", "002_b.sql"]);
});

test("SQLite: an external-content full-text index holding only some of its content table's rows is refused by the proof, also without _docsize (FTS5 columnsize=0, FTS4 matchinfo=fts3); a whole one squashes", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_docs.sql",
    `-- migrate:up
CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT);
INSERT INTO docs VALUES (1, 'alpha beta'), (2, 'gamma'), (3, 'epsilon');
CREATE VIRTUAL TABLE "docs search" USING fts5(body, content='docs', content_rowid='id', columnsize=0);
INSERT INTO "docs search" (rowid, body) SELECT id, body FROM docs WHERE id < 3;
CREATE VIRTUAL TABLE docs4 USING fts4(content="docs", body, matchinfo=fts3);
INSERT INTO docs4 (docid, body) SELECT id, body FROM docs WHERE id < 3;
`,
  );
  project.writeMigration("002_b.sql", PLAIN("b"));
  await project.generateAsBin();
  // The squash would index row 3 too: a fresh database would find 'epsilon', a migrated one not.
  const refused = await runCli(["squash", "--to", "2", "--json"], { cwd: project.root });
  assert.deepEqual(
    [refused.code, errorOf(refused).code, errorOf(refused).differences],
    [1, "SQUASH_NOT_FAITHFUL", ['rows "docs4" differs', 'rows "docs search" differs']],
    refused.stdout + refused.stderr,
  );
  project.writeMigration(
    "003_rest.sql",
    `-- migrate:up
INSERT INTO "docs search" (rowid, body) SELECT id, body FROM docs WHERE id >= 3;
INSERT INTO docs4 (docid, body) SELECT id, body FROM docs WHERE id >= 3;
`,
  );
  await project.generateAsBin();
  const whole = await runCli(["squash", "--to", "3", "--json"], { cwd: project.root });
  assert.equal(whole.code, 0, whole.stdout + whole.stderr);
});

test("SQLite: a full-text table's settings (FTS5 rank, pgsz, secure-delete), kept in its _config and not in its CREATE, are carried to a fresh database", { skip: skipGit }, async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_search.sql",
    `-- migrate:up
CREATE VIRTUAL TABLE "the search" USING fts5(title, body);
INSERT INTO "the search" ("the search", rank) VALUES ('rank', 'bm25(10.0, 1.0)'), ('pgsz', 8000), ('secure-delete', 1);
INSERT INTO "the search" (title, body) VALUES ('alpha', 'beta gamma');
`,
  );
  project.writeMigration("002_b.sql", PLAIN("b"));
  project.writeMigration("003_c.sql", PLAIN("c"));
  await project.generateAsBin();
  initRepository(project.root);
  commitAll(project.root, "history");
  const reference = project.databasePath("reference.db");
  assert.equal((await runCli(["up", "--db", reference], { cwd: project.root })).code, 0);
  await squashAndReview(project, 2);
  const fresh = project.databasePath("fresh.db");
  assert.equal((await runCli(["up", "--db", fresh], { cwd: project.root })).code, 0);
  const settings = (file: string) => {
    const db = new Database(file, { readonly: true });
    t.after(() => db.close());
    return db.prepare(`SELECT k, v FROM "the search_config" ORDER BY k`).all();
  };
  assert.deepEqual(settings(fresh), settings(reference));
  assert.equal(settings(fresh).length, 4);
});

test("SQLite: an FTS4 table's automerge, kept in its _stat and not in its CREATE, is carried to a fresh database and compared", { skip: skipGit }, async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_search.sql",
    `-- migrate:up
CREATE VIRTUAL TABLE "the search" USING fts4(title, body);
INSERT INTO "the search" ("the search") VALUES ('automerge=4');
INSERT INTO "the search" (title, body) VALUES ('alpha', 'beta gamma');
CREATE VIRTUAL TABLE plain USING fts4(body);
INSERT INTO plain (body) VALUES ('delta');
`,
  );
  project.writeMigration("002_b.sql", PLAIN("b"));
  project.writeMigration("003_c.sql", PLAIN("c"));
  await project.generateAsBin();
  initRepository(project.root);
  commitAll(project.root, "history");
  const reference = project.databasePath("reference.db");
  assert.equal((await runCli(["up", "--db", reference], { cwd: project.root })).code, 0);
  await squashAndReview(project, 2);
  const fresh = project.databasePath("fresh.db");
  assert.equal((await runCli(["up", "--db", fresh], { cwd: project.root })).code, 0);
  const automerge = (file: string) => {
    const db = new Database(file, { readonly: true });
    t.after(() => db.close());
    return ["the search_stat", "plain_stat"].map((stat) => db.prepare(`SELECT value FROM "${stat}" WHERE id = 2`).pluck().get() ?? null);
  };
  assert.deepEqual(automerge(reference), [4, null]);
  assert.deepEqual(automerge(fresh), automerge(reference));
});

test("SQLite: AUTOINCREMENT counters first used out of name order squash (sqlite_sequence's rowids are not compared), each counter where it stood", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_tables.sql",
    "-- migrate:up\nCREATE TABLE b (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);\nCREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);\nINSERT INTO b (v) VALUES ('x'), ('y');\nINSERT INTO a (v) VALUES ('z');\nDELETE FROM a;\nDELETE FROM b;\n",
  );
  project.writeMigration("002_index.sql", "-- migrate:up\nCREATE INDEX a_v ON a (v);\n");
  await project.generateAsBin();
  const plan = await runCli(["squash", "--to", "2", "--json"], { cwd: project.root });
  assert.equal(plan.code, 0, plan.stdout);
  assert.equal(json(plan).written, false);
});

test("SQLite: a file setting the squashed migrations set (journal_mode, auto_vacuum, page_size), which one transaction cannot carry, is marked for review at its line; a pragma read or another setting is not", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT);\n");
  project.writeMigration(
    "002_file.sql",
    "-- migrate:up transaction:false\nPRAGMA auto_vacuum = INCREMENTAL;\nPRAGMA main.journal_mode=WAL;\nPRAGMA page_size(8192);\nVACUUM;\nPRAGMA journal_mode;\nPRAGMA cache_size = 100;\n",
  );
  project.writeMigration("003_c.sql", "-- migrate:up\nCREATE INDEX t_x ON t (x);\n");
  await project.generateAsBin();
  const plan = json(await runCli(["squash", "--to", "3", "--json"], { cwd: project.root }));
  assert.deepEqual(
    plan.review.map((item: Json) => [item.kind, item.subject, item.line]),
    [
      ["file-setting", "migrations/002_file.sql", 2],
      ["file-setting", "migrations/002_file.sql", 3],
      ["file-setting", "migrations/002_file.sql", 4],
    ],
  );
  assert.equal(plan.written, false);
});

test("SQLite: a table name holding a line break or a terminal escape stays inside the squash's review note, and is printed escaped", async (t) => {
  const project = createTestProject(t);
  // A raw line break would end the note's comment, leaving the rest of the name as SQL.
  project.writeMigration("001_odd.sql", '-- migrate:up\nCREATE TABLE "odd\nname" (id INTEGER PRIMARY KEY);\nINSERT INTO "odd\nname" (id) VALUES (1);\n');
  project.writeMigration("002_escape.sql", '-- migrate:up\nCREATE TABLE "esc\u001b[31m" (id INTEGER PRIMARY KEY);\nINSERT INTO "esc\u001b[31m" (id) VALUES (2);\n');
  await project.generateAsBin();
  const plan = await runCli(["squash", "--to", "2", "--json"], { cwd: project.root });
  assert.equal(plan.code, 0, plan.stdout);
  assert.deepEqual(
    json(plan)
      .review.filter((item: Json) => item.kind === "seed-rows")
      .map((item: Json) => item.subject),
    ["odd\nname", "esc\u001b[31m"],
  );
  const text = await runCli(["squash", "--to", "2"], { cwd: project.root });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /rows: 1 in odd\\nname$/m);
  assert.match(text.stdout, /rows: 1 in esc\\u001b\[31m$/m);
  assert.doesNotMatch(text.stdout, /\u001b/);
});

test(
  "SQLite: a row whose text holds a line starting with -- stepwise: is written as its bytes, so gen reads no note or record line inside the literal and deleting the notes leaves the row as it was",
  { skip: skipGit },
  async (t) => {
    const project = createTestProject(t);
    const body = "intro\n-- stepwise:review read me\n-- stepwise:replaces 1 x 00\nend";
    project.writeMigration("001_docs.sql", "-- migrate:up\nCREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT);\n");
    project.writeMigration("002_seed.sql", `-- migrate:up\nINSERT INTO docs (id, body) VALUES (1, '${body}');\n`);
    project.writeMigration("003_later.sql", PLAIN("later"));
    await project.generateAsBin();
    writeFileSync(path.join(project.root, ".gitignore"), "node_modules\n");
    initRepository(project.root);
    commitAll(project.root, "history");
    const wrote = await runCli(["squash", "--to", "2", "--yes", "--json"], { cwd: project.root });
    assert.equal(wrote.code, 0, wrote.stdout + wrote.stderr);
    const file = path.join(project.root, json(wrote).file as string);
    const notes = readFileSync(file, "utf8")
      .split("\n")
      .flatMap((line, index) => (line.startsWith("-- stepwise:review") ? [index + 1] : []));
    // gen names the squash's own two notes (the data statement, the seed rows), and no line of the row's text.
    const pending = json(await runCli(["gen", "--json"], { cwd: project.root }));
    assert.deepEqual(
      pending.problems.map((problem: Json) => [problem.code, problem.line]),
      notes.map((line) => ["SQUASH_REVIEW_PENDING", line]),
    );
    assert.equal(notes.length, 2);
    resolveReviews(file);
    assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
    const checked = await runCli(["gen", "--check", "--json"], { cwd: project.root });
    assert.equal(checked.code, 0, checked.stdout);
    const fresh = project.databasePath("fresh.db");
    assert.equal((await runCli(["up", "--db", fresh], { cwd: project.root })).code, 0);
    const db = new Database(fresh, { readonly: true });
    t.after(() => db.close());
    assert.equal(db.prepare("SELECT body FROM docs WHERE id = 1").pluck().get(), body);
  },
);

test("SQLite: objects whose stored SQL ends in a line comment (the migration wrote its ; on the next line) squash, each ; kept out of the comment", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_commented.sql",
    "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT) STRICT -- a table\n;\nCREATE INDEX t_note ON t (note) WHERE note IS NOT NULL -- an index\n;\nCREATE VIEW v AS SELECT id FROM t -- a view\n;\n",
  );
  project.writeMigration("002_trigger.sql", "-- migrate:up\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET note = 'x' WHERE id = new.id; END -- a trigger\n;\n");
  await project.generateAsBin();
  const plan = await runCli(["squash", "--to", "2", "--json"], { cwd: project.root });
  assert.equal(plan.code, 0, plan.stdout + plan.stderr);
  assert.deepEqual(json(plan).objects, { table: 1, index: 1, view: 1, trigger: 1 });
});

const PLAIN = (table: string) => `-- migrate:up\nCREATE TABLE ${table} (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE ${table};\n`;

test("squash --to: K must be a whole number; --yes keeps a squash that has migration K's name, and reads git in a project below the repository's top", { skip: skipGit }, async (t) => {
  // A folder of its own for the repository's top: the project's parent would otherwise be the temp folder itself.
  const project = createTestProject(t, { parentDir: makeTempDir(t, "stepwise-monorepo-") });
  project.writeMigration("001_a.sql", PLAIN("a"));
  // Migration 2 already has the name squash gives: overwritten by the squash, never deleted after it.
  project.writeMigration("002_squash_1_to_2.sql", PLAIN("b"));
  project.writeMigration("003_c.sql", PLAIN("c"));
  await project.generateAsBin();
  for (const to of ["3.0", "-1", "abc", "1e1", " 2"]) {
    const run = await runCli(["squash", "--to", to, "--json"], { cwd: project.root });
    assert.deepEqual([run.code, errorOf(run).code], [2, "USAGE"], to);
  }
  // The repository's top is the project's parent, as in a monorepo.
  const top = path.dirname(project.root);
  initRepository(top);
  git(top, ["add", "--", path.basename(project.root)]);
  git(top, ["commit", "-qm", "history"]);
  const wrote = await runCli(["squash", "--to", "2", "--yes", "--json"], { cwd: project.root });
  assert.equal(wrote.code, 0, wrote.stdout);
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["002_squash_1_to_2.sql", "003_c.sql"]);
  assert.match(readFileSync(path.join(project.migrationsDir, "002_squash_1_to_2.sql"), "utf8"), /^-- stepwise:squash 2 /m);
  assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 0);
});

test(
  "squash --yes reads git for a migrations folder outside the project but inside the repository (a monorepo's ../db/migrations): committed files are deleted, an edited one refused",
  { skip: skipGit },
  async (t) => {
    const top = makeTempDir(t);
    const project = createTestProject(t, { parentDir: top, packageJson: { stepwise: { migrationsDir: "../db/migrations" } } });
    const folder = path.join(top, "db", "migrations");
    fs.mkdirSync(folder, { recursive: true });
    for (const [index, table] of ["a", "b", "c"].entries()) writeFileSync(path.join(folder, `00${index + 1}_${table}.sql`), PLAIN(table));
    assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
    writeFileSync(path.join(top, ".gitignore"), "node_modules\n");
    initRepository(top);
    commitAll(top, "history");
    writeFileSync(path.join(folder, "002_b.sql"), `${PLAIN("b")}-- an edit not committed\n`);
    const dirty = await runCli(["squash", "--to", "2", "--yes", "--json"], { cwd: project.root, env: { STEPWISE_SKIP_REGISTRY_CHECK: "1" } });
    assert.deepEqual([dirty.code, errorOf(dirty).code, errorOf(dirty).files], [1, "SQUASH_UNCOMMITTED", ["../db/migrations/002_b.sql"]], dirty.stdout);
    git(top, ["checkout", "--", "."]);
    const wrote = await runCli(["squash", "--to", "2", "--yes", "--json"], { cwd: project.root });
    assert.equal(wrote.code, 0, wrote.stdout + wrote.stderr);
    assert.deepEqual(json(wrote).removed, ["../db/migrations/001_a.sql", "../db/migrations/002_b.sql"]);
    assert.deepEqual(readdirSync(folder).sort(), ["002_squash_1_to_2.sql", "003_c.sql"]);
    assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 0);
  },
);

test("squash --to K is refused, before any replay and in the dry run too, when a later TypeScript migration imports a file it would delete (directly or through a helper): gen could not load it after", async (t) => {
  const project = createTestProject(t);
  const ts = (body: string, imports = "") => `import { defineMigration } from "stepwise-migrate";\n${imports}export default defineMigration({ up(db) { db.exec(${body}); } });\n`;
  project.writeMigration("001_things.ts", ts("`CREATE TABLE ${TABLE} (id INTEGER PRIMARY KEY)`", `export const TABLE = "things";\n`));
  project.writeMigration("002_b.sql", PLAIN("b"));
  project.writeMigration("003_c.ts", ts("`ALTER TABLE ${TABLE} ADD COLUMN note TEXT`", `import { TABLE } from "./001_things.js";\n`));
  fs.mkdirSync(path.join(project.root, "lib"));
  writeFileSync(path.join(project.root, "lib", "names.ts"), `export { TABLE } from "../migrations/001_things.js";\n`);
  project.writeMigration("004_d.ts", ts("`CREATE INDEX things_note ON ${TABLE} (note)`", `import { TABLE } from "../lib/names.js";\n`));
  project.writeMigration("005_e.sql", PLAIN("e"));
  await project.generateAsBin();
  const before = snapshotFolders(project);
  for (const args of [["--json"], ["--yes", "--json"]]) {
    const run = await runCli(["squash", "--to", "2", ...args], { cwd: project.root });
    const error = errorOf(run);
    assert.deepEqual([run.code, error.code, error.target, error.latest], [1, "SQUASH_TARGET_INVALID", 2, 5], run.stdout + run.stderr);
    assert.match(error.reason, /migrations\/003_c\.ts imports migrations\/001_things\.ts, migrations\/004_d\.ts imports migrations\/001_things\.ts/);
    assert.match(error.fix, /pass --to 4$/);
  }
  assert.deepEqual(snapshotFolders(project), before);
  // Squashing the importers too leaves nothing that imports a deleted file.
  const planned = await runCli(["squash", "--to", "4", "--json"], { cwd: project.root });
  assert.equal(planned.code, 0, planned.stdout + planned.stderr);
  assert.deepEqual(json(planned).removed, ["migrations/001_things.ts", "migrations/002_b.sql", "migrations/003_c.ts", "migrations/004_d.ts"]);
});

/** Each file under the project's migrations and generated folders, with its bytes: what a failed squash must leave as it found. */
function snapshotFolders(project: TestProject): Record<string, string> {
  const files: Record<string, string> = {};
  for (const dir of [project.migrationsDir, path.join(project.root, "generated")])
    for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" }).sort()) {
      const file = path.join(dir, name);
      if (statSync(file).isFile()) files[path.relative(project.root, file)] = readFileSync(file).toString("base64");
    }
  return files;
}

/** Four plain migrations (the first with a BOM and a CRLF, bytes a restore must keep), generated and committed. */
async function committedProject(t: test.TestContext): Promise<TestProject> {
  const project = createTestProject(t);
  project.writeMigration("001_a.sql", `\uFEFF${PLAIN("a").replace("\n", "\r\n")}`);
  project.writeMigration("002_b.sql", PLAIN("b"));
  project.writeMigration("003_c.sql", PLAIN("c"));
  project.writeMigration("004_d.sql", PLAIN("d"));
  await project.generateAsBin();
  writeFileSync(path.join(project.root, ".gitignore"), "node_modules\n");
  initRepository(project.root);
  commitAll(project.root, "history");
  return project;
}

test("squash --yes that fails deleting an original puts every file back: the squash file gone, the deleted originals' bytes restored, the registry as it was", { skip: skipGit }, async (t) => {
  const project = await committedProject(t);
  const before = snapshotFolders(project);
  const { rmSync, unlinkSync } = fs;
  const restore = () => {
    Object.assign(fs, { rmSync, unlinkSync });
    syncBuiltinESMExports();
  };
  t.after(restore);
  let removals = 0;
  // The second original squash deletes cannot be (a file held open on Windows, a read-only folder for a user who is not root): the first is already gone.
  const refuseSecond = (file: unknown) => {
    if (String(file).endsWith(".sql") && ++removals === 2) throw Object.assign(new Error("resource busy"), { code: "EBUSY" });
  };
  fs.rmSync = (...args: Parameters<typeof rmSync>) => (refuseSecond(args[0]), rmSync(...args));
  fs.unlinkSync = (...args: Parameters<typeof unlinkSync>) => (refuseSecond(args[0]), unlinkSync(...args));
  syncBuiltinESMExports();
  const failed = await runCli(["squash", "--to", "3", "--yes", "--json"], { cwd: project.root });
  restore();
  assert.equal(failed.code, 1, failed.stdout + failed.stderr);
  assert.ok(removals >= 2);
  // A refusal naming the file and the system's code, not an "unexpected error".
  const error = errorOf(failed);
  assert.deepEqual([error.code, error.step, error.systemCode, error.file], ["FILE_WRITE_FAILED", "delete", "EBUSY", path.join(project.migrationsDir, "002_b.sql")]);
  assert.match(error.fix, /writable/);
  assert.deepEqual(snapshotFolders(project), before);
  assert.equal(git(project.root, ["status", "--porcelain"]), "");
  // Nothing half done: the same squash then runs whole.
  const wrote = await runCli(["squash", "--to", "3", "--yes", "--json"], { cwd: project.root });
  assert.equal(wrote.code, 0, wrote.stdout + wrote.stderr);
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["003_squash_1_to_3.sql", "004_d.sql"]);
});

test("squash --yes whose registry gen refuses (a prettier config it cannot read) exits 1 with gen's problem and puts the folder back as it was", { skip: skipGit }, async (t) => {
  const project = await committedProject(t);
  writeFileSync(path.join(project.root, ".prettierrc"), "{ not json");
  commitAll(project.root, "a broken formatter config");
  const before = snapshotFolders(project);
  // The registry check before squash would refuse the config first; skipping it, as a user mid-merge does, lets squash reach its own gen.
  const env = { STEPWISE_SKIP_REGISTRY_CHECK: "1" };
  const failed = await runCli(["squash", "--to", "3", "--yes", "--json"], { cwd: project.root, env });
  assert.equal(failed.code, 1, failed.stdout + failed.stderr);
  const report = json(failed);
  assert.deepEqual([report.written, report.reviewPending, report.file], [false, false, "migrations/003_squash_1_to_3.sql"]);
  assert.deepEqual(
    (report.problems as Json[]).map((problem) => [problem.code, problem.file]),
    [["FORMATTER_FAILED", ".prettierrc"]],
  );
  assert.deepEqual(snapshotFolders(project), before);
  const text = await runCli(["squash", "--to", "3", "--yes"], { cwd: project.root, env });
  assert.equal(text.code, 1);
  assert.match(text.stderr, /\[FORMATTER_FAILED\]/);
  assert.doesNotMatch(text.stderr, /Next:/);
  assert.deepEqual(snapshotFolders(project), before);
  assert.equal(git(project.root, ["status", "--porcelain"]), "");
});

test("squash --yes asks git for the project's place in the repository once, not once per file", { skip: skipGit }, async (t) => {
  const project = await committedProject(t);
  const spawn = childProcess.spawnSync;
  t.after(() => {
    childProcess.spawnSync = spawn;
    syncBuiltinESMExports();
  });
  let prefixes = 0;
  childProcess.spawnSync = ((command: string, args?: readonly string[], ...rest: unknown[]) => {
    if (command === "git" && args?.includes("--show-prefix")) prefixes++;
    return (spawn as (...all: unknown[]) => unknown)(command, args, ...rest);
  }) as typeof spawn;
  syncBuiltinESMExports();
  const wrote = await runCli(["squash", "--to", "3", "--yes", "--json"], { cwd: project.root });
  childProcess.spawnSync = spawn;
  syncBuiltinESMExports();
  assert.equal(wrote.code, 0, wrote.stdout + wrote.stderr);
  assert.equal(prefixes, 1);
});

test("squash --yes with no git on the PATH is GIT_NOT_FOUND, not SQUASH_UNCOMMITTED asking to commit files that are committed, and writes nothing", { skip: skipGit }, async (t) => {
  const project = await committedProject(t);
  const before = snapshotFolders(project);
  const emptyPath = fs.mkdtempSync(path.join(project.root, "empty-path-"));
  const run = await runCli(["squash", "--to", "3", "--yes", "--json"], { cwd: project.root, env: { PATH: emptyPath } });
  const error = errorOf(run);
  assert.deepEqual([run.code, error.code, error.operation], [1, "GIT_NOT_FOUND", "stepwise squash --yes"], run.stdout + run.stderr);
  assert.match(error.fix, /install git/);
  assert.deepEqual(snapshotFolders(project), before);
});

/** PostgreSQL, in the configured schema `app`: an enum grown with ADD VALUE, a partitioned table, a materialized view with an index, a column named like the row alias, sequences advanced. */
const POSTGRES_HISTORY: Record<string, string> = {
  "001_types.sql": `-- migrate:up
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TYPE app.color AS ENUM ('red', 'blue');
CREATE TABLE app.paints (id serial PRIMARY KEY, color app.color NOT NULL, t text, label citext);
CREATE TABLE app.events (at date NOT NULL, amount int) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE app.events_rest PARTITION OF app.events DEFAULT;
CREATE TABLE app.counted (n bigint GENERATED ALWAYS AS IDENTITY, label text);
-- A foreign key to a column made unique by an index, not a constraint: the index must come first.
CREATE TABLE app.codes (code text NOT NULL);
CREATE UNIQUE INDEX codes_code ON app.codes (code);
CREATE TABLE app.coded (code text REFERENCES app.codes (code));
`,
  "002_grow_enum.sql": `-- migrate:up transaction:false
ALTER TYPE app.color ADD VALUE 'green' BEFORE 'blue';
ALTER TYPE app.color ADD VALUE 'amber';
CREATE INDEX CONCURRENTLY paints_color ON app.paints (color);
`,
  "003_rows.sql": `-- migrate:up
INSERT INTO app.paints (color, t, label) VALUES ('green', 'a column named like the alias', 'Mixed'), ('amber', NULL, NULL);
INSERT INTO app.events VALUES ('2024-05-01', 1), ('2030-01-01', 2);
INSERT INTO app.counted (label) VALUES ('one'), ('two');
CREATE MATERIALIZED VIEW app.event_totals AS SELECT sum(amount) AS total FROM app.events;
CREATE INDEX event_totals_total ON app.event_totals (total);
-- Replaced to read a view made after it, both named with quotes inside: the squash must make that one first.
CREATE VIEW app."first ""view""" AS SELECT 1 AS one;
CREATE VIEW app."second ""view""" AS SELECT 2 AS two;
CREATE OR REPLACE VIEW app."first ""view""" AS SELECT 1 AS one FROM app."second ""view""";
`,
  "004_later.sql": `-- migrate:up
CREATE TABLE app.later (id int);
`,
};

async function observePostgres(url: string, schema = "app") {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    const rows = async (sql: string) => (await pool.query(sql)).rows;
    const data: Record<string, unknown> = {};
    for (const table of ["paints", "events_2024", "events_rest", "counted", "event_totals"]) data[table] = await rows(`SELECT row_to_json(x.*)::text AS row FROM ${schema}.${table} AS x ORDER BY 1`);
    return {
      // The squashed schema by one name, whatever it is called in this database.
      extensions: await rows(`SELECT extname, replace(extnamespace::regnamespace::text, '${schema}', 'home') AS schema FROM pg_extension ORDER BY 1`),
      enum: (await rows("SELECT e.enumlabel FROM pg_enum AS e JOIN pg_type AS t ON t.oid = e.enumtypid WHERE t.typname = 'color' ORDER BY e.enumsortorder")).map((row) => row.enumlabel),
      relations: await rows(
        `SELECT replace(n.nspname, '${schema}', 'home') AS nspname, c.relname, c.relkind FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname IN ('${schema}', 'public') AND c.relname NOT LIKE 'schema_migrations%' ORDER BY 1, 2`,
      ),
      data,
      next: await rows(`SELECT nextval('${schema}.paints_id_seq') AS paint, (SELECT last_value FROM ${schema}.counted_n_seq) AS counted`),
    };
  } finally {
    await pool.end();
  }
}

test(
  "PostgreSQL: a squash in the configured schema builds there, with the enum's order, partitions, a materialized view's index, and the rows and sequences the migrations left",
  { skip: skipGit },
  async (t) => {
    const databases: TestPostgresDatabase[] = [];
    t.after(async () => {
      for (const database of databases) await database.drop();
    });
    for (let i = 0; i < 3; i++) databases.push(await createTestDatabase());
    const [home, fresh, staging] = databases.map((database) => database.url) as [string, string, string];
    const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres", driver: "pg", url: "${DATABASE_URL}", schema: "app" } } });
    for (const [name, text] of Object.entries(POSTGRES_HISTORY)) project.writeMigration(name, text);
    const cli = (args: string[], url: string) => runCli(args, { cwd: project.root, env: { DATABASE_URL: url, PGPASSWORD: undefined } });
    assert.equal((await cli(["gen"], home)).code, 0);
    initRepository(project.root);
    commitAll(project.root, "history");
    assert.equal((await cli(["up"], home)).code, 0);
    const plan = await squashAndReview(project, 3, { DATABASE_URL: home, PGPASSWORD: undefined });
    assert.deepEqual(
      plan.review
        .filter((item: Json) => item.kind === "seed-rows")
        .map((item: Json) => item.subject)
        .sort(),
      ["counted", "events_2024", "events_rest", "paints"],
    );
    const up = await cli(["up", "--json"], fresh);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    // Observed once each: an observation takes a value of a sequence.
    const expected = await observePostgres(home);
    assert.deepEqual(await observePostgres(fresh), expected);
    // Another schema than the one it was made in, as --schema or a fleet's tenant names it: the squash builds there, extension and all (004 names app itself).
    const elsewhere = await cli(["--schema", "staging", "up", "--to", "3", "--json"], staging);
    assert.equal(elsewhere.code, 0, elsewhere.stdout + elsewhere.stderr);
    const squashed = (observed: typeof expected) => ({ ...observed, relations: observed.relations.filter((row) => row.relname !== "later") });
    assert.deepEqual(squashed(await observePostgres(staging, "staging")), squashed(expected));
  },
);

test("gen --check --base: a squash made on a branch while the base squashed too is refused, since databases built from the base hold checksums it does not record", { skip: skipGit }, async (t) => {
  const project = createTestProject(t);
  for (const table of ["a", "b", "c", "d"]) project.writeMigration(`00${"abcd".indexOf(table) + 1}_${table}.sql`, PLAIN(table));
  await project.generateAsBin();
  const cli = (args: string[]) => runCli(args, { cwd: project.root });
  initRepository(project.root);
  commitAll(project.root, "history");
  git(project.root, ["checkout", "-qb", "feature"]);
  await squashAndReview(project, 4);
  commitAll(project.root, "squash 1 to 4");
  // The base squashes to 3 meanwhile; a database built from it records that squash at 3.
  git(project.root, ["checkout", "-q", "main"]);
  await squashAndReview(project, 3);
  commitAll(project.root, "squash 1 to 3");
  const fromBase = project.databasePath("from-base.db");
  assert.equal((await cli(["up", "--db", fromBase])).code, 0);
  git(project.root, ["checkout", "-q", "feature"]);
  assert.equal(json(await cli(["status", "--db", fromBase, "--json"])).problem.code, "CHECKSUM_MISMATCH");
  const checked = await cli(["gen", "--check", "--base", "main", "--no-replay", "--json"]);
  assert.equal(checked.code, 1);
  assert.deepEqual(
    json(checked).problems.map((problem: Json) => [problem.code, problem.file, problem.base]),
    [["VERSION_TAKEN_ON_BASE", "migrations/004_squash_1_to_4.sql", { ref: "main", file: "migrations/003_squash_1_to_3.sql", version: 3 }]],
  );
  // Against the commit it squashed, the same squash passes.
  assert.equal((await cli(["gen", "--check", "--base", "HEAD~1", "--no-replay"])).code, 0);
});

test("PostgreSQL: objects of kinds squash does not write (a composite type, an aggregate, a rule, a policy, an event trigger, a cast, also between built-in types or through another schema's function, a foreign server and its wrapper, a large object) and rows its INSERTs cannot carry (a json 'null', an array's lower bound) are refused by name, never left out", async (t) => {
  const made = await createTestDatabase();
  t.after(() => made.drop());
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres", driver: "pg", url: "${DATABASE_URL}" } } });
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id int PRIMARY KEY, n int);\nCREATE TYPE pair AS (a int, b text);\n");
  project.writeMigration(
    "002_kinds.sql",
    `-- migrate:up
CREATE AGGREGATE total(int) (sfunc = int4pl, stype = int, initcond = '0');
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE POLICY positive ON items USING (n > 0);
CREATE RULE keep_rows AS ON DELETE TO items DO INSTEAD NOTHING;
CREATE STATISTICS items_stats ON id, n FROM items;
CREATE FUNCTION note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER items_ddl ON ddl_command_end EXECUTE FUNCTION note_ddl();
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE FUNCTION mood_of(i int) RETURNS mood LANGUAGE sql IMMUTABLE AS $$ SELECT (pg_catalog.enum_range(NULL::mood))[i] $$;
CREATE CAST (int AS mood) WITH FUNCTION mood_of(int) AS IMPLICIT;
CREATE CAST (text AS integer) WITH INOUT AS IMPLICIT;
CREATE SCHEMA utils;
CREATE FUNCTION utils.v2i(v varchar) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT length(v) $$;
CREATE CAST (varchar AS bigint) WITH FUNCTION utils.v2i(varchar);
CREATE FUNCTION utils.note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER utils_ddl ON ddl_command_end EXECUTE FUNCTION utils.note_ddl();
CREATE TABLE settings (id int PRIMARY KEY, j json, ranks int[]);
INSERT INTO settings VALUES (1, 'null', '[0:1]={10,20}');
CREATE FOREIGN DATA WRAPPER plain_fdw;
CREATE SERVER lonely FOREIGN DATA WRAPPER plain_fdw;
SELECT pg_catalog.lo_from_bytea(424242, 'seed');
`,
  );
  const cli = (args: string[]) => runCli(args, { cwd: project.root, env: { DATABASE_URL: made.url, PGPASSWORD: undefined } });
  assert.equal((await cli(["gen"])).code, 0);
  const refused = await cli(["squash", "--to", "2", "--json"]);
  assert.equal(refused.code, 1);
  assert.equal(errorOf(refused).code, "SQUASH_NOT_FAITHFUL");
  assert.deepEqual([...errorOf(refused).differences].sort(), [
    'aggregate "total(integer)" missing',
    // A cast or an event trigger belongs to no schema: each the migrations made counts, between built-in types or through a function of another schema too.
    'cast "character varying AS bigint" missing',
    'cast "integer AS mood" missing',
    'cast "text AS integer" missing',
    'event trigger "items_ddl" missing',
    'event trigger "utils_ddl" missing',
    // Nor does a foreign server no foreign table uses, its wrapper, or a large object.
    'foreign data wrapper "plain_fdw" missing',
    'foreign server "lonely" missing',
    'large object "424242" missing',
    'policy "items.positive" missing',
    'rows "settings" differs',
    'rule "items.keep_rows" missing',
    // The policy and the rule, read as the table's settings by the schema reader too.
    'table "items" differs',
    'type "pair" missing',
  ]);
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["001_items.sql", "002_kinds.sql"]);
});

test("PostgreSQL: what the migrations built in another schema, which a squash does not build, is marked for review by name; an extension's objects and the schema's own are not", async (t) => {
  const made = await createTestDatabase();
  t.after(() => made.drop());
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres", driver: "pg", url: "${DATABASE_URL}" } } });
  project.writeMigration(
    "001_items.sql",
    "-- migrate:up\nCREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n int);\nCREATE SCHEMA utils;\nCREATE TABLE utils.saved (id serial PRIMARY KEY, ddl text);\nCREATE FUNCTION utils.restore(n int) RETURNS int LANGUAGE sql AS 'SELECT n';\nCREATE SCHEMA empty_one;\n",
  );
  project.writeMigration("002_index.sql", "-- migrate:up\nCREATE INDEX items_n ON items (n);\n");
  const cli = (args: string[]) => runCli(args, { cwd: project.root, env: { DATABASE_URL: made.url, PGPASSWORD: undefined } });
  assert.equal((await cli(["gen"])).code, 0);
  const plan = await cli(["squash", "--to", "2", "--json"]);
  assert.equal(plan.code, 0, plan.stdout);
  assert.deepEqual(
    json(plan)
      .review.filter((item: Json) => item.kind === "other-schema")
      .map((item: Json) => item.subject),
    ["empty_one (schema)", "utils (schema)", "utils.restore(n integer) (function)", "utils.saved (table)"],
  );
});

test(
  "SQUASH_TARGET_INVALID's fix names the targets squash takes, and each works; with nothing to squash (one migration, or none above an earlier squash) it says so and names no range",
  { skip: skipGit },
  async (t) => {
    const targetsIn = (fix: string): number[] => {
      const range = /--to (?:a version from (\d+) to (\d+)|(\d+))/.exec(fix);
      return range === null ? [] : range[3] !== undefined ? [Number(range[3])] : [Number(range[1]), Number(range[2])];
    };
    const refuse = async (project: TestProject, to: string) => {
      const run = await runCli(["squash", "--to", to, "--json"], { cwd: project.root });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const error = errorOf(run);
      assert.equal(error.code, "SQUASH_TARGET_INVALID");
      return { error, targets: targetsIn(String(error.fix)) };
    };
    const single = createTestProject(t);
    single.writeMigration("001_a.sql", PLAIN("a"));
    await single.generateAsBin();
    for (const to of ["2", "5"]) {
      const { error, targets } = await refuse(single, to);
      assert.deepEqual([error.latest, targets], [1, []], to);
      assert.match(String(error.fix), /nothing to squash/);
    }
    const project = await committedProject(t);
    const squashed = await runCli(["squash", "--to", "4", "--yes", "--json"], { cwd: project.root });
    assert.equal(squashed.code, 0, squashed.stdout + squashed.stderr);
    commitAll(project.root, "squash");
    const above = await refuse(project, "4");
    assert.deepEqual(above.targets, [], String(above.error.fix));
    assert.match(String(above.error.fix), /nothing to squash/);
    project.writeMigration("005_e.sql", PLAIN("e"));
    project.writeMigration("006_f.sql", PLAIN("f"));
    await project.generateAsBin();
    commitAll(project.root, "more");
    for (const to of ["3", "9"]) {
      const { targets } = await refuse(project, to);
      assert.deepEqual(targets, [5, 6], to);
      for (const target of targets) {
        const run = await runCli(["squash", "--to", String(target), "--json"], { cwd: project.root });
        assert.equal(run.code, 0, `--to ${target}: ${run.stdout}${run.stderr}`);
      }
    }
  },
);
