/**
 * Several SQL migrations of a whole run (`transaction: "all"`) and their history writes as ONE
 * simple-query message (the pg driver's `scriptBatchWithHistory`), where one message per migration
 * costs the client and the server a round trip each. The run commits once, after every message, so
 * the only things a migration's own message gave were knowing which migration failed, its error
 * position, and its duration; a mark between the migrations keeps all three:
 *
 * `MARK; script 1; writes 1; MARK; script 2; writes 2; MARK; ...; MARK`
 *
 * Each mark is a `SELECT` that answers the server's clock and keeps it in a setting of the
 * transaction (`set_config(..., true)`, gone at its end). The server runs the statements in order and
 * stops at the first error, so the marks that answered before an error say which migration it
 * stopped in; the clock between two marks is that migration's duration, as the client reports it;
 * and a history INSERT measures its row's `duration_ms` from the setting its mark left, as a
 * migration sent alone measures it from the message's arrival.
 *
 * The server reads a message whole before it runs any of it, so a syntax error anywhere stops the
 * message before the first mark: its position (every such error has one) names the migration, and
 * the migrations before it, which a message of their own would have run before the failure, run
 * nothing (the run fails and rolls back either way). Only scripts whose end and whose text read the
 * same whatever the session does go in a batch: those that can join a one-migration message at all
 * (`scriptCanJoinMessage`), in ASCII (a character the server's encoding lacks would fail the whole
 * message, naming no position), and naming neither `stepwise` (the setting's prefix) nor `RESET`
 * (which would clear it); and only history writes in ASCII too (a migration's name is written into
 * them, and would fail the message the same way). Any other goes in a message of its own, as before.
 */
import type { BatchStatement, ScriptBatchItem, ScriptBatchOutcome } from "../core/driver.js";
import { AFTER_SCRIPT, BETWEEN, countCodePoints, inlinePostgresParameters, scriptCanJoinMessage } from "./pg-script.js";
import type { MessageResults } from "./pg-message-results.js";

/** The most migrations in one message, and the most characters of their scripts. */
export const MOST_PER_BATCH = 16;
const MOST_BATCH_SCRIPT_CHARACTERS = 64 * 1024;

/** The setting each mark leaves for the history INSERT after it; local to the run's transaction. */
const MARK_SETTING = "stepwise.batch_mark";

/**
 * A history write's duration in a batch: the milliseconds since its migration's mark, rounded half
 * away from zero by the cast, as `SERVER_ELAPSED_MS` rounds them (`pg-script.ts`). Every name qualified.
 */
const ELAPSED_SINCE_MARK_MS = `((EXTRACT(epoch FROM pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.-) pg_catalog.current_setting('${MARK_SETTING}')::pg_catalog.numeric) OPERATOR(pg_catalog.*) 1000)::bigint`;

/** Text of a script or a history write that may share a message with others (see the module note). */
const PLAIN_ASCII = /^[\t\n\v\f\r\x20-\x7e]*$/;
const NAMES_THE_MARK = /\b(?:stepwise|reset)\b/i;

/** Where a part of the message starts, in characters from its start (0-based), and what it is. */
interface Part {
  readonly start: number;
  /** The item it belongs to; a mark belongs to the item it opens (the last one closes the batch). */
  readonly item: number;
  /** `script`: positions count from the script's start; `statement`: from the statement's own. */
  readonly kind: "script" | "statement";
}

/** A composed batch: its text, the items it holds, and what the reader needs to take its answers apart. */
export interface ScriptBatchMessage {
  readonly text: string;
  /** How many items, from the first, it holds. */
  readonly count: number;
  /** The column name of the marks' answers in this message: none of the scripts names it. */
  readonly markColumn: string;
  /** How many history writes follow each item's script. */
  readonly writes: readonly number[];
  readonly parts: readonly Part[];
}

function markSql(column: string): string {
  return `SELECT pg_catalog.set_config('${MARK_SETTING}', EXTRACT(epoch FROM pg_catalog.clock_timestamp())::pg_catalog.text, true) AS "${column}"`;
}

function canJoinBatch(script: string): boolean {
  return PLAIN_ASCII.test(script) && !NAMES_THE_MARK.test(script) && scriptCanJoinMessage(script);
}

/**
 * The message for as many of `items`, from the first, as can share one (see the module note), up to
 * {@link MOST_PER_BATCH}; `null` when fewer than two can. `markColumn` names the marks' answers: a
 * name no script holds, which the caller makes fresh for each message.
 */
export function composeScriptBatch(items: readonly ScriptBatchItem[], markColumn: string): ScriptBatchMessage | null {
  const inlined: string[][] = [];
  let characters = 0;
  for (const item of items) {
    if (inlined.length === MOST_PER_BATCH || !canJoinBatch(item.script) || item.script.includes(markColumn)) break;
    characters += item.script.length;
    if (inlined.length > 0 && characters > MOST_BATCH_SCRIPT_CHARACTERS) break;
    const writes = inlineWrites(item.statements);
    if (writes === null) break;
    inlined.push(writes);
  }
  if (inlined.length < 2) return null;
  const mark = markSql(markColumn);
  const texts: string[] = [];
  const parts: Part[] = [];
  let at = 0;
  const add = (text: string, item: number, kind: Part["kind"], separator: string) => {
    parts.push({ start: at, item, kind });
    texts.push(text, separator);
    at += countCodePoints(text) + separator.length;
  };
  inlined.forEach((writes, item) => {
    add(mark, item, "statement", BETWEEN);
    add(items[item]!.script, item, "script", AFTER_SCRIPT);
    for (const write of writes) add(write, item, "statement", BETWEEN);
  });
  add(mark, inlined.length - 1, "statement", "");
  return { text: texts.join(""), count: inlined.length, markColumn, writes: inlined.map((writes) => writes.length), parts };
}

function inlineWrites(statements: readonly BatchStatement[]): string[] | null {
  const writes: string[] = [];
  for (const statement of statements) {
    const write = inlinePostgresParameters(statement.sql, statement.params, ELAPSED_SINCE_MARK_MS);
    if (write === null || !PLAIN_ASCII.test(write)) return null;
    writes.push(write);
  }
  return writes;
}

/**
 * What the message's answers say: each item's duration (between its two marks) and its writes'
 * changed rows, or the item that failed, with the error's position moved to count from that item's
 * script (or from the history write it hit), as a message of that item alone reports it.
 */
export function readScriptBatch(message: ScriptBatchMessage, answers: MessageResults): ScriptBatchOutcome {
  const marks: number[] = [];
  const clocks: number[] = [];
  answers.statements.forEach((statement, index) => {
    if (statement.columns?.length === 1 && statement.columns[0] === message.markColumn) {
      marks.push(index);
      clocks.push(Number(statement.firstValue));
    }
  });
  const completed: { durationMs: number; changes: number[] }[] = [];
  for (let item = 0; item + 1 < marks.length && item < message.count; item++) {
    const closing = marks[item + 1]!;
    const changes = answers.statements.slice(closing - message.writes[item]!, closing).map((statement) => statement.rowCount ?? 0);
    completed.push({ durationMs: (clocks[item + 1]! - clocks[item]!) * 1000, changes });
  }
  if (answers.error === null && completed.length === message.count) return { count: message.count, completed, failure: null };
  const cause = answers.error ?? new Error(`the server answered ${marks.length} of the ${message.count + 1} marks of a message that reported no error`);
  // A position names the part it falls in; the marks answered say how far the message got otherwise
  // (none: the server refused the message before running any of it, which only a position can place).
  const located = relocate(cause, message.parts);
  const index = located ?? Math.min(Math.max(marks.length - 1, 0), message.count - 1);
  return { count: message.count, completed: completed.slice(0, index), failure: { index, cause } };
}

/** Moves `error`'s position (1-based, in the message) to count from its part, and returns that part's item. */
function relocate(error: unknown, parts: readonly Part[]): number | null {
  const holder = error as { position?: unknown } | null;
  if (typeof holder !== "object" || holder === null || typeof holder.position !== "string") return null;
  const position = Number(holder.position);
  if (!Number.isSafeInteger(position) || position < 1) return null;
  const part = parts.findLast((candidate) => candidate.start < position);
  if (part === undefined) return null;
  holder.position = String(position - part.start);
  return part.item;
}
