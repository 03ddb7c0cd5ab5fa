/**
 * A digest of what a database holds, for checking a copy against its original: `restore` reads the
 * restored file back through a fresh connection and compares, because a copy can report success
 * without having written anything (a lock it could not take, a page cache another process kept).
 */
import { createHash } from "node:crypto";
import type { Database } from "better-sqlite3";

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

/** Reads the fingerprint inside one read transaction, so a concurrent writer cannot tear it. Never writes. */
export function fingerprintDatabase(db: Database): DatabaseFingerprint {
  const read = () => {
    const schemaHash = createHash("sha256");
    const objects = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").raw(true).all() as Array<[string, string, string, string | null]>;
    for (const row of objects) schemaHash.update(JSON.stringify(row));
    const contentHash = createHash("sha256");
    for (const [type, name, , sql] of objects) {
      // A virtual table's rows live in its shadow tables, which are hashed as tables; reading the
      // virtual table itself would need its module loaded.
      if (type !== "table" || /^\s*create\s+virtual\b/i.test(sql ?? "")) continue;
      contentHash.update(`\u0000table ${name}\u0000`);
      const rows = db.prepare(`SELECT * FROM ${quoteIdentifier(name)}`).raw(true).safeIntegers(true).iterate() as IterableIterator<unknown[]>;
      for (const row of rows) contentHash.update(JSON.stringify(row, encodeValue));
    }
    return {
      pageSize: db.pragma("page_size", { simple: true }) as number,
      pageCount: db.pragma("page_count", { simple: true }) as number,
      userVersion: db.pragma("user_version", { simple: true }) as number,
      schema: schemaHash.digest("hex"),
      content: contentHash.digest("hex"),
    };
  };
  if (db.inTransaction) return read();
  db.exec("BEGIN");
  try {
    return read();
  } finally {
    db.exec("COMMIT");
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

function encodeValue(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "bigint") return { i: value.toString() };
  if (typeof value === "number") return { r: Object.is(value, -0) ? "-0" : String(value) };
  if (value !== null && typeof value === "object" && (value as { type?: unknown }).type === "Buffer") return { b: Buffer.from((value as { data: number[] }).data).toString("hex") };
  return value;
}
