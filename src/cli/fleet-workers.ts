/** `stepwise fleet` on worker threads, for the sync SQLite drivers, whose every call blocks its thread: each worker loads the driver and the registry once, then runs targets one at a time. */
import { AsyncLocalStorage } from "node:async_hooks";
import { parentPort, Worker, workerData } from "node:worker_threads";
import { describeTargetError, type TargetError } from "../fleet/migrate-many.js";
import { StepwiseError, type StepwiseErrorCode } from "../core/errors.js";
import type { MigrationRegistry, SqlDialect } from "../core/types.js";
import type { CliDriverName } from "./driver-names.js";
import { describeLostTarget, runFleetTarget, type FleetJob, type FleetTargetResult } from "./fleet-task.js";
import type { FleetTargetSpec } from "./fleet-targets.js";
import { loadDriver, type DriverLoaders } from "./open-database.js";
import { createStrayLedger, type StrayError } from "./fleet-strays.js";

/** A worker module, and the data (cloneable) it loads the registry from. */
export interface FleetWorkerSource {
  readonly module: URL;
  readonly data: unknown;
}

/** Runs `use` with a function that runs one target on an idle worker of a pool of `size`. */
export type FleetWorkerPool = <T>(size: number, job: FleetJob, use: (run: (spec: FleetTargetSpec) => Promise<FleetTargetResult>) => Promise<T>) => Promise<T>;

/** How the bin lets `createCli` run a fleet on worker threads: handed over, so an embedded CLI (which has no registry file to load there) never bundles the worker's loader. */
export interface FleetWorkerProps {
  readonly fleetWorker?: (context: { readonly dialect: SqlDialect; readonly driver: CliDriverName }) => FleetWorkerPool;
}

/** What a worker starts with. */
interface WorkerStart {
  readonly data: unknown;
  readonly job: FleetJob;
}

type Reply =
  { readonly type: "ready" } | { readonly type: "failed"; readonly error: TargetError } | { readonly type: "result"; readonly result: FleetTargetResult } | ({ readonly type: "stray" } & StrayError);

/** Starts `module` on a worker thread; a TypeScript one (the bin run from source) through tsx, whose hooks a worker does not inherit on Node. */
function startWorker(module: URL, start: WorkerStart): Worker {
  if ((process.versions as { bun?: string }).bun !== undefined || !module.pathname.endsWith(".ts")) return new Worker(module, { workerData: start });
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  return new Worker(`import(${tsx}).then(({ tsImport }) => tsImport(${JSON.stringify(module.href)}, ${JSON.stringify(module.href)}))`, { eval: true, workerData: start });
}

/**
 * Starts `size` ready workers on `source` and hands `use` a function that runs one target on an idle one (at most `size` at once). A worker that dies (a migration called
 * `process.exit`) fails only its target, as `UNEXPECTED`; a fresh worker takes its place.
 */
export async function withWorkerPool<T>(source: FleetWorkerSource, size: number, job: FleetJob, use: (run: (spec: FleetTargetSpec) => Promise<FleetTargetResult>) => Promise<T>): Promise<T> {
  const replies = new Map<Worker, { resolve(reply: Reply): void; reject(error: unknown): void }>();
  const dead = new Set<Worker>();
  const workers = new Set<Worker>();
  const next = (worker: Worker) => (dead.has(worker) ? Promise.reject(new Error("a fleet worker exited")) : new Promise<Reply>((resolve, reject) => replies.set(worker, { resolve, reject })));
  const strays = createStrayLedger(job);
  const ran = new Map<Worker, string[]>();
  const start = async () => {
    const worker = startWorker(source.module, { data: source.data, job });
    workers.add(worker);
    ran.set(worker, []);
    worker.on("message", (reply: Reply) => (reply.type === "stray" ? strays.caught(reply, ran.get(worker)!) : replies.get(worker)?.resolve(reply)));
    // An uncaught throw ends the thread: its 'exit' follows.
    worker.on("error", (error) => {
      dead.add(worker);
      replies.get(worker)?.reject(error);
    });
    worker.on("exit", (code) => {
      dead.add(worker);
      replies.get(worker)?.reject(new Error(`exit code ${code}`));
    });
    const reply = await next(worker);
    if (reply.type === "failed") {
      // The error it was there.
      const { code, message, ...details } = reply.error;
      throw code === "UNEXPECTED" ? new Error(message) : new StepwiseError(code as StepwiseErrorCode, message, details as never);
    }
    return worker;
  };
  try {
    const idle = await Promise.all(Array.from({ length: size }, start));
    return await use(async (spec) => {
      let worker = idle.pop()!;
      const started = performance.now();
      try {
        if (dead.has(worker)) worker = await start();
        const reply = next(worker);
        ran.get(worker)!.push(spec.id);
        worker.postMessage(spec);
        return strays.settled(spec, ((await reply) as Extract<Reply, { type: "result" }>).result);
      } catch (error) {
        if (!dead.has(worker)) throw error;
        const reason = error instanceof Error && error.message !== "" ? error.message : String(error);
        const message = `The worker thread running it stopped (${reason}) before it reported: a migration called process.exit or crashed the thread. What it had not committed is not applied; run the fleet again to go on.`;
        return describeLostTarget(spec, job, { code: "UNEXPECTED", message }, performance.now() - started);
      } finally {
        idle.push(worker);
      }
    });
  } finally {
    for (const worker of workers) worker.removeAllListeners("exit");
    // Asked to end, not terminated: a terminated thread loses what it wrote to stderr and had not passed on yet (a migration's console output); one that hangs is terminated.
    await Promise.all([...workers].filter((worker) => !dead.has(worker)).map(endWorker));
  }
}

/** Ends an idle worker as its own process would end, its output passed on; terminated after 5 seconds. */
function endWorker(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    const stuck = setTimeout(() => void worker.terminate(), 5_000);
    worker.once("exit", () => {
      clearTimeout(stuck);
      resolve();
    });
    worker.postMessage(null);
  });
}

/** A fleet worker's body: loads the job's driver and the registry, says whether it could, then runs each target it receives. */
export function serveFleetWorker(drivers: DriverLoaders, loadRegistry: (data: unknown) => Promise<MigrationRegistry>): void {
  const port = parentPort!;
  const { data, job } = workerData as WorkerStart;
  // Each database runs in its own async context, which the timers and promises its migrations make carry: a stray error names the database that made it.
  const running = new AsyncLocalStorage<string>();
  process.on("uncaughtException", (error) => port.postMessage({ type: "stray", id: running.getStore() ?? null, error: describeTargetError(error) } satisfies Reply));
  const ready = Promise.all([loadDriver(job.driver, job.mode, `stepwise fleet ${job.task}`, drivers, "--driver"), loadRegistry(data)]);
  ready.then(
    () => port.postMessage({ type: "ready" } satisfies Reply),
    (error: unknown) => port.postMessage({ type: "failed", error: describeTargetError(error) } satisfies Reply),
  );
  port.on("message", (spec: FleetTargetSpec | null) => {
    // null: the pool is done; closing the port lets the thread end once its output is out.
    if (spec === null) return port.close();
    void ready.then(async ([connector, migrations]) =>
      port.postMessage({ type: "result", result: await running.run(spec.id, () => runFleetTarget(connector, migrations, spec, job)) } satisfies Reply),
    );
  });
}
