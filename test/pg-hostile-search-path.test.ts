/**
 * Nothing on the session's `search_path` decides what stepwise's own statements on PostgreSQL mean.
 * A schema `hostile`, listed before `pg_catalog` on the migrating session's path, holds an operator
 * for every pair of types stepwise compares that answers the opposite of the built-in one, functions
 * that shadow the built-ins stepwise calls and answer nonsense, a domain `text` over `integer`, and
 * tables named like the catalogs. Some win even on the default path (an exact `varchar = varchar`, a
 * `numeric * integer`): those are planted in `public` too. up, the no-op start, status, history, down
 * (a SQL migration and its history write, a TypeScript migration's statements, a `transaction: false`
 * migration's started row), verify and a checksum repair must each answer exactly as on a clean
 * server, and nothing of `hostile` may be called: its functions count their calls.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import pg from "pg";
import type { MigrationDefinition, MigrationEntry } from "../src/core/types.js";
import { runLockKey } from "../src/drivers/pg.js";
import { MigrationManager } from "../src/entries/pg.js";
import { repairChecksums, verifySchema } from "../src/index.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { namedSqlEntry, tsEntry } from "./support/registry-builders.js";
import { factsOf } from "./support/stepwise-failure.js";

/** The operators planted: name, left and right type, and the built-in whose opposite each answers. */
const OPPOSITE_OPERATORS: readonly (readonly [string, string, string, string])[] = [
  ["=", "text", "text", "<>"],
  ["=", "varchar", "varchar", "<>"],
  ["=", "name", "name", "<>"],
  ["=", "name", "text", "<>"],
  ["=", "bigint", "bigint", "<>"],
  ["=", "integer", "integer", "<>"],
  ["=", "smallint", "smallint", "<>"],
  ["=", "smallint", "integer", "<>"],
  ["=", "oid", "oid", "<>"],
  ["=", '"char"', '"char"', "<>"],
  ["<>", "text", "text", "="],
  [">", "smallint", "integer", "<="],
  [">", "bigint", "bigint", "<="],
  ["<=", "bigint", "bigint", ">"],
  [">", "bigint", "integer", "<="],
];

/** Functions shadowing built-ins stepwise calls (or once called), each answering nonsense and counting its calls. */
const SHADOWS: readonly string[] = [
  "clock_timestamp() RETURNS timestamptz AS $$ SELECT hostile.called('clock_timestamp'); SELECT timestamptz '2000-01-01' $$",
  "statement_timestamp() RETURNS timestamptz AS $$ SELECT hostile.called('statement_timestamp'); SELECT timestamptz '2100-01-01' $$",
  "round(numeric) RETURNS numeric AS $$ SELECT hostile.called('round'); SELECT -1::numeric $$",
  "format_type(oid, integer) RETURNS text AS $$ SELECT hostile.called('format_type'); SELECT 'smallint'::pg_catalog.text $$",
  "concat_ws(text, text, text) RETURNS text AS $$ SELECT hostile.called('concat_ws'); SELECT 'x'::pg_catalog.text $$",
  "concat(text, integer, text, numeric, text, numeric) RETURNS text AS $$ SELECT hostile.called('concat'); SELECT 'x'::pg_catalog.text $$",
  "host(inet) RETURNS text AS $$ SELECT hostile.called('host'); SELECT 'x'::pg_catalog.text $$",
  "starts_with(text, text) RETURNS boolean AS $$ SELECT hostile.called('starts_with'); SELECT true $$",
  "split_part(text, text, integer) RETURNS text AS $$ SELECT hostile.called('split_part'); SELECT 'x'::pg_catalog.text $$",
  "length(text) RETURNS integer AS $$ SELECT hostile.called('length'); SELECT 0 $$",
  "pg_backend_pid() RETURNS integer AS $$ SELECT hostile.called('pg_backend_pid'); SELECT 1 $$",
  "pg_try_advisory_lock(bigint) RETURNS boolean AS $$ SELECT hostile.called('pg_try_advisory_lock'); SELECT true $$",
  "pg_advisory_unlock(bigint) RETURNS boolean AS $$ SELECT hostile.called('pg_advisory_unlock'); SELECT true $$",
  "pg_current_xact_id() RETURNS xid8 AS $$ SELECT hostile.called('pg_current_xact_id'); SELECT '1'::pg_catalog.xid8 $$",
  "pg_get_indexdef(oid) RETURNS text AS $$ SELECT hostile.called('pg_get_indexdef'); SELECT 'x'::pg_catalog.text $$",
  "set_config(text, text, boolean) RETURNS text AS $$ SELECT hostile.called('set_config'); SELECT '1'::pg_catalog.text $$",
  "current_setting(text) RETURNS text AS $$ SELECT hostile.called('current_setting'); SELECT '0'::pg_catalog.text $$",
];

/** The catalogs stepwise reads, as tables of the same name in `hostile`. */
const FAKE_CATALOGS = ["pg_class", "pg_namespace", "pg_attribute", "pg_index", "pg_stat_activity", "pg_locks", "pg_database", "pg_constraint", "pg_type"];

/** Plants everything in `schema`; `public` gets the operators that win even behind `pg_catalog`. */
function plantSql(schema: string): string {
  const operators = OPPOSITE_OPERATORS.map(([name, left, right, builtin], index) => {
    const fn = `${schema}.opposite_${index}`;
    return (
      `CREATE FUNCTION ${fn}(a ${left}, b ${right}) RETURNS boolean LANGUAGE sql AS $$ SELECT hostile.called('operator ${name}'); SELECT a OPERATOR(pg_catalog.${builtin}) b $$;` +
      `CREATE OPERATOR ${schema}.${name} (LEFTARG = ${left}, RIGHTARG = ${right}, FUNCTION = ${fn});`
    );
  });
  return operators.join("\n");
}

const HOSTILE_SETUP = `
CREATE SCHEMA hostile;
CREATE TABLE hostile.calls (what pg_catalog.text);
CREATE FUNCTION hostile.called(what pg_catalog.text) RETURNS void LANGUAGE sql AS $$ INSERT INTO hostile.calls VALUES (what) $$;
${plantSql("hostile")}
CREATE FUNCTION hostile.times_zero(a numeric, b integer) RETURNS numeric LANGUAGE sql AS $$ SELECT hostile.called('operator *'); SELECT 0::numeric $$;
CREATE OPERATOR public.* (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = hostile.times_zero);
${SHADOWS.map((shadow) => `CREATE FUNCTION hostile.${shadow} LANGUAGE sql;`).join("\n")}
CREATE DOMAIN hostile.text AS integer;
${FAKE_CATALOGS.map((name) => `CREATE TABLE hostile.${name} (oid integer, relname pg_catalog.text);`).join("\n")}
`;

/** The public operators that beat the built-ins on the default path: an exact match for the argument types wins. */
const PUBLIC_SETUP = `
CREATE FUNCTION public.varchar_opposite(a varchar, b varchar) RETURNS boolean LANGUAGE sql AS $$ SELECT hostile.called('public ='); SELECT a OPERATOR(pg_catalog.<>) b $$;
CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.varchar_opposite);
`;

/** What the setup plants in public, outside any migration, as verify reports it: the function and the operators that beat the built-ins. */
const PLANTED_IN_PUBLIC = [
  ["function", "varchar_opposite(a character varying, b character varying)"],
  ["operator", "*(numeric, integer)"],
  ["operator", "=(character varying, character varying)"],
].map(([objectType, name]) => ({ change: "added", details: [], name: name!, objectType: objectType!, table: name! }));

interface Hostile {
  /** A client whose session resolves names through `hostile` before `pg_catalog`. */
  readonly client: pg.Client;
  /** A client on the default path, for the test's own reads. */
  readonly admin: pg.Client;
  /** What `hostile`'s objects were called for, in order. */
  calls(): Promise<string[]>;
}

async function hostileDatabase(t: TestContext): Promise<Hostile> {
  const database = await createTestDatabase();
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query(HOSTILE_SETUP + PUBLIC_SETUP);
  const client = new pg.Client({ connectionString: database.url, options: "-c search_path=hostile,pg_catalog,public" });
  await client.connect();
  t.after(async () => {
    await client.end();
    await admin.end();
    await database.drop();
  });
  // The plant works: each operator and shadow answers as planted on this session.
  assert.deepEqual((await client.query("SELECT 'a'::pg_catalog.text = 'a'::pg_catalog.text AS same, 2::bigint = 2::bigint AS same_version")).rows, [{ same: false, same_version: false }]);
  assert.deepEqual((await admin.query("SELECT 'a'::varchar = 'a'::varchar AS same")).rows, [{ same: false }]);
  await admin.query("TRUNCATE hostile.calls");
  return { client, admin, calls: async () => (await admin.query<{ what: string }>("SELECT what FROM hostile.calls")).rows.map((row) => row.what) };
}

function tsMigration(version: number, table: string): MigrationEntry {
  return tsEntry(
    version,
    {
      up: async (db: pg.ClientBase) => void (await db.query(`CREATE TABLE public.${table} (id bigint PRIMARY KEY)`)),
      down: async (db: pg.ClientBase) => void (await db.query(`DROP TABLE public.${table}`)),
    } as unknown as MigrationDefinition<unknown>,
    { dialect: "postgres", reversible: true } as never,
  ) as MigrationEntry;
}

/** SQL, TypeScript, and a `transaction: false` migration (its started row, then applied). */
const REGISTRY: MigrationEntry[] = [
  namedSqlEntry(1, "create_items", "CREATE TABLE public.items (id bigint PRIMARY KEY, note varchar(20));", "DROP TABLE public.items;", { dialect: "postgres" }),
  tsMigration(2, "notes"),
  namedSqlEntry(3, "index_items", "CREATE INDEX CONCURRENTLY items_note ON public.items (note);", "DROP INDEX CONCURRENTLY public.items_note;", { transaction: false, dialect: "postgres" }),
  namedSqlEntry(4, "create_tags", "CREATE TABLE public.tags (id bigint PRIMARY KEY);", "DROP TABLE public.tags;", { dialect: "postgres" }),
];

async function historyRows(admin: pg.Client): Promise<{ version: number; state: string; duration_ms: number | null; owner: string | null }[]> {
  return (await admin.query("SELECT version::int AS version, state, duration_ms::int AS duration_ms, owner FROM public.schema_migrations ORDER BY version")).rows;
}

test("up, the no-op start, status and history answer through a hostile search_path as on a clean server, and call nothing of it", async (t) => {
  const { client, admin, calls } = await hostileDatabase(t);
  const applied = await new MigrationManager(client, REGISTRY).up();
  assert.deepEqual(
    applied.steps.map((step) => step.version),
    [1, 2, 3, 4],
  );
  const rows = await historyRows(admin);
  assert.deepEqual(
    rows.map((row) => [row.version, row.state, row.owner]),
    [
      [1, "applied", null],
      [2, "applied", null],
      [3, "applied", null],
      [4, "applied", null],
    ],
  );
  for (const row of rows) assert.ok(row.duration_ms !== null && row.duration_ms >= 0 && row.duration_ms < 60_000, `duration_ms ${row.duration_ms} of ${row.version}`);
  // The history table's columns are pg_catalog's text, not the planted domain.
  assert.deepEqual(
    (
      await admin.query(
        "SELECT DISTINCT pg_catalog.format_type(atttypid, atttypmod) AS type FROM pg_catalog.pg_attribute WHERE attrelid = 'public.schema_migrations'::regclass AND attnum > 0 AND attname <> 'version' AND attname <> 'duration_ms'",
      )
    ).rows,
    [{ type: "text" }],
  );

  const noop = await new MigrationManager(client, REGISTRY).up();
  assert.deepEqual(noop, { direction: "up", fromVersion: 4, toVersion: 4, steps: [] });
  const status = await new MigrationManager(client, REGISTRY).status();
  assert.equal(status.currentVersion, 4);
  assert.equal(status.pendingCount, 0);
  assert.equal(status.problem, null);
  assert.deepEqual(
    status.migrations.map((row) => row.state),
    ["applied", "applied", "applied", "applied"],
  );
  const history = await new MigrationManager(client, REGISTRY).history();
  assert.deepEqual(
    history.map((row) => [row.version, row.state]),
    [
      [1, "applied"],
      [2, "applied"],
      [3, "applied"],
      [4, "applied"],
    ],
  );
  assert.deepEqual(await calls(), []);
});

test("down through a hostile search_path reverts exactly the rows it names: a SQL migration's message, a transaction: false migration, a TypeScript one", async (t) => {
  const { client, admin, calls } = await hostileDatabase(t);
  await new MigrationManager(client, REGISTRY).up();
  await admin.query("TRUNCATE hostile.calls");
  const manager = new MigrationManager(client, REGISTRY);
  for (const expected of [[1, 2, 3], [1, 2], [1]]) {
    const result = await manager.down({ steps: 1 });
    assert.equal(result.steps.length, 1);
    assert.deepEqual(
      (await historyRows(admin)).map((row) => row.version),
      expected,
    );
  }
  assert.deepEqual(
    (await admin.query("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((row) => row.tablename),
    ["items", "schema_migrations"],
  );
  assert.deepEqual(await calls(), []);
});

test('up and down with transaction: "all" apply their SQL migrations through a hostile search_path, as on a clean server, and call nothing of it', async (t) => {
  const { client, admin, calls } = await hostileDatabase(t);
  const registry = [1, 2, 3].map((version) =>
    namedSqlEntry(version, `create_t${version}`, `SELECT pg_catalog.pg_sleep(0.05);\nCREATE TABLE public.t${version} (id bigint PRIMARY KEY);`, `DROP TABLE public.t${version};`, {
      dialect: "postgres",
    }),
  );
  const applied = await new MigrationManager(client, registry).up({ transaction: "all" });
  assert.deepEqual(
    applied.steps.map((step) => step.version),
    [1, 2, 3],
  );
  for (const step of applied.steps) assert.ok(step.durationMs >= 50 && step.durationMs < 60_000, `duration ${step.durationMs} of ${step.version}`);
  const rows = await historyRows(admin);
  assert.deepEqual(
    rows.map((row) => [row.version, row.state]),
    [
      [1, "applied"],
      [2, "applied"],
      [3, "applied"],
    ],
  );
  for (const row of rows) assert.ok(row.duration_ms !== null && row.duration_ms >= 50 && row.duration_ms < 60_000, `duration_ms ${row.duration_ms} of ${row.version}`);
  const reverted = await new MigrationManager(client, registry).down({ to: 0, transaction: "all" });
  assert.deepEqual(
    reverted.steps.map((step) => step.version),
    [3, 2, 1],
  );
  assert.deepEqual(await historyRows(admin), []);
  assert.deepEqual(await calls(), []);
});

test("verify and a checksum repair through a hostile search_path answer as on a clean server", async (t) => {
  const { client, admin, calls } = await hostileDatabase(t);
  await new MigrationManager(client, REGISTRY).up();
  await admin.query("TRUNCATE hostile.calls");
  const verification = await verifySchema(new MigrationManager(client, REGISTRY));
  // Exactly what was planted in public outside the migrations, and nothing the hostile path made up.
  assert.deepEqual(verification.differences, PLANTED_IN_PUBLIC);
  await admin.query("DROP OPERATOR public.= (varchar, varchar); DROP FUNCTION public.varchar_opposite");
  // The public * stays, for the repair below.
  assert.deepEqual(await verifySchema(new MigrationManager(client, REGISTRY)), {
    ok: false,
    version: 4,
    differences: PLANTED_IN_PUBLIC.slice(1, 2),
    drift: ["operator *(numeric, integer) added outside migrations"],
  });

  const edited = REGISTRY.map((entry) => (entry.version === 4 ? { ...entry, checksum: "f".repeat(64) } : entry)) as MigrationEntry[];
  const repaired = await repairChecksums(new MigrationManager(client, edited), { apply: true });
  assert.equal(repaired.applied, true);
  assert.deepEqual(
    repaired.realignments.map((row) => row.version),
    [4],
  );
  assert.deepEqual(
    (await admin.query("SELECT version::int AS version, checksum FROM public.schema_migrations ORDER BY version")).rows.map((row) => row.checksum === "f".repeat(64)),
    [false, false, false, true],
  );
  assert.deepEqual(await calls(), []);
});

test("verify of a schema with a sequence, a domain and an enum calls no || on the search_path and answers as on a clean server", async (t) => {
  const { client, admin, calls } = await hostileDatabase(t);
  // A text || text that wins on the hostile path (same argument types, earlier schema), answering nonsense.
  await admin.query(
    "CREATE FUNCTION hostile.concat_x(a text, b text) RETURNS text LANGUAGE sql AS $$ SELECT hostile.called('operator ||'); SELECT 'x'::pg_catalog.text $$;" +
      "CREATE OPERATOR hostile.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.concat_x);",
  );
  assert.deepEqual((await client.query("SELECT 'a'::pg_catalog.text || 'b'::pg_catalog.text AS joined")).rows, [{ joined: "x" }]);
  await admin.query("TRUNCATE hostile.calls");
  const registry = [
    namedSqlEntry(
      1,
      "create_kinds",
      "CREATE SEQUENCE public.ticket_seq START 5; CREATE DOMAIN public.positive AS integer DEFAULT 1 CHECK (VALUE > 0); CREATE TYPE public.mood AS ENUM ('calm', 'odd');",
      "DROP TYPE public.mood; DROP DOMAIN public.positive; DROP SEQUENCE public.ticket_seq;",
      { dialect: "postgres" },
    ),
  ];
  await new MigrationManager(client, registry).up();
  await admin.query("TRUNCATE hostile.calls");
  // Only what the setup planted in public outside the migrations differs.
  const verification = await verifySchema(new MigrationManager(client, registry));
  assert.deepEqual(verification.differences, PLANTED_IN_PUBLIC);
  assert.deepEqual(await calls(), []);
  // Drifted on the live side only: the sequence's MAXVALUE and the domain's default are compared by what || builds.
  await admin.query("ALTER SEQUENCE public.ticket_seq MAXVALUE 1000; ALTER DOMAIN public.positive SET DEFAULT 2");
  const drifted = await verifySchema(new MigrationManager(client, registry));
  assert.deepEqual(drifted.differences.map((difference) => [difference.change, difference.name]).sort(), [
    ["added", "*(numeric, integer)"],
    ["added", "=(character varying, character varying)"],
    ["added", "varchar_opposite(a character varying, b character varying)"],
    ["changed", "positive"],
    ["changed", "ticket_seq"],
  ]);
  assert.deepEqual(await calls(), []);
});

test("DATABASE_LOCKED through a hostile search_path names the session that holds the run lock, and only it", async (t) => {
  const { client, admin, calls } = await hostileDatabase(t);
  await admin.query("SET application_name = 'holder-app'");
  const holderPid = (await admin.query<{ pid: number }>("SELECT pg_catalog.pg_backend_pid() AS pid")).rows[0]!.pid;
  await admin.query("SELECT pg_catalog.pg_advisory_lock($1::bigint)", [await runLockKey("public", "schema_migrations")]);
  await assert.rejects(new MigrationManager(client, REGISTRY, { busyTimeoutMs: 0 }).up(), (raw: unknown) => {
    const error = factsOf(raw);
    assert.equal(error.code, "DATABASE_LOCKED");
    const holders = error.holders as { pid: number; program: string | null; lock: string }[];
    assert.deepEqual(
      holders.map((holder) => [holder.pid, holder.lock]),
      [[holderPid, "write"]],
    );
    assert.equal(holders[0]!.program, "holder-app");
    return true;
  });
  assert.deepEqual((await admin.query("SELECT count(*)::int AS n FROM pg_catalog.pg_tables WHERE schemaname = 'public'")).rows, [{ n: 0 }]);
  assert.deepEqual(await calls(), []);
});

test("forEachBatch through a hostile search_path finds the table and key by the catalog's own operators and visits every row once", async (t) => {
  const { client, admin, calls } = await hostileDatabase(t);
  const seen: number[] = [];
  const registry: MigrationEntry[] = [
    namedSqlEntry(
      1,
      "create_items",
      "CREATE TABLE public.items (id bigint PRIMARY KEY, note pg_catalog.text); INSERT INTO public.items SELECT g, 'new' FROM pg_catalog.generate_series(1, 7) AS g;",
      null,
      {
        dialect: "postgres",
      },
    ),
    tsEntry(
      2,
      {
        up: async (_db: pg.ClientBase, context: { forEachBatch: (options: object, handle: (rows: { id: number }[], db: pg.ClientBase) => Promise<void>) => Promise<unknown> }) =>
          void (await context.forEachBatch({ table: "items", key: "id", batchSize: 3 }, async (rows, db) => {
            for (const row of rows) {
              seen.push(Number(row.id));
              await db.query("UPDATE public.items SET note = 'seen' WHERE id OPERATOR(pg_catalog.=) $1", [row.id]);
            }
          })),
      } as unknown as MigrationDefinition<unknown>,
      { dialect: "postgres" } as never,
    ) as MigrationEntry,
  ];
  // The walk resolves "items" through the session's search_path, as the app's own SQL would: public is on it.
  await new MigrationManager(client, registry).up();
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual((await admin.query("SELECT DISTINCT note FROM public.items")).rows, [{ note: "seen" }]);
  assert.deepEqual(await calls(), []);
});
