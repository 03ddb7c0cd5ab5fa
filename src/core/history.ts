/**
 * Storage primitives for the history table. Every statement that touches it lives here; the manager
 * decides when to call them and inside which transaction.
 */
import type { HistoryRowOperation, HistoryRowProblem, StepwiseError } from "./errors.js";
import type { AppliedMigration, AppliedMigrationKey } from "./planner.js";
import { begin, commit, exec, inTransaction, query, queryOne, rollbackQuietly, run, type SCRIPT_ELAPSED_MS, type Step } from "./step.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import { describeStoredValue, historyRowMissingError, migrationFailedError, historyRowInvalidError, historyTableInvalidError, invalidTableNameError } from "./error-factories.js";

/** The history table's default name. */
export const DEFAULT_TABLE_NAME = "schema_migrations";

const TABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * The `version` column as read back: an integer JavaScript cannot hold exactly (past 2^53, written by
 * hand) comes back as its exact decimal text, never rounded to a neighbour (which would name another
 * row) nor refused by the library (node:sqlite throws on it). Such a row is then invalid like any
 * other, and its error names the stored value.
 */
const EXACT_VERSION = `CASE WHEN typeof(version) = 'integer' AND version NOT BETWEEN ${-Number.MAX_SAFE_INTEGER} AND ${Number.MAX_SAFE_INTEGER} THEN CAST(version AS TEXT) ELSE version END AS version`;

export const REQUIRED_COLUMNS = ["version", "name", "checksum", "applied_at", "duration_ms", "state"] as const;

/**
 * True when `tableName` can name the history table: a plain SQL identifier, so it can be quoted
 * without escaping. {@link HistoryStore} throws `INVALID_TABLE_NAME` for any other name.
 */
export function isValidTableName(tableName: string): boolean {
  // SQLite refuses to create a table whose name starts with sqlite_ (any case), and reading its own
  // sqlite_master as the history would misread the schema as migrations.
  return TABLE_NAME_PATTERN.test(tableName) && !/^sqlite_/i.test(tableName);
}

/**
 * The history table's operations, expressed in SQL over the driver's primitives: each method is a
 * {@link Step} the executor runs with `yield*`, so sync and async drivers share it.
 */
export class HistoryStore {
  readonly tableName: string;
  /** The name as statements write it (schema-qualified on PostgreSQL). */
  readonly quoted: string;
  protected shapeChecked = false;
  /** How reads select the `version` column (see `EXACT_VERSION`). */
  readonly versionColumn: string = EXACT_VERSION;
  /**
   * The equality operator as statements write it: PostgreSQL's store names `pg_catalog`'s, so that
   * no operator on the session's `search_path` decides which row a statement reads or writes.
   */
  readonly eq: string = "=";
  /** The text type as the tables stepwise creates next to the history declare it (PostgreSQL's store names `pg_catalog`'s). */
  readonly textType: string = "TEXT";
  /**
   * @param quoted the name as statements write it; a dialect that qualifies it passes its own.
   * @throws `INVALID_TABLE_NAME` when `tableName` is not a plain SQL identifier.
   */
  constructor(tableName: string = DEFAULT_TABLE_NAME, quoted?: string) {
    if (!isValidTableName(tableName)) throw invalidTableNameError(tableName);
    this.tableName = tableName;
    this.quoted = quoted ?? `"${tableName}"`;
  }

  /**
   * Whether the history table exists (SQLite matches table names case-insensitively). Does not write.
   *
   * @throws `HISTORY_TABLE_INVALID` when a view, index or trigger has the name: reading it as the
   *   history would show "version 0", and creating the table would fail on the name.
   */
  *exists(): Step<boolean> {
    const types = (yield* query<{ type: string }>("SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE", [this.tableName])).map((row) => row.type.toLowerCase());
    if (types.includes("table")) return true;
    if (types.length > 0) throw historyTableInvalidError(this.tableName, [], `it is a ${types[0]}, not a table`);
    return false;
  }

  /** True when `name`, as SQLite lists it, is the history table. */
  isNamed(name: string): boolean {
    // The table name is plain ASCII (isValidTableName), so lower-casing both folds exactly ASCII.
    return name.toLowerCase() === this.tableName.toLowerCase();
  }

  /** Creates the table when missing; checks its shape and adds the `owner` column when present. */
  *ensure(): Step<void> {
    if (!(yield* this.exists())) {
      // IF NOT EXISTS: where each statement commits on its own (D1), two processes may both find it missing.
      yield* exec(`CREATE TABLE IF NOT EXISTS ${this.quoted} (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        applied_at TEXT NOT NULL,
        duration_ms INTEGER,
        state TEXT NOT NULL DEFAULT 'applied' CHECK (state IN ('applied', 'started')),
        owner TEXT
      )`);
      this.shapeChecked = true;
      return;
    }
    yield* this.assertShape();
    // Tables created before the owner column existed get it on the first write transaction.
    if (!(yield* this.hasOwnerColumn())) yield* exec(`ALTER TABLE ${this.quoted} ADD COLUMN owner TEXT`);
  }

  /** Throws `HISTORY_TABLE_INVALID` when a required column is missing or `version` is not the key. */
  *assertShape(): Step<void> {
    this.checkColumns(yield* query<{ name: string; pk: number; type: string }>(`PRAGMA table_info(${this.quoted})`));
  }

  protected checkColumns(columns: readonly { name: string; pk: number; type: string }[]): void {
    const names = new Set(columns.map((column) => column.name));
    const missing = REQUIRED_COLUMNS.filter((column) => !names.has(column));
    if (missing.length > 0) throw historyTableInvalidError(this.tableName, missing);
    const version = columns.find((column) => column.name === "version")!;
    if (version.pk !== 1 || !this.isVersionKeyType(version.type)) {
      throw historyTableInvalidError(this.tableName, [], "version must be its INTEGER PRIMARY KEY");
    }
    this.shapeChecked = true;
  }

  /** Whether `type`, as the catalog names it, is the version key's type. */
  protected isVersionKeyType(type: string): boolean {
    return type.toUpperCase() === "INTEGER";
  }

  /** Whether the table exists with the columns stepwise writes; every read of the history asks it first. */
  *existsWithValidShape(): Step<boolean> {
    if (!(yield* this.exists())) return false;
    if (!this.shapeChecked) yield* this.assertShape();
    return true;
  }

  protected *hasOwnerColumn(): Step<boolean> {
    return (yield* query<{ name: string }>(`PRAGMA table_info(${this.quoted})`)).some((column) => column.name === "owner");
  }

  /**
   * A table stepwise keeps next to the history, `<table>_<suffix>` (such as the checksum repair log),
   * as statements write it. Its name is valid whenever the history's is.
   */
  companionTable(suffix: string): string {
    return `"${this.tableName}_${suffix}"`;
  }

  /** Whether {@link companionTable} exists. Does not write. */
  *companionExists(suffix: string): Step<boolean> {
    return (yield* query("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", [`${this.tableName}_${suffix}`])).length > 0;
  }

  /** The `started` row of `version` with its owner, or `null` when there is none. */
  *readStartedRow(version: number): Step<{ readonly owner: string | null } | null> {
    if (!(yield* this.existsWithValidShape())) return null;
    const ownerColumn = (yield* this.hasOwnerColumn()) ? "owner" : "NULL AS owner";
    const row = yield* queryOne<{ owner: string | null }>(`SELECT ${ownerColumn} FROM ${this.quoted} WHERE version ${this.eq} ? AND state ${this.eq} 'started'`, [version]);
    return row ?? null;
  }

  /** What the planner needs of each row, oldest first; `[]` when the table does not exist. */
  *readKeys(): Step<AppliedMigrationKey[]> {
    if (!(yield* this.existsWithValidShape())) return [];
    const rows = yield* query<{ version: unknown; checksum: unknown; state: unknown; started_at: string | null }>(
      `SELECT ${this.versionColumn}, checksum, state, CASE WHEN state ${this.eq} 'started' THEN applied_at END AS started_at FROM ${this.quoted} ORDER BY version`,
    );
    const keys = toKeys(rows);
    if (typeof keys === "number") {
      const row = rows[keys]!;
      yield* this.assertRowValid(row.version, row.checksum, row.state, keys === 0 ? null : rows[keys - 1]!.version);
    }
    return keys as AppliedMigrationKey[];
  }

  /** Every row, oldest first; `[]` when the table does not exist. */
  *readAll(): Step<AppliedMigration[]> {
    if (!(yield* this.existsWithValidShape())) return [];
    const rows = yield* query<{ version: number; name: string; checksum: string; applied_at: string; duration_ms: number | null; state: "applied" | "started" }>(
      `SELECT ${this.versionColumn}, name, checksum, applied_at, duration_ms, state FROM ${this.quoted} ORDER BY version`,
    );
    for (let i = 0; i < rows.length; i++) {
      yield* this.assertRowValid(rows[i]!.version, rows[i]!.checksum, rows[i]!.state, i === 0 ? null : rows[i - 1]!.version);
    }
    return rows.map((row) => ({
      version: row.version,
      name: row.name,
      checksum: row.checksum,
      appliedAt: row.applied_at,
      durationMs: row.duration_ms,
      state: row.state,
    }));
  }

  /** Throws `HISTORY_TABLE_INVALID`, naming the row, when one read row is malformed (`previous`: the version before it). */
  *assertRowValid(version: unknown, checksum: unknown, state: unknown, previous: unknown): Step<void> {
    const problem = rowProblemOf(version, checksum, state, previous);
    if (problem === null) return;
    const detail = describeRowProblem(problem, version, checksum, state);
    throw historyRowInvalidError({ table: this.tableName, rowid: yield* this.rowidOf(version), version, problem, detail });
  }

  protected *rowidOf(version: unknown): Step<number | null> {
    try {
      // A rowid past 2^53 (the version's own, in the usual table) would be rounded: the version names the row then.
      const row = yield* queryOne<{ id: number | null }>(
        `SELECT CASE WHEN rowid BETWEEN ${-Number.MAX_SAFE_INTEGER} AND ${Number.MAX_SAFE_INTEGER} THEN rowid END AS id FROM ${this.quoted} WHERE version IS ? ORDER BY rowid DESC LIMIT 1`,
        [bindable(version)],
      );
      return row?.id ?? null;
    } catch {
      // A WITHOUT ROWID table has no rowid; the version alone names the row.
      return null;
    }
  }

  /**
   * Records a migration that committed with its body.
   *
   * @throws Error when the INSERT wrote no row (see {@link assertRowWritten}).
   */
  *insertApplied(row: { version: number; name: string; checksum: string; appliedAt: string; durationMs: number | null | typeof SCRIPT_ELAPSED_MS }): Step<void> {
    const result = yield* run(`INSERT INTO ${this.quoted} (version, name, checksum, applied_at, duration_ms, state) VALUES (?, ?, ?, ?, ?, 'applied')`, [
      row.version,
      row.name,
      row.checksum,
      row.appliedAt,
      row.durationMs,
    ]);
    assertRowWritten(this, result.changes, row.version);
  }

  /**
   * Records that a `transaction: false` migration has started, and who runs it.
   *
   * @throws Error when the INSERT wrote no row (see {@link assertRowWritten}).
   */
  *insertStarted(row: { version: number; name: string; checksum: string; startedAt: string; owner: string }): Step<void> {
    const result = yield* run(`INSERT INTO ${this.quoted} (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (?, ?, ?, ?, NULL, 'started', ?)`, [
      row.version,
      row.name,
      row.checksum,
      row.startedAt,
      row.owner,
    ]);
    assertRowWritten(this, result.changes, row.version);
  }

  /**
   * Turns a `started` row into an applied one.
   *
   * @throws `HISTORY_ROW_MISSING` when there is no `started` row for `version`: another process
   *   removed it while the migration ran, and recording nothing would let the next plan run it again.
   */
  *markApplied(version: number, appliedAt: string, durationMs: number | null): Step<void> {
    const result = yield* run(`UPDATE ${this.quoted} SET state = 'applied', applied_at = ?, duration_ms = ?, owner = NULL WHERE version ${this.eq} ? AND state ${this.eq} 'started'`, [
      appliedAt,
      durationMs,
      version,
    ]);
    assertRowChanged(this, result.changes, version, "mark-applied");
  }

  /**
   * Marks `version`'s applied row as started again, for a `transaction: false` down.
   *
   * @throws `HISTORY_ROW_MISSING` when `version` has no applied row.
   */
  *markStarted(version: number, startedAt: string, owner: string): Step<void> {
    // Only an applied row: on a driver whose write section takes no lock (D1), two reverts planned
    // at once both reach this update, and the second must find nothing to mark before its body runs.
    const result = yield* run(`UPDATE ${this.quoted} SET state = 'started', applied_at = ?, duration_ms = NULL, owner = ? WHERE version ${this.eq} ? AND state ${this.eq} 'applied'`, [
      startedAt,
      owner,
      version,
    ]);
    assertRowChanged(this, result.changes, version, "mark-started");
  }

  /**
   * Removes `version`'s row (after a revert, or to forget an interrupted attempt).
   *
   * @throws `HISTORY_ROW_MISSING` when `version` has no row: whoever removed it did so behind the
   *   caller's back, and the caller must not report a revert it cannot account for.
   */
  *deleteRow(version: number): Step<void> {
    const result = yield* run(`DELETE FROM ${this.quoted} WHERE version ${this.eq} ?`, [version]);
    assertRowChanged(this, result.changes, version, "delete");
  }

  /**
   * A statement that fails when `version` has no applied row, and changes nothing when it has: the
   * first of a batch that reverts it (capability `atomicBatch`, D1), where no check can run between
   * statements. Two processes reverting at once then cannot both revert: the second batch fails on
   * the history table's NOT NULL `name` before any of its statements count.
   */
  *failUnlessApplied(version: number): Step<void> {
    yield* run(
      `INSERT INTO ${this.quoted} (version, name, checksum, applied_at, state) SELECT ?, NULL, '', '', 'applied' WHERE NOT EXISTS (SELECT 1 FROM ${this.quoted} WHERE version ${this.eq} ? AND state ${this.eq} 'applied')`,
      [version, version],
    );
  }

  /**
   * Rewrites the recorded checksum of an applied row, only while it still holds `from`; returns
   * whether it did. The caller reads the rows in the same transaction, so `false` means a bug.
   */
  *replaceChecksum(version: number, from: string, to: string): Step<boolean> {
    const result = yield* run(`UPDATE ${this.quoted} SET checksum = ? WHERE version ${this.eq} ? AND checksum ${this.eq} ? AND state ${this.eq} 'applied'`, [to, version, from]);
    return result.changes === 1;
  }

  /**
   * The error to report for a history write that found its row gone while `entry` ran. Inside a
   * transaction that was rolled back, it is the migration's failure like any other. Outside one (a
   * `transaction: false` migration, whose changes stay), an `up` writes its `started` row back in a
   * transaction of its own, so the next run stops with INCOMPLETE_MIGRATION for a person to check,
   * instead of planning the migration again. Call it outside any transaction.
   */
  *reportMissingRow(error: StepwiseError<"HISTORY_ROW_MISSING">, entry: MigrationEntry, direction: MigrationDirection, rolledBack: boolean, startedAt: string): Step<StepwiseError> {
    if (rolledBack) return migrationFailedError({ version: entry.version, file: entry.file, direction, cause: error, rolledBack });
    let restoredStartedRow = false;
    if (direction === "up" && !(yield* inTransaction())) {
      try {
        yield* begin("immediate");
        // Only when nothing took the version meanwhile: a row there now belongs to someone else.
        if ((yield* queryOne(`SELECT 1 AS found FROM ${this.quoted} WHERE version ${this.eq} ?`, [entry.version])) === undefined) {
          yield* this.insertStarted({ version: entry.version, name: entry.name, checksum: entry.checksum, startedAt, owner: "" });
          restoredStartedRow = true;
        }
        yield* commit();
      } catch {
        restoredStartedRow = false;
        yield* rollbackQuietly();
      }
    }
    return historyRowMissingError({ table: error.details.table, version: error.details.version, operation: error.details.operation, file: entry.file, direction, restoredStartedRow });
  }
}

/**
 * Throws `HISTORY_ROW_MISSING` when a history write changed no row: another process removed
 * `version`'s row behind the caller's back, and the caller must not report a write it cannot account for.
 */
export function assertRowChanged(store: HistoryStore, changes: number, version: number, operation: HistoryRowOperation): void {
  if (changes === 0) throw historyRowMissingError({ table: store.tableName, version, operation });
}

/**
 * The failure of a history write that a trigger (`RAISE(IGNORE)`, a BEFORE trigger returning NULL)
 * or a rule (`DO INSTEAD NOTHING`) on the history table discarded: an INSERT that kept no row, or a
 * DELETE that left it. Reporting the migration applied (or reverted) would have the next run apply it
 * again (or never again), so the caller fails it inside its transaction instead (MIGRATION_FAILED,
 * this error its cause). A plain `Error` with a `code` and fields rather than a class of its own:
 * the budgeted bundles carry it, and a StepwiseError cause would replace MIGRATION_FAILED.
 */
export function historyRowDiscarded(store: HistoryStore, version: number, operation: "insert" | "delete"): Error {
  const error = new Error(
    `the history table "${store.tableName}" ${operation === "insert" ? "kept no row" : "still holds the row"} for version ${version}: ` +
      `a trigger or rule on it discarded the ${operation === "insert" ? "INSERT" : "DELETE"}. ` +
      `Drop that trigger or rule (stepwise's history must record every migration it runs), then run again.`,
  );
  return Object.assign(error, { code: "HISTORY_ROW_DISCARDED", table: store.tableName, version, operation });
}

/**
 * Throws {@link historyRowDiscarded} when an INSERT of `version`'s history row changed no row. The
 * count comes with the INSERT: no statement more.
 */
export function assertRowWritten(store: HistoryStore, changes: number, version: number): void {
  if (changes === 0) throw historyRowDiscarded(store, version, "insert");
}

/**
 * Mirrors the version into `PRAGMA user_version`. `exec`, not a prepared statement: a PRAGMA cannot
 * take a bound value, and a statement per version would live on, to be expired by every schema change.
 */
export function* setUserVersion(version: number): Step<void> {
  yield* exec(`PRAGMA user_version = ${Math.trunc(version)}`);
}

/** A value read from SQLite, made safe to bind back (better-sqlite3 refuses `undefined`). */
function bindable(value: unknown): unknown {
  return value === undefined ? null : value;
}

/**
 * What is wrong with one history row as read, or `null`; `previous` is the version of the row before
 * it. No messages here (see {@link describeRowProblem}): it runs on every row of every start, inside
 * a loop that V8 compiles with its optimising compiler, whose cost grows with what the loop inlines.
 */
function rowProblemOf(version: unknown, checksum: unknown, state: unknown, previous: unknown): HistoryRowProblem | null {
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) return "version-not-positive-integer";
  if (version === previous) return "duplicate-version";
  if (typeof checksum !== "string") return "checksum-not-text";
  if (state !== "applied" && state !== "started") return "unknown-state";
  return null;
}

/** The sentence for a row's {@link rowProblemOf}. */
function describeRowProblem(problem: HistoryRowProblem, version: unknown, checksum: unknown, state: unknown): string {
  switch (problem) {
    case "version-not-positive-integer": {
      // Digits only: an integer EXACT_VERSION gave as text (INTEGER affinity stores digit text as an integer).
      const shown = typeof version === "string" && /^-?\d+$/.test(version) ? version : describeStoredValue(version);
      return `its version is ${shown}, but versions are whole numbers from 1`;
    }
    case "duplicate-version":
      return `version ${String(version)} is recorded more than once`;
    case "checksum-not-text":
      return `its checksum is ${describeStoredValue(checksum)}, not text`;
    default:
      return `its state is ${describeStoredValue(state)}, but it can only be 'applied' or 'started'`;
  }
}

/**
 * The planner's keys of the rows, or the index of the first row {@link rowProblemOf} rejects. A
 * plain function, not a step: a no-op start runs it over every row, and a loop inside a generator
 * (or a generator per row, as before) stays slow for longer while the engine warms up.
 */
export function toKeys(rows: readonly { version: unknown; checksum: unknown; state: unknown; started_at: string | null }[]): AppliedMigrationKey[] | number {
  const keys: AppliedMigrationKey[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (rowProblemOf(row.version, row.checksum, row.state, i === 0 ? null : rows[i - 1]!.version) !== null) return i;
    keys[i] = { version: row.version as number, checksum: row.checksum as string, startedAt: row.started_at };
  }
  return keys;
}
