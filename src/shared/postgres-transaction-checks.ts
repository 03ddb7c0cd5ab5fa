/**
 * The PostgreSQL statements refused in a transactional migration, the counterpart of the SQLite
 * rules in `sql-transaction-checks.ts`. stepwise runs a transactional migration and its history row
 * in one transaction; a statement that ends it would commit half the migration, and a statement
 * PostgreSQL refuses inside a transaction block ("cannot run inside a transaction block") would fail
 * every time it runs, so both are reported when `gen` reads the file, with the fix.
 *
 * `ALTER TYPE … ADD VALUE` is accepted: since PostgreSQL 12 it may run in a transaction block (the
 * new value only becomes usable once the migration commits, and using it earlier fails and rolls
 * back), and every PostgreSQL release before 12 is out of support.
 */
import { splitPostgresStatements } from "./postgres-tokens.js";
import type { SqlToken } from "./sqlite-tokens.js";
import type { TransactionProblem } from "./transaction-problem.js";

const FIX = `add "transaction:false" to the "-- migrate:up" line, and keep that migration to what must run outside a transaction`;

/**
 * Checks one section's PostgreSQL tokens (positions as in the file). Only statements count: a
 * `COMMIT` or `VACUUM` inside a dollar-quoted function body, a string or a comment is text.
 */
export function findPostgresTransactionProblems(sectionTokens: readonly SqlToken[], flags: { readonly transaction: boolean }): TransactionProblem[] {
  if (!flags.transaction) return [];
  const problems: TransactionProblem[] = [];
  for (const { tokens } of splitPostgresStatements(sectionTokens)) {
    const first = tokens[0]!;
    if (first.kind !== "word") continue;
    const words = leadingWords(tokens);
    const at = { line: first.line, column: first.column };
    const shown = tokens
      .slice(0, 4)
      .map((token) => token.text)
      .join(" ");
    if (isTransactionControl(words)) {
      problems.push({
        code: "SQL_TRANSACTION_CONTROL",
        ...at,
        message: `"${shown}…" controls the transaction that stepwise runs this migration in, so a later failure could no longer be rolled back; remove it, or, if the migration must manage transactions itself, ${FIX}`,
      });
      continue;
    }
    const refused = describeNoTransactionStatement(words, tokens);
    if (refused !== null) {
      problems.push({ code: "SQL_NEEDS_NO_TRANSACTION", ...at, message: `PostgreSQL cannot run ${refused} inside a transaction block, and stepwise runs this migration in one; ${FIX}` });
    }
  }
  return problems;
}

/** The statement's bare words, uppercased, up to its first non-word token. */
function leadingWords(tokens: readonly SqlToken[]): string[] {
  const words: string[] = [];
  for (const token of tokens) {
    if (token.kind !== "word") break;
    words.push(token.text.toUpperCase());
  }
  return words;
}

/** `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `SAVEPOINT`, `RELEASE`, `PREPARE TRANSACTION`. */
function isTransactionControl(words: readonly string[]): boolean {
  switch (words[0]) {
    case "BEGIN":
    case "COMMIT":
    case "END":
    case "ROLLBACK":
    case "ABORT":
    case "SAVEPOINT":
    case "RELEASE":
      return true;
    case "START":
    case "PREPARE":
      // `PREPARE name AS …` prepares a statement, which is fine.
      return words[1] === "TRANSACTION";
    default:
      return false;
  }
}

/** What PostgreSQL refuses inside a transaction block, named as the message shows it, or `null`. */
function describeNoTransactionStatement(words: readonly string[], tokens: readonly SqlToken[]): string | null {
  const [first, second, third] = words;
  const concurrently = topLevelWords(tokens).includes("CONCURRENTLY");
  switch (first) {
    case "VACUUM":
      return "VACUUM";
    case "CREATE":
      if ((second === "INDEX" || (second === "UNIQUE" && third === "INDEX")) && concurrently) return "CREATE INDEX CONCURRENTLY";
      if (second === "DATABASE" || second === "TABLESPACE" || second === "SUBSCRIPTION") return `CREATE ${second}`;
      return null;
    case "DROP":
      if (second === "INDEX" && concurrently) return "DROP INDEX CONCURRENTLY";
      if (second === "DATABASE" || second === "TABLESPACE" || second === "SUBSCRIPTION") return `DROP ${second}`;
      return null;
    case "REINDEX": {
      const target = reindexTarget(tokens);
      if (target === "DATABASE" || target === "SYSTEM" || target === "SCHEMA") return `REINDEX ${target}`;
      return concurrently ? "REINDEX … CONCURRENTLY" : null;
    }
    case "ALTER":
      if (second === "SYSTEM") return "ALTER SYSTEM";
      if (second === "DATABASE" && topLevelWords(tokens).includes("TABLESPACE") && topLevelWords(tokens).includes("SET")) return "ALTER DATABASE … SET TABLESPACE";
      if (second === "TABLE" && concurrently && topLevelWords(tokens).includes("DETACH")) return "ALTER TABLE … DETACH PARTITION … CONCURRENTLY";
      return null;
    case "CLUSTER":
      // Without a table, CLUSTER reclusters every table, one transaction each.
      return words.length === tokens.length && words.every((word, index) => index === 0 || word === "VERBOSE") ? "CLUSTER without a table" : null;
    case "DISCARD":
      return second === "ALL" ? "DISCARD ALL" : null;
    default:
      return null;
  }
}

/** The statement's bare words outside parentheses, uppercased, skipping names after a `.`. */
function topLevelWords(tokens: readonly SqlToken[]): string[] {
  const words: string[] = [];
  let depth = 0;
  tokens.forEach((token, index) => {
    if (token.kind === "punctuation" && token.text === "(") depth++;
    else if (token.kind === "punctuation" && token.text === ")") depth = Math.max(0, depth - 1);
    else if (token.kind === "word" && depth === 0 && tokens[index - 1]?.text !== ".") words.push(token.text.toUpperCase());
  });
  return words;
}

/** `REINDEX [ ( options ) ] target …`: the word naming what it rebuilds. */
function reindexTarget(tokens: readonly SqlToken[]): string | undefined {
  let index = 1;
  if (tokens[index]?.text === "(") {
    let depth = 0;
    for (; index < tokens.length; index++) {
      if (tokens[index]!.text === "(") depth++;
      else if (tokens[index]!.text === ")" && --depth === 0) break;
    }
    index++;
  }
  const token = tokens[index];
  return token?.kind === "word" ? token.text.toUpperCase() : undefined;
}
