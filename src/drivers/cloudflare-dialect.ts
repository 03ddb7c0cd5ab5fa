/**
 * The SQLite dialect as Cloudflare's storages (Durable Objects, D1) need it. Both refuse `BEGIN`,
 * `SAVEPOINT`, temporary tables and most pragmas, so there is no escape guard (nothing can end the
 * transaction), the history table is the only record of the version, and the history guard's
 * triggers live in `main`. Tables named `_cf_...` are the storage's own (`_cf_KV` holds an object's
 * key-value pairs), not the user's schema, as `sqlite_...` ones are SQLite's.
 */
import { createHistoryGuard } from "../core/history-guard.js";
import type { Dialect } from "../core/executor-types.js";
import type { ListSchemaObjectsOptions, SchemaObject } from "../core/schema-objects.js";
import { SQLITE_DIALECT_BASE } from "../core/dialects/sqlite-base.js";
import type { ErrorClassification } from "../core/driver.js";
import { classifySqliteError } from "../core/define-driver.js";
import type { Step } from "../core/step.js";
import type { CommitWitness, TransactionStart } from "../core/transaction-guard.js";
import type { EscapedCommit } from "../core/errors.js";

/** What differs between the two storages. */
interface CloudflareDialectOptions {
  /** How a run puts back the settings a migration changed (Durable Objects); `null` on D1, where each statement is a request of its own. Passed in, so D1's bundle leaves them out. */
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
    readTotalChanges: function* (): Step<number> {
      return 0;
    },
    releaseBodySavepoint: function* (): Step<boolean> {
      return true;
    },
    judgeEscapedCommit: function* (): Step<EscapedCommit> {
      return "unknown";
    },
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

/** Reads the `SQLITE_*` code Cloudflare's errors end their message with (they have no code field). Never throws. */
export function classifyCloudflareError(error: unknown): ErrorClassification {
  try {
    return classifySqliteError({ code: /(SQLITE_[A-Z_]+)\s*$/.exec(error instanceof Error ? error.message : "")?.[1] });
  } catch {
    return { kind: "other", nativeCode: null };
  }
}

function isStorageOwn(name: string): boolean {
  return name.toLowerCase().startsWith("_cf_");
}
