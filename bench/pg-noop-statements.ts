/**
 * What each part of the pg no-op read costs a fresh backend: each candidate alone on a fresh
 * connection, interleaved sample by sample with the hand loop's two statements, timed from the first
 * statement sent to the rows parsed (the connect and close are not timed). Medians and 10th
 * percentiles: on a shared machine the low percentiles are the steadier figures. `bench/pg-noop-ab.ts`
 * times the whole start.
 *
 * npx tsx bench/pg-noop-statements.ts                      # N = 1,000, 150 samples each
 * N=300 SAMPLES=300 ONLY="the read now,rows" npx tsx bench/pg-noop-statements.ts
 */
import { loadavg } from "node:os";
import pg from "pg";
import { MigrationManager } from "../src/entries/pg.js";
import { postgresNoOpReadSql } from "../src/core/dialects/postgres-no-op-read.js";
import { createNoOpDatabase } from "./pg-noop-database.js";

const size = Number(process.env.N ?? 1_000);
const samples = Number(process.env.SAMPLES ?? 150);
const { workload, database } = await createNoOpDatabase(size);

const table = `"public"."schema_migrations"`;
const proof = `WHERE true OR EXISTS (SELECT name, applied_at, duration_ms FROM ${table} AS h GROUP BY version)`;
const rows = `SELECT h.version, h.checksum, h.state`;
const versionArray = `, CASE WHEN false THEN ARRAY[h.version] END AS version_array`;
const typeOf = (column: string) => `CAST(pg_catalog.pg_typeof((SELECT ${column} FROM ${table} AS h LIMIT 0)) AS pg_catalog.oid) AS ${column}_type`;
/** Session 8's read, for a before/after in one run. */
const session8 = `SELECT pg_catalog.string_agg(CAST(version AS pg_catalog.text), ',') AS versions, pg_catalog.string_agg(COALESCE(checksum, ''), ',') AS checksums,
  pg_catalog.string_agg(COALESCE(state, ''), ',') AS states, ${typeOf("version")}, ${typeOf("checksum")}, ${typeOf("state")}
 FROM ${table} AS h ${proof}`;

type Run = (client: pg.Client) => Promise<unknown>;
const statement =
  (text: string): Run =>
  (client) =>
    client.query(text);
const candidates: Record<string, Run> = {
  hand: async (client) => {
    await client.query("CREATE TABLE IF NOT EXISTS hand_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)");
    await client.query("SELECT version FROM hand_migrations");
  },
  "the hand loop's SELECT": statement("SELECT version FROM hand_migrations"),
  "version alone": statement(`SELECT h.version FROM ${table} AS h`),
  rows: statement(`${rows} FROM ${table} AS h`),
  "rows + version array": statement(`${rows}${versionArray} FROM ${table} AS h`),
  "the read now (+ proof)": statement(postgresNoOpReadSql(table)),
  "session 8's read": statement(session8),
  "stepwise up()": (client) => new MigrationManager(client, workload.registry).up(),
};
const only = process.env.ONLY?.split(",");
const entries = Object.entries(candidates).filter(([id]) => only === undefined || only.includes(id) || id === "hand");
const times = new Map(entries.map(([id]) => [id, [] as number[]]));
const loads: number[] = [];
// Three unmeasured rounds first, so every side's code is compiled before it is timed.
for (let round = -3; round < samples; round++) {
  for (let slot = 0; slot < entries.length; slot++) {
    const [id, run] = entries[(slot + Math.max(round, 0)) % entries.length]!;
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const began = performance.now();
    await run(client);
    const took = performance.now() - began;
    await client.end();
    if (round >= 0) times.get(id)!.push(took);
  }
  if (round % 10 === 0) loads.push(loadavg()[0]!);
}
await database.drop();

const percentile = (values: readonly number[], fraction: number) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * fraction)]!;
const ms = (value: number) => value.toFixed(3);
console.log(`pg no-op read parts, N = ${size}, ${samples} samples each on fresh connections, interleaved; load average ${ms(Math.min(...loads))}-${ms(Math.max(...loads))}`);
console.log("statement                  | median | p10   | min   | p10 over the hand loop");
const hand = times.get("hand")!;
for (const [id] of entries) {
  const values = times.get(id)!;
  console.log(`${id.padEnd(26)} | ${ms(percentile(values, 0.5))} | ${ms(percentile(values, 0.1))} | ${ms(percentile(values, 0))} | ${ms(percentile(values, 0.1) - percentile(hand, 0.1))}`);
}
process.exit(0);
