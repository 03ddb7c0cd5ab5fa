/**
 * What each candidate no-op start (`pg-noop-candidates.ts`) costs, each alone on a fresh connection,
 * interleaved sample by sample with the others. Besides the wall clock it takes the CPU apart: the
 * server's, for the start (its backend's `/proc/<pid>/schedstat` read before and after, in ns), and
 * this process's (`process.cpuUsage`: pg's parsing, stepwise's code, the garbage collector). CPU time
 * does not count the waits of a loaded machine, so 0.05 ms shows at loads where the wall clock moves by
 * milliseconds. The whole start (connect to closed) is the bench's figure: its ratio to the hand
 * loop's comes with a 95% interval, paired by round (`pg-ratio-interval.ts`), by wall clock and by
 * CPU (the backend's from its fork to the client's `end()`, whose exit is not counted, plus this
 * process's from `new pg.Client` to closed). Linux only, with the server on this machine (the
 * embedded one of `test/support/postgres-server.ts`).
 *
 * npx tsx bench/pg-noop-statements.ts                        # N = 1,000, 200 samples each
 * N=300 SAMPLES=300 ONLY="stepwise;read" npx tsx bench/pg-noop-statements.ts
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import pg from "pg";
import { createNoOpDatabase } from "./pg-noop-database.js";
import { noOpCandidates } from "./pg-noop-candidates.js";
import { formatInterval, quantile, ratioInterval } from "./pg-ratio-interval.js";

const size = Number(process.env.N ?? 1_000);
const samples = Number(process.env.SAMPLES ?? 200);
const only = process.env.ONLY?.split(";");
const { workload, database, dispose } = await createNoOpDatabase(size);

/** The backend's CPU time so far, in ms (schedstat's first field is ns on the CPU). */
function serverCpuMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
}

const entries = Object.entries(noOpCandidates(workload)).filter(([id]) => only === undefined || only.includes(id) || id === "hand");
const times = new Map(entries.map(([id]) => [id, { server: [] as number[], client: [] as number[], start: [] as number[], whole: [] as number[], wholeCpu: [] as number[] }]));
const loads: number[] = [];
// Three unmeasured rounds first, so every candidate's code is compiled before it is timed.
for (let round = -3; round < samples; round++) {
  for (let slot = 0; slot < entries.length; slot++) {
    const [id, start] = entries[(slot + Math.max(round, 0)) % entries.length]!;
    const began = performance.now();
    const cpuBegan = process.cpuUsage();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const pid = (client as unknown as { processID: number }).processID;
    const serverBefore = serverCpuMs(pid);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await start(client);
    const startMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const serverAfter = serverCpuMs(pid);
    const serverMs = serverAfter - serverBefore;
    await client.end();
    const wholeMs = performance.now() - began;
    const cpuWhole = process.cpuUsage(cpuBegan);
    if (round < 0) continue;
    const bucket = times.get(id)!;
    bucket.server.push(serverMs);
    bucket.client.push((cpu.user + cpu.system) / 1e3);
    bucket.start.push(startMs);
    bucket.whole.push(wholeMs);
    bucket.wholeCpu.push(serverAfter + (cpuWhole.user + cpuWhole.system) / 1e3);
  }
  if (round % 10 === 0) loads.push(loadavg()[0]!);
}
await dispose();

const ms = (value: number) => value.toFixed(3);
const cell = (values: readonly number[]) => `${ms(quantile(values, 0.5))} (${ms(quantile(values, 0.1))})`;
console.log(`pg no-op start candidates, N = ${size}, ${samples} samples each on fresh connections, interleaved; load average ${ms(Math.min(...loads))}-${ms(Math.max(...loads))}`);
console.log("| candidate | server CPU | client CPU | CPU, both | the start, wall | whole start, wall | whole / the hand loop's | whole start, CPU | whole CPU / the hand loop's |");
console.log("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
const hand = times.get("hand")!;
for (const [id] of entries) {
  const { server, client, start, whole, wholeCpu } = times.get(id)!;
  const both = server.map((value, index) => value + client[index]!);
  console.log(
    `| ${id} | ${cell(server)} | ${cell(client)} | ${cell(both)} | ${cell(start)} | ${cell(whole)} | ${formatInterval(ratioInterval(whole, hand.whole))} | ` +
      `${cell(wholeCpu)} | ${formatInterval(ratioInterval(wholeCpu, hand.wholeCpu))} |`,
  );
}
console.log("ms, median (10th percentile); the ratio is of medians, with its 95% interval.");
process.exit(0);
