/** The keyed batch walk behind `context.forEachBatch`, written once as a generator of requests (rows, a batch to handle) that a sync or an async caller answers. */
import type { BatchKeyProblem } from "./errors.js";
import type { BatchOptions, BatchSummary, MigrationEntry } from "./types.js";
import { batchKeyError, batchOptionsInvalidError, closestName, describeStoredValue } from "./error-factories.js";
import { tokenizeSqliteSql } from "../shared/sqlite-tokens.js";

/** Which migration runs the walk, for its errors. */
export type BatchOrigin = Pick<MigrationEntry, "version" | "file">;

/** A key the database will find, and how to read it. */
export interface ResolvedBatchKey {
  /** The key in SQL: the quoted column as declared, or the bare rowid alias. */
  readonly sql: string;
  /** A rowid alias: unique and never NULL. */
  readonly isRowid: boolean;
  /** The table's columns as declared, for error messages. */
  readonly columns: readonly string[];
  /** The table as the walk's SQL names it (PostgreSQL's regclass); default the name, quoted. */
  readonly tableSql?: string;
  /** Match `columns` exactly, else case-insensitively (PostgreSQL). */
  readonly matchColumns?: boolean;
  /** An integer key a driver may hand back as text past 2^53 (pg's BIGINT): compared as integers. */
  readonly integerKey?: boolean;
  /** `count(*)` and the comparisons where the dialect qualifies them (PostgreSQL's `pg_catalog`). */
  readonly sqlOf?: { readonly count: string; readonly countGt: string; readonly eq: string; readonly gt: string; readonly le: string };
}

/** What the walk asks: a query's rows, or the handler run on a batch (in its own transaction when `ownTransaction`). */
export type BatchRequest =
  { readonly kind: "rows"; readonly sql: string; readonly params: readonly unknown[] } | { readonly kind: "handle"; readonly rows: Record<string, unknown>[]; readonly ownTransaction: boolean };

/** A walk (or part of one): it yields requests and receives their answers. */
export type BatchWalk<T> = Generator<BatchRequest, T, unknown>;

/** What a walk needs to know of the database's SQL. */
export interface BatchDialect {
  /** Finds the key in the table, as the database resolves names, or throws `BATCH_KEY_INVALID`. */
  resolveKey(table: unknown, key: unknown, origin: BatchOrigin): BatchWalk<ResolvedBatchKey>;
  /**
   * One row over the rows matching `where`: `bound` (the largest key), `text` (it as text, for an integer) and `integer` (1 for an integer); where the database can hold a number JavaScript
   * cannot page past exactly, `unsafeInteger` and `unsafeReal`: a key of that storage beyond 2^53, else NULL, and `unsafeIntegerText`: that integer as text.
   */
  boundSql(table: string, key: string, where: string): string;
  /** What makes this connection read integers as BigInt, which a refusal of a key past 2^53 read as a number advises; default the advice in general words. */
  readonly bigIntAdvice?: string;
  /** Whether `where` holds numbered or named placeholders (`$1`, `?1`, `:name`), which the walk's own parameters would take. */
  hasNumberedPlaceholders(where: string): boolean;
}

/** Rows per batch when {@link BatchOptions.batchSize} is not given. */
export const DEFAULT_BATCH_SIZE = 500;

function* rowsOf(sql: string, params: readonly unknown[] = []): BatchWalk<Record<string, unknown>[]> {
  return (yield { kind: "rows", sql, params }) as Record<string, unknown>[];
}

/** Every option `forEachBatch` takes. */
export const BATCH_OPTIONS: readonly (keyof BatchOptions)[] = ["table", "key", "columns", "where", "params", "batchSize"];

/** Refuses what a JavaScript caller can pass and the walk would otherwise ignore or misread: a misspelt option (`wher` would walk every row) or a `where`, `params` or `columns` of the wrong type. */
function refuseMalformedOptions(options: BatchOptions, { version, file }: BatchOrigin): void {
  const refuse = (option: string, value: unknown): never => {
    throw batchOptionsInvalidError({ option, value, version, file });
  };
  if (typeof options !== "object" || options === null || Array.isArray(options)) refuse("options", options);
  for (const [option, value] of Object.entries(options)) {
    if (value === undefined || (BATCH_OPTIONS as readonly string[]).includes(option)) continue;
    throw batchOptionsInvalidError({ option, value, version, file, unknown: { known: BATCH_OPTIONS, meant: closestName(option, BATCH_OPTIONS) } });
  }
  const { where, params, columns } = options as { where?: unknown; params?: unknown; columns?: unknown };
  // An empty one walks every row, as a where left out does: most likely a condition that came out empty.
  if (where !== undefined && (typeof where !== "string" || where.trim() === "")) refuse("where", where);
  if (params !== undefined && !Array.isArray(params)) refuse("params", params);
  if (columns !== undefined && !(Array.isArray(columns) && columns.every((column) => typeof column === "string" && column !== ""))) refuse("columns", columns);
}

/** A `count` read back: a connection with defaultSafeIntegers(true) returns it as bigint, pg as text. */
const countOf = (rows: Record<string, unknown>[]): number => Number(rows[0]?.n ?? 0);

/** The walk of `options` (see `MigrationContext.forEachBatch`); outside a transaction each batch gets its own. Refusals come before any write. */
export function* walkBatches(
  dialect: BatchDialect,
  options: BatchOptions,
  origin: BatchOrigin,
  inTransaction: boolean,
  progress: (done: number, total: number | null) => void,
): BatchWalk<BatchSummary> {
  const { version, file } = origin;
  refuseMalformedOptions(options, origin);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw batchOptionsInvalidError({ option: "batchSize", value: batchSize, version, file });
  if (typeof options.where === "string" && dialect.hasNumberedPlaceholders(options.where)) throw batchOptionsInvalidError({ option: "where", value: options.where, version, file });
  const key = options.key ?? "id";
  const resolved = yield* dialect.resolveKey(options.table, key, origin);
  const fail = (problem: BatchKeyProblem, detail: string, value?: unknown): never => {
    throw batchKeyError({ table: options.table, key, problem, detail, value, columns: resolved.columns, version, file });
  };
  // A client that cannot read an integer past 2^53 (@libsql/client's intMode "number") refuses the key, not the migration.
  function* keyedRows(sql: string, params: readonly unknown[]): BatchWalk<Record<string, unknown>[]> {
    try {
      return yield* rowsOf(sql, params);
    } catch (error) {
      if (error instanceof RangeError && /integer/i.test(error.message))
        fail("unsafe-integer", `the database holds keys beyond 2^53, which the client cannot read as JavaScript numbers; create it with intMode: "bigint" (@libsql/client)`);
      throw error;
    }
  }
  const selected = selectList(options, key, resolved, fail);
  const table = resolved.tableSql ?? quoteIdentifier(options.table);
  // A boolean with no operator, which PostgreSQL would look up through the search_path.
  const where = options.where ? `(${options.where})` : "(NULL IS NULL)";
  const params = options.params ?? [];
  const { count, countGt, eq, gt, le } = resolved.sqlOf ?? { count: "count(*)", countGt: ">", eq: "=", gt: ">", le: "<=" };
  const k = resolved.sql;

  if (!resolved.isRowid) {
    // A NULL key matches no `key > last`, and a shared one would let a batch boundary skip rows.
    const nulls = countOf(yield* rowsOf(`SELECT ${count} AS n FROM ${table} WHERE ${k} IS NULL AND ${where}`, params));
    if (nulls > 0) fail("null-key", `${nulls} row${nulls === 1 ? " has" : "s have"} a NULL key`);
    const repeated = (yield* keyedRows(`SELECT ${k} AS value, ${count} AS n FROM ${table} WHERE ${k} IS NOT NULL AND ${where} GROUP BY 1 HAVING ${count} ${countGt} 1 LIMIT 1`, params))[0];
    if (repeated) fail("duplicate-key", `${Number(repeated.n)} rows share the key ${describeStoredValue(repeated.value)}`, repeated.value);
  }
  const total = countOf(yield* rowsOf(`SELECT ${count} AS n FROM ${table} WHERE ${where}`, params));
  // Exact past 2^53; MAX orders as ORDER BY does, so every row the walk reaches is at or below it.
  const boundRow = (yield* keyedRows(dialect.boundSql(table, k, where), params))[0];
  const bound = boundRow === undefined || boundRow.bound === null ? null : Number(boundRow.integer) === 1 && boundRow.text !== null ? exactInteger(String(boundRow.text)) : boundRow.bound;
  if (bound === null) return { rows: 0, batches: 0 };
  // Refused here, before the first batch, rather than when the walk reaches the key: a transaction: false migration would keep the batches before it.
  if (typeof boundRow!.unsafeInteger === "number") {
    // The number read is rounded, so no row has it: the text is the key.
    const exact = typeof boundRow!.unsafeIntegerText === "string" ? BigInt(boundRow!.unsafeIntegerText) : boundRow!.unsafeInteger;
    fail("unsafe-integer", unsafeIntegerDetail(exact, dialect), exact);
  }
  const real = boundRow!.unsafeReal;
  if (real !== null && real !== undefined)
    fail("invalid-key", `the key ${describeStoredValue(real)} is a floating-point value beyond 2^53, which the walk cannot page past exactly; walk by an integer or text key`, real);
  const first = `SELECT ${selected} FROM ${table} WHERE ${k} ${le} ? AND ${where} ORDER BY ${k} LIMIT ?`;
  const next = `SELECT ${selected} FROM ${table} WHERE ${k} ${gt} ? AND ${k} ${le} ? AND ${where} ORDER BY ${k} LIMIT ?`;
  let done = 0;
  let batches = 0;
  let last: unknown = undefined;
  if (total > 0) progress(0, total);
  for (;;) {
    const rows = batches === 0 ? yield* keyedRows(first, [bound, ...params, batchSize]) : yield* keyedRows(next, [last, bound, ...params, batchSize]);
    if (rows.length === 0) {
      // The bound did not bind back as the value read (an inexact key type): success would claim a walk that never happened.
      if (batches === 0) fail("invalid-key", `the largest key ${describeStoredValue(bound)} matched no row when read back, so the key's type cannot be walked exactly`, bound);
      return { rows: done, batches };
    }
    // Read before the handler runs: it may change the row objects it is given.
    for (const row of rows) {
      checkKeyOrder(row[key], last, fail, resolved.integerKey === true, dialect);
      last = row[key];
    }
    yield { kind: "handle", rows, ownTransaction: !inTransaction };
    batches++;
    done += rows.length;
    // The handler may have added a row with the last key; the next batch would start past both.
    const shared = resolved.isRowid ? 0 : countOf(yield* rowsOf(`SELECT ${count} AS n FROM ${table} WHERE ${k} ${eq} ? AND ${where}`, [last, ...params]));
    if (shared > 1) fail("duplicate-key", `${shared} rows share the key ${describeStoredValue(last)} (added during the walk)`, last);
    // Rows added since the count can take `done` past it; no early exit on a short batch, as the handler may have added rows past it.
    progress(done, Math.max(total, done));
  }
}

/** The walk's select list: the key under the caller's spelling, then the columns asked for (found case-insensitively where the dialect matches so), or every column. */
function selectList(options: BatchOptions, key: string, resolved: ResolvedBatchKey, fail: (problem: BatchKeyProblem, detail: string, value?: unknown) => never): string {
  // Under the caller's spelling: SQLite names a result column as declared, so `row[key]` would be undefined.
  const keyColumn = `${resolved.sql} AS ${quoteIdentifier(key)}`;
  const columnSql = (column: string): string => {
    if (!resolved.matchColumns) return quoteIdentifier(column);
    const { column: found, ambiguous } = matchColumn(resolved.columns, column);
    if (found !== undefined) return quoteIdentifier(found);
    return fail("no-such-column", `"${options.table}" has no column "${column}" (asked for in columns)${ambiguous ? "; several differ from it only in case: give the exact name" : ""}`, column);
  };
  return options.columns ? [keyColumn, ...options.columns.filter((column) => column !== key).map((column) => `${columnSql(column)} AS ${quoteIdentifier(column)}`)].join(", ") : `*, ${keyColumn}`;
}

/** Drives `walk` with `perform` answering each request: synchronously until an answer is a promise, asynchronously from then on. */
export function driveWalk<T>(walk: BatchWalk<T>, perform: (request: BatchRequest) => unknown, answer: { value: unknown } | { error: unknown } = { value: undefined }): T | Promise<T> {
  for (;;) {
    const step = "error" in answer ? walk.throw(answer.error) : walk.next(answer.value);
    if (step.done) return step.value;
    try {
      const value = perform(step.value);
      if (value instanceof Promise)
        return value.then(
          (resolved) => driveWalk(walk, perform, { value: resolved }),
          (error: unknown) => driveWalk(walk, perform, { error }),
        );
      answer = { value };
    } catch (error) {
      answer = { error };
    }
  }
}

/** SQLite orders NULL, then numbers, then text, then blobs. */
const storageRank = (value: unknown) => (typeof value === "number" || typeof value === "bigint" ? 1 : typeof value === "string" ? 2 : 3);

/** Keyset pagination holds only if each key follows the one before; text is checked only by identity (the collation is the database's). */
function checkKeyOrder(read: unknown, readBefore: unknown, fail: (problem: BatchKeyProblem, detail: string, value?: unknown) => never, integerKey: boolean, dialect: BatchDialect): void {
  // @libsql/client reads a blob as an ArrayBuffer.
  const [value, previous] = [read, readBefore].map((key) => (key instanceof ArrayBuffer ? new Uint8Array(key) : key));
  if (value === null || value === undefined) fail("null-key", "a row's key is NULL (added during the walk)");
  if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) fail("unsafe-integer", `${unsafeIntegerDetail(value, dialect)} (added during the walk)`, value);
  if (typeof value !== "number" && typeof value !== "bigint" && typeof value !== "string" && !(value instanceof Uint8Array))
    fail("invalid-key", `a key of type ${typeof value} cannot be compared`, value);
  if (previous === undefined) return;
  let order: number;
  if (integerKey) {
    // pg hands BIGINT back as a number within 2^53 and as text beyond: compared as integers, not by JavaScript type.
    const [now, before] = [BigInt(value as number | bigint | string), BigInt(previous as number | bigint | string)];
    order = now === before ? 0 : now > before ? 1 : -1;
  } else if (storageRank(value) !== storageRank(previous)) {
    order = storageRank(value) - storageRank(previous);
  } else if (typeof value === "string") {
    order = value === previous ? 0 : 1;
  } else if (value instanceof Uint8Array) {
    order = compareBlobs(value, previous as Uint8Array);
  } else {
    order = value === previous ? 0 : (value as number | bigint) > (previous as number | bigint) ? 1 : -1;
  }
  if (order <= 0) fail(order === 0 ? "duplicate-key" : "not-increasing", `the key ${describeStoredValue(value)} does not come after ${describeStoredValue(previous)}`, value);
}

const unsafeIntegerDetail = (value: number | bigint, { bigIntAdvice = "open it so that it reads integers as BigInt before migrating" }: BatchDialect) =>
  `the key ${value} is beyond 2^53, where JavaScript numbers cannot hold every integer, and the connection reads integers as numbers; ${bigIntAdvice}`;

/** An integer the database printed as text: a number when that is exact, else a bigint. */
function exactInteger(text: string): number | bigint {
  const value = BigInt(text);
  return Number.isSafeInteger(Number(value)) ? Number(value) : value;
}

/** SQLite's order of two blobs (memcmp, then the shorter first); a browser has no `Buffer.compare`. */
function compareBlobs(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) if (a[index] !== b[index]) return a[index]! - b[index]!;
  return a.length - b.length;
}

/** SQLite folds identifiers (and `lower()`, `COLLATE NOCASE`) in ASCII only; `toLowerCase` would also fold letters SQLite keeps apart. */
export const foldIdentifier = (name: string): string => name.replace(/[A-Z]/g, (letter) => letter.toLowerCase());

/** The column `name` names: exactly, else ASCII case-insensitively when that names one (`ambiguous` when several). */
export function matchColumn(columns: readonly string[], name: string): { column?: string; ambiguous: boolean } {
  if (columns.includes(name)) return { column: name, ambiguous: false };
  const folded = columns.filter((candidate) => foldIdentifier(candidate) === foldIdentifier(name));
  return folded.length === 1 ? { column: folded[0], ambiguous: false } : { ambiguous: folded.length > 1 };
}

/** Double-quotes an identifier, doubling any quote inside it. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The refusal of a key, naming the migration that asked. */
export function batchKeyFailure(table: unknown, key: unknown, origin: BatchOrigin) {
  return (problem: BatchKeyProblem, detail: string, columns: readonly string[] = []): never => {
    throw batchKeyError({ table: String(table), key: String(key), problem, detail, columns, version: origin.version, file: origin.file });
  };
}

/** Finds `key` in `table` as SQLite does: ASCII case-insensitively, a column before a rowid alias, `temp` before `main`. */
function* resolveSqliteBatchKey(table: unknown, key: unknown, origin: BatchOrigin): BatchWalk<ResolvedBatchKey> {
  const fail = batchKeyFailure(table, key, origin);
  if (typeof table !== "string" || table === "") return fail("no-such-table", "the table name must be a non-empty string");
  if (typeof key !== "string" || key === "") return fail("invalid-key", "the key must be a non-empty column name");
  const schemaRank = (schema: string) => (schema === "temp" ? 0 : schema === "main" ? 1 : 2);
  const found = ((yield* rowsOf("SELECT schema, name, type, wr FROM pragma_table_list(?)", [table])) as { schema: string; name: string; type: string; wr: number }[])
    .filter((row) => row.type !== "shadow")
    .sort((a, b) => schemaRank(a.schema) - schemaRank(b.schema))[0];
  if (!found) return fail("no-such-table", "there is no such table or view");
  const columns = ((yield* rowsOf("SELECT name, hidden FROM pragma_table_xinfo(?, ?)", [found.name, found.schema])) as { name: string; hidden: number }[])
    // hidden = 1 marks a virtual table's hidden columns, which `*` leaves out.
    .filter((column) => Number(column.hidden) !== 1)
    .map((column) => column.name);
  const wanted = foldIdentifier(key);
  // A real column shadows the rowid alias of the same name, as in SQLite.
  const column = columns.find((name) => foldIdentifier(name) === wanted);
  // Qualified: the one table found, and never the walk's own CTE, whose name a table may share.
  const tableSql = `${quoteIdentifier(found.schema)}.${quoteIdentifier(found.name)}`;
  if (column !== undefined) return { sql: quoteIdentifier(column), isRowid: false, columns, tableSql };
  if (["rowid", "oid", "_rowid_"].includes(wanted)) {
    if (found.type === "view") return fail("no-rowid", `"${found.name}" is a view, and views have no rowid; walk it by one of its columns`, columns);
    if (Number(found.wr) === 1) return fail("no-rowid", `"${found.name}" is a WITHOUT ROWID table, so it has no rowid; walk it by its primary key`, columns);
    return { sql: wanted, isRowid: true, columns, tableSql };
  }
  return fail("no-such-column", `"${found.name}" has no column "${key}" (compared case-insensitively, as SQLite does)`, columns);
}

/** A key of `type` beyond 2^53 among the walked keys, or NULL. */
const beyondSafeIntegers = (type: "integer" | "real") => `SELECT key FROM walked WHERE typeof(key) = '${type}' AND (key > 9007199254740991 OR key < -9007199254740991) LIMIT 1`;

/** SQLite's walk SQL. */
export const SQLITE_BATCH_DIALECT: BatchDialect = {
  resolveKey: resolveSqliteBatchKey,
  // The CTE binds `where`'s parameters once; not materialized, each read of it can search the key's index. Only an integer is cast to text: a blob that is not UTF-8 aborts libsql's
  // process when read as text.
  boundSql: (table, key, where) =>
    `WITH walked AS NOT MATERIALIZED (SELECT ${key} AS key FROM ${table} WHERE ${where}), unsafe AS MATERIALIZED (${beyondSafeIntegers("integer")}) ` +
    `SELECT max(key) AS bound, CASE WHEN typeof(max(key)) = 'integer' THEN CAST(max(key) AS TEXT) END AS text, typeof(max(key)) = 'integer' AS integer, ` +
    `(SELECT key FROM unsafe) AS "unsafeInteger", (SELECT CAST(key AS TEXT) FROM unsafe) AS "unsafeIntegerText", (${beyondSafeIntegers("real")}) AS "unsafeReal" FROM walked`,
  // SQLite's ?NNN, :name, @name, #name and $name, outside strings, quoted names and comments (a bare ? is the walk's kind).
  hasNumberedPlaceholders: (where) =>
    tokenizeSqliteSql(where).some((token, index, tokens) => (token.kind === "word" && token.text.startsWith("$")) || (/^[?:@#]$/.test(token.text) && tokens[index + 1]?.kind === "word")),
};
