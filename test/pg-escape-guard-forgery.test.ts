/**
 * The escape guard on PostgreSQL against a body that forges its proof. The guard brackets each
 * TypeScript body in a savepoint with an unguessable name, but on a server the name is not secret
 * from the body: a second connection reads the migrating backend's last statement (the
 * `SAVEPOINT "…"` stepwise sent just before the body) from `pg_stat_activity.query`, and the body
 * can then run `COMMIT; BEGIN; SAVEPOINT "<name>"` on the migration's own connection, so that
 * `RELEASE` succeeds in a transaction that is not ours. The guard must still see the escape: the
 * transaction after the body has to be the one whose id was read when it began.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import pg from "pg";
import { MigrationManager } from "../src/entries/pg.js";
import type { MigrationEntry } from "../src/core/types.js";
import { connectFreshWithUrl, recordStatements } from "./support/pg-client.js";
import { asyncTsEntry, namedSqlEntry, rejection } from "./support/registry-builders.js";

const createItems = namedSqlEntry(1, "items", "CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text NOT NULL);", "DROP TABLE items;", {
  dialect: "postgres",
});

const writeNote = (version: number, note: string) =>
  asyncTsEntry<pg.ClientBase>(
    version,
    {
      async up(db) {
        await db.query(`INSERT INTO items (note) VALUES ('${note}')`);
      },
      async down(db) {
        await db.query(`DELETE FROM items WHERE note = '${note}'`);
      },
    },
    { dialect: "postgres" },
  );

/** How the forging body ends, after it re-opened the savepoint in a transaction of its own. */
type Ending = "returns" | "throws" | "aborts and throws";

/** The savepoint names stepwise sent on each client a test set up, in order (see {@link setUp}). */
const sentSavepoints = new WeakMap<object, string[]>();

/**
 * The savepoint names a body can learn: from a connection of its own, those in the last statement
 * `client`'s backend sent (what pg_stat_activity shows); and, as an attacker who learned it by any other
 * means (the server's statement log, or pg_stat_activity read before the history guard's statement
 * followed the SAVEPOINT), the last one stepwise sent on it. Either way the guard must still see the escape.
 */
async function savepointNamesSentBy(url: string, client: pg.ClientBase): Promise<string[]> {
  const spy = new pg.Client({ connectionString: url });
  await spy.connect();
  try {
    const pid = (client as pg.ClientBase & { processID: number }).processID;
    const { rows } = await spy.query<{ query: string }>("SELECT query FROM pg_catalog.pg_stat_activity WHERE pid = $1", [pid]);
    const seen = rows.flatMap((row) => [...row.query.matchAll(/SAVEPOINT\s+"([^"]+)"/gi)].map((match) => match[1]!));
    const last = sentSavepoints.get(client)?.at(-1);
    return [...new Set([...seen, ...(last === undefined ? [] : [last])])];
  } finally {
    await spy.end();
  }
}

/** Keeps, for {@link savepointNamesSentBy}, every savepoint name sent on `client`. */
function recordSavepoints(client: pg.Client): void {
  const names: string[] = [];
  sentSavepoints.set(client, names);
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0];
    const text = typeof first === "string" ? first : typeof (first as { text?: unknown } | null)?.text === "string" ? (first as { text: string }).text : "";
    for (const match of text.matchAll(/(?:^|;)\s*SAVEPOINT\s+"([^"]+)"/gi)) names.push(match[1]!);
    return query(...args);
  };
}

/**
 * A body that learns the guard's savepoint name through `pg_stat_activity`, writes `note`, commits
 * stepwise's transaction, begins another and re-opens the savepoint there, then ends as `ending` says.
 */
async function forge(db: pg.ClientBase, url: string, note: string, ending: Ending, found: string[][]): Promise<void> {
  const names = await savepointNamesSentBy(url, db);
  found.push(names);
  await db.query(`INSERT INTO items (note) VALUES ('${note}'); COMMIT; BEGIN;${names.map((name) => ` SAVEPOINT "${name}";`).join("")}`);
  if (ending === "returns") return;
  // A failed statement aborts the forged transaction: `RELEASE` then fails, and rolling back to the savepoint succeeds.
  if (ending === "aborts and throws") await db.query("SELECT 1 / 0").catch(() => undefined);
  throw new Error("fails after its commit");
}

const forgingUp = (url: string, version: number, ending: Ending, found: string[][]): MigrationEntry =>
  asyncTsEntry<pg.ClientBase>(version, { up: (db) => forge(db, url, "forged", ending, found), down: () => undefined }, { dialect: "postgres" });

async function notes(client: pg.Client): Promise<string[]> {
  return (await client.query<{ note: string }>("SELECT note FROM items ORDER BY id")).rows.map((row) => row.note);
}

async function appliedVersions(client: pg.Client): Promise<number[]> {
  return (await client.query<{ version: string }>("SELECT version FROM schema_migrations ORDER BY version")).rows.map((row) => Number(row.version));
}

/** The escape's error, checked field by field; the forgery must have found the name, or it proves nothing. */
function assertEscaped(error: Record<string, unknown>, version: number, direction: "up" | "down", found: string[][]): void {
  assert.equal(found.length, 1);
  assert.ok(found[0]!.length > 0, "the body learned no savepoint name: the forgery was not attempted");
  assert.equal(error.code, "TRANSACTION_ESCAPED", String(error.message));
  assert.equal(error.version, version);
  assert.equal(error.direction, direction);
  assert.equal(error.committed, "yes");
  assert.notEqual(error.rolledBack, true);
}

async function setUp(t: TestContext): Promise<{ client: pg.Client; url: string }> {
  const fresh = await connectFreshWithUrl(t);
  recordSavepoints(fresh.client);
  return fresh;
}

for (const ending of ["returns", "throws", "aborts and throws"] as const) {
  test(`up: a body that reads the savepoint's name from pg_stat_activity, commits, begins again, re-opens it and ${ending}: TRANSACTION_ESCAPED, committed "yes", never recorded`, async (t) => {
    const { client, url } = await setUp(t);
    const found: string[][] = [];
    // Migration 2 runs under the guard first: the run's savepoint name is the same for every body.
    const migrations = [createItems, writeNote(2, "two"), forgingUp(url, 3, ending, found), writeNote(4, "four")];
    const error = await rejection(() => new MigrationManager(client, migrations).up());
    assertEscaped(error, 3, "up", found);
    assert.deepEqual(await appliedVersions(client), [1, 2]);
    assert.deepEqual(await notes(client), ["two", "forged"]);
    assert.equal(client.getTransactionStatus(), "I");
  });
}

test('up with transaction: "all": the same forgery is TRANSACTION_ESCAPED, committed "yes"', async (t) => {
  const { client, url } = await setUp(t);
  const found: string[][] = [];
  const migrations = [createItems, writeNote(2, "two"), forgingUp(url, 3, "returns", found), writeNote(4, "four")];
  const error = await rejection(() => new MigrationManager(client, migrations).up({ transaction: "all" }));
  assertEscaped(error, 3, "up", found);
  // Its COMMIT committed the run so far with it, migrations 1 and 2 with their rows; never a row of its own.
  assert.deepEqual(await appliedVersions(client), [1, 2]);
  assert.deepEqual(await notes(client), ["two", "forged"]);
});

for (const ending of ["returns", "aborts and throws"] as const) {
  test(`down: a revert that forges the savepoint the same way and ${ending} is TRANSACTION_ESCAPED, committed "yes", its row kept`, async (t) => {
    const { client, url } = await setUp(t);
    const found: string[][] = [];
    const forgingDown = asyncTsEntry<pg.ClientBase>(
      3,
      {
        async up(db) {
          await db.query("INSERT INTO items (note) VALUES ('three')");
        },
        down: (db) => forge(db, url, "forged by down", ending, found),
      },
      { dialect: "postgres" },
    );
    const migrations = [createItems, writeNote(2, "two"), forgingDown, writeNote(4, "four")];
    await new MigrationManager(client, migrations).up();
    const error = await rejection(() => new MigrationManager(client, migrations).down({ to: 1 }));
    assertEscaped(error, 3, "down", found);
    // Migration 4's revert committed before; 3 stays applied, since its own revert was never recorded.
    assert.deepEqual(await appliedVersions(client), [1, 2, 3]);
    assert.deepEqual(await notes(client), ["two", "three", "forged by down"]);
  });
}

test("the id checks ride on the SAVEPOINT and the RELEASE: in a guarded body's transaction each travels with an id read, in no message of their own", async (t) => {
  const { client } = await setUp(t);
  const migrations = [createItems, writeNote(2, "two"), writeNote(3, "three")];
  const sent = await recordStatements(client, () => new MigrationManager(client, migrations).up());
  // Each guarded transaction, from its BEGIN to its COMMIT, as the kind of each message.
  // The BEGIN, with the server's check of the client, the run's lock_timeout and the transaction's own hold on the run lock, is a message of its own.
  const kinds = sent.map((sql) =>
    /^BEGIN(; SET LOCAL client_connection_check_interval = \d+)?(; SET LOCAL lock_timeout = \d+)?(; SELECT CASE WHEN pg_catalog\.pg_try_advisory_xact_lock\(.*)?$/.test(sql)
      ? "BEGIN"
      : /^RELEASE SAVEPOINT "[^"]+"; SELECT pg_catalog\.pg_current_xact_id\(\)::/.test(sql)
        ? "release and read id"
        : /^SAVEPOINT "[^"]+"; SELECT pg_catalog\.pg_current_xact_id\(\)::/.test(sql)
          ? "savepoint and read id"
          : /^INSERT INTO items/.test(sql)
            ? "body"
            : /^INSERT INTO "public"\."schema_migrations"/.test(sql)
              ? "history row"
              : /pg_stat_get_xact_tuples_inserted/.test(sql)
                ? "history guard"
                : // The COMMIT, after the run lock is taken back under the transaction's own lock.
                  /^SELECT pg_catalog\.pg_advisory_unlock\('-?\d+'::bigint\); SELECT pg_catalog\.pg_try_advisory_lock\('-?\d+'::bigint\); COMMIT$/.test(sql)
                  ? "COMMIT"
                  : sql,
  );
  const guarded: string[][] = [];
  kinds.forEach((kind, at) => {
    if (kind === "savepoint and read id") guarded.push(kinds.slice(at - 1, kinds.indexOf("COMMIT", at) + 1));
  });
  // The history guard reads the table before the body and checks it after (which also finds a transaction the body left aborted).
  const perMigration = ["BEGIN", "savepoint and read id", "history guard", "body", "history guard", "release and read id", "history row", "COMMIT"];
  assert.deepEqual(guarded, [perMigration, perMigration], JSON.stringify(kinds.map((kind) => kind.slice(0, 60))));
  assert.deepEqual(await notes(client), ["two", "three"]);
});

test("on its own session a body finds no savepoint name: stepwise prepares no named statement, and current_query() and its own pg_stat_activity row show the body's statement", async (t) => {
  const { client, url } = await setUp(t);
  const fromOthers: string[][] = [];
  let ownTexts: string[] = [];
  const looking = asyncTsEntry<pg.ClientBase>(
    2,
    {
      async up(db) {
        fromOthers.push(await savepointNamesSentBy(url, db));
        const { rows } = await db.query<{ text: string | null }>(
          "SELECT pg_catalog.current_query() AS text UNION ALL SELECT statement FROM pg_catalog.pg_prepared_statements UNION ALL SELECT query FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid()",
        );
        ownTexts = rows.map((row) => String(row.text));
      },
    },
    { dialect: "postgres" },
  );
  await new MigrationManager(client, [createItems, looking]).up();
  // The name was there to find (sent on this client).
  assert.equal(fromOthers[0]!.length, 1);
  assert.ok(ownTexts.length >= 2);
  for (const text of ownTexts) assert.ok(!text.includes(fromOthers[0]![0]!), text);
});
