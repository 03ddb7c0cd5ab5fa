/**
 * Every driver entry, with the runtime it needs and how to open its native connection. A driver's
 * library is imported only inside `open` and `load`, so this list can be read on any runtime; each
 * test runs the drivers of the runtime it is on ({@link driversForThisRuntime}). Adding a driver is
 * one line here.
 */
import type { MigrationManagerProps, MigrationResult, UpOptions } from "../../src/core/options.js";
import type { SyncMigrationManager } from "../../src/core/manager.js";
import type { MigrationRegistry } from "../../src/core/types.js";

/** Where a driver runs: better-sqlite3 is built for the Node 20 in PATH, node:sqlite needs Node 24's binary, bun:sqlite Bun. */
export type DriverRuntime = "node20" | "node24" | "bun";

/** The surface every driver entry has. */
export interface DriverEntry {
  MigrationManager: new (db: never, migrations: MigrationRegistry, props?: MigrationManagerProps) => SyncMigrationManager<unknown, MigrationRegistry>;
  migrate(db: never, migrations: MigrationRegistry, options?: MigrationManagerProps & UpOptions): MigrationResult;
}

/** One row of the matrix. */
export interface DriverUnderTest {
  /** The driver's name, as its errors give it. */
  readonly name: string;
  readonly runtime: DriverRuntime;
  /** The entry's source, repo-relative (the bundle test builds it). */
  readonly entry: string;
  /** Imports the entry. */
  load(): Promise<DriverEntry>;
  /** Opens a native connection on `file` (created when missing); close it with `.close()`. */
  open(file: string): Promise<{ close(): void }>;
}

// Variable specifiers: @types/node 20 has no node:sqlite, and each module exists only on its runtime.
const NODE_SQLITE: string = "node:sqlite";
const BUN_SQLITE: string = "bun:sqlite";

/** Every driver, one line each. */
export const DRIVERS: readonly DriverUnderTest[] = [
  {
    name: "better-sqlite3",
    runtime: "node20",
    entry: "src/entries/better-sqlite3.ts",
    load: async () => (await import("../../src/entries/better-sqlite3.js")) as unknown as DriverEntry,
    open: async (file) => new (await import("better-sqlite3")).default(file),
  },
  {
    name: "node-sqlite",
    runtime: "node24",
    entry: "src/entries/node-sqlite.ts",
    load: async () => (await import("../../src/entries/node-sqlite.js")) as unknown as DriverEntry,
    open: async (file) => new ((await import(NODE_SQLITE)) as { DatabaseSync: new (file: string) => { close(): void } }).DatabaseSync(file),
  },
  {
    name: "bun-sqlite",
    runtime: "bun",
    entry: "src/entries/bun-sqlite.ts",
    load: async () => (await import("../../src/entries/bun-sqlite.js")) as unknown as DriverEntry,
    open: async (file) => new ((await import(BUN_SQLITE)) as { Database: new (file: string) => { close(): void } }).Database(file),
  },
];

/** The runtime this process is. */
export function currentRuntime(): DriverRuntime {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") return "bun";
  return Number(process.versions.node.split(".")[0]) >= 24 ? "node24" : "node20";
}

/** The drivers that run here. */
export function driversForThisRuntime(): DriverUnderTest[] {
  const runtime = currentRuntime();
  return DRIVERS.filter((driver) => driver.runtime === runtime);
}
