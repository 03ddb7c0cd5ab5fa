/**
 * stepwise-migrate/pg reads the history once per run while it holds the run lock: no other stepwise process
 * can write it meanwhile, so re-reading it in every migration's transaction (the bench's largest
 * extra cost per migration against a hand-written loop) buys nothing. Counted, not timed: every
 * statement the session sends is recorded through the client's own `query`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { MigrationManager } from "../src/entries/pg.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../src/core/options.js";
import { connectFresh, connectFreshWithUrl, recordStatements } from "./support/pg-client.js";
import { namedSqlEntry } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

/** How stepwise opens a transaction: with the server's check that the client is there, and the run's lock_timeout, which end with it. */
const BEGIN = `BEGIN; SET LOCAL client_connection_check_interval = 1000; SET LOCAL lock_timeout = ${DEFAULT_LOCK_TIMEOUT_MS}`;

const SIZE = 6;
const registry = Array.from({ length: SIZE }, (_, index) =>
  namedSqlEntry(index + 1, `create_t${index + 1}`, `CREATE TABLE t${index + 1} (id bigint PRIMARY KEY);`, `DROP TABLE t${index + 1};`, { dialect: "postgres" }),
);

test("up and down read the history once per run under the run lock, not in every migration's transaction, and still apply and revert every migration", async (t) => {
  const client = await connectFresh(t);
  const manager = new MigrationManager(client, registry);
  const historyReads = (statements: readonly string[]) => statements.filter((sql) => /^\s*SELECT version, checksum/.test(sql)).length;

  let result: Awaited<ReturnType<typeof manager.up>> | null = null;
  const up = await recordStatements(client, async () => (result = await manager.up()));
  assert.equal(result!.steps.length, SIZE);
  // One transaction per migration.
  assert.equal(up.filter((sql) => sql.startsWith(BEGIN)).length, SIZE);
  assert.ok(historyReads(up) <= 2, `history read ${historyReads(up)} times for ${SIZE} migrations:\n${up.join("\n")}`);

  const down = await recordStatements(client, async () => (result = await manager.down({ to: 0 })));
  assert.equal(result!.steps.length, SIZE);
  assert.ok(historyReads(down) <= 2, `history read ${historyReads(down)} times for ${SIZE} migrations:\n${down.join("\n")}`);
  const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename LIKE 't%'");
  assert.deepEqual(rows, [{ n: 0 }]);
});

test("a start with nothing pending runs nothing and emits nothing-pending; a start with work plans under the run lock", async (t) => {
  const client = await connectFresh(t);
  const firstHalf = registry.slice(0, SIZE / 2);
  const fresh = await recordStatements(client, () => new MigrationManager(client, firstHalf).up());
  assert.ok(
    fresh.some((sql) => /pg_try_advisory_lock/.test(sql)),
    `a fresh database must be migrated under the run lock:\n${fresh.join("\n")}`,
  );

  const events: string[] = [];
  const results: Awaited<ReturnType<MigrationManager["up"]>>[] = [];
  results.push(await new MigrationManager(client, firstHalf, { onEvent: (event) => events.push(event.type) }).up());
  assert.deepEqual(results, [{ direction: "up", fromVersion: SIZE / 2, toVersion: SIZE / 2, steps: [] }]);
  assert.deepEqual(events, ["nothing-pending"]);

  // More migrations in the registry: they run under the lock.
  const more = await recordStatements(client, async () => results.push(await new MigrationManager(client, registry).up()));
  assert.equal(results[1]!.steps.length, SIZE / 2);
  assert.ok(more.some((sql) => /pg_try_advisory_lock/.test(sql)));
});

test("a start whose history read fails or finds an interrupted or drifted history falls back to the careful path and its typed refusal", async (t) => {
  const client = await connectFresh(t);
  await new MigrationManager(client, registry).up();
  await client.query(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2`);
  await assert.rejects(new MigrationManager(client, registry).up(), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 2 }));
  await client.query(`DROP TABLE schema_migrations`);
  // No history table but the migrations' tables: the careful path refuses an unmanaged database.
  await assert.rejects(new MigrationManager(client, registry).up(), { code: "UNMANAGED_DATABASE" });
});

/** Every column stepwise writes, as a hand-made table declares them; `version` as each shape says. */
const OTHER_COLUMNS = "name text NOT NULL, checksum text NOT NULL, applied_at text NOT NULL, duration_ms bigint, state text NOT NULL";

/**
 * History tables the careful path refuses with HISTORY_TABLE_INVALID, each made by its statements,
 * with the rows in `rowsInto` (the table itself, or the table a view reads).
 */
const REFUSED_SHAPES: readonly { readonly shape: string; readonly statements: readonly string[]; readonly rowsInto?: string }[] = [
  { shape: "three of the six columns", statements: ["CREATE TABLE schema_migrations (version numeric, checksum text, state text)"] },
  { shape: "every column, no key", statements: [`CREATE TABLE schema_migrations (version bigint, ${OTHER_COLUMNS})`] },
  { shape: "numeric key", statements: [`CREATE TABLE schema_migrations (version numeric PRIMARY KEY, ${OTHER_COLUMNS})`] },
  { shape: "smallint key", statements: [`CREATE TABLE schema_migrations (version smallint PRIMARY KEY, ${OTHER_COLUMNS})`] },
  { shape: "double precision key", statements: [`CREATE TABLE schema_migrations (version double precision PRIMARY KEY, ${OTHER_COLUMNS})`] },
  { shape: "oid key", statements: [`CREATE TABLE schema_migrations (version oid PRIMARY KEY, ${OTHER_COLUMNS})`] },
  {
    shape: "a domain over bigint as the key",
    statements: ["CREATE DOMAIN version_number AS bigint", `CREATE TABLE schema_migrations (version version_number PRIMARY KEY, ${OTHER_COLUMNS})`],
  },
  { shape: "version and name together the key", statements: [`CREATE TABLE schema_migrations (version bigint, ${OTHER_COLUMNS}, PRIMARY KEY (version, name))`] },
  {
    shape: "another column the key, version unique",
    statements: [`CREATE TABLE schema_migrations (version bigint NOT NULL UNIQUE, ${OTHER_COLUMNS.replace("name text NOT NULL", "name text PRIMARY KEY")})`],
  },
  {
    shape: "no key, a unique index on version as the replica identity",
    statements: [
      `CREATE TABLE schema_migrations (version bigint NOT NULL, ${OTHER_COLUMNS})`,
      "CREATE UNIQUE INDEX schema_migrations_version ON schema_migrations (version)",
      "ALTER TABLE schema_migrations REPLICA IDENTITY USING INDEX schema_migrations_version",
    ],
  },
  {
    shape: "duration_ms missing",
    statements: ["CREATE TABLE schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at text NOT NULL, state text NOT NULL)"],
  },
  {
    shape: "name dropped",
    statements: [`CREATE TABLE schema_migrations (version bigint PRIMARY KEY, ${OTHER_COLUMNS})`, "ALTER TABLE schema_migrations DROP COLUMN name"],
  },
  {
    shape: "a view of a good table",
    statements: [`CREATE TABLE history_rows (version bigint PRIMARY KEY, ${OTHER_COLUMNS})`, "CREATE VIEW schema_migrations AS SELECT * FROM history_rows"],
    rowsInto: "history_rows",
  },
  {
    shape: "a materialized view of a good table",
    statements: [`CREATE TABLE history_rows (version bigint PRIMARY KEY, ${OTHER_COLUMNS})`],
    rowsInto: "history_rows",
  },
];

/** Drops whatever relation is called `schema_migrations`, and what the shapes made for it. */
async function dropHistoryTable(client: pg.Client): Promise<void> {
  const kind = (await client.query<{ relkind: string }>("SELECT relkind FROM pg_catalog.pg_class WHERE oid = to_regclass('schema_migrations')")).rows[0]?.relkind;
  if (kind !== undefined) await client.query(`DROP ${kind === "v" ? "VIEW" : kind === "m" ? "MATERIALIZED VIEW" : "TABLE"} schema_migrations`);
  await client.query("DROP TABLE IF EXISTS history_rows; DROP DOMAIN IF EXISTS version_number");
}

/** Inserts migration 1 of `one` as applied into `table`, through whichever of stepwise's columns it has. */
async function insertAppliedRow(client: pg.Client, table: string, checksum: string): Promise<void> {
  const columns = (await client.query<{ name: string }>("SELECT attname AS name FROM pg_catalog.pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped", [table])).rows.map(
    (row) => row.name,
  );
  const values = { version: 1, name: "create_t1", checksum, applied_at: "2026-01-01T00:00:00Z", duration_ms: 1, state: "applied" } as Record<string, unknown>;
  const present = columns.filter((name) => name in values);
  await client.query(
    `INSERT INTO ${table} (${present.join(", ")}) VALUES (${present.map((_, index) => `$${index + 1}`).join(", ")})`,
    present.map((name) => values[name]),
  );
}

test("a no-op start refuses every history table the careful path refuses (a column missing or dropped, version keyed otherwise or of another type, a view) is refused as the careful path refuses it, never taken as nothing pending", async (t) => {
  const client = await connectFresh(t);
  const one = registry.slice(0, 1);
  for (const { shape, statements, rowsInto } of REFUSED_SHAPES) {
    await dropHistoryTable(client);
    for (const statement of statements) await client.query(statement);
    await insertAppliedRow(client, rowsInto ?? "schema_migrations", one[0]!.checksum);
    if (shape.startsWith("a materialized view")) await client.query("CREATE MATERIALIZED VIEW schema_migrations AS SELECT * FROM history_rows");
    for (const start of [() => new MigrationManager(client, one).up(), () => new MigrationManager(client, one).up({ to: 1 }), () => new MigrationManager(client, one).up({ transaction: "all" })]) {
      await assert.rejects(start, (error: { code?: string }) => error.code === "HISTORY_TABLE_INVALID", shape);
    }
    // status reports the same refusal as plain data.
    assert.equal((await new MigrationManager(client, one).status()).problem?.code, "HISTORY_TABLE_INVALID", shape);
  }
});

test("history tables the careful path accepts (integer or bigint key, a key with INCLUDE columns, a deferrable key, rows stored out of version order) start with nothing pending", async (t) => {
  const client = await connectFresh(t);
  const two = registry.slice(0, 2);
  const accepted = [
    { shape: "integer key", create: `CREATE TABLE schema_migrations (version integer PRIMARY KEY, ${OTHER_COLUMNS})` },
    { shape: "bigint key with an INCLUDE column", create: `CREATE TABLE schema_migrations (version bigint, ${OTHER_COLUMNS}, PRIMARY KEY (version) INCLUDE (name))` },
    { shape: "deferrable bigint key", create: `CREATE TABLE schema_migrations (version bigint PRIMARY KEY DEFERRABLE, ${OTHER_COLUMNS})` },
  ];
  for (const { shape, create } of accepted) {
    await client.query("DROP TABLE IF EXISTS schema_migrations");
    await client.query(create);
    // Version 2 first: the rows come back in the table's order, not the versions'.
    await insertApplied(client, "schema_migrations", [two[1]!, two[0]!]);
    const results: unknown[] = [];
    await recordStatements(client, async () => results.push(await new MigrationManager(client, two).up()));
    assert.deepEqual(results, [{ direction: "up", fromVersion: 2, toVersion: 2, steps: [] }], shape);
  }
});

test("a no-op start answers rows of every kind as the careful path does: a NULL checksum offset by one holding the separator, a checksum with the separator, an interrupted migration, a NULL state, a version past the registry", async (t) => {
  const client = await connectFresh(t);
  const two = registry.slice(0, 2);
  const [first, second] = [two[0]!.checksum, two[1]!.checksum];
  // No NOT NULL and no CHECK: a hand-made table the careful path accepts, holding what stepwise never writes.
  const create = "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, name text, checksum text, applied_at text, duration_ms bigint, state text)";
  const cases: { readonly rows: string; readonly registry?: typeof two }[] = [
    // Joined, these read as the two right checksums in a row: the counts must catch the NULL.
    { rows: `(1, NULL, 'applied'), (2, '${first},${second}', 'applied')` },
    { rows: `(1, '${first}', 'applied'), (2, '${second},x', 'applied')` },
    { rows: `(1, '${first}', 'applied'), (2, '${second}', 'started')` },
    { rows: `(1, '${first}', 'applied'), (2, '${second}', NULL)` },
    { rows: `(1, '${first}', NULL), (2, '${second}', 'applied,applied')` },
    { rows: `(1, '', 'applied'), (2, '${second}', 'applied')` },
    { rows: `(1, '${first}', 'applied'), (2, '${second}', 'applied'), (3, 'checksum-3', 'applied')` },
  ];
  // What a start answers, as the code of its refusal; the careful path alone is the executor's `up` under the lock.
  const outcome = (start: Promise<unknown>) =>
    start.then(
      (result) => JSON.stringify(result),
      (error: { code?: string }) => error.code ?? String(error),
    );
  for (const { rows } of cases) {
    const outcomes: string[] = [];
    for (const careful of [false, true]) {
      await client.query("DROP TABLE IF EXISTS schema_migrations");
      await client.query(create);
      await client.query(`INSERT INTO schema_migrations (version, checksum, state) SELECT version, checksum, state FROM (VALUES ${rows}) AS r (version, checksum, state)`);
      const manager = new MigrationManager(client, two);
      await recordStatements(client, async () => outcomes.push(await outcome(careful ? manager.run(manager.executor.up(), { exclusive: true }) : manager.up())));
    }
    assert.equal(outcomes[0], outcomes[1], rows);
  }
});

test("a history table named after a column stepwise writes, without that column (name, applied_at, duration_ms), is refused by a no-op start as the careful path refuses it, not read as nothing pending", async (t) => {
  const client = await connectFresh(t);
  const two = registry.slice(0, 2);
  for (const column of ["name", "applied_at", "duration_ms"]) {
    // PostgreSQL reads a name that is no column as the whole row of the FROM item of that name: here, the table.
    const columns = ["version bigint PRIMARY KEY", ...OTHER_COLUMNS.split(", ")].filter((definition) => !definition.startsWith(`${column} `));
    await client.query(`CREATE TABLE "${column}" (${columns.join(", ")})`);
    const present = ["version", "name", "checksum", "applied_at", "state"].filter((name) => name !== column);
    for (const entry of two) {
      const values: Record<string, unknown> = { version: entry.version, name: entry.name, checksum: entry.checksum, applied_at: "2026-01-01T00:00:00Z", state: "applied" };
      await client.query(
        `INSERT INTO "${column}" (${present.join(", ")}) VALUES (${present.map((_, index) => `$${index + 1}`).join(", ")})`,
        present.map((name) => values[name]),
      );
    }
    const expected = { code: "HISTORY_TABLE_INVALID", table: column, missingColumns: [column] };
    const manager = new MigrationManager(client, two, { tableName: column });
    await recordStatements(client, async () => {
      await assert.rejects(manager.up(), stepwiseFailure(expected), column);
    });
    await assert.rejects(manager.run(manager.executor.up(), { exclusive: true }), stepwiseFailure(expected), column);
    await client.query(`DROP TABLE "${column}"`);
  }
});

test("a checksum or state declared char(n), or a domain over one, reads padded on the careful path, which refuses it: a no-op start refuses it the same, with the same code and fields, and never reads it trimmed as nothing pending", async (t) => {
  const client = await connectFresh(t);
  const two = registry.slice(0, 2);
  const first = two[0]!.checksum;
  const columns = (checksum: string, state: string) =>
    `version bigint PRIMARY KEY, name text NOT NULL, checksum ${checksum} NOT NULL, applied_at text NOT NULL, duration_ms bigint, state ${state} NOT NULL`;
  const paddedState = { code: "HISTORY_TABLE_INVALID", table: "schema_migrations", version: 1, problem: "unknown-state" };
  const cases = [
    { shape: "state char(10)", statements: [`CREATE TABLE schema_migrations (${columns("text", "char(10)")})`], expected: paddedState },
    { shape: "state a domain over char(10)", statements: ["CREATE DOMAIN padded_state AS char(10)", `CREATE TABLE schema_migrations (${columns("text", "padded_state")})`], expected: paddedState },
    // Longer than any checksum gen writes (64 characters): the careful path reads the padding and finds the file changed.
    {
      shape: "checksum char(80)",
      statements: [`CREATE TABLE schema_migrations (${columns("char(80)", "text")})`],
      expected: { code: "CHECKSUM_MISMATCH", version: 1, registryChecksum: first, databaseChecksum: first.padEnd(80) },
    },
  ];
  for (const { shape, statements, expected } of cases) {
    await client.query("DROP TABLE IF EXISTS schema_migrations; DROP DOMAIN IF EXISTS padded_state");
    for (const statement of statements) await client.query(statement);
    await insertApplied(client, "schema_migrations", two);
    const manager = new MigrationManager(client, two);
    await recordStatements(client, async () => {
      await assert.rejects(manager.up(), stepwiseFailure(expected), shape);
      await assert.rejects(manager.up({ to: 2 }), stepwiseFailure(expected), shape);
    });
    await assert.rejects(manager.run(manager.executor.up(), { exclusive: true }), stepwiseFailure(expected), shape);
  }
});

/**
 * Inserts `entries`, in the order given, into `table` (quoted as given), with `checksumOf` their
 * checksums and `state` as their state (`applied` unless given).
 */
async function insertApplied(client: pg.Client, table: string, entries: typeof registry, checksumOf: (checksum: string) => string = (checksum) => checksum, state: unknown = "applied"): Promise<void> {
  for (const entry of entries) {
    await client.query(`INSERT INTO ${table} (version, name, checksum, applied_at, duration_ms, state) VALUES ($1, $2, $3, '2026-01-01T00:00:00Z', 1, $4)`, [
      entry.version,
      entry.name,
      checksumOf(entry.checksum),
      state,
    ]);
  }
}

/**
 * The no-op read's shape proof, against the kinds and places of tables it now meets: each case's
 * no-op start answers as the careful path under the lock answers (the same result, or a refusal with
 * the same code).
 */
test("a no-op start answers as the careful path for tables of other kinds and places: domain, collated or varchar columns, a partitioned, unlogged or inherited table, a table of the same name earlier on the search_path or in pg_temp", async (t) => {
  const client = await connectFresh(t);
  const two = registry.slice(0, 2);
  const good = `CREATE TABLE schema_migrations (version bigint PRIMARY KEY, ${OTHER_COLUMNS})`;
  const icu = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_catalog.pg_collation WHERE collprovider = 'i'")).rows[0]!.n > 0;
  const cases: { readonly shape: string; readonly statements: readonly string[]; readonly code?: string; readonly skip?: string }[] = [
    { shape: "checksum a domain over text", statements: ["CREATE DOMAIN checksum_text AS text", good.replace("checksum text", "checksum checksum_text")] },
    {
      shape: 'checksum and state varchar, checksum COLLATE "C"',
      statements: [good.replace("checksum text", 'checksum varchar(64) COLLATE "C"').replace("state text", "state varchar(16)")],
    },
    {
      shape: "an integer domain as the key",
      statements: ["CREATE DOMAIN version_int AS integer", good.replace("version bigint", "version version_int")],
      code: "HISTORY_TABLE_INVALID",
    },
    { shape: "an unlogged table", statements: [good.replace("CREATE TABLE", "CREATE UNLOGGED TABLE")] },
    {
      shape: "a partitioned table keyed on version",
      statements: [`${good} PARTITION BY RANGE (version)`, "CREATE TABLE history_part PARTITION OF schema_migrations FOR VALUES FROM (1) TO (1000000)"],
    },
    {
      // The parent's key does not reach its children: the read sees version 1 twice, as the careful path does.
      shape: "an inherited table holding version 1 again",
      statements: [good, "CREATE TABLE history_child () INHERITS (schema_migrations)"],
      code: "HISTORY_TABLE_INVALID",
    },
    {
      shape: "a keyless table of the same name in a schema earlier on the search_path",
      statements: [
        "CREATE SCHEMA other",
        `CREATE TABLE other.schema_migrations (version bigint, ${OTHER_COLUMNS})`,
        "SET search_path = other, public",
        good.replace("schema_migrations", "public.schema_migrations"),
      ],
    },
    {
      shape: "a good table of the same name earlier on the search_path, the history table keyless",
      statements: [
        "CREATE SCHEMA other",
        good.replace("schema_migrations", "other.schema_migrations"),
        "SET search_path = other, public",
        `CREATE TABLE public.schema_migrations (version bigint, ${OTHER_COLUMNS})`,
      ],
      code: "HISTORY_TABLE_INVALID",
    },
    {
      shape: "a good temporary table shadowing a history table whose checksum changed",
      statements: [good.replace("CREATE TABLE", "CREATE TEMP TABLE"), good.replace("schema_migrations", "public.schema_migrations")],
      code: "CHECKSUM_MISMATCH",
    },
    {
      shape: "state 'APPLIED' in a column of a case-insensitive collation",
      statements: ["CREATE COLLATION case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false)", good.replace("state text", "state text COLLATE case_insensitive")],
      code: "HISTORY_TABLE_INVALID",
      ...(icu ? {} : { skip: "this server has no ICU collations" }),
    },
  ];
  const outcome = (start: Promise<unknown>) =>
    start.then(
      (result) => JSON.stringify(result),
      (error: { code?: string }) => error.code ?? String(error),
    );
  for (const { shape, statements, code, skip } of cases) {
    if (skip !== undefined) {
      t.diagnostic(`skipped "${shape}": ${skip}`);
      continue;
    }
    await client.query("RESET search_path; DISCARD TEMP");
    await client.query(
      "DROP TABLE IF EXISTS schema_migrations CASCADE; DROP SCHEMA IF EXISTS other CASCADE; DROP DOMAIN IF EXISTS checksum_text, version_int; DROP COLLATION IF EXISTS case_insensitive",
    );
    for (const statement of statements) await client.query(statement);
    const temporary = shape.includes("temporary");
    await insertApplied(client, "public.schema_migrations", two, (checksum) => (code === "CHECKSUM_MISMATCH" ? `${checksum.slice(0, -1)}0` : checksum));
    if (temporary) await insertApplied(client, "pg_temp.schema_migrations", two);
    if (shape.includes("earlier on the search_path")) await insertApplied(client, "other.schema_migrations", two);
    if (shape.startsWith("state 'APPLIED'")) await client.query("UPDATE public.schema_migrations SET state = 'APPLIED' WHERE version = 2");
    if (shape.startsWith("an inherited"))
      await client.query("INSERT INTO history_child (version, name, checksum, applied_at, state) SELECT version, name, checksum, applied_at, state FROM public.schema_migrations WHERE version = 1");
    const manager = new MigrationManager(client, two);
    const outcomes: string[] = [];
    await recordStatements(client, async () => outcomes.push(await outcome(manager.up())));
    outcomes.push(await outcome(manager.run(manager.executor.up(), { exclusive: true })));
    assert.equal(outcomes[0], outcomes[1], shape);
    assert.equal(outcomes[0], code ?? JSON.stringify({ direction: "up", fromVersion: 2, toVersion: 2, steps: [] }), shape);
  }
});

test("a state column the careful read cannot compare with 'started' (json, jsonb, xml, a domain over jsonb) holding \"applied\", which pg hands back as the text applied, is never read as nothing pending: a no-op start fails as the careful path fails, with the same code", async (t) => {
  const client = await connectFresh(t);
  const two = registry.slice(0, 2);
  const cases = [
    // No = operator: 42883. A literal 'started' that is no JSON: 22P02.
    { shape: "state json", statements: [`CREATE TABLE schema_migrations (version bigint PRIMARY KEY, ${OTHER_COLUMNS.replace("state text", "state json")})`], stored: '"applied"', code: "42883" },
    { shape: "state jsonb", statements: [`CREATE TABLE schema_migrations (version bigint PRIMARY KEY, ${OTHER_COLUMNS.replace("state text", "state jsonb")})`], stored: '"applied"', code: "22P02" },
    {
      shape: "state a domain over jsonb",
      statements: ["CREATE DOMAIN state_json AS jsonb", `CREATE TABLE schema_migrations (version bigint PRIMARY KEY, ${OTHER_COLUMNS.replace("state text", "state state_json")})`],
      stored: '"applied"',
      code: "22P02",
    },
    { shape: "state xml", statements: [`CREATE TABLE schema_migrations (version bigint PRIMARY KEY, ${OTHER_COLUMNS.replace("state text", "state xml")})`], stored: "applied", code: "42883" },
  ];
  const outcome = (start: Promise<unknown>) =>
    start.then(
      (result) => JSON.stringify(result),
      (error: { code?: string }) => error.code ?? String(error),
    );
  for (const { shape, statements, stored, code } of cases) {
    await client.query("DROP TABLE IF EXISTS schema_migrations; DROP DOMAIN IF EXISTS state_json");
    for (const statement of statements) await client.query(statement);
    await insertApplied(client, "schema_migrations", two, undefined, stored);
    const manager = new MigrationManager(client, two);
    const outcomes: string[] = [];
    await recordStatements(client, async () => outcomes.push(await outcome(manager.up())));
    outcomes.push(await outcome(manager.run(manager.executor.up(), { exclusive: true })));
    assert.deepEqual(outcomes, [code, code], shape);
  }
});

test('the schema "pg_temp", which PostgreSQL resolves to the session\'s own temporary schema, is never read as nothing pending from a temporary table: a pg_ schema is refused (USAGE) before anything is read', async (t) => {
  const client = await connectFresh(t);
  const two = registry.slice(0, 2);
  await client.query("CREATE TABLE t1 (id bigint PRIMARY KEY); CREATE TABLE t2 (id bigint PRIMARY KEY)");
  await client.query(`CREATE TEMP TABLE schema_migrations (version bigint PRIMARY KEY, ${OTHER_COLUMNS})`);
  await insertApplied(client, "pg_temp.schema_migrations", two);
  const sent = await recordStatements(client, async () => {
    assert.throws(() => new MigrationManager(client, two, { schema: "pg_temp" }), { code: "USAGE" });
  });
  assert.deepEqual(sent, []);
});

test("status, which reads without the run lock, while a reset drops the history table between finding it and reading its rows (or its started row's owner): what a read a moment later finds, no history, not the server's undefined-table error", async (t) => {
  const { client, url } = await connectFreshWithUrl(t);
  const resetter = new pg.Client({ connectionString: url });
  await resetter.connect();
  // Ended before the database is dropped, which would end its session from under it.
  resetter.on("error", () => undefined);
  t.after(() => resetter.end());
  const manager = new MigrationManager(client, registry);
  await manager.up();
  const dropEverything = `DROP TABLE schema_migrations, ${registry.map((_, index) => `t${index + 1}`).join(", ")}`;
  /** Runs `action` with the reset's drops committed just before the first statement of `client` that `before` matches. */
  const dropBefore = async <T>(before: RegExp, action: () => Promise<T>): Promise<T> => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    let dropped = false;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text?: string };
      if (dropped || !before.test(typeof first === "string" ? first : (first.text ?? ""))) return original(...args);
      dropped = true;
      return resetter.query(dropEverything).then(() => original(...args));
    };
    try {
      return await action();
    } finally {
      delete (client as unknown as { query?: unknown }).query;
      assert.ok(dropped, `no statement matched ${before}`);
    }
  };
  const status = await dropBefore(/^\s*SELECT version, checksum, state/, () => manager.status());
  assert.deepEqual([status.currentVersion, status.pendingCount, status.problem], [0, SIZE, null]);

  // An interrupted migration: status probes its started row's owner, and the table goes before that read.
  await manager.up();
  await client.query("UPDATE schema_migrations SET state = 'started' WHERE version = $1", [SIZE]);
  assert.equal((await manager.status()).problem?.code, "INCOMPLETE_MIGRATION");
  const probed = await dropBefore(/^SELECT owner FROM/, () => manager.status());
  assert.deepEqual([probed.currentVersion, probed.pendingCount, probed.problem], [0, SIZE, null]);
  await resetter.end();
});
