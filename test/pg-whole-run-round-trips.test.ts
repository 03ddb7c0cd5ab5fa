/**
 * What `transaction: "all"` costs on stepwise-migrate/pg in round trips, counted through the client's own
 * `query` (each call is one round trip), never timed: a roll-back-all in one transaction sends its
 * reverts, each with its history DELETE, in messages of up to `MOST_PER_BATCH`, one `BEGIN` and one `COMMIT`
 * for the run, and a fixed number of statements per run (the run lock, the history's checks and
 * reads), whatever the number of migrations. The peers' roll-back-all costs about two per migration.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MigrationManager } from "../src/entries/pg.js";
import type { MigrationEvent } from "../src/core/events.js";
import { connectFresh, recordStatements } from "./support/pg-client.js";
import { namedSqlEntry } from "./support/registry-builders.js";
import { MOST_PER_BATCH } from "../src/drivers/pg-script-batch.js";

/** `size` migrations, each a table and an index, its down dropping the table. */
function registryOf(size: number) {
  return Array.from({ length: size }, (_, index) =>
    namedSqlEntry(index + 1, `create_t${index + 1}`, `CREATE TABLE t${index + 1} (id bigint PRIMARY KEY);\nCREATE INDEX t${index + 1}_id ON t${index + 1} (id);`, `DROP TABLE t${index + 1};`, {
      dialect: "postgres",
    }),
  );
}

/** The most statements a run sends besides one message per migration, and the history guard's one per message (13 when this was written). */
const MOST_PER_RUN = 13;

test('down({ to: 0, transaction: "all" }) sends the reverts in messages of up to MOST_PER_BATCH, each with its DELETE, and one BEGIN and COMMIT for the run: N / 16 plus a fixed few round trips', async (t) => {
  const client = await connectFresh(t);
  const perRun: number[] = [];
  for (const size of [3, 9, 40]) {
    const registry = registryOf(size);
    await new MigrationManager(client, registry).up();
    const events: MigrationEvent[] = [];
    const sent = await recordStatements(client, () => new MigrationManager(client, registry, { onEvent: (event) => events.push(event) }).down({ to: 0, transaction: "all" }));
    const batches = sent.filter((sql) => sql.includes("DROP TABLE t"));
    assert.equal(batches.length, Math.ceil(size / MOST_PER_BATCH), sent.join("\n---\n"));
    for (const entry of registry) {
      const holding = batches.filter((sql) => sql.includes(`DROP TABLE t${entry.version};`));
      assert.equal(holding.length, 1, sent.join("\n---\n"));
      // The revert, then (after the history guard's check) its DELETE, with no COMMIT inside: the run commits once.
      const revert = holding[0]!.indexOf(`DROP TABLE t${entry.version};`);
      const deleted = holding[0]!.indexOf(`DELETE FROM "public"."schema_migrations" WHERE version OPERATOR(pg_catalog.=) ${entry.version};`);
      assert.ok(revert >= 0 && deleted > revert && !/\bCOMMIT\b/.test(holding[0]!.slice(revert, deleted)), holding[0]);
    }
    assert.equal(sent.filter((sql) => /\bCOMMIT\b/.test(sql)).length, 1, sent.join("\n---\n"));
    assert.equal(sent.filter((sql) => /^BEGIN\b/.test(sql)).length, 1, sent.join("\n---\n"));
    assert.deepEqual(
      events.filter((event) => event.type === "migrated").map((event) => (event as { version: number }).version),
      registry.map((entry) => entry.version).reverse(),
    );
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM schema_migrations");
    assert.equal(rows[0]!.n, "0");
    // Each message comes with one statement of the history guard's (it reads the table before the batch).
    perRun.push(sent.length - 2 * batches.length);
  }
  assert.ok(
    perRun.every((count) => count === perRun[0]),
    `the statements besides the migrations' messages grow with N: ${perRun.join(", ")}`,
  );
  assert.ok(perRun[0]! <= MOST_PER_RUN, `${perRun[0]} statements per run besides the messages`);
});

test('down({ transaction: "all" }) sends a fraction of the round trips of down(): no COMMIT per migration, and one message for up to MOST_PER_BATCH reverts', async (t) => {
  const client = await connectFresh(t);
  const size = 9;
  const registry = registryOf(size);
  const counts: Record<string, number> = {};
  for (const transaction of ["each", "all"] as const) {
    await new MigrationManager(client, registry).up();
    counts[transaction] = (await recordStatements(client, () => new MigrationManager(client, registry).down({ to: 0, transaction }))).length;
  }
  // Per migration: its message and its COMMIT, against a share of one message (the first of down()'s
  // shares the transaction that read the plan, so one BEGIN is sent either way).
  assert.ok(counts.each! >= 2 * size, JSON.stringify(counts));
  assert.ok(counts.all! <= 2 * Math.ceil(size / MOST_PER_BATCH) + MOST_PER_RUN, JSON.stringify(counts));
  assert.ok(counts.each! - counts.all! >= 2 * size - Math.ceil(size / MOST_PER_BATCH) - MOST_PER_RUN, JSON.stringify(counts));
});
