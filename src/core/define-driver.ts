/**
 * The seam a driver fills, and the one place its optional members get their defaults. A driver
 * writes its library's primitives (run a script, read rows, run one statement, say whether a
 * transaction is open) and whichever optional methods its library can serve; a capability is the
 * presence of its method. {@link defineDriver} turns that into the complete {@link Driver} the
 * executor and the safety nets use, so a new member defaults here instead of in every driver.
 */
import { connectionClosedError } from "./error-factories.js";
import { buildMigrationContext, refuseBatches } from "./migration-context.js";
import { kindOfSqliteCode, sqliteCodeOf } from "./error-factories.js";
import { fenceWritesUntil } from "./write-fence.js";
import type { Driver, ErrorClassification } from "./driver.js";
import type { DriverCapabilities } from "./driver-capabilities.js";
import type { MigrationContext, MigrationDirection, MigrationEntry } from "./types.js";

/** Members {@link defineDriver} fills in when a driver leaves them out. */
type Defaulted = "filePath" | "classifyError" | "begin" | "commit" | "rollback" | "changeCounter" | "getBusyTimeout" | "setBusyTimeout" | "runBody" | "createContext";

/** What no method of the seam stands for, so a driver whose database cannot do it says so. */
export type DeclaredLack = "userVersion" | "foreignKeySwitch" | "savepoints" | "snapshotInTransaction";

/**
 * What a driver writes. Required: `name`, `dialect`, `async`, `connection`, `exec`, `query`, `run`
 * and `inTransaction`. Everything else is optional:
 * - left out, `filePath` is `null`; `classifyError` reads SQLite's result codes (a PostgreSQL driver
 *   passes its own); `begin`, `commit` and `rollback` send the SQL (`BEGIN IMMEDIATE` on SQLite);
 *   `getBusyTimeout`/`setBusyTimeout` use `PRAGMA busy_timeout` on SQLite and keep a number
 *   elsewhere; `runBody` calls the migration's function with `connection`; `changeCounter` answers
 *   `null` (re-read the history every time); a sync SQLite driver's `fenceWritesUntil` sets
 *   `PRAGMA query_only` until a refused body's promise settles;
 * - `createContext` present means `forEachBatch` works (capability `batchWalk`); left out, it is refused;
 * - each capability method (`snapshot` with `openSnapshot`, `backupTo`, `openFile`, `holdOwnerLock`
 *   with `probeOwnerLock`, `lockHolders`, `changeCounter`, `batch`, `scriptWithHistory`) is the
 *   capability: present, the safety nets that need it run; absent, they refuse by name;
 * - `isOpen` tells a connection the migration closed (default: always open);
 * - `lacks` lists what the database cannot do that no method stands for.
 */
export type DriverPrimitives<Db = unknown, Async extends boolean = boolean> = Omit<Driver<Db, Async>, Defaulted | "capabilities"> &
  Partial<Pick<Driver<Db, Async>, Defaulted>> & {
    /** Whether the library's connection is still open; the defaults skip a closed one. */
    isOpen?(): boolean;
    /** What the database cannot do that no method stands for (Cloudflare D1: `savepoints`, say). */
    readonly lacks?: readonly DeclaredLack[];
  };

/** The complete driver of `primitives`, with every left-out member defaulted and its capabilities derived. */
export function defineDriver<Db, Async extends boolean>(primitives: DriverPrimitives<Db, Async>): Driver<Db, Async> {
  const { isOpen = () => true, lacks = [], ...own } = primitives;
  const p = own as DriverPrimitives<Db, boolean>;
  const sqlite = p.dialect === "sqlite";
  const answer = <T>(value: T): never => (p.async ? Promise.resolve(value) : value) as never;
  let keptBusyTimeout = 0;
  const defaults: Pick<Driver<Db, boolean>, Defaulted | "fenceWritesUntil"> = {
    filePath: null,
    classifyError: classifySqliteError,
    begin: (mode) => p.exec(sqlite && mode === "immediate" ? "BEGIN IMMEDIATE" : "BEGIN"),
    commit: () => p.exec("COMMIT"),
    rollback: () => (isOpen() ? then(p.inTransaction(), (open) => (open ? quietly(() => p.exec("ROLLBACK")) : undefined)) : answer(undefined)),
    changeCounter: () => answer(null),
    getBusyTimeout: () => (sqlite ? then(p.query("PRAGMA busy_timeout", []), (rows) => Number(Object.values(rows[0] ?? {})[0] ?? 0)) : answer(keptBusyTimeout)),
    setBusyTimeout: (ms) => {
      if (!sqlite) keptBusyTimeout = ms;
      // A connection the migration closed has no setting left to restore.
      return sqlite && isOpen() ? p.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(ms))}`) : answer(undefined);
    },
    runBody: (entry, direction, context) => runBodyOnConnection(p.connection, isOpen, entry, direction, context),
    createContext: (entry, direction, progress) => buildMigrationContext(entry, direction, progress, refuseBatches(p.name, "the connection")),
    // What the sync runner does after refusing a body that returned a promise (see `write-fence.ts`).
    ...(sqlite && !p.async ? { fenceWritesUntil: (settled: PromiseLike<unknown>) => fenceWritesUntil(p.connection as object, driver as Driver<Db, false>, isOpen, settled) } : {}),
  };
  // A member given as `undefined` (spread over another driver to take a capability away) is left out.
  const given = Object.fromEntries(Object.entries(p).filter(([, member]) => member !== undefined));
  const driver = { ...defaults, ...given, capabilities: capabilitiesOf(p, lacks) } as Driver<Db, Async>;
  return driver;
}

/** Each capability from the method that serves it, or from `lacks` where no method does. */
function capabilitiesOf(p: DriverPrimitives<unknown, boolean>, lacks: readonly DeclaredLack[]): DriverCapabilities {
  const sqlite = p.dialect === "sqlite";
  const declared = (lack: DeclaredLack) => !lacks.includes(lack);
  return {
    userVersion: sqlite && declared("userVersion"),
    fileLocking: p.holdOwnerLock !== undefined && p.probeOwnerLock !== undefined,
    foreignKeySwitch: sqlite && declared("foreignKeySwitch"),
    snapshot: p.snapshot !== undefined && p.openSnapshot !== undefined,
    onlineBackup: p.backupTo !== undefined,
    lockHolders: p.lockHolders !== undefined,
    changeCounter: p.changeCounter !== undefined,
    savepoints: declared("savepoints"),
    openFile: p.openFile !== undefined,
    snapshotInTransaction: p.snapshot !== undefined && declared("snapshotInTransaction"),
    atomicBatch: p.batch !== undefined,
    batchWalk: p.createContext !== undefined,
    scriptWithHistory: p.scriptWithHistory !== undefined,
  };
}

/** Reads an `SQLITE_*` code as stepwise's error kinds: every SQLite driver's default `classifyError`. */
export function classifySqliteError(error: unknown): ErrorClassification {
  const code = sqliteCodeOf(error);
  return code === null ? { kind: "other", nativeCode: null } : { kind: kindOfSqliteCode(code), nativeCode: code };
}

/**
 * Runs a TypeScript migration's body on the app's connection, and turns a connection the body closed
 * (`db.close()`) into `MIGRATION_FAILED`: every later step (release, record, restore) would
 * otherwise fail with the library's own bare error, or on libsql abort the whole process. `isOpen`
 * is the library's own answer, read after the body however it ended.
 */
export function runBodyOnConnection(connection: unknown, isOpen: () => boolean, entry: MigrationEntry & { kind: "ts" }, direction: MigrationDirection, context: MigrationContext): unknown {
  const body = direction === "up" ? entry.module.up : entry.module.down;
  try {
    const result: unknown = body!.call(entry.module, connection, context);
    // An async body can close the connection after an await, so the check also runs when it settles.
    if (isThenable(result)) return checkOpenWhenSettled(result, isOpen, entry, direction);
    return result;
  } finally {
    // Thrown from finally on purpose: the closed connection is the failure to report, whatever the body threw.
    // eslint-disable-next-line no-unsafe-finally -- see above
    if (!isOpen()) throw connectionClosedError(entry, direction);
  }
}

async function checkOpenWhenSettled(result: PromiseLike<unknown>, isOpen: () => boolean, entry: MigrationEntry & { kind: "ts" }, direction: MigrationDirection): Promise<unknown> {
  try {
    return await result;
  } finally {
    // eslint-disable-next-line no-unsafe-finally -- as in runBodyOnConnection: the closed connection is the failure to report
    if (!isOpen()) throw connectionClosedError(entry, direction);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function";
}

/** `next(value)`, after `value` settles when it is a promise: one default serves sync and async drivers. */
function then<T, U>(value: T | PromiseLike<T>, next: (value: T) => U): never {
  return (isThenable(value) ? Promise.resolve(value).then(next) : next(value)) as never;
}

/** Runs `action`, ignoring its failure: SQLite may already have rolled back (after `SQLITE_FULL`, say). */
function quietly(action: () => unknown): unknown {
  try {
    const result = action();
    return isThenable(result) ? Promise.resolve(result).then(undefined, () => undefined) : result;
  } catch {
    return undefined;
  }
}
