/**
 * A SQL migration and its history writes as ONE message of PostgreSQL's simple query protocol (the
 * driver's `scriptWithHistory`), where sending them one by one costs a round trip each. The server
 * runs the statements of one message in order and stops at the first error, which leaves the
 * transaction the executor opened aborted, for the executor to roll back; its COMMIT follows as a
 * statement of its own, so the migration and its row still commit together or not at all, and never
 * after the process that sent them died.
 *
 * The simple protocol binds no values, so the history writes' values are written into the text as
 * literals: strings as `E'...'` with every backslash and quote doubled, which reads the same whatever
 * `standard_conforming_strings` says, so no name or checksum can end its literal early. A value that
 * has no exact literal (a string holding NUL, a non-finite number) sends the statements one by one
 * instead, as does a script that ends inside a string, a quoted name or a comment, whose unclosed
 * text would take in what follows it, and a script holding a backslash, which may end inside a
 * string when the session has `standard_conforming_strings` off.
 */
import { SCRIPT_ELAPSED_MS } from "../core/step.js";
import type { BatchStatement } from "../core/driver.js";
import { tokenizePostgresSql } from "../shared/postgres-tokens.js";

/**
 * The script's duration, measured by the server: the time since it received the message (every
 * statement of a simple query shares its `statement_timestamp()`) when the history write runs. Every
 * name qualified (see `postgres-operators.ts`): the script before it may have changed the `search_path`.
 */
const SERVER_ELAPSED_MS = "(pg_catalog.round(EXTRACT(epoch FROM pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) pg_catalog.statement_timestamp()) OPERATOR(pg_catalog.*) 1000))::bigint";

/** What separates the script from the first history write: a line break ends a trailing `--` comment. */
const AFTER_SCRIPT = "\n;\n";
/** What separates stepwise's own statements. */
const BETWEEN = ";\n";

/** A composed message, and where stepwise's own statements start in it. */
export interface ScriptMessage {
  readonly text: string;
  /** The length in characters of what precedes the script in the message (a `BEGIN;` sent with it). */
  readonly prefixLength: number;
  /** The script's length in characters as the server counts them (code points). */
  readonly scriptLength: number;
  /** Where each statement after the script starts, in characters from the message's start (0-based). */
  readonly starts: readonly number[];
}

/**
 * `value` as a PostgreSQL literal, or `null` when it has no exact one. `elapsed` stands in for
 * {@link SCRIPT_ELAPSED_MS}.
 *
 * @example
 * quotePostgresLiteral("it's a \\ test", "0"); // "E'it''s a \\\\ test'"
 */
export function quotePostgresLiteral(value: unknown, elapsed: string): string | null {
  if (value === SCRIPT_ELAPSED_MS) return elapsed;
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : null;
  if (typeof value !== "string" || value.includes("\u0000")) return null;
  return `E'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/**
 * `sql` with each `?` placeholder (outside strings, comments and quoted names) replaced by the
 * literal of the matching value; `null` when a value has no literal or the counts differ.
 */
export function inlinePostgresParameters(sql: string, params: readonly unknown[], elapsed: string): string | null {
  let index = 0;
  let failed = false;
  const text = tokenizePostgresSql(sql)
    .map((token) =>
      token.kind !== "punctuation"
        ? token.text
        : token.text.replace(/\?/g, () => {
            const literal = index < params.length ? quotePostgresLiteral(params[index], elapsed) : null;
            index++;
            if (literal === null) failed = true;
            return literal ?? "";
          }),
    )
    .join("");
  return failed || index !== params.length ? null : text;
}

/**
 * The message that runs `prefix` (statements of stepwise's own, such as the transaction's deferred
 * `BEGIN;`), then `script`, then `statements`; `null` when they must be sent one by one (see the
 * module note).
 */
export function composeScriptMessage(script: string, statements: readonly BatchStatement[], prefix = ""): ScriptMessage | null {
  // With standard_conforming_strings off (a session setting the driver cannot see from here), a
  // backslash escapes the quote of a plain '...' string, so `'a\'` stays open and would swallow the
  // history INSERT and read its values as SQL. A backslash is the only place the two readings differ:
  // a script without one ends where it ends under both, so only such a script joins the message.
  if (script.includes("\\")) return null;
  const tokens = tokenizePostgresSql(script);
  if (tokens.length > 0 && tokens[tokens.length - 1]!.unterminated) return null;
  const parts: string[] = [];
  for (const statement of statements) {
    const inlined = inlinePostgresParameters(statement.sql, statement.params, SERVER_ELAPSED_MS);
    if (inlined === null) return null;
    parts.push(inlined);
  }
  const prefixLength = countCodePoints(prefix);
  const scriptLength = countCodePoints(script);
  const starts: number[] = [];
  let at = scriptLength + AFTER_SCRIPT.length;
  for (const part of parts) {
    starts.push(at);
    at += countCodePoints(part) + BETWEEN.length;
  }
  return { text: `${prefix}${script}${AFTER_SCRIPT}${parts.join(BETWEEN)}`, prefixLength, scriptLength, starts };
}

/**
 * Rewrites a failure's `position` (1-based, in characters of the message) so that it counts from the
 * start of the statement it falls in, as that statement sent alone would report it: inside the script
 * from the script's start (past the prefix), past it from the start of the history write it hit.
 */
export function relocateErrorPosition(error: unknown, message: ScriptMessage): void {
  const holder = error as { position?: unknown } | null;
  if (typeof holder !== "object" || holder === null || typeof holder.position !== "string") return;
  const inMessage = Number(holder.position);
  if (!Number.isSafeInteger(inMessage) || inMessage <= message.prefixLength) return;
  const position = inMessage - message.prefixLength;
  if (position <= message.scriptLength) {
    holder.position = String(position);
    return;
  }
  const start = message.starts.findLast((candidate) => candidate < position);
  if (start !== undefined) holder.position = String(position - start);
}

function countCodePoints(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // A surrogate pair is one character to the server.
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const low = text.charCodeAt(index + 1);
      if (low >= 0xdc00 && low <= 0xdfff) index++;
    }
    count++;
  }
  return count;
}
