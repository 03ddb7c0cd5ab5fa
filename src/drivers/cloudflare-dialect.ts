/**
 * The SQLite dialect as Cloudflare's storage (Durable Objects, D1) needs it. Both refuse transaction
 * control in SQL (`BEGIN`, `SAVEPOINT`), temporary tables and most pragmas (`user_version`,
 * `schema_version`, `application_id`, `journal_mode` answer `SQLITE_AUTH`). So:
 * - the escape guard's markers (a temp witness table, a savepoint, the start-of-transaction pragmas)
 *   are neither made nor needed: a migration cannot end the transaction it runs in when the storage
 *   refuses every statement that could (the executor skips the guard where `savepoints` is false);
 * - the history table is the only record of the version;
 * - on D1 (`perConnectionSettings: false`) the connection settings a run puts back are not read:
 *   each statement is a request of its own, and a migration's pragma reaches no later one.
 */
import type { Dialect } from "../core/dialect.js";
import { SQLITE_DIALECT_WITHOUT_USER_VERSION } from "../core/dialects/sqlite.js";
import type { ErrorClassification } from "../core/driver.js";
import { kindOfSqliteCode } from "../core/sqlite-errors.js";
import type { Step } from "../core/step.js";
import type { CommitWitness, TransactionStart } from "../core/transaction-guard.js";

/** What differs between the two Cloudflare storages. */
export interface CloudflareDialectOptions {
  /** Whether a pragma set by one statement holds for the next (Durable Objects: yes; D1: no). */
  readonly perConnectionSettings: boolean;
}

/** The dialect of a Cloudflare manager; see the module note. */
export function createCloudflareDialect(options: CloudflareDialectOptions): Dialect {
  const base = SQLITE_DIALECT_WITHOUT_USER_VERSION;
  return {
    ...base,
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
    ...(options.perConnectionSettings
      ? {}
      : {
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
 * t.id: SQLITE_CONSTRAINT"`, `"D1_ERROR: …: SQLITE_ERROR"`); they carry no code field. Never throws.
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
