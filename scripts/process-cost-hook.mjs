/**
 * Where `npm test`'s CPU goes: loaded into every Node process of a run through NODE_OPTIONS, it
 * appends one JSON line per process to `$STEPWISE_MEASURE_FILE` when the process exits: its pid and
 * parent's, argv, Node version, start and end (ms since the epoch), and its CPU seconds, its own
 * (`self`) and that of the children it waited for (`children`), from /proc/self/stat (Linux).
 *
 *   NODE_OPTIONS=--import=$PWD/scripts/process-cost-hook.mjs STEPWISE_MEASURE_FILE=/tmp/costs.jsonl \
 *     node scripts/test.mjs
 *
 * A test file's line has its path as the only argument; the bin's lines have `codegen/bin` in theirs.
 * docs/contributing.md ("Where the time goes") says what it shows. A process killed by SIGKILL writes nothing.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const out = process.env.STEPWISE_MEASURE_FILE;
if (out) {
  const start = performance.timeOrigin;
  process.on("exit", () => {
    try {
      const stat = readFileSync("/proc/self/stat", "utf8");
      // Fields after the command name (which may hold spaces); utime, stime, cutime, cstime are fields 14–17.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
      const line = {
        pid: process.pid,
        ppid: process.ppid,
        argv: process.argv.slice(1),
        version: process.version,
        start,
        end: Date.now(),
        self: (utime + stime) / 100,
        children: (cutime + cstime) / 100,
      };
      appendFileSync(out, `${JSON.stringify(line)}\n`);
    } catch {
      // Not Linux, or the file went away: this process goes unmeasured.
    }
  });
}
