/**
 * The multi-process suites' harness: `describeEachChildDriver` declares a suite once per driver of
 * the matrix, whatever runtime the parent runs on, because the processes under test run
 * `migrate-child.ts` in the driver's own runtime (Node 24 for node:sqlite, Bun for bun:sqlite). What a
 * driver can do is what it declares there (the child's `probe`), so a test skips a driver only by a
 * declared capability, with the reason printed; a runtime that is not installed, or a library that
 * cannot load in it, skips the whole suite with that reason.
 *
 * The parent reads files through a driver too: the driver under test when this runtime can load it
 * and it is sync, otherwise libsql, which loads under Node and Bun alike and reads the same SQLite format.
 *
 * With `{ clients: true }` the suite also runs on libsql-client on a `file:` URL
 * ({@link LIBSQL_CLIENT_FILE}): its bodies receive a transaction, so such a suite takes its fixtures
 * through {@link ChildDriverHarness.fixture}.
 *
 * These series are the suite's soaks: the quick run (`npm test`) runs them on better-sqlite3 alone,
 * the full run (`STEPWISE_FULL=1`, `.ci/run`) on every driver (`tier.ts`).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { describe } from "node:test";
import type { DriverCapabilities, DriverCapability, SyncDriver } from "../../src/core/driver.js";
import type { SyncMigrationManager } from "../../src/core/manager.js";
import type { MigrationRegistry } from "../../src/core/types.js";
import { DRIVERS, LIBSQL_CLIENT_FILE, SUITE_DRIVERS, childCommand, isAvailable, matrixRoot, unloadableReason, type DriverUnderTest } from "./driver-matrix.js";
import type { WorkerReply, WorkerRequest } from "./migrate-child.js";
import { FULL_RUN } from "./tier.js";

/** The child program every multi-process test runs. */
export const childScript = path.join(matrixRoot, "test", "support", "migrate-child.ts");

/** A file opened in the parent: the driver's primitives, and a manager on the same connection. */
export interface ParentReader {
  /** The name of the driver the parent reads with. */
  readonly driverName: string;
  readonly driver: SyncDriver<unknown>;
  manager(migrations: MigrationRegistry): SyncMigrationManager<unknown, MigrationRegistry>;
  close(): void;
}

/** A long-lived `serve` child: one request at a time, answered in order. */
export interface Worker {
  request(message: WorkerRequest): Promise<WorkerReply>;
  /** Ends its stdin; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** One driver, as the multi-process suites see it. */
export interface ChildDriverHarness {
  readonly name: string;
  readonly underTest: DriverUnderTest;
  /** What the driver declares in its own runtime. */
  readonly capabilities: DriverCapabilities;
  /** `true`, after skipping `t` with a printed reason, when the driver does not declare all of `capabilities`. */
  lacks(t: { skip(message?: string): void }, ...capabilities: DriverCapability[]): boolean;
  /**
   * `true`, after skipping `t` with the reason, when several processes cannot open one database through
   * the driver: it declares no `fileLocking` and is no client of a file URL (sql.js, whose database
   * lives in the process's memory).
   */
  lacksSharedFile(t: { skip(message?: string): void }): boolean;
  /** The fixture folder for this driver: `name`, or `name-libsql-client`, whose bodies use a transaction's `execute`. */
  fixture(name: string): string;
  /** Starts `migrate-child.ts <driver> <mode> …` in the driver's runtime, with piped stdio. */
  spawnChild(mode: string, args: readonly string[]): ChildProcessWithoutNullStreams;
  /** Starts a `serve` worker on `registryFile` and waits until it has loaded it. */
  startWorker(registryFile: string): Promise<Worker>;
  /** Opens `file` in the parent; see the module note for which driver. */
  openReader(file: string): Promise<ParentReader>;
}

/** Runs a child to its end; rejects with its stderr when it fails. */
export function collect(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => (code === 0 ? resolve(stdout) : reject(new Error(`child exited ${code ?? signal}:\n${stderr}`))));
  });
}

function startWorker(spawnChild: ChildDriverHarness["spawnChild"], registryFile: string): Promise<Worker> {
  const child = spawnChild("serve", [registryFile]);
  const waiting: Array<(line: string) => void> = [];
  let buffered = "";
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      waiting.shift()?.(line);
    }
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      waiting.push(resolve);
      void exited.then((code) => reject(new Error(`worker exited ${code}:\n${stderr}`)));
    });
  return nextLine().then((ready) => {
    if (!(JSON.parse(ready) as { ready?: boolean }).ready) throw new Error(`worker said ${ready}`);
    return {
      request: (message) => {
        const reply = nextLine().then((line) => JSON.parse(line) as WorkerReply);
        child.stdin.write(`${JSON.stringify(message)}\n`);
        return reply;
      },
      stop: () => {
        child.stdin.end();
        return exited;
      },
    };
  });
}

/** The driver the parent reads `underTest`'s files with. */
async function parentReaderDriver(underTest: DriverUnderTest): Promise<DriverUnderTest> {
  if (underTest !== LIBSQL_CLIENT_FILE && isAvailable(underTest) && (await unloadableReason(underTest)) === null) return underTest;
  return DRIVERS.find((candidate) => candidate.name === "libsql")!;
}

/** A `migrate-child.ts` process for `underTest` in its own runtime. */
function spawnDriverChild(underTest: DriverUnderTest, mode: string, args: readonly string[]): ChildProcessWithoutNullStreams {
  const { command, args: commandArgs } = childCommand(underTest, childScript, [underTest.name, mode, ...args]);
  return spawn(command, commandArgs, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
}

/**
 * What `underTest` declares in its own runtime (a child's `probe`), or why no child can run it here:
 * how a test started from another runtime skips a driver by declared capability.
 */
export async function probeChildCapabilities(underTest: DriverUnderTest): Promise<DriverCapabilities | string> {
  const probeCommand = childCommand(underTest, childScript, [underTest.name, "probe"]);
  if (probeCommand.missing !== null) return `${underTest.name} needs ${probeCommand.missing}, which is not installed`;
  const probed = JSON.parse(await collect(spawnDriverChild(underTest, "probe", []))) as { capabilities?: DriverCapabilities; unloadable?: string };
  return probed.capabilities ?? probed.unloadable ?? "the probe said nothing";
}

/**
 * Declares `body`'s tests once per driver of the matrix (narrowed by `STEPWISE_DRIVERS=a,b`), each in
 * a `describe` named `title [driver]`. Await it at the top level of the test file.
 */
export async function describeEachChildDriver(title: string, body: (harness: ChildDriverHarness) => void, options: { readonly clients?: boolean } = {}): Promise<void> {
  const only = process.env.STEPWISE_DRIVERS?.split(",").map((name) => name.trim()) ?? (FULL_RUN ? undefined : ["better-sqlite3"]);
  const drivers = options.clients ? [...SUITE_DRIVERS, LIBSQL_CLIENT_FILE] : SUITE_DRIVERS;
  for (const underTest of drivers.filter((candidate) => !only || only.includes(candidate.name))) {
    const capabilities = await probeChildCapabilities(underTest);
    if (typeof capabilities === "string") {
      describe(`${title} [${underTest.name}]`, { skip: capabilities }, () => {});
      continue;
    }
    const spawnChild: ChildDriverHarness["spawnChild"] = (mode, args) => spawnDriverChild(underTest, mode, args);
    const readWith = await parentReaderDriver(underTest);
    const readEntry = await readWith.load();
    const harness: ChildDriverHarness = {
      name: underTest.name,
      underTest,
      capabilities,
      lacks: (t, ...needed) => {
        const missing = needed.filter((capability) => !capabilities[capability]);
        if (missing.length === 0) return false;
        t.skip(`${underTest.name} does not declare ${missing.join(", ")}`);
        return true;
      },
      lacksSharedFile: (t) => {
        if (capabilities.fileLocking || underTest === LIBSQL_CLIENT_FILE) return false;
        t.skip(`${underTest.name} declares no fileLocking: its database is no file several processes share`);
        return true;
      },
      fixture: (name) => (underTest === LIBSQL_CLIENT_FILE ? `${name}-libsql-client` : name),
      spawnChild,
      startWorker: (registryFile) => startWorker(spawnChild, registryFile),
      openReader: async (file) => {
        const native = await readWith.open(file);
        const driver = new readEntry.MigrationManager(native as never, []).driver;
        return {
          driverName: readWith.name,
          driver,
          manager: (migrations) => new readEntry.MigrationManager(native as never, migrations),
          close: () => void native.close(),
        };
      },
    };
    describe(`${title} [${underTest.name}]`, () => body(harness));
  }
}
