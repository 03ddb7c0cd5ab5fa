/**
 * What a driver can do beyond the required primitives, read off it by `defineDriver`: mostly the
 * presence of a method, else a lack the driver declares. Apart from `driver.ts` so the errors can
 * name a capability without importing the seam.
 */
export interface DriverCapabilities {
  /** `PRAGMA user_version` can be written (Turso, D1 and Durable Objects refuse it). */
  readonly userVersion: boolean;
  /** Processes sharing the file can see each other's owner lock (`holdOwnerLock`, `probeOwnerLock`). */
  readonly fileLocking: boolean;
  /** Foreign-key enforcement can be switched off outside a transaction. */
  readonly foreignKeySwitch: boolean;
  /** The database can be copied into a private connection (`snapshot`, `openSnapshot`). */
  readonly snapshot: boolean;
  /** SQLite's online backup API (`backupTo`). */
  readonly onlineBackup: boolean;
  /** The processes holding a lock can be named (`lockHolders`). */
  readonly lockHolders: boolean;
  /** `changeCounter()` returns a number; without it every attempt re-reads the history. */
  readonly changeCounter: boolean;
  /** `SAVEPOINT` works, so the transaction-escape guard can run. */
  readonly savepoints: boolean;
  /** The library reaches real files by path (`openFile`, `VACUUM INTO`); sql.js cannot. */
  readonly openFile: boolean;
  /** `snapshot` works inside the app's transaction, its uncommitted writes included. */
  readonly snapshotInTransaction: boolean;
  /** No interactive transaction, only an atomic `batch` (D1): TypeScript migrations are refused. */
  readonly atomicBatch: boolean;
  /** `context.forEachBatch` works (`createContext`); without it the call is refused with `USAGE`. */
  readonly batchWalk: boolean;
  /** The driver opens a scratch database of its own to replay migrations in (`openScratchDatabase`: libsql-client given `scratchClient`). */
  readonly scratchDatabase: boolean;
}
/** One of {@link DriverCapabilities}' names. */
export type DriverCapability = keyof DriverCapabilities;
