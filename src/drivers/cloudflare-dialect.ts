/**
 * The SQLite dialect as Cloudflare's storage (Durable Objects, D1) needs it. Both refuse transaction
 * control in SQL (`BEGIN`, `SAVEPOINT`), temporary tables and most pragmas (`user_version`,
 * `schema_version`, `application_id`, `journal_mode` answer `SQLITE_AUTH`). So:
 * - the escape guard's markers (a temp witness table, a savepoint, the start-of-transaction pragmas)
 *   are neither made nor needed: a migration cannot end the transaction it runs in when the storage
 *   refuses every statement that could (the executor skips the guard where `savepoints` is false);
 * - the history table is the only record of the version;
 * - on D1 (`connectionSettings: null`) the connection settings a run puts back are not read:
 *   each statement is a request of its own, and a migration's pragma reaches no later one;
 * - tables named `_cf_...` are the storage's own (a Durable Object's key-value pairs live in `_cf_KV`,
 *   in the same database as its SQL tables), as `sqlite_...` ones are SQLite's: no migration made them
 *   and none may touch them (they answer `SQLITE_AUTH`), so they are not the user's schema. Without
 *   this an object that had ever called `ctx.storage.put` was refused as an unmanaged database.
 */
import { createHistoryGuard } from "../core/history-guard.js";
import type { Dialect } from "../core/executor-types.js";
import type { ListSchemaObjectsOptions, SchemaObject } from "../core/schema-objects.js";
import { SQLITE_DIALECT_BASE } from "../core/dialects/sqlite-base.js";
import type { ErrorClassification } from "../core/driver.js";
import { kindOfSqliteCode } from "../core/sqlite-errors.js";
import type { Step } from "../core/step.js";
import type { CommitWitness, TransactionStart } from "../core/transaction-guard.js";
import type { EscapedCommit } from "../core/errors.js";

/** What differs between the two Cloudflare storages. */
export interface CloudflareDialectOptions {
  /**
   * How a run puts back the connection settings a migration changed, where a pragma set by one
   * statement holds for the next (Durable Objects: `snapshotConnectionSettings` and
   * `restoreConnectionSettings` of `connection-settings.ts`); `null` where it does not (D1), so
   * nothing is read or restored. Passed in rather than imported here, so D1's bundle leaves them out.
   */
  readonly connectionSettings: Pick<Dialect, "snapshotConnectionSettings" | "restoreConnectionSettings"> | null;
}

/** The dialect of a Cloudflare manager; see the module note. */
export function createCloudflareDialect(options: CloudflareDialectOptions): Dialect {
  return {
    ...SQLITE_DIALECT_BASE,
    readSchemaObjects: function* (options?: ListSchemaObjectsOptions): Step<SchemaObject[]> {
      return (yield* SQLITE_DIALECT_BASE.readSchemaObjects(options)).filter((object) => !isStorageOwn(object.name) && !isStorageOwn(object.tblName));
    },
    createCommitWitness: function* (): Step<CommitWitness> {
      return { table: "", token: 0 };
    },
    renewCommitWitness: function* (): Step<void> {},
    markCommitWitness: function* (): Step<number> {
      return 0;
    },
    dropCommitWitness: function* (): Step<void> {},
    readTransactionStart: function* (counter: number | null): Step<TransactionStart> {
      return { schemaVersion: 0, userVersion: null, applicationId: 0, journalMode: "", dataVersion: 0, changeCounter: counter };
    },
    // Asked only of a guarded body, and the executor guards none where `savepoints` is false.
    readTotalChanges: function* (): Step<number> {
      return 0;
    },
    releaseBodySavepoint: function* (): Step<boolean> {
      return true;
    },
    judgeEscapedCommit: function* (): Step<EscapedCommit> {
      return "unknown";
    },
    // No temp schema: the triggers live in main, made and dropped inside each migration's transaction or batch.
    guardHistory: (store) => createHistoryGuard(store, { schema: "main" }),
    ...(options.connectionSettings ?? {
      snapshotConnectionSettings: function* () {
        return {};
      },
      restoreConnectionSettings: function* () {
        return [];
      },
    }),
  };
}

/**
 * Reads the SQLite code Cloudflare's errors end their message with (`"UNIQUE constraint failed:
 * t.id: SQLITE_CONSTRAINT"`, `"D1_ERROR: ...: SQLITE_ERROR"`); they carry no code field. Never throws.
 */
export function classifyCloudflareError(error: unknown): ErrorClassification {
  try {
    const message = error instanceof Error ? error.message : "";
    const code = /(SQLITE_[A-Z_]+)\s*$/.exec(message)?.[1] ?? null;
    return code === null ? { kind: "other", nativeCode: null } : { kind: kindOfSqliteCode(code), nativeCode: code };
  } catch {
    return { kind: "other", nativeCode: null };
  }
}

/** Whether `name` is one of the storage's own tables (`_cf_KV`, `_cf_METADATA`); see the module note. */
function isStorageOwn(name: string): boolean {
  return name.toLowerCase().startsWith("_cf_");
}
