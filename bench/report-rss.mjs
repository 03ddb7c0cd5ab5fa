// Preloaded into benchmarked child processes (node --import): records the peak resident set size, in
// kilobytes, to the file named by STEPWISE_BENCH_RSS_FILE when the process exits.
import { writeFileSync } from "node:fs";

const target = process.env.STEPWISE_BENCH_RSS_FILE;
if (target) process.on("exit", () => writeFileSync(target, String(process.resourceUsage().maxRSS)));
