/**
 * What is PostgreSQL's own in `stepwise-migrate/pg`, on a real server: the session advisory lock (its key,
 * its wait, its release), the schema option, a pool's client given back, the app's open transaction
 * refused, `CREATE INDEX CONCURRENTLY` with `transaction: false`, a body that swallows a failed
 * statement, and SQLSTATEs read as stepwise's error kinds. The shared behaviour is in
 * test/driver-async-suite.test.ts.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import pg from "pg";
import type { MigrationDefinition, MigrationEntry } from "../src/core/types.js";
import { classifyPostgresError, kindOfSqlstate } from "../src/core/dialects/postgres.js";
import { runLockKey, toPositionalParameters } from "../src/drivers/pg.js";
import { MigrationManager, migrate } from "../src/entries/pg.js";
import { createTestDatabase, type TestPostgresDatabase } from "./support/postgres-server.js";
import { build } from "esbuild";
import { DRIVERS, matrixRoot } from "./support/driver-matrix.js";
import { PG_RACE_LATEST, PG_RACE_REGISTRY } from "./support/pg-race-registry.js";
import { namedSqlEntry, tsEntry, rejection } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { jsonError, runPgCli, withPgClient } from "./support/pg-cli.js";

// Every entry here says it was generated for PostgreSQL: the pg driver refuses a registry of another dialect.
const createItems = namedSqlEntry(1, "create_items", "CREATE TABLE items (id BIGINT PRIMARY KEY, note TEXT NOT NULL);", "DROP TABLE items;", { dialect: "postgres" });

/** Clients a test connected with {@link connect}, ended before its database is dropped. */
const openClients = new Set<pg.Client>();

/** A fresh database with a pool on it; after the test, every client {@link connect} made is ended, then both are removed. */
async function freshDatabase(t: { after(fn: () => Promise<void>): void }): Promise<{ database: TestPostgresDatabase; pool: pg.Pool }> {
  const database = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  t.after(async () => {
    for (const client of openClients) await client.end().catch(() => undefined);
    openClients.clear();
    await pool.end();
    await database.drop();
  });
  return { database, pool };
}

/** A connected client on `url`, ended after the test (before its database is dropped). */
async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // A session the server ends (a test terminating it) must not surface as an uncaught error.
  client.on("error", () => undefined);
  await client.connect();
  openClients.add(client);
  return client;
}

async function tables(pool: pg.Pool, schema = "public"): Promise<string[]> {
  return (await pool.query<{ name: string }>("SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = $1 ORDER BY 1", [schema])).rows.map((row) => row.name);
}

function asyncEntry(version: number, up: (db: pg.ClientBase) => Promise<void>, overrides: Partial<MigrationEntry> = {}): MigrationEntry {
  return tsEntry(version, { up } as unknown as MigrationDefinition<unknown>, { dialect: "postgres", ...overrides } as never) as MigrationEntry;
}

test("the run lock's key is SHA-256 of stepwise:<schema>.<table>, so other history tables get other keys", async () => {
  const key = await runLockKey("public", "schema_migrations");
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode("stepwise:public.schema_migrations")));
  assert.equal(key, new DataView(digest.buffer).getBigInt64(0).toString());
  assert.notEqual(await runLockKey("public", "other_history"), key);
  assert.notEqual(await runLockKey("app", "schema_migrations"), key);
});

test("up waits for another session's run lock up to the busy timeout, then DATABASE_LOCKED; nothing changes", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const holder = await connect(`${database.url}?application_name=other-migrator`);
  await holder.query("SELECT pg_advisory_lock($1::bigint)", [await runLockKey("public", "schema_migrations")]);
  const holderPid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
  const started = performance.now();
  const error = await rejection(() => migrate(pool, [createItems], { busyTimeoutMs: 300 }));
  const waited = performance.now() - started;
  assert.equal(error.code, "DATABASE_LOCKED");
  assert.equal(error.busyTimeoutMs, 300);
  // The session holding it, named by its server process and application_name.
  assert.deepEqual(error.holders, [{ pid: holderPid, program: "other-migrator", host: "127.0.0.1", lock: "write" }]);
  assert.ok(waited >= 250, `waited ${Math.round(waited)} ms for the lock`);
  assert.deepEqual(await tables(pool), []);
  await holder.query("SELECT pg_advisory_unlock_all()");
  assert.deepEqual(
    (await migrate(pool, [createItems], { busyTimeoutMs: 300 })).steps.map((step) => step.version),
    [1],
  );
});

test("a busy timeout of 0 tries the lock once and refuses at once", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const holder = await connect(database.url);
  await holder.query("SELECT pg_advisory_lock($1::bigint)", [await runLockKey("public", "schema_migrations")]);
  const error = await rejection(() => migrate(pool, [createItems], { busyTimeoutMs: 0 }));
  assert.equal(error.code, "DATABASE_LOCKED");
  assert.deepEqual(await tables(pool), []);
});

test("two apps with different history tables do not wait for each other", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const holder = await connect(database.url);
  await holder.query("SELECT pg_advisory_lock($1::bigint)", [await runLockKey("public", "schema_migrations")]);
  const result = await migrate(pool, [createItems], { tableName: "other_history", busyTimeoutMs: 200 });
  assert.deepEqual(
    result.steps.map((step) => step.version),
    [1],
  );
});

test("a migration that ends the session's advisory locks (DISCARD ALL, pg_advisory_unlock_all) keeps the run lock: taken back at once, or the run stops when another process took it", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const key = await runLockKey("public", "schema_migrations");
  const other = await connect(database.url);
  const offNoTransaction = (version: number, up: (db: pg.ClientBase) => Promise<void>) =>
    tsEntry(version, { up, transaction: false } as unknown as MigrationDefinition<unknown>, { dialect: "postgres", transaction: false } as never) as MigrationEntry;
  // Another process trying the lock while migration 3 runs, after migration 2's DISCARD ALL.
  let otherGotIt: boolean | null = null;
  const discard = namedSqlEntry(2, "discard", "DISCARD ALL;", null, { dialect: "postgres", transaction: false } as never);
  const probe = asyncEntry(3, async () => {
    otherGotIt = (await other.query<{ got: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS got", [key])).rows[0]!.got;
    if (otherGotIt) await other.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
  });
  await migrate(pool, [createItems, discard, probe]);
  assert.equal(otherGotIt, false);
  // Taken back once: the run's end released it, and the pool's session holds no advisory lock.
  assert.equal(
    (await pool.query("SELECT count(*)::int AS n FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())"))
      .rows[0]!.n,
    0,
  );

  // Another process takes the lock in the moment it was free: the run stops at that migration, which stays for repair, and runs nothing after it.
  const unlockAll = offNoTransaction(4, async (db) => {
    await db.query("SELECT pg_advisory_unlock_all()");
    await other.query("SELECT pg_advisory_lock($1::bigint)", [key]);
  });
  const after = namedSqlEntry(5, "never_run", "CREATE TABLE never_run (id int);", null, { dialect: "postgres" });
  const error = await rejection(() => migrate(pool, [createItems, discard, probe, unlockAll, after]));
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.deepEqual([error.version, error.rolledBack], [4, false]);
  assert.match(String(error.message), /released stepwise's run lock/);
  assert.deepEqual(await tables(pool), ["items", "schema_migrations"]);
  assert.deepEqual(
    (await pool.query("SELECT version::int AS v, state FROM schema_migrations ORDER BY 1")).rows.map((row) => `${row.v}:${row.state}`),
    ["1:applied", "2:applied", "3:applied", "4:started"],
  );
  await other.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
});

test("a migration in a transaction that ends the session's advisory locks, from code or through a function, never lets another process in: its transaction holds the key, and the run lock is taken back before its COMMIT", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const key = await runLockKey("public", "schema_migrations");
  const other = await connect(database.url);
  // A third process, which waits for the lock on a session of its own.
  const waiter = await connect(database.url);
  const otherTries = async () => {
    const got = (await other.query<{ got: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS got", [key])).rows[0]!.got;
    if (got) await other.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
    return got;
  };
  const history = async () => (await pool.query("SELECT version::int AS v, state FROM schema_migrations ORDER BY 1")).rows.map((row) => `${row.v}:${row.state}`);
  const tries: boolean[] = [];
  // SQL that reaches the unlock through a function: its text names no unlock.
  const tidy = namedSqlEntry(2, "tidy", "CREATE FUNCTION tidy() RETURNS boolean LANGUAGE sql AS $$ SELECT pg_advisory_unlock_all() IS NULL $$;\nSELECT tidy();", null, { dialect: "postgres" });
  // Outside a transaction, after it: the session must hold the run lock again.
  const outside = asyncEntry(3, async () => void tries.push(await otherTries()), { transaction: false });
  // Code that releases it, then another process trying it at once, and another waiting for it.
  const taker: { waiting?: Promise<unknown> } = {};
  const unlockAll = asyncEntry(4, async (db) => {
    await db.query("INSERT INTO items VALUES (4, 'from migration 4')");
    await db.query("SELECT pg_advisory_unlock_all()");
    tries.push(await otherTries());
    taker.waiting = waiter.query("SELECT pg_advisory_lock($1::bigint)", [key]);
  });
  const after = asyncEntry(5, async () => void tries.push(await otherTries()));
  const registry = [createItems, tidy, outside, unlockAll, after];
  for (const transaction of ["each", "all"] as const) {
    if (transaction === "all") await pool.query("DELETE FROM items; DELETE FROM schema_migrations WHERE version >= 4");
    tries.length = 0;
    const ran = await migrate(pool, registry, { transaction });
    assert.deepEqual(tries, transaction === "each" ? [false, false, false] : [false, false], `${transaction}: another process took the run lock while the run held it`);
    assert.deepEqual(
      ran.steps.map((step) => step.version),
      transaction === "each" ? [1, 2, 3, 4, 5] : [4, 5],
      transaction,
    );
    // The process that waited gets the lock once the run has released it.
    await taker.waiting;
    await waiter.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
  }
  assert.deepEqual(await history(), ["1:applied", "2:applied", "3:applied", "4:applied", "5:applied"]);
  assert.equal((await pool.query("SELECT count(*)::int AS n FROM pg_catalog.pg_locks WHERE locktype = 'advisory'")).rows[0]!.n, 0, "an advisory lock stayed held");
});

test("a read on a pg.Client whose transaction the app left failed is TRANSACTION_OPEN, typed, and the transaction stays for the app to roll back", async (t) => {
  const { database } = await freshDatabase(t);
  const client = await connect(database.url);
  await migrate(client, [createItems]);
  await client.query("BEGIN");
  await client.query("SELECT 1/0").catch(() => undefined);
  const manager = new MigrationManager(client, [createItems]);
  for (const read of [() => manager.status(), () => manager.history(), () => manager.up()]) {
    const error = await rejection(read);
    assert.deepEqual([error.code, error.driver], ["TRANSACTION_OPEN", "pg"]);
  }
  assert.equal((client as unknown as { getTransactionStatus(): string }).getTransactionStatus(), "E");
  await client.query("ROLLBACK");
  assert.equal((await manager.status()).currentVersion, 1);
});

test("a failed transaction: false migration whose session lives on is INCOMPLETE_MIGRATION, not one still running: a session runs a migration only while it holds the run lock", async (t) => {
  const { database, pool } = await freshDatabase(t);
  // The app keeps its session after the failure, as a pool does.
  const app = await connect(database.url);
  const failing = namedSqlEntry(2, "fails_outside", "CREATE TABLE made (id int);\nSELECT 1/0;", null, { dialect: "postgres", transaction: false } as never);
  const failed = await rejection(() => migrate(app, [createItems, failing]));
  assert.deepEqual([failed.code, failed.version, failed.rolledBack], ["MIGRATION_FAILED", 2, false]);
  // As if it had run in another process: its pid and host say nothing here, so only its server session can tell.
  const moved = await pool.query("UPDATE schema_migrations SET owner = jsonb_set(jsonb_set(owner::jsonb, '{host}', '\"another-host\"'), '{pid}', '1')::text WHERE state = 'started'");
  assert.equal(moved.rowCount, 1);
  const manager = new MigrationManager(pool, [createItems, failing]);
  assert.equal((await manager.status()).problem?.code, "INCOMPLETE_MIGRATION");
  const refused = await rejection(() => new MigrationManager(pool, [createItems, failing], { busyTimeoutMs: 10_000 }).up());
  assert.deepEqual([refused.code, refused.version], ["INCOMPLETE_MIGRATION", 2]);
  // The same session holding the run lock is one still running it.
  await app.query("SELECT pg_advisory_lock($1::bigint)", [await runLockKey("public", "schema_migrations")]);
  assert.equal((await manager.status()).problem?.code, "MIGRATION_IN_PROGRESS");
});

test("a query a TypeScript migration started without await fails that migration with the server's error, instead of ending the process; one it awaited and caught is its own", async (t) => {
  const { pool } = await freshDatabase(t);
  const unawaited = asyncEntry(2, async (db) => {
    void db.query("INSERT INTO items VALUES (1, 'kept?')");
    void db.query("INSERT INTO no_such_table VALUES (1)");
  });
  const error = await rejection(() => migrate(pool, [createItems, unawaited]));
  assert.deepEqual([error.code, error.version, error.rolledBack, error.nativeCode], ["MIGRATION_FAILED", 2, true, "42P01"]);
  assert.match(String(error.message), /without await .*relation "no_such_table" does not exist/);
  assert.deepEqual((await pool.query("SELECT count(*)::int AS n FROM items")).rows[0]!.n, 0);
  // Outside a transaction the statements before it stay, and so does its started row: never recorded as applied.
  const outside = asyncEntry(
    2,
    async (db) => {
      void db.query("CREATE TABLE made_first (id int)");
      void db.query("INSERT INTO no_such_table VALUES (1)");
    },
    { transaction: false },
  );
  const partly = await rejection(() => migrate(pool, [createItems, outside]));
  assert.deepEqual([partly.code, partly.version, partly.rolledBack], ["MIGRATION_FAILED", 2, false]);
  assert.deepEqual(await tables(pool), ["items", "made_first", "schema_migrations"]);
  assert.deepEqual(
    (await pool.query("SELECT version::int AS v, state FROM schema_migrations ORDER BY 1")).rows.map((row) => `${row.v}:${row.state}`),
    ["1:applied", "2:started"],
  );
  await pool.query("DELETE FROM schema_migrations WHERE version = 2; DROP TABLE made_first");
  // A failure the body awaited and caught is its own to handle; a query it did not await that succeeds is applied with it.
  const handled = asyncEntry(
    2,
    async (db) => {
      await db.query("INSERT INTO no_such_table VALUES (1)").catch(() => undefined);
      void db.query("CREATE TABLE made_unawaited (id int)");
    },
    { transaction: false },
  );
  await migrate(pool, [createItems, handled]);
  assert.deepEqual(await tables(pool), ["items", "made_unawaited", "schema_migrations"]);
});

test("the server releases the run lock when the session holding it dies; the next up proceeds", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const holder = await connect(database.url);
  await holder.query("SELECT pg_advisory_lock($1::bigint)", [await runLockKey("public", "schema_migrations")]);
  const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
  await pool.query("SELECT pg_terminate_backend($1)", [pid]);
  assert.deepEqual(
    (await migrate(pool, [createItems], { busyTimeoutMs: 5_000 })).steps.map((step) => step.version),
    [1],
  );
});

test("a pool's client is checked out for the call and given back; no advisory lock stays held", async (t) => {
  const { pool } = await freshDatabase(t);
  const manager = new MigrationManager(pool, [createItems]);
  await manager.up();
  await manager.status();
  await manager.down();
  assert.equal(pool.waitingCount, 0);
  assert.equal(pool.idleCount, pool.totalCount);
  const locks = (
    await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())",
    )
  ).rows[0]!.n;
  assert.equal(locks, 0);
});

test("the schema option keeps the history table in that schema, created when missing", async (t) => {
  const { pool } = await freshDatabase(t);
  await new MigrationManager(pool, [createItems], { schema: "stepwise_meta" } as never).up();
  assert.deepEqual(await tables(pool, "stepwise_meta"), ["schema_migrations"]);
  assert.deepEqual(await tables(pool), ["items"]);
  const history = await new MigrationManager(pool, [createItems], { schema: "stepwise_meta" } as never).history();
  assert.deepEqual(
    history.map((row) => row.version),
    [1],
  );
  // The public schema alone, with its table and no history there, reads as unmanaged.
  const error = await rejection(() => migrate(pool, [createItems]));
  assert.equal(error.code, "UNMANAGED_DATABASE");
  assert.deepEqual(error.tables, ["items"]);
});

test("a schema name that is not a plain identifier is refused at construction", () => {
  assert.throws(
    () => new MigrationManager(new pg.Pool(), [], { schema: 'x"; DROP SCHEMA public; --' } as never),
    (error: { code?: string }) => error.code === "USAGE",
  );
});

test("an option pg's migrate or manager does not take is refused with USAGE naming it and the one meant, before any connection", async () => {
  // Ignored before: `schma` migrated the public schema, `tabelName` wrote the history to schema_migrations.
  const pool = new pg.Pool({ host: "nowhere.invalid" });
  await assert.rejects(migrate(pool, [createItems], { schma: "app" } as never), stepwiseFailure({ code: "USAGE", option: "schma", message: /did you mean "schema"\?/ }));
  await assert.rejects(migrate(pool, [createItems], { lockTimeout: 5 } as never), stepwiseFailure({ code: "USAGE", option: "lockTimeout", message: /did you mean "lockTimeoutMs"\?/ }));
  assert.throws(() => new MigrationManager(pool, [createItems], { tabelName: "h" } as never), stepwiseFailure({ code: "USAGE", option: "tabelName", message: /did you mean "tableName"\?/ }));
  await assert.rejects(new MigrationManager(pool, [createItems]).down({ step: 2 } as never), stepwiseFailure({ code: "USAGE", option: "step" }));
  assert.equal(pool.totalCount, 0);
});

test("an app's client inside a transaction is refused with TRANSACTION_OPEN, and its transaction stays open", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const client = await connect(database.url);
  await client.query("BEGIN");
  await client.query("CREATE TABLE apps_own (id int)");
  const error = await rejection(() => migrate(client, [createItems]));
  assert.equal(error.code, "TRANSACTION_OPEN");
  assert.equal(client.getTransactionStatus(), "T");
  await client.query("ROLLBACK");
  assert.deepEqual(await tables(pool), []);
});

test("CREATE INDEX CONCURRENTLY runs as a transaction: false migration; inside a transaction it fails and leaves nothing", async (t) => {
  const { pool } = await freshDatabase(t);
  const concurrently = namedSqlEntry(2, "index_notes", "CREATE INDEX CONCURRENTLY items_note ON items (note);", "DROP INDEX CONCURRENTLY items_note;", { transaction: false, dialect: "postgres" });
  await migrate(pool, [createItems]);
  const inTransaction = await rejection(() => migrate(pool, [createItems, { ...concurrently, transaction: true }]));
  assert.equal(inTransaction.code, "MIGRATION_FAILED");
  assert.equal(inTransaction.nativeCode, "25001");
  const result = await migrate(pool, [createItems, concurrently]);
  assert.deepEqual(
    result.steps.map((step) => step.version),
    [2],
  );
  const index = (
    await pool.query<{ valid: boolean }>("SELECT i.indisvalid AS valid FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid WHERE c.relname = 'items_note'")
  ).rows;
  assert.deepEqual(index, [{ valid: true }]);
  await new MigrationManager(pool, [createItems, concurrently]).down();
  assert.equal((await pool.query("SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'items_note'")).rowCount, 0);
});

test("a failed statement in stepwise's transaction is rolled back though pg's transaction status still says idle", async (t) => {
  // pg rejects a failed statement on the server's error and learns the transaction's status from the message after it, which may come in a later read: until then
  // getTransactionStatus() still says idle. Stand in for that moment on every call, and the session must still end out of any transaction, ready for the app.
  const { pool } = await freshDatabase(t);
  await migrate(pool, [createItems]);
  const client = await pool.connect();
  try {
    const reported = client as pg.PoolClient & { getTransactionStatus(): string | null };
    const actual = reported.getTransactionStatus.bind(reported);
    reported.getTransactionStatus = () => "I";
    const failing = namedSqlEntry(2, "index_notes", "CREATE INDEX CONCURRENTLY items_note ON items (note);", null, { dialect: "postgres" });
    const error = await rejection(() => migrate(client, [createItems, failing]));
    assert.deepEqual([error.code, error.nativeCode, error.rolledBack], ["MIGRATION_FAILED", "25001", true]);
    reported.getTransactionStatus = actual;
    assert.equal(reported.getTransactionStatus(), "I");
    assert.deepEqual((await client.query("SELECT 1 AS ok")).rows, [{ ok: 1 }]);
    const plain = namedSqlEntry(2, "index_notes", "CREATE INDEX items_note ON items (note);", null, { dialect: "postgres" });
    assert.deepEqual(
      (await migrate(client, [createItems, plain])).steps.map((step) => step.version),
      [2],
    );
  } finally {
    client.release();
  }
});

test("a transaction: false SQL migration of several statements runs each on its own, so CONCURRENTLY works there too", async (t) => {
  const { pool } = await freshDatabase(t);
  const indexes = namedSqlEntry(
    2,
    "index_notes_twice",
    "CREATE INDEX CONCURRENTLY items_note ON items (note);\n-- a comment between; with a semicolon\nCREATE INDEX CONCURRENTLY items_id_note ON items (id, note);",
    "DROP INDEX CONCURRENTLY items_id_note; DROP INDEX CONCURRENTLY items_note;",
    { transaction: false, dialect: "postgres" },
  );
  assert.deepEqual(
    (await migrate(pool, [createItems, indexes])).steps.map((step) => step.version),
    [1, 2],
  );
  const names = async () =>
    (await pool.query("SELECT indexname FROM pg_catalog.pg_indexes WHERE tablename = 'items' AND indexname <> 'items_pkey' ORDER BY indexname")).rows.map((row) => row.indexname);
  assert.deepEqual(await names(), ["items_id_note", "items_note"]);
  await new MigrationManager(pool, [createItems, indexes]).down();
  assert.deepEqual(await names(), []);
});

test("a body that catches a failed statement's error is not recorded: PostgreSQL aborted its transaction", async (t) => {
  const { pool } = await freshDatabase(t);
  await migrate(pool, [createItems]);
  const swallowing = asyncEntry(2, async (db) => {
    await db.query("INSERT INTO items VALUES (1, 'kept?')");
    await db.query("INSERT INTO no_such_table VALUES (1)").catch(() => undefined);
  });
  const error = await rejection(() => migrate(pool, [createItems, swallowing]));
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.version, 2);
  assert.deepEqual((await pool.query("SELECT * FROM items")).rows, []);
  assert.deepEqual((await pool.query("SELECT version FROM schema_migrations ORDER BY version")).rows, [{ version: "1" }]);
});

test("a read-only session is DATABASE_UNUSABLE with SQLSTATE 25006; nothing changes", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const client = await connect(database.url);
  await client.query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
  const error = await rejection(() => migrate(client, [createItems]));
  assert.equal(error.code, "DATABASE_UNUSABLE");
  assert.equal(error.nativeCode, "25006");
  assert.equal(error.nativeKind, "readonly");
  // The server's words, and what to change.
  assert.match(String(error.reason), /read-only transaction/);
  assert.match(String(error.fix), /primary server/);
  assert.match(String(error.message), /read-only transaction/);
  assert.deepEqual(await tables(pool), []);
});

test("a role that may not create in public (PostgreSQL 15's default) is DATABASE_UNUSABLE with the server's reason and the grant or schema that fixes it; nothing changes", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const role = `stepwise_app_${Math.random().toString(16).slice(2, 10)}`;
  await pool.query(`CREATE ROLE ${role} LOGIN`);
  t.after(async () => {
    // What the role owns goes with the database; then the role can go.
    await database.drop();
    await withPgClient(database.server.url("postgres"), (admin) => admin.query(`DROP ROLE IF EXISTS ${role}`));
  });
  const url = new URL(database.url);
  url.username = role;
  for (const schema of [[], ["--schema", "app"]]) {
    const run = await runPgCli([createItems], url.toString(), ["up", "--json", ...schema]);
    const error = jsonError(run);
    assert.equal(error.code, "DATABASE_UNUSABLE");
    assert.equal(error.nativeCode, "42501");
    assert.match(String(error.reason), schema.length === 0 ? /permission denied for schema public/ : /permission denied for database/);
    assert.match(String(error.fix), /GRANT CREATE ON SCHEMA public TO <role>/);
    assert.match(String(error.message), /permission denied/);
  }
  assert.deepEqual(await tables(pool), []);
  // A schema of its own is the fix it names.
  await pool.query(`CREATE SCHEMA app AUTHORIZATION ${role}`);
  assert.equal((await runPgCli([createItems], url.toString(), ["up", "--schema", "app"])).code, 0);
  assert.deepEqual(await tables(pool, "app"), ["items", "schema_migrations"]);
  // A role that may not read the history is refused a read, which the message does not call a write.
  await pool.query(`REVOKE ALL ON app.schema_migrations FROM ${role}; ALTER TABLE app.schema_migrations OWNER TO CURRENT_USER; GRANT USAGE ON SCHEMA app TO ${role}`);
  const status = jsonError(await runPgCli([createItems], url.toString(), ["status", "--json", "--schema", "app"]));
  assert.deepEqual([status.code, status.nativeCode], ["DATABASE_UNUSABLE", "42501"]);
  assert.match(String(status.reason), /permission denied for table schema_migrations/);
  assert.doesNotMatch(String(status.message), /cannot be written/);
  assert.match(String(status.fix), /SELECT to read it/);
});

test("SQLSTATEs of real server errors read as stepwise's kinds", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const missingTable = await rejection(() => pool.query("SELECT * FROM no_such_table"));
  assert.deepEqual(classifyPostgresError(missingTable), { kind: "other", nativeCode: "42P01" });
  await pool.query("CREATE TABLE lockme (id int)");
  const holder = await connect(database.url);
  await holder.query("BEGIN");
  await holder.query("LOCK TABLE lockme IN ACCESS EXCLUSIVE MODE");
  const waiter = await connect(database.url);
  await waiter.query("SET lock_timeout = '50ms'");
  const timedOut = await rejection(() => waiter.query("SELECT * FROM lockme"));
  assert.deepEqual(classifyPostgresError(timedOut), { kind: "locked", nativeCode: "55P03" });
  await holder.query("ROLLBACK");
  const noDatabase = new pg.Client({ connectionString: database.server.url("no_such_database") });
  const unreachable = await rejection(() => noDatabase.connect());
  assert.deepEqual(classifyPostgresError(unreachable), { kind: "cantopen", nativeCode: "3D000" });
  assert.equal(kindOfSqlstate("40P01"), "locked");
  assert.equal(kindOfSqlstate("53100"), "full");
  assert.equal(kindOfSqlstate("57014"), "other");
  assert.deepEqual(classifyPostgresError(new Error("no code")), { kind: "other", nativeCode: null });
});

test("stepwise's ? placeholders become $n outside quoted text and identifiers", () => {
  assert.equal(toPositionalParameters("UPDATE \"t?\" SET a = ?, b = '?' WHERE c = ?"), "UPDATE \"t?\" SET a = $1, b = '?' WHERE c = $2");
});

test("a running transaction: false migration is told from a dead one by its server session, not by its pid or host", { timeout: 120_000 }, async (t) => {
  const { database, pool } = await freshDatabase(t);
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(matrixRoot, "test/support/pg-migrate-child.ts"), "crash", database.url], {
    env: { ...process.env, STEPWISE_PG_SLOW_LAST: "60000" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.on("close", resolve));
  t.after(async () => {
    child.kill("SIGKILL");
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => line === `migrating ${PG_RACE_LATEST}` && resolve());
    child.on("close", (code) => reject(new Error(`the child ended (${code}) before the transaction: false migration`)));
  });
  // As if the owner ran on another host: its pid says nothing here, so only the session can tell. The started row commits just after the event.
  const moveOwner = "UPDATE schema_migrations SET owner = jsonb_set(jsonb_set(owner::jsonb, '{host}', '\"another-host\"'), '{pid}', '1')::text WHERE state = 'started'";
  // Polled up to a deadline, not for a count of tries: on a loaded machine the child can take seconds to commit it.
  for (const deadline = Date.now() + 30_000; (await pool.query(moveOwner)).rowCount !== 1;) {
    assert.ok(Date.now() < deadline, "the child's started row never committed");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const manager = new MigrationManager(pool, PG_RACE_REGISTRY);
  assert.equal((await manager.status()).problem?.code, "MIGRATION_IN_PROGRESS");
  child.kill("SIGKILL");
  await exited;
  let problem: string | undefined;
  for (const deadline = Date.now() + 30_000; problem !== "INCOMPLETE_MIGRATION" && Date.now() < deadline;) {
    problem = (await manager.status()).problem?.code;
    if (problem !== "INCOMPLETE_MIGRATION") await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(problem, "INCOMPLETE_MIGRATION", "once its session is gone, the attempt is reported interrupted");
  const error = await rejection(() => new MigrationManager(pool, PG_RACE_REGISTRY, { busyTimeoutMs: 5_000 }).up());
  assert.equal(error.code, "INCOMPLETE_MIGRATION");
  assert.equal(error.version, PG_RACE_LATEST);
});

test("a bundle of src/entries/pg.ts holds no SQLite driver and imports no SQLite library", async () => {
  const libraries = ["better-sqlite3", "bun:sqlite", "node:sqlite", "libsql", "sql.js"];
  const result = await build({
    stdin: { contents: `export * from "./src/entries/pg.ts";`, resolveDir: matrixRoot, sourcefile: "app.ts", loader: "ts" },
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    target: "node20",
    format: "esm",
    external: [...libraries, "pg"],
    logLevel: "silent",
  });
  const [output] = Object.values(result.metafile.outputs);
  assert.ok(output);
  const inputs = Object.entries(output.inputs)
    .filter(([, contribution]) => contribution.bytesInOutput > 0)
    .map(([input]) => path.relative(matrixRoot, path.resolve(matrixRoot, input)).split(path.sep).join("/"));
  assert.ok(inputs.includes("src/drivers/pg.ts") && inputs.includes("src/core/executor.ts"), inputs.join(", "));
  const sqliteDrivers = DRIVERS.flatMap((driver) => [driver.driverFile, driver.entry]);
  assert.deepEqual(
    inputs.filter((input) => sqliteDrivers.includes(input) || input.includes("node_modules/") || input.startsWith("src/cli/")),
    [],
  );
  assert.deepEqual(
    output.imports.map((imported) => imported.path).filter((imported) => libraries.includes(imported)),
    [],
  );
  assert.ok(
    output.imports.some((imported) => imported.path === "pg"),
    "the entry imports pg itself",
  );
});

test("a backup asked of up is refused by capability before anything runs (PostgreSQL's backups are pg_dump's)", async (t) => {
  const { pool } = await freshDatabase(t);
  const error = await rejection(() => new MigrationManager(pool, [createItems]).up({ backup: { folder: "backups" } } as never));
  assert.equal(error.code, "DRIVER_CAPABILITY_MISSING");
  assert.equal(error.driver, "pg");
  assert.equal(error.capability, "onlineBackup");
  assert.deepEqual(await tables(pool), []);
});

test("a history table of the wrong shape, or a view in its place, is HISTORY_TABLE_INVALID; nothing changes", async (t) => {
  const { pool } = await freshDatabase(t);
  await pool.query("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, name TEXT, checksum TEXT, applied_at TEXT, duration_ms BIGINT, state TEXT)");
  const wrongKey = await rejection(() => migrate(pool, [createItems]));
  assert.equal(wrongKey.code, "HISTORY_TABLE_INVALID");
  await pool.query("DROP TABLE schema_migrations");
  await pool.query("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT)");
  const missing = await rejection(() => migrate(pool, [createItems]));
  assert.equal(missing.code, "HISTORY_TABLE_INVALID");
  assert.deepEqual(missing.missingColumns, ["checksum", "applied_at", "duration_ms", "state"]);
  await pool.query("DROP TABLE schema_migrations");
  await pool.query("CREATE VIEW schema_migrations AS SELECT 1 AS version");
  const view = await rejection(() => migrate(pool, [createItems]));
  assert.equal(view.code, "HISTORY_TABLE_INVALID");
  assert.deepEqual(await tables(pool), []);
});

test("a version past 2^53 written by hand is refused naming its exact value, never a rounded neighbour", async (t) => {
  const { pool } = await freshDatabase(t);
  await migrate(pool, [createItems]);
  await pool.query("INSERT INTO schema_migrations (version, name, checksum, applied_at, state) VALUES (9007199254740993, 'x', 'y', 'z', 'applied')");
  const error = await rejection(() => migrate(pool, [createItems]));
  assert.equal(error.code, "HISTORY_TABLE_INVALID");
  assert.equal(error.problem, "version-not-positive-integer");
  assert.equal(error.version, "9007199254740993");
  assert.equal(error.rowid, null);
});

test("a second call on the same client while one runs is refused, and does nothing; a pool runs both", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const client = await connect(database.url);
  const slow = asyncEntry(2, async (db) => {
    await db.query("SELECT pg_sleep(0.3)");
  });
  const first = migrate(client, [createItems, slow]);
  const second = await rejection(() => new MigrationManager(client, [createItems, slow]).status());
  assert.equal(second.code, "ASYNC_RUN_IN_PROGRESS");
  assert.deepEqual(
    (await first).steps.map((step) => step.version),
    [1, 2],
  );
  const [a, b] = await Promise.all([new MigrationManager(pool, [createItems, slow]).status(), migrate(pool, [createItems, slow])]);
  assert.equal(a.currentVersion, 2);
  assert.deepEqual(b.steps, []);
});

test("a Client or Pool the app ended, and a Client never connected, are USAGE naming it, at once: not CONNECTION_LOST blaming the server, nor a call that never settles", async (t) => {
  const { database } = await freshDatabase(t);
  const ended = await connect(database.url);
  await ended.end();
  const neverConnected = new pg.Client({ connectionString: database.url });
  const endedPool = new pg.Pool({ connectionString: database.url });
  await endedPool.end();
  const failed = new pg.Client({ connectionString: database.url.replace(/\/([^/?]+)(\?|$)/, "/no_such_database$2") });
  await assert.rejects(failed.connect());
  for (const [name, db, message] of [
    ["an ended Client", ended, /connection is closed: end\(\) ran/],
    ["a Client never connected", neverConnected, /not connected: await client\.connect\(\)/],
    ["an ended Pool", endedPool, /connection is closed: end\(\) ran/],
    ["a Client whose connect() failed", failed, /can no longer be used/],
  ] as const) {
    for (const call of [() => migrate(db, [createItems]), () => new MigrationManager(db, [createItems]).status()]) {
      const error = await rejection(call);
      assert.deepEqual([error.code, message.test(String(error.message))], ["USAGE", true], `${name}: ${String(error.message)}`);
    }
  }
  // Nothing reached the database.
  const check = await connect(database.url);
  t.after(() => check.end());
  assert.deepEqual((await check.query("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public'")).rows, []);
});

test("reset drops the schema's tables, views, indexes, triggers and functions (the history included, a stray function as a stray table), then applies everything", async (t) => {
  const { pool } = await freshDatabase(t);
  const withObjects = namedSqlEntry(
    2,
    "objects",
    `CREATE INDEX items_note ON items (note);
     CREATE VIEW item_notes AS SELECT note FROM items;
     CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
     CREATE TRIGGER items_touch BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION touch();`,
    null,
    { dialect: "postgres" },
  );
  const manager = new MigrationManager(pool, [createItems, withObjects]);
  await manager.up();
  await pool.query("INSERT INTO items VALUES (1, 'data')");
  await pool.query("CREATE TABLE stray (id int); CREATE FUNCTION stray_function() RETURNS int LANGUAGE sql AS 'SELECT 1'");
  const result = await manager.reset({ dangerouslyDropAllData: true });
  assert.deepEqual(
    result.steps.map((step) => step.version),
    [1, 2],
  );
  assert.deepEqual(await tables(pool), ["items", "schema_migrations"]);
  assert.deepEqual((await pool.query("SELECT * FROM items")).rows, []);
  const objects = (await pool.query<{ name: string }>("SELECT relname AS name FROM pg_catalog.pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('v', 'i') ORDER BY 1")).rows.map(
    (row) => row.name,
  );
  assert.deepEqual(objects, ["item_notes", "items_note", "items_pkey", "schema_migrations_pkey"]);
  assert.equal((await pool.query("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgname = 'items_touch'")).rowCount, 1);
  const functions = await pool.query<{ name: string }>("SELECT proname AS name FROM pg_catalog.pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1");
  assert.deepEqual(
    functions.rows.map((row) => row.name),
    ["touch"],
  );
});
