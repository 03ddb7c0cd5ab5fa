/**
 * Node's test runner over the given files, in shards: a shard is one process that imports its files
 * one after another, so what every test process pays before its first test (Node, tsx's loader, and
 * the modules nearly every file imports: TypeScript and ts-morph, the CLI, the drivers, about 2–3 s
 * of CPU) is paid once per shard instead of once per file. Node 20 has no `--test-isolation=none`;
 * a shard is its own small entry module, which `run()` starts as it would a test file.
 *
 *   node --import tsx scripts/run-node-tests.mjs <concurrency> <file>...
 *
 * A file runs in a process of its own when its top-level code reaches beyond its own tests: a hook on
 * the whole process (any `before`/`after` imported from node:test: a root hook in a shard runs when
 * the shard's last test ends, which can be before a later file has finished loading), a change to
 * `process.env` or the working folder. Files are dealt to the shards longest first (`scripts/test.mjs` passes them in that order),
 * each to the lightest shard, by the weights in `scripts/test-weights.json`. A shard's tests run one at
 * a time, but a file's top-level code runs as the shard imports it, while the files before it are
 * testing: so top-level code only declares, and work a file's tests share (a database, a child's run)
 * is made on first use inside a test, never at import.
 *
 * Output is Node's spec reporter, as `node --test --test-reporter=spec` prints it, and the exit code
 * is 1 when a test failed (a failing `todo` test fails nothing). A failure names the test and its
 * stack; the file a shard ran is in the shard's entry, which the output names.
 *
 * With `STEPWISE_TEST_WEIGHTS_OUT=<file>` the run is the same, and each file's weight (the seconds its
 * top-level tests and suites took, as they ran here beside the others) is written there in the form of
 * `scripts/test-weights.json`, files this run did not take kept from that list: to refresh it after the
 * suite changes. Weights taken beside the others, not each file in a process of its own: what slows
 * most when six processes share the cores (the PostgreSQL files: each process runs its own server) is
 * what holds a shard open.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { run } from "node:test";
import { spec } from "node:test/reporters";

const [concurrency, ...files] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const weightsOut = process.env.STEPWISE_TEST_WEIGHTS_OUT;
/**
 * Processes at once per unit of concurrency: a shard runs its tests one at a time, so while one waits
 * on a child process or a server, another keeps the core busy. With two per lane, a quick run's Node
 * 20 part burned about 500 s of CPU in 390 s on an idle 2-core machine, the cores a third idle; three
 * ran 24 mid-weight files in 236 s instead of 288 s (for 6% more CPU: two more processes' start-up).
 */
const PROCESSES_PER_LANE = 3;
/** The weight of a file not measured yet: a middling one. */
const UNMEASURED_SECONDS = 10;
/**
 * Top-level code that would reach the other files of a shard: a whole-process hook however it is
 * called (by name, renamed on import, or handed to a helper as `{ after }`: any import of one from
 * node:test counts), a change to the working folder or to `process.env`.
 */
const REACHES_BEYOND_ITS_FILE =
  /^(before|after|beforeEach|afterEach)\(|import\s*\{[^}]*\b(before|after|beforeEach|afterEach)\b[^}]*\}\s*from\s*"node:test"|process\.chdir\(|process\.env(\.\w+|\[[^\]]+\])\s*=(?!=)|delete process\.env/m;

const scratch = mkdtempSync(path.join(tmpdir(), "stepwise-test-shards-"));
process.once("exit", () => rmSync(scratch, { recursive: true, force: true }));

/** Seconds of top-level tests per file, when measuring. */
const measured = weightsOut === undefined ? null : new Map();

/**
 * The entries `run()` starts: each file alone when measuring or when it must be, the rest in shards.
 * The processes at once are lanes: the files that run alone are dealt to them first (they start
 * first, the longest at once), then the other files to the lightest lane, and each lane's share of
 * those is one shard. A lane whose alone files are long gets a shorter shard, so the lanes end
 * together; dealt into equal shards, the shards that waited for the long alone files to end started
 * a minute late and ended a minute after the rest.
 */
function planEntries() {
  const weights = JSON.parse(readFileSync(path.join(root, "scripts", "test-weights.json"), "utf8"));
  const weightOf = (file) => weights[file] ?? UNMEASURED_SECONDS;
  const alone = files.filter((file) => REACHES_BEYOND_ITS_FILE.test(readFileSync(path.resolve(root, file), "utf8")));
  const shared = files.filter((file) => !alone.includes(file));
  const lanes = Array.from({ length: Number(concurrency) * PROCESSES_PER_LANE }, () => ({ files: [], seconds: 0, sharedSeconds: 0 }));
  const lightest = () => lanes.reduce((best, lane) => (lane.seconds < best.seconds ? lane : best));
  for (const file of alone) lightest().seconds += weightOf(file);
  for (const file of shared) {
    const lane = lightest();
    lane.files.push(file);
    lane.seconds += weightOf(file);
    lane.sharedSeconds += weightOf(file);
  }
  // Longest first: as alone files end, the lane freed first (the one with the least alone) takes the longest shard.
  const entries = lanes
    .filter((lane) => lane.files.length > 0)
    .sort((a, b) => b.sharedSeconds - a.sharedSeconds)
    .map((shard, index) => {
      const entry = path.join(scratch, `shard-${index + 1}.test.mjs`);
      const imports = shard.files.map((file) => `await import(${JSON.stringify(pathToFileURL(path.resolve(root, file)).href)});`);
      writeFileSync(entry, `// ${shard.files.join(", ")}\n${imports.join("\n")}\n`);
      process.stderr.write(`shard-${index + 1} (${Math.round(shard.sharedSeconds)} s): ${shard.files.map((file) => path.basename(file, ".test.ts")).join(", ")}\n`);
      return entry;
    });
  return [...alone, ...entries];
}

const stream = run({ files: planEntries(), concurrency: Number(concurrency) * PROCESSES_PER_LANE });
stream.on("test:fail", (event) => {
  if (!event.todo) process.exitCode = 1;
});
if (measured !== null) {
  // A test's `file` is where it was declared, also inside a shard.
  const count = (event) => {
    if (event.nesting !== 0 || event.file === undefined) return;
    const file = path.relative(root, event.file).split(path.sep).join("/");
    measured.set(file, (measured.get(file) ?? 0) + (event.details.duration_ms ?? 0) / 1000);
  };
  stream.on("test:pass", count);
  stream.on("test:fail", count);
}
stream.compose(spec).pipe(process.stdout);
stream.on("end", () => {
  if (measured === null) return;
  const weights = JSON.parse(readFileSync(path.join(root, "scripts", "test-weights.json"), "utf8"));
  for (const [file, seconds] of measured) if (files.includes(file)) weights[file] = Math.round(seconds * 10) / 10;
  const sorted = Object.fromEntries(Object.entries(weights).sort(([a, wa], [b, wb]) => wb - wa || (a < b ? -1 : 1)));
  writeFileSync(weightsOut, `${JSON.stringify(sorted, null, 2)}\n`);
});
