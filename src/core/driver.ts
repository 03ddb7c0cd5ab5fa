/**
 * The seam between the algorithm and a database library, complete: what the executor and the safety
 * nets call. A driver writes only part of it and `defineDriver` (`define-driver.ts`) fills the rest and
 * reads its capabilities off the methods it has; the executor (`executor.ts`) holds everything else. A sync
 * driver's primitives return values, an async driver's return promises; one executor serves both.
 */
import { StepwiseError } from "./errors.js";
import { copyTexts, keepText, text, type Text } from "./option-text.js";
import type { LockHolder } from "./errors.js";
import type { ErrorKind } from "./errors.js";
import type { MigrationContext, MigrationDirection, MigrationEntry } from "./types.js";
import type { DriverCapabilities, DriverCapability } from "./driver-capabilities.js";

/** A driver's reading of an error it threw. */
export interface ErrorClassification {
  readonly kind: ErrorKind;
  /** The library's own code (`SQLITE_BUSY`, `SQLITE_FULL`, a PostgreSQL SQLSTATE), or `null`. */
  readonly nativeCode: string | null;
}

/** One row as an object keyed by column name. */
export type Row = Record<string, unknown>;

/** A held owner lock, as the `holdOwnerLock` operation returns it. */
export interface OwnerLockHandle {
  /** The sidecar file's name, recorded in the `started` row. */
  readonly fileName: string;
  /** Drops the lock; safe to call twice. */
  release(): void;
}

/** `T` for a sync driver, `Promise<T>` for an async one. */
export type MaybePromise<T, Async extends boolean> = Async extends true ? Promise<T> : T;

/**
 * The primitives of one connection. `Db` is the library's native connection type, which migration
 * bodies receive; `Async` says whether every primitive returns a promise.
 */
export interface Driver<Db = unknown, Async extends boolean = boolean> {
  /** The library's name, for errors (`"better-sqlite3"`). */
  readonly name: string;
  /** The SQL dialect of the registries it accepts. */
  readonly dialect: "sqlite" | "postgres";
  /** Whether the primitives return promises (and so need the async runner). */
  readonly async: Async;
  /** The native connection, handed to migration bodies. */
  readonly connection: Db;
  /** The database file's absolute path (the one SQLite opened), or `null` for an in-memory or remote database. */
  readonly filePath: string | null;
  /** What it can do, derived by `defineDriver` from the methods present (see `driver-capabilities.ts`). */
  readonly capabilities: DriverCapabilities;
  /** Runs statements without bound values. */
  exec(sql: string): MaybePromise<void, Async>;
  /** Reads rows as objects. Integers come back as numbers, whatever the app's connection defaults. */
  query(sql: string, params: readonly unknown[]): MaybePromise<Row[], Async>;
  /** Runs one statement with bound values. */
  run(sql: string, params: readonly unknown[]): MaybePromise<{ changes: number }, Async>;
  /** Opens the exclusive write section (on SQLite, `BEGIN IMMEDIATE` waits up to the busy timeout). */
  begin(mode: "immediate" | "deferred"): MaybePromise<void, Async>;
  commit(): MaybePromise<void, Async>;
  rollback(): MaybePromise<void, Async>;
  inTransaction(): MaybePromise<boolean, Async>;
  /** A number that changes when another connection commits, or `null`: "none, always re-read". */
  changeCounter(): MaybePromise<number | null, Async>;
  getBusyTimeout(): MaybePromise<number, Async>;
  setBusyTimeout(ms: number): MaybePromise<void, Async>;
  /** Runs a TypeScript migration body on the native connection with its context. */
  runBody(entry: MigrationEntry & { kind: "ts" }, direction: MigrationDirection, context: MigrationContext): unknown;
  /**
   * Makes the connection refuse writes until `settled` settles, then gives it back as it was: what
   * the sync runner does after it refused a body that returned a promise, so the statements the body
   * runs after its first await (or in a `.then` it returned) fail instead of writing outside any
   * migration. Never throws. Absent: the driver cannot (see `docs/guarantees.md`).
   */
  fenceWritesUntil?(settled: PromiseLike<unknown>): void;
  /**
   * What the sync runner tells a body that awaits to become, where this driver's entry has no async
   * API to run it (Durable Objects: a synchronous body). Absent: declare it `async` and use `migrateAsync`.
   */
  readonly asyncBodyFix?: string;
  /** Builds the context a TypeScript migration receives (its `forEachBatch` runs on the native connection). */
  createContext(entry: MigrationEntry, direction: MigrationDirection, progress: (done: number, total: number | null) => void): MigrationContext;
  classifyError(error: unknown): ErrorClassification;
  /**
   * The write section as a callback (Durable Objects' `transactionSync`, where `BEGIN` SQL is
   * refused): the sync runner calls it at the executor's `begin` and keeps driving the step inside
   * `body` until the matching commit (`body` returns) or rollback (`body` throws). `begin`, `commit`
   * and `rollback` are then never called. Sync drivers only.
   */
  writeSection?(body: () => void): void;
  /**
   * Applies `statements`, then the statements of `script`, as one atomic batch: all or nothing
   * (capability `atomicBatch`).
   */
  batch?(statements: readonly BatchStatement[], script: string): void | Promise<void>;
  /**
   * Inside the open transaction, runs `before` (statements of stepwise's own, which change no rows;
   * default none), `script` (a SQL migration's), then `statements` (its history
   * writes, where `SCRIPT_ELAPSED_MS` of `step.ts` stands for the milliseconds `script` took), in as
   * few round trips as the library allows, committing nothing (capability
   * `scriptWithHistory`). A failure leaves the transaction for the caller to roll back; an error
   * position inside `script` counts from the start of `script`, as `exec(script)` reports it.
   * Returns the rows each of `statements` changed, in order, so a history write that wrote nothing
   * fails the migration before its COMMIT.
   */
  scriptWithHistory?(script: string, statements: readonly BatchStatement[], before?: readonly BatchStatement[]): readonly number[] | Promise<readonly number[]>;
  /** Takes the owner lock sidecar (capability `fileLocking`), or returns `null`. */
  holdOwnerLock?(tableName: string, busyTimeoutMs: number): MaybePromise<OwnerLockHandle | null, Async>;
  /** Whether another process holds the named owner lock (capability `fileLocking`). */
  probeOwnerLock?(fileName: string): MaybePromise<"held" | "free" | "unknown", Async>;
  /** The processes holding the database's lock (capability `lockHolders`). */
  lockHolders?(): LockHolder[];
  /** The whole database as bytes (capability `snapshot`). */
  snapshot?(): MaybePromise<Uint8Array, Async>;
  /**
   * A driver on a new private connection holding `bytes`, empty when `bytes` is (capability
   * `snapshot`): in memory, or on a temporary file its `close` deletes (libsql). It reports no file.
   */
  openSnapshot?(bytes: Uint8Array): MaybePromise<Driver<Db, Async>, Async>;
  /** Closes a connection the driver opened itself (`openSnapshot`); never called on the app's own. */
  close?(): MaybePromise<void, Async>;
  /**
   * Copies the live database to `path` with the online backup API (capability `onlineBackup`).
   * Resolves to the number of pages copied: 0 when the first step found `path` locked and gave up.
   */
  backupTo?(path: string): Promise<number>;
  /**
   * A driver of the same library on another database file (capability `openFile`), for the safety
   * nets that read or write a second file (a backup, a restore's target). `readonly` needs the file
   * to exist; otherwise it is created. The caller closes it.
   */
  openFile?(path: string, options: OpenFileOptions): MaybePromise<Driver<Db, Async>, Async>;
  /**
   * Takes the run lock of the history table `tableName`, waiting up to `busyTimeoutMs`, and returns
   * its release: one process at a time applies or reverts migrations there (on PostgreSQL a session
   * advisory lock, which the server also drops when the session dies). Drivers without it rely on
   * the write transaction alone (SQLite's `BEGIN IMMEDIATE`). Async drivers only: the async manager
   * takes it.
   *
   * @throws `DATABASE_LOCKED` when another session held it past `busyTimeoutMs`.
   */
  holdRunLock?(tableName: string, busyTimeoutMs: number): Promise<() => Promise<void>>;
  /**
   * A new, empty database on the same server, on a connection of its own, for the safety nets that
   * replay migrations (verify, baseline) where no in-memory copy exists (PostgreSQL). The caller
   * calls `drop`, which closes that connection and removes the database, on success and on failure.
   * Async drivers only; drivers with `snapshot` open an empty copy instead.
   */
  openScratchDatabase?(): Promise<ScratchDatabase<Db>>;
}

/** One statement of an atomic {@link Driver.batch}. */
export interface BatchStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** A scratch database from {@link Driver.openScratchDatabase}. */
export interface ScratchDatabase<Db = unknown> {
  /** Its name on the server. */
  readonly name: string;
  /** The driver of its connection. */
  readonly driver: AsyncDriver<Db>;
  /** Closes the connection and drops the database; safe to call twice. */
  drop(): Promise<void>;
}

/** How {@link Driver.openFile} opens a file. */
export interface OpenFileOptions {
  /** Open for reading only; the file must exist. Otherwise read-write, created when missing. */
  readonly readonly: boolean;
  /** How long its statements wait for another connection's lock. */
  readonly busyTimeoutMs: number;
}

/** A driver whose primitives return values. */
export type SyncDriver<Db = unknown> = Driver<Db, false>;
/** A driver whose primitives return promises. */
export type AsyncDriver<Db = unknown> = Driver<Db, true>;

/**
 * A safety net needs a capability the driver lacks. Thrown before anything runs, so nothing was
 * changed and nothing was half done.
 */
export function driverCapabilityError(fields: {
  driver: string;
  capability: DriverCapability;
  operation: string | Text;
  file?: string;
  fix?: string | Text;
}): StepwiseError<"DRIVER_CAPABILITY_MISSING"> {
  // `operation` and `fix` may name options and calls: kept as texts, so the CLI spells them its way.
  const texts = {};
  const operation = typeof fields.operation === "string" ? fields.operation : keepText(texts, "operation", fields.operation);
  const fix = fields.fix === undefined ? null : typeof fields.fix === "string" ? fields.fix : keepText(texts, "fix", fields.fix);
  const error = new StepwiseError(
    "DRIVER_CAPABILITY_MISSING",
    text`${fields.file === undefined ? "" : `${fields.file}: `}${fields.operation} needs the "${fields.capability}" capability, which the ${fields.driver} driver does not have. Nothing was changed.${fields.fix === undefined ? "" : text` ${fields.fix}`}`,
    { driver: fields.driver, capability: fields.capability, operation, file: fields.file ?? null, fix },
  );
  copyTexts(texts, error);
  return error;
}

/** Throws `DRIVER_CAPABILITY_MISSING` unless `driver` declares every one of `capabilities`. */
export function requireCapabilities(driver: Pick<Driver, "name" | "capabilities">, operation: string, ...capabilities: DriverCapability[]): void {
  for (const capability of capabilities) {
    if (!driver.capabilities[capability]) throw driverCapabilityError({ driver: driver.name, capability, operation });
  }
}

export type { DriverCapabilities, DriverCapability } from "./driver-capabilities.js";
