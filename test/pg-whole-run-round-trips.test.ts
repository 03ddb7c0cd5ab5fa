/**
 * What `transaction: "all"` sends on stepwise-migrate/pg, counted through the client's own `query` (each
 * call is one round trip), never timed: a roll-back-all in one transaction sends each revert once,
 * with its history DELETE after it and no COMMIT between, one `BEGIN` and one `COMMIT` for the run,
 * so it sends fewer round trips than a transaction per revert.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MigrationManager } from "../src/entries/pg.js";
import type { MigrationEvent } from "../src/core/events.js";
import { connectFresh, recordStatements } from "./support/pg-client.js";
import { namedSqlEntry } from "./support/registry-builders.js";

/** `size` migrations, each a table and an index, its down dropping the table. */
function registryOf(size: number) {
  return Array.from({ length: size }, (_, index) =>
    namedSqlEntry(index + 1, `create_t${index + 1}`, `CREATE TABLE t${index + 1} (id bigint PRIMARY KEY);\nCREATE INDEX t${index + 1}_id ON t${index + 1} (id);`, `DROP TABLE t${index + 1};`, {
      dialect: "postgres",
    }),
  );
}

test('down({ to: 0, transaction: "all" }) sends each revert once, its DELETE after it with no COMMIT between, and one BEGIN and COMMIT for the run', async (t) => {
  const client = await connectFresh(t);
  for (const size of [3, 9]) {
    const registry = registryOf(size);
    await new MigrationManager(client, registry).up();
    const events: MigrationEvent[] = [];
    const sent = await recordStatements(client, () => new MigrationManager(client, registry, { onEvent: (event) => events.push(event) }).down({ to: 0, transaction: "all" }));
    const all = sent.join("\n---\n");
    for (const entry of registry) {
      const revert = `DROP TABLE t${entry.version};`;
      assert.equal(sent.filter((sql) => sql.includes(revert)).length, 1, all);
      // The revert, then its DELETE, with no COMMIT between: the run commits once.
      const from = all.indexOf(revert);
      const deleted = all.indexOf('DELETE FROM "public"."schema_migrations" WHERE version', from);
      assert.ok(from >= 0 && deleted > from && !/\bCOMMIT\b/.test(all.slice(from, deleted)), all);
    }
    assert.equal(sent.filter((sql) => /\bCOMMIT\b/.test(sql)).length, 1, all);
    assert.equal(sent.filter((sql) => /^BEGIN\b/.test(sql)).length, 1, all);
    assert.deepEqual(
      events.filter((event) => event.type === "migrated").map((event) => (event as { version: number }).version),
      registry.map((entry) => entry.version).reverse(),
    );
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM schema_migrations");
    assert.equal(rows[0]!.n, "0");
  }
});

test('down({ transaction: "all" }) sends fewer round trips than down(): no COMMIT per migration', async (t) => {
  const client = await connectFresh(t);
  const size = 9;
  const registry = registryOf(size);
  const counts: Record<string, number> = {};
  for (const transaction of ["each", "all"] as const) {
    await new MigrationManager(client, registry).up();
    counts[transaction] = (await recordStatements(client, () => new MigrationManager(client, registry).down({ to: 0, transaction }))).length;
  }
  assert.ok(counts.each! - counts.all! >= size - 1, JSON.stringify(counts));
});
