/** The one place a driver's optional members get their defaults and its capabilities are derived from the methods present. */
import { connectionClosedError, isStatementRunningRefusal, kindOfSqliteCode, sqliteCodeOf, statementLeftRunningError, translateSqliteError, usageError } from "./error-factories.js";
import { nodeFs } from "./node-builtins.js";
import type { Driver, ErrorClassification } from "./driver.js";
import { isThenable } from "./step.js";
import { failUnawaited, observingCalls, settled } from "./unawaited-calls.js";
import type { DriverCapabilities } from "./driver-capabilities.js";
import type { MigrationContext, MigrationDirection, MigrationEntry } from "./types.js";

/** Members {@link defineDriver} fills in when a driver leaves them out. */
type Defaulted = "filePath" | "classifyError" | "begin" | "commit" | "rollback" | "changeCounter" | "getBusyTimeout" | "setBusyTimeout" | "runBody" | "createContext";

/** What a driver's database cannot do that no method stands for; `pragmas`: SQLite's PRAGMA statements are refused (Cloudflare's storage), so no `user_version`, no foreign-key switch, and a busy timeout only kept. */
export type DeclaredLack = "userVersion" | "foreignKeySwitch" | "savepoints" | "snapshotInTransaction" | "pragmas";

/** What a driver writes: the required primitives plus any optional member; `isOpen` tells a connection a migration closed, `lacks` what the database cannot do. */
export type DriverPrimitives<Db = unknown, Async extends boolean = boolean> = Omit<Driver<Db, Async>, Defaulted | "capabilities"> &
  Partial<Pick<Driver<Db, Async>, Defaulted>> & {
    readonly lacks?: readonly DeclaredLack[];
  };

/** The complete driver of `primitives`, left-out members defaulted and capabilities derived. */
export function defineDriver<Db, Async extends boolean>(primitives: DriverPrimitives<Db, Async>): Driver<Db, Async> {
  const { isOpen = () => true, lacks = [], ...own } = primitives;
  // A member given as `undefined` (to take a capability away) is left out. Copied only then, and assigned, not spread: a fleet makes a driver per database.
  const given = Object.values(own).some((member) => member === undefined) ? Object.fromEntries(Object.entries(own).filter(([, member]) => member !== undefined)) : own;
  const p = given as unknown as DriverPrimitives<Db, boolean>;
  const sqlite = p.dialect === "sqlite";
  const pragmas = sqlite && !lacks.includes("pragmas");
  const answer = <T>(value: T): never => (p.async ? Promise.resolve(value) : value) as never;
  let keptBusyTimeout = 0;
  const refuseBatches = (): never => {
    throw usageError(`forEachBatch is not available with the ${p.name} driver: walk the table with your own keyed queries on the connection.`);
  };
  const onFile = sqlite && typeof p.filePath === "string" ? fileIdentity(p.filePath) : null;
  const defaults: Pick<Driver<Db, boolean>, Defaulted | "fenceWritesUntil"> = {
    filePath: null,
    classifyError: classifySqliteError,
    begin: (mode) =>
      then(p.exec(sqlite && mode === "immediate" ? "BEGIN IMMEDIATE" : "BEGIN"), () => {
        // A file renamed over the database (a restore) while this connection waited for the lock would take its writes with the file it has open, which nothing reads
        // any more; SQLite itself refuses such a write only in rollback-journal mode. The executor rolls the transaction back.
        if (onFile !== null && mode === "immediate" && fileIdentity(p.filePath!) !== onFile)
          throw translateSqliteError(new Error("the database file was replaced while this connection had it open"), 0, "SQLITE_READONLY_DBMOVED");
      }),
    commit: () => p.exec("COMMIT"),
    // Quietly: SQLite may already have rolled back (after SQLITE_FULL, say).
    rollback: () => (isOpen() ? then(p.inTransaction(), (open) => (open ? quietly(() => p.exec("ROLLBACK")) : undefined)) : answer(undefined)),
    changeCounter: () => answer(null),
    getBusyTimeout: () => (pragmas ? then(p.query("PRAGMA busy_timeout", []), firstNumber) : answer(keptBusyTimeout)),
    setBusyTimeout: (ms) => {
      if (!pragmas) keptBusyTimeout = ms;
      return pragmas && isOpen() ? p.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(ms))}`) : answer(undefined);
    },
    runBody: (entry, direction, context) =>
      runBodyOnConnection(p.connection, isOpen, entry, direction, context, sqlite && !p.async && !lacks.includes("savepoints") ? () => refuseStatementLeftRunning(p.exec) : undefined, p.async),
    createContext: ({ version, name }, direction, progress) => ({ version, name, direction, progress, forEachBatch: refuseBatches }),
    ...(pragmas && !p.async ? { fenceWritesUntil: (settled: PromiseLike<unknown>) => fenceWrites(p as DriverPrimitives<Db, false>, isOpen, settled) } : {}),
  };
  return Object.assign(defaults, p, { capabilities: capabilitiesOf(p, lacks) }, primitives.isOpen ? { isOpen } : {}) as unknown as Driver<Db, Async>;
}

function capabilitiesOf(p: DriverPrimitives<unknown, boolean>, lacks: readonly DeclaredLack[]): DriverCapabilities {
  const has = (lack: DeclaredLack) => !lacks.includes(lack);
  const pragmas = p.dialect === "sqlite" && has("pragmas");
  return {
    userVersion: pragmas && has("userVersion"),
    fileLocking: p.holdOwnerLock !== undefined && p.probeOwnerLock !== undefined,
    foreignKeySwitch: pragmas && has("foreignKeySwitch"),
    snapshot: p.snapshot !== undefined && p.openSnapshot !== undefined,
    onlineBackup: p.backupTo !== undefined,
    lockHolders: p.lockHolders !== undefined,
    changeCounter: p.changeCounter !== undefined,
    savepoints: has("savepoints"),
    openFile: p.openFile !== undefined,
    snapshotInTransaction: p.snapshot !== undefined && has("snapshotInTransaction"),
    atomicBatch: p.batch !== undefined,
    batchWalk: p.createContext !== undefined,
    scratchDatabase: p.openScratchDatabase !== undefined,
  };
}

/** The device and inode of the file at `path` (`null` when there is none): the same path naming another file is another database. */
function fileIdentity(path: string): string | null {
  const stats = nodeFs().statSync(path, { throwIfNoEntry: false });
  return stats === undefined ? null : `${stats.dev}:${stats.ino}`;
}

/** Reads an `SQLITE_*` code as stepwise's error kinds: the default `classifyError`. */
export function classifySqliteError(error: unknown): ErrorClassification {
  const code = sqliteCodeOf(error);
  return code === null ? { kind: "other", nativeCode: null } : { kind: kindOfSqliteCode(code), nativeCode: code };
}

/**
 * Runs a migration body on the app's connection (the default `runBody`, which a driver's own may wrap); a connection the body closed fails it, and so does what `checkLeft`
 * throws once the body returned. On an async connection (`observe`), the body settles only once every call it started has, and fails with the first one it did not await.
 */
export function runBodyOnConnection(
  connection: unknown,
  isOpen: () => boolean,
  entry: MigrationEntry & { kind: "ts" },
  direction: MigrationDirection,
  context: MigrationContext,
  checkLeft: () => void = () => undefined,
  observe = false,
): unknown {
  if (observe) {
    const observed = observingCalls(connection as object);
    const body = runBodyOnConnection(observed.connection, isOpen, entry, direction, context, checkLeft);
    return Promise.resolve(body).then(
      async (value) => {
        await failUnawaited(observed.started);
        return value;
      },
      async (error: unknown) => {
        // Its own failure is the body's error; what it left running still ends before the transaction does.
        await Promise.all(observed.started.map(settled));
        throw error;
      },
    );
  }
  const body = direction === "up" ? entry.module.up : entry.module.down;
  const checkOpen = () => {
    // Otherwise every later step fails with the library's bare error (on libsql, a process abort).
    if (!isOpen()) throw connectionClosedError(entry, direction);
  };
  const returned = (value: unknown): unknown => {
    checkOpen();
    checkLeft();
    return value;
  };
  let result: unknown;
  try {
    result = body!.call(entry.module, connection, context);
  } catch (error) {
    checkOpen();
    throw error;
  }
  // An async body can close the connection after an await.
  return isThenable(result)
    ? Promise.resolve(result).then(returned, (error: unknown) => {
        checkOpen();
        throw error;
      })
    : returned(result);
}

/**
 * Fails a body that returned with a write statement of its still running (RETURNING rows left unread): SQLite commits nothing while one runs, neither stepwise's record nor,
 * outside a transaction, any later write, and a ROLLBACK would take that statement's writes along. A savepoint, opened and released at once, is refused then and changes nothing else.
 */
function refuseStatementLeftRunning(exec: (sql: string) => unknown): void {
  try {
    exec("SAVEPOINT stepwise_statement_check; RELEASE stepwise_statement_check");
  } catch (error) {
    // Any other refusal (better-sqlite3 refusing every call while a read iterates) is the driver's to report.
    if (isStatementRunningRefusal(error)) throw statementLeftRunningError(error);
  }
}

/** Refused bodies still pending per connection: the fence lifts when the last one settles. */
const pendingFences = new WeakMap<object, { count: number }>();

/** `PRAGMA query_only = 1` until `settled` settles: a refused body's continuation would otherwise write outside any migration. */
function fenceWrites(p: DriverPrimitives<unknown, false>, isOpen: () => boolean, settled: PromiseLike<unknown>): void {
  const connection = p.connection as object;
  let pending = pendingFences.get(connection);
  if (!pending) {
    try {
      if (!isOpen() || firstNumber(p.query("PRAGMA query_only", [])) !== 0) return;
      p.exec("PRAGMA query_only = 1");
    } catch {
      return;
    }
    pending = { count: 0 };
    pendingFences.set(connection, pending);
  }
  pending.count++;
  const fence = pending;
  const lift = (): void => {
    if (--fence.count > 0) return;
    pendingFences.delete(connection);
    quietly(() => isOpen() && p.exec("PRAGMA query_only = 0"));
  };
  // Promise.resolve: a thenable's own `then` may throw, or call back twice.
  Promise.resolve(settled).then(lift, lift);
}

function firstNumber(rows: readonly Record<string, unknown>[]): number {
  return Number(Object.values(rows[0] ?? {})[0] ?? 0);
}

/** `next(value)` once `value` settles, so one default serves sync and async drivers. */
function then<T, U>(value: T | PromiseLike<T>, next: (value: T) => U): never {
  return (isThenable(value) ? Promise.resolve(value).then(next) : next(value)) as never;
}

/** `action`'s result, or `undefined` where it throws or rejects: for cleanup that may find its work already done. */
export function quietly(action: () => unknown): unknown {
  try {
    const result = action();
    return isThenable(result) ? Promise.resolve(result).then(undefined, () => undefined) : result;
  } catch {
    return undefined;
  }
}
