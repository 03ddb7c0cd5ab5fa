/**
 * What a PostgreSQL migration's SQL does that a rollback does not undo: calls whose effect lands outside the transaction (a sequence set, another connection's work, a file written on the
 * server, a session ended) and `COPY … TO` a file or `PROGRAM`. Read from the statements' own tokens, so a name in a string, a comment or a dollar-quoted body is text; a call inside a function
 * body or `DO` block is not seen.
 */
import { splitPostgresStatements, tokenizePostgresSql, type SqlToken } from "./postgres-tokens.js";

/**
 * The functions whose effect outlives a rollback: `setval` (`nextval` only leaves gaps, which stay unique), dblink's (the remote session commits on its own), adminpack's and the large-object
 * file functions (a file on the server), the signals that end or cancel another session, and replication slots.
 */
const NON_TRANSACTIONAL_CALLS =
  /^(setval|dblink(_[a-z_]+)?|lo_export|lo_import|pg_file_(write|rename|unlink|sync)|pg_(terminate|cancel)_backend|pg_(create_(physical|logical)|drop)_replication_slot)$/;

/** One statement's effect that a rollback leaves: what it is (`setval`, `COPY … TO`), where its token starts in the script, and for `setval` the sequence as written. */
export interface NonTransactionalEffect {
  readonly effect: string;
  readonly line: number;
  readonly column: number;
  readonly sequence: string | null;
}

/** Every effect of `sql` that PostgreSQL does not roll back, in order. */
export function nonTransactionalEffects(sql: string): NonTransactionalEffect[] {
  const found: NonTransactionalEffect[] = [];
  for (const { tokens } of splitPostgresStatements(tokenizePostgresSql(sql))) {
    let depth = 0;
    tokens.forEach((token, index) => {
      if (token.text === "(") depth++;
      else if (token.text === ")") depth = Math.max(0, depth - 1);
      const name = token.kind === "word" ? token.text.toLowerCase() : token.kind === "quoted-identifier" ? token.text.slice(1, -1) : null;
      if (name !== null && tokens[index + 1]?.text === "(" && NON_TRANSACTIONAL_CALLS.test(name)) {
        found.push({ effect: name, line: token.line, column: token.column, sequence: name === "setval" ? firstArgument(tokens, index + 2) : null });
      }
      // `COPY … TO 'file'`, `TO PROGRAM`, `FROM PROGRAM` at the statement's own level (a query's `TO` sits inside its parentheses).
      const next = tokens[index + 1];
      const target = depth === 0 && token.kind === "word" && /^(TO|FROM)$/i.test(token.text) ? next : undefined;
      const copy = tokens[0]?.kind === "word" && tokens[0].text.toUpperCase() === "COPY";
      if (copy && target !== undefined && ((token.text.toUpperCase() === "TO" && target.kind === "string") || (target.kind === "word" && target.text.toUpperCase() === "PROGRAM"))) {
        found.push({ effect: `COPY … ${token.text.toUpperCase()} ${target.kind === "string" ? "a file" : "PROGRAM"}`, line: tokens[0]!.line, column: tokens[0]!.column, sequence: null });
      }
    });
  }
  return found;
}

/** The first argument of the call whose arguments start at `start`: a string's content, else its text. */
function firstArgument(tokens: readonly SqlToken[], start: number): string {
  const parts: SqlToken[] = [];
  let depth = 0;
  for (const token of tokens.slice(start)) {
    if (depth === 0 && (token.text === "," || token.text === ")")) break;
    if (token.text === "(") depth++;
    if (token.text === ")") depth--;
    parts.push(token);
  }
  const only = parts.length === 1 ? parts[0]! : null;
  return only?.kind === "string" && only.text.startsWith("'") ? only.text.slice(1, -1).replace(/''/g, "'") : parts.map((token) => token.text).join("");
}
