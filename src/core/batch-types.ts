/**
 * The types a `forEachBatch` walk shares between the walk (`batch-walk.ts`) and the dialects that
 * resolve its key (`batch-key.ts`, `dialects/postgres-batches.ts`), in a file of their own so that
 * neither imports the other for them.
 */
/** Which migration runs the walk, so its errors can name the file. */
export interface BatchOrigin {
  readonly version: number;
  readonly file: string;
}

/** A key SQLite will find, and how to read it. */
export interface ResolvedBatchKey {
  /** The key in SQL: the quoted column as declared, or the bare rowid alias. */
  readonly sql: string;
  /** True for a rowid alias: unique and never NULL by construction, so those checks are skipped. */
  readonly isRowid: boolean;
  /** The table's columns as declared, for error messages. */
  readonly columns: readonly string[];
  /**
   * The table as the walk's SQL names it, when the name given is not already that (PostgreSQL, where
   * a quoted name is case-sensitive: `ITEMS` found as `items`); default the name given, quoted.
   */
  readonly tableSql?: string;
  /**
   * PostgreSQL: `columns` are matched as the key is (exactly, else ASCII case-insensitively when that
   * names one), since a quoted name is case-sensitive there and a miss would be an untyped 42703.
   * SQLite resolves them itself, rowid aliases included, so it leaves this unset.
   */
  readonly matchColumns?: boolean;
  /**
   * The key is an integer column whose values a driver may hand back as text past 2^53 (pg's BIGINT),
   * so the walk compares them as integers, not by JavaScript type.
   */
  readonly integerKey?: boolean;
  /**
   * How the walk writes `count(*)`, `>` between counts, and the key's `=`, `>` and `<=`, where the
   * dialect names them otherwise: PostgreSQL's are `pg_catalog`'s for a built-in key type, so that
   * nothing on the search_path decides which rows a batch holds. Default SQLite's plain ones.
   */
  readonly sqlOf?: { readonly count: string; readonly countGt: string; readonly eq: string; readonly gt: string; readonly le: string };
}

/**
 * What the walk asks of its driver: the rows of a query, or the handler run on a batch. A driver
 * hands a failed query back into the walk (`throw`), which may read it as a refusal.
 */
export type BatchRequest =
  | { readonly kind: "rows"; readonly sql: string; readonly params: readonly unknown[] }
  /** Runs the handler on `rows`; `ownTransaction`: in a transaction of its own, committed before the walk goes on. */
  | { readonly kind: "handle"; readonly rows: Record<string, unknown>[]; readonly ownTransaction: boolean };

/** A walk (or a part of one) as a generator: it yields requests and receives their rows (or nothing, for `handle`). */
export type BatchWalk<T> = Generator<BatchRequest, T, unknown>;

/** What a walk needs to know of the database's SQL. */
export interface BatchDialect {
  /** Finds the key in the table, or throws `BATCH_KEY_INVALID`, as the database resolves names. */
  resolveKey(table: unknown, key: unknown, origin: BatchOrigin): BatchWalk<ResolvedBatchKey>;
  /**
   * A query of one row with `bound` (the largest key), `text` (it as text) and `integer` (1 when it
   * is an integer), over `table`'s rows matching `where`: read as text too, since an integer past
   * 2^53 rounds as a JavaScript number.
   */
  boundSql(table: string, key: string, where: string): string;
  /** True when a `where` holds placeholders of the database's own numbered kind (`$1`), which the walk's parameters would take. */
  hasNumberedPlaceholders?(where: string): boolean;
}
