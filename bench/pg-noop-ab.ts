/**
 * Where a pg no-op start's time goes, in process: the hand-written loop's start (create-if-missing,
 * read the versions) against stepwise's (`new MigrationManager(client, registry).up()`), each on a
 * fresh connection, interleaved sample by sample so a slow phase of a shared machine falls on both,
 * timing the connect and the start apart. `PG_NOOP_BEFORE=<path to another tree's src/entries/pg.ts>`
 * adds that tree's stepwise as a third side: a before/after comparison in one run.
 *
 * npx tsx bench/pg-noop-ab.ts            # N = 1,000, 300 samples a side
 * N=300 SAMPLES=200 npx tsx bench/pg-noop-ab.ts
 */
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { MigrationManager } from "../src/entries/pg.js";
import { createNoOpDatabase } from "./pg-noop-database.js";
import { summarize } from "./stats.js";
import { formatInterval, quantile, ratioInterval } from "./pg-ratio-interval.js";

type Start = (client: pg.Client) => Promise<void>;

const size = Number(process.env.N ?? 1_000);
const samples = Number(process.env.SAMPLES ?? 300);
const { workload, database, dispose } = await createNoOpDatabase(size);

/** The hand loop's no-op start, as `bench/pg-sides.ts` writes it. */
const hand: Start = async (client) => {
  await client.query("CREATE TABLE IF NOT EXISTS hand_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)");
  const { rows } = await client.query<{ version: string }>("SELECT version FROM hand_migrations");
  const applied = new Set(rows.map((row) => Number(row.version)));
  if (workload.migrations.some((migration) => !applied.has(migration.version))) throw new Error("the hand loop found work");
};

function stepwise(Manager: typeof MigrationManager): Start {
  return async (client) => {
    if ((await new Manager(client, workload.registry).up()).steps.length !== 0) throw new Error("stepwise found work");
  };
}

const sides: [string, Start][] = [
  ["hand", hand],
  ["stepwise", stepwise(MigrationManager)],
];
if (process.env.PG_NOOP_BEFORE) {
  const before = (await import(pathToFileURL(process.env.PG_NOOP_BEFORE).href)) as { MigrationManager: typeof MigrationManager };
  sides.push(["before", stepwise(before.MigrationManager)]);
}

const times = new Map(sides.map(([id]) => [id, { connect: [] as number[], start: [] as number[], whole: [] as number[] }]));
const loads: number[] = [];
// Three unmeasured rounds first, so every side's code is compiled before it is timed.
for (let round = -3; round < samples; round++) {
  for (let slot = 0; slot < sides.length; slot++) {
    const [id, start] = sides[(slot + Math.max(round, 0)) % sides.length]!;
    const began = performance.now();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const connected = performance.now();
    await start(client);
    const done = performance.now();
    await client.end();
    const ended = performance.now();
    if (round < 0) continue;
    const bucket = times.get(id)!;
    bucket.connect.push(connected - began);
    bucket.start.push(done - connected);
    bucket.whole.push(ended - began);
  }
  if (round % 10 === 0) loads.push(loadavg()[0]!);
}
await dispose();

const ms = (value: number) => value.toFixed(2);
console.log(`pg no-op start, N = ${size}, ${samples} samples a side, interleaved; load average ${ms(Math.min(...loads))}-${ms(Math.max(...loads))}`);
console.log("side      | connect, median (min) | start, median (min) | whole, median (min)");
for (const [id] of sides) {
  const { connect, start, whole } = times.get(id)!;
  const cell = (values: number[]) => `${ms(summarize(values).median)} (${ms(summarize(values).min)})`;
  console.log(`${id.padEnd(9)} | ${cell(connect)} | ${cell(start)} | ${cell(whole)}`);
}
const hands = times.get("hand")!;
for (const [id] of sides.slice(1)) {
  const side = times.get(id)!;
  const ratio = (key: "start" | "whole", stat: "median" | "min") => (summarize(side[key])[stat] / summarize(hands[key])[stat]).toFixed(2);
  console.log(`${id} / hand: whole start ${ratio("whole", "median")}x (mins ${ratio("whole", "min")}x); the start alone ${ratio("start", "median")}x (${ratio("start", "min")}x)`);
  // Paired by round (the sides alternate start by start), resampled by round: 95% intervals.
  console.log(
    `${id} / hand, whole start: median ${formatInterval(ratioInterval(side.whole, hands.whole))}, p10 ${formatInterval(ratioInterval(side.whole, hands.whole, 0.1))}; ` +
      `ms over the hand loop: median ${ms(quantile(side.whole, 0.5) - quantile(hands.whole, 0.5))}, p10 ${ms(quantile(side.whole, 0.1) - quantile(hands.whole, 0.1))}; ` +
      `the start alone: median ${formatInterval(ratioInterval(side.start, hands.start))}`,
  );
}
if (times.has("before")) {
  // The change itself, paired the same way: this tree's start against the other tree's.
  const now = times.get("stepwise")!;
  const before = times.get("before")!;
  console.log(
    `stepwise / before: whole start median ${formatInterval(ratioInterval(now.whole, before.whole))}; the start alone median ${formatInterval(ratioInterval(now.start, before.start))}, p10 ${formatInterval(ratioInterval(now.start, before.start, 0.1))}`,
  );
}
process.exit(0);
