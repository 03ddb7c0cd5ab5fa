/**
 * A comparable picture of a database: its schema, `user_version`, and a digest of every user table's
 * rows. Two databases with equal digests hold the same schema and data, so a crashed database can be
 * compared with a clean replay of the migrations its history records.
 *
 * It reads through a driver's `query` primitive, so every library is read the same way. Values are
 * normalised first (a BLOB is a Buffer in one library and a Uint8Array in another, which JSON tells
 * apart), so the digest of one file is the same whichever driver reads it.
 */
import { createHash } from "node:crypto";

/** The one primitive a digest needs: a driver's `query`. */
export interface DigestReader {
  query(sql: string, params: readonly unknown[]): ReadonlyArray<Record<string, unknown>>;
}

/** Plain data; compare with `assert.deepEqual`. */
export interface DatabaseDigest {
  readonly userVersion: number;
  readonly schema: ReadonlyArray<{ type: string; name: string; tbl_name: string; sql: string | null }>;
  /** Row count and SHA-256 of the rows in rowid (or primary key) order, per table. */
  readonly tables: Readonly<Record<string, { rows: number; digest: string }>>;
}

/** Snapshots the database `reader` is on, leaving out the rows of `historyTable`, whose timestamps differ from run to run. */
export function digestDatabase(reader: DigestReader, historyTable = "schema_migrations"): DatabaseDigest {
  const schema = reader
    .query("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name", [])
    .map((row) => ({ type: String(row.type), name: String(row.name), tbl_name: String(row.tbl_name), sql: row.sql === null ? null : String(row.sql) }));
  const tables: Record<string, { rows: number; digest: string }> = {};
  for (const { name, type } of schema) {
    if (type !== "table" || name === historyTable) continue;
    const hash = createHash("sha256");
    // Rowid order for ordinary tables, primary-key order (a table scan) for WITHOUT ROWID ones.
    const withoutRowid = reader.query("SELECT wr FROM pragma_table_list WHERE name = ?", [name])[0]?.wr === 1;
    const rows = reader.query(`SELECT * FROM "${name}"${withoutRowid ? "" : " ORDER BY rowid"}`, []);
    for (const row of rows) {
      hash.update(JSON.stringify(Object.values(row).map(normalise)));
      hash.update("\n");
    }
    tables[name] = { rows: rows.length, digest: hash.digest("hex") };
  }
  return { userVersion: Number(reader.query("PRAGMA user_version", [])[0]?.user_version), schema, tables };
}

/** One column value as the same JSON on every library. */
function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return `x'${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}'`;
  if (typeof value === "bigint") return value.toString();
  return value;
}
