/**
 * `stepwise adopt` on SQLite, per tool: the tool's fixture applied in the tool's order with its history table written in the tool's documented shape (checksums computed the tool's way; drizzle's by
 * drizzle-orm's own migrator), imported, adopted (all applied, and one behind the newest), `up` for the rest, `verify` clean; running it twice changes nothing; `--drop-old-table`; the refusals.
 * The bin in-process; asserts codes and fields.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { MigrationManager } from "../src/entries/better-sqlite3.js";
import { adoptDatabase } from "../src/safety/adopt.js";
import type { SafetyNetManager } from "../src/safety/schema-reader.js";
import { flywayCrc } from "./support/flyway-checksum.js";
import { block, commandsOf, guideBlocks } from "./support/guide-blocks.js";
import { createTestProject, fixturesDir, repoRoot, runCli, runCliWithFileSizeLimit, type TestProject } from "./support/project.js";
import { caught, sqlEntry } from "./support/registry-builders.js";

type Db = Database.Database;
/** What `--json` printed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field
type Json = Record<string, any>;
const sha = (algorithm: string, bytes: Buffer) => createHash(algorithm).update(bytes).digest("hex");

/** A tool: its up files in its order (cut at the down marker), and how it writes its history table for the first `applied` of them. */
type Tool = { ups: string[]; cut?: RegExp; table?: string; record(db: Db, source: string, applied: string[]): void };

const TOOLS: Record<string, Tool> = {
  diesel: {
    ups: ["2019-02-26-002946_create_users", "2019-02-27-100000_create-posts", "2019-03-01-000000_compact", "2019-03-02-01_create_tags", "2019-03-02-1_index_tags"].map((id) => `${id}/up.sql`),
    record(db, _source, applied) {
      db.exec("CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)");
      for (const file of applied) db.prepare("INSERT INTO __diesel_schema_migrations (version) VALUES (?)").run(file.split("_")[0]!.replaceAll("-", ""));
    },
  },
  sqlx: {
    ups: ["1_create_users.up.sql", "2_create_posts.up.sql", "3_compact.up.sql", "9_create_tags.up.sql", "10_index_tags.up.sql"],
    record(db, source, applied) {
      db.exec(`CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)`);
      for (const file of applied) {
        const [, version, description] = /^(\d+)_(.+)\.up\.sql$/.exec(file)!;
        const checksum = createHash("sha384")
          .update(readFileSync(path.join(source, file)))
          .digest();
        db.prepare("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (?, ?, 1, ?, 1)").run(Number(version), description!.replaceAll("_", " "), checksum);
      }
    },
  },
  dbmate: {
    ups: ["10_create_tags.sql", "1_create_users.sql", "2_create_posts.sql", "3_compact.sql", "9_index_tags.sql"],
    cut: /^-- migrate:down/m,
    table: "stepwise_migrations",
    record(db, _source, applied) {
      db.exec('CREATE TABLE IF NOT EXISTS "schema_migrations" (version varchar(128) primary key)');
      for (const file of applied) db.prepare("INSERT INTO schema_migrations (version) VALUES (?)").run(/^\d+/.exec(file)![0]);
    },
  },
  "golang-migrate": {
    ups: ["1_create_users.up.sql", "2_create_posts.up.sql", "3_add_email.up.sql", "9_create_tags.up.sql", "10_index_tags.up.sql"],
    table: "stepwise_migrations",
    record(db, _source, applied) {
      db.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool); CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version); DELETE FROM schema_migrations",
      );
      db.prepare("INSERT INTO schema_migrations (version, dirty) VALUES (?, 0)").run(Number(/^\d+/.exec(applied.at(-1)!)![0]));
    },
  },
  goose: {
    ups: ["00001_create_users.sql", "00002_create_posts.sql", "00003_compact.sql", "9_create_tags.sql", "10_index_tags.sql"],
    cut: /^-- \+goose Down/m,
    record(db, _source, applied) {
      db.exec(
        "CREATE TABLE IF NOT EXISTS goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))",
      );
      for (const version of [0, ...applied.map((file) => Number(/^\d+/.exec(file)![0]))]) db.prepare("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)").run(version);
    },
  },
  flyway: {
    ups: ["V1__Create_users.sql", "V1.1__Create_posts.sql", "V1.9__Create_tags.sql", "V1.10__Index_tags.sql", "V1_11__Compact.sql"],
    record(db, source, applied) {
      db.exec(`CREATE TABLE IF NOT EXISTS "flyway_schema_history" ("installed_rank" INT NOT NULL PRIMARY KEY, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL,
        "script" VARCHAR(1000) NOT NULL, "checksum" INT, "installed_by" VARCHAR(100) NOT NULL, "installed_on" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),
        "execution_time" INT NOT NULL, "success" BOOLEAN NOT NULL);
        CREATE INDEX IF NOT EXISTS "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success")`);
      applied.forEach((file, index) => {
        const [, version, description] = /^V([\d._]+)__(.+)\.sql$/.exec(file)!;
        const checksum = flywayCrc(readFileSync(path.join(source, file), "utf8"));
        db.prepare("INSERT INTO flyway_schema_history VALUES (?, ?, ?, 'SQL', ?, ?, 'app', strftime('%Y-%m-%d %H:%M:%f','now'), 1, 1)").run(
          index + 1,
          version!.replaceAll("_", "."),
          description!.replaceAll("_", " "),
          file,
          checksum,
        );
      });
    },
  },
  // drizzle-orm's own migrator applies the SQL and writes its table; record() only trims the journal to the applied entries first.
  drizzle: {
    ups: ["0000_create_users.sql", "0001_create_posts.sql", "0002_rebuild_users.sql"],
    record: () => undefined,
  },
  prisma: {
    ups: ["20230101000000_init/migration.sql", "20230102000000_add_posts/migration.sql", "20230103000000_user_email/migration.sql"],
    record(db, source, applied) {
      db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" ("id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME, "migration_name" TEXT NOT NULL, "logs" TEXT,
        "rolled_back_at" DATETIME, "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)`);
      for (const file of applied) {
        db.prepare("INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES (?, ?, current_timestamp, ?, 1)").run(
          `id-${file}`,
          sha("sha256", readFileSync(path.join(source, file))),
          path.dirname(file),
        );
      }
    },
  },
};

/** A project with the tool's fixture imported (`--empty-down no-op`) and generated. */
async function importedProject(t: TestContext, tool: string): Promise<{ project: TestProject; source: string }> {
  const project = createTestProject(t);
  const source = path.join(project.root, `${tool}-migrations`);
  cpSync(path.join(fixturesDir, "import", tool), source, { recursive: true });
  const imported = await runCli(["import", tool, `${tool}-migrations`, "--empty-down", "no-op", "--yes"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stderr);
  await project.generateAsBin();
  return { project, source };
}

/** A database migrated by the tool: its first `count` migrations applied in its order, and its history table written as it writes it. */
function buildAsTool(project: TestProject, tool: string, source: string, count: number, name = `${tool}-${count}.db`): string {
  const file = project.databasePath(name);
  const spec = TOOLS[tool]!;
  const applied = spec.ups.slice(0, count);
  if (tool === "drizzle") {
    const folder = path.join(project.root, `drizzle-${count}`);
    cpSync(source, folder, { recursive: true });
    const journal = JSON.parse(readFileSync(path.join(folder, "meta/_journal.json"), "utf8")) as { entries: unknown[] };
    writeFileSync(path.join(folder, "meta/_journal.json"), JSON.stringify({ ...journal, entries: journal.entries.slice(0, count) }));
    const sqlite = new Database(file);
    migrate(drizzle(sqlite), { migrationsFolder: folder });
    sqlite.close();
    return file;
  }
  const db = new Database(file);
  for (const up of applied) {
    const text = readFileSync(path.join(source, up), "utf8");
    const at = spec.cut ? text.search(spec.cut) : -1;
    db.exec(at === -1 ? text : text.slice(0, at));
  }
  spec.record(db, source, applied);
  db.close();
  return file;
}

/** Runs the bin against `db` with `--json`, parsed. */
async function cli(project: TestProject, tool: string, db: string, ...args: string[]): Promise<{ code: number | null; json: Json }> {
  const table = TOOLS[tool]?.table;
  const result = await runCli([...args, "--db", db, ...(table ? ["--table", table] : []), "--json"], { cwd: project.root });
  return { code: result.code, json: JSON.parse(result.stdout || "{}") as Json };
}

const adoptArgs = ["adopt", "--map", "migrations/stepwise-import-map.json"];

for (const tool of Object.keys(TOOLS)) {
  test(`${tool}: adopts a database ${tool} migrated fully and one behind the newest, up applies the rest, verify is clean, and a second adopt changes nothing`, async (t) => {
    const { project, source } = await importedProject(t, tool);
    const total = TOOLS[tool]!.ups.length;

    const full = buildAsTool(project, tool, source, total);
    const adopted = await cli(project, tool, full, ...adoptArgs);
    assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
    assert.equal(adopted.json.tool, tool);
    assert.equal(adopted.json.version, total);
    assert.deepEqual(
      adopted.json.recorded,
      Array.from({ length: total }, (_, index) => index + 1),
    );
    assert.equal(adopted.json.alreadyAdopted, false);
    assert.equal(adopted.json.oldTableDropped, false);
    // Adopted into a table other than the configured one: the config setting every later command needs.
    const table = TOOLS[tool]!.table;
    assert.deepEqual(adopted.json.setInConfig, table ? { tableName: table } : null);
    if (table) {
      // A later command without --table meets the tool's table under the configured name, and is pointed at the adopted one.
      const without = await runCli(["status", "--db", full, "--json"], { cwd: project.root });
      const problem = (JSON.parse(without.stdout) as Json).problem as Json;
      assert.deepEqual([problem.code, problem.table, problem.adoptedInto], ["HISTORY_TABLE_INVALID", "schema_migrations", [table]]);
    }
    const verified = await cli(project, tool, full, "verify");
    assert.equal(verified.code, 0, JSON.stringify(verified.json));
    assert.equal(verified.json.ok, true);

    // The tool's database has the schema stepwise's own fresh build of the import has, object for object.
    const fresh = project.databasePath(`${tool}-fresh.db`);
    assert.equal((await cli(project, tool, fresh, "up")).code, 0);
    const schemaOf = (file: string) => {
      const db = new Database(file, { readonly: true });
      const rows = db
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name NOT LIKE 'sqlite_%' AND tbl_name NOT IN (?, ?, ?) ORDER BY type, name")
        .all(defaultTable(tool), "schema_migrations", "stepwise_migrations");
      db.close();
      return rows.filter((row) => !/^(schema|stepwise)_migrations_/.test((row as { tbl_name: string }).tbl_name));
    };
    assert.deepEqual(schemaOf(full), schemaOf(fresh));

    const history = () => new Database(full, { readonly: true }).prepare(`SELECT version, checksum, applied_at FROM ${TOOLS[tool]!.table ?? "schema_migrations"} ORDER BY version`).all();
    const before = history();
    const again = await cli(project, tool, full, ...adoptArgs);
    assert.equal(again.code, 0);
    assert.equal(again.json.alreadyAdopted, true);
    assert.deepEqual(again.json.setInConfig, adopted.json.setInConfig);
    assert.equal(again.json.version, total);
    assert.deepEqual(history(), before);

    const behind = buildAsTool(project, tool, source, total - 1);
    const partly = await cli(project, tool, behind, ...adoptArgs);
    assert.equal(partly.code, 0, JSON.stringify(partly.json));
    assert.equal(partly.json.version, total - 1);
    const up = await cli(project, tool, behind, "up");
    assert.equal(up.code, 0, JSON.stringify(up.json));
    const status = await cli(project, tool, behind, "status");
    assert.equal(status.json.currentVersion, total);
    assert.equal((await cli(project, tool, behind, "verify")).json.ok, true);
  });
}

test("adopt --write-sql that cannot write the whole file (a file size limit) is FILE_WRITE_FAILED naming it, and leaves the file an earlier run wrote byte for byte, with no temporary file", async (t) => {
  const { project, source } = await importedProject(t, "diesel");
  const db = buildAsTool(project, "diesel", source, 5);
  const adopt = ["adopt", "--db", db, "--write-sql", "adopt.sql"];
  const first = await runCli(adopt, { cwd: project.root });
  assert.equal(first.code, 0, first.stderr);
  const sqlFile = path.join(project.root, "adopt.sql");
  const [sql, database, entries] = [readFileSync(sqlFile), readFileSync(db), readdirSync(project.root).sort()];
  assert.ok(sql.length > 2048, "the file is bigger than the limit");
  // Adopted already, the run writes nothing to the database: the file is the one write the limit stops.
  const limited = await runCliWithFileSizeLimit([...adopt, "--json"], project.root, 1);
  const { error } = JSON.parse(limited.stdout) as Json;
  assert.deepEqual([limited.code, error.code, error.file, error.systemCode, error.bytesWritten], [1, "FILE_WRITE_FAILED", sqlFile, "EFBIG", 1024], limited.stderr);
  assert.deepEqual([readFileSync(sqlFile).equals(sql), readFileSync(db).equals(database), readdirSync(project.root).sort()], [true, true, entries]);
});

test("sqlx: adopt --write-sql on a copy whose _sqlx_migrations holds BLOB checksums writes the SQL, which run on the original gives the history adopting it directly gives, and refuses a checksum changed since the copy", async (t) => {
  const { project, source } = await importedProject(t, "sqlx");
  const original = buildAsTool(project, "sqlx", source, 5);
  const [copy, direct, changed] = ["copy.db", "direct.db", "changed.db"].map((name) => project.databasePath(name));
  for (const file of [copy, direct, changed]) cpSync(original, file!);
  const adopted = await cli(project, "sqlx", copy!, ...adoptArgs, "--write-sql", "adopt.sql");
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.equal((await cli(project, "sqlx", direct!, ...adoptArgs)).code, 0);
  const sql = readFileSync(path.join(project.root, "adopt.sql"), "utf8");
  const rows = (file: string) => new Database(file, { readonly: true }).prepare("SELECT version, name, checksum FROM schema_migrations ORDER BY version").all();
  const run = (file: string) => {
    const db = new Database(file);
    try {
      db.transaction(() => db.exec(sql))();
    } finally {
      db.close();
    }
  };
  run(original);
  assert.deepEqual(rows(original), rows(direct!));
  assert.equal((await cli(project, "sqlx", original, "verify")).json.ok, true);
  const edited = new Database(changed!);
  edited.exec("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 9");
  edited.close();
  assert.throws(() => run(changed!), /old_history_changed_since_the_copy/);
});

test("adopt without --map reads the map where import wrote it: the config's migrationsDir (and a dialect's own folder), from a working folder below the project root", async (t) => {
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ migrationsDir: "db/migrations", registryFile: "db/registry.ts" }));
  const source = path.join(project.root, "sqlx-migrations");
  cpSync(path.join(fixturesDir, "import", "sqlx"), source, { recursive: true });
  assert.equal((await runCli(["import", "sqlx", "sqlx-migrations", "--empty-down", "no-op", "--yes"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const below = path.join(project.root, "src", "app");
  mkdirSync(below, { recursive: true });
  const db = buildAsTool(project, "sqlx", source, 4);
  const adopted = await runCli(["adopt", "--db", path.relative(below, db), "--json"], { cwd: below });
  assert.equal(adopted.code, 0, adopted.stdout + adopted.stderr);
  assert.deepEqual([JSON.parse(adopted.stdout).tool, JSON.parse(adopted.stdout).version], ["sqlx", 4]);

  // docs/adopting.md: each imported file's description names its original, which status --json lists.
  const status = await runCli(["status", "--db", path.relative(below, db), "--json"], { cwd: below });
  assert.equal((JSON.parse(status.stdout) as Json).migrations[0].description, "imported from sqlx 1_create_users");

  // A dialect of its own: the map is looked for in that dialect's folder, named relative to the working folder.
  writeFileSync(
    path.join(project.root, "stepwise.config.json"),
    JSON.stringify({ migrationsDir: "db/migrations", dialects: { sqlite: { migrationsDir: "db/sqlite", registryFile: "db/registry.sqlite.ts" } } }),
  );
  const missing = await runCli(["adopt", "--db", path.relative(below, db), "--json"], { cwd: below, env: { STEPWISE_SKIP_REGISTRY_CHECK: "1" } });
  assert.equal(missing.code, 1, missing.stdout + missing.stderr);
  const error = JSON.parse(missing.stdout).error as Json;
  assert.deepEqual([error.code, error.file], ["ADOPT_MAP_INVALID", path.join("..", "..", "db", "sqlite", "stepwise-import-map.json")]);
});

/** The error `--json` printed, after exit 1. */
function refusal(result: { code: number | null; json: Json }, code: string): Json {
  assert.equal(result.code, 1, JSON.stringify(result.json));
  assert.equal(result.json.error?.code, code, JSON.stringify(result.json));
  return result.json.error;
}

/** Whether stepwise wrote a history into `file`. */
const hasHistory = (file: string, table = "schema_migrations") => new Database(file, { readonly: true }).prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = ?").get(table) as { n: number };

test("sqlx: a gap, a failed migration, a checksum mismatch and an unknown version are refused with nothing written; --drop-old-table drops _sqlx_migrations", async (t) => {
  const { project, source } = await importedProject(t, "sqlx");
  const edit = (name: string, sql: string) => {
    const file = buildAsTool(project, "sqlx", source, 5, name);
    const db = new Database(file);
    db.exec(sql);
    db.close();
    return file;
  };

  const gap = edit("gap.db", "DELETE FROM _sqlx_migrations WHERE version = 2");
  const gapError = refusal(await cli(project, "sqlx", gap, ...adoptArgs), "ADOPT_HISTORY_GAP");
  assert.deepEqual(gapError.missing, [{ version: 2, id: "2_create_posts" }]);
  assert.deepEqual(gapError.applied, [1, 3, 4, 5]);
  assert.equal(hasHistory(gap).n, 0);

  // No row at all on a migrated schema: the schema is not empty, worded as such, not as what "migrations" sqlx recorded.
  const emptied = edit("emptied.db", "DELETE FROM _sqlx_migrations");
  const empty = refusal(await cli(project, "sqlx", emptied, ...adoptArgs), "SCHEMA_MISMATCH");
  assert.deepEqual([empty.version, empty.adoptedFrom], [0, "sqlx"]);
  assert.match(empty.message, /^sqlx records no migration as applied, but the database's schema is not empty:/);
  assert.match(empty.fix, /--old-table/);
  assert.equal(hasHistory(emptied).n, 0);

  const failed = edit("failed.db", "UPDATE _sqlx_migrations SET success = 0 WHERE version = 10");
  assert.deepEqual(refusal(await cli(project, "sqlx", failed, ...adoptArgs), "ADOPT_MIGRATION_FAILED").migrations, [{ id: "10", state: "failed" }]);

  const changed = edit("changed.db", "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 9");
  const mismatch = refusal(await cli(project, "sqlx", changed, ...adoptArgs), "ADOPT_CHECKSUM_MISMATCH");
  assert.deepEqual(
    mismatch.migrations.map((entry: Record<string, unknown>) => [entry.id, entry.version, entry.recorded]),
    [["9", 4, "00"]],
  );
  assert.equal(mismatch.migrations[0].expected, sha("sha384", readFileSync(path.join(source, "9_create_tags.up.sql"))));

  const unknown = edit("unknown.db", "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (11, 'later', 1, x'00', 1)");
  assert.deepEqual(refusal(await cli(project, "sqlx", unknown, ...adoptArgs), "ADOPT_UNKNOWN_MIGRATION").ids, ["11"]);
  assert.equal(hasHistory(unknown).n, 0);

  const none = project.databasePath("none.db");
  new Database(none).close();
  const missing = refusal(await cli(project, "sqlx", none, ...adoptArgs), "ADOPT_HISTORY_MISSING");
  assert.deepEqual([missing.table, missing.schema], ["_sqlx_migrations", null]);
  assert.equal(refusal(await cli(project, "sqlx", none, "adopt", "--map", "nowhere.json"), "ADOPT_MAP_INVALID").file, "nowhere.json");

  const dropped = buildAsTool(project, "sqlx", source, 5, "dropped.db");
  const result = await cli(project, "sqlx", dropped, ...adoptArgs, "--drop-old-table");
  assert.equal(result.code, 0, JSON.stringify(result.json));
  assert.equal(result.json.oldTableDropped, true);
  assert.equal(hasHistory(dropped, "_sqlx_migrations").n, 0);
  assert.equal((await cli(project, "sqlx", dropped, "verify")).json.ok, true);
  assert.equal((await cli(project, "sqlx", dropped, ...adoptArgs)).json.alreadyAdopted, true);
  // A second run given another tool's map reports what the first run adopted.
  const map = JSON.parse(readFileSync(path.join(project.root, "migrations/stepwise-import-map.json"), "utf8")) as Json;
  // Saved by an editor that writes a byte order mark: read past, as JSON files are.
  writeFileSync(path.join(project.root, "diesel-map.json"), `\uFEFF${JSON.stringify({ ...map, tool: "diesel" })}`);
  const other = await cli(project, "sqlx", dropped, "adopt", "--map", "diesel-map.json");
  assert.equal(other.code, 0, JSON.stringify(other.json));
  assert.deepEqual([other.json.alreadyAdopted, other.json.tool, other.json.oldTable, other.json.oldTableDropped], [true, "sqlx", '"_sqlx_migrations"', true]);
  // Once dropped, the old name is ignored no more: a table made under it later is drift.
  const remade = new Database(dropped);
  remade.exec("CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY)");
  remade.close();
  const remadeDrift = await cli(project, "sqlx", dropped, "verify");
  assert.equal(remadeDrift.json.ok, false);
  assert.deepEqual(
    remadeDrift.json.differences.map((difference: Record<string, unknown>) => difference.name),
    ["_sqlx_migrations"],
  );

  // A table kept the first time is dropped by a later run that asks.
  const later = buildAsTool(project, "sqlx", source, 5, "later.db");
  assert.equal((await cli(project, "sqlx", later, ...adoptArgs)).json.oldTableDropped, false);
  const droppedLater = await cli(project, "sqlx", later, ...adoptArgs, "--drop-old-table");
  assert.deepEqual([droppedLater.code, droppedLater.json.alreadyAdopted, droppedLater.json.oldTableDropped], [0, true, true]);
  assert.equal(hasHistory(later, "_sqlx_migrations").n, 0);
  assert.equal((await cli(project, "sqlx", later, "verify")).json.ok, true);

  // ...unless the old tool's table records more since the adoption: adopt records that as the first run would, so here, where the row came without its schema, nothing is recorded or dropped.
  const ranAgain = buildAsTool(project, "sqlx", source, 4, "ran-again.db");
  assert.equal((await cli(project, "sqlx", ranAgain, ...adoptArgs)).json.version, 4);
  const newer = buildAsTool(project, "sqlx", source, 5, "newer.db");
  const sqlite = new Database(ranAgain);
  sqlite.exec(`ATTACH '${newer}' AS newer; INSERT INTO _sqlx_migrations SELECT * FROM newer._sqlx_migrations WHERE version NOT IN (SELECT version FROM main._sqlx_migrations)`);
  sqlite.close();
  assert.deepEqual(refusal(await cli(project, "sqlx", ranAgain, ...adoptArgs, "--drop-old-table"), "SCHEMA_MISMATCH").version, 5);
  assert.equal(hasHistory(ranAgain, "_sqlx_migrations").n, 1);

  // Only the adopted tool's own table is left out: another tool's table of the same kind is drift.
  const kept = buildAsTool(project, "sqlx", source, 5, "kept.db");
  assert.equal((await cli(project, "sqlx", kept, ...adoptArgs)).code, 0);
  const db = new Database(kept);
  db.exec("CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL)");
  db.close();
  const drift = await cli(project, "sqlx", kept, "verify");
  assert.equal(drift.json.ok, false);
  assert.deepEqual(
    drift.json.differences.map((difference: Record<string, unknown>) => difference.name),
    ["goose_db_version"],
  );
});

test("dirty, failed and mismatched histories of golang-migrate, goose, Flyway, drizzle and Prisma are refused (a row rolled back whose down never ran is SCHEMA_MISMATCH); dbmate's schema_migrations clashes with stepwise's", async (t) => {
  const cases: [tool: string, sql: string, code: string, field: string, expected: unknown][] = [
    ["golang-migrate", "UPDATE schema_migrations SET dirty = 1", "ADOPT_MIGRATION_FAILED", "migrations", [{ id: "10", state: "dirty", file: "10_index_tags.up.sql" }]],
    // golang-migrate's way out: the database fixed by hand, then "migrate force" to the version it is at (9 comes before 10 in the folder).
    ["golang-migrate", "UPDATE schema_migrations SET dirty = 1", "ADOPT_MIGRATION_FAILED", "force", { finished: "10", undone: "9" }],
    ["golang-migrate", "UPDATE schema_migrations SET version = 7", "ADOPT_UNKNOWN_MIGRATION", "ids", ["7"]],
    // dbmate's table of the same name, given golang-migrate's map: another tool's shape.
    [
      "golang-migrate",
      "DROP TABLE schema_migrations; CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('10')",
      "ADOPT_HISTORY_MISSING",
      "table",
      "schema_migrations",
    ],
    // Rolled back in goose's table, but its down never ran: not applied, so the schema holds what migrations 1..4 do not.
    ["goose", "INSERT INTO goose_db_version (version_id, is_applied) VALUES (10, 0)", "SCHEMA_MISMATCH", "version", 4],
    // The advice names adopt's way out (not baseline's --force, which adopt does not take).
    ["goose", "INSERT INTO goose_db_version (version_id, is_applied) VALUES (10, 0)", "SCHEMA_MISMATCH", "adoptedFrom", "goose"],
    // A down of migration 1 that died part way: golang-migrate refuses to go on from it, as from any dirty row.
    ["golang-migrate", "UPDATE schema_migrations SET version = -1, dirty = 1", "ADOPT_MIGRATION_FAILED", "migrations", [{ id: "-1", state: "dirty", file: "1_create_users.down.sql" }]],
    ["golang-migrate", "UPDATE schema_migrations SET version = -1, dirty = 1", "ADOPT_MIGRATION_FAILED", "force", { finished: "-1", undone: "1" }],
    // A repeatable script Flyway ran whose file is gone from the folder: recorded, so it must be in the map.
    [
      "flyway",
      "INSERT INTO flyway_schema_history VALUES ((SELECT max(installed_rank) + 1 FROM flyway_schema_history), NULL, 'seed roles', 'SQL', 'R__seed_roles.sql', 123, 'app', 'now', 1, 1)",
      "ADOPT_UNKNOWN_MIGRATION",
      "ids",
      ["R__seed roles"],
    ],
    ["goose", "DELETE FROM goose_db_version WHERE version_id = 2", "ADOPT_HISTORY_GAP", "missing", [{ version: 2, id: "00002_create_posts" }]],
    ["flyway", "UPDATE flyway_schema_history SET checksum = 1 WHERE version = '1.10'", "ADOPT_CHECKSUM_MISMATCH", "migrations", undefined],
    ["flyway", "UPDATE flyway_schema_history SET success = 0 WHERE version = '1.11'", "ADOPT_MIGRATION_FAILED", "migrations", [{ id: "1.11", state: "failed" }]],
    ["drizzle", "UPDATE __drizzle_migrations SET hash = 'x' WHERE created_at = 1700000100000", "ADOPT_CHECKSUM_MISMATCH", "migrations", undefined],
    [
      "prisma",
      "UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = '20230103000000_user_email'",
      "ADOPT_MIGRATION_FAILED",
      "migrations",
      [{ id: "20230103000000_user_email", state: "failed" }],
    ],
    ["prisma", "UPDATE _prisma_migrations SET checksum = 'abc' WHERE migration_name = '20230101000000_init'", "ADOPT_CHECKSUM_MISMATCH", "migrations", undefined],
  ];
  const projects = new Map<string, { project: TestProject; source: string }>();
  for (const [index, [tool, sql, code, field, expected]] of cases.entries()) {
    if (!projects.has(tool)) projects.set(tool, await importedProject(t, tool));
    const { project, source } = projects.get(tool)!;
    const file = buildAsTool(project, tool, source, TOOLS[tool]!.ups.length, `case-${index}.db`);
    const db = new Database(file);
    db.exec(sql);
    db.close();
    const error = refusal(await cli(project, tool, file, ...adoptArgs), code);
    const force = expected as { finished: string; undone: string };
    if (field === "force") assert.match(error.fix, new RegExp(`"migrate force ${force.finished}".*"migrate force ${force.undone}"`), error.fix);
    if (expected !== undefined) assert.deepEqual(error[field], expected, `${tool}: ${sql}`);
    else assert.equal(error[field].length, 1, `${tool}: ${sql}`);
    assert.equal(hasHistory(file, TOOLS[tool]!.table).n, 0, `${tool} wrote a history`);
  }
  const { project, source } = await importedProject(t, "dbmate");
  const file = buildAsTool(project, "dbmate", source, 5);
  const clash = await runCli([...adoptArgs, "--db", file, "--json"], { cwd: project.root });
  assert.equal(refusal({ code: clash.code, json: JSON.parse(clash.stdout) as Json }, "ADOPT_TABLE_CLASH").table, "schema_migrations");
  // Adopted into another table with the old one dropped: a later command without --table finds no history, and is pointed at the adopted table, not at baseline.
  const moved = buildAsTool(project, "dbmate", source, 5, "moved.db");
  const adopted = await cli(project, "dbmate", moved, ...adoptArgs, "--drop-old-table");
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  const unmanaged = (JSON.parse((await runCli(["status", "--db", moved, "--json"], { cwd: project.root })).stdout) as Json).problem as Json;
  assert.equal(unmanaged.code, "UNMANAGED_DATABASE");
  assert.match(unmanaged.fix, new RegExp(`--table ${TOOLS.dbmate!.table}\\b`));
  // A second adopt with --drop-old-table on a database adopted with the table kept says it dropped it.
  const kept = buildAsTool(project, "dbmate", source, 5, "kept.db");
  assert.equal((await cli(project, "dbmate", kept, ...adoptArgs)).code, 0);
  const dropped = await runCli([...adoptArgs, "--db", kept, "--table", TOOLS.dbmate!.table!, "--drop-old-table"], { cwd: project.root });
  assert.equal(dropped.code, 0, dropped.stderr);
  // The text said "nothing changed" while the table was gone.
  assert.doesNotMatch(dropped.stdout, /nothing changed/);
  assert.equal(hasHistory(kept, "schema_migrations").n, 0);
  // Not adopted anywhere: HISTORY_TABLE_INVALID names no adopted table (its advice is adopt, or a table of stepwise's own).
  const status = await runCli(["status", "--db", file, "--json"], { cwd: project.root });
  const problem = (JSON.parse(status.stdout) as Json).problem as Json;
  assert.deepEqual(
    [problem.code, problem.table, problem.missingColumns, problem.adoptedInto],
    ["HISTORY_TABLE_INVALID", "schema_migrations", ["name", "checksum", "applied_at", "duration_ms", "state"], []],
  );
});

test("prisma: a checksum early Prisma wrote without zero padding, which Prisma accepts, is adopted", async (t) => {
  const { project, source } = await importedProject(t, "prisma");
  const file = buildAsTool(project, "prisma", source, 3);
  const db = new Database(file);
  const unpadded = (checksum: string) => checksum.replace(/[0-9a-f]{2}/g, (byte) => parseInt(byte, 16).toString(16));
  db.function("unpadded", unpadded);
  db.exec("UPDATE _prisma_migrations SET checksum = unpadded(checksum)");
  const shortened = (db.prepare("SELECT count(*) AS n FROM _prisma_migrations WHERE length(checksum) < 64").get() as { n: number }).n;
  db.close();
  assert.ok(shortened > 0, "no fixture checksum holds a byte below 0x10");
  const adopted = await cli(project, "prisma", file, ...adoptArgs);
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.equal(adopted.json.version, 3);
});

test("docs/adopting.md's adopt commands, typed as written, adopt a Diesel database one migration behind, up applies the last, and verify passes", async (t) => {
  const { project, source } = await importedProject(t, "diesel");
  mkdirSync(path.join(project.root, "data"));
  const built = buildAsTool(project, "diesel", source, 4);
  cpSync(built, path.join(project.root, "data", "app.db"));
  const commands = commandsOf(block(guideBlocks(readFileSync(path.join(repoRoot, "docs", "adopting.md"), "utf8")), "adopt-diesel"));
  assert.deepEqual(
    commands.map((words) => words.slice(0, 3).join(" ")),
    ["npx stepwise adopt", "npx stepwise up", "npx stepwise verify"],
  );
  for (const words of commands) {
    const run = await runCli(words.slice(2), { cwd: project.root });
    assert.equal(run.code, 0, `${words.join(" ")}: ${run.stdout}${run.stderr}`);
  }
  const status = await cli(project, "diesel", path.join(project.root, "data", "app.db"), "status");
  assert.equal(status.json.currentVersion, 5);
});

test("a tool that migrates while adopt runs (a row written to its table between adopt's checks and its write) is ADOPT_HISTORY_CHANGED, and nothing is written", (t) => {
  const project = createTestProject(t);
  const file = project.databasePath("racing.db");
  const setup = new Database(file);
  setup.exec("CREATE TABLE users (id INTEGER PRIMARY KEY)");
  setup.exec("CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)");
  setup.exec("INSERT INTO __diesel_schema_migrations (version) VALUES ('20190226002946')");
  setup.close();
  const map = {
    format: "stepwise-import-map/1",
    tool: "diesel",
    migrations: [
      { version: 1, originalId: "2019-02-26-002946_create_users", history: { version: "20190226002946" } },
      { version: 2, originalId: "2019-03-01-000000_create_posts", history: { version: "20190301000000" } },
    ],
  };
  const registry = [sqlEntry(1, "CREATE TABLE users (id INTEGER PRIMARY KEY);"), sqlEntry(2, "CREATE TABLE posts (id INTEGER PRIMARY KEY);")];
  const db = new Database(file);
  const tool = new Database(file);
  // The tool's deployment commits migration 2's row just as adopt begins its write.
  const exec = db.exec.bind(db);
  let raced = false;
  db.exec = (sql: string) => {
    if (!raced && /^BEGIN/i.test(sql)) {
      raced = true;
      tool.exec("INSERT INTO __diesel_schema_migrations (version) VALUES ('20190301000000')");
    }
    return exec(sql);
  };
  const manager = new MigrationManager(db, registry, { tableName: "stepwise_migrations" });
  const error = caught(() => adoptDatabase(manager as unknown as SafetyNetManager, map, { mapFile: "migrations/stepwise-import-map.json" }));
  assert.equal(raced, true);
  assert.equal(error.code, "ADOPT_HISTORY_CHANGED");
  assert.deepEqual([error.tool, error.table], ["diesel", "__diesel_schema_migrations"]);
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'stepwise%'").all() as { name: string }[]).map((row) => row.name);
  assert.deepEqual(tables, []);
  db.close();
  tool.close();
});

test("a migration the tool rolled back (goose's is_applied false, Flyway's UNDO_SQL, Prisma's rolled_back_at) is not applied, as the tool would run it again: adopted below it, up runs it, verify is clean", async (t) => {
  const cases: [tool: string, count: number, undo: (db: Db, source: string) => void, version: number][] = [
    [
      "goose",
      5,
      (db, source) => {
        const text = readFileSync(path.join(source, "10_index_tags.sql"), "utf8");
        db.exec(text.slice(text.indexOf("-- +goose Down")));
        db.exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (10, 0)");
      },
      4,
    ],
    [
      "flyway",
      4,
      (db, source) => {
        const undo = "U1.10__Index_tags.sql";
        db.exec(readFileSync(path.join(source, undo), "utf8"));
        db.prepare("INSERT INTO flyway_schema_history VALUES (5, '1.10', 'Index tags', 'UNDO_SQL', ?, ?, 'app', 'now', 1, 1)").run(undo, flywayCrc(readFileSync(path.join(source, undo), "utf8")));
      },
      3,
    ],
    // A migration that failed, then marked rolled back (prisma migrate resolve --rolled-back) after its partial work was undone.
    ["prisma", 2, (db) => db.exec("INSERT INTO _prisma_migrations (id, checksum, migration_name, rolled_back_at) VALUES ('x', 'other', '20230103000000_user_email', current_timestamp)"), 2],
  ];
  for (const [tool, count, undo, version] of cases) {
    const { project, source } = await importedProject(t, tool);
    const file = buildAsTool(project, tool, source, count);
    const db = new Database(file);
    undo(db, source);
    db.close();
    const adopted = await cli(project, tool, file, ...adoptArgs);
    assert.equal(adopted.code, 0, `${tool}: ${JSON.stringify(adopted.json)}`);
    assert.equal(adopted.json.version, version, tool);
    assert.equal((await cli(project, tool, file, "up")).code, 0, tool);
    assert.equal((await cli(project, tool, file, "status")).json.currentVersion, TOOLS[tool]!.ups.length, tool);
    assert.equal((await cli(project, tool, file, "verify")).json.ok, true, tool);
  }
});

/** `sql` run on a fresh copy of the tool's fully migrated database. */
function editedAsTool(project: TestProject, tool: string, source: string, name: string, sql: string): string {
  const file = buildAsTool(project, tool, source, TOOLS[tool]!.ups.length, name);
  const db = new Database(file);
  db.exec(sql);
  db.close();
  return file;
}

test("--old-table: every tool's history table renamed as the tool allows (a quote, a space and a dot in the name; drizzle-orm's own migrationsTable) is adopted, left out of verify, and dropped by a later --drop-old-table; invalid names are ADOPT_OLD_TABLE_INVALID", async (t) => {
  const hostile = 'my "odd" table.v2';
  const value = '"my ""odd"" table.v2"';
  for (const tool of Object.keys(TOOLS)) {
    const { project, source } = await importedProject(t, tool);
    let file: string;
    if (tool === "drizzle") {
      file = project.databasePath("renamed.db");
      const sqlite = new Database(file);
      migrate(drizzle(sqlite), { migrationsFolder: source, migrationsTable: hostile });
      sqlite.close();
    } else {
      file = editedAsTool(project, tool, source, "renamed.db", `ALTER TABLE "${defaultTable(tool)}" RENAME TO ${value}`);
    }
    // Renamed, the tool's table no longer clashes with stepwise's default name: no --table.
    const run = async (...args: string[]) => {
      const result = await runCli([...args, "--db", file, "--json"], { cwd: project.root });
      return { code: result.code, json: JSON.parse(result.stdout || "{}") as Json };
    };
    // Without it: the default name, which for dbmate and golang-migrate is stepwise's own.
    const clashes = defaultTable(tool) === "schema_migrations";
    assert.equal(refusal(await run(...adoptArgs), clashes ? "ADOPT_TABLE_CLASH" : "ADOPT_HISTORY_MISSING").table, defaultTable(tool), tool);
    const adopted = await run(...adoptArgs, "--old-table", value);
    assert.equal(adopted.code, 0, `${tool}: ${JSON.stringify(adopted.json)}`);
    assert.deepEqual([adopted.json.version, adopted.json.oldTable], [TOOLS[tool]!.ups.length, `"my ""odd"" table.v2"`], tool);
    assert.equal((await run("verify")).json.ok, true, tool);
    const record = new Database(file, { readonly: true }).prepare("SELECT old_table FROM schema_migrations_adopted").get() as { old_table: string };
    assert.equal(record.old_table, hostile);
    const dropped = await run(...adoptArgs, "--drop-old-table");
    assert.deepEqual([dropped.code, dropped.json.oldTableDropped, hasHistory(file, hostile).n], [0, true, 0], tool);
    assert.equal((await run("verify")).json.ok, true, tool);

    if (tool !== "sqlx") continue;
    const fresh = editedAsTool(project, tool, source, "fresh.db", "");
    for (const [invalid, reason] of [
      ["main._sqlx_migrations", "SQLite"],
      ['"_sqlx_migrations', "quote"],
      ["", "empty"],
      ["sqlite_master", "SQLite's own"],
    ] as const) {
      const error = refusal(await cli(project, tool, fresh, ...adoptArgs, "--old-table", invalid), "ADOPT_OLD_TABLE_INVALID");
      assert.equal(error.value, invalid);
      assert.match(error.reason, new RegExp(reason));
    }
    assert.equal(refusal(await cli(project, tool, fresh, ...adoptArgs, "--old-table", "schema_migrations"), "ADOPT_TABLE_CLASH").table, "schema_migrations");
    assert.equal(refusal(await cli(project, tool, fresh, ...adoptArgs, "--old-table", "nowhere"), "ADOPT_HISTORY_MISSING").table, "nowhere");
  }
});

/** The tool's own history table name. */
function defaultTable(tool: string): string {
  return (
    {
      dbmate: "schema_migrations",
      "golang-migrate": "schema_migrations",
      diesel: "__diesel_schema_migrations",
      sqlx: "_sqlx_migrations",
      goose: "goose_db_version",
      flyway: "flyway_schema_history",
      prisma: "_prisma_migrations",
    }[tool] ?? "__drizzle_migrations"
  );
}

test("prisma: a migration.sql whose line endings differ from the ones it was applied with (CRLF against LF, either way) is adopted, as Prisma accepts it; another text is still refused", async (t) => {
  const { project, source } = await importedProject(t, "prisma");
  for (const [name, rewrite] of [
    ["to-lf.db", (text: string) => text.replaceAll("\r\n", "\n")],
    ["to-crlf.db", (text: string) => text.replaceAll("\n", "\r\n")],
  ] as const) {
    const file = buildAsTool(project, "prisma", source, 3, name);
    const db = new Database(file);
    for (const up of TOOLS.prisma!.ups) {
      const checksum = sha("sha256", Buffer.from(rewrite(readFileSync(path.join(source, up), "utf8"))));
      db.prepare("UPDATE _prisma_migrations SET checksum = ? WHERE migration_name = ?").run(checksum, path.dirname(up));
    }
    db.close();
    const adopted = await cli(project, "prisma", file, ...adoptArgs);
    assert.equal(adopted.code, 0, `${name}: ${JSON.stringify(adopted.json)}`);
  }
  // Imported from a checkout with CRLF line endings, against a database migrated from LF files.
  const crlf = createTestProject(t);
  const crlfSource = path.join(crlf.root, "prisma-migrations");
  cpSync(source, crlfSource, { recursive: true });
  for (const up of TOOLS.prisma!.ups) writeFileSync(path.join(crlfSource, up), readFileSync(path.join(source, up), "utf8").replaceAll("\n", "\r\n"));
  assert.equal((await runCli(["import", "prisma", "prisma-migrations", "--empty-down", "no-op", "--yes"], { cwd: crlf.root })).code, 0);
  await crlf.generateAsBin();
  const fromLf = buildAsTool(crlf, "prisma", source, 3, "from-lf.db");
  assert.equal((await cli(crlf, "prisma", fromLf, ...adoptArgs)).code, 0);

  const other = editedAsTool(project, "prisma", source, "other.db", "UPDATE _prisma_migrations SET checksum = 'ab' || substr(checksum, 3) WHERE migration_name = '20230101000000_init'");
  assert.equal(refusal(await cli(project, "prisma", other, ...adoptArgs), "ADOPT_CHECKSUM_MISMATCH").migrations.length, 1);
});

test("drizzle: a row missing below drizzle's newest (a gap its migrator never fills) is ADOPT_HISTORY_GAP naming the migration", async (t) => {
  const { project, source } = await importedProject(t, "drizzle");
  const file = editedAsTool(project, "drizzle", source, "gap.db", "DELETE FROM __drizzle_migrations WHERE created_at = 1700000100000");
  assert.deepEqual(refusal(await cli(project, "drizzle", file, ...adoptArgs), "ADOPT_HISTORY_GAP").missing, [{ version: 2, id: "0001_create_posts" }]);
});

test("drizzle: a journal whose entries share a `when` (drizzle's migrator records each under it) is adopted as drizzle-orm's own migrator built it, each row matched by its hash; a row of another text is still ADOPT_CHECKSUM_MISMATCH", async (t) => {
  const project = createTestProject(t);
  const source = path.join(project.root, "drizzle-migrations");
  mkdirSync(path.join(source, "meta"), { recursive: true });
  const entries = [
    { idx: 0, version: "6", when: 1700000000000, tag: "0000_init", breakpoints: true },
    { idx: 1, version: "6", when: 1700000000000, tag: "0001_seed", breakpoints: true },
    { idx: 2, version: "6", when: 1700000000000, tag: "0002_also_seed", breakpoints: true },
  ];
  writeFileSync(path.join(source, "meta", "_journal.json"), JSON.stringify({ version: "7", dialect: "sqlite", entries }));
  writeFileSync(path.join(source, "0000_init.sql"), "CREATE TABLE a (id INTEGER PRIMARY KEY);\n");
  writeFileSync(path.join(source, "0001_seed.sql"), "INSERT INTO a VALUES (1);\n");
  writeFileSync(path.join(source, "0002_also_seed.sql"), "INSERT INTO a VALUES (2);\n");
  const imported = await runCli(["import", "drizzle", "drizzle-migrations", "--empty-down", "no-op", "--yes"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stderr);
  await project.generateAsBin();
  const file = project.databasePath("shared-when.db");
  const sqlite = new Database(file);
  migrate(drizzle(sqlite), { migrationsFolder: source });
  sqlite.close();
  const other = project.databasePath("other-text.db");
  cpSync(file, other);
  const db = new Database(other);
  db.prepare("UPDATE __drizzle_migrations SET hash = 'x' WHERE hash = ?").run(sha("sha256", readFileSync(path.join(source, "0001_seed.sql"))));
  db.close();
  const adopted = await cli(project, "drizzle", file, ...adoptArgs);
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.deepEqual(adopted.json.recorded, [1, 2, 3]);
  assert.deepEqual(
    refusal(await cli(project, "drizzle", other, ...adoptArgs), "ADOPT_CHECKSUM_MISMATCH").migrations.map((entry: Json) => entry.version),
    [2],
  );
});

test("drizzle: a folder checked out with CRLF line endings (git's core.autocrlf) is adopted on a database drizzle-orm's migrator built from the LF files, as drizzle never checks a hash again; another text is still ADOPT_CHECKSUM_MISMATCH", async (t) => {
  const project = createTestProject(t);
  const [lf, crlf] = [path.join(project.root, "drizzle-lf"), path.join(project.root, "drizzle-migrations")];
  const entries = [
    { idx: 0, version: "6", when: 1700000000000, tag: "0000_init", breakpoints: true },
    { idx: 1, version: "6", when: 1700000100000, tag: "0001_more", breakpoints: true },
  ];
  const files = {
    "0000_init.sql": "CREATE TABLE `a` (\n\t`id` integer PRIMARY KEY\n);\n",
    "0001_more.sql": "CREATE TABLE `b` (`id` integer);\n--> statement-breakpoint\nCREATE INDEX `b_id` ON `b` (`id`);\n",
  };
  for (const [dir, newline] of [
    [lf, "\n"],
    [crlf, "\r\n"],
  ] as const) {
    mkdirSync(path.join(dir, "meta"), { recursive: true });
    writeFileSync(path.join(dir, "meta", "_journal.json"), JSON.stringify({ version: "7", dialect: "sqlite", entries }));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text.replaceAll("\n", newline));
  }
  const imported = await runCli(["import", "drizzle", "drizzle-migrations", "--empty-down", "no-op", "--yes"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stderr);
  await project.generateAsBin();
  const file = project.databasePath("lf.db");
  const sqlite = new Database(file);
  migrate(drizzle(sqlite), { migrationsFolder: lf });
  sqlite.close();
  const other = project.databasePath("other-text.db");
  cpSync(file, other);
  const db = new Database(other);
  db.prepare("UPDATE __drizzle_migrations SET hash = ? WHERE created_at = 1700000100000").run(sha("sha256", Buffer.from(files["0001_more.sql"].replace("b_id", "b_other"))));
  db.close();
  const adopted = await cli(project, "drizzle", file, ...adoptArgs);
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.deepEqual(adopted.json.recorded, [1, 2]);
  assert.deepEqual(
    refusal(await cli(project, "drizzle", other, ...adoptArgs), "ADOPT_CHECKSUM_MISMATCH").migrations.map((entry: Json) => entry.version),
    [2],
  );
});

test("diesel: an adopted database holding a dangling key its tool's connection let through (foreign keys off) goes on with up: the imported foreign_keys:off migration is not blamed for it", async (t) => {
  const { project, source } = await importedProject(t, "diesel");
  const file = editedAsTool(project, "diesel", source, "orphans.db", "");
  const db = new Database(file);
  // Migration 5 is not applied yet.
  db.exec("DELETE FROM __diesel_schema_migrations WHERE version = '201903021'; DROP INDEX tags_name");
  db.exec("PRAGMA foreign_keys = OFF; INSERT INTO posts (id, user_id, title) VALUES (1, 42, 'orphan')");
  db.close();
  assert.equal((await cli(project, "diesel", file, ...adoptArgs)).json.version, 4);
  const up = await cli(project, "diesel", file, "up");
  assert.equal(up.code, 0, JSON.stringify(up.json));
  assert.equal((await cli(project, "diesel", file, "verify")).json.ok, true);
});

test("docs/adopting.md's --old-table commands, typed as written, adopt a goose database whose table goose was told to name goose_versions, and verify passes", async (t) => {
  const { project, source } = await importedProject(t, "goose");
  mkdirSync(path.join(project.root, "data"));
  cpSync(editedAsTool(project, "goose", source, "renamed.db", "ALTER TABLE goose_db_version RENAME TO goose_versions"), path.join(project.root, "data", "app.db"));
  const commands = commandsOf(block(guideBlocks(readFileSync(path.join(repoRoot, "docs", "adopting.md"), "utf8")), "adopt-old-table"));
  assert.deepEqual(
    commands.map((words) => words.slice(0, 3).join(" ")),
    ["npx stepwise adopt", "npx stepwise verify"],
  );
  for (const words of commands) {
    const run = await runCli(words.slice(2), { cwd: project.root });
    assert.equal(run.code, 0, `${words.join(" ")}: ${run.stdout}${run.stderr}`);
  }
  assert.equal((await cli(project, "goose", path.join(project.root, "data", "app.db"), "status")).json.currentVersion, TOOLS.goose!.ups.length);
});

test("flyway: a BASELINE row (flyway baseline, or baselineOnMigrate) stands for every version at or below it as applied, whether or not the import holds its version; up applies the rest", async (t) => {
  const { project, source } = await importedProject(t, "flyway");
  for (const [baseline, name] of [
    ["1.1", "at-a-version.db"],
    ["1.5", "between-versions.db"],
  ] as const) {
    const file = editedAsTool(
      project,
      "flyway",
      source,
      name,
      `DELETE FROM flyway_schema_history WHERE version IN ('1', '1.1', '1.11');
       UPDATE flyway_schema_history SET installed_rank = installed_rank + 10;
       INSERT INTO flyway_schema_history VALUES (1, '${baseline}', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'app', 'now', 0, 1)`,
    );
    const adopted = await cli(project, "flyway", file, ...adoptArgs);
    assert.equal(adopted.code, 0, `${baseline}: ${JSON.stringify(adopted.json)}`);
    assert.equal(adopted.json.version, 4, baseline);
    assert.equal((await cli(project, "flyway", file, "up")).code, 0);
    assert.equal((await cli(project, "flyway", file, "verify")).json.ok, true);
  }
});

test("flyway: migrations Flyway ran as code (a Java JDBC one between two SQL scripts, a SPRING_JDBC one last, with a checksum of its own) are ADOPT_UNKNOWN_MIGRATION listing them in `ranAsCode`, not failed ones; SQL scripts of their versions written in their place adopt, their rows' checksums not compared", async (t) => {
  const { project, source } = await importedProject(t, "flyway");
  const db = editedAsTool(
    project,
    "flyway",
    source,
    "java.db",
    `UPDATE flyway_schema_history SET installed_rank = installed_rank * 10;
     INSERT INTO flyway_schema_history VALUES (35, '1.9.5', 'Backfill tags', 'JDBC', 'db.migration.V1_9_5__Backfill_tags', NULL, 'app', 'now', 1, 1);
     INSERT INTO flyway_schema_history VALUES (60, '1.12', 'Seed roles', 'SPRING_JDBC', 'db.migration.V1_12__Seed_roles', 1234, 'app', 'now', 1, 1)`,
  );
  const error = refusal(await cli(project, "flyway", db, ...adoptArgs), "ADOPT_UNKNOWN_MIGRATION");
  assert.deepEqual(error.ids, ["1.9.5", "1.12"]);
  assert.deepEqual(error.ranAsCode, [
    { id: "1.9.5", type: "JDBC" },
    { id: "1.12", type: "SPRING_JDBC" },
  ]);
  assert.equal(hasHistory(db).n, 0);

  // The fix the error names: a SQL script of each version (nothing to do on a database built from empty), imported again.
  writeFileSync(path.join(source, "V1.9.5__Backfill_tags.sql"), "-- The Java backfill's rows exist only where the tags did.\nSELECT 1;\n");
  writeFileSync(path.join(source, "V1.12__Seed_roles.sql"), "SELECT 1;\n");
  rmSync(project.migrationsDir, { recursive: true });
  assert.equal((await runCli(["import", "flyway", "flyway-migrations", "--empty-down", "no-op", "--yes"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  const adopted = await cli(project, "flyway", db, ...adoptArgs);
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.equal(adopted.json.version, 7);
  assert.equal((await cli(project, "flyway", db, "verify")).json.ok, true);
});

test('sqlx: files checked out with CRLF, against a database sqlx 0.9 migrated with ignored-chars = ["\\r"] (its checksums taken without carriage returns), are adopted', async (t) => {
  const project = createTestProject(t);
  const source = path.join(project.root, "sqlx-migrations");
  cpSync(path.join(fixturesDir, "import", "sqlx"), source, { recursive: true });
  const lf = path.join(project.root, "lf");
  cpSync(source, lf, { recursive: true });
  for (const up of TOOLS.sqlx!.ups) writeFileSync(path.join(source, up), readFileSync(path.join(lf, up), "utf8").replaceAll("\r\n", "\n").replaceAll("\n", "\r\n"));
  assert.equal((await runCli(["import", "sqlx", "sqlx-migrations", "--empty-down", "no-op", "--yes"], { cwd: project.root })).code, 0);
  await project.generateAsBin();
  // The history sqlx wrote hashes each file without its carriage returns: the LF copy's bytes.
  const file = buildAsTool(project, "sqlx", lf, TOOLS.sqlx!.ups.length);
  const adopted = await cli(project, "sqlx", file, ...adoptArgs);
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.equal(adopted.json.version, TOOLS.sqlx!.ups.length);
});
