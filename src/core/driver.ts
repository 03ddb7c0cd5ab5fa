/** The seam between the algorithm and a database library; a driver writes part of it and `defineDriver` fills the rest. Sync drivers return values, async ones promises. */
import { StepwiseError, type ErrorKind, type LockHolder } from "./errors.js";
import { copyTexts, keepText, text, type Text } from "./option-text.js";
import type { MigrationContext, MigrationDirection, MigrationEntry } from "./types.js";
import type { DriverCapabilities, DriverCapability } from "./driver-capabilities.js";

/** A driver's reading of an error it threw. */
export interface ErrorClassification {
  readonly kind: ErrorKind;
  /** The library's own code (`SQLITE_BUSY`, a PostgreSQL SQLSTATE), or `null`. */
  readonly nativeCode: string | null;
}

/** One row as an object keyed by column name. */
export type Row = Record<string, unknown>;

/** A held owner lock: its sidecar file's name, recorded in the `started` row, and its release (safe to call twice). */
export interface OwnerLockHandle {
  readonly fileName: string;
  release(): void;
}

/** `T` for a sync driver, `Promise<T>` for an async one. */
export type MaybePromise<T, Async extends boolean> = Async extends true ? Promise<T> : T;

/** The primitives of one connection; `Db` is the native connection that migration bodies receive. */
export interface Driver<Db = unknown, Async extends boolean = boolean> {
  /** The library's name, for errors (`"better-sqlite3"`). */
  readonly name: string;
  readonly dialect: "sqlite" | "postgres";
  readonly async: Async;
  readonly connection: Db;
  /** The database file's absolute path as SQLite opened it, or `null` (in memory, remote). */
  readonly filePath: string | null;
  /** Derived by `defineDriver` from the methods present. */
  readonly capabilities: DriverCapabilities;
  exec(sql: string): MaybePromise<void, Async>;
  /** Reads rows; integers come back as numbers whatever the connection's defaults. */
  query(sql: string, params: readonly unknown[]): MaybePromise<Row[], Async>;
  run(sql: string, params: readonly unknown[]): MaybePromise<{ changes: number }, Async>;
  /**
   * Opens the exclusive write section (SQLite: `BEGIN IMMEDIATE`, waiting up to the busy timeout). `head`: PostgreSQL's `SET TRANSACTION` statements a migration starts with, sent
   * before any query of stepwise's, and blanked from what the transaction then `exec`s.
   */
  begin(mode: "immediate" | "deferred", head?: string): MaybePromise<void, Async>;
  commit(): MaybePromise<void, Async>;
  rollback(): MaybePromise<void, Async>;
  inTransaction(): MaybePromise<boolean, Async>;
  /** A number that changes when another connection commits, or `null`: always re-read. */
  changeCounter(): MaybePromise<number | null, Async>;
  getBusyTimeout(): MaybePromise<number, Async>;
  setBusyTimeout(ms: number): MaybePromise<void, Async>;
  runBody(entry: MigrationEntry & { kind: "ts" }, direction: MigrationDirection, context: MigrationContext): unknown;
  /** Refuses writes until `settled` settles, after the sync runner refused a body that returned a promise. Never throws. */
  fenceWritesUntil?(settled: PromiseLike<unknown>): void;
  /** What the sync runner tells an awaiting body to do where the entry has no async API (Durable Objects). */
  readonly asyncBodyFix?: string;
  createContext(entry: MigrationEntry, direction: MigrationDirection, progress: (done: number, total: number | null) => void): MigrationContext;
  classifyError(error: unknown): ErrorClassification;
  /** The write section as a callback (Durable Objects' `transactionSync`), in place of begin, commit and rollback. */
  writeSection?(body: () => void): void;
  /** Applies `statements`, then `script`'s, as one atomic batch (capability `atomicBatch`). */
  batch?(statements: readonly BatchStatement[], script: string): void | Promise<void>;
  /** Takes the owner lock sidecar, or returns `null` (capability `fileLocking`). */
  holdOwnerLock?(tableName: string, busyTimeoutMs: number): MaybePromise<OwnerLockHandle | null, Async>;
  /** Whether another process holds the named owner lock (capability `fileLocking`). */
  probeOwnerLock?(fileName: string): MaybePromise<"held" | "free" | "unknown", Async>;
  /** The processes holding the database's lock (capability `lockHolders`). */
  lockHolders?(): LockHolder[];
  /** The whole database as bytes (capability `snapshot`). */
  snapshot?(): MaybePromise<Uint8Array, Async>;
  /** A driver on a new private connection holding `bytes` (empty: an empty database). */
  openSnapshot?(bytes: Uint8Array): MaybePromise<Driver<Db, Async>, Async>;
  /** `false` once the connection was closed; left out where the library cannot tell. */
  isOpen?(): boolean;
  /** Closes a connection the driver opened itself; never called on the app's own. */
  close?(): MaybePromise<void, Async>;
  /** Copies the live database to `path` with the online backup API; resolves to the pages copied. */
  backupTo?(path: string): Promise<number>;
  /** A driver of the same library on another file; `readonly` needs it to exist (capability `openFile`). The caller closes it. */
  openFile?(path: string, options: { readonly readonly: boolean; readonly busyTimeoutMs: number }): MaybePromise<Driver<Db, Async>, Async>;
  /** Takes the run lock of history table `tableName` (PostgreSQL's advisory lock) and returns its release; `DATABASE_LOCKED` past `busyTimeoutMs`. */
  holdRunLock?(tableName: string, busyTimeoutMs: number): Promise<() => Promise<void>>;
  /** A new, empty database on the same server for the replaying safety nets; the caller drops it. */
  openScratchDatabase?(): Promise<ScratchDatabase<Db>>;
}

/** One statement of {@link Driver.batch}. */
export interface BatchStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** A scratch database from {@link Driver.openScratchDatabase}. */
export interface ScratchDatabase<Db = unknown> {
  readonly name: string;
  readonly driver: AsyncDriver<Db>;
  /** Closes the connection and drops the database; safe to call twice. */
  drop(): Promise<void>;
}

/** A driver whose primitives return values. */
export type SyncDriver<Db = unknown> = Driver<Db, false>;
/** A driver whose primitives return promises. */
export type AsyncDriver<Db = unknown> = Driver<Db, true>;

/** The package entry of the driver named `name`, as an app imports it (`stepwise-migrate/sql-js` for sql.js, whose driver is named for its library). */
export function driverEntry(name: string): string {
  return `stepwise-migrate/${name.replace(".", "-")}`;
}

/** `DRIVER_CAPABILITY_MISSING`: a safety net needs what the driver lacks; thrown before anything runs. */
export function driverCapabilityError(fields: {
  driver: string;
  capability: DriverCapability;
  operation: string | Text;
  file?: string;
  fix?: string | Text;
}): StepwiseError<"DRIVER_CAPABILITY_MISSING"> {
  const texts = {};
  const operation = typeof fields.operation === "string" ? fields.operation : keepText(texts, "operation", fields.operation);
  const fix = fields.fix === undefined ? null : typeof fields.fix === "string" ? fields.fix : keepText(texts, "fix", fields.fix);
  const message = text`${fields.file === undefined ? "" : `${fields.file}: `}${fields.operation} needs the "${fields.capability}" capability, which the ${fields.driver} driver does not have. Nothing was changed.${fields.fix === undefined ? "" : text` ${fields.fix}`}`;
  return copyTexts(texts, new StepwiseError("DRIVER_CAPABILITY_MISSING", message, { driver: fields.driver, capability: fields.capability, operation, file: fields.file ?? null, fix }));
}

/** Throws `DRIVER_CAPABILITY_MISSING` unless `driver` has every one of `capabilities`. */
export function requireCapabilities(driver: Pick<Driver, "name" | "capabilities">, operation: string, ...capabilities: DriverCapability[]): void {
  for (const capability of capabilities) if (!driver.capabilities[capability]) throw driverCapabilityError({ driver: driver.name, capability, operation });
}

export type { DriverCapabilities, DriverCapability } from "./driver-capabilities.js";
