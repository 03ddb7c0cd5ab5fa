/**
 * What the transaction checks of each dialect report (`sql-transaction-checks.ts` for SQLite,
 * `postgres-transaction-checks.ts` for PostgreSQL), in a file of its own so that neither check
 * imports the other for it.
 */
/** A statement refused in a transactional migration, positioned at its first token. */
export interface TransactionProblem {
  readonly code: "SQL_TRANSACTION_CONTROL" | "SQL_NEEDS_NO_TRANSACTION" | "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION";
  readonly line: number;
  readonly column: number;
  readonly message: string;
}
