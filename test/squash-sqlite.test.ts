/**
 * `stepwise squash --to K` on SQLite, one realistic history (tables, an index, a view, a trigger, a renamed and a dropped column, seed rows, a TypeScript migration), through the real bin
 * in-process on real database files: the plan; the write with its review marks; a fresh database applies the squash and the rest and ends with the schema and rows of the unsquashed history;
 * databases at K and past K before the squash keep working (status, up, verify, no checksum error); one inside 1..K is refused; `down` below K is refused; `gen --check` proves the squash and
 * fails when it is edited to build another schema; the refusals. Asserts codes and fields.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "../src/entries/better-sqlite3.js";
import { readSchemaSnapshot } from "../src/safety/schema-reader.js";
import { commitAll, git, gitUnavailableReason, initRepository } from "./support/git-repo.js";
import { block, commandsOf, guideBlocks } from "./support/guide-blocks.js";
import { createTestProject, repoRoot, runCli, type TestProject } from "./support/project.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field
type Json = Record<string, any>;

/** The history: six migrations, squashed to 5. */
const HISTORY: Record<string, string> = {
  "001_contacts.sql": `-- migrate:up
CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, nick TEXT, legacy TEXT);
CREATE TABLE statuses (code TEXT PRIMARY KEY, label TEXT NOT NULL);
INSERT INTO statuses (code, label) VALUES ('a', 'Active'), ('b', 'Blocked');
-- migrate:down
DROP TABLE statuses;
DROP TABLE contacts;
`,
  "002_messages.sql": `-- migrate:up
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
  body TEXT,
  status TEXT NOT NULL DEFAULT 'a' REFERENCES statuses (code),
  sent_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_messages_contact ON messages (contact_id, sent_at);
-- migrate:down
DROP TABLE messages;
`,
  "003_rename_nick.sql": `-- migrate:up
ALTER TABLE contacts RENAME COLUMN nick TO handle;
-- migrate:down
ALTER TABLE contacts RENAME COLUMN handle TO nick;
`,
  "004_view_and_trigger.ts": `import { defineMigration } from "stepwise-migrate";

export default defineMigration({
  description: "A view of the latest message and a trigger that stamps edits",
  up(db: any) {
    db.exec(\`CREATE VIEW latest_messages AS SELECT c.name, m.body FROM contacts AS c JOIN messages AS m ON m.contact_id = c.id\`);
    db.exec(\`CREATE TRIGGER messages_stamp AFTER UPDATE OF body ON messages BEGIN UPDATE messages SET sent_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id; END\`);
    db.exec(\`UPDATE statuses SET label = upper(label)\`);
    // A row kept, and one deleted, which leaves the AUTOINCREMENT counter above the largest id.
    db.exec(\`INSERT INTO contacts (name) VALUES ('support'); INSERT INTO messages (contact_id, body) VALUES (last_insert_rowid(), 'hi'); DELETE FROM messages\`);
  },
  down(db: any) {
    db.exec("DROP TRIGGER messages_stamp; DROP VIEW latest_messages");
  },
});
`,
  "005_drop_legacy.sql": `-- migrate:up
ALTER TABLE contacts DROP COLUMN legacy;
-- A view made again after one that reads it: the squash must make it first.
CREATE VIEW contact_ids AS SELECT id FROM contacts;
CREATE VIEW contact_ids_top AS SELECT * FROM contact_ids;
DROP VIEW contact_ids;
CREATE VIEW contact_ids AS SELECT id, name FROM contacts;
-- migrate:down
DROP VIEW contact_ids_top;
DROP VIEW contact_ids;
ALTER TABLE contacts ADD COLUMN legacy TEXT;
`,
  "006_add_email.sql": `-- migrate:up
ALTER TABLE contacts ADD COLUMN email TEXT;
CREATE UNIQUE INDEX idx_contacts_email ON contacts (email);
-- migrate:down
DROP INDEX idx_contacts_email;
ALTER TABLE contacts DROP COLUMN email;
`,
};

const json = (run: { stdout: string }): Json => JSON.parse(run.stdout) as Json;
/** The error a `--json` run failed with: its code and fields. */
const errorOf = (run: { stdout: string }): Json => json(run).error as Json;
const pick = (fields: Json, names: string[]) => Object.fromEntries(names.map((name) => [name, fields[name]]));
const SQUASH_FILE = "migrations/005_squash_1_to_5.sql";

async function cli(project: TestProject, args: string[]) {
  return runCli(args, { cwd: project.root });
}

function schemaOf(file: string) {
  const db = new Database(file);
  try {
    const manager = new MigrationManager(db, []);
    const rows = (sql: string) => db.prepare(sql).all();
    return {
      schema: readSchemaSnapshot(manager),
      statuses: rows("SELECT code, label FROM statuses ORDER BY code"),
      contacts: rows("SELECT * FROM contacts"),
      counters: rows("SELECT * FROM sqlite_sequence"),
    };
  } finally {
    db.close();
  }
}

const skipGit = gitUnavailableReason();

test("squash --to 5 on a SQLite history: plan, write, review, proof; fresh, at-K, past-K and inside-K databases", { skip: skipGit ?? false }, async (t) => {
  const project = createTestProject(t);
  for (const [name, text] of Object.entries(HISTORY)) project.writeMigration(name, text);
  await project.generateAsBin();
  initRepository(project.root);
  commitAll(project.root, "history");

  // Databases migrated before the squash: to 3 (inside what it replaces), to 5 (K) and to 6 (past K, also the unsquashed reference).
  const databases = Object.fromEntries([3, 5, 6].map((to) => [to, project.databasePath(`at${to}.db`)]));
  for (const [to, file] of Object.entries(databases)) assert.equal((await cli(project, ["up", "--to", to, "--db", file])).code, 0);
  const reference = project.databasePath("reference.db");
  copyFileSync(databases[6]!, reference);

  // Refusals, nothing written.
  for (const [to, reason] of [
    ["1", /2 or more/],
    ["7", /newest migration is 6/],
  ] as const) {
    const refused = await cli(project, ["squash", "--to", to, "--json"]);
    assert.equal(refused.code, 1);
    const error = errorOf(refused);
    assert.equal(error.code, "SQUASH_TARGET_INVALID");
    assert.match(error.reason, reason);
  }
  assert.equal((await cli(project, ["squash"])).code, 2);

  // The dry run.
  const dry = await cli(project, ["squash", "--to", "5", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = json(dry);
  assert.equal(plan.written, false);
  assert.equal(plan.file, SQUASH_FILE);
  assert.deepEqual(
    plan.removed,
    Object.keys(HISTORY)
      .slice(0, 5)
      .map((name) => `migrations/${name}`),
  );
  assert.equal(plan.kept, 1);
  assert.deepEqual(plan.objects, { table: 3, index: 1, view: 3, trigger: 1 });
  assert.deepEqual(
    plan.review.map((item: Json) => [item.kind, item.subject, item.line, item.rows]),
    [
      ["data-statement", "migrations/001_contacts.sql", 4, null],
      ["typescript", "migrations/004_view_and_trigger.ts", null, null],
      ["seed-rows", "contacts", null, 1],
      ["seed-rows", "statuses", null, 2],
    ],
  );
  assert.equal(existsSync(path.join(project.root, SQUASH_FILE)), false);

  // A change to a migration it would delete, not committed: refused.
  writeFileSync(path.join(project.migrationsDir, "003_rename_nick.sql"), `${HISTORY["003_rename_nick.sql"]}-- note\n`);
  await project.generateAsBin();
  const dirty = await cli(project, ["squash", "--to", "5", "--yes", "--json"]);
  assert.equal(dirty.code, 1);
  assert.equal(errorOf(dirty).code, "SQUASH_UNCOMMITTED");
  assert.deepEqual(errorOf(dirty).files, ["migrations/003_rename_nick.sql"]);
  writeFileSync(path.join(project.migrationsDir, "003_rename_nick.sql"), HISTORY["003_rename_nick.sql"]!);
  await project.generateAsBin();

  // The write: originals gone, the squash there with its marks, and gen refusing it until they are read.
  const wrote = await cli(project, ["squash", "--to", "5", "--yes", "--json"]);
  assert.equal(wrote.code, 0, wrote.stderr);
  assert.equal(json(wrote).reviewPending, true);
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["005_squash_1_to_5.sql", "006_add_email.sql"]);
  const squashPath = path.join(project.root, SQUASH_FILE);
  const pending = json(await cli(project, ["gen", "--check", "--json"]));
  assert.deepEqual([...new Set(pending.problems.map((problem: Json) => `${problem.code} ${problem.file}`))], [`SQUASH_REVIEW_PENDING ${SQUASH_FILE}`]);
  assert.equal(pending.problems.length, 3);
  // The runtime refuses the stale registry meanwhile.
  assert.equal(errorOf(await cli(project, ["status", "--db", databases[5]!, "--json"])).code, "REGISTRY_STALE");

  // The user reads the notes and deletes them.
  const reviewed = resolveReviews(squashPath);
  assert.equal((await cli(project, ["gen"])).code, 0);
  const checked = await cli(project, ["gen", "--check", "--json"]);
  assert.equal(checked.code, 0, checked.stdout);
  assert.equal(json(checked).replay.ran, true);
  // Against the branch it came from, the squash holding version 5 is no VERSION_TAKEN_ON_BASE: it replaced that base's 5.
  const againstBase = await cli(project, ["gen", "--check", "--base", "HEAD", "--no-replay", "--json"]);
  assert.equal(againstBase.code, 0, againstBase.stdout);

  // A fresh database: the squash and 6, the same schema and rows as the unsquashed history; its history records the squash, and status shows 1..4 applied with it.
  const fresh = project.databasePath("fresh.db");
  const before = json(await cli(project, ["status", "--db", fresh, "--json"]));
  assert.equal(before.pendingCount, 2);
  const up = await cli(project, ["up", "--db", fresh, "--json"]);
  assert.equal(up.code, 0, up.stderr);
  assert.deepEqual(
    json(up).steps.map((step: Json) => step.version),
    [5, 6],
  );
  assert.deepEqual(schemaOf(fresh), schemaOf(reference));
  const history = json(await cli(project, ["history", "--db", fresh, "--json"]));
  assert.deepEqual(
    (history.migrations ?? history.rows ?? history).map((row: Json) => row.version),
    [5, 6],
  );
  const freshStatus = json(await cli(project, ["status", "--db", fresh, "--json"]));
  assert.equal(freshStatus.problem, null);
  assert.equal(freshStatus.currentVersion, 6);
  assert.equal(freshStatus.migrations[4].file, SQUASH_FILE);
  assert.equal(freshStatus.migrations[0].file, SQUASH_FILE);
  assert.deepEqual(new Set(freshStatus.migrations.map((row: Json) => row.state)), new Set(["applied"]));

  // Databases migrated before the squash: no change, no checksum error; the one at 5 goes on to 6.
  for (const at of [5, 6]) {
    const status = json(await cli(project, ["status", "--db", databases[at]!, "--json"]));
    assert.equal(status.problem, null, `at ${at}`);
    assert.deepEqual(
      status.migrations.map((row: Json) => row.state),
      ["applied", "applied", "applied", "applied", "applied", at === 6 ? "applied" : "pending"],
    );
    assert.equal((await cli(project, ["up", "--db", databases[at]!])).code, 0);
    const verify = await cli(project, ["verify", "--db", databases[at]!, "--json"]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  }
  assert.equal((await cli(project, ["verify", "--db", fresh, "--json"])).code, 0);

  // A database inside 1..5: refused before anything runs, and status says why.
  const inside = await cli(project, ["up", "--db", databases[3]!, "--json"]);
  assert.equal(inside.code, 1);
  const insideError = errorOf(inside);
  assert.equal(insideError.code, "DATABASE_INSIDE_SQUASH");
  assert.deepEqual(pick(insideError, ["version", "squashVersion", "file"]), { version: 3, squashVersion: 5, file: SQUASH_FILE });
  assert.equal(json(await cli(project, ["status", "--db", databases[3]!, "--json"])).problem.code, "DATABASE_INSIDE_SQUASH");

  // down: to 5 works; below it is refused with its code, on a fresh database and on one migrated before the squash.
  for (const file of [fresh, databases[6]!]) {
    assert.equal((await cli(project, ["down", "--to", "5", "--db", file])).code, 0);
    const below = await cli(project, ["down", "--to", "2", "--db", file, "--json"]);
    assert.equal(below.code, 1);
    assert.equal(errorOf(below).code, "DOWN_BELOW_SQUASH");
    assert.deepEqual(pick(errorOf(below), ["version", "file", "target"]), { version: 5, file: SQUASH_FILE, target: 2 });
  }
  const upTo = await cli(project, ["up", "--to", "3", "--db", project.databasePath("partial.db"), "--json"]);
  assert.equal(errorOf(upTo).code, "INVALID_TARGET");

  // The proof: the squash edited to build another schema fails gen --check, at its record, naming what differs.
  commitAll(project.root, "squash");
  writeFileSync(squashPath, reviewed.replace("CREATE TABLE statuses (", "CREATE TABLE statuses (extra TEXT, "));
  assert.equal((await cli(project, ["gen"])).code, 0);
  const tampered = json(await cli(project, ["gen", "--check", "--json"]));
  assert.equal(tampered.ok, false);
  assert.deepEqual(
    tampered.problems.map((problem: Json) => [problem.code, problem.file]),
    [["SQUASH_SCHEMA_CHANGED", SQUASH_FILE]],
  );
  assert.match(tampered.problems[0].message, /table "statuses" differs/);
  assert.equal(tampered.problems[0].line, reviewed.split("\n").findIndex((line) => line.startsWith("-- stepwise:squash ")) + 1);

  // A record that names another version than the file's, or cannot be read.
  writeFileSync(squashPath, reviewed.replace("-- stepwise:squash 5 ", "-- stepwise:squash 4 "));
  assert.deepEqual(
    json(await cli(project, ["gen", "--check", "--json"])).problems.map((problem: Json) => problem.code),
    ["SQUASH_RECORD_INVALID"],
  );
  // A line that cannot be read, and a checksum changed by hand (which databases in use would then fail on).
  for (const edited of [
    reviewed.replace(/-- stepwise:replaces 3 \S+ /, "-- stepwise:replaces 3 "),
    reviewed.replace(/(-- stepwise:replaces 2 \S+ )([0-9a-f])/, (_, head: string, digit: string) => `${head}${digit === "0" ? "1" : "0"}`),
  ]) {
    writeFileSync(squashPath, edited);
    assert.deepEqual(
      json(await cli(project, ["gen", "--check", "--json"])).problems.map((problem: Json) => problem.code),
      ["SQUASH_RECORD_INVALID"],
    );
  }

  // Squash again, higher: the first squash and 6 become one, at 6. A database the first squash built, and one from before it, run on.
  writeFileSync(squashPath, reviewed);
  project.writeMigration("007_tags.sql", "-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE tags;\n");
  assert.equal((await cli(project, ["gen"])).code, 0);
  commitAll(project.root, "tags");
  assert.equal((await cli(project, ["up", "--to", "6", "--db", fresh])).code, 0);
  const again = await cli(project, ["squash", "--to", "6", "--yes", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(json(again).removed, [SQUASH_FILE, "migrations/006_add_email.sql"]);
  resolveReviews(path.join(project.root, "migrations/006_squash_1_to_6.sql"));
  assert.equal((await cli(project, ["gen"])).code, 0);
  assert.equal((await cli(project, ["gen", "--check"])).code, 0);
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["006_squash_1_to_6.sql", "007_tags.sql"]);
  for (const file of [fresh, databases[5]!, project.databasePath("fresh-again.db")]) {
    assert.equal(json(await cli(project, ["status", "--db", file, "--json"])).problem, null, file);
    assert.equal((await cli(project, ["up", "--db", file])).code, 0);
    assert.equal((await cli(project, ["verify", "--db", file])).code, 0);
  }
  assert.deepEqual(schemaOf(project.databasePath("fresh-again.db")).schema, schemaOf(fresh).schema);
});

/** Deletes the `-- stepwise:review` lines, as a user does once they have read them. */
function resolveReviews(file: string): string {
  const text = readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => !line.startsWith("-- stepwise:review"))
    .join("\n");
  writeFileSync(file, text);
  return text;
}

test("docs/migrations.md's squash commands run as written", { skip: skipGit ?? false }, async (t) => {
  const project = createTestProject(t);
  // With its seed rows, which the squash carries as INSERTs under a review note, so the guide's review step is due.
  project.writeMigration("001_contacts.sql", HISTORY["001_contacts.sql"]!);
  project.writeMigration("002_messages.sql", HISTORY["002_messages.sql"]!);
  project.writeMigration("003_rename_nick.sql", HISTORY["003_rename_nick.sql"]!);
  project.writeMigration("004_drop_legacy.sql", HISTORY["005_drop_legacy.sql"]!);
  await project.generateAsBin();
  // As an app's repository does: node_modules (where gen keeps its cache) is not committed.
  writeFileSync(path.join(project.root, ".gitignore"), "node_modules\n");
  initRepository(project.root);
  commitAll(project.root, "history");
  const commands = commandsOf(block(guideBlocks(readFileSync(path.join(repoRoot, "docs", "migrations.md"), "utf8")), "squash"));
  for (const words of commands) {
    if (words[0] === "git") {
      // As written: a commit that left the new squash file out would commit a registry importing a file it lacks.
      git(project.root, words.slice(1));
      continue;
    }
    // The guide's review step, a comment line in its block, comes before its plain `gen`: the notes are read, then deleted.
    if (words.slice(2).join(" ") === "gen") {
      const squash = path.join(project.migrationsDir, "003_squash_1_to_3.sql");
      assert.equal((await runCli(["gen", "--check", "--json"], { cwd: project.root })).code, 1, "gen --check refuses the squash while a note is left");
      assert.match(readFileSync(squash, "utf8"), /^-- stepwise:review/m, "the squash of seed rows is marked for review");
      resolveReviews(squash);
    }
    const run = await runCli(words.slice(2), { cwd: project.root });
    assert.equal(run.code, 0, `${words.join(" ")}: ${run.stdout}${run.stderr}`);
  }
  assert.equal(existsSync(path.join(project.migrationsDir, "003_squash_1_to_3.sql")), true);
  assert.equal(git(project.root, ["status", "--porcelain"]), "", "the guide's commit holds the whole squash");
  assert.match(git(project.root, ["ls-files", "migrations"]), /^migrations\/003_squash_1_to_3\.sql$/m);
});

test("a migration the replay cannot run is refused by name, and nothing is written", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_contacts.sql", HISTORY["001_contacts.sql"]!);
  project.writeMigration(
    "002_needs_a_file.ts",
    `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up() {\n    throw new Error("reads a file the replay does not have");\n  },\n});\n`,
  );
  await project.generateAsBin();
  const refused = await runCli(["squash", "--to", "2", "--json"], { cwd: project.root });
  assert.equal(refused.code, 1);
  const error = errorOf(refused);
  assert.deepEqual([error.code, error.version, error.file], ["MIGRATION_FAILED", 2, "migrations/002_needs_a_file.ts"]);
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["001_contacts.sql", "002_needs_a_file.ts"]);
});

test("migrations that build nothing squash reads are SQUASH_TARGET_INVALID, not an empty squash", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_nothing.sql", "-- migrate:up\nSELECT 1;\n");
  project.writeMigration("002_nothing_either.sql", "-- migrate:up\nSELECT 2;\n");
  await project.generateAsBin();
  const error = errorOf(await runCli(["squash", "--to", "2", "--json"], { cwd: project.root }));
  assert.equal(error.code, "SQUASH_TARGET_INVALID");
  assert.match(error.reason, /build nothing/);
});

test("squash of many migrations names the first ten it would delete and how many more, in its plan and its refusal; --json lists every one", async (t) => {
  // Every file on one line: a squash of 2,500 migrations printed an 80 KB error.
  const project = createTestProject(t);
  const count = 25;
  for (let version = 1; version <= count; version++) {
    project.writeMigration(`${String(version).padStart(3, "0")}_t${version}.sql`, `-- migrate:up\nCREATE TABLE t${version} (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t${version};\n`);
  }
  await project.generateAsBin();
  const namedIn = (text: string) => text.match(/migrations\/\d{3}_t\d+\.sql/g)?.length ?? 0;
  const plan = await cli(project, ["squash", "--to", String(count - 1)]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.equal(namedIn(plan.stdout), 10);
  assert.equal(json(await cli(project, ["squash", "--to", String(count - 1), "--json"])).removed.length, count - 1);
  // No repository: git holds none of them.
  const refused = await cli(project, ["squash", "--to", String(count - 1), "--yes"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /SQUASH_UNCOMMITTED/);
  assert.equal(namedIn(refused.stderr), 10);
  const refusedJson = errorOf(await cli(project, ["squash", "--to", String(count - 1), "--yes", "--json"]));
  assert.deepEqual([refusedJson.code, (refusedJson.files as string[]).length], ["SQUASH_UNCOMMITTED", count - 1]);
});
