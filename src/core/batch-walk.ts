/**
 * The keyed batch walk behind `context.forEachBatch`, written once as a sans-I/O generator: it yields
 * what it needs (rows of a query, the handler run on a batch) and is driven by the sync walker of the
 * SQLite drivers (`progress.ts`) or the async one of the server drivers (`async-batches.ts`). What
 * differs between SQLite and PostgreSQL (how a key is resolved, how the bound is read exactly) is a
 * {@link BatchDialect}; everything else, every refusal and guarantee included, is here.
 */
import type { BatchKeyProblem } from "./errors.js";
import { matchColumn, quoteIdentifier } from "./batch-key.js";
import type { BatchDialect, BatchOrigin, BatchWalk, ResolvedBatchKey } from "./batch-types.js";
import type { BatchOptions, BatchSummary } from "./types.js";
import { batchKeyError, batchOptionsInvalidError, describeStoredValue } from "./error-factories.js";

/** Rows per batch when {@link BatchOptions.batchSize} is not given. */
export const DEFAULT_BATCH_SIZE = 500;

/** The rows of `sql`, asked of the driver. */
export function* rowsOf(sql: string, params: readonly unknown[] = []): BatchWalk<Record<string, unknown>[]> {
  return (yield { kind: "rows", sql, params }) as Record<string, unknown>[];
}

/**
 * The walk of `options` (see {@link MigrationContext.forEachBatch}). `inTransaction`: whether the
 * connection is inside a transaction already (the migration's); otherwise each batch gets its own.
 * `progress` is called with 0 before the first batch and after each one.
 *
 * @throws `BATCH_OPTIONS_INVALID` for a `batchSize` that is not a whole number from 1 to 2^53, and
 *   `BATCH_KEY_INVALID` for a key it cannot walk, both before anything is written.
 */
export function* walkBatches(
  dialect: BatchDialect,
  options: BatchOptions,
  origin: BatchOrigin,
  inTransaction: boolean,
  progress: (done: number, total: number | null) => void,
): BatchWalk<BatchSummary> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || (batchSize as number) < 1) {
    throw batchOptionsInvalidError({ option: "batchSize", value: batchSize, version: origin.version, file: origin.file });
  }
  if (typeof options.where === "string" && dialect.hasNumberedPlaceholders?.(options.where)) {
    throw batchOptionsInvalidError({ option: "where", value: options.where, version: origin.version, file: origin.file });
  }
  const plan = yield* planWalk(dialect, options, origin);
  const { key, resolved, table, where, params, fail } = plan;
  if (!resolved.isRowid) yield* refuseUnwalkableKeys(plan);

  const { count: countAll, eq, gt, le } = plan.sqlOf;
  const total = countOf(yield* rowsOf(`SELECT ${countAll} AS n FROM ${table} WHERE ${where}`, params));
  // Exact (bigint) so a key beyond 2^53 does not round below the last row. MAX orders as ORDER BY
  // does, collation included, so every row the walk would reach is at or below it.
  const boundRow = (yield* keyedRows(plan, dialect.boundSql(table, resolved.sql, where), params))[0];
  const bound = boundRow === undefined || boundRow.bound === null ? null : Number(boundRow.integer) === 1 && boundRow.text !== null ? exactInteger(String(boundRow.text)) : boundRow.bound;
  if (bound === null) return { rows: 0, batches: 0 };
  const first = `SELECT ${plan.selected} FROM ${table} WHERE ${resolved.sql} ${le} ? AND ${where} ORDER BY ${resolved.sql} LIMIT ?`;
  const next = `SELECT ${plan.selected} FROM ${table} WHERE ${resolved.sql} ${gt} ? AND ${resolved.sql} ${le} ? AND ${where} ORDER BY ${resolved.sql} LIMIT ?`;
  const sharing = resolved.isRowid ? null : `SELECT ${countAll} AS n FROM ${table} WHERE ${resolved.sql} ${eq} ? AND ${where}`;
  let done = 0;
  let batches = 0;
  let last: unknown = undefined;
  // With nothing to walk there is no progress to show, and an event would only be noise in logs.
  if (total > 0) progress(0, total);
  for (;;) {
    const rows = batches === 0 ? yield* keyedRows(plan, first, [bound, ...params, batchSize]) : yield* keyedRows(plan, next, [last, bound, ...params, batchSize]);
    if (rows.length === 0) {
      // A bound was read, so at least the row holding it is at or below it. None found means the bound
      // did not bind back as the value read (a key type whose JavaScript form is inexact): no row was
      // checked, and reporting success would claim a walk that never happened.
      if (batches === 0) fail("invalid-key", `the largest key ${describeStoredValue(bound)} matched no row when read back, so the key's type cannot be walked exactly`, bound);
      break;
    }
    // Read before the handler runs: it may change the row objects it is given.
    for (const row of rows) {
      const value = row[key];
      checkKeyOrder(value, last, fail, resolved.integerKey === true);
      last = value;
    }
    // Outside a transaction (a `transaction: false` migration) every statement would commit alone;
    // one transaction per batch keeps that cost down while still committing as it goes.
    yield { kind: "handle", rows, ownTransaction: !inTransaction };
    batches++;
    done += rows.length;
    // The handler may have added a row with the last key; the next batch would start past both.
    const shared = sharing ? countOf(yield* rowsOf(sharing, [last, ...params])) : 0;
    if (shared > 1) fail("duplicate-key", `${shared} rows share the key ${describeStoredValue(last)} (added during the walk)`, last);
    // The total was counted before the walk; rows added since (by the handler, or anything else in
    // this transaction) can take `done` past it, and a total below `done` would read as over 100%.
    progress(done, Math.max(total, done));
    // No early exit on a short batch: the handler may have added rows past it, and the walk treats
    // them as it treats rows added during a full batch. The empty query that ends it is one index seek.
  }
  return { rows: done, batches };
}

/** What a walk reads with: the key as the database resolved it, and the SQL around it. */
interface WalkPlan {
  readonly key: string;
  readonly resolved: ResolvedBatchKey;
  readonly table: string;
  /** The caller's filter, parenthesised, or one that keeps every row. */
  readonly where: string;
  readonly params: readonly unknown[];
  /** The select list: the key under the caller's spelling, and the columns asked for (or all). */
  readonly selected: string;
  readonly sqlOf: NonNullable<ResolvedBatchKey["sqlOf"]>;
  /** Throws `BATCH_KEY_INVALID` for `problem`. */
  readonly fail: (problem: BatchKeyProblem, detail: string, value?: unknown) => never;
}

/** Resolves the key and the columns asked for, and writes the SQL the walk reads with. */
function* planWalk(dialect: BatchDialect, options: BatchOptions, origin: BatchOrigin): BatchWalk<WalkPlan> {
  const key = options.key ?? "id";
  const resolved = yield* dialect.resolveKey(options.table, key, origin);
  const fail = (problem: BatchKeyProblem, detail: string, value?: unknown): never => {
    throw batchKeyError({ table: options.table, key, problem, detail, value, columns: resolved.columns, version: origin.version, file: origin.file });
  };
  // The key is selected under the caller's spelling: SQLite names a result column after its declared
  // spelling (or, for rowid, after an INTEGER PRIMARY KEY), so `row[key]` would otherwise be undefined.
  const keyColumn = `${resolved.sql} AS ${quoteIdentifier(key)}`;
  // Where the database matches quoted names exactly (PostgreSQL), each column is found as the key is,
  // so `label` reaches a column created as "Label" instead of failing with the server's 42703.
  const columnSql = (column: string): string => {
    if (!resolved.matchColumns) return quoteIdentifier(column);
    const { column: found, ambiguous } = matchColumn(resolved.columns, column);
    if (found === undefined)
      fail("no-such-column", `"${options.table}" has no column "${column}" (asked for in columns)${ambiguous ? "; several differ from it only in case: give the exact name" : ""}`, column);
    return quoteIdentifier(found as string);
  };
  const selected = options.columns
    ? [keyColumn, ...options.columns.filter((column) => column !== key).map((column) => `${columnSql(column)} AS ${quoteIdentifier(column)}`)].join(", ")
    : `*, ${keyColumn}`;
  return {
    key,
    resolved,
    table: resolved.tableSql ?? quoteIdentifier(options.table),
    // A boolean (PostgreSQL wants one there) with no operator in it: an `=` would be looked up through
    // PostgreSQL's search_path, where another schema's `=(integer, integer)` could make it false.
    where: options.where ? `(${options.where})` : "(NULL IS NULL)",
    params: options.params ?? [],
    selected,
    sqlOf: resolved.sqlOf ?? { count: "count(*)", countGt: ">", eq: "=", gt: ">", le: "<=" },
    fail,
  };
}

/**
 * Refuses a key that is not a rowid and is NULL or shared by two rows, before the first batch, so a
 * refused walk has written nothing: `key > NULL` matches no row, and a key shared across a batch
 * boundary would skip the rows after the first.
 */
function* refuseUnwalkableKeys(plan: WalkPlan): BatchWalk<void> {
  const { resolved, table, where, params, fail } = plan;
  const { count: countAll, countGt } = plan.sqlOf;
  const nulls = countOf(yield* rowsOf(`SELECT ${countAll} AS n FROM ${table} WHERE ${resolved.sql} IS NULL AND ${where}`, params));
  if (nulls > 0) fail("null-key", `${nulls} row${nulls === 1 ? " has" : "s have"} a NULL key`);
  // keyedRows: a duplicate past 2^53 on a client that cannot read it is that refusal, not a RangeError.
  const repeated = (yield* keyedRows(
    plan,
    `SELECT ${resolved.sql} AS value, ${countAll} AS n FROM ${table} WHERE ${resolved.sql} IS NOT NULL AND ${where} GROUP BY 1 HAVING ${countAll} ${countGt} 1 LIMIT 1`,
    params,
  ))[0];
  if (repeated) fail("duplicate-key", `${Number(repeated.n)} rows share the key ${describeStoredValue(repeated.value)}`, repeated.value);
}

/** Rows holding keys: a client that cannot read an integer past 2^53 (@libsql/client's intMode "number") refuses the key, not the migration. */
function* keyedRows(plan: WalkPlan, sql: string, params: readonly unknown[]): BatchWalk<Record<string, unknown>[]> {
  try {
    return yield* rowsOf(sql, params);
  } catch (error) {
    if (error instanceof RangeError && /integer/i.test(error.message)) {
      plan.fail("unsafe-integer", `the database holds keys beyond 2^53, which the client cannot read as JavaScript numbers; create it with intMode: "bigint" (@libsql/client)`);
    }
    throw error;
  }
}

/** A `count` read back: a connection with defaultSafeIntegers(true) returns it as bigint, pg as text. */
const countOf = (rows: Record<string, unknown>[]): number => Number(rows[0]?.n ?? 0);

/** SQLite orders NULL, then numbers, then text, then blobs. */
const storageRank = (value: unknown) => (typeof value === "number" || typeof value === "bigint" ? 1 : typeof value === "string" ? 2 : 3);

/**
 * Keyset pagination holds only if each key follows the one before it. Text is compared by identity
 * alone, since the column's collation (NOCASE, RTRIM...) is the database's to apply.
 */
function checkKeyOrder(value: unknown, previous: unknown, fail: (problem: BatchKeyProblem, detail: string, value?: unknown) => never, integerKey: boolean): void {
  if (value === null || value === undefined) fail("null-key", "a row's key is NULL (added during the walk)");
  if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    fail("unsafe-integer", `the key ${value} is beyond 2^53, where JavaScript numbers cannot hold every integer; call db.defaultSafeIntegers(true) before migrating`, value);
  }
  if (typeof value !== "number" && typeof value !== "bigint" && typeof value !== "string" && !(value instanceof Uint8Array)) {
    fail("invalid-key", `a key of type ${typeof value} cannot be compared`, value);
  }
  if (previous === undefined) return;
  if (integerKey) {
    // pg hands BIGINT back as a number within 2^53 and as text beyond it (either sign): compared as
    // integers, not ranked by JavaScript type, or -9007199254740993 (text) then -5 (a number) would
    // read as out of order.
    const [now, before] = [BigInt(value as number | bigint | string), BigInt(previous as number | bigint | string)];
    if (now <= before) fail(now === before ? "duplicate-key" : "not-increasing", `the key ${describeStoredValue(value)} does not come after ${describeStoredValue(previous)}`, value);
    return;
  }
  const rankOrder = storageRank(value) - storageRank(previous);
  const after =
    rankOrder !== 0
      ? rankOrder > 0
      : typeof value === "string"
        ? value !== previous
        : value instanceof Uint8Array
          ? compareBlobs(value, previous as Uint8Array) > 0
          : (value as number | bigint) > (previous as number | bigint);
  if (!after) {
    const same = value === previous || (value instanceof Uint8Array && compareBlobs(value, previous as Uint8Array) === 0);
    fail(same ? "duplicate-key" : "not-increasing", `the key ${describeStoredValue(value)} does not come after ${describeStoredValue(previous)}`, value);
  }
}

/** An integer the database printed as text: a number when that is exact, else a bigint. */
function exactInteger(text: string): number | bigint {
  const value = BigInt(text);
  return Number.isSafeInteger(Number(value)) ? Number(value) : value;
}

/**
 * SQLite's order of two blobs (memcmp over the shorter length, then the shorter first): negative,
 * zero or positive. Plain bytes rather than `Buffer.compare`, which a browser page does not have.
 */
export function compareBlobs(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    if (a[index] !== b[index]) return a[index]! - b[index]!;
  }
  return a.length - b.length;
}
