/**
 * Fleets on servers: PostgreSQL schemas (one server, `--schema 'tenant_*'`, each schema with its own
 * history table, run lock and search_path), PostgreSQL databases listed by URL, and libSQL databases
 * on real sqld servers listed in a file with the token in the environment. Each through
 * `migrateMany` and through `stepwise fleet`, in-process: every database migrated, each exception
 * (another tool's schema, a broken history table, a held run lock, a database that is not there)
 * reported with its reason while the run goes on, and no password or token in any output.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { createClient } from "@libsql/client";
import pg from "pg";
import { runtimeConfig } from "../codegen/config.js";
import { runLockKey } from "../src/drivers/pg.js";
import { MigrationManager as LibsqlClientManager } from "../src/entries/libsql-client.js";
import { MigrationManager as PgManager } from "../src/entries/pg.js";
import { migrateMany } from "../src/index.js";
import { jsonError, jsonOutput, runInProcess } from "./support/in-process-cli.js";
import { createTestDatabase, type TestPostgresDatabase } from "./support/postgres-server.js";
import { makeTempDir } from "./support/project.js";
import { namedSqlEntry } from "./support/registry-builders.js";
import { sqldUnavailableReason, startSqld } from "./support/sqld-server.js";

const postgresRegistry = [
  namedSqlEntry(1, "create_items", "CREATE TABLE items (id bigint PRIMARY KEY, note text); CREATE TABLE ran (version int NOT NULL); INSERT INTO ran VALUES (1);", null, { dialect: "postgres" }),
  namedSqlEntry(2, "add_tag", "ALTER TABLE items ADD COLUMN tag text; INSERT INTO ran VALUES (2);", null, { dialect: "postgres" }),
];
const sqliteRegistry = [
  namedSqlEntry(1, "create_items", "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT); CREATE TABLE ran (version INTEGER NOT NULL); INSERT INTO ran VALUES (1);"),
  namedSqlEntry(2, "add_tag", "ALTER TABLE items ADD COLUMN tag TEXT; INSERT INTO ran VALUES (2);"),
];

type Json = Record<string, unknown> & { targets: Array<Record<string, unknown> & { id: string; error: { code: string } | null }> };
const byId = (report: Json) => Object.fromEntries(report.targets.map((target) => [target.id, target]));

async function withClient<T>(url: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

/** A fresh database for the test, dropped after it. */
async function database(t: TestContext): Promise<TestPostgresDatabase> {
  const created = await createTestDatabase();
  t.after(() => created.drop());
  return created;
}

/** `ran`'s versions in `schema`, in order: each migration that ran there, once each. */
const ranIn = (client: pg.Client, schema: string) => client.query<{ version: number }>(`SELECT version FROM "${schema}".ran ORDER BY version`).then((result) => result.rows.map((row) => row.version));

test("migrateMany on PostgreSQL schemas: a session per schema with its search_path, each schema its own history", async (t) => {
  const db = await database(t);
  const schemas = ["tenant_1", "tenant_2", "tenant_3"];
  await withClient(db.url, (client) => client.query(schemas.map((schema) => `CREATE SCHEMA ${schema}`).join("; ")));
  const open = async (schema: string) => {
    const client = new pg.Client({ connectionString: db.url, options: `-c search_path=${schema}` });
    await client.connect();
    return new PgManager(client, postgresRegistry, { schema });
  };
  const close = (manager: PgManager<typeof postgresRegistry>) => (manager.db as pg.Client).end();
  const report = await migrateMany(schemas, open, { close, concurrency: 2 });
  assert.deepEqual(
    report.targets.map((target) => [target.id, target.ok, target.fromVersion, target.toVersion]),
    schemas.map((schema) => [schema, true, 0, 2]),
  );
  const again = await migrateMany(schemas, open, { close });
  assert.ok(again.targets.every((target) => target.ok && target.steps.length === 0));
  await withClient(db.url, async (client) => {
    for (const schema of schemas) assert.deepEqual(await ranIn(client, schema), [1, 2]);
    const publicTables = await client.query("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public'");
    assert.equal(publicTables.rowCount, 0, "nothing lands in public");
  });
});

test("stepwise fleet on PostgreSQL schemas: the histogram, each refusal and the held lock reported, the rest migrated, drift found per schema", async (t) => {
  const db = await database(t);
  const lockKey = await runLockKey("tenant_locked", "schema_migrations");
  await withClient(db.url, (client) =>
    client.query(
      [
        "CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b; CREATE SCHEMA tenant_locked; CREATE SCHEMA other",
        "CREATE SCHEMA tenant_foreign; CREATE TABLE tenant_foreign.accounts (id int)",
        "CREATE SCHEMA tenant_broken; CREATE TABLE tenant_broken.schema_migrations (id int)",
      ].join("; "),
    ),
  );
  const holder = new pg.Client({ connectionString: db.url });
  // The database is dropped (its sessions ended) before this client's own end, when a test fails.
  holder.on("error", () => undefined);
  await holder.connect();
  t.after(() => holder.end());
  await holder.query("SELECT pg_catalog.pg_advisory_lock($1::bigint)", [lockKey]);
  const fleet = (...args: string[]) => runInProcess({ migrations: postgresRegistry }, ["fleet", ...args, "--driver", "pg", "--url", db.url, "--busy-timeout", "200", "--json"]);

  const status = jsonOutput<Json>(await fleet("status", "--schema", "tenant_*"), 1);
  assert.deepEqual(
    status.targets.map((target) => [target.id, target.state, target.error?.code ?? null]),
    [
      ["tenant_a", "pending", null],
      ["tenant_b", "pending", null],
      ["tenant_broken", "refusing", "HISTORY_TABLE_INVALID"],
      ["tenant_foreign", "refusing", "UNMANAGED_DATABASE"],
      ["tenant_locked", "pending", null],
    ],
  );
  const up = byId(jsonOutput<Json>(await fleet("up", "--schema", "tenant_*", "--concurrency", "3"), 1));
  assert.deepEqual(
    Object.values(up).map((target) => [target.id, target.ok, target.toVersion, target.error?.code ?? null]),
    [
      ["tenant_a", true, 2, null],
      ["tenant_b", true, 2, null],
      ["tenant_broken", false, 0, "HISTORY_TABLE_INVALID"],
      ["tenant_foreign", false, 0, "UNMANAGED_DATABASE"],
      ["tenant_locked", false, 0, "DATABASE_LOCKED"],
    ],
  );
  // The next step names the server (no password), the schema and the driver, so it acts on this tenant and no other.
  const server = new URL(db.url);
  assert.match(
    String((up.tenant_foreign!.error as { fix?: unknown }).fix),
    new RegExp(`"stepwise baseline --url postgres://${server.username}@${server.host}${server.pathname} --schema tenant_foreign --driver pg `),
  );
  // With a password in the URL the step carries none, not its redacted stand-in: it comes from PGPASSWORD.
  const withPassword = Object.assign(new URL(db.url), { password: "s3cret" }).href;
  const secretRun = await runInProcess({ migrations: postgresRegistry }, ["fleet", "up", "--driver", "pg", "--url", withPassword, "--schema", "tenant_foreign", "--json"]);
  const secretFix = String((jsonOutput<Json>(secretRun, 1).targets[0]!.error as { fix?: unknown }).fix);
  assert.match(secretFix, new RegExp(`--url postgres://${server.username}@${server.host}${server.pathname} `));
  assert.doesNotMatch(secretFix, /\*\*\*|s3cret/);
  await holder.query("SELECT pg_catalog.pg_advisory_unlock($1::bigint)", [lockKey]);
  const rest = jsonOutput<Json>(await fleet("up", "--schema", "tenant_[al]*"));
  assert.deepEqual([rest.migrated, rest.current], [1, 1]);
  await withClient(db.url, async (client) => {
    for (const schema of ["tenant_a", "tenant_b", "tenant_locked"]) assert.deepEqual(await ranIn(client, schema), [1, 2]);
    assert.equal((await client.query("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = 'other'")).rowCount, 0, "a schema the pattern misses is not touched");
    await client.query("CREATE INDEX outside ON tenant_b.items (note)");
  });
  const verify = jsonOutput<Json>(await fleet("verify", "--schema", "tenant_[ab]"), 1);
  assert.deepEqual(
    verify.targets.map((target) => [target.id, target.ok]),
    [
      ["tenant_a", true],
      ["tenant_b", false],
    ],
  );
});

test("stepwise fleet on PostgreSQL schemas whose names need quoting: capitals kept, a space refused by the driver and reported", async (t) => {
  const db = await database(t);
  await withClient(db.url, (client) => client.query(`CREATE SCHEMA "Tenant_B"; CREATE SCHEMA "Tenant A"`));
  const run = await runInProcess({ migrations: postgresRegistry }, ["fleet", "up", "--driver", "pg", "--url", db.url, "--schema", "Tenant*", "--json"]);
  assert.deepEqual(
    jsonOutput<Json>(run, 1).targets.map((target) => [target.id, target.ok, target.toVersion, target.error?.code ?? null]),
    [
      ["Tenant A", false, null, "USAGE"],
      ["Tenant_B", true, 2, null],
    ],
  );
  await withClient(db.url, async (client) => {
    assert.deepEqual(await ranIn(client, "Tenant_B"), [1, 2]);
    assert.equal((await client.query("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname IN ('public', 'Tenant A')")).rowCount, 0, "nothing lands elsewhere");
  });
});

test("stepwise fleet up: a schema the pattern listed, dropped before its turn, is reported gone (DATABASE_PATH_INVALID) and not created anew", async (t) => {
  const db = await database(t);
  await withClient(db.url, (client) => client.query("CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b"));
  // Tenant a's migration drops tenant b, whose turn comes after it (one at a time, in name order).
  const registry = [namedSqlEntry(1, "drop_b", "DROP SCHEMA IF EXISTS tenant_b CASCADE; CREATE TABLE items (id int);", null, { dialect: "postgres" })];
  const run = await runInProcess({ migrations: registry }, ["fleet", "up", "--driver", "pg", "--url", db.url, "--schema", "tenant_*", "--concurrency", "1", "--json"]);
  const targets = jsonOutput<Json>(run, 1).targets as Array<{ id: string; ok: boolean; error: { code: string; problem?: string } | null }>;
  assert.deepEqual(
    targets.map((target) => [target.id, target.ok, target.error?.code ?? null, target.error?.problem ?? null]),
    [
      ["tenant_a", true, null, null],
      ["tenant_b", false, "DATABASE_PATH_INVALID", "gone"],
    ],
  );
  await withClient(db.url, async (client) => assert.equal((await client.query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'tenant_b'")).rowCount, 0));
});

test("stepwise fleet on PostgreSQL databases listed by URL: each migrated, one that is not there reported, no password printed", async (t) => {
  const [first, second] = [await database(t), await database(t)];
  const withPassword = (url: string) => url.replace("postgres@", "postgres:pw-s3cret@");
  const cwd = makeTempDir(t);
  const missing = first.url.replace(/\/[^/]+$/, "/stepwise_no_such_database");
  writeFileSync(path.join(cwd, "databases.txt"), `# the tenants\n${withPassword(first.url)}\n\n${withPassword(second.url)}\n${missing}\n`);
  const run = await runInProcess({ migrations: postgresRegistry, cwd }, ["fleet", "up", "--driver", "pg", "--url-file", "databases.txt", "--json"]);
  assert.doesNotMatch(run.stdout + run.stderr, /pw-s3cret/);
  const report = jsonOutput<Json>(run, 1);
  assert.deepEqual(
    report.targets.map((target) => [target.ok, target.error?.code ?? null]),
    [
      [true, null],
      [true, null],
      [false, "DATABASE_UNUSABLE"],
    ],
  );
  assert.match(report.targets[0]!.id, /^postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/stepwise_/);
  for (const each of [first, second]) await withClient(each.url, async (client) => assert.deepEqual(await ranIn(client, "public"), [1, 2]));
});

test("stepwise fleet --url-file with no driver named: the file's postgres:// URLs pick pg, as --url's would, whatever the url setting holds", async (t) => {
  const [first, second] = [await database(t), await database(t)];
  const cwd = makeTempDir(t);
  writeFileSync(path.join(cwd, "databases.txt"), `# the tenants\n${first.url}\n${second.url}\n`);
  // --url-file takes the url setting's place, so the setting neither picks the driver nor is read: not even one naming a variable not set here.
  for (const stepwise of [{}, { url: "${PG_URL}" }, { url: "libsql://elsewhere.example" }]) {
    writeFileSync(path.join(cwd, "package.json"), JSON.stringify({ name: "app", private: true, stepwise }));
    const run = await runInProcess({ migrations: postgresRegistry, cwd, ...runtimeConfig(cwd, {}) }, ["fleet", "up", "--url-file", "databases.txt", "--json"]);
    assert.deepEqual(
      jsonOutput<Json>(run).targets.map((target) => target.ok),
      [true, true],
      JSON.stringify(stepwise),
    );
  }
  for (const each of [first, second]) await withClient(each.url, async (client) => assert.deepEqual(await ranIn(client, "public"), [1, 2]));
});

test("stepwise fleet with no databases given names the server ways too, and --driver pg --schema, as named, reaches DATABASE_URL's schemas", async (t) => {
  const server = await database(t);
  const cwd = makeTempDir(t);
  writeFileSync(path.join(cwd, "package.json"), JSON.stringify({ name: "app", private: true, stepwise: { dialect: "postgres" } }));
  const env = { DATABASE_URL: server.url };
  const run = (args: string[]) => runInProcess({ migrations: postgresRegistry, cwd, ...runtimeConfig(cwd, env) }, [...args, "--json"], env);
  // DATABASE_URL picks no driver, so the fleet looks for SQLite files.
  const refused = jsonError(await run(["fleet", "status"]), 2);
  assert.equal(refused.code, "USAGE");
  for (const way of ["--db '<glob>'", "--url-file <file>", "--driver pg --schema '<glob>'"]) assert.ok(String(refused.fix).includes(way), `${way} in ${String(refused.fix)}`);
  const followed = jsonOutput<Json>(await run(["fleet", "up", "--driver", "pg", "--schema", "public"]));
  assert.deepEqual(
    followed.targets.map((target) => target.ok),
    [true],
  );
});

test("libSQL per customer: sqld servers and a file: URL listed in a file, the token from the environment; migrateMany on the same", async (t) => {
  const unavailable = sqldUnavailableReason();
  if (unavailable !== null) return t.skip(unavailable);
  const servers = [await startSqld(), await startSqld()];
  t.after(() => Promise.all(servers.map((server) => server.dispose())));
  const cwd = makeTempDir(t);
  writeFileSync(path.join(cwd, "customers.txt"), [...servers.map((server) => server.url), "file:local.db", ""].join("\n"));
  // A fleet migrates the tenants there are: the file's tenant exists (an empty database).
  writeFileSync(path.join(cwd, "local.db"), "");
  const token = "tok-never-printed-4711";
  const fleet = (...args: string[]) =>
    runInProcess({ migrations: sqliteRegistry, cwd }, ["fleet", ...args, "--driver", "libsql-client", "--url-file", "customers.txt", "--json"], { LIBSQL_AUTH_TOKEN: token });
  const up = await fleet("up");
  assert.doesNotMatch(up.stdout + up.stderr, new RegExp(token));
  const report = jsonOutput<Json>(up);
  assert.deepEqual(
    report.targets.map((target) => [target.id, target.toVersion]),
    [...servers.map((server) => [server.url, 2]), [path.join(cwd, "local.db"), 2]],
  );
  const status = jsonOutput<Json>(await fleet("status"));
  assert.deepEqual([status.versions, status.venue], [{ "2": 3 }, "in-process"]);

  const api = await migrateMany(
    servers.map((server) => server.url),
    (url) => new LibsqlClientManager(createClient({ url }), sqliteRegistry),
    { close: (manager) => manager.db.close() },
  );
  assert.deepEqual(
    api.targets.map((target) => [target.ok, target.fromVersion, target.steps.length]),
    [
      [true, 2, 0],
      [true, 2, 0],
    ],
  );
});

test("stepwise fleet --schema over several servers: one whose schemas cannot be listed fails as one target, in every shard, and the others are migrated", async (t) => {
  const db = await database(t);
  await withClient(db.url, (client) => client.query("CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b"));
  const cwd = makeTempDir(t);
  const down = db.url.replace("postgres@", "postgres:pw-s3cret@").replace(/:\d+\//, ":1/");
  writeFileSync(path.join(cwd, "servers.txt"), `${down}\n${db.url}\n`);
  const fleet = (...args: string[]) => runInProcess({ migrations: postgresRegistry, cwd }, ["fleet", "up", "--driver", "pg", "--url-file", "servers.txt", "--schema", "tenant_*", "--json", ...args]);
  const run = await fleet();
  assert.doesNotMatch(run.stdout + run.stderr, /pw-s3cret/);
  const report = jsonOutput<Json>(run, 1);
  assert.deepEqual(
    report.targets.map((target) => [target.id.replace(/^.*#/, "#"), target.ok, target.error?.code ?? null]),
    [
      ["#tenant_*", false, "DATABASE_UNUSABLE"],
      ["#tenant_a", true, null],
      ["#tenant_b", true, null],
    ],
  );
  for (const shard of ["1/2", "2/2"]) assert.equal(byId(jsonOutput<Json>(await fleet("--shard", shard), 1))[report.targets[0]!.id]?.error?.code, "DATABASE_UNUSABLE", `shard ${shard}`);
});
