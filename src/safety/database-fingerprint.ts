/**
 * A digest of what a database holds, for checking a copy against its original: `restore` reads the
 * restored file back through a fresh connection and compares, because a copy can report success
 * without having written anything (a lock it could not take, a page cache another process kept).
 *
 * Read through the driver's `query`, which returns integers as numbers, so every value is read as
 * SQLite's own `quote()` of it: exact for 64-bit integers, and 1, 1.0, '1' and x'31' stay apart.
 */
import { nodeCrypto } from "../core/node-builtins.js";
import type { SyncDriver } from "../core/driver.js";

/** What two databases must share to be the same content. Plain data. */
export interface DatabaseFingerprint {
  readonly pageSize: number;
  readonly pageCount: number;
  readonly userVersion: number;
  /** sha256 over every `sqlite_master` row. */
  readonly schema: string;
  /** sha256 over every row of every table, with SQLite's own types kept apart (1 vs 1.0 vs '1'). */
  readonly content: string;
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The one value of a one-row, one-column read (a PRAGMA). */
export function readValue(driver: SyncDriver, sql: string): unknown {
  const [row] = driver.query(sql, []);
  return row === undefined ? undefined : Object.values(row)[0];
}

/** Reads the fingerprint inside one read transaction, so a concurrent writer cannot tear it. Never writes. */
export function fingerprintDatabase(driver: SyncDriver): DatabaseFingerprint {
  const read = (): DatabaseFingerprint => {
    const schemaHash = nodeCrypto().createHash("sha256");
    const objects = driver
      .query("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name", [])
      .map((row) => [row.type, row.name, row.tbl_name, row.sql] as [string, string, string, string | null]);
    for (const row of objects) schemaHash.update(JSON.stringify(row));
    const contentHash = nodeCrypto().createHash("sha256");
    for (const [type, name, , sql] of objects) {
      // A virtual table's rows live in its shadow tables, which are hashed as tables; reading the
      // virtual table itself would need its module loaded.
      if (type !== "table" || /^\s*create\s+virtual\b/i.test(sql ?? "")) continue;
      contentHash.update(`\u0000table ${name}\u0000`);
      const columns = driver.query("SELECT name FROM pragma_table_info(?)", [name]).map((row) => String(row.name));
      if (columns.length === 0) continue;
      const values = columns.map((column) => `quote(${quoteIdentifier(column)})`).join(" || ',' || ");
      for (const row of driver.query(`SELECT ${values} AS v FROM ${quoteIdentifier(name)}`, [])) contentHash.update(`${String(row.v)}\u0000`);
    }
    return {
      pageSize: Number(readValue(driver, "PRAGMA page_size")),
      pageCount: Number(readValue(driver, "PRAGMA page_count")),
      userVersion: Number(readValue(driver, "PRAGMA user_version")),
      schema: schemaHash.digest("hex"),
      content: contentHash.digest("hex"),
    };
  };
  if (driver.inTransaction()) return read();
  driver.exec("BEGIN");
  try {
    return read();
  } finally {
    driver.exec("COMMIT");
  }
}

/** Names the aspects in which two fingerprints differ; empty when they are equal. */
export function compareFingerprints(expected: DatabaseFingerprint, actual: DatabaseFingerprint): string[] {
  const aspects: Array<[string, unknown, unknown]> = [
    ["page size", expected.pageSize, actual.pageSize],
    ["page count", expected.pageCount, actual.pageCount],
    ["user_version", expected.userVersion, actual.userVersion],
    ["schema", expected.schema, actual.schema],
    ["content", expected.content, actual.content],
  ];
  return aspects.filter(([, a, b]) => a !== b).map(([aspect]) => aspect);
}
