/**
 * The driver test matrix: every driver entry, one line each, with the runtime it needs and how to
 * open its native connection. `runtime` is `node20` for a library any supported Node loads (Bun
 * loads Node's packages too, so these run there when their addon loads), `node24` for one that needs
 * Node 24 or later (node:sqlite), `bun` for Bun only (bun:sqlite). A library is imported only inside
 * `load` and `open`, so this list can be read on any runtime and a test loads only the drivers it
 * runs ({@link availableDrivers}). Adding a driver is one line here.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MigrationManagerProps, MigrationResult, UpOptions } from "../../src/core/options.js";
import type { SyncMigrationManager } from "../../src/core/manager.js";
import type { MigrationRegistry } from "../../src/core/types.js";

/** Where a driver runs; see the module note. */
export type DriverRuntime = "node20" | "node24" | "bun";

/** The surface every driver entry has. */
export interface DriverEntry {
  MigrationManager: new (db: never, migrations: MigrationRegistry, props?: MigrationManagerProps) => SyncMigrationManager<unknown, MigrationRegistry>;
  migrate(db: never, migrations: MigrationRegistry, options?: MigrationManagerProps & UpOptions & Record<string, unknown>): MigrationResult;
}

/** One driver under test. */
export interface DriverUnderTest {
  /** The driver's name, as its `Driver.name` and errors give it. */
  readonly name: string;
  readonly runtime: DriverRuntime;
  /** The entry's source, repo-relative (the bundle test builds it). */
  readonly entry: string;
  /** The driver's own module, repo-relative. */
  readonly driverFile: string;
  /** Imports the entry. */
  load(): Promise<DriverEntry>;
  /**
   * Opens the library's native connection on `file` (created when missing); close it with
   * `.close()`. sql.js has no file: it opens an in-memory database, loading `file`'s bytes when the
   * file exists.
   */
  open(file: string): Promise<{ close(): unknown }>;
}

// Variable specifiers: @types/node 20 has no node:sqlite, and each module exists only on its runtime.
const NODE_SQLITE: string = "node:sqlite";
const BUN_SQLITE: string = "bun:sqlite";

/** A matrix line; the driver's own module sits next to its entry's name under `src/drivers/`. */
function driver(name: string, runtime: DriverRuntime, file: string, load: () => Promise<unknown>, open: DriverUnderTest["open"]): DriverUnderTest {
  return { name, runtime, entry: `src/entries/${file}.ts`, driverFile: `src/drivers/${file}.ts`, load: async () => (await load()) as DriverEntry, open };
}

/** Every driver, one line each. */
export const DRIVERS: readonly DriverUnderTest[] = [
  driver("better-sqlite3", "node20", "better-sqlite3", () => import("../../src/entries/better-sqlite3.js"), async (file) => new (await import("better-sqlite3")).default(file)),
  driver("node-sqlite", "node24", "node-sqlite", () => import("../../src/entries/node-sqlite.js"), async (file) => new ((await import(NODE_SQLITE)) as { DatabaseSync: new (file: string) => { close(): void } }).DatabaseSync(file)),
  driver("bun-sqlite", "bun", "bun-sqlite", () => import("../../src/entries/bun-sqlite.js"), async (file) => new ((await import(BUN_SQLITE)) as { Database: new (file: string) => { close(): void } }).Database(file)),
  driver("libsql", "node20", "libsql", () => import("../../src/entries/libsql.js"), async (file) => new (await import("libsql")).default(file)),
  driver("sql.js", "node20", "sql-js", () => import("../../src/entries/sql-js.js"), async (file) => {
    const SQL = await (await import("sql.js")).default();
    return new SQL.Database(existsSync(file) ? readFileSync(file) : undefined);
  }),
];

/** The repository root, for `entry`. */
export const matrixRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The runtime this process is. */
export function currentRuntime(): DriverRuntime {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") return "bun";
  return Number(process.versions.node.split(".")[0]) >= 24 ? "node24" : "node20";
}

/** Whether the running runtime can run `driver` (its addon may still fail to load: {@link unloadableReason}). */
export function isAvailable(driver: DriverUnderTest): boolean {
  const runtime = currentRuntime();
  if (driver.runtime === "bun") return runtime === "bun";
  // Bun implements Node's module and addon APIs, so Node drivers run there too when they load.
  if (runtime === "bun") return driver.runtime !== "node24";
  return driver.runtime === "node20" || runtime === "node24";
}

/**
 * Why `driver` cannot open a connection here, or `null` when it can. A native addon built for another
 * ABI (better-sqlite3 is built for the Node that installed it, not for Node 24 or Bun) is a fact of
 * this machine, not a driver bug: tests skip it by this reason instead of failing.
 */
export async function unloadableReason(driver: DriverUnderTest): Promise<string | null> {
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-matrix-"));
  try {
    (await driver.open(path.join(dir, "probe.db"))).close();
    return null;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === "ERR_DLOPEN_FAILED" || /NODE_MODULE_VERSION|was compiled against a different/.test(message)) return `${driver.name} cannot load here: ${message.split("\n")[0]}`;
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The drivers the running runtime can run; `STEPWISE_DRIVERS=a,b` narrows them by name. */
export function availableDrivers(): DriverUnderTest[] {
  const only = process.env.STEPWISE_DRIVERS?.split(",").map((name) => name.trim());
  return DRIVERS.filter((candidate) => isAvailable(candidate) && (!only || only.includes(candidate.name)));
}
