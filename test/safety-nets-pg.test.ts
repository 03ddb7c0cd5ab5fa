/**
 * The safety nets on a real PostgreSQL server (`stepwise-migrate/pg`): verify and baseline through
 * `pg_catalog` against a replay in a scratch database, repair under the run lock, rehearsal in a
 * transaction rolled back at the end, and backups refused by capability naming `pg_dump`. Every net
 * is also checked for what it leaves behind: the server's databases, the database's schemas,
 * relations, functions and types, and every row, before and after, also after a failure.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import pg from "pg";
import type { MigrationDefinition, MigrationEntry } from "../src/core/types.js";
import { createPgDriver, runLockKey, SCRATCH_DATABASE_PREFIX } from "../src/drivers/pg.js";
import { baselineDatabase, listBackups, rehearseUp, repairIncompleteMigration, restoreBackup, takeBackup, upWithBackup, verifySchema } from "../src/index.js";
import { MigrationManager, migrate } from "../src/entries/pg.js";
import { createTestDatabase, type TestPostgresDatabase } from "./support/postgres-server.js";
import { digestPostgres } from "./support/postgres-digest.js";
import { SLOW_REPLAY_REGISTRY } from "./support/pg-verify-child.js";
import { namedSqlEntry, tsEntry, rejection } from "./support/registry-builders.js";
import { jsonError, runPgCli } from "./support/pg-cli.js";
import { StepwiseError } from "../src/core/errors.js";

type After = { after(fn: () => Promise<void>): void };

/** A fresh database with a pool on it, both removed after the test. */
async function freshDatabase(t: After): Promise<{ database: TestPostgresDatabase; pool: pg.Pool }> {
  const database = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 3 });
  // The database is dropped WITH (FORCE) after the test, which ends an idle session still open.
  pool.on("error", () => undefined);
  t.after(async () => {
    await pool.end();
    await database.drop();
  });
  return { database, pool };
}

const sql = (version: number, name: string, up: string, down: string | null = null, overrides: Partial<MigrationEntry> = {}) =>
  namedSqlEntry(version, name, up, down, { dialect: "postgres", ...overrides } as never);

function asyncEntry(version: number, up: (db: pg.ClientBase) => Promise<void>, overrides: Partial<MigrationEntry> = {}): MigrationEntry {
  return tsEntry(version, { up } as unknown as MigrationDefinition<unknown>, { dialect: "postgres", ...overrides } as never) as MigrationEntry;
}

/** A schema with one of each kind of object the catalog reader compares. */
const CONTACTS = sql(
  1,
  "contacts",
  `CREATE TYPE mood AS ENUM ('sad', 'ok', 'glad');
   CREATE DOMAIN phone AS text CHECK (VALUE ~ '^[0-9+]+$');
   CREATE TABLE contacts (
     id bigserial PRIMARY KEY,
     username text NOT NULL UNIQUE,
     phone phone,
     mood mood DEFAULT 'ok',
     age integer CHECK (age > 0),
     name_upper text GENERATED ALWAYS AS (upper(username)) STORED,
     updated_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE TABLE messages (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
     body text NOT NULL
   );
   CREATE INDEX idx_messages_contact ON messages (contact_id);
   CREATE UNIQUE INDEX idx_contacts_lower ON contacts (lower(username)) WHERE age IS NOT NULL;
   CREATE SEQUENCE ticket_numbers INCREMENT 10 START 100;
   CREATE VIEW contact_names AS SELECT id, username FROM contacts;
   CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
   CREATE TRIGGER contacts_touch BEFORE UPDATE ON contacts FOR EACH ROW EXECUTE FUNCTION touch_updated_at();`,
);
const STATUS = sql(2, "message_status", "ALTER TABLE messages ADD COLUMN status text NOT NULL DEFAULT 'sent';", "ALTER TABLE messages DROP COLUMN status;");
const SCHEMA = [CONTACTS, STATUS];

/**
 * Everything a net could leave behind: the server's databases, and in this database its schemas,
 * relations, functions, types, advisory locks, and every row of the public schema. Other tests share
 * the server (the files of a shard run side by side), so their databases, named as
 * {@link createTestDatabase} names them, and the locks held in them are not counted.
 */
async function inventory(pool: pg.Pool): Promise<Record<string, unknown>> {
  const list = async (text: string) => (await pool.query<{ item: string }>(text)).rows.map((row) => row.item);
  return {
    databases: await list(`SELECT datname::text AS item FROM pg_catalog.pg_database WHERE datname = current_database() OR datname !~ '^stepwise_[0-9a-f]{16}$' ORDER BY 1`),
    schemas: await list(`SELECT nspname::text AS item FROM pg_catalog.pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1`),
    relations: await list(
      `SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text AS item FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' ORDER BY 1`,
    ),
    functions: await list(`SELECT p.oid::regprocedure::text AS item FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1`),
    types: await list(`SELECT t.typname::text AS item FROM pg_catalog.pg_type AS t JOIN pg_catalog.pg_namespace AS n ON n.oid = t.typnamespace WHERE n.nspname = 'public' ORDER BY 1`),
    advisoryLocks: await list(
      `SELECT objid::text AS item FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) ORDER BY 1`,
    ),
    rows: await withClient(pool, (client) => digestPostgres(client)),
  };
}

async function withClient<T>(pool: pg.Pool, action: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await action(client);
  } finally {
    client.release();
  }
}

test("verifySchema: a schema the migrations built verifies (tables, columns, constraints, indexes, sequences, views, functions, triggers, types), and the replay's scratch database is gone", async (t) => {
  const { pool } = await freshDatabase(t);
  const events: string[] = [];
  const manager = new MigrationManager(pool, SCHEMA, { onEvent: (event) => events.push(event.type) });
  await manager.up();
  await pool.query("INSERT INTO contacts (username, age) VALUES ('ada', 36)");
  const before = await inventory(pool);
  const verification = await verifySchema(manager);
  assert.deepEqual(verification, { ok: true, version: 2, differences: [], drift: [] });
  assert.equal(events.at(-1), "verified");
  assert.deepEqual(await inventory(pool), before);
  assert.deepEqual(
    (before.databases as string[]).filter((name) => name.startsWith(SCRATCH_DATABASE_PREFIX)),
    [],
  );
});

test("verifySchema: a column added by hand and an index dropped are structured differences; refuseDrift and migrate({ verifySchema }) reject with SCHEMA_DRIFT", async (t) => {
  const { pool } = await freshDatabase(t);
  const manager = new MigrationManager(pool, SCHEMA);
  await manager.up();
  await pool.query("ALTER TABLE contacts ADD COLUMN nick text; DROP INDEX idx_messages_contact;");
  const verification = await verifySchema(manager);
  assert.equal(verification.ok, false);
  assert.equal(verification.version, 2);
  assert.deepEqual(
    verification.differences.map(({ objectType, name, table, change }) => ({ objectType, name, table, change })),
    [
      { objectType: "column", name: "contacts.nick", table: "contacts", change: "added" },
      { objectType: "index", name: "idx_messages_contact", table: "messages", change: "removed" },
    ],
  );
  assert.deepEqual(verification.drift, ["column contacts.nick added outside migrations", "index idx_messages_contact missing"]);
  const error = await rejection(() => verifySchema(manager, { refuseDrift: true }));
  assert.equal(error.code, "SCHEMA_DRIFT");
  assert.equal(error.version, 2);
  assert.deepEqual(error.differences, verification.differences);
  // migrate(..., { verifySchema }) refuses the drifted database before applying what is pending.
  const notes = sql(3, "notes", "CREATE TABLE notes (id bigint PRIMARY KEY);");
  const refused = await rejection(() => migrate(pool, [...SCHEMA, notes], { verifySchema: verifySchema }));
  assert.equal(refused.code, "SCHEMA_DRIFT");
  assert.equal((await pool.query("SELECT to_regclass('public.notes') AS t")).rows[0].t, null);
  await pool.query("ALTER TABLE contacts DROP COLUMN nick; CREATE INDEX idx_messages_contact ON messages (contact_id);");
  assert.deepEqual(
    (await migrate(pool, [...SCHEMA, notes], { verifySchema: verifySchema })).steps.map((step) => step.version),
    [3],
  );
});

/** Settings of a table, column, index or view changed by hand, each with the object verify names and the statement its definition gains. */
const SETTING_CHANGES: ReadonlyArray<{ change: string; objectType: string; name: string; setting: string }> = [
  { change: "ALTER TABLE contacts FORCE ROW LEVEL SECURITY", objectType: "table", name: "contacts", setting: "ALTER TABLE ONLY contacts FORCE ROW LEVEL SECURITY" },
  { change: "ALTER TABLE messages SET (fillfactor = 70)", objectType: "table", name: "messages", setting: "SET (fillfactor='70')" },
  { change: "ALTER TABLE messages ALTER COLUMN body SET STORAGE EXTERNAL", objectType: "table", name: "messages", setting: "ALTER COLUMN body SET STORAGE EXTERNAL" },
  { change: "ALTER INDEX contacts_pkey SET (fillfactor = 50)", objectType: "table", name: "contacts", setting: "ALTER INDEX contacts_pkey SET (fillfactor='50')" },
  { change: "ALTER VIEW contact_names SET (security_invoker = true)", objectType: "view", name: "contact_names", setting: "SET (security_invoker='true')" },
  { change: "ALTER VIEW contact_names SET (check_option = local)", objectType: "view", name: "contact_names", setting: "SET (check_option='local')" },
  { change: "ALTER VIEW contact_names ALTER COLUMN username SET DEFAULT 'anon'", objectType: "view", name: "contact_names", setting: "ALTER COLUMN username SET DEFAULT 'anon'::text" },
  { change: "CREATE POLICY own_rows ON contacts FOR SELECT USING (age > 17)", objectType: "table", name: "contacts", setting: "POLICY own_rows AS PERMISSIVE FOR SELECT TO PUBLIC USING (age > 17)" },
  { change: "CREATE RULE no_deletes AS ON DELETE TO messages DO INSTEAD NOTHING", objectType: "table", name: "messages", setting: "CREATE RULE no_deletes AS" },
  { change: "CREATE RULE no_writes AS ON INSERT TO contact_names DO INSTEAD NOTHING", objectType: "view", name: "contact_names", setting: "CREATE RULE no_writes AS" },
];

/** What operators and tools set on a live database without a migration: tuning and replication, not what the schema is. */
const OPERATIONAL_CHANGES = [
  "ALTER TABLE contacts SET (toast.autovacuum_enabled = false)",
  "ALTER TABLE messages SET (autovacuum_vacuum_scale_factor = 0.01, vacuum_truncate = false)",
  "ALTER TABLE messages REPLICA IDENTITY FULL",
  "ALTER TABLE messages CLUSTER ON idx_messages_contact",
  "ALTER TABLE messages ALTER COLUMN body SET STATISTICS 500",
  "ALTER TABLE messages ALTER COLUMN body SET (n_distinct = 100)",
  "ALTER INDEX idx_contacts_lower ALTER COLUMN 1 SET STATISTICS 100",
];

test("verifySchema: vacuum tuning, statistics targets, REPLICA IDENTITY and CLUSTER ON set by hand are no drift (operators and change-data-capture tools set them on live databases)", async (t) => {
  const { pool } = await freshDatabase(t);
  const manager = new MigrationManager(pool, SCHEMA);
  await manager.up();
  for (const change of OPERATIONAL_CHANGES) await pool.query(change);
  assert.deepEqual((await verifySchema(manager)).differences, []);
  // A setting that is the schema's, beside them, still is.
  await pool.query("ALTER TABLE messages SET (fillfactor = 70)");
  assert.deepEqual(
    (await verifySchema(manager)).differences.map((difference) => [difference.objectType, difference.name]),
    [["table", "messages"]],
  );
});

test("verifySchema: each kind of object changed by hand is drift, named with what changed, its settings too (row level security and its policies, rules, storage parameters, storage, view options)", async () => {
  // One database per change, each compared with the same migrations.
  const cases: Array<{ change: string; expected: { objectType: string; name: string; change: string; aspect?: string; setting?: string } }> = [
    { change: "ALTER TABLE contacts ALTER COLUMN age TYPE bigint", expected: { objectType: "column", name: "contacts.age", change: "changed", aspect: "type" } },
    { change: "ALTER TABLE messages ALTER COLUMN status SET DEFAULT 'read'", expected: { objectType: "column", name: "messages.status", change: "changed", aspect: "default" } },
    { change: "ALTER TABLE messages ALTER COLUMN body DROP NOT NULL", expected: { objectType: "column", name: "messages.body", change: "changed", aspect: "not null" } },
    { change: "ALTER TABLE contacts DROP CONSTRAINT contacts_age_check", expected: { objectType: "table", name: "contacts", change: "changed", aspect: "check constraints" } },
    { change: "ALTER TABLE contacts DROP CONSTRAINT contacts_username_key", expected: { objectType: "table", name: "contacts", change: "changed", aspect: "unique constraints" } },
    {
      change: "ALTER TABLE messages DROP CONSTRAINT messages_contact_id_fkey, ADD CONSTRAINT messages_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts (id)",
      expected: { objectType: "table", name: "messages", change: "changed", aspect: "foreign keys" },
    },
    { change: "ALTER SEQUENCE ticket_numbers INCREMENT 1", expected: { objectType: "sequence", name: "ticket_numbers", change: "changed", aspect: "definition" } },
    { change: "ALTER TYPE mood ADD VALUE 'meh'", expected: { objectType: "type", name: "mood", change: "changed", aspect: "definition" } },
    {
      change: `ALTER TABLE contacts ALTER COLUMN phone TYPE text; DROP DOMAIN phone; CREATE DOMAIN phone AS text COLLATE "C" CHECK (VALUE ~ '^[0-9+]+$'); ALTER TABLE contacts ALTER COLUMN phone TYPE phone`,
      expected: { objectType: "type", name: "phone", change: "changed", aspect: "definition", setting: 'COLLATE "C"' },
    },
    { change: "CREATE OR REPLACE VIEW contact_names AS SELECT id, username, age FROM contacts", expected: { objectType: "view", name: "contact_names", change: "changed", aspect: "definition" } },
    {
      change: "CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
      expected: { objectType: "function", name: "touch_updated_at()", change: "changed", aspect: "definition" },
    },
    { change: "DROP TRIGGER contacts_touch ON contacts", expected: { objectType: "trigger", name: "contacts.contacts_touch", change: "removed" } },
    { change: "ALTER TABLE contacts DISABLE TRIGGER contacts_touch", expected: { objectType: "trigger", name: "contacts.contacts_touch", change: "changed", aspect: "definition" } },
    { change: "CREATE TABLE notes (id int)", expected: { objectType: "table", name: "notes", change: "added" } },
  ];
  for (const { change, objectType, name, setting } of SETTING_CHANGES) cases.push({ change, expected: { objectType, name, change: "changed", aspect: "definition", setting } });
  for (const { change, expected } of cases) {
    const database = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on("error", () => undefined);
    try {
      const manager = new MigrationManager(pool, SCHEMA);
      await manager.up();
      await pool.query(change);
      const { ok, differences } = await verifySchema(manager);
      assert.equal(ok, false, change);
      assert.equal(differences.length, 1, `${change}: ${JSON.stringify(differences)}`);
      const [difference] = differences;
      assert.deepEqual(
        { objectType: difference!.objectType, name: difference!.name, change: difference!.change },
        { objectType: expected.objectType, name: expected.name, change: expected.change },
        change,
      );
      if (expected.aspect)
        assert.deepEqual(
          difference!.details.map((detail) => detail.aspect),
          [expected.aspect],
          change,
        );
      // The setting is in the live side's definition only.
      if (expected.setting) {
        const { before, after } = difference!.details[0]!;
        assert.deepEqual([before?.includes(expected.setting), after?.includes(expected.setting)], [false, true], change);
      }
    } finally {
      await pool.end();
      await database.drop();
    }
  }
});

/** One object of each kind the catalog reader compares beyond tables and what CONTACTS makes: a composite, range and domain type, an aggregate, an operator, a trigger function. */
const KINDS = sql(
  1,
  "kinds",
  `CREATE TYPE pair AS (a int, b text);
   CREATE TYPE span AS RANGE (subtype = int4);
   CREATE DOMAIN posint AS int;
   CREATE TABLE items (id int PRIMARY KEY, name text, p pair, n posint, s span);
   CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
   CREATE AGGREGATE total(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0');
   CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq);`,
);

test("verifySchema: a type's attributes, range or domain constraints, an aggregate, an operator, and an index or trigger on the history table changed by hand are each a named difference; as the migrations made them, none", async () => {
  // [objectType, name, table, change] of each difference, one database per change.
  const cases: Array<[change: string, expected: Array<[string, string, string, string]>]> = [
    ["ALTER TYPE pair ADD ATTRIBUTE c int", [["type", "pair", "pair", "changed"]]],
    ["ALTER TYPE pair DROP ATTRIBUTE b", [["type", "pair", "pair", "changed"]]],
    ["ALTER TABLE items DROP COLUMN s; DROP TYPE span; CREATE TYPE span AS RANGE (subtype = int8); ALTER TABLE items ADD COLUMN s span", [["type", "span", "span", "changed"]]],
    ["ALTER DOMAIN posint ADD CONSTRAINT positive CHECK (VALUE > 0)", [["type", "posint", "posint", "changed"]]],
    ["ALTER DOMAIN posint SET NOT NULL", [["type", "posint", "posint", "changed"]]],
    ["CREATE UNIQUE INDEX hx ON schema_migrations (name)", [["index", "hx", "schema_migrations", "added"]]],
    ["CREATE TRIGGER h BEFORE INSERT ON schema_migrations FOR EACH ROW EXECUTE FUNCTION trg()", [["trigger", "schema_migrations.h", "schema_migrations", "added"]]],
    [
      "CREATE FUNCTION trg2() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; CREATE TRIGGER h BEFORE INSERT ON schema_migrations FOR EACH ROW EXECUTE FUNCTION trg2()",
      [
        ["trigger", "schema_migrations.h", "schema_migrations", "added"],
        ["function", "trg2()", "trg2()", "added"],
      ],
    ],
    ["CREATE AGGREGATE myagg(int) (SFUNC = int4pl, STYPE = int)", [["aggregate", "myagg(integer)", "myagg(integer)", "added"]]],
    ["DROP AGGREGATE total(int); CREATE AGGREGATE total(int) (SFUNC = int4pl, STYPE = int)", [["aggregate", "total(integer)", "total(integer)", "changed"]]],
    ["CREATE OPERATOR === (LEFTARG = text, RIGHTARG = text, FUNCTION = texteq)", [["operator", "===(text, text)", "===(text, text)", "added"]]],
    ["ALTER OPERATOR === (int, int) SET (RESTRICT = eqsel)", [["operator", "===(integer, integer)", "===(integer, integer)", "changed"]]],
    ["DROP OPERATOR === (int, int)", [["operator", "===(integer, integer)", "===(integer, integer)", "removed"]]],
    [`ALTER TABLE items ALTER COLUMN name TYPE text COLLATE "C"`, [["column", "items.name", "items", "changed"]]],
  ];
  for (const [change, expected] of cases) {
    const database = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on("error", () => undefined);
    try {
      const manager = new MigrationManager(pool, [KINDS]);
      await manager.up();
      if (change === cases[0]![0]) assert.deepEqual((await verifySchema(manager)).differences, [], "as the migrations made it");
      await pool.query(change);
      const { ok, differences } = await verifySchema(manager);
      assert.equal(ok, false, change);
      assert.deepEqual(
        differences.map((difference) => [difference.objectType, difference.name, difference.table, difference.change]),
        expected,
        change,
      );
      // PostgreSQL's default collation is called what PostgreSQL calls it, not SQLite's BINARY.
      if (expected[0]![0] === "column") assert.deepEqual(differences[0]!.details, [{ aspect: "collation", before: "default", after: "C" }]);
    } finally {
      await pool.end();
      await database.drop();
    }
  }
});

test("verifySchema: policies and rules the migrations made verify as made; one dropped by hand is drift in its table", async (t) => {
  const { pool } = await freshDatabase(t);
  const manager = new MigrationManager(pool, [
    sql(
      1,
      "guarded",
      "CREATE TABLE notes (id int PRIMARY KEY, owner text NOT NULL); ALTER TABLE notes ENABLE ROW LEVEL SECURITY; CREATE POLICY own_notes ON notes USING (owner = current_user) WITH CHECK (owner = current_user); CREATE RULE keep_notes AS ON DELETE TO notes DO INSTEAD NOTHING;",
    ),
  ]);
  await manager.up();
  assert.deepEqual((await verifySchema(manager)).differences, []);
  await pool.query("DROP POLICY own_notes ON notes");
  const { ok, differences } = await verifySchema(manager);
  assert.equal(ok, false);
  assert.deepEqual(
    differences.map((difference) => [difference.objectType, difference.name, difference.change]),
    [["table", "notes", "changed"]],
  );
  const { before, after } = differences[0]!.details[0]!;
  assert.deepEqual([before?.includes("POLICY own_notes"), after?.includes("POLICY own_notes")], [true, false]);
});

test("verifySchema: partitions are data (one a job adds, one dropped, one attached for other values verify clean, and baseline accepts them); one detached by hand is a table the migrations did not make, and a child taken out of its parent's inheritance is drift in that table", async () => {
  // Real histories partition by day: a migration makes today's partition, a job adds the next and drops the old, and every database differs from the replay in them.
  const LINEAGE = sql(
    1,
    "lineage",
    `CREATE TABLE events (id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
     CREATE INDEX events_at ON events (at);
     CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
     CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
     CREATE TABLE animals (name text);
     CREATE TABLE cats (lives int) INHERITS (animals);`,
  );
  const runtime = [
    "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
    "CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01') PARTITION BY LIST (id); CREATE TABLE events_2027_a PARTITION OF events_2027 FOR VALUES IN (1)",
    "DROP TABLE events_2024",
    "ALTER TABLE events DETACH PARTITION events_2025; ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-06-01')",
  ].join("; ");
  const drifts: ReadonlyArray<{ change: string; expected: readonly unknown[] }> = [
    // It keeps the index its parent's gave it, now its own.
    {
      change: "ALTER TABLE events DETACH PARTITION events_2025",
      expected: [
        ["table", "events_2025", "added", []],
        ["index", "events_2025_at_idx", "added", []],
      ],
    },
    { change: "ALTER TABLE cats NO INHERIT animals", expected: [["table", "cats", "changed", ["definition"]]] },
    { change: "DROP INDEX events_at", expected: [["index", "events_at", "removed", []]] },
  ];
  for (const { change, expected } of [{ change: runtime, expected: [] }, ...drifts]) {
    const database = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on("error", () => undefined);
    try {
      const manager = new MigrationManager(pool, [LINEAGE]);
      if (change === runtime) {
        // A rehearsal reports what its migrations make, partitions included.
        const { rehearsal } = await rehearseUp(manager);
        assert.deepEqual(
          rehearsal.schemaChanges.filter((difference) => difference.objectType === "table").map((difference) => [difference.name, difference.change]),
          ["animals", "cats", "events", "events_2024", "events_2025"].map((name) => [name, "added"]),
        );
      }
      await manager.up();
      assert.deepEqual((await verifySchema(manager)).differences, [], "as the migrations built it");
      await pool.query(change);
      const { ok, differences } = await verifySchema(manager);
      assert.deepEqual(
        differences.map((difference) => [difference.objectType, difference.name, difference.change, difference.details.map((detail) => detail.aspect)]),
        expected,
        change,
      );
      assert.equal(ok, expected.length === 0, change);
      if (change === "ALTER TABLE cats NO INHERIT animals") {
        const detail = differences[0]!.details[0]!;
        assert.deepEqual([detail.before?.includes("INHERITS (animals)"), detail.after?.includes("INHERITS")], [true, false], `${detail.before} / ${detail.after}`);
      }
      if (change === runtime) {
        // A database whose partitions the app made is adopted as it is.
        await pool.query(`DROP TABLE "schema_migrations"`);
        assert.deepEqual((await baselineDatabase(manager, 1)).recorded, [1]);
      }
    } finally {
      await pool.end();
      await database.drop();
    }
  }
});
test("verifySchema on a pg.Client and in another schema: the history table's schema is compared; a fresh database verifies at version 0", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const client = new pg.Client({ connectionString: database.url });
  client.on("error", () => undefined);
  await client.connect();
  t.after(async () => void (await client.end().catch(() => undefined)));
  const inApp = [sql(1, "items", "CREATE TABLE app.items (id bigint PRIMARY KEY, note text);")];
  const manager = new MigrationManager(client, inApp, { schema: "app" });
  assert.deepEqual(await verifySchema(manager), { ok: true, version: 0, differences: [], drift: [] });
  await manager.up();
  // A table in public is no concern of a history kept in app.
  await pool.query("CREATE TABLE public.unrelated (id int)");
  assert.equal((await verifySchema(manager)).ok, true);
  await pool.query("ALTER TABLE app.items ADD COLUMN extra int");
  assert.deepEqual((await verifySchema(manager)).drift, ["column items.extra added outside migrations"]);
  // The sync names, handed a manager whose methods return promises, run the same async form.
  const viaSyncName = verifySchema(manager);
  assert.ok(viaSyncName instanceof Promise);
  assert.deepEqual((await viaSyncName).drift, ["column items.extra added outside migrations"]);
});

test("verifySchema and baselineDatabase refuse to compare a history's schema the migrations build nothing in (they build in public): USAGE, nothing recorded", async (t) => {
  const { pool } = await freshDatabase(t);
  const inPublic = [sql(1, "items", "CREATE TABLE items (id bigint PRIMARY KEY, note text);")];
  const manager = new MigrationManager(pool, inPublic, { schema: "meta" });
  // Before, baseline recorded an empty database as at version 1, and verify then passed it.
  assert.equal((await rejection(() => baselineDatabase(manager, 1))).code, "USAGE");
  assert.deepEqual((await pool.query("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = 'meta'")).rows, []);
  await manager.up();
  assert.equal((await rejection(() => verifySchema(manager))).code, "USAGE");
});

test("verifySchema and baselineDatabase on migrations that build in a schema other than the history's, which the scratch database lacks (the pool's search_path, a qualified name): USAGE, not the migration's MIGRATION_FAILED", async (t) => {
  const { database, pool } = await freshDatabase(t);
  await pool.query("CREATE SCHEMA app");
  const app = new pg.Pool({ connectionString: database.url, options: "-c search_path=app" });
  app.on("error", () => undefined);
  t.after(() => app.end());
  for (const [db, migrations] of [
    [app, [sql(1, "items", "CREATE TABLE items (id bigint PRIMARY KEY);")]],
    [pool, [sql(1, "items", "CREATE TABLE app.qualified (id bigint PRIMARY KEY);")]],
  ] as const) {
    const manager = new MigrationManager(db, migrations, { schema: "meta" });
    await manager.up();
    for (const net of [() => verifySchema(manager), () => baselineDatabase(new MigrationManager(db, migrations, { schema: "meta2" }), 1)]) {
      const error = await rejection(net);
      assert.equal(error.code, "USAGE", String(error.message));
      assert.match(String(error.message), /Migration 1 .* needs a schema the scratch database .* does not have .*Keep the history in the schema the migrations build in/);
    }
    await pool.query("DROP SCHEMA meta CASCADE");
  }
  assert.deepEqual((await pool.query("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = 'meta2'")).rows, []);
});

test("verifySchema replays a transaction: false migration (CREATE INDEX CONCURRENTLY) as it ran: its index verifies, and an invalid one is drift", async (t) => {
  const { pool } = await freshDatabase(t);
  const migrations = [
    sql(1, "items", "CREATE TABLE items (id bigint PRIMARY KEY, note text);"),
    sql(2, "items_note", "CREATE INDEX CONCURRENTLY idx_items_note ON items (note);", "DROP INDEX CONCURRENTLY idx_items_note;", { transaction: false }),
  ];
  const manager = new MigrationManager(pool, migrations);
  await manager.up();
  assert.deepEqual(await verifySchema(manager), { ok: true, version: 2, differences: [], drift: [] });
  // What a CONCURRENTLY build that failed half way leaves: the index, marked invalid.
  await pool.query("UPDATE pg_catalog.pg_index SET indisvalid = false WHERE indexrelid = 'public.idx_items_note'::regclass");
  const { differences } = await verifySchema(manager);
  assert.deepEqual(
    differences.map(({ objectType, name, change }) => [objectType, name, change]),
    [["index", "idx_items_note", "changed"]],
  );
});

test("verifySchema: a replay that fails half way rejects with the migration's error, and leaves no scratch database, schema or table behind", async (t) => {
  const { pool } = await freshDatabase(t);
  const seen: string[] = [];
  const migrations = [
    CONTACTS,
    asyncEntry(2, async (db) => {
      const name = (await db.query<{ name: string }>("SELECT current_database()::text AS name")).rows[0]!.name;
      seen.push(name);
      await db.query("CREATE TABLE half_done (id int)");
      // Only the replay fails: the app's own run applies it.
      if (name.startsWith(SCRATCH_DATABASE_PREFIX)) throw new Error("the replay fails here");
    }),
  ];
  const manager = new MigrationManager(pool, migrations);
  await manager.up();
  const before = await inventory(pool);
  const error = await rejection(() => verifySchema(manager));
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.version, 2);
  // The replay ran in a scratch database of its own, which is gone, as is everything else it made.
  assert.equal(seen.length, 2);
  assert.ok(seen[1]!.startsWith(SCRATCH_DATABASE_PREFIX), seen[1]);
  assert.deepEqual(await inventory(pool), before);
});

test("a replay never drops a database it cannot prove it created: one named like a scratch database (a dead pid, no pid, a session on it) stays, as does a live replay's", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const backendOf = async (client: pg.Client) => Number((await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid);
  const scratchDatabases = async () =>
    (await pool.query<{ name: string }>("SELECT datname::text AS name FROM pg_database WHERE starts_with(datname::text, $1) ORDER BY 1", [SCRATCH_DATABASE_PREFIX])).rows.map((row) => row.name);
  // Other tests share the server; scratch databases of theirs are not this test's to count.
  const others = await scratchDatabases();
  // Named as a scratch database whose creating session is gone: by someone else, who never marked it.
  const gone = new pg.Client({ connectionString: database.url });
  await gone.connect();
  const deadPid = `${SCRATCH_DATABASE_PREFIX}${await backendOf(gone)}_leftover`;
  await gone.query(`CREATE DATABASE "${deadPid}" TEMPLATE template0`);
  await gone.end();
  // Its next field is no pid at all, and someone works in one of them.
  const noPid = `${SCRATCH_DATABASE_PREFIX}prod_copy`;
  const inUse = `${SCRATCH_DATABASE_PREFIX}x_in_use`;
  await pool.query(`CREATE DATABASE "${noPid}" TEMPLATE template0`);
  await pool.query(`CREATE DATABASE "${inUse}" TEMPLATE template0`);
  const worker = new pg.Client({ connectionString: database.server.url(inUse) });
  worker.on("error", () => undefined);
  await worker.connect();
  // A real scratch database, marked, whose creating session is alive (another replay under way); that
  // session is on another database, which the test database's drop after the test leaves alone.
  const creator = new pg.Client({ connectionString: database.server.url("postgres") });
  creator.on("error", () => undefined);
  await creator.connect();
  const live = await createPgDriver(creator).openScratchDatabase!();
  t.after(async () => {
    await live.drop().catch(() => undefined);
    await worker.end().catch(() => undefined);
    await creator.end().catch(() => undefined);
    await withAdmin(database, async (admin) => {
      for (const name of [deadPid, noPid, inUse]) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
  });
  // The server forgets an ended backend a moment after the client has closed: a moment that on a loaded machine can be
  // seconds, so polled up to a deadline rather than for a count of tries.
  for (const deadline = Date.now() + 30_000; (await pool.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [Number(deadPid.split("_")[2])])).rowCount !== 0;) {
    assert.ok(Date.now() < deadline, "the ended backend was still listed 30 s later");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const manager = new MigrationManager(pool, SCHEMA);
  await manager.up();
  assert.equal((await verifySchema(manager)).ok, true);
  const scratch = (await scratchDatabases()).filter((name) => !others.includes(name));
  assert.deepEqual(scratch, [deadPid, noPid, inUse, live.name].sort());
  // Nobody's session was ended: the one working in a look-alike goes on.
  assert.deepEqual((await worker.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
});

test("a process SIGKILLed during a replay leaves its scratch database only until the next replay, which drops it; then nothing is left", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const manager = new MigrationManager(pool, SLOW_REPLAY_REGISTRY);
  await manager.up();
  const before = await inventory(pool);
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(import.meta.dirname, "support/pg-verify-child.ts"), database.url], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, STEPWISE_SLOW_REPLAY: "1" },
  });
  const replaying = await new Promise<string>((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /replaying (\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.on("exit", (code) => reject(new Error(`the child exited (${code}) before replaying: ${output}`)));
  });
  child.kill("SIGKILL");
  await new Promise((resolve) => child.once("exit", resolve));
  assert.ok(replaying.startsWith(SCRATCH_DATABASE_PREFIX), replaying);
  // The killed replay's database is there: nothing could drop it.
  assert.ok(((await inventory(pool)).databases as string[]).includes(replaying));
  // The server notices the dead sessions a moment later (seconds, on a loaded machine); the next replay then drops the leftover.
  for (const deadline = Date.now() + 30_000; ;) {
    const live = await pool.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 OR pid = $2", [replaying, Number(replaying.split("_")[2])]);
    if (live.rowCount === 0) break;
    assert.ok(Date.now() < deadline, "the killed child's sessions were still listed 30 s later");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal((await verifySchema(manager)).ok, true);
  assert.deepEqual({ ...(await inventory(pool)) }, before);
});

test("verifySchema: a role without CREATEDB is refused with SCRATCH_DATABASE_UNAVAILABLE (SQLSTATE 42501), nothing created", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const role = `stepwise_reader_${Math.random().toString(16).slice(2, 10)}`;
  await pool.query(`CREATE ROLE ${role} LOGIN NOCREATEDB; GRANT ALL ON SCHEMA public TO ${role}; GRANT CREATE ON DATABASE "${database.name}" TO ${role}`);
  const url = new URL(database.url);
  url.username = role;
  const rolePool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  // The database is dropped WITH (FORCE) after the test, which ends this pool's idle sessions.
  rolePool.on("error", () => undefined);
  t.after(async () => {
    await rolePool.end();
    await database.drop();
    await withAdmin(database, (admin) => admin.query(`DROP ROLE IF EXISTS ${role}`));
  });
  const manager = new MigrationManager(rolePool, SCHEMA);
  await manager.up();
  const before = await inventory(pool);
  const error = await rejection(() => verifySchema(manager));
  assert.equal(error.code, "SCRATCH_DATABASE_UNAVAILABLE");
  assert.equal(error.driver, "pg");
  assert.equal(error.sqlstate, "42501");
  assert.ok(String(error.database).startsWith(SCRATCH_DATABASE_PREFIX));
  assert.match(String(error.message), /CREATEDB/);
  assert.deepEqual(await inventory(pool), before);
});

test("verify on a read-only session (a standby, default_transaction_read_only) is SCRATCH_DATABASE_UNAVAILABLE saying so, with a fix that is not CREATEDB; nothing created", async (t) => {
  const { database, pool } = await freshDatabase(t);
  await new MigrationManager(pool, SCHEMA).up();
  const before = await inventory(pool);
  const readOnly = new URL(database.url);
  readOnly.searchParams.set("options", "-c default_transaction_read_only=on");
  const run = await runPgCli(SCHEMA, readOnly.toString(), ["verify", "--json"]);
  const error = jsonError(run);
  assert.deepEqual([error.code, error.sqlstate], ["SCRATCH_DATABASE_UNAVAILABLE", "25006"]);
  assert.match(String(error.message), /read-only/);
  assert.doesNotMatch(String(error.message), /CREATEDB/);
  assert.match(String(error.fix), /primary server/);
  assert.doesNotMatch(String(error.fix), /CREATEDB/);
  assert.deepEqual(await inventory(pool), before);
});

async function withAdmin<T>(database: TestPostgresDatabase, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: database.server.url("postgres") });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

test("baselineDatabase adopts a database built by hand that matches migrations 1..N; up continues from N+1", async (t) => {
  const { pool } = await freshDatabase(t);
  const third = sql(3, "notes", "CREATE TABLE notes (id bigint PRIMARY KEY);");
  // The legacy app ran the same statements on every start, without a history.
  await pool.query(CONTACTS.upSql);
  await pool.query(STATUS.upSql);
  await pool.query("INSERT INTO contacts (username) VALUES ('legacy')");
  const manager = new MigrationManager(pool, [...SCHEMA, third]);
  assert.equal((await rejection(() => manager.up())).code, "UNMANAGED_DATABASE");
  const before = await inventory(pool);
  const result = await baselineDatabase(manager, 2);
  assert.deepEqual(result, { version: 2, recorded: [1, 2], forced: false, differences: [], drift: [], oldTables: [] });
  assert.deepEqual(
    (await manager.history()).map((row) => [row.version, row.checksum, row.state]),
    [
      [1, CONTACTS.checksum, "applied"],
      [2, STATUS.checksum, "applied"],
    ],
  );
  // Nothing but the history was written: the data and the schema are as they were, no scratch database left.
  const after = await inventory(pool);
  const withoutHistory = (items: unknown) => (items as string[]).filter((item) => !item.includes("schema_migrations"));
  assert.deepEqual({ ...after, rows: undefined, relations: withoutHistory(after.relations), types: withoutHistory(after.types) }, { ...before, rows: undefined });
  assert.deepEqual(
    Object.fromEntries(Object.entries((after.rows as { tables: Record<string, unknown> }).tables).filter(([name]) => name !== "schema_migrations")),
    (before.rows as { tables: Record<string, unknown> }).tables,
  );
  assert.deepEqual(
    (await manager.up()).steps.map((step) => step.version),
    [3],
  );
});

test("baselineDatabase leaves out another tool's history table named in oldTables, as the catalog names it, and verifySchema leaves it out after", async (t) => {
  const { pool } = await freshDatabase(t);
  await pool.query(CONTACTS.upSql);
  await pool.query('CREATE TABLE "SequelizeMeta" (name varchar(255) PRIMARY KEY)');
  const manager = new MigrationManager(pool, SCHEMA);
  const before = await inventory(pool);
  assert.equal((await rejection(() => baselineDatabase(manager, 1))).code, "SCHEMA_MISMATCH");
  // PostgreSQL's names match only as written.
  assert.equal((await rejection(() => baselineDatabase(manager, 1, { oldTables: ["sequelizemeta"] }))).code, "USAGE");
  assert.deepEqual(await inventory(pool), before);
  assert.deepEqual((await baselineDatabase(manager, 1, { oldTables: ["SequelizeMeta"] })).oldTables, ["SequelizeMeta"]);
  assert.deepEqual((await verifySchema(manager)).differences, []);
});

test("baselineDatabase refuses a mismatch with SCHEMA_MISMATCH (differences as data), ALREADY_MANAGED and INVALID_TARGET, writing nothing; dangerouslyForce records", async (t) => {
  const { pool } = await freshDatabase(t);
  await pool.query(CONTACTS.upSql);
  await pool.query("ALTER TABLE contacts ADD COLUMN nick text");
  const manager = new MigrationManager(pool, SCHEMA);
  const before = await inventory(pool);
  const mismatch = await rejection(() => baselineDatabase(manager, 1));
  assert.equal(mismatch.code, "SCHEMA_MISMATCH");
  assert.equal(mismatch.version, 1);
  assert.deepEqual(
    (mismatch.differences as Array<{ objectType: string; name: string; change: string }>).map(({ objectType, name, change }) => ({ objectType, name, change })),
    [{ objectType: "column", name: "contacts.nick", change: "added" }],
  );
  const invalid = await rejection(() => baselineDatabase(manager, 7 as 1));
  assert.equal(invalid.code, "INVALID_TARGET");
  assert.deepEqual(await inventory(pool), before);

  const forced = await baselineDatabase(manager, 1, { dangerouslyForce: true });
  assert.equal(forced.forced, true);
  assert.deepEqual(forced.recorded, [1]);
  const managed = await rejection(() => baselineDatabase(manager, 1));
  assert.equal(managed.code, "ALREADY_MANAGED");
  assert.equal(managed.currentVersion, 1);
});

test("baselineDatabase waits for another session's run lock, then DATABASE_LOCKED with nothing recorded", async (t) => {
  const { database, pool } = await freshDatabase(t);
  await pool.query(CONTACTS.upSql);
  const holder = new pg.Client({ connectionString: database.url });
  holder.on("error", () => undefined);
  await holder.connect();
  t.after(async () => void (await holder.end().catch(() => undefined)));
  await holder.query("SELECT pg_advisory_lock($1::bigint)", [await runLockKey("public", "schema_migrations")]);
  const manager = new MigrationManager(pool, SCHEMA, { busyTimeoutMs: 200 });
  const error = await rejection(() => baselineDatabase(manager, 1));
  assert.equal(error.code, "DATABASE_LOCKED");
  assert.equal((await pool.query("SELECT to_regclass('public.schema_migrations') AS t")).rows[0].t, null);
});

/** A registry whose second migration, `transaction: false`, fails after its started row is committed. */
const INTERRUPTED = [
  sql(1, "items", "CREATE TABLE items (id bigint PRIMARY KEY, note text);"),
  sql(2, "items_note", "CREATE INDEX CONCURRENTLY idx_items_note ON items (missing_column);", null, { transaction: false }),
];

test("repairIncompleteMigration forgets or marks applied an interrupted transaction: false migration, under the run lock", async (t) => {
  const { database, pool } = await freshDatabase(t);
  const manager = new MigrationManager(pool, INTERRUPTED);
  assert.equal((await rejection(() => manager.up())).code, "MIGRATION_FAILED");
  assert.equal((await rejection(() => manager.up())).code, "INCOMPLETE_MIGRATION");

  const missing = await rejection(() => repairIncompleteMigration(manager, { version: 1, resolution: "forget" }));
  assert.equal(missing.code, "INVALID_TARGET");

  // While another session holds the run lock (a run in progress), the repair waits, then refuses; nothing changes.
  const holder = new pg.Client({ connectionString: database.url });
  holder.on("error", () => undefined);
  await holder.connect();
  t.after(async () => void (await holder.end().catch(() => undefined)));
  const key = await runLockKey("public", "schema_migrations");
  await holder.query("SELECT pg_advisory_lock($1::bigint)", [key]);
  const before = await inventory(pool);
  const locked = await rejection(() => repairIncompleteMigration(new MigrationManager(pool, INTERRUPTED, { busyTimeoutMs: 150 }), { version: 2, resolution: "forget" }));
  assert.equal(locked.code, "DATABASE_LOCKED");
  assert.deepEqual({ ...(await inventory(pool)), advisoryLocks: undefined }, { ...before, advisoryLocks: undefined });
  await holder.query("SELECT pg_advisory_unlock_all()");

  const forgotten = await repairIncompleteMigration(manager, { version: 2, resolution: "forget" });
  assert.deepEqual({ version: forgotten.version, resolution: forgotten.resolution, currentVersion: forgotten.currentVersion }, { version: 2, resolution: "forget", currentVersion: 1 });
  assert.deepEqual(
    (await manager.history()).map((row) => [row.version, row.state]),
    [[1, "applied"]],
  );

  // Interrupted again, then resolved the other way: the index was built by hand.
  assert.equal((await rejection(() => manager.up())).code, "MIGRATION_FAILED");
  await pool.query("CREATE INDEX idx_items_note ON items (note)");
  const applied = await repairIncompleteMigration(manager, { version: 2, resolution: "applied" });
  assert.equal(applied.currentVersion, 2);
  assert.deepEqual(
    (await manager.history()).map((row) => [row.version, row.state]),
    [
      [1, "applied"],
      [2, "applied"],
    ],
  );
  assert.equal((await manager.status()).problem, null);
});

test("rehearseUp runs the plan in a transaction rolled back at the end: the real run's report, and nothing left", async (t) => {
  const { pool } = await freshDatabase(t);
  const seed = sql(1, "items", "CREATE TABLE items (id bigint PRIMARY KEY, note text); INSERT INTO items VALUES (1, 'a'), (2, 'b');");
  const more = sql(2, "more_items", "ALTER TABLE items ADD COLUMN done boolean NOT NULL DEFAULT false; INSERT INTO items (id, note) VALUES (3, 'c');");
  const tags = sql(3, "tags", "CREATE TABLE tags (id bigserial PRIMARY KEY, label text UNIQUE);");
  const events: string[] = [];
  const manager = new MigrationManager(pool, [seed, more, tags], { onEvent: (event) => events.push(event.type) });
  await manager.up({ to: 1 });
  events.length = 0;
  const before = await inventory(pool);
  const { steps, rehearsal } = await rehearseUp(manager);
  assert.deepEqual(
    steps.map((step) => step.version),
    [2, 3],
  );
  assert.equal(rehearsal.ok, true);
  assert.equal(rehearsal.fromVersion, 1);
  assert.equal(rehearsal.reachedVersion, 3);
  assert.deepEqual(
    rehearsal.steps.map((step) => [step.version, step.status, typeof step.durationMs]),
    [
      [2, "applied", "number"],
      [3, "applied", "number"],
    ],
  );
  assert.deepEqual(
    rehearsal.schemaChanges.map(({ objectType, name, change }) => [objectType, name, change]),
    [
      ["column", "items.done", "added"],
      ["table", "tags", "added"],
      ["sequence", "tags_id_seq", "added"],
    ],
  );
  assert.deepEqual(rehearsal.rowCounts, [
    { table: "items", before: 2, after: 3 },
    { table: "tags", before: null, after: 0 },
  ]);
  // Its events are not the app's: no "migrated" reached the manager's listener.
  assert.deepEqual(events, []);
  assert.deepEqual(await inventory(pool), before);
  assert.deepEqual(
    (await manager.up()).steps.map((step) => step.version),
    [2, 3],
  );
});

test("rehearseUp reports the failure the real run meets (code, version), keeps the migrations before it in the report, and leaves nothing", async (t) => {
  const { pool } = await freshDatabase(t);
  const seed = sql(1, "items", "CREATE TABLE items (id bigint PRIMARY KEY, note text); INSERT INTO items VALUES (1, NULL);");
  const fine = sql(2, "labels", "CREATE TABLE labels (id int);");
  const failing = sql(3, "note_required", "ALTER TABLE items ALTER COLUMN note SET NOT NULL;");
  const manager = new MigrationManager(pool, [seed, fine, failing]);
  await manager.up({ to: 1 });
  const before = await inventory(pool);
  const { rehearsal } = await rehearseUp(manager);
  assert.equal(rehearsal.ok, false);
  assert.equal(rehearsal.failure?.code, "MIGRATION_FAILED");
  assert.equal(rehearsal.failure?.fields.version, 3);
  assert.equal(rehearsal.failure?.fields.nativeCode, "23502");
  assert.equal(rehearsal.reachedVersion, 2);
  assert.deepEqual(
    rehearsal.steps.map((step) => [step.version, step.status]),
    [
      [2, "applied"],
      [3, "failed"],
    ],
  );
  assert.deepEqual(
    rehearsal.schemaChanges.map(({ objectType, name, change }) => [objectType, name, change]),
    [["table", "labels", "added"]],
  );
  assert.deepEqual(await inventory(pool), before);
  const real = await rejection(() => manager.up());
  assert.equal(real.code, rehearsal.failure?.code);
  assert.equal(real.version, 3);
  assert.equal(real.nativeCode, "23502");
});

test("rehearseUp: a TypeScript body that would COMMIT is stopped before the statement reaches the server; the report names it and nothing stays", async (t) => {
  const { pool } = await freshDatabase(t);
  const seed = sql(1, "items", "CREATE TABLE items (id bigint PRIMARY KEY, note text);");
  const committing = asyncEntry(2, async (db) => {
    await db.query("INSERT INTO items VALUES (1, 'written before the commit')");
    await db.query({ text: "  commit" });
  });
  const manager = new MigrationManager(pool, [seed, committing]);
  const before = await inventory(pool);
  const { rehearsal } = await rehearseUp(manager);
  assert.equal(rehearsal.ok, false);
  assert.equal(rehearsal.failure?.code, "MIGRATION_FAILED");
  assert.equal(rehearsal.failure?.fields.version, 2);
  assert.equal(rehearsal.failure?.cause?.name, "RehearsalStatementRefusedError");
  assert.equal(rehearsal.reachedVersion, 1);
  assert.deepEqual(await inventory(pool), before);
  // A savepoint's ROLLBACK TO does not end the transaction: a body may use one.
  const savepoints = asyncEntry(2, async (db) => {
    await db.query("SAVEPOINT mine; INSERT INTO items VALUES (2, 'undone'); ROLLBACK TO SAVEPOINT mine; RELEASE SAVEPOINT mine");
  });
  assert.equal((await rehearseUp(new MigrationManager(pool, [seed, savepoints]))).rehearsal.ok, true);
  assert.deepEqual(await inventory(pool), before);
});

test("rehearseUp refuses a plan holding a transaction: false migration with REHEARSAL_REFUSED naming it; nothing runs", async (t) => {
  const { pool } = await freshDatabase(t);
  const ran: number[] = [];
  const migrations = [
    asyncEntry(1, async (db) => {
      ran.push(1);
      await db.query("CREATE TABLE items (id bigint PRIMARY KEY, note text)");
    }),
    sql(2, "items_note", "CREATE INDEX CONCURRENTLY idx_items_note ON items (note);", null, { transaction: false }),
  ];
  const manager = new MigrationManager(pool, migrations);
  const before = await inventory(pool);
  const error = await rejection(() => rehearseUp(manager));
  assert.equal(error.code, "REHEARSAL_REFUSED");
  assert.equal(error.version, 2);
  assert.equal(error.file, "migrations/002_items_note.sql");
  assert.equal(error.obstacle, "transaction-false");
  assert.equal(error.driver, "pg");
  assert.deepEqual(ran, []);
  assert.deepEqual(await inventory(pool), before);
  // Up to the migration before it, the rehearsal runs.
  assert.equal((await rehearseUp(manager, { to: 1 })).rehearsal.ok, true);
  assert.deepEqual(await inventory(pool), before);
});

test("backups and restore on pg are refused with DRIVER_CAPABILITY_MISSING naming pg_dump / pg_restore, before any migration runs; no folder or file is created", async (t) => {
  const { pool } = await freshDatabase(t);
  const manager = new MigrationManager(pool, SCHEMA);
  const root = mkdtempSync(path.join(tmpdir(), "stepwise-pg-backup-"));
  t.after(async () => rmSync(root, { recursive: true, force: true }));
  const directory = path.join(root, "backups");
  const before = await inventory(pool);
  const refusals: Array<[string, () => Promise<unknown>, string, string]> = [
    // The nets' types take a SQLite manager; handed a pg manager from JavaScript, each refuses it first.
    ["upWithBackup", async () => upWithBackup(manager as never, { backup: { directory } }), "openFile", "pg_dump"],
    ["takeBackup", () => takeBackup(manager as never, { directory, version: 0 }), "openFile", "pg_dump"],
    ["restoreBackup", () => restoreBackup({ driver: manager as never, backupFile: path.join(root, "app.dump"), databasePath: path.join(root, "app.db") }), "openFile", "pg_restore"],
    ["listBackups", async () => listBackups(directory, manager as never), "openFile", "pg_dump"],
  ];
  for (const [operation, action, capability, tool] of refusals) {
    const error = await rejection(action);
    assert.ok(error instanceof StepwiseError && error.is("DRIVER_CAPABILITY_MISSING"), operation);
    assert.deepEqual(
      { driver: error.details.driver, capability: error.details.capability, operation: error.details.operation, tool: error.details.tool },
      { driver: "pg", capability, operation, tool },
    );
    assert.match(String(error.message), new RegExp(tool), operation);
  }
  assert.equal(existsSync(directory), false);
  assert.deepEqual(await inventory(pool), before);
  assert.deepEqual((before.rows as { tables: object }).tables, {});
});

/** The accounts of the tester's report: a bigserial id holding 1 to 3, and an up to date migration before the pending ones. */
const ACCOUNTS = sql(1, "accounts", "CREATE TABLE accounts (id bigserial PRIMARY KEY, email text); INSERT INTO accounts (email) VALUES ('a'), ('b'), ('c');");
const LABELS = sql(2, "labels", "CREATE TABLE labels (id int);");

test("rehearseUp refuses, before anything runs, a SQL migration whose effect PostgreSQL does not roll back (setval, COPY … TO a file, dblink_exec): REHEARSAL_REFUSED naming its line, and the live sequence, files and tables untouched", async (t) => {
  const { pool } = await freshDatabase(t);
  const folder = mkdtempSync(path.join(tmpdir(), "stepwise-leak-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const leak = path.join(folder, "leak.txt");
  const cases = [
    ["setval", `DELETE FROM accounts WHERE id > 1;\nSELECT setval('accounts_id_seq', (SELECT max(id) FROM accounts));`, 2],
    ["COPY … TO a file", `INSERT INTO labels VALUES (1);\n\nCOPY (SELECT 'x') TO '${leak}';`, 3],
    ["dblink_exec", `SELECT dblink_exec('dbname=app', 'CREATE TABLE leaked3 (id int)');`, 1],
  ] as const;
  for (const [effect, up, line] of cases) {
    const manager = new MigrationManager(pool, [ACCOUNTS, LABELS, sql(3, "trim", up, null, { sqlLines: [10, null] } as never)]);
    await manager.up({ to: 1 });
    const before = await inventory(pool);
    const error = await rejection(() => rehearseUp(manager));
    assert.deepEqual(
      [error.code, error.version, error.obstacle, error.rehearsableTo, error.location],
      ["REHEARSAL_REFUSED", 3, "non-transactional", 2, { file: "migrations/003_trim.sql", line: 9 + line, column: effect === "COPY … TO a file" ? 1 : 8 }],
      effect,
    );
    assert.deepEqual(await inventory(pool), before, effect);
    const { rows } = await pool.query<{ last_value: string }>("SELECT last_value::text FROM accounts_id_seq");
    assert.equal(rows[0]!.last_value, "3", effect);
    assert.equal(existsSync(leak), false, effect);
  }
});

test("rehearseUp is not fooled by those names in strings, comments and dollar quotes, and lets nextval run (its gaps stay unique)", async (t) => {
  const { pool } = await freshDatabase(t);
  const harmless = sql(3, "harmless", `-- SELECT setval('accounts_id_seq', 1);\nSELECT 'setval(1)', $q$ dblink_exec('x') COPY t TO '/x' $q$ /* lo_export( */;\nSELECT nextval('accounts_id_seq');`);
  const manager = new MigrationManager(pool, [ACCOUNTS, LABELS, harmless]);
  await manager.up({ to: 1 });
  const { rehearsal } = await rehearseUp(manager);
  assert.equal(rehearsal.ok, true);
  assert.equal(rehearsal.reachedVersion, 3);
});

test("verifySchema: a migration whose replay fails only in the scratch database (a role, server-wide, already made by the real run) is MIGRATION_FAILED with replayed: true, and the database checked is untouched", async (t) => {
  const { pool } = await freshDatabase(t);
  const role = `stepwise_reader_${process.pid}_${Date.now()}`;
  t.after(async () => void (await pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined)));
  const manager = new MigrationManager(pool, [sql(1, "init", `CREATE TABLE accounts (id bigserial PRIMARY KEY);\nCREATE ROLE ${role} NOLOGIN;`, null, { sqlLines: [11, null] } as never)]);
  await manager.up();
  const before = await inventory(pool);
  const error = await rejection(() => verifySchema(manager));
  assert.deepEqual([error.code, error.version, error.replayed, error.rolledBack, error.nativeCode], ["MIGRATION_FAILED", 1, true, true, "42710"]);
  assert.deepEqual(await inventory(pool), before);
  // Created only where pg_roles lacks it, the migration replays.
  const idempotent = `CREATE TABLE accounts (id bigserial PRIMARY KEY);\nDO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} NOLOGIN; END IF; END $$;`;
  const fixed = new MigrationManager(pool, [sql(1, "init", idempotent)]);
  assert.equal((await verifySchema(fixed)).ok, true);
});
