/**
 * Flyway folders in the shapes real projects keep: a baseline script (`B<version>__`) that replaced the V scripts at or below its version (the old ones deleted or still there), and, on
 * PostgreSQL, a script of `CONCURRENTLY` statements, which Flyway's parser runs outside a transaction. Imported, generated, applied to an empty database, and adopted from a database Flyway
 * built each way it could have (from the baseline script, or from the old V scripts before the baseline existed); one that stopped below the baseline is refused. The bin in-process.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { flywayCrc } from "./support/flyway-checksum.js";
import { createTestProject, runCli, type TestProject } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";

/** What `--json` printed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field
type Json = Record<string, any>;

/** Writes `files` (name to text) under `dir`. */
function writeFolder(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
}

async function cli(project: TestProject, ...args: string[]): Promise<{ code: number | null; json: Json; output: string }> {
  const result = await runCli([...args, "--json"], { cwd: project.root, env: { DATABASE_URL: undefined } });
  return { code: result.code, json: JSON.parse(result.stdout || "{}") as Json, output: result.stdout + result.stderr };
}

/** Imports the folder `flyway-migrations` of the project, generates, and checks that `gen --check` (which replays them) passes. */
async function importFlyway(project: TestProject): Promise<Json> {
  const imported = await cli(project, "import", "flyway", "flyway-migrations", "--empty-down", "irreversible", "--yes");
  assert.equal(imported.code, 0, imported.output);
  await project.generateAsBin();
  const checked = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  return imported.json;
}

// Scripts released before the baseline (still in the folder, or deleted), the baseline that stands for them, and a script after it.
const OLD = {
  "V1__Create_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
  "V1_1__Add_name.sql": "ALTER TABLE users ADD COLUMN name TEXT;\n",
};
const BASELINE = {
  "B1_1__Baseline.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
  "sub/V1_2__Create_posts.sql": "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n",
};

/** A database Flyway migrated: each script run, and its history row (type `SQL`, or `SQL_BASELINE` for a B script) as Flyway writes it. */
function buildAsFlyway(file: string, scripts: Record<string, string>, table = "flyway_schema_history"): string {
  const db = new Database(file);
  db.exec(`CREATE TABLE "${table.replaceAll('"', '""')}" ("installed_rank" INT NOT NULL PRIMARY KEY, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL, "checksum" INT, "installed_by" VARCHAR(100) NOT NULL, "installed_on" TEXT NOT NULL DEFAULT 'now', "execution_time" INT NOT NULL, "success" BOOLEAN NOT NULL)`);
  Object.entries(scripts).forEach(([name, text], index) => {
    db.exec(text);
    const script = path.posix.basename(name);
    const [, kind, version, description] = /^([VB])([\d_.]+)__(.+)\.sql$/.exec(script)!;
    db.prepare(`INSERT INTO "${table.replaceAll('"', '""')}" VALUES (?, ?, ?, ?, ?, ?, 'app', 'now', 1, 1)`).run(
      index + 1,
      version!.replaceAll("_", "."),
      description!.replaceAll("_", " "),
      kind === "B" ? "SQL_BASELINE" : "SQL",
      script,
      flywayCrc(text),
    );
  });
  db.close();
  return file;
}

for (const keepsOld of [false, true]) {
  test(`flyway baseline script (B), the V scripts it replaced ${keepsOld ? "still in the folder" : "deleted"}: imported as migration 1 followed by the V scripts above it; databases Flyway built from the baseline or from the old scripts are adopted, one below the baseline refused`, async (t: TestContext) => {
    const project = createTestProject(t);
    writeFolder(path.join(project.root, "flyway-migrations"), { ...(keepsOld ? OLD : {}), ...BASELINE });
    const plan = await importFlyway(project);
    assert.deepEqual(
      plan.migrations.map((migration: Json) => [migration.file, migration.originalId]),
      [
        ["001_baseline.sql", "B1_1__Baseline"],
        ["002_create_posts.sql", "sub/V1_2__Create_posts"],
      ],
    );
    assert.equal(plan.migrations[0].history.type, "SQL_BASELINE");

    const fresh = project.databasePath("fresh.db");
    assert.equal((await cli(project, "up", "--db", fresh)).code, 0);
    assert.equal((await cli(project, "status", "--db", fresh)).json.currentVersion, 2);

    // An empty database Flyway migrated: the baseline script, then the V above it.
    const fromBaseline = buildAsFlyway(project.databasePath("from-baseline.db"), { "B1_1__Baseline.sql": BASELINE["B1_1__Baseline.sql"] });
    const adopted = await cli(project, "adopt", "--db", fromBaseline);
    assert.equal(adopted.code, 0, adopted.output);
    assert.equal(adopted.json.version, 1);
    assert.equal((await cli(project, "up", "--db", fromBaseline)).code, 0);
    assert.equal((await cli(project, "verify", "--db", fromBaseline)).json.ok, true);

    // A database migrated before the baseline existed: the old V scripts' rows stand for the baseline's version, and the V above it follows.
    const fromOld = buildAsFlyway(project.databasePath("from-old.db"), { ...OLD, "V1_2__Create_posts.sql": BASELINE["sub/V1_2__Create_posts.sql"] });
    const adoptedOld = await cli(project, "adopt", "--db", fromOld);
    assert.equal(adoptedOld.code, 0, adoptedOld.output);
    assert.equal(adoptedOld.json.version, 2);
    assert.equal((await cli(project, "verify", "--db", fromOld)).json.ok, true);

    // One that stopped below the baseline's version holds a schema no imported migration builds.
    const below = buildAsFlyway(project.databasePath("below.db"), { "V1__Create_users.sql": OLD["V1__Create_users.sql"] });
    const refused = await cli(project, "adopt", "--db", below);
    assert.equal(refused.code, 1);
    assert.equal(refused.json.error.code, "ADOPT_UNKNOWN_MIGRATION");
    assert.deepEqual(refused.json.error.ids, ["1"]);
  });
}

test("flyway baseline script above the newest V script it replaced: a database Flyway migrated through those V scripts (none at the baseline's version, so Flyway never runs more) is adopted at the baseline; one that stopped below them is refused, and with them deleted the refusal says to check it with baseline", async (t: TestContext) => {
  const project = createTestProject(t);
  const old = { "V1__Create_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY);\n", "V1_12_39__Add_name.sql": "ALTER TABLE users ADD COLUMN name TEXT;\n" };
  const baseline = { "B1_20_0__Baseline.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n", "V1_20_1__Create_posts.sql": "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n" };
  writeFolder(path.join(project.root, "flyway-migrations"), { ...old, ...baseline });
  const plan = await importFlyway(project);
  assert.equal(plan.migrations[0].history.replacedThrough, "1.12.39");

  const migrated = buildAsFlyway(project.databasePath("migrated.db"), old);
  const adopted = await cli(project, "adopt", "--db", migrated);
  assert.equal(adopted.code, 0, adopted.output);
  assert.equal(adopted.json.version, 1);
  assert.equal((await cli(project, "up", "--db", migrated)).code, 0);
  assert.equal((await cli(project, "verify", "--db", migrated)).json.ok, true);

  const below = buildAsFlyway(project.databasePath("below.db"), { "V1__Create_users.sql": old["V1__Create_users.sql"] });
  const refused = await cli(project, "adopt", "--db", below);
  assert.equal(refused.json.error?.code, "ADOPT_UNKNOWN_MIGRATION", refused.output);
  assert.deepEqual(refused.json.error.ids, ["1"]);
  assert.equal(refused.json.error.migrateTo, "1.12.39");

  // The V scripts deleted: which of them the database ran is unknown, so it is refused, pointing at baseline, which checks the schema.
  const deleted = createTestProject(t);
  writeFolder(path.join(deleted.root, "flyway-migrations"), baseline);
  await importFlyway(deleted);
  const ranThemAll = buildAsFlyway(deleted.databasePath("migrated.db"), old);
  const unknown = await cli(deleted, "adopt", "--db", ranThemAll);
  assert.equal(unknown.json.error?.code, "ADOPT_UNKNOWN_MIGRATION", unknown.output);
  assert.deepEqual([unknown.json.error.migrateTo, unknown.json.error.baselineVersion, unknown.json.error.oldTables], [null, 1, ["flyway_schema_history"]]);
  // The fix is the command to run: on the database that ran them all it records the baseline, and up and verify follow.
  const fixed = await runFix(deleted, unknown.json.error.fix);
  assert.equal(fixed.code, 0, fixed.output);
  assert.equal((await cli(deleted, "up", "--db", ranThemAll)).code, 0);
  assert.equal((await cli(deleted, "verify", "--db", ranThemAll)).json.ok, true);
  // On one that stopped below them, the same command checks the schema and refuses.
  const stoppedBelow = buildAsFlyway(deleted.databasePath("below.db"), { "V1__Create_users.sql": old["V1__Create_users.sql"] });
  const belowFix = (await cli(deleted, "adopt", "--db", stoppedBelow)).json.error.fix;
  assert.equal((await runFix(deleted, belowFix)).json.error?.code, "SCHEMA_MISMATCH");
});

test("flyway baseline script, the V scripts it replaced deleted, in a Flyway table whose name a shell must quote (--old-table): the message and the fix print the same baseline command, which runs as printed", async (t: TestContext) => {
  const project = createTestProject(t);
  writeFolder(path.join(project.root, "flyway-migrations"), { "B1_20_0__Baseline.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n" });
  await importFlyway(project);
  const table = "it's flyway $HOME";
  const database = buildAsFlyway(
    project.databasePath("migrated.db"),
    { "V1__Create_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY);\n", "V1_12_39__Add_name.sql": "ALTER TABLE users ADD COLUMN name TEXT;\n" },
    table,
  );
  const refused = await cli(project, "adopt", "--db", database, "--old-table", table);
  assert.equal(refused.json.error?.code, "ADOPT_UNKNOWN_MIGRATION", refused.output);
  assert.deepEqual(refused.json.error.oldTables, [table]);
  const printed = (text: string) => /"(stepwise baseline [^"]+)"/.exec(text)?.[1];
  assert.equal(printed(refused.json.error.message), printed(refused.json.error.fix));
  const fixed = await runFix(project, refused.json.error.fix);
  assert.equal(fixed.code, 0, fixed.output);
  assert.deepEqual(fixed.json.oldTables, [table]);
  assert.equal((await cli(project, "verify", "--db", database)).json.ok, true);
});

test("flyway baseline script: an import map written before replacedThrough existed does not say whether the folder holds the scripts it replaced, so a database below the baseline's version is refused as an outdated map (mapOutdated), and adopts with the map a new import writes; a new import of a folder without them records null", async (t: TestContext) => {
  const project = createTestProject(t);
  const old = { "V1__Create_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY);\n", "V1_12_39__Add_name.sql": "ALTER TABLE users ADD COLUMN name TEXT;\n" };
  const baseline = { "B1_20_0__Baseline.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n", "V1_20_1__Create_posts.sql": "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n" };
  writeFolder(path.join(project.root, "flyway-migrations"), { ...old, ...baseline });
  await importFlyway(project);
  const mapFile = path.join(project.root, "migrations", "stepwise-import-map.json");
  const map = JSON.parse(readFileSync(mapFile, "utf8")) as Json;
  delete map.migrations[0].history.replacedThrough;
  writeFileSync(mapFile, JSON.stringify(map, null, 2));

  const migrated = buildAsFlyway(project.databasePath("migrated.db"), old);
  const refused = await cli(project, "adopt", "--db", migrated);
  assert.equal(refused.json.error?.code, "ADOPT_UNKNOWN_MIGRATION", refused.output);
  assert.deepEqual([refused.json.error.migrateTo, refused.json.error.mapOutdated, refused.json.error.baselineVersion], [null, true, 1]);
  // As the fix says: import again into an empty folder and adopt with that map.
  assert.equal((await cli(project, "import", "flyway", "flyway-migrations", "--dir", "reimported", "--empty-down", "irreversible", "--yes")).code, 0);
  const adopted = await cli(project, "adopt", "--db", migrated, "--map", path.join("reimported", "stepwise-import-map.json"));
  assert.equal(adopted.code, 0, adopted.output);
  assert.equal(adopted.json.version, 1);

  const deleted = createTestProject(t);
  writeFolder(path.join(deleted.root, "flyway-migrations"), baseline);
  assert.equal((await importFlyway(deleted)).migrations[0].history.replacedThrough, null);
});

/** Runs the quoted stepwise command a `fix` names, its words read as a shell reads them. */
async function runFix(project: TestProject, fix: string): Promise<{ code: number | null; json: Json; output: string }> {
  const command = /"stepwise ([^"]+)"/.exec(fix);
  assert.ok(command, fix);
  const words = [...command[1]!.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map(([, quoted, plain]) => quoted?.replaceAll("'\\''", "'") ?? plain!);
  return cli(project, ...words);
}

test("flyway baseline scripts: the newest is imported (as Flyway runs on an empty database), and a changed baseline script is refused by its checksum", async (t: TestContext) => {
  const project = createTestProject(t);
  writeFolder(path.join(project.root, "flyway-migrations"), {
    "B1__Old_baseline.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
    ...BASELINE,
  });
  const plan = await importFlyway(project);
  assert.deepEqual(
    plan.migrations.map((migration: Json) => migration.originalId),
    ["B1_1__Baseline", "sub/V1_2__Create_posts"],
  );
  const edited = buildAsFlyway(project.databasePath("edited.db"), { "B1_1__Baseline.sql": BASELINE["B1_1__Baseline.sql"] });
  const db = new Database(edited);
  db.exec("UPDATE flyway_schema_history SET checksum = 7");
  db.close();
  const refused = await cli(project, "adopt", "--db", edited);
  assert.equal(refused.json.error.code, "ADOPT_CHECKSUM_MISMATCH");
});

test("flyway on PostgreSQL: a script of CONCURRENTLY statements (which Flyway runs outside a transaction) is imported with transaction:false, applies, and a database Flyway migrated is adopted", async (t: TestContext) => {
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres" } } });
  const scripts = {
    "V1__Create_events.sql": "CREATE TABLE events (id bigserial PRIMARY KEY, payload jsonb NOT NULL);\nCREATE INDEX events_payload_text ON events ((payload::text));\n",
    "V2__Index_fix.sql":
      "-- the text index was never used\nDROP INDEX CONCURRENTLY IF EXISTS events_payload_text;\n-- query by attribute\nCREATE INDEX CONCURRENTLY IF NOT EXISTS events_payload_gin ON events USING GIN (payload jsonb_path_ops);\n",
    "V3__Add_kind.sql": "ALTER TABLE events ADD COLUMN kind text;\n",
  };
  writeFolder(path.join(project.root, "flyway-migrations"), scripts);
  const plan = await importFlyway(project);
  assert.deepEqual(
    plan.migrations.map((migration: Json) => migration.transaction),
    [true, false, true],
  );
  assert.match(readFileSync(path.join(project.migrationsDir, plan.migrations[1].file), "utf8"), /^-- migrate:up transaction:false$/m);

  const [fresh, migrated] = [await createTestDatabase(), await createTestDatabase()];
  t.after(() => Promise.all([fresh.drop(), migrated.drop()]));
  assert.equal((await cli(project, "up", "--driver", "pg", "--url", fresh.url)).code, 0);

  // As Flyway ran them: the CONCURRENTLY script a statement at a time, outside a transaction.
  const client = new pg.Client({ connectionString: migrated.url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL,
      script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL)`);
    for (const [index, [script, text]] of Object.entries(scripts).entries()) {
      for (const statement of text.split(/;\n/).filter((part) => part.replace(/--.*$/gm, "").trim() !== "")) await client.query(statement);
      const [, version, description] = /^V(\d+)__(.+)\.sql$/.exec(script)!;
      await client.query("INSERT INTO flyway_schema_history VALUES ($1, $2, $3, 'SQL', $4, $5, 'app', now(), 1, true)", [
        index + 1,
        version,
        description!.replaceAll("_", " "),
        script,
        flywayCrc(text),
      ]);
    }
  } finally {
    await client.end();
  }
  const adopted = await cli(project, "adopt", "--driver", "pg", "--url", migrated.url);
  assert.equal(adopted.code, 0, adopted.output);
  assert.equal(adopted.json.version, 3);
  assert.equal((await cli(project, "verify", "--driver", "pg", "--url", migrated.url)).json.ok, true);
});

test("flyway repeatable scripts (R__): imported after the V scripts, ordered by description, as Flyway runs them on an empty database; adopted where Flyway ran their current text, refused where it ran an older one, and run by up where it has not run them yet", async (t: TestContext) => {
  const project = createTestProject(t);
  const versioned = {
    "V1__Create_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    "V2__Create_posts.sql": "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n",
  };
  const repeatable = {
    "views/R__Post_counts.sql": "DROP VIEW IF EXISTS post_counts;\nCREATE VIEW post_counts AS SELECT user_id, count(*) AS n FROM posts GROUP BY user_id;\n",
    "R__Named_users.sql": "DROP VIEW IF EXISTS named_users;\nCREATE VIEW named_users AS SELECT id, name FROM users WHERE name IS NOT NULL;\n",
  };
  writeFolder(path.join(project.root, "flyway-migrations"), { ...versioned, ...repeatable });
  const plan = await importFlyway(project);
  assert.deepEqual(
    plan.migrations.map((migration: Json) => [migration.originalId, migration.history.version, migration.history.description]),
    [
      ["V1__Create_users", "1", "Create users"],
      ["V2__Create_posts", "2", "Create posts"],
      ["R__Named_users", undefined, "Named users"],
      ["views/R__Post_counts", undefined, "Post counts"],
    ],
  );
  assert.equal((await cli(project, "up", "--db", project.databasePath("fresh.db"))).code, 0);

  // Flyway's rows for a repeatable script have no version; it runs the scripts by description after the versioned ones.
  const asFlyway = (name: string, scripts: [file: string, text: string][]) => {
    const file = buildAsFlyway(project.databasePath(name), Object.fromEntries(scripts.filter(([script]) => !script.includes("R__"))));
    const db = new Database(file);
    for (const [script, text] of scripts.filter(([entry]) => entry.includes("R__"))) {
      db.exec(text);
      const base = path.posix.basename(script);
      db.prepare("INSERT INTO flyway_schema_history VALUES ((SELECT max(installed_rank) + 1 FROM flyway_schema_history), NULL, ?, 'SQL', ?, ?, 'app', 'now', 1, 1)").run(
        base.slice(3, -4).replaceAll("_", " "),
        base,
        flywayCrc(text),
      );
    }
    db.close();
    return file;
  };
  const ordered = [...Object.entries(versioned), ["R__Named_users.sql", repeatable["R__Named_users.sql"]], ["views/R__Post_counts.sql", repeatable["views/R__Post_counts.sql"]]] as [string, string][];
  const current = asFlyway("current.db", ordered);
  const adopted = await cli(project, "adopt", "--db", current);
  assert.equal(adopted.code, 0, adopted.output);
  assert.equal(adopted.json.version, 4);
  assert.equal((await cli(project, "verify", "--db", current)).json.ok, true);

  // The script changed since Flyway last ran it: Flyway would run it again, and the database does not hold what the imported file builds.
  const older = asFlyway("older.db", [...ordered.slice(0, 3), ["views/R__Post_counts.sql", repeatable["views/R__Post_counts.sql"].replace("count(*)", "count(id)")]]);
  const refused = await cli(project, "adopt", "--db", older);
  assert.equal(refused.json.error.code, "ADOPT_CHECKSUM_MISMATCH");
  assert.deepEqual(
    refused.json.error.migrations.map((migration: Json) => [migration.id, migration.version]),
    [["R__Post counts", 4]],
  );

  // The repeatable scripts were added after Flyway last ran: adopted at the versioned ones, up runs them.
  const before = asFlyway("before.db", Object.entries(versioned));
  const behind = await cli(project, "adopt", "--db", before);
  assert.equal(behind.json.version, 2, behind.output);
  assert.equal((await cli(project, "up", "--db", before)).code, 0);
  assert.equal((await cli(project, "verify", "--db", before)).json.ok, true);
});

/** Adds a row to a database `buildAsFlyway` made, running `text` first, as Flyway's next run: a V script's (`version`), or a repeatable one's (`version` null). */
function runAsFlyway(file: string, script: string, text: string, version: string | null): void {
  const db = new Database(file);
  db.exec(text);
  db.prepare("INSERT INTO flyway_schema_history VALUES ((SELECT max(installed_rank) + 1 FROM flyway_schema_history), ?, ?, 'SQL', ?, ?, 'app', 'now', 1, 1)").run(
    version,
    script.replace(/^(?:V[\d_.]+|R)__|\.sql$/g, "").replaceAll("_", " "),
    script,
    flywayCrc(text),
  );
  db.close();
}

test("flyway baseline scripts, a database built when an older one was newest: its older B row and the V rows at or below the imported baseline stand for it, whatever the mix; one that stopped below it is refused", async (t: TestContext) => {
  const project = createTestProject(t);
  const users = "CREATE TABLE users (id INTEGER PRIMARY KEY);\n";
  const posts = "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n";
  const scripts = { "B1__Base.sql": users, "V2__Posts.sql": posts, "B2__Base.sql": users + posts, "V3__Tags.sql": "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT);\n" };
  writeFolder(path.join(project.root, "flyway-migrations"), scripts);
  const plan = await importFlyway(project);
  assert.deepEqual(
    plan.migrations.map((migration: Json) => migration.originalId),
    ["B2__Base", "V3__Tags"],
  );
  const histories: [name: string, ran: (keyof typeof scripts | "V1__Users.sql")[], version: number][] = [
    ["b1-v2-v3", ["B1__Base.sql", "V2__Posts.sql", "V3__Tags.sql"], 2],
    ["b1-v2", ["B1__Base.sql", "V2__Posts.sql"], 1],
    ["b2-v3", ["B2__Base.sql", "V3__Tags.sql"], 2],
    // A V script older than every baseline script (since deleted), then the older baseline's successors.
    ["v1-v2-v3", ["V1__Users.sql", "V2__Posts.sql", "V3__Tags.sql"], 2],
  ];
  for (const [name, ran, version] of histories) {
    const file = buildAsFlyway(project.databasePath(`${name}.db`), Object.fromEntries(ran.map((script) => [script, script === "V1__Users.sql" ? users : scripts[script]])));
    const adopted = await cli(project, "adopt", "--db", file);
    assert.equal(adopted.code, 0, `${name}: ${adopted.output}`);
    assert.equal(adopted.json.version, version, name);
    assert.equal((await cli(project, "up", "--db", file)).code, 0);
    assert.equal((await cli(project, "verify", "--db", file)).json.ok, true, name);
  }
  // Stopped at the older baseline: a version no imported migration builds.
  const below = buildAsFlyway(project.databasePath("b1.db"), { "B1__Base.sql": users });
  const refused = await cli(project, "adopt", "--db", below);
  assert.equal(refused.json.error?.code, "ADOPT_UNKNOWN_MIGRATION", refused.output);
  assert.deepEqual(refused.json.error.ids, ["1"]);
});

test("flyway repeatable scripts run before a V script (or another repeatable) was added: the missing ones are pending, not skipped, so adopt refuses with plain flyway migrate's advice, and adopts once Flyway ran them", async (t: TestContext) => {
  const project = createTestProject(t);
  const scripts = {
    "V1__Create_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    "V2__Create_posts.sql": "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n",
    "R__Named_users.sql": "DROP VIEW IF EXISTS named_users;\nCREATE VIEW named_users AS SELECT id, name FROM users WHERE name IS NOT NULL;\n",
    "R__Users_count.sql": "DROP VIEW IF EXISTS users_count;\nCREATE VIEW users_count AS SELECT count(*) AS n FROM users;\n",
  };
  writeFolder(path.join(project.root, "flyway-migrations"), scripts);
  const plan = await importFlyway(project);
  assert.deepEqual(
    plan.migrations.map((migration: Json) => migration.originalId),
    ["V1__Create_users", "V2__Create_posts", "R__Named_users", "R__Users_count"],
  );
  // Flyway ran V1 and both repeatables, then V2 was added; and one that ran V1, V2 and the second repeatable before the first was added.
  const cases: [name: string, ran: (keyof typeof scripts)[], pending: (keyof typeof scripts)[], missing: number[]][] = [
    ["v2-pending", ["V1__Create_users.sql", "R__Named_users.sql", "R__Users_count.sql"], ["V2__Create_posts.sql"], [2]],
    ["r-pending", ["V1__Create_users.sql", "V2__Create_posts.sql", "R__Users_count.sql"], ["R__Named_users.sql"], [3]],
  ];
  for (const [name, ran, pending, missing] of cases) {
    const file = buildAsFlyway(project.databasePath(`${name}.db`), Object.fromEntries(ran.filter((script) => script.startsWith("V")).map((script) => [script, scripts[script]])));
    for (const script of ran.filter((entry) => entry.startsWith("R"))) runAsFlyway(file, script, scripts[script], null);
    const refused = await cli(project, "adopt", "--db", file);
    assert.equal(refused.json.error?.code, "ADOPT_HISTORY_GAP", refused.output);
    assert.deepEqual(
      refused.json.error.missing.map((entry: Json) => entry.version),
      missing,
    );
    assert.doesNotMatch(refused.json.error.message, /outOfOrder/, name);
    // What plain flyway migrate then does: the pending scripts, not the unchanged repeatables again.
    for (const script of pending) runAsFlyway(file, script, scripts[script], script.startsWith("V") ? /^V(\d+)/.exec(script)![1]! : null);
    const adopted = await cli(project, "adopt", "--db", file);
    assert.equal(adopted.code, 0, `${name}: ${adopted.output}`);
    assert.equal(adopted.json.version, 4, name);
    assert.equal((await cli(project, "verify", "--db", file)).json.ok, true, name);
  }
});

test("flyway undo script that cannot run in a transaction (PostgreSQL): Flyway's parser ran it outside one; under a one-statement V script the migration is imported with transaction:false and goes up and down, under a several-statement one it is refused at the undo (DOWN_NEEDS_NO_TRANSACTION), so the V script keeps its transaction", async (t: TestContext) => {
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres" } } });
  writeFolder(path.join(project.root, "flyway-migrations"), {
    "V1__Create_events.sql": "CREATE TABLE events (id bigserial PRIMARY KEY, kind text);\n",
    "U1__Create_events.sql": "DROP TABLE events;\n",
    "V2__Index_events.sql": "CREATE INDEX events_kind ON events (kind);\n",
    "U2__Index_events.sql": "DROP INDEX CONCURRENTLY IF EXISTS events_kind;\n",
  });
  const plan = await importFlyway(project);
  assert.deepEqual(
    plan.migrations.map((migration: Json) => migration.transaction),
    [true, false],
  );
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const url = ["--driver", "pg", "--url", database.url];
  assert.equal((await cli(project, "up", ...url)).code, 0);
  const down = await cli(project, "down", "--to", "0", ...url);
  assert.equal(down.code, 0, down.output);
  assert.equal((await cli(project, "status", ...url)).json.currentVersion, 0);

  const several = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres" } } });
  writeFolder(path.join(several.root, "flyway-migrations"), {
    "V1__Index_events.sql": "CREATE TABLE events (id bigserial PRIMARY KEY, kind text);\nCREATE INDEX events_kind ON events (kind);\n",
    "U1__Index_events.sql": "DROP TABLE IF EXISTS other;\nDROP INDEX CONCURRENTLY IF EXISTS events_kind;\nDROP TABLE events;\n",
  });
  const refused = await cli(several, "import", "flyway", "flyway-migrations", "--empty-down", "irreversible", "--yes");
  assert.equal(refused.json.error?.code, "IMPORT_SOURCE_INVALID", refused.output);
  assert.deepEqual(
    refused.json.error.problems.map((problem: Json) => [problem.file, problem.line, problem.code]),
    [["flyway-migrations/U1__Index_events.sql", 2, "DOWN_NEEDS_NO_TRANSACTION"]],
  );
});

test("flyway undo script with its own executeInTransaction=false .conf (SQLite): the migration is imported with transaction:false; without the .conf, SQL that cannot run in a transaction is refused at the undo script", async (t: TestContext) => {
  const project = createTestProject(t);
  const scripts = { "V1__Create_t.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY);\n", "U1__Create_t.sql": "DROP TABLE t;\nVACUUM;\n" };
  writeFolder(path.join(project.root, "flyway-migrations"), { ...scripts, "U1__Create_t.sql.conf": "executeInTransaction=false\n" });
  const plan = await importFlyway(project);
  assert.deepEqual(
    plan.migrations.map((migration: Json) => migration.transaction),
    [false],
  );
  const file = project.databasePath("undo.db");
  assert.equal((await cli(project, "up", "--db", file)).code, 0);
  assert.equal((await cli(project, "down", "--to", "0", "--db", file)).code, 0);

  const bare = createTestProject(t);
  writeFolder(path.join(bare.root, "flyway-migrations"), scripts);
  const refused = await cli(bare, "import", "flyway", "flyway-migrations", "--empty-down", "irreversible", "--yes");
  assert.equal(refused.json.error?.code, "IMPORT_SOURCE_INVALID", refused.output);
  assert.deepEqual(
    refused.json.error.problems.map((problem: Json) => problem.file),
    ["flyway-migrations/U1__Create_t.sql"],
  );

  // Under a V script of several statements the undo's .conf is no fix (the V script decides, and keeps its transaction): the advice does not offer it.
  const several = createTestProject(t);
  writeFolder(path.join(several.root, "flyway-migrations"), {
    "V1__Create_t.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY);\nCREATE TABLE u (id INTEGER PRIMARY KEY);\n",
    "U1__Create_t.sql": scripts["U1__Create_t.sql"],
  });
  const advised = await cli(several, "import", "flyway", "flyway-migrations", "--empty-down", "irreversible", "--yes");
  const [problem] = advised.json.error.problems;
  assert.deepEqual([problem.file, problem.code], ["flyway-migrations/U1__Create_t.sql", "SQL_NEEDS_NO_TRANSACTION"]);
  assert.ok(!String(problem.message).includes("executeInTransaction"), problem.message);
});
