/** The Durable Objects driver (`ctx.storage`, synchronous) and the `stepwise-migrate/durable-objects` entry's API. The storage refuses `BEGIN` and `SAVEPOINT`: its transaction is the callback
 * `transactionSync`, the driver's `writeSection`. The object is its storage's only connection, so the change counter is constant. */
import { migrateWithManager, SyncMigrationManager } from "../core/manager.js";
import type { Row, SyncDriver } from "../core/driver.js";
import { defineDriver } from "../core/define-driver.js";
import { refuseNonConnection, type MigrateOptions, type MigrationManagerProps, type MigrationResult, type UpOptions, refuseOtherLibrary } from "../core/options.js";
import { returnDefinition, type MigrationContext, type MigrationDefinition, type SyncMigrationRegistry, type VersionOf } from "../core/types.js";
import { classifyCloudflareError, createCloudflareDialect } from "./cloudflare-dialect.js";
import { statementTexts } from "../core/dialects/sqlite.js";
import { usageError } from "../core/error-factories.js";

/** The part of a Durable Object's `ctx.storage.sql` (`SqlStorage`) stepwise uses. */
export interface DurableObjectSql {
  exec(query: string, ...bindings: unknown[]): { toArray(): unknown[]; readonly rowsWritten: number };
}

/** The part of a Durable Object's `ctx.storage` stepwise uses. */
export interface DurableObjectStorageLike {
  readonly sql: DurableObjectSql;
  transactionSync<T>(closure: () => T): T;
}

/** A TypeScript migration on Durable Objects: `up` and `down` receive `ctx.storage.sql` and run synchronously. */
export interface DurableObjectsMigrationDefinition extends Omit<MigrationDefinition<DurableObjectSql>, "up" | "down"> {
  readonly up: (sql: DurableObjectSql, context: MigrationContext) => void;
  readonly down?: (sql: DurableObjectSql, context: MigrationContext) => void;
}

const SYNC_FIX = "make up and down synchronous: ctx.storage.sql needs no await";

/**
 * `sql` as a body receives it, refused once the body has returned (at its first `await`): what it ran after would land outside any migration. Closing reads each cursor the body
 * left unread to its end: a statement still running keeps the storage from committing or rolling back (workerd then fails the whole request with an internal error).
 */
function bodyHandle(sql: DurableObjectSql): { sql: DurableObjectSql; close(failed: boolean): void } {
  let open = true;
  const cursors: Array<{ toArray(): unknown[] }> = [];
  const refuseWhenClosed = (): void => {
    if (!open) throw usageError(`A migration used ctx.storage.sql after returning (after an await): refused; ${SYNC_FIX}.`);
  };
  const guarded = new Proxy(sql, {
    get(target, key) {
      refuseWhenClosed();
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      // Checked at the call too: a body may take `exec` off the handle before its await.
      return (...args: unknown[]) => {
        refuseWhenClosed();
        const result = (value as (...args: unknown[]) => unknown).apply(target, args);
        // Only a statement that returns rows can still be running once exec returns (the storage runs any other to its end).
        if (key === "exec" && (result as { columnNames?: unknown[] }).columnNames?.length !== 0) cursors.push(result as { toArray(): unknown[] });
        return result;
      };
    },
  });
  return {
    sql: guarded,
    close: (failed) => {
      open = false;
      for (const cursor of cursors.splice(0)) {
        try {
          cursor.toArray();
        } catch (error) {
          // After the body's own failure, that failure is the one to report.
          if (!failed) throw error;
        }
      }
    },
  };
}

/** The executor's primitives on `storage`; a manager on it needs `createCloudflareDialect` too. */
export function createDurableObjectsDriver(storage: DurableObjectStorageLike): SyncDriver<DurableObjectSql> {
  refuseOtherLibrary(storage, "durable-objects", "a Durable Object's storage (ctx.storage)", ["transactionSync"]);
  refuseOtherLibrary(storage.sql ?? {}, "durable-objects", "a Durable Object's storage, whose sql (ctx.storage.sql)", ["exec"]);
  const sql = storage.sql;
  let depth = 0;
  // The object is its storage's only connection, so its owner lock is a flag: a `started` row naming a lock this isolate does not hold was left by an isolate that is gone.
  let ownerLockHeld = false;
  return defineDriver({
    name: "durable-objects",
    dialect: "sqlite",
    async: false,
    connection: sql,
    // No forEachBatch either: left out of a bundle kept small.
    lacks: ["pragmas", "savepoints"],
    // sql.exec refuses a script whose tail holds no statement; toArray() runs each cursor to its end.
    exec: (text) => {
      for (const statement of statementTexts(text)) sql.exec(statement).toArray();
    },
    query: (text, params) => sql.exec(text, ...params).toArray() as Row[],
    run: (text, params) => {
      const cursor = sql.exec(text, ...params);
      cursor.toArray();
      return { changes: cursor.rowsWritten };
    },
    // In place of begin, commit and rollback (the storage refuses them in SQL): the sync runner opens it at a begin and leaves it at the commit or rollback.
    writeSection: (body) => {
      depth++;
      try {
        storage.transactionSync(body);
      } finally {
        depth--;
      }
    },
    inTransaction: () => depth > 0,
    changeCounter: () => 0,
    holdOwnerLock: () => {
      ownerLockHeld = true;
      return { fileName: "durable-object", release: () => void (ownerLockHeld = false) };
    },
    probeOwnerLock: () => (ownerLockHeld ? "held" : "free"),
    asyncBodyFix: `${SYNC_FIX}.`,
    runBody: (entry, direction, context) => {
      const body = (direction === "up" ? entry.module.up : entry.module.down) as (sql: DurableObjectSql, context: MigrationContext) => unknown;
      const handle = bodyHandle(sql);
      let failed = true;
      // A promise it returns is the sync runner's to refuse (ASYNC_IN_SYNC_RUNNER, with asyncBodyFix); what runs after its await is refused by the closed handle.
      try {
        const result = body.call(entry.module, handle.sql, context);
        failed = false;
        return result;
      } finally {
        handle.close(failed);
      }
    },
    classifyError: classifyCloudflareError,
  });
}

/**
 * Applies and reverts the migrations of a generated registry on a Durable Object's SQLite storage.
 * Synchronous: call it in the object's constructor under `blockConcurrencyWhile`.
 *
 * @example
 * import { MigrationManager } from "stepwise-migrate/durable-objects";
 * new MigrationManager(ctx.storage, migrations).up();
 */
export class MigrationManager<R extends SyncMigrationRegistry = SyncMigrationRegistry> extends SyncMigrationManager<DurableObjectSql, R> {
  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `REGISTRY_DIALECT_MISMATCH` when it was generated for PostgreSQL.
   * @throws `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` when `gen` marked any of its migrations async.
   */
  constructor(storage: DurableObjectStorageLike, migrations: R, props: MigrationManagerProps = {}) {
    refuseNonConnection(storage, "new MigrationManager");
    super(createDurableObjectsDriver(storage), migrations, props, createCloudflareDialect(true));
  }
}

/**
 * Applies every pending migration: the one call a Durable Object makes in its constructor.
 *
 * @example
 * ctx.blockConcurrencyWhile(async () => void migrate(ctx.storage, migrations));
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
export const defineMigration: <const T extends DurableObjectsMigrationDefinition>(definition: T) => T = returnDefinition;
