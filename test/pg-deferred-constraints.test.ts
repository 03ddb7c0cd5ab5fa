/**
 * PostgreSQL's deferred constraints, checked only at COMMIT, against a real server: a migration that breaks one fails as
 * that migration's, with `atCommit` naming what the transaction held; under `transaction: "all"` the error says every
 * migration of the run may have broken it, not only the last one it names; a rehearsal meets the same failure at the
 * same migration (a savepoint's release checks nothing), and still lets a migration break one for a moment and mend it.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import pg from "pg";
import { MigrationManager } from "../src/entries/pg.js";
import { rehearseUp } from "../src/safety/index.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { jsonError, runPgCli, withPgClient } from "./support/pg-cli.js";
import { namedSqlEntry, rejection } from "./support/registry-builders.js";

const postgres = { dialect: "postgres" } as never;
const parent = namedSqlEntry(
  1,
  "parent",
  "CREATE TABLE parent (id int PRIMARY KEY);\nCREATE TABLE child (parent_id int REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
  "DROP TABLE child;\nDROP TABLE parent;",
  postgres,
);
const orphan = namedSqlEntry(2, "orphan", "INSERT INTO child VALUES (99);", null, postgres);
const later = namedSqlEntry(3, "later", "CREATE TABLE later (id int);", null, postgres);

async function freshPool(t: TestContext): Promise<{ pool: pg.Pool; url: string }> {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  pool.on("error", () => undefined);
  t.after(() => pool.end());
  return { pool, url: database.url };
}

/** Tables, history and the child rows: what a failed run must leave as it was. */
async function contents(url: string): Promise<string> {
  return withPgClient(url, async (client) => {
    const tables = await client.query<{ name: string }>("SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    const history = await client.query<{ row: string }>("SELECT version::text || ':' || state AS row FROM schema_migrations ORDER BY version");
    const children = await client.query<{ id: number }>("SELECT parent_id AS id FROM child ORDER BY 1");
    return JSON.stringify([tables.rows, history.rows, children.rows]);
  });
}

test("a deferred foreign key broken by migration 2 fails migration 2 at its COMMIT, with atCommit naming it alone; nothing of it stays", async (t) => {
  const { pool, url } = await freshPool(t);
  const manager = new MigrationManager(pool, [parent, orphan, later]);
  await manager.up({ to: 1 });
  const before = await contents(url);
  const error = await rejection(() => manager.up());
  assert.deepEqual([error.code, error.version, error.file, error.nativeCode, error.rolledBack, error.atCommit], ["MIGRATION_FAILED", 2, "migrations/002_orphan.sql", "23503", true, { versions: [2] }]);
  assert.equal(await contents(url), before);
});

test('under transaction: "all" the COMMIT that refuses a deferred constraint names every migration the run held in atCommit, and the CLI\'s fix says how to find the one', async (t) => {
  const { pool, url } = await freshPool(t);
  const manager = new MigrationManager(pool, [parent, orphan, later]);
  await manager.up({ to: 1 });
  const before = await contents(url);
  const error = await rejection(() => manager.up({ transaction: "all" }));
  // The COMMIT comes after the last migration, which the error carries; the field says it may not be that one's doing.
  assert.deepEqual([error.code, error.version, error.rolledBack, error.atCommit], ["MIGRATION_FAILED", 3, true, { versions: [2, 3] }]);
  assert.equal(await contents(url), before);

  const printed = jsonError(await runPgCli([parent, orphan, later], url, ["up", "--transaction", "all", "--json"]));
  assert.deepEqual([printed.code, printed.version, printed.atCommit], ["MIGRATION_FAILED", 3, { versions: [2, 3] }]);
  assert.match(String(printed.fix), /^find which of migrations 2, 3 breaks the constraint/);
  // The run to repeat is this one, as one transaction again; the CLI adds that option to the command the fix quotes.
  assert.match(String(printed.fix), /then run "stepwise up[^"]* --transaction all" again/);
  assert.equal(String(printed.fix).match(/"stepwise up/g)?.length, 1, String(printed.fix));
  assert.equal(await contents(url), before);
});

test("a rehearsal meets a deferred constraint at the migration whose COMMIT refuses it, with the real run's fields, and leaves the database as it was", async (t) => {
  const { pool, url } = await freshPool(t);
  const manager = new MigrationManager(pool, [parent, orphan, later]);
  await manager.up({ to: 1 });
  const before = await contents(url);
  const { rehearsal } = await rehearseUp(manager);
  assert.equal(await contents(url), before);
  const real = await rejection(() => manager.up());
  assert.equal(rehearsal.ok, false);
  assert.deepEqual(
    rehearsal.steps.map((step) => [step.version, step.status]),
    [
      [2, "failed"],
      [3, "not-run"],
    ],
  );
  const fields = rehearsal.failure?.fields ?? {};
  assert.deepEqual([rehearsal.failure?.code, fields.version, fields.nativeCode, fields.atCommit], [real.code, real.version, real.nativeCode, real.atCommit]);
  assert.equal(await contents(url), before);
});

test("a rehearsal keeps the constraints deferred within each migration: one that breaks and mends a deferred foreign key, after another that checked them, rehearses and applies", async (t) => {
  const { pool, url } = await freshPool(t);
  const mended = [
    parent,
    namedSqlEntry(2, "first_pair", "INSERT INTO parent VALUES (1);\nINSERT INTO child VALUES (1);", null, postgres),
    // The child comes before its parent: refused at once were the constraint made immediate for the rest of the rehearsal.
    namedSqlEntry(3, "child_first", "INSERT INTO child VALUES (2);\nINSERT INTO parent VALUES (2);", null, postgres),
  ];
  const manager = new MigrationManager(pool, mended);
  await manager.up({ to: 1 });
  const before = await contents(url);
  const { rehearsal } = await rehearseUp(manager);
  assert.deepEqual([rehearsal.ok, rehearsal.failure, rehearsal.reachedVersion], [true, null, 3]);
  assert.equal(await contents(url), before);
  assert.deepEqual(
    (await manager.up()).steps.map((step) => step.version),
    [2, 3],
  );
});
