/**
 * A PostgreSQL connection that fails, against a real server: one that cannot be opened names the
 * server's reason and what to change (a wrong or missing password, a missing database or role, TLS
 * required or refused, too many connections, nothing listening, a host that does not resolve), and
 * one the server ends while stepwise uses it (`pg_terminate_backend` from another session) is
 * `CONNECTION_LOST`, saying whether the migration that was running can have been kept: during a
 * migration's await (in a transaction, and `transaction: false`), during its COMMIT, while waiting
 * for the run lock, and during a read. Through the library and the in-process CLI; never a stack
 * trace without `--verbose`, never a password.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test, type TestContext } from "node:test";
import pg from "pg";
import { runLockKey } from "../src/drivers/pg.js";
import { MigrationManager } from "../src/entries/pg.js";
import type { MigrationDefinition, MigrationEntry } from "../src/core/types.js";
import { createTestDatabase, type TestPostgresDatabase } from "./support/postgres-server.js";
import { asyncTsEntry, namedSqlEntry, rejection } from "./support/registry-builders.js";
import { jsonError, runPgCli, showsStack, terminateWhen, withHbaLines, withPgClient } from "./support/pg-cli.js";

const postgres = { dialect: "postgres" } as never;

/** A fresh database, dropped after the test. */
async function freshDatabase(t: TestContext): Promise<TestPostgresDatabase> {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  return database;
}

/**
 * A migration that creates a table, then calls `reached` and awaits `release` before its next
 * statement: the moment a test ends its session.
 */
function pausingEntry(version: number, gate: { reached: () => void; release: Promise<void> }, overrides: Partial<MigrationDefinition<pg.ClientBase>> = {}): MigrationEntry {
  return asyncTsEntry(
    version,
    {
      async up(db: pg.ClientBase) {
        await db.query(`CREATE TABLE paused_${version} (id int)`);
        gate.reached();
        await gate.release;
        await db.query("SELECT 1");
      },
      ...overrides,
    } as unknown as MigrationDefinition<unknown>,
    postgres,
  ) as MigrationEntry;
}

/** A gate a migration waits at, and the promise that says it got there. */
function gate(): { reached: () => void; release: Promise<void>; open: () => void; arrived: Promise<void> } {
  let reached!: () => void;
  let open!: () => void;
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  const release = new Promise<void>((resolve) => (open = resolve));
  return { reached, release, open, arrived };
}

/** The relations of the public schema and the history rows: what a lost run must leave as it was. */
async function tablesAndHistory(url: string): Promise<{ tables: string[]; history: string[] }> {
  return withPgClient(url, async (client) => {
    const tables = (await client.query<{ name: string }>("SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((row) => row.name);
    const history = tables.includes("schema_migrations")
      ? (await client.query<{ row: string }>("SELECT version::text || ':' || state AS row FROM schema_migrations ORDER BY version")).rows.map((row) => row.row)
      : [];
    return { tables, history };
  });
}

const FIRST = namedSqlEntry(1, "first", "CREATE TABLE first (id int);", "DROP TABLE first;", postgres);

test("a session ended during a migration's await is CONNECTION_LOST, rolled back, not TRANSACTION_ESCAPED; an app's client without an error listener survives it", async (t) => {
  const database = await freshDatabase(t);
  // No "error" listener: pg emits one when the server ends the session, which would end this process.
  const client = new pg.Client({ connectionString: database.url, application_name: "victim" });
  await client.connect();
  t.after(() => client.end().catch(() => undefined));
  // Not events.once: it would listen for "error" too.
  const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
  const paused = gate();
  const manager = new MigrationManager(client, [FIRST, pausingEntry(2, paused)]);
  const failing = rejection(() => manager.up());
  await paused.arrived;
  await terminateWhen(database.url, database.name, "victim");
  paused.open();
  const error = await failing;
  assert.equal(error.code, "CONNECTION_LOST");
  assert.deepEqual([error.version, error.direction, error.outcome], [2, "up", "rolled-back"]);
  // The server's reason, which reached pg between queries, not pg's "not queryable" on the next one.
  assert.match(String(error.reason), /terminating connection due to administrator command/);
  // Migration 1 committed before; 2 left nothing, not even a started row.
  assert.deepEqual(await tablesAndHistory(database.url), { tables: ["first", "schema_migrations"], history: ["1:applied"] });
  // The app's client is left with the listeners it had once it has ended: the socket's close, which
  // may come after the failure's own message, emits "error" again, and stepwise hears it until then.
  await ended;
  assert.equal(client.listenerCount("error"), 0);
});

test("a migration idle in its transaction past the database's idle_in_transaction_session_timeout is CONNECTION_LOST naming that timeout and how to lift it, which works", async (t) => {
  const database = await freshDatabase(t);
  await withPgClient(database.url, (client) => client.query(`ALTER DATABASE "${database.name}" SET idle_in_transaction_session_timeout = 300`));
  const waiting = (setFirst: boolean) =>
    asyncTsEntry(
      2,
      {
        async up(db: pg.ClientBase) {
          if (setFirst) await db.query("SET LOCAL idle_in_transaction_session_timeout = '10min'");
          await db.query("CREATE TABLE waited (id int)");
          await new Promise((resolve) => setTimeout(resolve, 800));
          await db.query("SELECT 1");
        },
      } as unknown as MigrationDefinition<unknown>,
      postgres,
    ) as MigrationEntry;
  const pool = new pg.Pool({ connectionString: database.url });
  const error = await rejection(() => new MigrationManager(pool, [FIRST, waiting(false)]).up());
  assert.deepEqual([error.code, error.version, error.outcome, error.nativeCode], ["CONNECTION_LOST", 2, "rolled-back", "25P03"]);
  assert.match(String(error.reason), /idle-in-transaction timeout/);
  assert.match(String(error.fix), /SET LOCAL idle_in_transaction_session_timeout = '10min'.*then run "stepwise up" again/);
  assert.deepEqual(await tablesAndHistory(database.url), { tables: ["first", "schema_migrations"], history: ["1:applied"] });
  await new MigrationManager(pool, [FIRST, waiting(true)]).up();
  await pool.end();
  assert.deepEqual((await tablesAndHistory(database.url)).history, ["1:applied", "2:applied"]);
});

test("through the CLI: CONNECTION_LOST with its fields in --json, and no stack trace in the text", async (t) => {
  const database = await freshDatabase(t);
  for (const json of [true, false]) {
    const paused = gate();
    const running = runPgCli([FIRST, pausingEntry(2, paused)], database.url, ["up", ...(json ? ["--json"] : [])]);
    await paused.arrived;
    await terminateWhen(database.url, database.name, "stepwise");
    paused.open();
    const run = await running;
    assert.equal(run.code, 1, run.stderr);
    assert.ok(!showsStack(run.stderr), run.stderr);
    assert.match(run.stderr, /error \[CONNECTION_LOST\]/);
    if (json) {
      const error = jsonError(run);
      assert.deepEqual([error.code, error.version, error.outcome, typeof error.fix, typeof error.reason], ["CONNECTION_LOST", 2, "rolled-back", "string", "string"]);
    }
  }
  assert.deepEqual(await tablesAndHistory(database.url), { tables: ["first", "schema_migrations"], history: ["1:applied"] });
});

test("a transaction: false migration whose session ends is CONNECTION_LOST partly-applied; its started row stays for repair", async (t) => {
  const database = await freshDatabase(t);
  const paused = gate();
  const running = runPgCli([FIRST, pausingEntry(2, paused, { transaction: false })], database.url, ["up", "--json"]);
  await paused.arrived;
  await terminateWhen(database.url, database.name, "stepwise");
  paused.open();
  const error = jsonError(await running);
  assert.deepEqual([error.code, error.version, error.outcome], ["CONNECTION_LOST", 2, "partly-applied"]);
  assert.match(String(error.fix), /repair --applied 2 --yes.*repair --forget 2 --yes/);
  // What it ran before the await stays; the history says it was started, not applied.
  assert.deepEqual(await tablesAndHistory(database.url), { tables: ["first", "paused_2", "schema_migrations"], history: ["1:applied", "2:started"] });
});

test("a session ended during the COMMIT is CONNECTION_LOST commit-unknown: whether it committed is for status to say", async (t) => {
  const database = await freshDatabase(t);
  // A deferred constraint trigger runs at COMMIT: it sleeps there, where the test ends the session.
  const slowCommit = namedSqlEntry(
    2,
    "slow_commit",
    `CREATE TABLE slow (id int);
     CREATE FUNCTION slow_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;
     CREATE CONSTRAINT TRIGGER slow_at_commit AFTER INSERT ON slow DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_check();
     INSERT INTO slow VALUES (1);`,
    null,
    postgres,
  );
  const running = runPgCli([FIRST, slowCommit], database.url, ["up", "--json"]);
  await terminateWhen(database.url, database.name, "stepwise", "Timeout");
  const error = jsonError(await running);
  assert.deepEqual([error.code, error.version, error.outcome], ["CONNECTION_LOST", 2, "commit-unknown"]);
  assert.match(String(error.fix), /status/);
});

test("a session ended while it waits for the run lock is CONNECTION_LOST with nothing running, not an UNEXPECTED stack trace", async (t) => {
  const database = await freshDatabase(t);
  const holder = new pg.Client({ connectionString: database.url });
  // The test's database is dropped WITH (FORCE) after it, which ends this session too.
  holder.on("error", () => undefined);
  await holder.connect();
  t.after(() => holder.end().catch(() => undefined));
  await holder.query("SELECT pg_advisory_lock($1::bigint)", [await runLockKey("public", "schema_migrations")]);
  for (const json of [true, false]) {
    const running = runPgCli([FIRST], database.url, ["up", "--busy-timeout", "60000", ...(json ? ["--json"] : [])]);
    // The run lock is polled: its session shows up idle between tries, its last statement the try.
    await terminateWhen(database.url, database.name, "stepwise", null, "pg_try_advisory_lock");
    const run = await running;
    assert.equal(run.code, 1, run.stderr);
    assert.ok(!showsStack(run.stderr), run.stderr);
    assert.match(run.stderr, /error \[CONNECTION_LOST\]/);
    if (json)
      assert.deepEqual(
        Object.entries(jsonError(run)).filter(([key]) => ["code", "outcome", "during", "version"].includes(key)),
        [
          ["code", "CONNECTION_LOST"],
          ["version", null],
          ["outcome", "none-running"],
          ["during", "waiting for the run lock"],
        ],
      );
  }
  assert.deepEqual(await tablesAndHistory(database.url), { tables: [], history: [] });
});

test("a session ended during a read (status, and the library's status on a pool) is CONNECTION_LOST with nothing running", async (t) => {
  const database = await freshDatabase(t);
  assert.equal((await runPgCli([FIRST], database.url, ["up"])).code, 0);
  // Another session holds the history table, so status's read waits on it (with no lock_timeout).
  const holder = new pg.Client({ connectionString: database.url });
  // The test's database is dropped WITH (FORCE) after it, which ends this session too.
  holder.on("error", () => undefined);
  await holder.connect();
  t.after(() => holder.end().catch(() => undefined));
  await holder.query("BEGIN; LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE");
  for (const json of [true, false]) {
    const running = runPgCli([FIRST], database.url, ["status", "--lock-timeout", "0", ...(json ? ["--json"] : [])]);
    await terminateWhen(database.url, database.name, "stepwise", "Lock");
    const run = await running;
    assert.equal(run.code, 1, run.stderr);
    assert.ok(!showsStack(run.stderr), run.stderr);
    if (json) assert.deepEqual([jsonError(run).code, jsonError(run).outcome], ["CONNECTION_LOST", "none-running"]);
  }
  const pool = new pg.Pool({ connectionString: database.url, application_name: "pooled" });
  pool.on("error", () => undefined);
  t.after(() => pool.end());
  const reading = rejection(() => new MigrationManager(pool, [FIRST], { lockTimeoutMs: 0 }).status());
  await terminateWhen(database.url, database.name, "pooled", "Lock");
  assert.deepEqual(await reading.then((error) => [error.code, error.outcome]), ["CONNECTION_LOST", "none-running"]);
  await holder.query("ROLLBACK");
});

/** A port where something accepts a connection and closes it at once (not PostgreSQL), until the test ends. */
async function closingPort(t: TestContext): Promise<number> {
  const listener = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => listener.close(() => resolve())));
  return (listener.address() as { port: number }).port;
}

/**
 * A port nothing listens on: a privileged one, below the range a listener on port 0 is given. A port picked
 * free and closed again could be handed to another test process's server (PostgreSQL, sqld, a static server)
 * before the test connects to it.
 */
const CLOSED_PORT = 1;

test("a connection that cannot be opened says the server's reason and what to change, for each common case, with no password and no stack", async (t) => {
  const database = await freshDatabase(t);
  const server = database.server;
  const suffix = globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 8);
  const [secretRole, tlsRole, limitedRole] = [`stepwise_pw_${suffix}`, `stepwise_tls_${suffix}`, `stepwise_limited_${suffix}`];
  const password = "Right:pass@word9";
  const wrong = "Wr0ng:guess@x";
  await withPgClient(database.url, (admin) => admin.query(`CREATE ROLE ${secretRole} LOGIN PASSWORD '${password}'; CREATE ROLE ${tlsRole} LOGIN; CREATE ROLE ${limitedRole} LOGIN CONNECTION LIMIT 0`));
  t.after(() => withPgClient(server.url("postgres"), (admin) => admin.query(`DROP ROLE IF EXISTS ${secretRole}; DROP ROLE IF EXISTS ${tlsRole}; DROP ROLE IF EXISTS ${limitedRole}`)));
  const hba = await withHbaLines(t, [`host all ${secretRole} 127.0.0.1/32 scram-sha-256`, `hostssl all ${tlsRole} 127.0.0.1/32 trust`, `host all ${tlsRole} 127.0.0.1/32 reject`]);
  const at = `${server.host}:${server.port}`;
  const cases: Array<[string, string, Record<string, string>, string, string | null, RegExp]> = [
    ["missing database", `postgres://${server.user}@${at}/no_such_db_${suffix}`, {}, "missing-database", "3D000", /does not exist/],
    ["missing role", `postgres://no_such_role_${suffix}@${at}/${database.name}`, {}, "missing-role", "28000", /role .* does not exist/],
    ["too many connections", `postgres://${limitedRole}@${at}/${database.name}`, {}, "too-many-connections", "53300", /too many connections/],
    ["nothing listening", `postgres://${server.user}@127.0.0.1:${CLOSED_PORT}/${database.name}`, {}, "refused", null, /ECONNREFUSED/],
    ["unknown host", `postgres://${server.user}@no-such-host-${suffix}.invalid:5432/${database.name}`, {}, "host-not-found", null, /no-such-host/],
    ["TLS refused", `postgres://${server.user}@${at}/${database.name}?sslmode=verify-full`, {}, "tls-refused", null, /SSL/],
    ["no socket", `postgres://${server.user}@localhost/${database.name}?host=/tmp/no-such-socket-${suffix}`, {}, "refused", null, /ENOENT/],
    ["closed at once", `postgres://${server.user}@127.0.0.1:${await closingPort(t)}/${database.name}`, {}, "closed-at-start", null, /Connection terminated|ECONNRESET/],
  ];
  if (hba) {
    cases.push(
      ["wrong password", `postgres://${secretRole}:${encodeURIComponent(wrong)}@${at}/${database.name}`, {}, "wrong-password", "28P01", /password authentication failed/],
      ["no password", `postgres://${secretRole}@${at}/${database.name}`, {}, "password-missing", null, /password/],
      ["TLS required", `postgres://${tlsRole}@${at}/${database.name}`, {}, "tls-required", "28000", /no encryption/],
    );
  }
  for (const [label, url, env, problem, sqlstate, reason] of cases) {
    const run = await runPgCli([FIRST], null, ["--url", url, "status", "--json"], env);
    const error = jsonError(run);
    assert.deepEqual([error.code, error.problem], ["DATABASE_UNUSABLE", problem], `${label}: ${run.stdout}`);
    assert.match(String(error.reason), reason, label);
    assert.equal(typeof error.fix, "string", label);
    // The server's code is reasonCode; sqliteCode is SQLite's, so null on a server.
    if (sqlstate !== null) assert.deepEqual([error.reasonCode, error.sqliteCode], [sqlstate, null], label);
    const text = await runPgCli([FIRST], null, ["--url", url, "status"], env);
    assert.equal(text.code, 1, label);
    assert.ok(text.stderr.includes(String(error.reason)) && text.stderr.includes("Fix: "), `${label}: ${text.stderr}`);
    assert.ok(!showsStack(text.stderr), `${label}: ${text.stderr}`);
    for (const secret of [password, wrong, encodeURIComponent(wrong)]) assert.ok(!(run.stdout + run.stderr + text.stderr).includes(secret), `${label} printed a password`);
  }
  // The library's pool gets the same reading when it cannot check a client out.
  const pool = new pg.Pool({ connectionString: `postgres://${server.user}@${at}/no_such_db_${suffix}` });
  t.after(() => pool.end());
  const error = await rejection(() => new MigrationManager(pool, [FIRST]).status());
  assert.deepEqual([error.code, error.problem], ["DATABASE_UNUSABLE", "missing-database"]);
});

test("a pg.Pool whose every client stays checked out past connectionTimeoutMillis is DATABASE_UNUSABLE pool-busy, not a host to check; the migrate holding it applies", async (t) => {
  const database = await freshDatabase(t);
  const pool = new pg.Pool({ connectionString: database.url, max: 1, connectionTimeoutMillis: 300 });
  const slow = namedSqlEntry(1, "slow", "CREATE TABLE slow (id int); SELECT pg_sleep(1);", null, postgres);
  const [first, second] = await Promise.all([new MigrationManager(pool, [slow]).up(), rejection(() => new MigrationManager(pool, [slow]).up())]);
  await pool.end();
  assert.equal(first.steps.length, 1);
  assert.deepEqual([second.code, second.problem], ["DATABASE_UNUSABLE", "pool-busy"]);
  assert.match(String(second.fix), /connectionTimeoutMillis/);
});

test("a migration that catches the client's error and throws its own, wrapped or not, is still CONNECTION_LOST when its session ended", async (t) => {
  const database = await freshDatabase(t);
  for (const wrap of [true, false]) {
    const sleeping = asyncTsEntry(
      2,
      {
        async up(db: pg.ClientBase) {
          try {
            await db.query("SELECT pg_sleep(30)");
          } catch (cause) {
            throw wrap ? new Error("the slow step gave up", { cause }) : new Error("the slow step gave up");
          }
        },
      } as unknown as MigrationDefinition<unknown>,
      postgres,
    ) as MigrationEntry;
    const running = runPgCli([FIRST, sleeping], database.url, ["up", "--json"]);
    await terminateWhen(database.url, database.name, "stepwise", "Timeout");
    const error = jsonError(await running);
    assert.deepEqual([error.code, error.version, error.outcome], ["CONNECTION_LOST", 2, "rolled-back"], `wrapped: ${wrap}`);
  }
  assert.deepEqual(await tablesAndHistory(database.url), { tables: ["first", "schema_migrations"], history: ["1:applied"] });
});

test("a remote session a migration opened (dblink) ending is that migration's MIGRATION_FAILED, not CONNECTION_LOST: stepwise's own session lives on, as the app's client", async (t) => {
  const database = await freshDatabase(t);
  await withPgClient(database.url, (admin) => admin.query("CREATE EXTENSION dblink"));
  const url = new URL(database.url);
  const remote = `host=${url.hostname} port=${url.port} dbname=${url.pathname.slice(1)} user=${decodeURIComponent(url.username)} application_name=remote_side`;
  // dblink reports its remote session's end as SQLSTATE 08006 (connection_failure), on this session, which is alive.
  const endRemote = (name: string) =>
    `SELECT dblink_connect('${name}', '${remote}');\nSELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'remote_side';\nSELECT pg_sleep(0.2);\nSELECT dblink_exec('${name}', 'SELECT 1');`;
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  t.after(() => client.end());
  for (const transaction of [true, false]) {
    const entry = namedSqlEntry(1, "remote", `CREATE TABLE IF NOT EXISTS local_copy (id int);\n${endRemote(`remote_${transaction}`)}`, null, { ...(postgres as object), transaction });
    const error = await rejection(() => new MigrationManager(client, [entry]).up());
    assert.deepEqual([error.code, error.version, error.rolledBack, error.nativeCode], ["MIGRATION_FAILED", 1, transaction, "08006"], String(error.message));
    // The app's client is usable and out of any transaction.
    assert.equal((await client.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one, 1);
    // Rolled back, the history table made in its transaction went with it; outside one, its started row stays for repair.
    const made = (await client.query("SELECT 1 FROM pg_tables WHERE tablename = 'schema_migrations'")).rowCount === 1;
    const rows = made ? (await client.query<{ row: string }>("SELECT version::text || ':' || state AS row FROM schema_migrations")).rows.map((row) => row.row) : [];
    assert.deepEqual(rows, transaction ? [] : ["1:started"]);
    await client.query("DROP TABLE IF EXISTS schema_migrations");
  }
});
