/**
 * The SQLite dialect as the libsql-client driver needs it. SQLite's SQL is unchanged; what differs is
 * where state may live. A `Client` lends a connection per call (or, remotely, a stream per call), so
 * only what happens inside the write transaction is known to reach one connection:
 * - the commit witness (see `core/transaction-guard.ts`) is made inside each transaction, before
 *   its token is written, instead of once per run outside any: a temp table made outside would land
 *   on whatever connection that call borrowed. A witness made inside rolls back with the transaction,
 *   so after a rollback it is gone and the verdict is `unknown` unless the token proves a commit;
 * - remotely, the witness lives in `main`, as a libSQL server has no temp schema;
 * - the history guard's triggers (see `core/history-guard.ts`) guard the bodies that run in a
 *   transaction, not a `transaction: false` one, whose statements may reach other connections;
 *   remotely they live in `main`, made and dropped inside the transaction, for want of a temp schema;
 * - remotely, `PRAGMA user_version` is never read (Turso rejects it), and the connection settings a
 *   run puts back are not snapshotted: outside a transaction each statement may reach another stream,
 *   where a migration's pragma never took effect.
 */
import type { Dialect } from "../core/executor-types.js";
import { sqliteDialectFor } from "../core/dialects/sqlite.js";
import { exec, type Step } from "../core/step.js";
import { markCommitWitness, uniqueName, witnessTable, type CommitWitness } from "../core/transaction-guard.js";
import { createHistoryGuard } from "../core/history-guard.js";

/** Which rules apply: `remote` for a server (or a file held to a server's rules). */
export interface LibsqlClientDialectOptions {
  readonly remote: boolean;
}

/** The dialect of a libsql-client manager; see the module note. */
export function createLibsqlClientDialect(options: LibsqlClientDialectOptions): Dialect {
  const base = sqliteDialectFor({ userVersion: !options.remote });
  return {
    ...base,
    createCommitWitness: function* (): Step<CommitWitness> {
      // A libSQL server refuses temp tables; see CommitWitness.schema.
      return { table: uniqueName("witness"), token: 0, schema: options.remote ? "main" : "temp" };
    },
    // Made again by every markCommitWitness, so a migration that removed it costs nothing here.
    renewCommitWitness: function* (): Step<void> {},
    markCommitWitness: function* (witness: CommitWitness): Step<number> {
      yield* exec(`CREATE TABLE IF NOT EXISTS ${witnessTable(witness)} (token INTEGER NOT NULL)`);
      return yield* markCommitWitness(witness);
    },
    guardHistory: (store) => createHistoryGuard(store, options.remote ? { schema: "main" } : { transactionsOnly: true }),
    ...(options.remote
      ? {
          snapshotConnectionSettings: function* () {
            return {};
          },
          restoreConnectionSettings: function* () {
            return [];
          },
        }
      : {}),
  };
}
