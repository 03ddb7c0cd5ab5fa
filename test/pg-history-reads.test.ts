/**
 * stepwise/pg reads the history once per run while it holds the run lock: no other stepwise process
 * can write it meanwhile, so re-reading it in every migration's transaction (the bench's largest
 * extra cost per migration against a hand-written loop) buys nothing. Counted, not timed: every
 * statement the session sends is recorded through the client's own `query`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MigrationManager } from "../src/entries/pg.js";
import { connectFresh, recordStatements } from "./support/pg-client.js";
import { namedSqlEntry } from "./support/registry-builders.js";

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
  // One transaction per migration, its BEGIN inside the migration's message, except the first's, which
  // also created the history table and sent its BEGIN alone.
  assert.equal(up.filter((sql) => sql.startsWith("BEGIN;\n")).length, SIZE - 1);
  assert.equal(up.filter((sql) => sql === "BEGIN").length, 1);
  assert.ok(historyReads(up) <= 2, `history read ${historyReads(up)} times for ${SIZE} migrations:\n${up.join("\n")}`);

  const down = await recordStatements(client, async () => (result = await manager.down({ to: 0 })));
  assert.equal(result!.steps.length, SIZE);
  assert.ok(historyReads(down) <= 2, `history read ${historyReads(down)} times for ${SIZE} migrations:\n${down.join("\n")}`);
  const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename LIKE 't%'");
  assert.deepEqual(rows, [{ n: 0 }]);
});

test("a start with nothing pending sends one statement, the history read, and takes no run lock; a start with work still plans under the lock", async (t) => {
  const client = await connectFresh(t);
  const firstHalf = registry.slice(0, SIZE / 2);
  const fresh = await recordStatements(client, () => new MigrationManager(client, firstHalf).up());
  assert.ok(
    fresh.some((sql) => /pg_try_advisory_lock/.test(sql)),
    `a fresh database must be migrated under the run lock:\n${fresh.join("\n")}`,
  );

  const events: string[] = [];
  const results: Awaited<ReturnType<MigrationManager["up"]>>[] = [];
  const noop = await recordStatements(client, async () => results.push(await new MigrationManager(client, firstHalf, { onEvent: (event) => events.push(event.type) }).up()));
  assert.equal(noop.length, 1, noop.join("\n"));
  assert.match(noop[0]!, /^\s*SELECT version, checksum/);
  assert.deepEqual(results, [{ direction: "up", fromVersion: SIZE / 2, toVersion: SIZE / 2, steps: [] }]);
  assert.deepEqual(events, ["nothing-pending"]);

  // More migrations in the registry: the optimistic read finds work, and the careful path runs it.
  const more = await recordStatements(client, async () => results.push(await new MigrationManager(client, registry).up()));
  assert.equal(results[1]!.steps.length, SIZE / 2);
  assert.ok(more.some((sql) => /pg_try_advisory_lock/.test(sql)));
});

test("a start whose history read fails or finds an interrupted or drifted history falls back to the careful path and its typed refusal", async (t) => {
  const client = await connectFresh(t);
  await new MigrationManager(client, registry).up();
  await client.query(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2`);
  await assert.rejects(new MigrationManager(client, registry).up(), { code: "CHECKSUM_MISMATCH", version: 2 });
  await client.query(`DROP TABLE schema_migrations`);
  // No history table but the migrations' tables: the careful path refuses an unmanaged database.
  await assert.rejects(new MigrationManager(client, registry).up(), { code: "UNMANAGED_DATABASE" });
});

test("a no-op start's one read also proves the table's shape: a history table missing a column or keyed otherwise is refused as the careful path refuses it, never taken as nothing pending", async (t) => {
  const client = await connectFresh(t);
  const one = registry.slice(0, 1);
  const shapes = [
    // Three of the six columns stepwise writes.
    "CREATE TABLE schema_migrations (version numeric, checksum text, state text)",
    // Every column, but version is not the primary key.
    "CREATE TABLE schema_migrations (version bigint, name text NOT NULL, checksum text NOT NULL, applied_at text NOT NULL, duration_ms bigint, state text NOT NULL)",
    // Every column and a primary key, but version is numeric.
    "CREATE TABLE schema_migrations (version numeric PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at text NOT NULL, duration_ms bigint, state text NOT NULL)",
  ];
  for (const create of shapes) {
    await client.query("DROP TABLE IF EXISTS schema_migrations");
    await client.query(create);
    const columns = (await client.query<{ name: string }>("SELECT attname AS name FROM pg_catalog.pg_attribute WHERE attrelid = 'schema_migrations'::regclass AND attnum > 0")).rows.map(
      (row) => row.name,
    );
    const values = { version: 1, name: "create_t1", checksum: one[0]!.checksum, applied_at: "2026-01-01T00:00:00Z", duration_ms: 1, state: "applied" } as Record<string, unknown>;
    const present = columns.filter((name) => name in values);
    await client.query(
      `INSERT INTO schema_migrations (${present.join(", ")}) VALUES (${present.map((_, index) => `$${index + 1}`).join(", ")})`,
      present.map((name) => values[name]),
    );
    for (const start of [() => new MigrationManager(client, one).up(), () => new MigrationManager(client, one).up({ to: 1 }), () => new MigrationManager(client, one).up({ transaction: "all" })]) {
      await assert.rejects(start, (error: { code?: string }) => error.code === "HISTORY_TABLE_INVALID", create);
    }
    await assert.rejects(
      () => new MigrationManager(client, one).status(),
      (error: { code?: string }) => error.code === "HISTORY_TABLE_INVALID",
      create,
    );
  }
});
