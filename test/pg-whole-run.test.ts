/**
 * stepwise-migrate/pg under `transaction: "all"`, migration by migration in the run's one transaction: the
 * failure named is the failing migration's, with its own error and a position counted from its own
 * SQL; nothing of the run stays; the events end at the failing migration's `migrating`; each history
 * row and result carries its own migration's duration; a discarded or missing history row fails its
 * own migration. Statements are counted through the client's own `query`, never timed.
 */
import assert from "node:assert/strict";
import { AsyncLocalStorage, createHook } from "node:async_hooks";
import { test } from "node:test";
import pg from "pg";
import type { MigrationEvent } from "../src/core/events.js";
import type { SqlMigrationEntry } from "../src/core/types.js";
import { MigrationManager } from "../src/entries/pg.js";
import { connectFresh, recordStatements } from "./support/pg-client.js";
import { createTestDatabase, postgresServer } from "./support/postgres-server.js";
import { namedSqlEntry } from "./support/registry-builders.js";
import { factsOf } from "./support/stepwise-failure.js";

const pgEntry = (version: number, up: string, down: string | null = null) => namedSqlEntry(version, `step_${version}`, up, down ?? `DROP TABLE t${version};`, { dialect: "postgres" });

/** `size` migrations, each creating table `t<version>`; `replace` swaps in others by version. */
function registryOf(size: number, replace: Record<number, SqlMigrationEntry> = {}): SqlMigrationEntry[] {
  return Array.from({ length: size }, (_, index) => replace[index + 1] ?? pgEntry(index + 1, `CREATE TABLE t${index + 1} (id bigint PRIMARY KEY);`));
}

async function rejection(action: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await action();
  } catch (error) {
    return factsOf(error) as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}

async function tableNames(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>("SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = 'public' ORDER BY tablename");
  return rows.map((row) => row.name);
}

/** The events of `action`, as `type version`. */
async function eventsOf(collect: (onEvent: (event: MigrationEvent) => void) => Promise<unknown>): Promise<string[]> {
  const events: string[] = [];
  await collect((event) => events.push(`${event.type} ${"version" in event ? event.version : ""}`.trim())).catch(() => undefined);
  return events;
}

test('up({ transaction: "all" }) sends every SQL migration once and in order, and commits once', async (t) => {
  const client = await connectFresh(t);
  const size = 19;
  const registry = registryOf(size);
  const sent = await recordStatements(client, () => new MigrationManager(client, registry).up({ transaction: "all" }));
  const order = sent.flatMap((message) => [...message.matchAll(/CREATE TABLE t(\d+) /g)].map((match) => Number(match[1])));
  assert.deepEqual(
    order,
    registry.map((entry) => entry.version),
  );
  assert.equal(sent.filter((sql) => /\bCOMMIT\b/.test(sql)).length, 1);
  assert.deepEqual(
    (await client.query<{ version: string }>("SELECT version FROM schema_migrations ORDER BY version")).rows.map((row) => Number(row.version)),
    registry.map((entry) => entry.version),
  );
});

test("a migration that fails mid-run is the one reported, with its own error, its events last; nothing of the run stays", async (t) => {
  const client = await connectFresh(t);
  const registry = registryOf(5, { 3: pgEntry(3, "CREATE TABLE t3 (id bigint);\nSELECT 1 / 0;") });
  const error = await rejection(() => new MigrationManager(client, registry).up({ transaction: "all" }));
  assert.deepEqual([error.code, error.version, error.file, error.direction, error.rolledBack], ["MIGRATION_FAILED", 3, "migrations/003_step_3.sql", "up", true]);
  assert.equal((error.cause as { code?: string }).code, "22012");
  assert.deepEqual(await tableNames(client), [], "the run, the history table's creation included, rolled back");
  const events = await eventsOf((onEvent) => new MigrationManager(client, registry, { onEvent }).up({ transaction: "all" }));
  assert.deepEqual(events, ["migrating 1", "migrating 2", "migrating 3"]);
});

test("an error with a position in a later migration of the run counts it from that migration's SQL, as the SQL sent alone reports it", async (t) => {
  const client = await connectFresh(t);
  const script = "CREATE TABLE t4 (id bigint);\n-- the next statement names a column t4 lacks\nSELECT missing_column FROM t4;";
  const registry = registryOf(5, { 4: pgEntry(4, script) });
  const error = await rejection(() => new MigrationManager(client, registry).up({ transaction: "all" }));
  assert.deepEqual([error.code, error.version, error.rolledBack], ["MIGRATION_FAILED", 4, true]);
  const cause = error.cause as { code?: string; position?: string };
  assert.equal(cause.code, "42703");
  assert.equal(cause.position, String(script.indexOf("missing_column") + 1));
  assert.deepEqual(await tableNames(client), []);
  // The same SQL alone, on the server: the same position.
  await client.query("BEGIN");
  const alone = await rejection(() => client.query(script));
  await client.query("ROLLBACK");
  assert.equal((alone as { position?: string }).position, cause.position);
});

test("a failure located by running the run again is never placed on another statement that fails the same way there: an earlier migration's SET reached it", async (t) => {
  const client = await connectFresh(t);
  // Migration 2 moves the search_path, which the run puts back before migration 3; run again back to back, its INSERT INTO items failed there with the same SQLSTATE.
  // As gen writes them: each file's SQL below its marker line.
  const located = (version: number, up: string) => namedSqlEntry(version, `step_${version}`, up, null, { dialect: "postgres", sqlLines: [2, null] });
  const registry = [
    located(1, "CREATE TABLE items (id int PRIMARY KEY);"),
    located(2, "SET search_path = pg_catalog;\nCREATE TABLE public.audit (id int);"),
    located(3, "INSERT INTO items VALUES (2);\nINSERT INTO no_such_table VALUES (1);"),
  ];
  const locations: Record<string, unknown> = {};
  for (const transaction of ["each", "all"] as const) {
    const error = await rejection(() => new MigrationManager(client, registry).up({ transaction }));
    assert.deepEqual([error.code, error.version, (error as { nativeCode?: unknown }).nativeCode], ["MIGRATION_FAILED", 3, "42P01"], transaction);
    locations[transaction] = error.location;
    await client.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  }
  assert.deepEqual(locations.each, { file: "migrations/003_step_3.sql", line: 3, column: 13 });
  // The right statement, or none: never line 2's INSERT INTO items, which ran in the run.
  assert.ok(locations.all === null || JSON.stringify(locations.all) === JSON.stringify(locations.each), JSON.stringify(locations.all));
});

test("a syntax error in a later migration is that migration's, nothing of the run stays, its position counted from its SQL", async (t) => {
  const client = await connectFresh(t);
  const script = "CREATE TABLE t4 (id bigint);\nCREAT TABLE oops (id bigint);";
  const registry = registryOf(6, { 4: pgEntry(4, script) });
  const events: string[] = [];
  const error = await rejection(() =>
    new MigrationManager(client, registry, { onEvent: (event) => events.push(`${event.type} ${"version" in event ? event.version : ""}`) }).up({ transaction: "all" }),
  );
  assert.deepEqual([error.code, error.version, error.file, error.rolledBack], ["MIGRATION_FAILED", 4, "migrations/004_step_4.sql", true]);
  const cause = error.cause as { code?: string; position?: string };
  assert.equal(cause.code, "42601");
  assert.equal(cause.position, String(script.indexOf("CREAT TABLE") + 1));
  assert.deepEqual(events, ["migrating 1", "migrating 2", "migrating 3", "migrating 4"]);
  assert.deepEqual(await tableNames(client), []);
  // Fixed, the run applies everything once.
  const fixed = registryOf(6);
  assert.deepEqual(
    (await new MigrationManager(client, fixed).up({ transaction: "all" })).steps.map((step) => step.version),
    [1, 2, 3, 4, 5, 6],
  );
});

test("each migration of a whole run carries its own duration, in its history row and its result", async (t) => {
  const client = await connectFresh(t);
  // A long sleep, so a busy machine's slow statements in the other migrations stay far below it.
  const registry = registryOf(4, { 2: pgEntry(2, "SELECT pg_sleep(1.5);\nCREATE TABLE t2 (id bigint);") });
  const result = await new MigrationManager(client, registry).up({ transaction: "all" });
  const { rows } = await client.query<{ version: string; duration_ms: string }>("SELECT version, duration_ms FROM schema_migrations ORDER BY version");
  const stored = rows.map((row) => Number(row.duration_ms));
  const reported = result.steps.map((step) => step.durationMs);
  assert.ok(stored[1]! >= 1500, `migration 2's row: ${stored[1]} ms`);
  assert.ok(reported[1]! >= 1500, `migration 2's result: ${reported[1]} ms`);
  // The sleep is migration 2's alone: neither the one before nor the ones after count it.
  for (const index of [0, 2, 3]) {
    assert.ok(stored[index]! < stored[1]! - 1000, `row ${index + 1}: ${stored[index]} ms`);
    assert.ok(reported[index]! < reported[1]! - 1000, `result ${index + 1}: ${reported[index]} ms`);
  }
  // The row is written before the migration's result is measured: it never exceeds it.
  for (let index = 0; index < 4; index++) assert.ok(stored[index]! <= Math.round(reported[index]!) + 1, `${index + 1}: row ${stored[index]}, result ${reported[index]}`);
});

test("a history INSERT a trigger discards mid-run fails its own migration, rolled back", async (t) => {
  const client = await connectFresh(t);
  const registry = registryOf(5);
  await new MigrationManager(client, registry).up({ to: 1 });
  await client.query(
    "CREATE FUNCTION discard_three() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.version = 3 THEN RETURN NULL; END IF; RETURN NEW; END $$; " +
      "CREATE TRIGGER discard_three BEFORE INSERT ON schema_migrations FOR EACH ROW EXECUTE FUNCTION discard_three();",
  );
  const error = await rejection(() => new MigrationManager(client, registry).up({ transaction: "all" }));
  assert.deepEqual([error.code, error.version, error.rolledBack], ["MIGRATION_FAILED", 3, true]);
  assert.equal((error.cause as { code?: string }).code, "HISTORY_ROW_DISCARDED");
  assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"]);
});

test("a revert mid-run whose SQL deletes its own history row fails with HISTORY_CHANGED_BY_MIGRATION; the roll-back rolls back whole", async (t) => {
  const client = await connectFresh(t);
  const registry = registryOf(5, { 3: pgEntry(3, "CREATE TABLE t3 (id bigint);", "DROP TABLE t3;\nDELETE FROM schema_migrations WHERE version = 3;") });
  await new MigrationManager(client, registry).up();
  const error = await rejection(() => new MigrationManager(client, registry).down({ to: 0, transaction: "all" }));
  // The history guard meets it before stepwise's own DELETE would find no row (HISTORY_ROW_MISSING before the guard).
  assert.deepEqual([error.code, error.version, error.direction, error.rolledBack], ["HISTORY_CHANGED_BY_MIGRATION", 3, "down", true]);
  assert.deepEqual(await tableNames(client), ["schema_migrations", "t1", "t2", "t3", "t4", "t5"]);
  assert.equal(Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM schema_migrations")).rows[0]!.n), 5);
});

test("a migration whose name the database's encoding lacks is the one reported", async (t) => {
  const server = await postgresServer();
  // A LATIN1 database: the server converts every message from the client's UTF-8 on receipt, and a
  // character LATIN1 lacks fails the whole message, naming no position.
  const name = `stepwise_latin1_${globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: server.url("postgres") });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
  const client = new pg.Client({ connectionString: server.url(name) });
  await client.connect();
  t.after(async () => {
    await client.end();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
  const registry: SqlMigrationEntry[] = [1, 2, 3, 4].map((version) =>
    namedSqlEntry(version, version === 3 ? "step_\u4e2d" : `step_${version}`, `CREATE TABLE t${version} (id bigint);`, null, { dialect: "postgres" }),
  );
  const error = await rejection(() => new MigrationManager(client, registry).up({ transaction: "all" }));
  // One message per migration names migration 3, whose history INSERT holds the character.
  const alone = await rejection(() => new MigrationManager(client, registry).up());
  assert.deepEqual([alone.code, alone.version], ["MIGRATION_FAILED", 3]);
  assert.equal((alone.cause as { code?: string }).code, "22P05");
  assert.deepEqual([error.code, error.version, error.rolledBack], ["MIGRATION_FAILED", 3, true]);
  assert.equal((error.cause as { code?: string }).code, "22P05");
});

test("a COPY in a whole run: TO STDOUT completes; FROM STDIN fails its own migration, as under one transaction per migration", async (t) => {
  const client = await connectFresh(t);
  const out = registryOf(4, { 2: pgEntry(2, "CREATE TABLE t2 (id bigint);\nCOPY (SELECT 1 AS one, 2 AS two) TO STDOUT;") });
  await new MigrationManager(client, out).up({ transaction: "all" });
  assert.deepEqual(await tableNames(client), ["schema_migrations", "t1", "t2", "t3", "t4"]);
  const other = await connectFresh(t);
  const from = registryOf(4, { 3: pgEntry(3, "CREATE TABLE t3 (id bigint);\nCOPY t3 FROM STDIN;") });
  const error = await rejection(() => new MigrationManager(other, from).up({ transaction: "all" }));
  assert.deepEqual([error.code, error.version, error.rolledBack], ["MIGRATION_FAILED", 3, true]);
  const alone = await rejection(() => new MigrationManager(other, from).up());
  assert.deepEqual([alone.code, alone.version], ["MIGRATION_FAILED", 3]);
  assert.equal((error.cause as { code?: string }).code, (alone.cause as { code?: string }).code);
  // The session is usable after either.
  assert.equal((await other.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one, 1);
});

test("a script ending in a line comment applies; one ending inside a comment, a string or a dollar quote fails as its own", async (t) => {
  const client = await connectFresh(t);
  const commented = registryOf(4, { 2: pgEntry(2, "CREATE TABLE t2 (id bigint); -- no line break after this comment") });
  await new MigrationManager(client, commented).up({ transaction: "all" });
  assert.equal(Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM schema_migrations")).rows[0]!.n), 4);
  for (const open of ["/* a /* nested */ comment never closed", "SELECT 'a string never closed", "SELECT $body$ a dollar quote never closed $bod$"]) {
    const other = await connectFresh(t);
    const registry = registryOf(4, { 3: pgEntry(3, `CREATE TABLE t3 (id bigint);\n${open}`) });
    const error = await rejection(() => new MigrationManager(other, registry).up({ transaction: "all" }));
    assert.deepEqual([error.code, error.version, error.rolledBack], ["MIGRATION_FAILED", 3, true], open);
    assert.equal((error.cause as { code?: string }).code, "42601", open);
    assert.deepEqual(await tableNames(other), [], open);
  }
});

test("a whole run on a client with pg's query_timeout leaves no timer behind: the process can exit when the run ends", async (t) => {
  const database = await createTestDatabase();
  // pg times a query by a timer its callback clears; a query that never calls it leaves the timer
  // running until the timeout, holding the process open that long.
  const client = new pg.Client({ connectionString: database.url, query_timeout: 20_000 });
  await client.connect();
  t.after(async () => {
    await client.end();
    await database.drop();
  });
  assert.equal(await timersLeftBy(() => new MigrationManager(client, registryOf(4)).up({ transaction: "all" })), 0);
});

/**
 * How many timers `action` started (in its own async context) are still pending once it has ended. Not the
 * process's count of timers: the files of a shard share the process, and a timer another test left (an sqld's
 * dispose leaves a 5 s one) firing during the run changed that count.
 */
async function timersLeftBy(action: () => Promise<unknown>): Promise<number> {
  const context = new AsyncLocalStorage<true>();
  const pending = new Set<number>();
  const hook = createHook({
    init: (id, type) => void (type === "Timeout" && context.getStore() === true && pending.add(id)),
    destroy: (id) => void pending.delete(id),
  }).enable();
  try {
    await context.run(true, action);
    // A timer's destroy is reported from a queue the next turn of the event loop empties.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    hook.disable();
  }
  return pending.size;
}
