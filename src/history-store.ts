/**
 * Storage primitives for the history table. Every statement that touches it lives here; the manager
 * decides when to call them and inside which transaction.
 */
import {
  HistoryRowInvalidError,
  HistoryRowMissingError,
  HistoryTableInvalidError,
  InvalidTableNameError,
  MigrationFailedError,
  type HistoryRowOperation,
  type HistoryRowProblem,
  type StepwiseError,
} from "./errors.js";
import { describeStoredValue } from "./stored-value.js";
import type { AppliedMigration, AppliedMigrationKey } from "./planner.js";
import type BetterSqlite3 from "better-sqlite3";
import type { Database, MigrationDirection, MigrationEntry } from "./types.js";

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/** The history table's default name. */
export const DEFAULT_TABLE_NAME = "schema_migrations";

const TABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REQUIRED_COLUMNS = ["version", "name", "checksum", "applied_at", "duration_ms", "state"] as const;

/**
 * True when `tableName` can name the history table: a plain SQL identifier, so it can be quoted
 * without escaping. {@link HistoryStore} throws {@link InvalidTableNameError} for any other name.
 */
export function isValidTableName(tableName: string): boolean {
  // SQLite refuses to create a table whose name starts with sqlite_ (any case), and reading its own
  // sqlite_master as the history would misread the schema as migrations.
  return TABLE_NAME_PATTERN.test(tableName) && !/^sqlite_/i.test(tableName);
}

/** Reads and writes one history table on one connection. Statements are prepared once, on first use. */
export class HistoryStore {
  readonly tableName: string;
  private readonly db: Database;
  private readonly quoted: string;
  private readonly statements = new Map<string, Statement>();
  private shapeChecked = false;

  constructor(db: Database, tableName: string = DEFAULT_TABLE_NAME) {
    if (!isValidTableName(tableName)) throw new InvalidTableNameError(tableName);
    this.db = db;
    this.tableName = tableName;
    this.quoted = `"${tableName}"`;
  }

  /** True when the table exists, under any ASCII case, as SQLite resolves names. Does not write. */
  exists(): boolean {
    const types = (this.statement("exists", "SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE").all(this.tableName) as Array<{ type: string }>).map((row) => row.type.toLowerCase());
    if (types.includes("table")) return true;
    // A view, index or trigger under the name is not a history table: reading it as one would show
    // "version 0", and creating the table would fail on the name, so it is refused by name.
    if (types.length > 0) throw new HistoryTableInvalidError(this.tableName, [], `it is a ${types[0]}, not a table`);
    return false;
  }

  /** True when `name` names this table to SQLite: identifiers compare case-insensitively in ASCII. */
  isNamed(name: string): boolean {
    // The table name is plain ASCII (isValidTableName), so lower-casing both folds exactly ASCII.
    return name.toLowerCase() === this.tableName.toLowerCase();
  }

  /**
   * Creates the table when missing and checks the shape of an existing one. Call it inside the write
   * transaction, so concurrent processes cannot race on creating it.
   */
  ensure(): void {
    if (!this.exists()) {
      this.db.exec(`CREATE TABLE ${this.quoted} (
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
    this.assertShape();
    // Tables created before the owner column existed get it on the first write transaction.
    if (!this.hasOwnerColumn()) this.db.exec(`ALTER TABLE ${this.quoted} ADD COLUMN owner TEXT`);
  }

  /** Throws {@link HistoryTableInvalidError} unless the existing table has the columns stepwise writes. */
  assertShape(): void {
    const columns = this.db.prepare(`PRAGMA table_info(${this.quoted})`).safeIntegers(false).all() as Array<{ name: string; pk: number; type: string }>;
    const names = new Set(columns.map((column) => column.name));
    const missing = REQUIRED_COLUMNS.filter((column) => !names.has(column));
    if (missing.length > 0) throw new HistoryTableInvalidError(this.tableName, missing);
    const version = columns.find((column) => column.name === "version")!;
    if (version.pk !== 1 || version.type.toUpperCase() !== "INTEGER") {
      throw new HistoryTableInvalidError(this.tableName, [], "version must be its INTEGER PRIMARY KEY");
    }
    this.shapeChecked = true;
  }

  /** True when the table exists; checks its shape first, so reads fail with a typed error, not SQL. */
  private existsWithValidShape(): boolean {
    if (!this.exists()) return false;
    if (!this.shapeChecked) this.assertShape();
    return true;
  }

  private hasOwnerColumn(): boolean {
    return (this.db.prepare(`PRAGMA table_info(${this.quoted})`).all() as Array<{ name: string }>).some((column) => column.name === "owner");
  }

  /**
   * The `started` row of `version` with its `owner` (`null` when none was recorded, or the table
   * predates owners), or `null` when there is no such row, for example because it just finished.
   */
  readStartedRow(version: number): { readonly owner: string | null } | null {
    if (!this.existsWithValidShape()) return null;
    const ownerColumn = this.hasOwnerColumn() ? "owner" : "NULL AS owner";
    const row = this.db.prepare(`SELECT ${ownerColumn} FROM ${this.quoted} WHERE version = ? AND state = 'started'`).get(version) as { owner: string | null } | undefined;
    return row ?? null;
  }

  /** What the planner needs, ascending by version; empty when the table does not exist. */
  readKeys(): AppliedMigrationKey[] {
    if (!this.existsWithValidShape()) return [];
    const rows = this.statement(
      "keys",
      `SELECT version, checksum, state, CASE state WHEN 'started' THEN applied_at END FROM ${this.quoted} ORDER BY version`,
    )
      // Versions are small; an app's defaultSafeIntegers(true) must not turn them into bigints here.
      .safeIntegers(false)
      .raw(true)
      .all() as Array<[unknown, unknown, unknown, string | null]>;
    const keys: AppliedMigrationKey[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      this.assertRowValid(row[0], row[1], row[2], i === 0 ? null : rows[i - 1]![0]);
      keys[i] = { version: row[0] as number, checksum: row[1] as string, startedAt: row[3] };
    }
    return keys;
  }

  /** Every row, ascending by version; empty when the table does not exist. */
  readAll(): AppliedMigration[] {
    if (!this.existsWithValidShape()) return [];
    const rows = this.statement(
      "all",
      `SELECT version, name, checksum, applied_at, duration_ms, state FROM ${this.quoted} ORDER BY version`,
    )
      .safeIntegers(false)
      .all() as Array<{ version: number; name: string; checksum: string; applied_at: string; duration_ms: number | null; state: "applied" | "started" }>;
    rows.forEach((row, i) => this.assertRowValid(row.version, row.checksum, row.state, i === 0 ? null : rows[i - 1]!.version));
    return rows.map((row) => ({
      version: row.version,
      name: row.name,
      checksum: row.checksum,
      appliedAt: row.applied_at,
      durationMs: row.duration_ms,
      state: row.state,
    }));
  }

  /**
   * Refuses a row stepwise never writes. Without this, a version of 0 or below read as "newer than
   * this app", and text or NULL versions, or one recorded twice, broke the planner in stranger ways.
   * `previous` is the version of the row before it in `ORDER BY version`.
   */
  private assertRowValid(version: unknown, checksum: unknown, state: unknown, previous: unknown): void {
    let problem: HistoryRowProblem | null = null;
    let detail = "";
    if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
      problem = "version-not-positive-integer";
      detail = `its version is ${describeStoredValue(version)}, but versions are whole numbers from 1`;
    } else if (version === previous) {
      problem = "duplicate-version";
      detail = `version ${version} is recorded more than once`;
    } else if (typeof checksum !== "string") {
      problem = "checksum-not-text";
      detail = `its checksum is ${describeStoredValue(checksum)}, not text`;
    } else if (state !== "applied" && state !== "started") {
      problem = "unknown-state";
      detail = `its state is ${describeStoredValue(state)}, but it can only be 'applied' or 'started'`;
    }
    if (problem === null) return;
    throw new HistoryRowInvalidError({ table: this.tableName, rowid: this.rowidOf(version), version, problem, detail });
  }

  /** The rowid of the last row holding `version` (for a duplicate, the later one), to name it in an error; `null` without a rowid. */
  private rowidOf(version: unknown): number | null {
    try {
      const row = this.db.prepare(`SELECT rowid AS id FROM ${this.quoted} WHERE version IS ? ORDER BY rowid DESC LIMIT 1`).get(bindable(version)) as { id: number } | undefined;
      return row?.id ?? null;
    } catch {
      // A WITHOUT ROWID table has no rowid; the version alone names the row.
      return null;
    }
  }

  /** Records a finished migration. */
  insertApplied(row: { version: number; name: string; checksum: string; appliedAt: string; durationMs: number | null }): void {
    this.statement(
      "insertApplied",
      `INSERT INTO ${this.quoted} (version, name, checksum, applied_at, duration_ms, state) VALUES (?, ?, ?, ?, ?, 'applied')`,
    ).run(row.version, row.name, row.checksum, row.appliedAt, row.durationMs);
  }

  /** Records that a non-transactional migration is about to run. */
  insertStarted(row: { version: number; name: string; checksum: string; startedAt: string; owner: string }): void {
    this.statement(
      "insertStarted",
      `INSERT INTO ${this.quoted} (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (?, ?, ?, ?, NULL, 'started', ?)`,
    ).run(row.version, row.name, row.checksum, row.startedAt, row.owner);
  }

  /**
   * Turns a `started` row into an `applied` one.
   *
   * @throws HistoryRowMissingError when there is no `started` row for `version`: another process
   *   removed it while the migration ran, and recording nothing would let the next plan run it again.
   */
  markApplied(version: number, appliedAt: string, durationMs: number | null): void {
    const result = this.statement(
      "markApplied",
      `UPDATE ${this.quoted} SET state = 'applied', applied_at = ?, duration_ms = ?, owner = NULL WHERE version = ? AND state = 'started'`,
    ).run(appliedAt, durationMs, version);
    this.assertChanged(result.changes, version, "mark-applied");
  }

  /**
   * Marks an applied row as being reverted by a non-transactional migration.
   *
   * @throws HistoryRowMissingError when `version` has no row.
   */
  markStarted(version: number, startedAt: string, owner: string): void {
    const result = this.statement(
      "markStarted",
      `UPDATE ${this.quoted} SET state = 'started', applied_at = ?, duration_ms = NULL, owner = ? WHERE version = ?`,
    ).run(startedAt, owner, version);
    this.assertChanged(result.changes, version, "mark-started");
  }

  /**
   * Removes a row (after a revert, or to forget an interrupted attempt).
   *
   * @throws HistoryRowMissingError when `version` has no row: whoever removed it did so behind the
   *   caller's back, and the caller must not report a revert it cannot account for.
   */
  delete(version: number): void {
    const result = this.statement("delete", `DELETE FROM ${this.quoted} WHERE version = ?`).run(version);
    this.assertChanged(result.changes, version, "delete");
  }

  private assertChanged(changes: number, version: number, operation: HistoryRowOperation): void {
    if (changes === 0) throw new HistoryRowMissingError({ table: this.tableName, version, operation });
  }

  /**
   * The error to report for a history write that found its row gone while `entry` ran. Inside a
   * transaction that was rolled back, it is the migration's failure like any other. Outside one (a
   * `transaction: false` migration, whose changes stay), an `up` writes its `started` row back in a
   * transaction of its own, so the next run stops with INCOMPLETE_MIGRATION for a person to check,
   * instead of planning the migration again. Call it outside any transaction.
   */
  reportMissingRow(error: HistoryRowMissingError, entry: MigrationEntry, direction: MigrationDirection, rolledBack: boolean, startedAt: string): StepwiseError {
    if (rolledBack) return new MigrationFailedError({ version: entry.version, file: entry.file, direction, cause: error, rolledBack });
    let restoredStartedRow = false;
    if (direction === "up" && !this.db.inTransaction) {
      try {
        this.db.exec("BEGIN IMMEDIATE");
        // Only when nothing took the version meanwhile: a row there now belongs to someone else.
        if (this.db.prepare(`SELECT 1 FROM ${this.quoted} WHERE version = ?`).get(entry.version) === undefined) {
          this.insertStarted({ version: entry.version, name: entry.name, checksum: entry.checksum, startedAt, owner: "" });
          restoredStartedRow = true;
        }
        this.db.exec("COMMIT");
      } catch {
        restoredStartedRow = false;
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
      }
    }
    return new HistoryRowMissingError({ table: error.table, version: error.version, operation: error.operation, file: entry.file, direction, restoredStartedRow });
  }

  /** Mirrors the schema version into `PRAGMA user_version`, which tools outside stepwise can read. */
  setUserVersion(version: number): void {
    // exec, not pragma(): a PRAGMA cannot take a bound value, so pragma() would prepare a statement per
    // migration that lives until garbage collection, and SQLite expires every live statement of the
    // connection on each schema change.
    this.db.exec(`PRAGMA user_version = ${Math.trunc(version)}`);
  }


  private statement(key: string, sql: string): Statement {
    let statement = this.statements.get(key);
    if (!statement) {
      statement = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(key, statement);
    }
    return statement;
  }
}

/** A value read from SQLite, made safe to bind back (better-sqlite3 refuses `undefined`). */
function bindable(value: unknown): unknown {
  return value === undefined ? null : value;
}
