/** The history table: every statement that touches it, as steps; `dialects/postgres.ts` subclasses the store for PostgreSQL's catalog. */
import type { HistoryRowOperation, HistoryWriteProblem, StepwiseError } from "./errors.js";
import type { BatchStatement } from "./driver.js";
import { findRowProblem, type AppliedMigration, type AppliedMigrationKey } from "./planner.js";
import { begin, commit, exec, inTransaction, query, rollbackQuietly, run, type Step } from "./step.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import {
  firstLineOf,
  historyRowMissingError,
  migrationFailedError,
  historyRowInvalidError,
  historyTableInvalidError,
  historyWriteRefusedError,
  invalidTableNameError,
  WRITTEN_HISTORY_COLUMNS,
} from "./error-factories.js";

/** The history table's default name. */
export const DEFAULT_TABLE_NAME = "schema_migrations";

/** An integer version past 2^53 (written by hand) is read as its exact text, so the row is refused naming it. */
const EXACT_VERSION = `CASE WHEN typeof(version) = 'integer' AND version NOT BETWEEN ${-Number.MAX_SAFE_INTEGER} AND ${Number.MAX_SAFE_INTEGER} THEN CAST(version AS TEXT) ELSE version END AS version`;

/** The columns stepwise reads and writes. */
export const REQUIRED_COLUMNS = ["version", "name", "checksum", "applied_at", "duration_ms", "state"] as const;

const DISCARDED = "stepwise-history-row-discarded";

/** A history table's column as `PRAGMA table_info` lists it (PostgreSQL's store reads the same fields from its catalog). */
export interface HistoryColumn {
  readonly name: string;
  readonly pk: number;
  readonly type: string;
  /** 1 when the column is `NOT NULL`. */
  readonly notnull: number;
  /** Its default's text, `null` without one; PostgreSQL's store gives any text where something (a default, an identity, a trigger or rule) may fill it. */
  readonly dflt_value: string | null;
}

/** What refused one of stepwise's history INSERTs, as `HISTORY_TABLE_INVALID` names it. */
export interface HistoryWriteRefusal {
  readonly problem: HistoryWriteProblem;
  readonly column: string | null;
  readonly constraint: string | null;
}

/** The errors stepwise's own history INSERTs failed with: a failure of the row's write, not of a migration's body. */
const insertFailures = new WeakSet<object>();

/** Whether `error` is what one of stepwise's own history INSERTs failed with. */
export function isHistoryInsertFailure(error: unknown): boolean {
  return typeof error === "object" && error !== null && insertFailures.has(error);
}

/** Whether `tableName` can name the history table: a plain identifier (quoted without escaping), not `sqlite_...`. */
export function isValidTableName(tableName: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(tableName) && !/^sqlite_/i.test(tableName);
}

/** The history table's statements. */
export class HistoryStore {
  readonly tableName: string;
  /** The name as statements write it, schema-qualified: a temporary table or view a migration leaves on the connection under the same name would take every unqualified statement. */
  readonly quoted: string;
  protected shapeChecked = false;
  readonly versionColumn: string = EXACT_VERSION;
  /** The equality operator (PostgreSQL's names `pg_catalog`'s). */
  readonly eq: string = "=";
  readonly textType: string = "TEXT";

  /** @throws `INVALID_TABLE_NAME` when `tableName` is not a plain SQL identifier. */
  constructor(tableName: string = DEFAULT_TABLE_NAME, quoted?: string) {
    if (!isValidTableName(tableName)) throw invalidTableNameError(tableName);
    this.tableName = tableName;
    this.quoted = quoted ?? `main."${tableName}"`;
  }

  /** Whether the table exists (case-insensitively, as SQLite matches); `HISTORY_TABLE_INVALID` when something else has the name. */
  *exists(): Step<boolean> {
    const kinds = yield* this.readKinds(this.tableName);
    if (kinds.includes("table")) return true;
    if (kinds.length > 0) throw historyTableInvalidError(this.tableName, [], `it is a ${kinds[0]}, not a table`);
    return false;
  }

  /** The kinds of schema object (`table`, `view`...) named `name`. */
  protected *readKinds(name: string): Step<string[]> {
    return (yield* query<{ type: string }>("SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE", [name])).map((row) => row.type.toLowerCase());
  }

  /** Whether `name`, as the catalog lists it, is the history table. */
  isNamed(name: string): boolean {
    return name.toLowerCase() === this.tableName.toLowerCase();
  }

  /** Creates the table when missing (true), else checks its shape and adds the `owner` column. */
  *ensure(): Step<boolean> {
    if (!(yield* this.exists())) {
      yield* this.createTable();
      this.shapeChecked = true;
      return true;
    }
    if (!(yield* this.assertShape()).includes("owner")) yield* exec(`ALTER TABLE ${this.quoted} ADD COLUMN owner ${this.textType}`);
    return false;
  }

  protected *createTable(): Step<void> {
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
  }

  /**
   * Throws `HISTORY_TABLE_INVALID` when a required column is missing, `version` is not the key, or a column stepwise never fills is `NOT NULL` with nothing to fill it (every row
   * stepwise writes would be refused); returns the column names. Read from the columns already read: no statement of its own.
   */
  *assertShape(): Step<string[]> {
    const columns = yield* this.readColumns();
    const missing = REQUIRED_COLUMNS.filter((name) => !columns.some((column) => column.name === name));
    if (missing.length > 0) throw historyTableInvalidError(this.tableName, missing, undefined, yield* this.readAdoptedHistories());
    const version = columns.find((column) => column.name === "version")!;
    if (version.pk !== 1 || !this.isVersionKeyType(version.type)) throw historyTableInvalidError(this.tableName, [], "version must be its INTEGER PRIMARY KEY");
    // version is the only rowid alias a valid table can have (the INTEGER PRIMARY KEY), and it is written; `DEFAULT NULL` fills nothing a NOT NULL column accepts.
    const unfilled = columns.find((column) => Number(column.notnull) === 1 && !WRITTEN_HISTORY_COLUMNS.has(column.name) && (column.dflt_value ?? "NULL").toUpperCase() === "NULL");
    if (unfilled) throw historyWriteRefusedError({ table: this.tableName, problem: "not-null-column", column: unfilled.name, constraint: null, version: null });
    this.shapeChecked = true;
    return columns.map((column) => column.name);
  }

  /**
   * The other tables `stepwise adopt` recorded an adoption beside (`<name>_adopted` next to `<name>`): where this database's stepwise history is when the configured name holds another
   * tool's table. Read only on the way to `HISTORY_TABLE_INVALID`.
   */
  protected *readAdoptedHistories(): Step<string[]> {
    const sql = `SELECT substr(a.name, 1, length(a.name) - 8) AS name FROM sqlite_master AS a
        WHERE a.type = 'table' AND a.name LIKE '%\\_adopted' ESCAPE '\\' AND a.sql LIKE '%old\\_table%' ESCAPE '\\'
          AND EXISTS (SELECT 1 FROM sqlite_master AS b WHERE b.type = 'table' AND b.name = substr(a.name, 1, length(a.name) - 8) COLLATE NOCASE) ORDER BY 1`;
    const rows = yield* query<{ name: string }>(sql);
    return rows.map((row) => row.name).filter((name) => !this.isNamed(name));
  }

  protected *readColumns(): Step<HistoryColumn[]> {
    return yield* query<HistoryColumn>(`PRAGMA main.table_info("${this.tableName}")`);
  }

  /**
   * What refused a COMMIT, when it was a deferred constraint of the history table refusing stepwise's row; `null` otherwise. SQLite's deferred foreign-key failure at COMMIT names no
   * table, so it cannot be told from a migration's own.
   */
  describeRefusedCommit(_error: unknown, _nativeCode: string | null): HistoryWriteRefusal | null {
    return null;
  }

  /**
   * What refused one of stepwise's history INSERTs (`error`, with the driver's `nativeCode`), read from SQLite's messages, which name the constraint: `null` when it was no
   * refusal of the row (a collision on version, a lock, a full disk).
   */
  describeRefusedWrite(error: unknown, nativeCode: string | null): HistoryWriteRefusal | null {
    // Cloudflare's storage ends its messages with the code, and D1 starts them with its own: neither is the constraint's or the trigger's words.
    const message = firstLineOf(error).replace(/^D1_ERROR: |: SQLITE_[A-Z_]+$/g, "");
    const ofTable = (qualified: string) => {
      const dot = qualified.lastIndexOf(".");
      return dot > 0 && this.isNamed(qualified.slice(0, dot)) ? qualified.slice(dot + 1) : null;
    };
    const trigger: HistoryWriteRefusal = { problem: "trigger", column: null, constraint: message };
    let match = /NOT NULL constraint failed: (\S+)/.exec(message);
    // A column of another table: a trigger on the history table wrote there.
    const column = match && ofTable(match[1]!);
    if (match) return column === null ? trigger : { problem: "not-null-column", column, constraint: null };
    if ((match = /CHECK constraint failed: (.+)$/.exec(message))) return { problem: "check-constraint", column: null, constraint: match[1]!.trim() };
    if ((match = /UNIQUE constraint failed: (.+)$/.exec(message))) {
      const columns = match[1]!.split(",").map((qualified) => ofTable(qualified.trim()));
      if (columns.some((column) => column === null)) return trigger;
      // version's own key: another process recorded it (where no lock holds the plan), which the executor reads as that.
      return columns.length === 1 && columns[0] === "version" ? null : { problem: "unique-constraint", column: columns.join(", "), constraint: null };
    }
    if (/FOREIGN KEY constraint failed/.test(message)) return { problem: "foreign-key", column: null, constraint: null };
    if ((match = /cannot store \w+ value in \w+ column (\S+)/.exec(message))) return { problem: "column-type", column: ofTable(match[1]!) ?? match[1]!, constraint: null };
    // RAISE(ABORT, ...) of a trigger: its own words.
    if (nativeCode !== null && nativeCode.startsWith("SQLITE_CONSTRAINT") && !/_(PRIMARYKEY|ROWID)$/.test(nativeCode)) return trigger;
    return null;
  }

  protected isVersionKeyType(type: string): boolean {
    return type.toUpperCase() === "INTEGER";
  }

  /** Whether the table exists with the columns stepwise writes. */
  *existsWithValidShape(): Step<boolean> {
    if (!(yield* this.exists())) return false;
    if (!this.shapeChecked) yield* this.assertShape();
    return true;
  }

  /** A table stepwise keeps next to the history, `<table>_<suffix>`, quoted. */
  companionTable(suffix: string): string {
    return `${this.quoted.slice(0, -1)}_${suffix}"`;
  }

  /** Whether {@link companionTable} exists. */
  *companionExists(suffix: string): Step<boolean> {
    return (yield* this.readKinds(`${this.tableName}_${suffix}`)).includes("table");
  }

  /** The `started` row of `version` with its owner, or `null`. */
  *readStartedRow(version: number): Step<{ readonly owner: string | null } | null> {
    if (!(yield* this.existsWithValidShape())) return null;
    const read = function* (this: HistoryStore) {
      const ownerColumn = (yield* this.readColumns()).some((column) => column.name === "owner") ? "owner" : "NULL AS owner";
      return (yield* query<{ owner: string | null }>(`SELECT ${ownerColumn} FROM ${this.quoted} WHERE version ${this.eq} ? AND state ${this.eq} 'started'`, [version]))[0] ?? null;
    };
    return yield* this.unlessDropped(read.call(this), null);
  }

  /** What `read` returns, or `absent` when the table it reads was dropped since it was found (a concurrent `reset`, on a read that holds no lock): a read a moment later finds no table. */
  private *unlessDropped<T>(read: Step<T>, absent: T): Step<T> {
    try {
      return yield* read;
    } catch (error) {
      let gone = false;
      try {
        gone = !(yield* this.exists());
      } catch {
        // The read's own failure says more.
      }
      if (gone) return absent;
      throw error;
    }
  }

  /** What the planner needs of each row, oldest first; `[]` when the table does not exist. `ensured`: {@link ensure} ran in this transaction. */
  *readKeys(ensured = false): Step<AppliedMigrationKey[]> {
    // By state alone: a started row with no applied_at (a history table made without NOT NULL) is still an interrupted migration, not an applied one.
    const rows = yield* this.readRows(`name, CASE WHEN state ${this.eq} 'started' THEN COALESCE(applied_at, '') END AS started_at`, ensured);
    return rows.map((row) => ({
      version: row.version as number,
      checksum: row.checksum as string,
      startedAt: row.started_at as string | null,
      ...(typeof row.name === "string" && { name: row.name }),
    }));
  }

  /** Every row, oldest first; `[]` when the table does not exist. */
  *readAll(): Step<AppliedMigration[]> {
    const rows = yield* this.readRows("name, applied_at, duration_ms");
    // A duration edited by hand (text, negative) is none: every `…Ms` field is whole milliseconds or null.
    const durationOf = (value: unknown) => (typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.round(value) : null);
    return rows.map(
      (row) => ({ version: row.version, name: row.name, checksum: row.checksum, appliedAt: row.applied_at, durationMs: durationOf(row.duration_ms), state: row.state }) as AppliedMigration,
    );
  }

  /** The rows with `columns` besides version, checksum and state, oldest first; `HISTORY_TABLE_INVALID` names a malformed one. */
  private *readRows(columns: string, ensured = false): Step<Record<string, unknown>[]> {
    if (!ensured && !(yield* this.existsWithValidShape())) return [];
    const select = query(`SELECT ${this.versionColumn}, checksum, state, ${columns} FROM ${this.quoted} ORDER BY version`);
    const rows = ensured ? yield* select : yield* this.unlessDropped(select, []);
    for (let i = 0; i < rows.length; i++) {
      const { version } = rows[i]!;
      const found = findRowProblem(version, i === 0 ? null : rows[i - 1]!.version, rows[i]!.checksum, rows[i]!.state);
      if (found) throw historyRowInvalidError({ table: this.tableName, rowid: yield* this.rowidOf(version), version, ...found });
    }
    return rows;
  }

  protected *rowidOf(version: unknown): Step<number | null> {
    try {
      // A rowid past 2^53 would be rounded: the version names the row then.
      const sql = `SELECT CASE WHEN rowid BETWEEN ${-Number.MAX_SAFE_INTEGER} AND ${Number.MAX_SAFE_INTEGER} THEN rowid END AS id FROM ${this.quoted} WHERE version IS ? ORDER BY rowid DESC LIMIT 1`;
      const [row] = yield* query<{ id: number | null }>(sql, [version === undefined ? null : version]);
      return row?.id ?? null;
    } catch {
      // A WITHOUT ROWID table: the version alone names the row.
      return null;
    }
  }

  /** Records a migration that committed with its body; a discarded INSERT fails it. */
  *insertApplied(row: { version: number; name: string; checksum: string; appliedAt: string; durationMs: number | null }): Step<void> {
    const sql = `INSERT INTO ${this.quoted} (version, name, checksum, applied_at, duration_ms, state) VALUES (?, ?, ?, ?, ?, 'applied')`;
    yield* this.insert(sql, [row.version, row.name, row.checksum, row.appliedAt, row.durationMs], row.version);
  }

  /** Records that a `transaction: false` migration has started, and who runs it. */
  *insertStarted(row: { version: number; name: string; checksum: string; startedAt: string; owner: string }): Step<void> {
    const sql = `INSERT INTO ${this.quoted} (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (?, ?, ?, ?, NULL, 'started', ?)`;
    yield* this.insert(sql, [row.version, row.name, row.checksum, row.startedAt, row.owner], row.version);
  }

  /** Runs one of stepwise's history INSERTs: its failure is marked as the row's ({@link isHistoryInsertFailure}), and a discarded row fails it. */
  private *insert(sql: string, params: unknown[], version: number): Step<void> {
    let changes: number;
    try {
      ({ changes } = yield* run(sql, params));
    } catch (error) {
      if (typeof error === "object" && error !== null) insertFailures.add(error);
      throw error;
    }
    if (changes === 0) throw this.rowDiscarded(version, "insert");
  }

  /** Turns a `started` row into an applied one; `HISTORY_ROW_MISSING` when another process removed it meanwhile. */
  *markApplied(version: number, appliedAt: string, durationMs: number | null): Step<void> {
    const sql = `UPDATE ${this.quoted} SET state = 'applied', applied_at = ?, duration_ms = ?, owner = NULL WHERE version ${this.eq} ? AND state ${this.eq} 'started'`;
    yield* this.changeRow(sql, [appliedAt, durationMs, version], "mark-applied");
  }

  /** Marks an applied row as started again, for a `transaction: false` down; `HISTORY_ROW_MISSING` when there is none (on D1, the second of two reverts). */
  *markStarted(version: number, startedAt: string, owner: string): Step<void> {
    const sql = `UPDATE ${this.quoted} SET state = 'started', applied_at = ?, duration_ms = NULL, owner = ? WHERE version ${this.eq} ? AND state ${this.eq} 'applied'`;
    yield* this.changeRow(sql, [startedAt, owner, version], "mark-started");
  }

  /** Removes `version`'s row; `HISTORY_ROW_MISSING` when it has none, so a revert nobody can account for is not reported. */
  *deleteRow(version: number): Step<void> {
    yield* this.changeRow(`DELETE FROM ${this.quoted} WHERE version ${this.eq} ?`, [version], "delete");
  }

  private *changeRow(sql: string, params: unknown[], operation: HistoryRowOperation): Step<void> {
    const version = params[params.length - 1] as number;
    if ((yield* run(sql, params)).changes === 0) throw historyRowMissingError({ table: this.tableName, version, operation });
  }

  /** A batch statement that fails (on the NOT NULL `name`) unless `version` has an applied row: the first of a batch that reverts it (D1), so two processes cannot both revert it. */
  failUnlessApplied(version: number): BatchStatement {
    return {
      sql: `INSERT INTO ${this.quoted} (version, name, checksum, applied_at, state) SELECT ?, NULL, '', '', 'applied' WHERE NOT EXISTS (SELECT 1 FROM ${this.quoted} WHERE version ${this.eq} ? AND state ${this.eq} 'applied')`,
      params: [version, version],
    };
  }

  /** A batch statement that fails (an unreadable JSON path) unless `version`'s row is there after an `up`, or gone after a `down`. */
  failUnlessRecorded(version: number, direction: MigrationDirection): BatchStatement {
    return {
      sql: `SELECT json_extract('{}', CASE WHEN ${direction === "up" ? "" : "NOT "}EXISTS (SELECT 1 FROM ${this.quoted} WHERE version = ?) THEN '$' ELSE '${DISCARDED}' END)`,
      params: [version],
    };
  }

  /** The failure to report when a batch failed on {@link failUnlessRecorded}, else `cause`. */
  discardedRowError(version: number, direction: MigrationDirection, cause: unknown): unknown {
    if (!String((cause as { message?: unknown } | null)?.message).includes(DISCARDED)) return cause;
    return this.rowDiscarded(version, direction === "up" ? "insert" : "delete");
  }

  /** The error for a history write that found its row gone. Outside a transaction an `up` writes its `started` row back, so the next run stops instead of running it again. */
  *reportMissingRow(error: StepwiseError<"HISTORY_ROW_MISSING">, entry: MigrationEntry, direction: MigrationDirection, rolledBack: boolean, startedAt: string): Step<StepwiseError> {
    if (rolledBack) return migrationFailedError({ version: entry.version, file: entry.file, direction, cause: error, rolledBack });
    let restoredStartedRow = false;
    if (direction === "up" && !(yield* inTransaction())) {
      try {
        yield* begin("immediate");
        // Only when nothing took the version meanwhile: a row there now belongs to someone else.
        if ((yield* query(`SELECT 1 AS found FROM ${this.quoted} WHERE version ${this.eq} ?`, [entry.version])).length === 0) {
          yield* this.insertStarted({ version: entry.version, name: entry.name, checksum: entry.checksum, startedAt, owner: "" });
          restoredStartedRow = true;
        }
        yield* commit();
      } catch {
        restoredStartedRow = false;
        yield* rollbackQuietly();
      }
    }
    return historyRowMissingError({ ...error.details, file: entry.file, direction, restoredStartedRow });
  }

  /** A history write a trigger or rule discarded: the migration's failure, or the next run would apply it again. */
  private rowDiscarded(version: number, operation: "insert" | "delete"): Error {
    const [kept, statement] = operation === "insert" ? ["kept no row", "INSERT"] : ["still holds the row", "DELETE"];
    const error = new Error(
      `the history table "${this.tableName}" ${kept} for version ${version}: a trigger or rule on it discarded the ${statement}. ` +
        `Drop that trigger or rule (stepwise's history must record every migration it runs), then run again.`,
    );
    return Object.assign(error, { code: "HISTORY_ROW_DISCARDED", table: this.tableName, version, operation });
  }
}

/** Mirrors the version into `PRAGMA user_version`. */
export function* setUserVersion(version: number): Step<void> {
  yield* exec(`PRAGMA user_version = ${Math.trunc(version)}`);
}
