/**
 * The history table on PostgreSQL: the same rows and statements as on SQLite (`history.ts`), with
 * what differs there: a schema-qualified name, `version BIGINT PRIMARY KEY`, and the catalog read
 * through `pg_catalog` instead of `sqlite_master` and `PRAGMA table_info`.
 */
import { DEFAULT_TABLE_NAME, HistoryStore } from "../history.js";
import { exec, query, type Step } from "../step.js";
import { EQ, GT, TEXT } from "./postgres-operators.js";
import { historyTableInvalidError } from "../error-factories.js";

/** `name` as a quoted identifier; names are plain identifiers (`isValidTableName`), so nothing needs escaping. */
function quoteIdentifier(name: string): string {
  return `"${name}"`;
}

/** The `relkind`s of `pg_class` as the kinds `HISTORY_TABLE_INVALID` names. */
const RELATION_KINDS: Readonly<Record<string, string>> = { r: "table", p: "table", v: "view", m: "materialized view", i: "index", I: "index", S: "sequence", f: "foreign table", c: "type" };

/** The history table of one schema on PostgreSQL. */
export class PostgresHistoryStore extends HistoryStore {
  /** The schema holding the table. */
  readonly schema: string;
  // The version is a BIGINT, which the pg driver reads as a number when exact and as text otherwise:
  // the same contract SQLite's EXACT_VERSION expression gives.
  override readonly versionColumn = "version";
  override readonly eq = EQ;
  override readonly textType = TEXT;

  /** @throws `INVALID_TABLE_NAME` when `tableName` is not a plain SQL identifier. */
  constructor(tableName: string = DEFAULT_TABLE_NAME, schema: string) {
    super(tableName, `${quoteIdentifier(schema)}.${quoteIdentifier(tableName)}`);
    this.schema = schema;
  }

  /**
   * Whether the history table exists in the schema (PostgreSQL matches quoted names exactly). Does
   * not write.
   *
   * @throws `HISTORY_TABLE_INVALID` when another kind of relation (a view, a sequence) has the name.
   */
  override *exists(): Step<boolean> {
    const kinds = (yield* query<{ relkind: string }>(
      `SELECT c.relkind AS relkind FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace WHERE n.nspname ${EQ} ? AND c.relname ${EQ} ?`,
      [this.schema, this.tableName],
    )).map((row) => RELATION_KINDS[row.relkind] ?? "relation");
    if (kinds.includes("table")) return true;
    if (kinds.length > 0) throw historyTableInvalidError(this.tableName, [], `it is a ${kinds[0]}, not a table`);
    return false;
  }

  override companionTable(suffix: string): string {
    return `${quoteIdentifier(this.schema)}.${quoteIdentifier(`${this.tableName}_${suffix}`)}`;
  }

  override *companionExists(suffix: string): Step<boolean> {
    const found = yield* query(
      `SELECT 1 AS found FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace WHERE n.nspname ${EQ} ? AND c.relname ${EQ} ? AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p')`,
      [this.schema, `${this.tableName}_${suffix}`],
    );
    return found.length > 0;
  }

  override isNamed(name: string): boolean {
    return name === this.tableName;
  }

  /** Creates the schema and the table when missing; checks its shape and adds the `owner` column when present. */
  override *ensure(): Step<void> {
    if (!(yield* this.exists())) {
      // CREATE SCHEMA IF NOT EXISTS checks the database's CREATE privilege before it looks, so a role
      // that owns its schema but not the database (the usual app role) would be refused for `public`.
      const schemaExists = (yield* query(`SELECT 1 AS found FROM pg_catalog.pg_namespace WHERE nspname ${EQ} ?`, [this.schema])).length > 0;
      if (!schemaExists) yield* exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.schema)}`);
      yield* exec(`CREATE TABLE ${this.quoted} (
        version BIGINT PRIMARY KEY,
        name ${TEXT} NOT NULL,
        checksum ${TEXT} NOT NULL,
        applied_at ${TEXT} NOT NULL,
        duration_ms BIGINT,
        state ${TEXT} NOT NULL DEFAULT 'applied' CHECK (state ${EQ} 'applied' OR state ${EQ} 'started'),
        owner ${TEXT}
      )`);
      this.shapeChecked = true;
      return;
    }
    yield* this.assertShape();
    if (!(yield* this.hasOwnerColumn())) yield* exec(`ALTER TABLE ${this.quoted} ADD COLUMN owner ${TEXT}`);
  }

  override *assertShape(): Step<void> {
    this.checkColumns(yield* this.readColumns());
  }

  protected override isVersionKeyType(type: string): boolean {
    return type === "bigint" || type === "integer";
  }

  override *existsWithValidShape(): Step<boolean> {
    if (!(yield* this.exists())) return false;
    if (!this.shapeChecked) yield* this.assertShape();
    return true;
  }

  protected override *hasOwnerColumn(): Step<boolean> {
    return (yield* this.readColumns()).some((column) => column.name === "owner");
  }

  /** A row has no rowid on PostgreSQL; its version names it. */
  protected override *rowidOf(): Step<number | null> {
    return null;
  }

  /**
   * The table's columns: name, type as `format_type` spells it, and 1 when it alone is the primary
   * key. Alone among the key's columns: an `INCLUDE` column is stored in the key's index but plays no
   * part in its uniqueness, and PostgreSQL's own rule (the one the no-op read relies on) counts only
   * the key columns.
   */
  private *readColumns(): Step<{ name: string; pk: number; type: string }[]> {
    return yield* query<{ name: string; pk: number; type: string }>(
      `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
        CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_index AS i WHERE i.indrelid ${EQ} c.oid AND i.indisprimary AND i.indnkeyatts ${EQ} 1 AND i.indkey[0] ${EQ} a.attnum) THEN 1 ELSE 0 END AS pk
       FROM pg_catalog.pg_attribute AS a
       JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} a.attrelid
       JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
       WHERE n.nspname ${EQ} ? AND c.relname ${EQ} ? AND a.attnum ${GT} 0 AND NOT a.attisdropped
       ORDER BY a.attnum`,
      [this.schema, this.tableName],
    );
  }
}
