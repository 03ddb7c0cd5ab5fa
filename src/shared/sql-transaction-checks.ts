/**
 * Statements that break the transaction a migration runs in. stepwise wraps each transactional
 * migration and its history row in one transaction; a `COMMIT` inside it would commit half the
 * migration and leave the rest to run outside any transaction, so a later error could no longer be
 * rolled back. `VACUUM` fails outright inside a transaction, and `PRAGMA foreign_keys` does nothing.
 */
import type { SqlDialect } from "./sql-dialect.js";
import { findPostgresTransactionProblems } from "./postgres-transaction-checks.js";
import { splitSqlStatements, type SqlToken } from "./sql-tokens.js";
import type { TransactionProblem } from "./transaction-problem.js";

const TRANSACTION_CONTROL = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]);

/**
 * Checks one section's tokens (positions as in the file). Only a statement's first keyword decides:
 * `END` closing a trigger body or a `CASE`, and `BEGIN` opening a trigger body, are not statements.
 * With `dialect` `postgres`, PostgreSQL's rules apply (`postgres-transaction-checks.ts`), over tokens
 * from `tokenizeSql(source, "postgres")`.
 */
export function findTransactionProblems(
  sectionTokens: readonly SqlToken[],
  flags: { readonly transaction: boolean; readonly disableForeignKeys: boolean },
  dialect: SqlDialect = "sqlite",
): TransactionProblem[] {
  if (dialect === "postgres") return findPostgresTransactionProblems(sectionTokens, flags);
  if (!flags.transaction) return [];
  const problems: TransactionProblem[] = [];
  for (const { tokens } of splitSqlStatements(sectionTokens)) {
    const first = tokens[0]!;
    if (first.kind !== "word") continue;
    const keyword = first.text.toUpperCase();
    const at = { line: first.line, column: first.column };
    const statement = tokens
      .slice(0, 4)
      .map((token) => token.text)
      .join(" ");
    if (TRANSACTION_CONTROL.has(keyword)) {
      problems.push({
        code: "SQL_TRANSACTION_CONTROL",
        ...at,
        message: `"${statement}…" controls the transaction that stepwise runs this migration in, so a later failure could no longer be rolled back; remove it, or, if the migration must manage transactions itself, add "transaction:false" to the "-- migrate:up" line`,
      });
    } else if (keyword === "VACUUM") {
      problems.push({ code: "SQL_NEEDS_NO_TRANSACTION", ...at, message: `SQLite cannot VACUUM inside a transaction; add "transaction:false" to the "-- migrate:up" line` });
    } else if (keyword === "PRAGMA") {
      const { name, value } = readPragma(tokens);
      if (name === "journal_mode" && value === "wal") {
        problems.push({
          code: "SQL_NEEDS_NO_TRANSACTION",
          ...at,
          message: `SQLite cannot switch to WAL inside a transaction; add "transaction:false" to the "-- migrate:up" line, or set the journal mode when the app opens the database`,
        });
      } else if (name === "foreign_keys" && !flags.disableForeignKeys) {
        problems.push({
          code: "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION",
          ...at,
          message: `PRAGMA foreign_keys does nothing inside a transaction; remove it and add "foreign_keys:off" to the "-- migrate:up" line, which turns enforcement off around the migration and checks the keys before commit`,
        });
      }
    }
  }
  return problems;
}

/** `PRAGMA [schema.]name [= value | (value)]`, lowercased, quotes removed. */
function readPragma(tokens: readonly SqlToken[]): { name: string; value: string | null } {
  let index = 1;
  if (tokens[index + 1]?.text === ".") index += 2;
  const name = unquote(tokens[index]?.text ?? "").toLowerCase();
  const next = tokens[index + 1]?.text;
  const value = next === "=" || next === "(" ? unquote(tokens[index + 2]?.text ?? "").toLowerCase() : null;
  return { name, value };
}

function unquote(text: string): string {
  return /^['"`[]/.test(text) ? text.slice(1, -1) : text;
}
