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
import { endsUnterminated, tokenizePostgresSql } from "../shared/postgres-tokens.js";

/**
 * The script's duration, measured by the server: the time since it received the message (every
 * statement of a simple query shares its `statement_timestamp()`) when the history write runs. Every
 * name qualified (see `postgres-operators.ts`): the script before it may have changed the `search_path`.
 *
 * The cast to `bigint` rounds the `numeric` milliseconds half away from zero, as `round(numeric)`
 * does, without calling it: `round(numeric)` is a SQL-language function, which the server parses
 * and inlines from its stored body for every statement that names it, a sixth of the history
 * INSERT's cost (bench/README.md, session 11).
 */
export const SERVER_ELAPSED_MS = "(EXTRACT(epoch FROM pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) pg_catalog.statement_timestamp()) OPERATOR(pg_catalog.*) 1000)::bigint";

/** What separates the script from the first history write: a line break ends a trailing `--` comment. */
export const AFTER_SCRIPT = "\n;\n";
/** What separates stepwise's own statements. */
export const BETWEEN = ";\n";

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
 * `sql` cut at each `?` placeholder outside strings, comments and quoted names: the texts between
 * them, one more than the placeholders. Kept for the few statements a run repeats (the history
 * INSERT, a revert's row check and DELETE), whose text is the same for every migration: each is
 * tokenised once, not once per migration.
 */
const placeholderSplits = new Map<string, readonly string[]>();
const MOST_SPLITS_KEPT = 32;

function splitAtPlaceholders(sql: string): readonly string[] {
  let pieces = placeholderSplits.get(sql);
  if (pieces !== undefined) return pieces;
  const cut: string[] = [];
  let current = "";
  for (const token of tokenizePostgresSql(sql)) {
    if (token.kind !== "punctuation") {
      current += token.text;
      continue;
    }
    const between = token.text.split("?");
    for (let index = 0; index < between.length - 1; index++) {
      cut.push(current + between[index]!);
      current = "";
    }
    current += between[between.length - 1]!;
  }
  cut.push(current);
  pieces = cut;
  // A process that runs many distinct statements through here (none does today) keeps the newest.
  if (placeholderSplits.size >= MOST_SPLITS_KEPT) placeholderSplits.delete(placeholderSplits.keys().next().value!);
  placeholderSplits.set(sql, pieces);
  return pieces;
}

/**
 * `sql` with each `?` placeholder (outside strings, comments and quoted names) replaced by the
 * literal of the matching value; `null` when a value has no literal or the counts differ.
 */
export function inlinePostgresParameters(sql: string, params: readonly unknown[], elapsed: string): string | null {
  const pieces = splitAtPlaceholders(sql);
  if (pieces.length - 1 !== params.length) return null;
  let text = pieces[0]!;
  for (let index = 0; index < params.length; index++) {
    const literal = quotePostgresLiteral(params[index], elapsed);
    if (literal === null) return null;
    text += literal + pieces[index + 1]!;
  }
  return text;
}

/**
 * Whether `script` ends where it ends whatever the session's settings, so that text of stepwise's
 * own can follow it in one message. With standard_conforming_strings off (a session setting the
 * driver cannot see from here), a backslash escapes the quote of a plain '...' string, so `'a\'` stays
 * open and would swallow the history INSERT and read its values as SQL. A backslash is the only place
 * the two readings differ: a script without one ends where it ends under both. And a script that
 * ends inside a string, a quoted name or a comment would take in whatever follows it.
 */
export function scriptCanJoinMessage(script: string): boolean {
  return !script.includes("\\") && !endsUnterminated(script);
}

/**
 * The message that runs `prefix` (statements of stepwise's own, such as the transaction's deferred
 * `BEGIN;`), then `script`, then `statements`; `null` when they must be sent one by one (see the
 * module note).
 */
export function composeScriptMessage(script: string, statements: readonly BatchStatement[], prefix = ""): ScriptMessage | null {
  if (!scriptCanJoinMessage(script)) return null;
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

/** A UTF-16 surrogate: half of a character the server counts as one. */
const SURROGATE = /[\uD800-\uDFFF]/;

/** `text`'s length in characters as the server counts them (code points), for error positions. */
export function countCodePoints(text: string): number {
  if (!SURROGATE.test(text)) return text.length;
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
