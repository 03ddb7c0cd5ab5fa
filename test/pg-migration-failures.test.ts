/**
 * What a failed migration on PostgreSQL tells, against a real server: the server's DETAIL and HINT
 * (in the text and as fields of `--json`), a lock wait bounded by `lockTimeoutMs` / `--lock-timeout`
 * that names the relation and the session holding it (never its query text) with nothing changed and
 * the session's own `lock_timeout` as it was, and the invalid indexes a failed `CREATE INDEX
 * CONCURRENTLY` left, each with the statement that removes it, in the failure and in `repair` (the
 * API, the CLI's text and `--json`). Through the library and the in-process CLI.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import pg from "pg";
import { MigrationManager } from "../src/entries/pg.js";
import { repairIncompleteMigration } from "../src/index.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../src/core/options.js";
import type { MigrationDefinition, MigrationEntry } from "../src/core/types.js";
import { createTestDatabase, type TestPostgresDatabase } from "./support/postgres-server.js";
import { asyncTsEntry, namedSqlEntry, rejection } from "./support/registry-builders.js";
import { jsonError, runPgCli, showsStack, withPgClient } from "./support/pg-cli.js";

const postgres = { dialect: "postgres" } as never;

async function freshDatabase(t: TestContext): Promise<TestPostgresDatabase> {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  return database;
}

/** A session of `application` holding what `statements` take, in a transaction left open until the test ends. */
async function holdInTransaction(t: TestContext, url: string, application: string, statements: string): Promise<{ pid: number; client: pg.Client }> {
  const client = new pg.Client({ connectionString: url, application_name: application });
  // The test's database is dropped WITH (FORCE) after it, which ends this session.
  client.on("error", () => undefined);
  await client.connect();
  t.after(() => client.end().catch(() => undefined));
  await client.query(`BEGIN; ${statements}`);
  return { pid: Number((await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid), client };
}

const ACCOUNTS = namedSqlEntry(1, "accounts", "CREATE TABLE accounts (id bigint PRIMARY KEY, email text);\nINSERT INTO accounts VALUES (1, 'a@x'), (2, 'a@x');", "DROP TABLE accounts;", postgres);

/** A pool on `database`, ended after the test (whose database drop ends its idle sessions first). */
function pooled(t: TestContext, database: TestPostgresDatabase): pg.Pool {
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  pool.on("error", () => undefined);
  t.after(() => pool.end());
  return pool;
}

async function tables(url: string): Promise<string[]> {
  return withPgClient(url, async (client) =>
    (await client.query<{ name: string }>("SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((row) => row.name),
  );
}

async function history(url: string): Promise<string[]> {
  return withPgClient(url, async (client) => (await client.query<{ row: string }>("SELECT version::text || ':' || state AS row FROM schema_migrations ORDER BY version")).rows.map((row) => row.row));
}

async function invalidIndexNames(url: string): Promise<string[]> {
  return withPgClient(url, async (client) =>
    (await client.query<{ name: string }>("SELECT c.relname::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid ORDER BY 1")).rows.map((row) => row.name),
  );
}

test("MIGRATION_FAILED carries PostgreSQL's DETAIL and HINT, in the text and as --json fields, from SQL, from a TypeScript body that wraps the error, and from a transaction: false migration", async (t) => {
  const database = await freshDatabase(t);
  const withView = namedSqlEntry(2, "with_view", "ALTER TABLE accounts ADD COLUMN nick text;\nCREATE VIEW nicks AS SELECT nick FROM accounts;", "ALTER TABLE accounts DROP COLUMN nick;", postgres);
  const registry = [ACCOUNTS, withView];
  assert.equal((await runPgCli(registry, database.url, ["up"])).code, 0);
  const down = await runPgCli(registry, database.url, ["down", "--json"]);
  const error = jsonError(down);
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.match(String(error.detail), /view nicks depends on column nick of table accounts/);
  assert.match(String(error.hint), /CASCADE/);
  const text = await runPgCli(registry, database.url, ["down"]);
  assert.match(text.stderr, /DETAIL: view nicks depends on column nick/);
  assert.match(text.stderr, /HINT: .*CASCADE/);
  assert.ok(!showsStack(text.stderr), text.stderr);

  // The library's error; a body that wraps the server's error in its own still shows the server's notes.
  const wrapping = asyncTsEntry(
    3,
    {
      async up(db: pg.ClientBase) {
        try {
          await db.query("INSERT INTO accounts (id) VALUES (1)");
        } catch (cause) {
          throw new Error("could not seed the accounts", { cause });
        }
      },
    } as unknown as MigrationDefinition<unknown>,
    postgres,
  ) as MigrationEntry;
  const unique = namedSqlEntry(3, "unique_email", "CREATE UNIQUE INDEX CONCURRENTLY accounts_email ON accounts (email);", null, { ...(postgres as object), transaction: false });
  const pool = pooled(t, database);
  for (const entry of [wrapping, unique]) {
    const failed = await rejection(() => new MigrationManager(pool, [...registry, entry]).up());
    assert.equal(failed.code, "MIGRATION_FAILED", String(failed.message));
    assert.match(String(failed.detail), /Key \((id|email)\)=\((1|a@x)\) (already exists|is duplicated)/);
    assert.match(String(failed.message), /DETAIL: Key/);
    if (entry === unique) {
      await withPgClient(database.url, (client) => client.query('DROP INDEX CONCURRENTLY IF EXISTS "accounts_email"'));
      await withPgClient(database.url, (client) => client.query("DELETE FROM schema_migrations WHERE version = 3"));
    }
  }
});

test("a transactional migration located by running it again keeps PostgreSQL's DETAIL and HINT in its text, as gen's registry places its SQL in the file", async (t) => {
  const database = await freshDatabase(t);
  // sqlLines as gen writes them: without a server position, the failing statement is found by running the migration again, which must not lose the server's notes.
  const placed = { ...(postgres as object), sqlLines: [2, null] } as never;
  const duplicate = namedSqlEntry(2, "seed", "INSERT INTO accounts VALUES (3, 'b@x');\nINSERT INTO accounts VALUES (3, 'c@x');", null, placed);
  const raising = namedSqlEntry(
    2,
    "check",
    "SELECT 1;\nDO $$ BEGIN RAISE EXCEPTION 'tenant check failed' USING ERRCODE = 'P0042', DETAIL = 'tenant 7 has no owner', HINT = 'give it one'; END $$;",
    null,
    placed,
  );
  for (const [entry, notes] of [
    [duplicate, ["DETAIL: Key \\(id\\)=\\(3\\) already exists"]],
    [raising, ["DETAIL: tenant 7 has no owner", "HINT: give it one"]],
  ] as const) {
    const registry = [ACCOUNTS, entry];
    const error = jsonError(await runPgCli(registry, database.url, ["up", "--json"]));
    assert.equal(error.code, "MIGRATION_FAILED");
    assert.deepEqual(error.location, { file: entry.file, line: 3, column: 1 });
    for (const note of notes) assert.match(String(error.message), new RegExp(note));
    const text = await runPgCli(registry, database.url, ["up"]);
    assert.equal(text.code, 1);
    for (const note of notes) assert.match(text.stderr, new RegExp(note));
    assert.match(text.stderr, new RegExp(`${entry.file}:3:1`));
    assert.deepEqual(await history(database.url), ["1:applied"]);
  }
});

test("a migration's failure is located where PostgreSQL points, inside a multi-line statement, a function body or a DO block, not at the statement's first line, in a transaction or outside one", async (t) => {
  const database = await freshDatabase(t);
  const pool = pooled(t, database);
  // Each up begins on line 2 of its file, as gen records it.
  const placed = (transaction: boolean) => ({ ...(postgres as object), transaction, sqlLines: [2, null] }) as never;
  const cases = [
    // The only statement: its text went in one query of its own.
    ["multi_line", "CREATE TABLE u (\n  a int,\n  b no_such_type\n);", { line: 4, column: 5 }],
    [
      "function_body",
      "CREATE TABLE v (a int);\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$\nDECLARE\n  x int;\nBEGIN\n  x := 1;\n  SELEC x;\n  RETURN x;\nEND\n$fn$;",
      { line: 8, column: 3 },
    ],
    // A run-time error inside a DO block: PL/pgSQL names the block's line in the error's context.
    ["do_block", "CREATE TABLE v (a int);\nDO $$\nDECLARE x int;\nBEGIN\n  x := 1;\n  PERFORM no_such_function(x);\nEND $$;", { line: 7, column: 3 }],
    // Its message differs on the rerun that finds the line (a new transaction's now()): the same failure all the same, by its SQLSTATE.
    ["raise_now", "CREATE TABLE v (a int);\nDO $$\nBEGIN\n  IF true THEN\n    RAISE EXCEPTION 'boom at %', clock_timestamp();\n  END IF;\nEND $$;", { line: 6, column: 5 }],
    ["long_line", `${"SELECT 1; ".repeat(300)}SELECT no_such_column FROM (SELECT 1) AS s;`, { line: 2, column: 3008 }],
    // PostgreSQL counts its position in characters; the column counts UTF-16 code units, as gen's problems and SQLite's locations do (an emoji is two).
    ["astral", "SELECT '\u{1F600}', no_such_column;", { line: 2, column: 14 }],
    ["astral_next_line", "SELECT '\u{1F600}',\n  '\u{1F600}', no_such_column;", { line: 3, column: 9 }],
  ] as const;
  for (const [name, sql, at] of cases) {
    for (const transaction of [true, false]) {
      const entry = namedSqlEntry(2, name, sql, null, placed(transaction));
      const error = await rejection(() => new MigrationManager(pool, [ACCOUNTS, entry]).up());
      assert.equal(error.code, "MIGRATION_FAILED", String(error.message));
      assert.deepEqual(error.location, { file: entry.file, ...at }, `${name}, transaction: ${transaction}`);
      if (!transaction) await withPgClient(database.url, (client) => client.query("DELETE FROM schema_migrations WHERE version = 2; DROP TABLE IF EXISTS v"));
    }
  }
  // Outside a transaction, one holding its own BEGIN … COMMIT (or a PREPARE) goes to the driver whole, which sends each statement alone: the position counts from the statement.
  const own = namedSqlEntry(2, "own_transaction", "CREATE TABLE w (a int);\nBEGIN;\nINSERT INTO w VALUES (1);\nCOMMIT;\nPREPARE q AS SELECT 1;\nSELECT\n  no_such_column FROM w;", null, placed(false));
  const error = await rejection(() => new MigrationManager(pool, [ACCOUNTS, own]).up());
  assert.deepEqual([error.code, error.location], ["MIGRATION_FAILED", { file: own.file, line: 8, column: 3 }]);
  await withPgClient(database.url, (client) => client.query("DELETE FROM schema_migrations WHERE version = 2; DROP TABLE w"));
  // A PREPARE outlives the rollback, so run again it fails otherwise than the run did: no line rather than the PREPARE's.
  const prepared = namedSqlEntry(2, "prepared", "PREPARE located_q AS SELECT 1;\nINSERT INTO no_such_table VALUES (1);", null, placed(true));
  const unlocated = await rejection(() => new MigrationManager(pool, [ACCOUNTS, prepared]).up());
  assert.deepEqual([unlocated.code, unlocated.location], ["MIGRATION_FAILED", null]);
  assert.deepEqual(await tables(database.url), ["accounts", "schema_migrations"]);
});

test("a statement past the database's statement_timeout is MIGRATION_FAILED saying how the migration lifts it for itself, in a transaction or outside one; done so, it applies", async (t) => {
  const database = await freshDatabase(t);
  await withPgClient(database.url, (client) => client.query(`ALTER DATABASE "${database.name}" SET statement_timeout = 300`));
  const pool = pooled(t, database);
  const slow = (transaction: boolean, lift = "") => namedSqlEntry(1, "slow", `${lift}CREATE TABLE slow (id int);\nSELECT pg_sleep(0.8);`, null, { dialect: "postgres", transaction } as never);
  for (const [transaction, set] of [
    [true, "SET LOCAL statement_timeout"],
    [false, "SET statement_timeout"],
  ] as const) {
    const error = await rejection(() => new MigrationManager(pool, [slow(transaction)]).up());
    assert.deepEqual([error.code, error.nativeCode, error.rolledBack, error.setting], ["MIGRATION_FAILED", "57014", transaction, "statement_timeout"]);
    assert.ok(String(error.message).includes(`A migration that needs longer lifts it for itself with ${set} = '30min'`), String(error.message));
    if (!transaction) await withPgClient(database.url, (client) => client.query("DROP TABLE slow; DELETE FROM schema_migrations"));
  }
  // The CLI's fix is chosen by that field: the migration's SQL is not at fault.
  const cli = jsonError(await runPgCli([slow(true)], database.url, ["up", "--json"]));
  assert.deepEqual([cli.code, cli.setting], ["MIGRATION_FAILED", "statement_timeout"]);
  assert.match(String(cli.fix), /^let migrations\/\S+ run longer than the session's statement_timeout: make "SET LOCAL statement_timeout = '30min'" its first statement/);
  await new MigrationManager(pool, [slow(true, "SET LOCAL statement_timeout = '30min';\n")]).up();
  assert.deepEqual(await history(database.url), ["1:applied"]);
  // The same SQLSTATE from COPY FROM STDIN given no data is no timeout: no setting, and no advice to lift one.
  const copy = asyncTsEntry<pg.Pool>(2, { up: async (db) => void (await db.query("COPY slow FROM STDIN")) }, { dialect: "postgres" } as never);
  const copied = await rejection(() => new MigrationManager(pool, [slow(true, "SET LOCAL statement_timeout = '30min';\n"), copy]).up());
  assert.deepEqual([copied.code, copied.nativeCode, copied.setting], ["MIGRATION_FAILED", "57014", null]);
  assert.doesNotMatch(String(copied.message), /statement_timeout/);
});

test("a server that answers in another language (lc_messages): a statement_timeout or a search_path naming no schema is still MIGRATION_FAILED's setting, read from the SQLSTATE and the server's routine, not its words; a schema the migration names that does not exist is not the session's", async (t) => {
  const database = await freshDatabase(t);
  // As a server with lc_messages = 'de_DE' words them; the SQLSTATE and the routine are never translated. A pool per case: a database's settings apply to sessions that start after them.
  const german: Record<string, string> = { "57014": "storniere Anfrage wegen Zeitüberschreitung der Anweisung", "3F000": "kein Schema für die Objekterzeugung ausgewählt" };
  const failure = async (settings: string, sql: string) => {
    await withPgClient(database.url, (client) => client.query(`ALTER DATABASE "${database.name}" RESET ALL; ${settings}`));
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    pool.on("error", () => undefined);
    t.after(() => pool.end());
    pool.on("connect", (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        const result = query(...args);
        const translate = (error: { code?: string; message: string }) => {
          if (error.code !== undefined && error.code in german) error.message = german[error.code]!;
          throw error;
        };
        return result instanceof Promise ? result.catch(translate) : result;
      };
    });
    return rejection(() => new MigrationManager(pool, [namedSqlEntry(1, "one", sql, null, postgres)]).up());
  };
  const timedOut = await failure(`ALTER DATABASE "${database.name}" SET statement_timeout = 300`, "SELECT pg_sleep(0.8);");
  assert.deepEqual([timedOut.code, timedOut.nativeCode, timedOut.setting], ["MIGRATION_FAILED", "57014", "statement_timeout"]);
  assert.match(String(timedOut.message), /storniere Anfrage[^]*SET LOCAL statement_timeout = '30min' as its first statement/);
  const noSchema = await failure(`ALTER DATABASE "${database.name}" SET search_path = ''`, "CREATE TABLE items (id int);");
  assert.deepEqual([noSchema.code, noSchema.nativeCode, noSchema.setting], ["MIGRATION_FAILED", "3F000", "search_path"]);
  assert.match(String(noSchema.message), /kein Schema[^]*The session's search_path names no schema that exists/);
  const named = await failure("", "CREATE TABLE nosuch.items (id int);");
  assert.deepEqual([named.code, named.nativeCode, named.setting], ["MIGRATION_FAILED", "3F000", null]);
  assert.doesNotMatch(String(named.message), /search_path/);
});

test("a session whose search_path names no schema (set empty or to a missing one for the database) is MIGRATION_FAILED saying so, with a fix that is not the migration's; --schema then works", async (t) => {
  const database = await freshDatabase(t);
  const items = namedSqlEntry(1, "items", "CREATE TABLE items (id int);", null, postgres);
  for (const path of ["''", "nosuch"]) {
    await withPgClient(database.url, (client) => client.query(`ALTER DATABASE "${database.name}" SET search_path = ${path}`));
    const error = jsonError(await runPgCli([items], database.url, ["up", "--json"]));
    assert.deepEqual([error.code, error.nativeCode, error.rolledBack, error.setting], ["MIGRATION_FAILED", "3F000", true, "search_path"]);
    assert.match(String(error.message), /The session's search_path names no schema that exists/);
    assert.match(String(error.fix), /^give the session a schema to build in: pass --schema <schema>/);
  }
  assert.equal((await runPgCli([items], database.url, ["up", "--schema", "app"])).code, 0);
});

test("a history table whose row-level security applies to stepwise's role is HISTORY_TABLE_INVALID row-security before anything runs, not its applied migrations run again", async (t) => {
  const database = await freshDatabase(t);
  const role = `stepwise_rls_${Math.random().toString(16).slice(2, 10)}`;
  await withPgClient(database.url, (client) => client.query(`CREATE ROLE ${role} LOGIN; CREATE SCHEMA app AUTHORIZATION ${role}`));
  t.after(async () => {
    await database.drop();
    await withPgClient(database.server.url("postgres"), (admin) => admin.query(`DROP ROLE IF EXISTS ${role}`));
  });
  const url = new URL(database.url);
  url.username = role;
  const pool = new pg.Pool({ connectionString: url.toString(), options: "-c search_path=app" });
  pool.on("error", () => undefined);
  t.after(() => pool.end());
  const counted = [namedSqlEntry(1, "items", "CREATE TABLE items (id int);", null, postgres), namedSqlEntry(2, "seed", "INSERT INTO items VALUES (1);", null, postgres)];
  await new MigrationManager(pool, counted, { schema: "app" }).up();
  await pool.query("ALTER TABLE schema_migrations ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY");
  const manager = new MigrationManager(pool, counted, { schema: "app" });
  const error = await rejection(() => manager.up());
  assert.deepEqual([error.code, error.problem, error.version], ["HISTORY_TABLE_INVALID", "row-security", null]);
  assert.equal((await manager.status()).problem?.problem, "row-security");
  assert.deepEqual((await pool.query("SELECT count(*)::int AS n FROM items")).rows, [{ n: 1 }]);
});

test("a migration waiting for another session's lock fails after lockTimeoutMs with LOCK_TIMEOUT naming the relation and the session, rolled back, and the app's lock_timeout is as it was", async (t) => {
  const database = await freshDatabase(t);
  const client = new pg.Client({ connectionString: database.url });
  client.on("error", () => undefined);
  await client.connect();
  t.after(() => client.end());
  const alter = namedSqlEntry(2, "add_nick", "CREATE TABLE nick_log (id int);\nALTER TABLE accounts ADD COLUMN nick text;", "ALTER TABLE accounts DROP COLUMN nick;\nDROP TABLE nick_log;", postgres);
  await new MigrationManager(client, [ACCOUNTS]).up();
  // The holder's query text may hold secrets: the report gives its pid, application and times only.
  const holder = await holdInTransaction(t, database.url, "reporting", "SELECT 'secret-token-7' FROM accounts");
  // The app set its own lock_timeout on its session, and had it before the run: a minute, so that the bound below
  // tells stepwise's 600 ms from it with room for a loaded machine's slow round trips.
  await client.query("SET lock_timeout = '1min'");
  const started = performance.now();
  // Long enough for the lock watch, which looks every third of it over a second connection, to see the wait on a loaded machine: a wait it never saw has no relation or holders.
  const error = await rejection(() => new MigrationManager(client, [ACCOUNTS, alter], { lockTimeoutMs: 2000 }).up());
  assert.ok(performance.now() - started < 30_000);
  assert.equal(error.code, "LOCK_TIMEOUT");
  assert.deepEqual([error.version, error.direction, error.lockTimeoutMs, error.relation, error.mode, error.rolledBack], [2, "up", 2000, "public.accounts", "AccessExclusiveLock", true]);
  const [held] = error.holders as Array<{ pid: number; applicationName: string; queryStart: string; transactionStart: string; state: string }>;
  assert.deepEqual([held!.pid, held!.applicationName, held!.state], [holder.pid, "reporting", "idle in transaction"]);
  assert.ok(!Number.isNaN(Date.parse(held!.queryStart)) && !Number.isNaN(Date.parse(held!.transactionStart)), JSON.stringify(held));
  assert.match(String(error.message), new RegExp(`session ${holder.pid} \\(application "reporting"`));
  assert.ok(!JSON.stringify({ ...error, message: error.message }).includes("secret-token-7"));
  // Nothing of migration 2 was kept, and the session's lock_timeout is the app's again.
  assert.deepEqual(await tables(database.url), ["accounts", "schema_migrations"]);
  assert.deepEqual(await history(database.url), ["1:applied"]);
  assert.equal((await client.query<{ lock_timeout: string }>("SHOW lock_timeout")).rows[0]!.lock_timeout, "1min");
  // Once the holder is gone, the same run goes through.
  await holder.client.query("ROLLBACK");
  await new MigrationManager(client, [ACCOUNTS, alter], { lockTimeoutMs: 600 }).up();
  assert.deepEqual(await history(database.url), ["1:applied", "2:applied"]);
  assert.equal((await client.query<{ lock_timeout: string }>("SHOW lock_timeout")).rows[0]!.lock_timeout, "1min");
});

test("through the CLI: --lock-timeout bounds the wait (LOCK_TIMEOUT in --json, no stack in the text), its default is the documented one, and a SQLite driver refuses the flag", async (t) => {
  const database = await freshDatabase(t);
  const alter = namedSqlEntry(2, "add_nick", "ALTER TABLE accounts ADD COLUMN nick text;", null, postgres);
  assert.equal((await runPgCli([ACCOUNTS], database.url, ["up"])).code, 0);
  const holder = await holdInTransaction(t, database.url, "reporting", "LOCK TABLE accounts IN ACCESS SHARE MODE");
  // Long enough for the lock watch to see the wait on a loaded machine (see above); the text run below asserts no holder.
  const json = jsonError(await runPgCli([ACCOUNTS, alter], database.url, ["up", "--lock-timeout", "2000", "--json"]));
  assert.deepEqual([json.code, json.version, json.relation, json.lockTimeoutMs, (json.holders as Array<{ pid: number }>)[0]?.pid], ["LOCK_TIMEOUT", 2, "public.accounts", 2000, holder.pid]);
  assert.match(String(json.fix), /--lock-timeout/);
  const text = await runPgCli([ACCOUNTS, alter], database.url, ["up", "--lock-timeout", "400"]);
  assert.equal(text.code, 1);
  assert.match(text.stderr, /error \[LOCK_TIMEOUT\]/);
  assert.ok(!showsStack(text.stderr), text.stderr);
  // status under the same lock is a read: it does not wait on ACCESS SHARE, and reports version 1.
  const status = await runPgCli([ACCOUNTS, alter], database.url, ["status", "--json"]);
  assert.equal((JSON.parse(status.stdout) as { currentVersion: number }).currentVersion, 1);
  const help = await runPgCli([ACCOUNTS], database.url, ["--help"]);
  const helpText = help.stdout.replace(/\s+/g, " ");
  assert.ok(helpText.includes(`--lock-timeout <ms>`) && helpText.includes(`(default: ${DEFAULT_LOCK_TIMEOUT_MS}; 0: no limit)`), help.stdout);
  const sqlite = await runPgCli([ACCOUNTS], null, ["--driver", "better-sqlite3", "--db", ":memory:", "--lock-timeout", "5", "status", "--json"]);
  assert.equal(jsonError(sqlite, 2).code, "USAGE");
});

test("a CREATE INDEX CONCURRENTLY that fails (a duplicate) names the invalid index it left and the statement that drops it; repair names it too (API, CLI text, --json); then up works", async (t) => {
  const database = await freshDatabase(t);
  // An invalid index from before, someone else's: repair lists it, the failure does not claim it.
  const unique = namedSqlEntry(2, "unique_email", "CREATE UNIQUE INDEX CONCURRENTLY accounts_email ON accounts (email);", null, { ...(postgres as object), transaction: false });
  const registry = [ACCOUNTS, unique];
  assert.equal((await runPgCli([ACCOUNTS], database.url, ["up"])).code, 0);
  await withPgClient(database.url, async (client) => {
    await client.query("CREATE TABLE older (v int); INSERT INTO older VALUES (1), (1)");
    await client.query("CREATE UNIQUE INDEX CONCURRENTLY older_v ON older (v)").catch(() => undefined);
  });
  assert.deepEqual(await invalidIndexNames(database.url), ["older_v"]);
  const failed = jsonError(await runPgCli(registry, database.url, ["up", "--json"]));
  assert.equal(failed.code, "MIGRATION_FAILED");
  const drop = 'DROP INDEX CONCURRENTLY IF EXISTS "public"."accounts_email";';
  assert.deepEqual(failed.invalidIndexes, [{ schema: "public", name: "accounts_email", table: "accounts", drop }]);
  assert.ok(String(failed.message).includes(drop), String(failed.message));
  assert.match(String(failed.fix), /repair/);
  // repair, through the CLI: the text names each invalid index of the database with its statement.
  const repairText = await runPgCli(registry, database.url, ["repair", "--forget", "2", "--yes"]);
  assert.equal(repairText.code, 0, repairText.stderr);
  assert.ok(repairText.stdout.includes(drop) && repairText.stdout.includes('"public"."older_v"'), repairText.stdout);
  // Forgotten without dropping it, the migration meets its own leftover: "already exists", which the failure names.
  const again = jsonError(await runPgCli(registry, database.url, ["up", "--json"]));
  assert.match(String(again.message), /already exists/);
  assert.deepEqual(again.invalidIndexes, [{ schema: "public", name: "accounts_email", table: "accounts", drop }]);
  // repair through the API and --json: every invalid index of the database, with its statement.
  const pool = pooled(t, database);
  const repaired = await repairIncompleteMigration(new MigrationManager(pool, registry), { version: 2, resolution: "forget" });
  assert.deepEqual(
    repaired.invalidIndexes.map((index) => [index.name, index.drop]),
    [
      ["accounts_email", drop],
      ["older_v", 'DROP INDEX CONCURRENTLY IF EXISTS "public"."older_v";'],
    ],
  );
  assert.equal(jsonError(await runPgCli(registry, database.url, ["up", "--json"])).code, "MIGRATION_FAILED");
  const repairJson = await runPgCli(registry, database.url, ["repair", "--forget", "2", "--yes", "--json"]);
  assert.equal(repairJson.code, 0, repairJson.stderr);
  assert.deepEqual(
    (JSON.parse(repairJson.stdout) as { invalidIndexes: Array<{ name: string }> }).invalidIndexes.map((index) => index.name),
    ["accounts_email", "older_v"],
  );
  // The statements it names clean up; with the duplicate gone, up applies the migration.
  await withPgClient(database.url, async (client) => {
    await client.query(drop);
    await client.query("DELETE FROM accounts WHERE id = 2");
  });
  const up = await runPgCli(registry, database.url, ["up"]);
  assert.equal(up.code, 0, up.stderr);
  assert.deepEqual(await history(database.url), ["1:applied", "2:applied"]);
  assert.deepEqual(await invalidIndexNames(database.url), ["older_v"]);
});

test("a CREATE INDEX CONCURRENTLY whose wait for an older transaction runs past the lock timeout is LOCK_TIMEOUT, not rolled back, naming the session and the invalid index it left", async (t) => {
  const database = await freshDatabase(t);
  const index = namedSqlEntry(2, "index_email", "CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);", null, { ...(postgres as object), transaction: false });
  assert.equal((await runPgCli([ACCOUNTS], database.url, ["up"])).code, 0);
  // A writer's open transaction: the build waits for it to end before it can go on.
  const holder = await holdInTransaction(t, database.url, "writer", "INSERT INTO accounts VALUES (3, 'c@x')");
  // Long enough for the lock watch to see the wait on a loaded machine.
  const error = jsonError(await runPgCli([ACCOUNTS, index], database.url, ["up", "--lock-timeout", "2000", "--json"]));
  assert.deepEqual([error.code, error.version, error.rolledBack], ["LOCK_TIMEOUT", 2, false]);
  assert.deepEqual(
    (error.holders as Array<{ pid: number }>).map((held) => held.pid),
    [holder.pid],
  );
  assert.deepEqual(error.invalidIndexes, [{ schema: "public", name: "accounts_email", table: "accounts", drop: 'DROP INDEX CONCURRENTLY IF EXISTS "public"."accounts_email";' }]);
  assert.match(String(error.fix), /repair --forget 2 --yes/);
  assert.deepEqual(await history(database.url), ["1:applied", "2:started"]);
});

test("a transaction: false migration runs under the run's lock_timeout, and the session's own is put back after, failed or not: the value it SET, or its default", async (t) => {
  const database = await freshDatabase(t);
  const seen: string[] = [];
  const shows = (version: number, fail: boolean): MigrationEntry =>
    asyncTsEntry(
      version,
      {
        transaction: false,
        async up(db: pg.ClientBase) {
          seen.push((await db.query<{ lock_timeout: string }>("SHOW lock_timeout")).rows[0]!.lock_timeout);
          if (fail) throw new Error("it fails after looking");
        },
      } as unknown as MigrationDefinition<unknown>,
      postgres,
    ) as MigrationEntry;
  const setting = async (client: pg.Client) => (await client.query<{ setting: string; source: string }>("SELECT setting, source FROM pg_settings WHERE name = 'lock_timeout'")).rows[0];
  for (const [own, expected] of [
    ["7s", { setting: "7000", source: "session" }],
    [null, { setting: "0", source: "default" }],
  ] as const) {
    const client = new pg.Client({ connectionString: database.url });
    client.on("error", () => undefined);
    await client.connect();
    t.after(() => client.end());
    if (own !== null) await client.query(`SET lock_timeout = '${own}'`);
    await client.query("DROP TABLE IF EXISTS schema_migrations");
    await new MigrationManager(client, [ACCOUNTS, shows(2, false)], { lockTimeoutMs: 1234 }).up();
    assert.deepEqual(await setting(client), expected);
    const failed = await rejection(() => new MigrationManager(client, [ACCOUNTS, shows(2, false), shows(3, true)], { lockTimeoutMs: 1234 }).up());
    assert.equal(failed.code, "MIGRATION_FAILED");
    assert.deepEqual(await setting(client), expected);
    await client.query("DROP TABLE accounts");
  }
  assert.deepEqual(seen, ["1234ms", "1234ms", "1234ms", "1234ms"]);
});

test("stepwise's own reads outside a transaction (the start of up, status) are bounded too: a history table locked forever is LOCK_TIMEOUT naming it and its holder", async (t) => {
  const database = await freshDatabase(t);
  const pool = pooled(t, database);
  await new MigrationManager(pool, [ACCOUNTS]).up();
  const holder = await holdInTransaction(t, database.url, "maintenance", "LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE");
  const alter = namedSqlEntry(2, "add_nick", "ALTER TABLE accounts ADD COLUMN nick text;", null, postgres);
  for (const call of [(manager: MigrationManager) => manager.up(), (manager: MigrationManager) => manager.status()]) {
    const started = performance.now();
    // Long enough for the lock watch to see the wait on a loaded machine.
    const error = await rejection(() => call(new MigrationManager(pool, [ACCOUNTS, alter], { lockTimeoutMs: 2000 })));
    // Under the 10 s the reads would wait by default, with room for a loaded machine.
    assert.ok(performance.now() - started < 8_000);
    assert.deepEqual([error.code, error.version, error.relation], ["LOCK_TIMEOUT", null, "public.schema_migrations"]);
    assert.deepEqual(
      (error.holders as Array<{ pid: number; applicationName: string }>).map((held) => [held.pid, held.applicationName]),
      [[holder.pid, "maintenance"]],
    );
  }
  await holder.client.query("ROLLBACK");
  await new MigrationManager(pool, [ACCOUNTS, alter], { lockTimeoutMs: 400 }).up();
  assert.deepEqual(await history(database.url), ["1:applied", "2:applied"]);
});

test("a rolled-back migration whose SQL calls setval names the sequence in sequencesSet: the rollback leaves it as set, as PostgreSQL keeps a sequence's changes", async (t) => {
  const database = await freshDatabase(t);
  const pool = pooled(t, database);
  const seed = namedSqlEntry(1, "accounts", "CREATE TABLE accounts (id bigserial PRIMARY KEY); INSERT INTO accounts DEFAULT VALUES; INSERT INTO accounts DEFAULT VALUES;", null, postgres);
  const failing = namedSqlEntry(2, "reset_ids", "CREATE TABLE t3 (x int);\nSELECT setval('accounts_id_seq', 1);\nSELECT 1/0;", null, postgres);
  const manager = new MigrationManager(pool, [seed, failing]);
  const error = await rejection(() => manager.up());
  assert.deepEqual([error.code, error.version, error.rolledBack, error.sequencesSet], ["MIGRATION_FAILED", 2, true, ["accounts_id_seq"]]);
  // What the field says is what the database shows: t3 is gone, the sequence is not back at 2.
  assert.deepEqual(await tables(database.url), ["accounts", "schema_migrations"]);
  assert.equal(await withPgClient(database.url, async (client) => (await client.query<{ v: string }>("SELECT last_value::text AS v FROM accounts_id_seq")).rows[0]!.v), "1");
  // A migration that calls none names none.
  const plain = await rejection(() => new MigrationManager(pool, [seed, namedSqlEntry(2, "plain", "SELECT 'setval(1)'; SELECT 1/0;", null, postgres)]).up());
  assert.deepEqual([plain.code, plain.sequencesSet], ["MIGRATION_FAILED", []]);
});
