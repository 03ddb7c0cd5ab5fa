/**
 * Verify compares the live schema with the schema the applied migrations build, and building it
 * means replaying them, data migrations and their seeds included: seconds for an app with a large
 * seed, on every start-up. The expected schema only changes when the registry does, so it is kept in
 * the database, beside the history, keyed by everything the replay's result depends on: each applied
 * entry's version and checksum (and the flags that change how it runs), the history table's name, the
 * SQLite version and the connection's foreign-key enforcement. The key is compared as written, never
 * through a hash, so a cached schema is used only for exactly the registry and engine it was built
 * for, and the live schema is always read and compared: drift is never cached, only the expectation.
 *
 * The table lives in the database, not in a file or the registry, so every SQLite driver (and a
 * bundled app with no folder to write to) gets it without configuration, and the registry's bundle
 * stays as small as before. Only a writer fills it: `migrate(db, migrations, { verifySchema })` at
 * start-up (see `CACHE_OPTION`); `verifySchema` on its own only reads it, as it only ever read.
 */
import { begin, commit, exec, query, queryValue, rollbackQuietly, run, type Step } from "../core/step.js";
import type { MigrationRegistry } from "../core/types.js";
import type { SchemaSnapshot } from "./schema-snapshot.js";
import { expectedSchemaTableName } from "../core/expected-schema-table.js";

export { expectedSchemaTableName };

/** Bumped whenever {@link SchemaSnapshot} or the key changes shape, so an old row is never read as a new one. */
const CACHE_FORMAT = 1;

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The key of the schema migrations 1..`version` of `migrations` build on this connection: plain text,
 * compared whole. A registry edit changes a checksum, so it changes the key.
 */
export function* readExpectedSchemaKey(migrations: MigrationRegistry, version: number, tableName: string): Step<string> {
  const sqliteVersion = yield* queryValue<string>("SELECT sqlite_version()");
  const foreignKeys = yield* queryValue<number>("PRAGMA foreign_keys");
  const entries = migrations
    .filter((entry) => entry.version <= version)
    .map((entry) => `${entry.version}:${entry.kind}:${entry.checksum}:${entry.transaction ? 1 : 0}${entry.disableForeignKeys ? 1 : 0}:${entry.dialect ?? "sqlite"}`);
  return JSON.stringify({ format: CACHE_FORMAT, sqliteVersion, foreignKeys, tableName, version, entries });
}

/** The cached schema for `key`, or `null`: no table, no row for this key, or a row that does not parse. */
export function* readCachedExpectedSchema(tableName: string, key: string): Step<SchemaSnapshot | null> {
  const table = expectedSchemaTableName(tableName);
  const exists = yield* queryValue<number>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [table]);
  if (!exists) return null;
  let rows: { snapshot: unknown }[];
  try {
    rows = yield* query<{ snapshot: unknown }>(`SELECT snapshot FROM ${quote(table)} WHERE cache_key = ?`, [key]);
  } catch {
    // A table of that name made by hand, with other columns: not ours to read.
    return null;
  }
  const text = rows[0]?.snapshot;
  if (typeof text !== "string") return null;
  try {
    const parsed = JSON.parse(text) as SchemaSnapshot;
    return Array.isArray(parsed.tables) && Array.isArray(parsed.indexes) && Array.isArray(parsed.triggers) && Array.isArray(parsed.views) ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * Stores `snapshot` as the one cached expected schema, replacing any other, in a write transaction of
 * its own. Never throws: the cache only saves time, so a connection that may not write (read-only,
 * `query_only`, locked) just leaves it empty.
 */
export function* writeCachedExpectedSchema(tableName: string, key: string, version: number, snapshot: SchemaSnapshot): Step<boolean> {
  const table = quote(expectedSchemaTableName(tableName));
  try {
    yield* begin("immediate");
    yield* exec(`CREATE TABLE IF NOT EXISTS ${table} (cache_key TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, snapshot TEXT NOT NULL)`);
    yield* run(`DELETE FROM ${table}`);
    yield* run(`INSERT INTO ${table} (cache_key, version, snapshot) VALUES (?, ?, ?)`, [key, version, JSON.stringify(snapshot)]);
    yield* commit();
    return true;
  } catch {
    yield* rollbackQuietly();
    return false;
  }
}
