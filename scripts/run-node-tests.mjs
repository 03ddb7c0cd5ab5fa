/**
 * Node's test runner over the given files, started in the order given (`node --test` sorts its files
 * by name, which left the heaviest ones, such as `rebase` and `sql-run`, to start last and one core
 * idle at the end). `scripts/test.mjs` passes Node 20's files longest first, from
 * `scripts/test-weights.json`; each file still runs in a process of its own, as under `node --test`,
 * with this process's `--import tsx`.
 *
 *   node --import tsx scripts/run-node-tests.mjs <concurrency> <file>...
 *
 * Output is Node's spec reporter, as `node --test --test-reporter=spec` prints it, and the exit code
 * is 1 when a test failed, as `node --test` sets it (a failing `todo` test fails nothing).
 *
 * With `STEPWISE_TEST_WEIGHTS_OUT=<file>` it also writes each file's measured weight there (the wall
 * time of the file's process, in seconds), in the form of `scripts/test-weights.json`, to refresh
 * that list after the suite changes. The process is timed, not the tests the reporter sees: a test
 * made by `describeEachDriver` is reported as defined in `test/support/driver-matrix.ts`, not in the
 * file that asked for it. The times come from `scripts/process-cost-hook.mjs`, loaded into the files'
 * processes for the run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "node:test";
import { spec } from "node:test/reporters";

const [concurrency, ...files] = process.argv.slice(2);
const weightsOut = process.env.STEPWISE_TEST_WEIGHTS_OUT;
const measureDir = weightsOut === undefined ? null : mkdtempSync(path.join(tmpdir(), "stepwise-test-weights-"));
if (measureDir !== null) {
  // Inherited by the files' processes, which run() starts with this process's environment.
  const hook = path.join(path.dirname(fileURLToPath(import.meta.url)), "process-cost-hook.mjs");
  process.env.STEPWISE_MEASURE_FILE = path.join(measureDir, "processes.jsonl");
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --import=${hook}`.trim();
}

const stream = run({ files, concurrency: Number(concurrency) });
stream.on("test:fail", (event) => {
  if (!event.todo) process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
stream.on("end", () => {
  if (measureDir === null) return;
  const root = process.cwd();
  const chosen = new Set(files.map((file) => path.resolve(root, file)));
  const seconds = new Map();
  const lines = readFileSync(process.env.STEPWISE_MEASURE_FILE, "utf8").trim().split("\n").filter(Boolean);
  rmSync(measureDir, { recursive: true, force: true });
  for (const line of lines) {
    // A test file's process has that file as its only argument; the bin and other children have more.
    const { argv, start, end } = JSON.parse(line);
    if (argv.length !== 1 || !chosen.has(path.resolve(root, argv[0]))) continue;
    // The longest: a test may start a child on its own file, and the file's process outlives it.
    const file = path.relative(root, path.resolve(root, argv[0]));
    seconds.set(file, Math.max(seconds.get(file) ?? 0, Math.round((end - start) / 100) / 10));
  }
  const weights = Object.fromEntries([...seconds].sort(([a, wa], [b, wb]) => wb - wa || (a < b ? -1 : 1)));
  writeFileSync(weightsOut, `${JSON.stringify(weights, null, 2)}\n`);
});
