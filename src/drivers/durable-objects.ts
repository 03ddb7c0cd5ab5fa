/**
 * The Durable Objects driver: the executor's primitives on a Durable Object's SQLite storage
 * (`ctx.storage`, synchronous), and the `stepwise-migrate/durable-objects` entry (`migrate`,
 * `MigrationManager`). Migrations run where the object runs, from the registry bundled into the
 * Worker: there is no filesystem to read them from.
 *
 * The storage refuses `BEGIN` and `SAVEPOINT`; its transaction is a callback, `transactionSync`. So
 * the driver's write section is that callback ({@link SyncDriver.writeSection}): the sync runner
 * opens it at the executor's `begin` and drives the step inside it until the commit, so each
 * migration and its history row commit together, and a migration that throws is rolled back with
 * its row. Migration bodies receive `ctx.storage.sql`.
 *
 * Declared: no `userVersion` (the pragma is refused; the history table is the record), no
 * `foreignKeySwitch` (a `disableForeignKeys` migration is refused before anything runs, pointing to
 * `PRAGMA defer_foreign_keys`), no `savepoints` (so no escape guard: the storage refuses every
 * statement that could end the transaction), no file, snapshot or backup. The change counter is a
 * constant: the object is the only connection to its storage, and a sync run never yields to
 * another request.
 */
import { migrateWithManager, SyncMigrationManager } from "../core/manager.js";
import { restoreConnectionSettings, snapshotConnectionSettings } from "../core/connection-settings.js";
import type { Row, SyncDriver } from "../core/driver.js";
import { defineDriver } from "../core/define-driver.js";
import type { MigrateOptions, MigrationManagerProps, MigrationResult, UpOptions } from "../core/options.js";
import type { MigrationContext, MigrationDefinition, SyncMigrationRegistry, VersionOf } from "../core/types.js";
import { classifyCloudflareError, createCloudflareDialect } from "./cloudflare-dialect.js";
import { statementTexts } from "./statement-texts.js";
import { asyncInSyncRunnerError } from "../core/runners.js";
import { usageError } from "../core/error-factories.js";

/** The part of a Durable Object's `ctx.storage.sql` (`SqlStorage`) stepwise uses. */
export interface DurableObjectSql {
  exec(query: string, ...bindings: unknown[]): { toArray(): unknown[]; readonly rowsWritten: number };
}

/** The part of a Durable Object's `ctx.storage` (`DurableObjectStorage`) stepwise uses. */
export interface DurableObjectStorageLike {
  readonly sql: DurableObjectSql;
  transactionSync<T>(closure: () => T): T;
}

/** A TypeScript migration on Durable Objects: `up` and `down` receive `ctx.storage.sql` and run synchronously. */
export interface DurableObjectsMigrationDefinition extends Omit<MigrationDefinition<DurableObjectSql>, "up" | "down"> {
  readonly up: (sql: DurableObjectSql, context: MigrationContext) => void;
  readonly down?: (sql: DurableObjectSql, context: MigrationContext) => void;
}

/** What an async migration on Durable Objects is told to do instead. */
const SYNC_FIX = "make up and down synchronous: ctx.storage.sql needs no await";

/**
 * The `sql` a migration body receives: `storage.sql` itself until the body returns, refused after.
 * A body that awaits returns at its first `await`, and the storage's transaction ends with it (rolled
 * back, as the runner refuses the promise); what it would run after that would land outside any
 * migration, so it is refused instead.
 */
function bodyHandle(sql: DurableObjectSql): { sql: DurableObjectSql; close(): void } {
  let open = true;
  const refuseWhenClosed = (): void => {
    if (!open) throw usageError(`A migration used ctx.storage.sql after returning (after an await): refused; ${SYNC_FIX}.`);
  };
  const guarded = new Proxy(sql, {
    get(target, key) {
      refuseWhenClosed();
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      // Checked at the call too: a body may take `exec` off the handle before its await and call it after.
      return (...args: unknown[]) => {
        refuseWhenClosed();
        return (value as (...args: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { sql: guarded, close: () => void (open = false) };
}

/**
 * The executor's primitives on `storage`. A manager built on it needs `createCloudflareDialect`
 * too, as {@link MigrationManager} passes it.
 */
export function createDurableObjectsDriver(storage: DurableObjectStorageLike): SyncDriver<DurableObjectSql> {
  const sql = storage.sql;
  let depth = 0;
  let busyTimeoutMs = 0;
  const callbackOnly = (): never => {
    throw usageError("The Durable Objects storage has no BEGIN: its write section is transactionSync, which the sync runner opens (use this driver through MigrationManager or migrate).");
  };
  return defineDriver({
    name: "durable-objects",
    dialect: "sqlite",
    async: false,
    connection: sql,
    // No forEachBatch either: left out of a bundle kept small.
    lacks: ["userVersion", "foreignKeySwitch", "savepoints"],
    // One statement at a time: sql.exec refuses a script whose tail holds no statement (a trailing
    // comment, `;;`, an empty section). toArray() steps each cursor to its end, so a statement's
    // effect never waits for a read nobody makes.
    exec: (text) => {
      for (const statement of statementTexts(text)) sql.exec(statement).toArray();
    },
    query: (text, params) => sql.exec(text, ...params).toArray() as Row[],
    run: (text, params) => {
      const cursor = sql.exec(text, ...params);
      cursor.toArray();
      return { changes: cursor.rowsWritten };
    },
    writeSection: (body) => {
      depth++;
      try {
        storage.transactionSync(body);
      } finally {
        depth--;
      }
    },
    begin: callbackOnly,
    commit: callbackOnly,
    rollback: callbackOnly,
    inTransaction: () => depth > 0,
    changeCounter: () => 0,
    getBusyTimeout: () => busyTimeoutMs,
    setBusyTimeout: (ms) => {
      busyTimeoutMs = ms;
    },
    asyncBodyFix: `${SYNC_FIX}.`,
    runBody: (entry, direction, context) => {
      const body = direction === "up" ? entry.module.up : entry.module.down;
      const handle = bodyHandle(sql);
      let result: unknown;
      try {
        result = (body as (sql: DurableObjectSql, context: MigrationContext) => unknown).call(entry.module, handle.sql, context);
      } finally {
        handle.close();
      }
      if (result !== null && typeof result === "object" && typeof (result as { then?: unknown }).then === "function") {
        // Its rejection (the refused statement after the await) is expected: nobody awaits it.
        (result as PromiseLike<unknown>).then(undefined, () => undefined);
        throw asyncInSyncRunnerError(direction, `${direction} returned a promise, which transactionSync cannot wait for: rolled back, and nothing after its await was run.`, `${SYNC_FIX}.`);
      }
      return result;
    },
    classifyError: classifyCloudflareError,
  });
}

/**
 * Applies and reverts the migrations of a generated registry on a Durable Object's SQLite storage.
 * Synchronous: call it in the object's constructor under `blockConcurrencyWhile`, so no request
 * reaches the object before its schema is current.
 *
 * @example
 * import { MigrationManager } from "stepwise-migrate/durable-objects";
 * new MigrationManager(ctx.storage, migrations).up();
 */
export class MigrationManager<R extends SyncMigrationRegistry = SyncMigrationRegistry> extends SyncMigrationManager<DurableObjectSql, R> {
  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `REGISTRY_DIALECT_MISMATCH` when it was generated for PostgreSQL.
   * @throws `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` when `gen` marked any of its migrations async (make them synchronous).
   */
  constructor(storage: DurableObjectStorageLike, migrations: R, props: MigrationManagerProps = {}) {
    super(createDurableObjectsDriver(storage), migrations, props, createCloudflareDialect({ connectionSettings: { snapshotConnectionSettings, restoreConnectionSettings } }));
  }
}

/**
 * Applies every pending migration: the one call a Durable Object makes in its constructor.
 *
 * @example
 * export class Counter extends DurableObject {
 *   constructor(ctx: DurableObjectState, env: Env) {
 *     super(ctx, env);
 *     ctx.blockConcurrencyWhile(async () => void migrate(ctx.storage, migrations));
 *   }
 * }
 */
export function migrate<R extends SyncMigrationRegistry>(
  storage: DurableObjectStorageLike,
  migrations: R,
  options: MigrationManagerProps & UpOptions<VersionOf<R>> & MigrateOptions<MigrationManager<R>> = {},
): MigrationResult {
  return migrateWithManager(options as never, (props) => new MigrationManager(storage, migrations, props), "stepwise-migrate/durable-objects");
}

/**
 * Declares a TypeScript migration whose `sql` is the object's `ctx.storage.sql`.
 *
 * @example
 * export default defineMigration({ up(sql) { sql.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)"); } });
 */
export function defineMigration<const T extends DurableObjectsMigrationDefinition>(definition: T): T {
  return definition;
}
