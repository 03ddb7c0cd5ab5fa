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
 * With `STEPWISE_TEST_WEIGHTS_OUT=<file>` it also writes each file's measured weight there (the
 * summed wall time of its top-level tests and suites, in seconds), in the form of
 * `scripts/test-weights.json`, to refresh that list after the suite changes.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";

const [concurrency, ...files] = process.argv.slice(2);
const weightsOut = process.env.STEPWISE_TEST_WEIGHTS_OUT;
/** Milliseconds per file, summed over its top-level tests, which a file runs one after another. */
const measured = new Map();
const record = (event) => {
  if (weightsOut === undefined || event.nesting !== 0 || event.file === undefined) return;
  measured.set(event.file, (measured.get(event.file) ?? 0) + (event.details.duration_ms ?? 0));
};

const stream = run({ files, concurrency: Number(concurrency) });
stream.on("test:pass", record);
stream.on("test:fail", (event) => {
  record(event);
  if (!event.todo) process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
stream.on("end", () => {
  if (weightsOut === undefined) return;
  const root = process.cwd();
  const weights = Object.fromEntries([...measured].map(([file, ms]) => [path.relative(root, file), Math.round(ms / 100) / 10]).sort(([a, wa], [b, wb]) => wb - wa || (a < b ? -1 : 1)));
  writeFileSync(weightsOut, `${JSON.stringify(weights, null, 2)}\n`);
});
