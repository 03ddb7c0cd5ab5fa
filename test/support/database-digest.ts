/**
 * A comparable picture of a database: its schema, `user_version`, and a digest of every user table's
 * rows. Two databases with equal snapshots hold the same schema and data, so a crashed database can
 * be compared with a clean replay of the migrations its history records.
 */
import { createHash } from "node:crypto";
import type { Database } from "better-sqlite3";

/** Plain data; compare with `assert.deepEqual`. */
export interface DatabaseDigest {
  readonly userVersion: number;
  readonly schema: ReadonlyArray<{ type: string; name: string; tbl_name: string; sql: string | null }>;
  /** Row count and SHA-256 of the rows in rowid (or primary key) order, per table. */
  readonly tables: Readonly<Record<string, { rows: number; digest: string }>>;
}

/** Snapshots `db`, leaving out the rows of `historyTable`, whose timestamps differ from run to run. */
export function digestDatabase(db: Database, historyTable = "schema_migrations"): DatabaseDigest {
  const schema = db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name")
    .all() as Array<{ type: string; name: string; tbl_name: string; sql: string | null }>;
  const tables: Record<string, { rows: number; digest: string }> = {};
  for (const { name, type } of schema) {
    if (type !== "table" || name === historyTable) continue;
    const hash = createHash("sha256");
    let rows = 0;
    // Rowid order for ordinary tables, primary-key order (a table scan) for WITHOUT ROWID ones.
    const withoutRowid = (db.prepare("SELECT wr FROM pragma_table_list WHERE name = ?").get(name) as { wr: number }).wr === 1;
    const order = withoutRowid ? "" : " ORDER BY rowid";
    for (const row of db.prepare(`SELECT * FROM "${name}"${order}`).raw(true).iterate() as Iterable<unknown[]>) {
      hash.update(JSON.stringify(row));
      hash.update("\n");
      rows++;
    }
    tables[name] = { rows, digest: hash.digest("hex") };
  }
  return { userVersion: db.pragma("user_version", { simple: true }) as number, schema, tables };
}
