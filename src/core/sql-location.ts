/**
 * Where in its file a SQL migration failed (`MIGRATION_FAILED`'s `location`): from the database's error position (PostgreSQL), the statement sent alone, or after a rollback
 * by running its statements again one by one in a transaction rolled back too (SQLite reports no position).
 */
import type { SqlLocation } from "./errors.js";
import { firstLineOf } from "./error-factories.js";
import { begin, callDriver, exec, rollbackQuietly, type Step } from "./step.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";

/** Why SQL holding a NUL is not run: SQLite stops reading there, and the rest would be recorded as applied unrun. */
export const NUL_IN_SQL = "its SQL holds a NUL character, where SQLite stops reading; regenerate the registry with stepwise gen";

/** One statement of a script, where it starts in the script (0-based offset; 1-based line and column). */
export interface ScriptStatement {
  readonly text: string;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** Cuts a script into its statements by the dialect's rules. */
export type StatementSplitter = (script: string) => readonly ScriptStatement[];

/** A tokeniser's statements (their significant tokens, each with its place) as {@link ScriptStatement}s of `script`. */
export function scriptStatements(script: string, statements: readonly { readonly tokens: readonly ScriptStatement[] }[]): ScriptStatement[] {
  return statements.map(({ tokens }) => {
    const first = tokens[0]!;
    const last = tokens[tokens.length - 1]!;
    return { text: script.slice(first.offset, last.offset + last.text.length), offset: first.offset, line: first.line, column: first.column };
  });
}

const failedStatements = new WeakMap<object, ScriptStatement>();

/** Notes that `error` is the failure of `statement`, sent alone. */
export function recordFailedStatement(error: unknown, statement: ScriptStatement): void {
  if (error !== null && typeof error === "object" && !failedStatements.has(error)) failedStatements.set(error, statement);
}

/** The script of `entry` for `direction`, or `null` (TypeScript, or no down section). */
export function scriptOf(entry: MigrationEntry, direction: MigrationDirection): string | null {
  return entry.kind === "sql" ? (direction === "up" ? entry.upSql : entry.downSql) : null;
}

/** The `SET TRANSACTION` statements a transactional SQL migration's `direction` script starts with on PostgreSQL, which its transaction's BEGIN must send ({@link splitTransactionHead}); else "". */
export function transactionHeadOf(entry: MigrationEntry | undefined, direction: MigrationDirection, dialect: { transactionHead?(script: string): string }): string {
  const script = entry?.transaction && dialect.transactionHead ? scriptOf(entry, direction) : null;
  return script === null ? "" : dialect.transactionHead!(script);
}

/** `at`, a place in `entry`'s script, as a place in its file; `null` when the registry does not say where the script begins. */
export function inFile(entry: MigrationEntry, direction: MigrationDirection, at: { line: number; column: number }): SqlLocation | null {
  const start = entry.kind === "sql" ? entry.sqlLines?.[direction === "up" ? 0 : 1] : undefined;
  if (typeof start !== "number") return null;
  return { file: entry.file, line: start + at.line - 1, column: at.column };
}

/** The line and column of character `position` (1-based, in code points, as PostgreSQL counts); the column in UTF-16 code units, as gen's problems and every other location count it. */
function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = [...text].slice(0, position - 1);
  const lines = before.join("").split("\n");
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/** The first error down `error`'s `cause` chain (itself first, at most 8 deep) that `matches`. */
export function findInCauseChain(error: unknown, matches: (current: object) => boolean): object | undefined {
  let current = error;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    try {
      if (matches(current)) return current;
      current = (current as { cause?: unknown }).cause;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The database's error position down `cause`'s chain (PostgreSQL's `position`), or `null`. */
function positionOf(cause: unknown): number | null {
  const isPosition = (value: number) => Number.isSafeInteger(value) && value > 0;
  const found = findInCauseChain(cause, (current) => isPosition(Number((current as { position?: unknown }).position)));
  return found === undefined ? null : Number((found as { position: unknown }).position);
}

/**
 * The line of a PostgreSQL `DO` block that PL/pgSQL names in a run-time error's context (`… inline_code_block line N at …`, the block's frame last), counted from the block's
 * opening quote, at its first non-blank character; `null` for any other failure.
 */
function lineInDoBlock(statement: ScriptStatement, cause: unknown): { line: number; column: number } | null {
  const where = (findInCauseChain(cause, (current) => typeof (current as { where?: unknown }).where === "string") as { where: string } | undefined)?.where;
  const blockLine = where === undefined ? undefined : /PL\/pgSQL function inline_code_block line (\d+) at [^\n]*$/.exec(where)?.[1];
  const opening = /^DO\s+(?:LANGUAGE\s+\w+\s+)?(?:\$\w*\$|')/i.exec(statement.text);
  const lines = statement.text.split("\n");
  const index = opening === null || blockLine === undefined ? -1 : opening[0].split("\n").length + Number(blockLine) - 2;
  if (index < 0 || index >= lines.length) return null;
  const indent = /^\s*/.exec(lines[index]!)![0].length;
  return { line: statement.line + index, column: (index === 0 ? statement.column : 1) + indent };
}

/** Where `entry`'s script failed with `cause`, from the statement sent alone and the database's position; `null` when neither says. */
export function locateFromFailure(entry: MigrationEntry, direction: MigrationDirection, cause: unknown): SqlLocation | null {
  const script = scriptOf(entry, direction);
  if (script === null) return null;
  const statement = cause !== null && typeof cause === "object" ? failedStatements.get(cause) : undefined;
  const position = positionOf(cause);
  if (statement !== undefined) {
    if (position === null) return inFile(entry, direction, lineInDoBlock(statement, cause) ?? statement);
    const within = lineAndColumn(statement.text, position);
    return inFile(entry, direction, { line: statement.line + within.line - 1, column: within.line === 1 ? statement.column + within.column - 1 : within.column });
  }
  return position === null ? null : inFile(entry, direction, lineAndColumn(script, position));
}

/**
 * What tells two failures apart: the message's first line, with PostgreSQL's SQLSTATE where the error has one, its digits outside quoted names left out, since a value in it may differ from run to run
 * (`RAISE … now()`, `nextval()`). The SQLSTATE alone took an earlier statement's "relation "items" does not exist" for the run's "relation "no_such_table" does not exist".
 */
function failureKey(error: unknown): string {
  const server = findInCauseChain(error, (current) => /^[0-9A-Z]{5}$/.test(String((current as { code?: unknown }).code))) as { code: string } | undefined;
  return server === undefined ? firstLineOf(error) : `${server.code} ${firstLineOf(server).replace(/"(?:[^"]|"")*"|\d+/g, (part) => (part.startsWith('"') ? part : "#"))}`;
}

/**
 * How many statements {@link locateByBatch} may run again in all. Its batches run about log2(N) times the statements before the failing one, so a migration of thousands failing near its
 * end would run a hundred thousand and more (each as slow as in the migration): past this, the error names the file without a line.
 */
export const LOCATE_BY_BATCH_BUDGET = 25_000;

/**
 * Where `entry`'s statement that failed a batch (D1, whose error names none) starts: the first statements run again in batches that end with a statement that always fails, so nothing
 * is kept, halving the range each time. `null` when a batch fails otherwise than `failedWith` (another process changed the database meanwhile), or the next batch would take the
 * statements run again past {@link LOCATE_BY_BATCH_BUDGET}. Never throws.
 */
export function* locateByBatch(entry: MigrationEntry, direction: MigrationDirection, split: StatementSplitter, failedWith: unknown): Step<SqlLocation | null> {
  const statements = split(scriptOf(entry, direction) ?? "");
  const sentinel = "stepwise: the statements before it";
  let budget = LOCATE_BY_BATCH_BUDGET;
  // Whether the first `count` statements fail as the migration did; `null` when they fail otherwise, or the budget is spent.
  const failsWithin = function* (count: number): Step<boolean | null> {
    if ((budget -= count) < 0) return null;
    try {
      yield* callDriver("batch", [], [...statements.slice(0, count).map((statement) => statement.text), `SELECT * FROM "${sentinel}"`].join(";\n"));
    } catch (error) {
      if (firstLineOf(error).includes(sentinel)) return false;
      return failureKey(error) === failureKey(failedWith) ? true : null;
    }
    return null;
  };
  let [passing, failing] = [0, statements.length];
  try {
    if ((yield* failsWithin(failing)) !== true) return null;
    while (failing - passing > 1) {
      const middle = Math.floor((passing + failing) / 2);
      const fails = yield* failsWithin(middle);
      if (fails === null) return null;
      [passing, failing] = fails ? [passing, middle] : [middle, failing];
    }
  } catch {
    return null;
  }
  return failing === 0 ? null : inFile(entry, direction, statements[failing - 1]!);
}

/**
 * Runs `entry`'s statements one by one after `before`, in a transaction rolled back after: where the first that fails starts, or `null`, also when it fails otherwise than `failedWith` (the
 * run's failure, when given), as a statement does over what the rolled-back run left behind (an `ATTACH`). Never throws.
 */
export function* locateByRerun(
  entry: MigrationEntry,
  direction: MigrationDirection,
  split: StatementSplitter,
  before: readonly string[] = [],
  failedWith?: unknown,
  head = "",
): Step<SqlLocation | null> {
  const script = scriptOf(entry, direction);
  if (script === null) return null;
  try {
    yield* begin("immediate", head);
  } catch {
    return null;
  }
  try {
    for (const earlier of before) yield* exec(earlier);
    for (const statement of split(script)) {
      try {
        yield* exec(statement.text);
      } catch (error) {
        if (failedWith !== undefined && failureKey(error) !== failureKey(failedWith)) return null;
        // PostgreSQL's position points inside the statement, many lines below its start in a long CREATE FUNCTION or a multi-line one.
        recordFailedStatement(error, statement);
        return locateFromFailure(entry, direction, error);
      }
    }
    return null;
  } catch {
    return null;
  } finally {
    yield* rollbackQuietly();
  }
}
