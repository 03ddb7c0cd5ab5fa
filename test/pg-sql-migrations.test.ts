/**
 * SQL migrations on stepwise-migrate/pg, each in its transaction with its history write: the failing
 * statement's position counts from the migration's own SQL, a failure leaves the database exactly as
 * it was, the history row's values are stored exactly whatever the registry holds, a revert still
 * refuses a missing row, and a rehearsal commits nothing. Statements are counted through the
 * client's own `query`, never timed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { MigrationManager } from "../src/entries/pg.js";
import { rehearseUp } from "../src/index.js";
import type { MigrationEvent } from "../src/core/events.js";
import type { SqlMigrationEntry } from "../src/core/types.js";
import { connectFresh, connectFreshWithUrl, recordStatements } from "./support/pg-client.js";
import { asyncTsEntry, namedSqlEntry } from "./support/registry-builders.js";
import { factsOf } from "./support/stepwise-failure.js";
import { callSiteStack } from "../src/core/call-site.js";
import { FIX_OF_CODE } from "../src/cli/error-fix.js";

const pgEntry = (version: number, up: string, down: string | null = null, overrides: Partial<SqlMigrationEntry> = {}) =>
  namedSqlEntry(version, `step_${version}`, up, down, { dialect: "postgres", ...overrides });

/** The statements `client` sends while `action` fails, and its rejection. */
async function recordFailure(client: pg.Client, action: () => Promise<unknown>): Promise<{ sent: string[]; error: Error & Record<string, unknown> }> {
  let error: unknown = null;
  const sent = await recordStatements(client, () => action().catch((caught: unknown) => void (error = caught)));
  if (error === null) throw new Error("expected a rejection");
  return { sent, error: factsOf(error) as Error & Record<string, unknown> };
}

async function tableNames(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>("SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = 'public' ORDER BY tablename");
  return rows.map((row) => row.name);
}

async function historyRows(client: pg.Client): Promise<{ version: string; name: string; checksum: string; duration_ms: string | null }[]> {
  return (await client.query<{ version: string; name: string; checksum: string; duration_ms: string | null }>("SELECT version, name, checksum, duration_ms FROM schema_migrations ORDER BY version"))
    .rows;
}

async function rejection(action: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await action();
  } catch (error) {
    return factsOf(error) as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}

const THREE = [1, 2, 3].map((version) => pgEntry(version, `CREATE TABLE t${version} (id bigint PRIMARY KEY);\nCREATE INDEX t${version}_id ON t${version} (id);`, `DROP TABLE t${version};`));

test("a failing statement's position counts from the migration's SQL, as it does when the SQL is sent alone, and the failure leaves the database as it was", async (t) => {
  const client = await connectFresh(t);
  const failingSql = "CREATE TABLE kept_out (id bigint);\n-- the third line fails:\nINSERT INTO no_such_table VALUES (1);\nCREATE TABLE never (id bigint);";
  const registry = [THREE[0]!, pgEntry(2, failingSql)];
  const error = await rejection(() => new MigrationManager(client, registry).up());
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.version, 2);
  assert.equal(error.file, "migrations/002_step_2.sql");
  assert.equal(error.rolledBack, true);
  const cause = error.cause as { code?: string; position?: string };
  assert.equal(cause.code, "42P01");
  // The same SQL sent alone, in a transaction rolled back after, reports the position the user would look up.
  await client.query("BEGIN");
  const alone = await client.query(failingSql).then(
    () => null,
    (failure: { position?: string }) => failure.position,
  );
  await client.query("ROLLBACK");
  assert.equal(cause.position, alone);
  const offset = Number(cause.position) - 1;
  assert.equal(failingSql.slice(offset, offset + "no_such_table".length), "no_such_table");
  assert.equal(failingSql.slice(0, offset).split("\n").length, 3, "line 3 of the migration's SQL");
  assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"]);
  assert.deepEqual(
    (await historyRows(client)).map((row) => Number(row.version)),
    [1],
  );
  // And on a later line of a migration with non-ASCII text before it (the server counts characters).
  const wide = 'CREATE TABLE "naïve 🙂" (id bigint);\nSELECT 1 FROM gone_too;';
  const second = await rejection(() => new MigrationManager(client, [THREE[0]!, pgEntry(2, wide)]).up());
  const position = Number((second.cause as { position?: string }).position);
  assert.equal(
    Array.from(wide)
      .slice(position - 1, position - 1 + "gone_too".length)
      .join(""),
    "gone_too",
  );
});

test("a syntax error anywhere in the migration runs none of it, and the next up applies the fixed registry", async (t) => {
  const client = await connectFresh(t);
  const broken = pgEntry(2, "CREATE TABLE half (id bigint);\nCREAT TABLE typo (id bigint);");
  const error = await rejection(() => new MigrationManager(client, [THREE[0]!, broken]).up());
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal((error.cause as { code?: string }).code, "42601");
  assert.equal((error.cause as { position?: string }).position, String("CREATE TABLE half (id bigint);\n".length + 1));
  assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"]);
  const fixed = await new MigrationManager(client, [THREE[0]!, pgEntry(2, "CREATE TABLE half (id bigint);")]).up();
  assert.deepEqual(
    fixed.steps.map((step) => step.version),
    [2],
  );
});

test("SQL that ends inside a comment or a string fails and leaves nothing; one ending in a line comment applies", async (t) => {
  const client = await connectFresh(t);
  for (const tail of ["/* never closed", "SELECT 'never closed", 'SELECT "never closed', "SELECT $body$ never closed"]) {
    const entry = pgEntry(2, `CREATE TABLE opened (id bigint);\n${tail}`);
    const { sent, error } = await recordFailure(client, () => new MigrationManager(client, [THREE[0]!, entry]).up());
    assert.ok(sent.includes(entry.upSql), `the SQL went alone:\n${sent.join("\n---\n")}`);
    assert.equal(error.code, "MIGRATION_FAILED", tail);
    assert.equal((error.cause as { code?: string }).code, "42601", tail);
    assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"], tail);
    assert.deepEqual(
      (await historyRows(client)).map((row) => Number(row.version)),
      [1],
      tail,
    );
  }
  const commented = await new MigrationManager(client, [THREE[0]!, pgEntry(2, "CREATE TABLE commented (id bigint); -- no line break after this")]).up();
  assert.deepEqual(
    commented.steps.map((step) => step.version),
    [2],
  );
  assert.deepEqual(
    (await historyRows(client)).map((row) => Number(row.version)),
    [1, 2],
  );
});

test("SQL holding a backslash goes alone: with standard_conforming_strings off a plain string it leaves open cannot take in the history INSERT and run a hostile name as SQL", async (t) => {
  const client = await connectFresh(t);
  await client.query("SET standard_conforming_strings = off");
  const victim = pgEntry(1, "CREATE TABLE victim (id bigint);");
  // Off, 'a\' is unclosed: joined to the message it would swallow the INSERT up to the name's literal.
  const entry = pgEntry(2, "CREATE TABLE t2 (v text);\nINSERT INTO t2 VALUES ('a\\');", null, { name: "); DROP TABLE victim; --" });
  const { sent, error } = await recordFailure(client, () => new MigrationManager(client, [victim, entry]).up());
  assert.ok(sent.includes(entry.upSql), `the SQL went alone:\n${sent.join("\n---\n")}`);
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.rolledBack, true);
  assert.deepEqual(await tableNames(client), ["schema_migrations", "victim"]);
  assert.deepEqual(
    (await historyRows(client)).map((row) => Number(row.version)),
    [1],
  );
  // On, the same text is a closed string holding a backslash: it applies.
  await client.query("SET standard_conforming_strings = on");
  const applied = await recordStatements(client, () => new MigrationManager(client, [victim, entry]).up());
  assert.ok(applied.includes(entry.upSql));
  assert.deepEqual((await client.query("SELECT v FROM t2")).rows, [{ v: "a\\" }]);
  assert.deepEqual(
    (await historyRows(client)).map((row) => [Number(row.version), row.name]),
    [
      [1, "step_1"],
      [2, "); DROP TABLE victim; --"],
    ],
  );
});

test("a history value the database cannot store (a name holding NUL) is refused by the server and leaves nothing", async (t) => {
  const client = await connectFresh(t);
  const entry = pgEntry(2, "CREATE TABLE nul_named (id bigint);", null, { name: "nul\u0000name" });
  const { sent, error } = await recordFailure(client, () => new MigrationManager(client, [THREE[0]!, entry]).up());
  assert.ok(sent.includes(entry.upSql), `the SQL went alone:\n${sent.join("\n---\n")}`);
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.rolledBack, true);
  assert.equal((error.cause as { code?: string }).code, "22021");
  assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"]);
  assert.deepEqual(
    (await historyRows(client)).map((row) => Number(row.version)),
    [1],
  );
});

const HOSTILE = [
  "x'); DROP TABLE canary; --",
  "back\\slash\\'); DROP TABLE canary; --",
  "dollar $$; DROP TABLE canary; $$",
  "E'\\'' ; DROP TABLE canary; /*",
  "line\nbreak; COMMIT; DROP TABLE canary",
  "naïve 🙂 ''''",
  "?; $1 ? '?'",
];

for (const standardConformingStrings of ["on", "off"]) {
  test(`hostile names and checksums are stored exactly and run nothing (standard_conforming_strings = ${standardConformingStrings})`, async (t) => {
    const client = await connectFresh(t);
    await client.query(`SET standard_conforming_strings = ${standardConformingStrings}`);
    const registry = [
      pgEntry(1, "CREATE TABLE canary (id bigint);"),
      ...HOSTILE.map((text, index) => pgEntry(index + 2, `CREATE TABLE h${index + 2} (id bigint);`, `DROP TABLE h${index + 2};`, { name: text, checksum: `${text}#${index}` })),
    ];
    await new MigrationManager(client, registry).up();
    assert.ok((await tableNames(client)).includes("canary"));
    assert.deepEqual(
      (await historyRows(client)).slice(1).map((row) => [row.name, row.checksum]),
      HOSTILE.map((text, index) => [text, `${text}#${index}`]),
    );
    // A second start compares the stored checksums with the registry's: nothing pending, no drift.
    assert.deepEqual((await new MigrationManager(client, registry).up()).steps, []);
    await new MigrationManager(client, registry).down({ to: 1 });
    assert.deepEqual(await tableNames(client), ["canary", "schema_migrations"]);
    assert.deepEqual(
      (await historyRows(client)).map((row) => Number(row.version)),
      [1],
    );
  });
}

test("a migration's statement the server refuses (a privilege, a read-only transaction, a lock, a deadlock, a resource) is that migration's MIGRATION_FAILED, not the database's", async (t) => {
  const client = await connectFresh(t);
  const raising = (code: string) => `DO $$ BEGIN RAISE EXCEPTION 'refused by the server' USING ERRCODE = '${code}'; END $$;`;
  const cases: Array<[string, string]> = [
    ["42501", raising("42501")],
    ["25006", "SET TRANSACTION READ ONLY;\nINSERT INTO t1 VALUES (1);"],
    ["55P03", raising("55P03")],
    ["40P01", raising("40P01")],
    ["53300", raising("53300")],
  ];
  await new MigrationManager(client, [THREE[0]!]).up();
  for (const [code, sql] of cases) {
    const entry = pgEntry(2, `CREATE TABLE t2 (id bigint);\n${sql}`);
    const error = await rejection(() => new MigrationManager(client, [THREE[0]!, entry]).up());
    assert.deepEqual([error.code, error.version, error.file, error.rolledBack, error.nativeCode], ["MIGRATION_FAILED", 2, entry.file, true, code], code);
    assert.match(String(error.message), /refused by the server|read-only transaction/, code);
    assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"], code);
  }
  // A full disk is the environment's, but named at the migration, as on SQLite.
  const full = await rejection(() => new MigrationManager(client, [THREE[0]!, pgEntry(2, raising("53100"))]).up());
  assert.deepEqual([full.code, full.version, full.file, full.nativeCode], ["DISK_FULL", 2, "migrations/002_step_2.sql", "53100"]);
  // A server has no PRAGMA max_page_count to raise: its disk is the one to free.
  assert.doesNotMatch(String(full.message), /PRAGMA/);
  assert.match(String(full.message), /Free disk space on the server/);
});

for (const transaction of ["each", "all"] as const) {
  test(`a migration's session SET outlives its transaction, so it is put back after it: the next migration, and the app's connection after the run, see the session as the app set it (transaction: "${transaction}")`, async (t) => {
    const client = await connectFresh(t);
    // Roles are the server's, not the database's: one of its own for each run of the test.
    const low = `stepwise_low_${transaction}`;
    await client.query(`CREATE SCHEMA app; CREATE SCHEMA other; CREATE ROLE ${low} NOLOGIN`);
    t.after(() => client.query(`DROP OWNED BY ${low}; DROP ROLE ${low}`).catch(() => undefined));
    // The app's own session: its search_path and work_mem.
    await client.query("SET search_path TO app, public; SET work_mem = '5MB'; SELECT pg_catalog.set_config('app.tenant', 'acme', false)");
    const session = async () =>
      (
        await client.query(
          "SELECT current_setting('search_path') AS path, current_setting('work_mem') AS memory, current_setting('statement_timeout') AS timeout, current_setting('lock_timeout') AS locks, current_setting('role') AS role, current_setting('default_transaction_isolation') AS isolation, current_setting('app.tenant') AS tenant, COALESCE(current_setting('app.batch', true), '') AS batch",
        )
      ).rows[0];
    const before = await session();
    const registry = [
      // What pg_dump writes at the top of a file, a role change and a reset of the app's own settings.
      pgEntry(
        1,
        "SET statement_timeout = '5min';\nSET lock_timeout = '7s';\nSET default_transaction_read_only = on;\nSET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nSELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.a (id integer);\nRESET work_mem;",
      ),
      // A data migration scoping itself to a tenant and a batch, as row-level security policies read them.
      pgEntry(2, "SELECT pg_catalog.set_config('app.tenant', 'globex', false);\nSET app.batch = '7';\nCREATE TABLE b (id integer);"),
      // One transaction for the run holds no transaction: false migration, and a SET ROLE in it would leave the history write without the privilege.
      transaction === "each" ? pgEntry(3, `SET search_path = pg_temp;\nSET ROLE ${low};`, null, { transaction: false }) : pgEntry(3, "SET search_path = pg_temp;"),
      pgEntry(4, "CREATE TABLE c (id integer);"),
      // A SET inside a DO block lasts for the session as well.
      pgEntry(5, "DO $$ BEGIN SET search_path = other; END $$;\nCREATE TABLE public.d (id integer);"),
      pgEntry(6, "CREATE TABLE e (id integer);"),
    ];
    assert.deepEqual(
      (await new MigrationManager(client, registry).up({ transaction })).steps.map((step) => step.version),
      registry.map((entry) => entry.version),
    );
    const { rows } = await client.query<{ table: string }>("SELECT schemaname || '.' || tablename AS table FROM pg_catalog.pg_tables WHERE tablename IN ('a', 'b', 'c', 'd', 'e') ORDER BY 1");
    assert.deepEqual(
      rows.map((row) => row.table),
      ["app.b", "app.c", "app.e", "public.a", "public.d"],
    );
    assert.deepEqual(await session(), before);
  });
}

for (const transaction of ["each", "all"] as const) {
  test(`a setting changed by code a SQL migration reaches without naming it (a function it calls, a trigger it fires) is put back at the run's end (transaction: "${transaction}")`, async (t) => {
    const client = await connectFresh(t);
    await client.query("CREATE SCHEMA app; CREATE SCHEMA other; SET search_path TO app, public; SET work_mem = '5MB'");
    const session = async () => (await client.query("SELECT current_setting('search_path') AS path, current_setting('work_mem') AS memory, current_setting('statement_timeout') AS timeout")).rows[0];
    const before = await session();
    // The helpers hold the only SET, in code an earlier migration made: the SQL that runs it names none.
    const helpers = pgEntry(
      1,
      "CREATE FUNCTION public.scope() RETURNS void LANGUAGE plpgsql AS $$ BEGIN SET search_path = other; END $$;\n" +
        "CREATE FUNCTION public.tune() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_catalog.set_config('statement_timeout', '1h', false); RESET work_mem; RETURN NEW; END $$;\n" +
        "CREATE TABLE public.audit (id integer);\nCREATE TRIGGER audit_tune BEFORE INSERT ON public.audit FOR EACH ROW EXECUTE FUNCTION public.tune();",
    );
    const registry = [helpers, pgEntry(2, "SELECT public.scope();"), pgEntry(3, "INSERT INTO public.audit VALUES (1);")];
    // The helpers in a run of their own, as a deploy before this one made them.
    await new MigrationManager(client, [helpers]).up();
    assert.deepEqual(
      (await new MigrationManager(client, registry).up({ transaction })).steps.map((step) => step.version),
      [2, 3],
    );
    assert.deepEqual(await session(), before);
  });
}

for (const transaction of ["each", "all"] as const) {
  test(`a setting changed in a way no pattern reads (an UPDATE of pg_settings, an escaped function name, a custom setting named in quotes or a dollar-quoted string) is put back before the next migration (transaction: "${transaction}")`, async (t) => {
    const client = await connectFresh(t);
    // A custom setting of its own for each way of naming it: the run's snapshot reads every name any of its migrations holds.
    const ways: ReadonlyArray<(name: string) => string> = [
      (name) => `SET "${name.replace(".", '"."')}" = 'changed';`,
      (name) => `SELECT pg_catalog.set_config(E'${name}', 'changed', false);`,
      (name) => `SELECT pg_catalog.set_config($$${name}$$, 'changed', false);`,
      (name) => `DO $$ BEGIN PERFORM pg_catalog.set_config('${name}', 'changed', false); END $$;`,
      (name) => `DO 'BEGIN PERFORM pg_catalog.set_config(''${name}'', ''changed'', false); END';`,
      (name) => `-- don't let the apostrophe hide the name\nSELECT pg_catalog.set_config('${name}', 'changed', false);`,
    ];
    const names = ways.map((_, index) => `app.way${index}`);
    await client.query(`CREATE SCHEMA app; SET search_path TO app; SET work_mem = '5MB'; ${names.map((name) => `SELECT pg_catalog.set_config('${name}', 'acme', false);`).join(" ")}`);
    const changes = [
      "UPDATE pg_catalog.pg_settings SET setting = 'public' WHERE name = 'search_path';",
      `SELECT U&"set\\005fconfig"('work_mem', '6666kB', false);`,
      ...ways.map((way, index) => way(names[index]!)),
    ];
    // The probe builds each name, so that only the migration that changes a setting names it.
    const custom = names.map((name) => `current_setting('app.' || '${name.slice(4)}', true) AS "${name}"`).join(", ");
    const seen = (version: number) => pgEntry(version, `CREATE TABLE seen_${version} AS SELECT current_setting('search_path') AS path, current_setting('work_mem') AS memory, ${custom};`);
    const registry = changes.flatMap((change, index) => [pgEntry(2 * index + 1, change), seen(2 * index + 2)]);
    await new MigrationManager(client, registry).up({ transaction });
    const expected = { path: "app", memory: "5MB", ...Object.fromEntries(names.map((name) => [name, "acme"])) };
    for (let index = 0; index < changes.length; index++) {
      const { rows } = await client.query(`SELECT * FROM app.seen_${2 * index + 2}`);
      assert.deepEqual(rows, [expected], changes[index]);
    }
    const after = await client.query(`SELECT current_setting('search_path') AS path, current_setting('work_mem') AS memory, ${custom}`);
    assert.deepEqual(after.rows, [expected]);
  });
}

test("a custom setting changed through a function an earlier run's migration made, which names it, is put back: the names come from every migration of the registry", async (t) => {
  const client = await connectFresh(t);
  await client.query("SELECT pg_catalog.set_config('app.tenant', 'acme', false)");
  const registry = [
    pgEntry(1, "CREATE FUNCTION public.scope_to(tenant text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_catalog.set_config('app.tenant', tenant, false); END $$;"),
    pgEntry(2, "SELECT public.scope_to('evil');"),
    pgEntry(3, "CREATE TABLE seen AS SELECT current_setting('app.' || 'tenant', true) AS tenant;"),
  ];
  await new MigrationManager(client, registry).up({ to: 1 });
  await new MigrationManager(client, registry).up();
  assert.deepEqual((await client.query("SELECT tenant FROM seen")).rows, [{ tenant: "acme" }]);
  assert.equal((await client.query("SELECT current_setting('app.tenant') AS tenant")).rows[0].tenant, "acme");
});

test('in one transaction for the run, a migration that may change a setting leaves the run\'s lock_timeout on the migrations after it (transaction: "all")', async (t) => {
  const client = await connectFresh(t);
  const registry = [pgEntry(1, "SET work_mem = '8MB';"), pgEntry(2, "CREATE TABLE probe AS SELECT current_setting('lock_timeout') AS bound;")];
  await new MigrationManager(client, registry, { lockTimeoutMs: 1500 }).up({ transaction: "all" });
  assert.deepEqual((await client.query("SELECT bound FROM probe")).rows, [{ bound: "1500ms" }]);
  assert.equal((await client.query("SELECT current_setting('lock_timeout') AS bound")).rows[0].bound, "0");
});

test("a migration whose SET ROLE leaves stepwise's history write without the privilege is that migration's MIGRATION_FAILED, rolled back, not a database that cannot be written", async (t) => {
  const client = await connectFresh(t);
  const role = `stepwise_owner_${Math.random().toString(36).slice(2, 8)}`;
  await client.query(`CREATE ROLE ${role} NOLOGIN; GRANT CREATE, USAGE ON SCHEMA public TO ${role}`);
  t.after(() => client.query(`RESET ROLE; DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined));
  await new MigrationManager(client, [THREE[0]!]).up();
  const owned = pgEntry(2, `SET ROLE ${role};\nCREATE TABLE owned (id integer);`);
  const error = await rejection(() => new MigrationManager(client, [THREE[0]!, owned]).up());
  assert.deepEqual([error.code, error.version, error.rolledBack, error.nativeCode], ["MIGRATION_FAILED", 2, true, "42501"]);
  await client.query("RESET ROLE");
  assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"]);
});

test("a migration that makes its own transaction read-only (SET LOCAL transaction_read_only, SET TRANSACTION READ ONLY) is that migration's MIGRATION_FAILED, rolled back, not a read-only server", async (t) => {
  const client = await connectFresh(t);
  await new MigrationManager(client, [THREE[0]!]).up();
  const readOnly = [pgEntry(2, "CREATE TABLE ro (id integer);\nSET LOCAL transaction_read_only = on;"), pgEntry(2, "CREATE TABLE ro (id integer);\nSET TRANSACTION READ ONLY;")];
  // Through a function an earlier migration made: the SQL calling it says nothing of it, the session read afterwards does.
  await client.query("CREATE FUNCTION ro() RETURNS void LANGUAGE plpgsql AS $$ BEGIN SET LOCAL transaction_read_only = on; END $$");
  readOnly.push(pgEntry(2, "CREATE TABLE ro (id integer);\nSELECT ro();"));
  for (const entry of readOnly) {
    const error = await rejection(() => new MigrationManager(client, [THREE[0]!, entry]).up());
    assert.deepEqual([error.code, error.version, error.rolledBack, error.nativeCode], ["MIGRATION_FAILED", 2, true, "25006"]);
    assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"]);
  }
  // A session read-only before the migration (a standby, the role's default) is the environment's, though the migration, code, could have changed it.
  await client.query("SET default_transaction_read_only = on");
  const code = asyncTsEntry<pg.Client>(2, { up: async (db) => void (await db.query("SELECT 1")) }, { dialect: "postgres", transaction: false } as never);
  const refused = await rejection(() => new MigrationManager(client, [THREE[0]!, code]).up());
  await client.query("SET default_transaction_read_only = off");
  assert.deepEqual([refused.code, refused.nativeCode], ["DATABASE_UNUSABLE", "25006"]);
});

test("a setting the server will not put back (temp_buffers once temporary tables were used) is left as the migration set it, and the run goes on", async (t) => {
  const client = await connectFresh(t);
  const registry = [
    pgEntry(1, "SET temp_buffers = '64MB';\nCREATE TEMP TABLE scratch AS SELECT g FROM generate_series(1, 1000) AS g;\nCREATE TABLE a (id integer);"),
    pgEntry(2, "CREATE TABLE b (id integer);"),
  ];
  assert.deepEqual(
    (await new MigrationManager(client, registry).up()).steps.map((step) => step.version),
    [1, 2],
  );
  assert.equal((await client.query("SELECT current_setting('temp_buffers') AS value")).rows[0].value, "64MB");
});

test("the history row records the SQL's duration, and history() reports it", async (t) => {
  const client = await connectFresh(t);
  const manager = new MigrationManager(client, [pgEntry(1, "SELECT pg_sleep(0.15);\nCREATE TABLE slept (id bigint);")]);
  const result = await manager.up();
  const [row] = await manager.history();
  assert.equal(typeof row?.durationMs, "number");
  assert.ok(row!.durationMs! >= 150 && row!.durationMs! < 10_000, `duration ${row!.durationMs}`);
  assert.ok(result.steps[0]!.durationMs >= 150);
});

test("the events of SQL migrations, applied, reverted and failing", async (t) => {
  const client = await connectFresh(t);
  const events: MigrationEvent[] = [];
  const onEvent = (event: MigrationEvent) => events.push(event);
  await new MigrationManager(client, THREE, { onEvent }).up();
  await new MigrationManager(client, THREE, { onEvent }).down({ steps: 1 });
  const failing = [...THREE, pgEntry(4, "SELECT 1 FROM missing;")];
  await rejection(() => new MigrationManager(client, failing, { onEvent }).up());
  assert.deepEqual(
    events.map((event) => [event.type, "direction" in event ? event.direction : null, "version" in event ? event.version : null]),
    [
      ["migrating", "up", 1],
      ["migrated", "up", 1],
      ["migrating", "up", 2],
      ["migrated", "up", 2],
      ["migrating", "up", 3],
      ["migrated", "up", 3],
      ["migrating", "down", 3],
      ["migrated", "down", 3],
      ["migrating", "up", 3],
      ["migrated", "up", 3],
      ["migrating", "up", 4],
    ],
  );
});

test("a revert whose SQL renames, drops or adds a history column is refused with HISTORY_CHANGED_BY_MIGRATION and rolled back", async (t) => {
  for (const change of [
    "ALTER TABLE schema_migrations RENAME COLUMN checksum TO digest;",
    "ALTER TABLE schema_migrations RENAME COLUMN owner TO who;",
    "ALTER TABLE schema_migrations DROP COLUMN owner;",
    "ALTER TABLE schema_migrations ADD COLUMN extra integer;",
  ]) {
    const client = await connectFresh(t);
    const registry = [THREE[0]!, pgEntry(2, "CREATE TABLE t2 (id bigint);", `DROP TABLE t2;\n${change}`)];
    const manager = new MigrationManager(client, registry);
    await manager.up();
    const error = await rejection(() => manager.down({ steps: 1 }));
    assert.deepEqual([error.code, error.version, error.rolledBack], ["HISTORY_CHANGED_BY_MIGRATION", 2, true], change);
    assert.deepEqual(await tableNames(client), ["schema_migrations", "t1", "t2"], change);
    assert.deepEqual(
      (await historyRows(client)).map((row) => Number(row.version)),
      [1, 2],
      change,
    );
  }
});

test("the history guard's reading lives outside the session: RESET ALL or a setting of any name in a migration neither trips it nor forges it; a dropped schema is named a drop", async (t) => {
  const client = await connectFresh(t);
  const resetting = pgEntry(2, "CREATE TABLE t2 (id bigint);\nRESET ALL;\nSELECT pg_catalog.set_config('stepwise.history_reading', 'forged', true);");
  assert.deepEqual(
    (await new MigrationManager(client, [THREE[0]!, resetting]).up()).steps.map((step) => step.version),
    [1, 2],
  );
  // A write the session's own setting could have hidden before: the reading it is checked against is not the session's.
  const forging = pgEntry(3, "SELECT pg_catalog.set_config('stepwise.history_reading', 'x', true);\nDELETE FROM schema_migrations WHERE version = 1;");
  const forged = await rejection(() => new MigrationManager(client, [THREE[0]!, resetting, forging]).up());
  assert.deepEqual([forged.code, forged.version, forged.rolledBack], ["HISTORY_CHANGED_BY_MIGRATION", 3, true]);
  const dropping = pgEntry(3, "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;");
  const dropped = await rejection(() => new MigrationManager(client, [THREE[0]!, resetting, dropping]).up());
  assert.deepEqual([dropped.code, dropped.change, dropped.rolledBack], ["HISTORY_CHANGED_BY_MIGRATION", "the table dropped or renamed", true]);
  assert.deepEqual(
    (await historyRows(client)).map((row) => Number(row.version)),
    [1, 2],
  );
});

test("a revert whose SQL deletes its own history row is refused with HISTORY_CHANGED_BY_MIGRATION and rolled back", async (t) => {
  const client = await connectFresh(t);
  const registry = [THREE[0]!, pgEntry(2, "CREATE TABLE t2 (id bigint);", "DROP TABLE t2;\nDELETE FROM schema_migrations WHERE version = 2;")];
  const manager = new MigrationManager(client, registry);
  await manager.up();
  const error = await rejection(() => manager.down({ steps: 1 }));
  // The history guard meets it before stepwise's own DELETE would find no row (HISTORY_ROW_MISSING before the guard).
  assert.equal(error.code, "HISTORY_CHANGED_BY_MIGRATION");
  assert.equal(error.rolledBack, true);
  assert.deepEqual(await tableNames(client), ["schema_migrations", "t1", "t2"]);
  assert.deepEqual(
    (await historyRows(client)).map((row) => Number(row.version)),
    [1, 2],
  );
  // A revert that merely fails keeps its own cause.
  const failing = [THREE[0]!, pgEntry(2, "CREATE TABLE t2 (id bigint);", "DROP TABLE not_there;")];
  const plain = await rejection(() => new MigrationManager(client, failing).down({ steps: 1 }));
  assert.equal((plain.cause as { code?: string }).code, "42P01");
});

test("a rehearsal commits nothing and still reports every migration", async (t) => {
  const client = await connectFresh(t);
  await new MigrationManager(client, THREE.slice(0, 1)).up();
  const { rehearsal } = await rehearseUp(new MigrationManager(client, THREE));
  assert.equal(rehearsal.ok, true, JSON.stringify(rehearsal.failure));
  assert.deepEqual(
    rehearsal.steps.map((step) => step.version),
    [2, 3],
  );
  assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"]);
  assert.deepEqual(
    (await historyRows(client)).map((row) => Number(row.version)),
    [1],
  );
  assert.equal(await client.query("SELECT 1").then(() => (client as unknown as { getTransactionStatus(): string }).getTransactionStatus()), "I");
});

test("a TypeScript body's own queries run inside its migration's transaction, up and down, and a failed SQL migration leaves the session out of any block", async (t) => {
  const client = await connectFresh(t);
  // Version 2 is a TypeScript body after a SQL migration: its writes through the client must be rolled back with it.
  const failingBody = asyncTsEntry<pg.ClientBase>(
    2,
    {
      async up(db) {
        await db.query("CREATE TABLE written_by_body (id bigint)");
        throw new Error("the body fails after its write");
      },
    },
    { dialect: "postgres" },
  );
  const first = await rejection(() => new MigrationManager(client, [THREE[0]!, failingBody]).up());
  assert.equal(first.code, "MIGRATION_FAILED");
  assert.equal(first.version, 2);
  assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"]);

  const failingDown = asyncTsEntry<pg.ClientBase>(
    2,
    {
      async up(db) {
        await db.query("CREATE TABLE from_ts (id bigint)");
      },
      async down(db) {
        await db.query("DROP TABLE from_ts");
        await db.query("CREATE TABLE written_by_down (id bigint)");
        throw new Error("the revert fails after its writes");
      },
    },
    { dialect: "postgres" },
  );
  const registry = [THREE[0]!, failingDown, THREE[2]!];
  await new MigrationManager(client, registry).up();
  const second = await rejection(() => new MigrationManager(client, registry).down({ to: 0 }));
  assert.equal(second.code, "MIGRATION_FAILED");
  assert.equal(second.version, 2);
  assert.deepEqual(await tableNames(client), ["from_ts", "schema_migrations", "t1"]);
  assert.deepEqual(
    (await historyRows(client)).map((row) => Number(row.version)),
    [1, 2],
  );

  // A SQL migration that failed in its transaction: the session is idle again, not left aborted.
  const third = await rejection(() => new MigrationManager(client, [...registry, pgEntry(4, "CREATE TABLE t4 (id bigint);\nSELECT 1 FROM missing_t4;")]).up());
  assert.equal(third.code, "MIGRATION_FAILED");
  assert.equal(third.version, 4);
  assert.equal((client as pg.Client & { getTransactionStatus(): string }).getTransactionStatus(), "I");
  assert.deepEqual(await tableNames(client), ["from_ts", "schema_migrations", "t1", "t3"]);
});

test('every migration\'s transaction has the server check that the client is still there, in transaction: "all" after a migration that SETs the session too, and the session keeps none of it', async (t) => {
  const client = await connectFresh(t);
  // Refused unless the server checks the client while the migration runs: what cancels a run whose process ended.
  const checked = (version: number) =>
    pgEntry(version, `DO $$ BEGIN IF pg_catalog.current_setting('client_connection_check_interval') <> '1s' THEN RAISE EXCEPTION 'the client is not checked'; END IF; END $$;`);
  const registry = [checked(1), pgEntry(2, "SET search_path = public;"), checked(3)];
  for (const transaction of ["each", "all"] as const) {
    await client.query("DROP TABLE IF EXISTS schema_migrations");
    await new MigrationManager(client, registry).up({ transaction });
    const { rows } = await client.query<{ setting: string; source: string }>("SELECT setting, source FROM pg_catalog.pg_settings WHERE name = 'client_connection_check_interval'");
    assert.deepEqual(rows[0], { setting: "0", source: "default" }, transaction);
  }
});

/** What the migration's transaction ran under, captured into table `name` by its body. */
const captureSettings = (name: string) =>
  `CREATE TABLE ${name} AS SELECT current_setting('transaction_isolation') AS isolation, current_setting('transaction_read_only') AS read_only, current_setting('transaction_deferrable') AS deferrable, current_setting('lock_timeout') AS lock_timeout, current_setting('client_connection_check_interval') AS check_interval;`;

async function capturedSettings(client: pg.Client, name: string): Promise<Record<string, string>> {
  return (await client.query<Record<string, string>>(`SELECT * FROM ${name}`)).rows[0]!;
}

test("a SQL migration that starts with SET TRANSACTION (after comments) runs its body under it, up and down, with the run's lock_timeout and client check; words in a string or comment are not one", async (t) => {
  const client = await connectFresh(t);
  const up = `-- needs a serializable view of the data\n/* a block comment /* nested */ too */\nSET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n${captureSettings("iso")}`;
  const down = `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;\nDROP TABLE iso;\n${captureSettings("iso_down")}`;
  const several = `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nset transaction read write;\nSET TRANSACTION DEFERRABLE;\n${captureSettings("several")}`;
  const notHead = `SELECT 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;';\n-- SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n${captureSettings("plain")}`;
  const registry = [pgEntry(1, up, down), pgEntry(2, notHead, "DROP TABLE plain;")];
  await new MigrationManager(client, registry).up();
  assert.deepEqual(await capturedSettings(client, "iso"), { isolation: "serializable", read_only: "off", deferrable: "off", lock_timeout: "10s", check_interval: "1s" });
  assert.equal((await capturedSettings(client, "plain")).isolation, "read committed");
  await new MigrationManager(client, registry).down({ to: 0 });
  assert.equal((await capturedSettings(client, "iso_down")).isolation, "repeatable read");
  assert.deepEqual(await tableNames(client), ["iso_down", "schema_migrations"]);
  // Several of them, DEFERRABLE among them, which PostgreSQL refuses after a query even when it changes nothing.
  await new MigrationManager(client, [pgEntry(1, several)]).up();
  assert.deepEqual(await capturedSettings(client, "several"), { isolation: "serializable", read_only: "off", deferrable: "on", lock_timeout: "10s", check_interval: "1s" });
  // A read-only one is left in the body, where PostgreSQL takes it too: it fails stepwise's history write after it, as its own MIGRATION_FAILED, not stepwise's writes before it.
  const error = await rejection(() => new MigrationManager(client, [pgEntry(1, several), pgEntry(2, "SET TRANSACTION READ ONLY;\nSELECT 1;")]).up());
  assert.deepEqual([error.code, error.version, error.rolledBack, error.nativeCode], ["MIGRATION_FAILED", 2, true, "25006"]);
  // The session keeps none of it.
  const { rows } = await client.query<{ isolation: string }>("SELECT current_setting('transaction_isolation') AS isolation");
  assert.equal(rows[0]!.isolation, "read committed");
});

test("a SQL migration's SET TRANSACTION SNAPSHOT, after its isolation level, reads the data as another session's exported snapshot saw it", async (t) => {
  const { client, url } = await connectFreshWithUrl(t);
  await new MigrationManager(client, [pgEntry(1, "CREATE TABLE seen (n integer);\nINSERT INTO seen VALUES (1);")]).up();
  const exporter = new pg.Client({ connectionString: url });
  await exporter.connect();
  try {
    await exporter.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
    const snapshot = (await exporter.query<{ id: string }>("SELECT pg_export_snapshot() AS id")).rows[0]!.id;
    await client.query("INSERT INTO seen VALUES (2)");
    const up = `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;\nSET TRANSACTION SNAPSHOT '${snapshot}';\nCREATE TABLE snap AS SELECT count(*)::integer AS n FROM seen;`;
    await new MigrationManager(client, [pgEntry(1, "CREATE TABLE seen (n integer);\nINSERT INTO seen VALUES (1);"), pgEntry(2, up)]).up();
    assert.deepEqual((await client.query("SELECT n FROM snap")).rows, [{ n: 1 }]);
  } finally {
    await exporter.end();
  }
});

test("a SQL migration's failure after its SET TRANSACTION, or in it, is its MIGRATION_FAILED, rolled back, at its line; a SET TRANSACTION after a statement is PostgreSQL's refusal at that line", async (t) => {
  const client = await connectFresh(t);
  await new MigrationManager(client, [THREE[0]!]).up();
  const cases = [
    { sql: "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE t2 (id bigint);\nSELECT 1 FROM missing_t2;", line: 3, nativeCode: "42P01", setting: null },
    { sql: "CREATE TABLE t2 (id bigint);\nSET TRANSACTION ISOLATION LEVEL SERIALIZABLE;", line: 2, nativeCode: "25001", setting: "transaction" },
    { sql: "SET LOCAL statement_timeout = '1min';\nSET TRANSACTION DEFERRABLE;", line: 2, nativeCode: "25001", setting: "transaction" },
    // In the statements sent with the BEGIN: the migration's failure too.
    { sql: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;\nSET TRANSACTION SNAPSHOT '00000003-0000001B-1';\nCREATE TABLE t2 (id bigint);", line: null, nativeCode: "42704", setting: null },
    { sql: "SET TRANSACTION SNAPSHOT '00000003-0000001B-1';\nCREATE TABLE t2 (id bigint);", line: null, nativeCode: "0A000", setting: null },
  ];
  for (const { sql, line, nativeCode, setting } of cases) {
    const error = await rejection(() => new MigrationManager(client, [THREE[0]!, pgEntry(2, sql, null, { sqlLines: [2, null] })]).up());
    assert.deepEqual([error.code, error.version, error.rolledBack, error.nativeCode, error.setting], ["MIGRATION_FAILED", 2, true, nativeCode, setting], sql);
    assert.equal((error.location as { line: number } | null)?.line ?? null, line === null ? null : line + 1, sql);
    // The CLI's fix names the line, and for a late SET TRANSACTION, that it goes first.
    if (setting !== null) assert.match(FIX_OF_CODE.MIGRATION_FAILED!(error as never), new RegExp(`migrations/002_step_2\\.sql:${line! + 1} sends it after one: make it the first statement`));
    assert.deepEqual(await tableNames(client), ["schema_migrations", "t1"]);
  }
});

test("a TypeScript migration's SET TRANSACTION comes after stepwise's queries: MIGRATION_FAILED, rolled back, with setting \"transaction\" and the line that sent it; with transaction: false its own BEGIN sets it", async (t) => {
  const client = await connectFresh(t);
  const body = asyncTsEntry<pg.ClientBase>(
    1,
    {
      async up(db) {
        await db.query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
        await db.query("CREATE TABLE from_ts (id bigint)");
      },
    },
    { dialect: "postgres", file: "test/pg-sql-migrations.test.ts" },
  );
  const error = await rejection(() => new MigrationManager(client, [body]).up());
  assert.deepEqual([error.code, error.version, error.rolledBack, error.nativeCode, error.setting], ["MIGRATION_FAILED", 1, true, "25001", "transaction"]);
  // The CLI names the line from the call the body made.
  assert.match(callSiteStack(error.cause) ?? "", /pg-sql-migrations\.test\.ts:\d+:\d+/);
  assert.match(FIX_OF_CODE.MIGRATION_FAILED!(error as never), /give test\/pg-sql-migrations\.test\.ts transaction: false/);
  assert.deepEqual(await tableNames(client), []);
  const own = asyncTsEntry<pg.ClientBase>(
    1,
    {
      async up(db) {
        await db.query(`BEGIN ISOLATION LEVEL SERIALIZABLE; ${captureSettings("iso")} COMMIT`);
      },
    },
    { dialect: "postgres", transaction: false } as never,
  );
  await new MigrationManager(client, [own]).up();
  assert.equal((await capturedSettings(client, "iso")).isolation, "serializable");
});

test('transaction: "all" and a rehearsal refuse a run holding a migration that starts with SET TRANSACTION, before anything runs, naming it and the calls that get past it', async (t) => {
  const client = await connectFresh(t);
  const registry = [THREE[0]!, pgEntry(2, `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n${captureSettings("iso")}`, "DROP TABLE iso;"), THREE[2]!];
  const error = await rejection(() => new MigrationManager(client, registry).up({ transaction: "all" }));
  assert.deepEqual([error.code, error.version, error.obstacle, error.firstOfRun], ["WHOLE_RUN_TRANSACTION_REFUSED", 2, "set-transaction", false]);
  assert.deepEqual(await tableNames(client), []);
  const rehearsal = await rejection(() => rehearseUp(new MigrationManager(client, registry)));
  assert.deepEqual([rehearsal.code, rehearsal.version, rehearsal.obstacle, rehearsal.rehearsableTo], ["REHEARSAL_REFUSED", 2, "set-transaction", 1]);
  // Its own transaction, then the rest in one.
  await new MigrationManager(client, registry).up({ to: 2 });
  assert.equal((await capturedSettings(client, "iso")).isolation, "serializable");
  await new MigrationManager(client, registry).up({ transaction: "all" });
  // Down too: the down section's own SET TRANSACTION.
  const down = [THREE[0]!, pgEntry(2, "CREATE TABLE d2 (id bigint);", "SET TRANSACTION READ WRITE;\nDROP TABLE d2;")];
  await client.query("DROP TABLE schema_migrations, iso, t1, t3");
  await new MigrationManager(client, down).up();
  const revert = await rejection(() => new MigrationManager(client, down).down({ to: 0, transaction: "all" }));
  assert.deepEqual([revert.code, revert.version, revert.obstacle, revert.direction, revert.firstOfRun], ["WHOLE_RUN_TRANSACTION_REFUSED", 2, "set-transaction", "down", true]);
});
