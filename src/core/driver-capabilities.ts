/**
 * What a driver can do beyond the required primitives, apart from `driver.ts` so the
 * errors (`DRIVER_CAPABILITY_MISSING`) can name a capability without importing the driver seam.
 */
/**
 * What a driver can do beyond the required primitives, read off it by `defineDriver`: a capability
 * served by a method is there when the method is; the rest a driver lists in `lacks`. Never discovered
 * by failing.
 */
export interface DriverCapabilities {
  /** `PRAGMA user_version` can be written (Turso, D1 and Durable Objects refuse it). */
  readonly userVersion: boolean;
  /** Several processes share one database file under SQLite's file locks (the owner lock sidecar). */
  readonly fileLocking: boolean;
  /** Foreign-key enforcement can be switched off outside a transaction (`PRAGMA foreign_keys`). */
  readonly foreignKeySwitch: boolean;
  /** The whole database can be copied into a private connection and reopened (`snapshot`/`openSnapshot`). */
  readonly snapshot: boolean;
  /** SQLite's online backup API (`backupTo`). */
  readonly onlineBackup: boolean;
  /** The processes holding a lock can be named (`lockHolders`). */
  readonly lockHolders: boolean;
  /** `changeCounter()` returns a number; without it every attempt re-reads the history. */
  readonly changeCounter: boolean;
  /** `SAVEPOINT`/`RELEASE` work, so the transaction-escape guard can run. */
  readonly savepoints: boolean;
  /**
   * The library reaches real files by path: it can open another database file (`openFile`) and write
   * one (`VACUUM INTO`, the online backup). sql.js cannot: its files live in WebAssembly memory.
   */
  readonly openFile: boolean;
  /**
   * `snapshot` works while the app's connection is inside a transaction, and the copy holds what that
   * connection reads, its uncommitted writes included. Without it, a snapshot there is refused with
   * `TRANSACTION_OPEN` where it cannot be taken (sql.js's `export()` with a write pending).
   */
  readonly snapshotInTransaction: boolean;
  /**
   * The database has no interactive transaction, only an atomic batch (Cloudflare D1): a SQL
   * migration is applied as one `batch` holding its history row first, then its statements. A
   * TypeScript migration cannot be made atomic there and is refused.
   */
  readonly atomicBatch: boolean;
  /**
   * A TypeScript migration's `context.forEachBatch` walks a table in keyed batches. Without it the
   * call is refused with `USAGE` (D1: no interactive transaction; Durable Objects: left out of a
   * bundle kept small), and the migration walks with its own keyed queries.
   */
  readonly batchWalk: boolean;
  /**
   * A SQL migration's script and its history writes can go to the server as one request
   * (`Driver.scriptWithHistory`; PostgreSQL's simple query protocol runs a string of statements
   * as one round trip, stopping at the first error).
   */
  readonly scriptWithHistory: boolean;
}
/** One of {@link DriverCapabilities}' names. */
export type DriverCapability = keyof DriverCapabilities;
