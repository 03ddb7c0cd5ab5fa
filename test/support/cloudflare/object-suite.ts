/**
 * The Durable Objects line of the shared async suite (`ASYNC_DRIVERS` in `driver-matrix.ts`). The
 * stepwise-migrate/durable-objects driver and the executor run inside a real Durable Object in workerd
 * (`object-suite-worker.ts`), on its real SQLite storage and real `transactionSync`; only what a
 * test does crosses over. In this process the line's `native` connection is a handle naming the
 * object, and the entry's `MigrationManager` and `migrate` are thin proxies: each method call is one
 * request to the object, which builds the manager on its storage and runs the method there. Results
 * come back as data; errors come back as the same stepwise class with every structured field, so
 * `assert.rejects(…, { code })` and field assertions read them as on any other driver.
 *
 * The Durable Objects entry is synchronous; the suite awaits everything, so proxies that return
 * promises fit it unchanged, and nothing here awaits inside a migration: a call runs whole in the
 * object. `onEvent` is the one function a manager's props may hold: its events are collected in the
 * object and handed to it, in order, when the call settles. Any other function in props or options
 * is refused here, loudly, rather than dropped.
 *
 * One workerd per test file, reused by every database of the file (a fresh object name each, so a
 * fresh storage): started at the first use and disposed after a second with no database open and no
 * call in flight (see {@link IDLE_MS}), so it is started again only where a file runs other drivers'
 * tests for longer than that between its Durable Objects tests.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { StepwiseError } from "../../../src/core/errors.js";
import type { DriverCapabilities } from "../../../src/core/driver.js";
import type { MigrationEntry, MigrationRegistry } from "../../../src/core/types.js";
import { bundleWorkerForProcess, COMPATIBILITY_DATE } from "./workerd.js";
import { decodeValue, encodeValue, functionSource, type ObjectAnswer, type ObjectCall, type Wire, type WireError } from "./object-wire.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The native connection of the line: which object's storage a manager is built on. */
export interface ObjectHandle {
  readonly objectName: string;
}

/** What the object's driver declares, as the suite reads it from a manager made without a connection. */
export interface ObjectDriverDescription {
  readonly name: string;
  readonly dialect: "sqlite";
  readonly async: boolean;
  readonly capabilities: DriverCapabilities;
}

/** The error class a call may rethrow, by name: rebuilt as that class, so `instanceof` holds too. */
const ERROR_CLASSES: ReadonlyMap<string, { prototype: Error }> = new Map([["StepwiseError", StepwiseError]]);

/** An error from the object as the class it was there, with its message and every field. */
function rebuildError(error: WireError, fields: Record<string, unknown>): Error {
  const known = ERROR_CLASSES.get(error.name) ?? ERROR_CLASSES.get(error.className);
  const rebuilt: Error = known ? (Object.create(known.prototype) as Error) : new Error(error.message);
  Object.defineProperty(rebuilt, "message", { value: error.message, writable: true, configurable: true });
  Object.defineProperty(rebuilt, "stack", { value: `${error.name}: ${error.message}\n    at the Durable Object (workerd)`, writable: true, configurable: true });
  Object.defineProperty(rebuilt, "name", { value: error.name, writable: true, configurable: true, enumerable: known !== undefined });
  const { cause, ...rest } = fields;
  Object.assign(rebuilt, rest);
  if ("cause" in fields) Object.defineProperty(rebuilt, "cause", { value: cause, writable: true, configurable: true });
  return rebuilt;
}

/** A registry as it crosses: SQL entries as they are, each TypeScript body by its source. */
function registryWire(migrations: MigrationRegistry): Wire[] {
  return migrations.map((entry: MigrationEntry) => {
    // A malformed entry (a test's null) crosses as it is, for the object's registry checks to refuse.
    if (entry === null || typeof entry !== "object" || entry.kind !== "ts") return encodeValue(entry);
    const functions: Record<string, string> = {};
    const data: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(entry.module as unknown as Record<string, unknown>)) {
      if (typeof value === "function") functions[key] = functionSource(value as () => unknown);
      else data[key] = value;
    }
    const { module: _module, ...rest } = entry;
    return { ...(encodeValue(rest) as Record<string, Wire>), module: { $functions: functions, data: encodeValue(data) } };
  });
}

/** `props` as they cross: `onEvent` stays here (see the module note); any other function is refused. */
function propsWire(props: Record<string, unknown> = {}): { wire: Record<string, Wire>; onEvent: ((event: never) => unknown) | null } {
  const { onEvent, ...rest } = props;
  for (const [key, value] of Object.entries(rest)) {
    if (typeof value === "function") throw new TypeError(`the Durable Objects line cannot send the function option ${key} into the object`);
  }
  return { wire: encodeValue(rest) as Record<string, Wire>, onEvent: typeof onEvent === "function" ? (onEvent as (event: never) => unknown) : null };
}

let bundled: Promise<string> | null = null;
let running: Promise<Miniflare> | null = null;

/** The suite's Worker, bundled once per process. */
function workerScript(): Promise<string> {
  bundled ??= bundleWorkerForProcess(path.join(here, "object-suite-worker.ts"), "stepwise-object-suite-");
  return bundled;
}

/**
 * How long workerd stays up with nothing open before it is disposed. node:test has no hook that runs
 * only after a file's last test (a top-level `after` can run between suites that are still being
 * declared by top-level awaits), so the process keeps workerd while a database is open or a call is
 * in flight, and lets it go after this long without either: then the file's process can exit.
 */
const IDLE_MS = 1_000;
let holders = 0;
let idleTimer: ReturnType<typeof setTimeout> | null = null;

/** Keeps workerd up until the returned release is called. */
function hold(): () => void {
  holders++;
  if (idleTimer !== null) clearTimeout(idleTimer);
  idleTimer = null;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) idleTimer = setTimeout(() => void stopWorker(), IDLE_MS);
  };
}

async function stopWorker(): Promise<void> {
  idleTimer = null;
  const started = running;
  running = null;
  if (started !== null) await (await started).dispose();
}

/** The process's workerd, started at the first call (again after an idle stop). */
function worker(): Promise<Miniflare> {
  running ??= (async () => {
    const script = await workerScript();
    const miniflare = new Miniflare({
      modules: true,
      scriptPath: script,
      modulesRoot: path.dirname(script),
      compatibilityDate: COMPATIBILITY_DATE,
      durableObjects: { OBJ: { className: "SuiteObject", useSQLite: true } },
      unsafeEvalBinding: "UNSAFE_EVAL",
    });
    await miniflare.ready;
    return miniflare;
  })();
  return running;
}

/** Sends `call` to the object `objectName`; resolves to its result, rejects with its error, after handing its events to `onEvent`. */
async function send(objectName: string, call: ObjectCall, onEvent: ((event: never) => unknown) | null = null): Promise<unknown> {
  const release = hold();
  let answer: ObjectAnswer;
  try {
    const response = await (await worker()).dispatchFetch(`http://object/${encodeURIComponent(objectName)}`, { method: "POST", body: JSON.stringify(call) });
    answer = (await response.json()) as ObjectAnswer;
  } finally {
    release();
  }
  if (onEvent !== null) for (const event of answer.events) onEvent(decodeValue(event, rebuildError) as never);
  if (answer.error !== undefined) throw decodeValue(answer.error, rebuildError);
  return decodeValue(answer.result, rebuildError);
}

let objects = 0;

/** A handle on a fresh object: a fresh, empty storage. */
export function freshObject(): ObjectHandle {
  return { objectName: `suite-${process.pid}-${++objects}-${Date.now()}` };
}

/** Reads and writes on `handle`'s storage with `ctx.storage.sql.exec`; rows as the storage gives them. */
export async function queryObject(handle: ObjectHandle, sql: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
  return (await send(handle.objectName, { op: "query", sql, params: encodeValue(params) as Wire[] })) as Record<string, unknown>[];
}

/** What the object's driver declares (asked of the object itself). */
export async function describeObjectDriver(): Promise<ObjectDriverDescription> {
  return (await send("describe", { op: "describe" })) as ObjectDriverDescription;
}

/** Marks a proxy manager, so {@link runNet} can send a safety net to the object it stands for. */
const REMOTE = Symbol("durable-object manager");

interface RemoteState {
  readonly handle: ObjectHandle;
  readonly migrations: MigrationRegistry;
  readonly props: Record<string, unknown>;
}

/**
 * A manager in this process standing for one built in the object: every method is one request. Its
 * `driver` is what the object's driver declares (name, dialect, capabilities), as data.
 */
export function objectManager(handle: ObjectHandle | null, migrations: MigrationRegistry, props: Record<string, unknown> = {}, driver: ObjectDriverDescription): object {
  const state: RemoteState = { handle: handle ?? { objectName: "no-connection" }, migrations, props };
  return new Proxy(
    {},
    {
      get: (_target, key) => {
        if (key === REMOTE) return state;
        if (key === "driver") return driver;
        if (key === "migrations") return migrations;
        if (typeof key === "symbol" || key === "then") return undefined;
        return (...args: unknown[]) => {
          const { wire, onEvent } = propsWire(props);
          return send(
            state.handle.objectName,
            { op: "manager", registry: registryWire(migrations), props: wire, collectEvents: onEvent !== null, method: key, args: encodeValue(args) as Wire[] },
            onEvent,
          );
        };
      },
    },
  );
}

/** The entry's `migrate`, run in the object `handle` names. */
export function migrateObject(handle: ObjectHandle, migrations: MigrationRegistry, options: Record<string, unknown> = {}): Promise<unknown> {
  const { wire, onEvent } = propsWire(options);
  return send(handle.objectName, { op: "migrate", registry: registryWire(migrations), options: wire, collectEvents: onEvent !== null }, onEvent);
}

/**
 * Runs the safety net `name` on `manager`: in the object when `manager` stands for one there
 * ({@link objectManager}), with the same arguments, else `local` itself. So a test calls a net the
 * same way on every driver.
 */
export function runNet<A extends unknown[], T>(name: string, local: (manager: never, ...args: A) => T, manager: unknown, ...args: A): T {
  const state = (manager as { [REMOTE]?: RemoteState } | null)?.[REMOTE];
  if (state === undefined) return local(manager as never, ...args);
  const { wire, onEvent } = propsWire(state.props);
  return send(state.handle.objectName, { op: "net", name, registry: registryWire(state.migrations), props: wire, collectEvents: onEvent !== null, args: encodeValue(args) as Wire[] }, onEvent) as T;
}

/** The line's entry, as the async matrix uses one: `MigrationManager` and `migrate` on a handle. */
export interface ObjectEntry {
  MigrationManager: new (db: never, migrations: MigrationRegistry, props?: Record<string, unknown>) => object;
  migrate(db: never, migrations: MigrationRegistry, options?: Record<string, unknown>): Promise<unknown>;
}

/** Loads the line's entry, with the capabilities its driver declares in the object. */
export async function loadObjectEntry(): Promise<ObjectEntry> {
  const driver = await describeObjectDriver();
  // A constructor returning an object makes `new` give that object: here the proxy.
  function ObjectMigrationManager(db: ObjectHandle | null, migrations: MigrationRegistry, props: Record<string, unknown> = {}): object {
    return objectManager(db, migrations, props, driver);
  }
  return {
    MigrationManager: ObjectMigrationManager as unknown as ObjectEntry["MigrationManager"],
    migrate: (db, migrations, options) => migrateObject(db as ObjectHandle, migrations, options),
  };
}

/** A fresh object for one test: its handle as the native connection, and reads on its storage. */
export function openFreshObject(): {
  native: ObjectHandle;
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  connectAnother(): Promise<ObjectHandle>;
  dispose(): Promise<void>;
} {
  const handle = freshObject();
  // The storage lives as long as its workerd: keep it up until the test lets the database go.
  const release = hold();
  return {
    native: handle,
    query: (sql, params = []) => queryObject(handle, sql, params),
    // The object is the storage's only connection: another app instance reaches the same object.
    connectAnother: async () => ({ ...handle }),
    // The next test takes a new name, so a new storage.
    dispose: async () => release(),
  };
}

/** The line's `execOn`: bodies run in the object, where the worker's own `execOn` serves them; none runs here. */
export async function execOnObject(): Promise<void> {
  throw new Error("a Durable Objects migration body runs in the object, whose execOn serves it; nothing runs one in the test process");
}
