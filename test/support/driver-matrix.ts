/**
 * The driver test matrix: one line per driver entry. `runtime` is the runtime a driver needs
 * (`node20`: any supported Node, and Bun, which loads Node's packages; `node24`: Node 24 or later;
 * `bun`: Bun only), and `open(file)` opens that library's native connection on a database file
 * (sql.js has no file: it opens an in-memory database, loading `file`'s bytes when the file
 * exists). Libraries are imported inside `open`, so the matrix loads under every runtime and a test
 * loads only the drivers it runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** One driver under test. */
export interface MatrixDriver {
  /** The driver's name, as its `Driver.name` and errors give it. */
  readonly name: string;
  readonly runtime: "node20" | "node24" | "bun";
  /** The entry module, relative to the repository root. */
  readonly entry: string;
  /** Opens the library's native connection on `file`. */
  open(file: string): Promise<{ close(): unknown }>;
}

/** Every driver entry, one line each. */
export const DRIVER_MATRIX: readonly MatrixDriver[] = [
  { name: "better-sqlite3", runtime: "node20", entry: "src/entries/better-sqlite3.ts", open: async (file) => new (await import("better-sqlite3")).default(file) },
  { name: "libsql", runtime: "node20", entry: "src/entries/libsql.ts", open: async (file) => new (await import("libsql")).default(file) },
  {
    name: "sql.js",
    runtime: "node20",
    entry: "src/entries/sql-js.ts",
    open: async (file) => {
      const SQL = await (await import("sql.js")).default();
      return new SQL.Database(existsSync(file) ? readFileSync(file) : undefined);
    },
  },
];

/** The repository root, for `entry`. */
export const matrixRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Whether the running runtime can run `driver`. */
export function isAvailable(driver: MatrixDriver): boolean {
  const bun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  if (driver.runtime === "bun") return bun;
  // Bun implements Node's module and addon APIs, so Node drivers run there too when they load.
  if (bun) return driver.runtime !== "node24";
  const major = Number(process.versions.node.split(".")[0]);
  return driver.runtime === "node24" ? major >= 24 : major >= 20;
}

/**
 * Why `driver` cannot open a connection here, or `null` when it can. A native addon built for another
 * Node ABI (better-sqlite3 is built for the Node that installed it, not for Node 24) is a fact of this
 * machine, not a driver bug: tests skip it by this reason instead of failing.
 */
export async function unloadableReason(driver: MatrixDriver): Promise<string | null> {
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-matrix-"));
  try {
    (await driver.open(path.join(dir, "probe.db"))).close();
    return null;
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_DLOPEN_FAILED") return `${driver.name} cannot load here: ${(error as Error).message.split("\n")[0]}`;
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The drivers the running runtime can run; `STEPWISE_DRIVERS=a,b` narrows them by name. */
export function availableDrivers(): MatrixDriver[] {
  const only = process.env.STEPWISE_DRIVERS?.split(",").map((name) => name.trim());
  return DRIVER_MATRIX.filter((driver) => isAvailable(driver) && (!only || only.includes(driver.name)));
}
