/**
 * Test support: a Worker bundled with esbuild (the stepwise driver entries and a generated registry)
 * and run in workerd through Miniflare 3, with one Durable Object class (SQLite storage) and one D1
 * binding. Tests drive it over fetch (`dispatchFetch`); nothing is mocked.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The RPC Worker's source (see `rpc-worker.ts`). */
export const rpcWorkerSource = path.join(here, "rpc-worker.ts");

/** This repo's source of a package entry, which a migration's `import { defineMigration } from "stepwise-migrate/d1"` bundles. */
const STEPWISE_ENTRY = (name: string): string => path.resolve(here, "../../../src/entries", `${name}.ts`);

/** The compatibility date the test Workers run with. */
export const COMPATIBILITY_DATE = "2024-09-23";

/**
 * Bundles `entry` for workerd into `outDir/worker.js`, with `stepwise-migrate/durable-objects` and
 * `stepwise-migrate/d1` resolved to this repo's source and `aliases` added (the RPC Worker's
 * `stepwise-test-registry`). Returns the bundle's path.
 */
export async function bundleWorker(entry: string, outDir: string, aliases: Record<string, string> = {}): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const outfile = path.join(outDir, "worker.js");
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile,
    external: ["cloudflare:*"],
    alias: { "stepwise-migrate/durable-objects": STEPWISE_ENTRY("durable-objects"), "stepwise-migrate/d1": STEPWISE_ENTRY("d1"), ...aliases },
    logLevel: "error",
  });
  return outfile;
}

/** {@link bundleWorker} into a temp folder of its own, named from `prefix`, which goes when the process exits: for a Worker bundled once per process. */
export function bundleWorkerForProcess(entry: string, prefix: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return bundleWorker(entry, dir);
}

/** A running workerd with the test bindings. */
export interface RunningWorker {
  readonly miniflare: Miniflare;
  /** One RPC call (see `rpc-worker.ts`): `target` is `d1` or `do/<object name>`. Resolves to `{ result }` or `{ error }`. */
  call(target: string, op: string, args?: Record<string, unknown>): Promise<{ result?: unknown; error?: Record<string, unknown> & { code?: string } }>;
  dispose(): Promise<void>;
}

/**
 * Starts workerd on `script` with the Durable Object class `MigratedObject` (SQLite storage) as `OBJ`
 * (or `className` as `binding`) and a D1 database as `DB` (or `d1Binding`). With `persistDir`, D1 and Durable Object data live there, so two
 * workers started on the same folder share them. `compatibility` replaces the test Workers' date and flags.
 */
export async function startWorker(
  script: string,
  options: { persistDir?: string; className?: string; binding?: string; d1Binding?: string; compatibility?: { date: string; flags: string[] } } = {},
): Promise<RunningWorker> {
  const miniflare = new Miniflare({
    modules: true,
    scriptPath: script,
    // workerd refuses module paths that climb out of its root with "..": the root is the bundle's folder.
    modulesRoot: path.dirname(script),
    compatibilityDate: options.compatibility?.date ?? COMPATIBILITY_DATE,
    compatibilityFlags: options.compatibility?.flags ?? [],
    durableObjects: { [options.binding ?? "OBJ"]: { className: options.className ?? "MigratedObject", useSQLite: true } },
    d1Databases: { [options.d1Binding ?? "DB"]: "stepwise-test" },
    ...(options.persistDir ? { d1Persist: path.join(options.persistDir, "d1"), durableObjectsPersist: path.join(options.persistDir, "do") } : {}),
  });
  await miniflare.ready;
  return {
    miniflare,
    call: async (target, op, args = {}) => {
      const response = await miniflare.dispatchFetch(`http://worker/${target}`, { method: "POST", body: JSON.stringify({ op, args }) });
      return (await response.json()) as { result?: unknown; error?: Record<string, unknown> & { code?: string } };
    },
    dispose: () => miniflare.dispose(),
  };
}

/** Several Workers in one workerd, each its own isolate, all bound to the same D1 database. */
export interface RunningWorkers {
  /** One RPC call (see `rpc-worker.ts`) to the Worker named `worker`. */
  call(worker: string, target: string, op: string, args?: Record<string, unknown>): Promise<{ result?: unknown; error?: Record<string, unknown> & { code?: string } }>;
  dispose(): Promise<void>;
}

/**
 * Starts workerd with one Worker per name in `names`, each running `script` in its own isolate with
 * `DB` bound to one shared D1 database, as two deployed Workers share a production D1. Stepwise's
 * state in one isolate (module scope, a cached manager) is invisible to the others, so only the
 * database can keep them from applying a migration twice.
 */
export async function startWorkers(script: string, names: readonly string[]): Promise<RunningWorkers> {
  const miniflare = new Miniflare({
    workers: names.map((name) => ({
      name,
      modules: true,
      scriptPath: script,
      modulesRoot: path.dirname(script),
      compatibilityDate: COMPATIBILITY_DATE,
      durableObjects: { OBJ: { className: "MigratedObject", useSQLite: true } },
      d1Databases: { DB: "stepwise-shared" },
    })),
  });
  await miniflare.ready;
  return {
    call: async (worker, target, op, args = {}) => {
      const fetcher = await miniflare.getWorker(worker);
      const response = await fetcher.fetch(`http://worker/${target}`, { method: "POST", body: JSON.stringify({ op, args }) });
      return (await response.json()) as { result?: unknown; error?: Record<string, unknown> & { code?: string } };
    },
    dispose: () => miniflare.dispose(),
  };
}
