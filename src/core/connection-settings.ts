/**
 * The connection settings a migration can change and leave changed on the app's connection, and how
 * `up`, `down` and `reset` put them back. A `transaction: false` migration that runs `PRAGMA
 * foreign_keys = OFF`, or any migration that runs `PRAGMA recursive_triggers = ON`, would otherwise
 * change how the app's own queries behave for the rest of the process.
 *
 * Not restored, on purpose:
 * - `journal_mode`: WAL is a property of the database file, not the connection; a migration that
 *   switches it means to, and switching back needs every other connection closed. (It is left and
 *   re-entered, staying WAL, only to release an exclusive lock; see `releaseExclusiveFileLocks`.)
 * - `page_size`, `auto_vacuum`, `encoding`, `user_version`, `application_id`: stored in the file,
 *   part of what the migration produced.
 * - Functions, collations and extensions a TypeScript migration registers through better-sqlite3,
 *   and its `db.unsafeMode()` / `db.defaultSafeIntegers()`: SQLite cannot report them, so they cannot
 *   be compared. A migration should not register what the app does not expect.
 */
import { exec, query, queryOne, queryValue, type Step } from "./step.js";

/**
 * Every setting the manager snapshots before running migrations and restores after them, on
 * success and on failure. Each is read with `PRAGMA <name>` except `case_sensitive_like`, which
 * SQLite can only set, so it is read by evaluating `'a' LIKE 'A'`.
 */
export const RESTORED_CONNECTION_SETTINGS = [
  "foreign_keys",
  "defer_foreign_keys",
  "recursive_triggers",
  "ignore_check_constraints",
  "legacy_alter_table",
  "case_sensitive_like",
  "query_only",
  "trusted_schema",
  "writable_schema",
  "cell_size_check",
  "automatic_index",
  "reverse_unordered_selects",
  "count_changes",
  "full_column_names",
  "short_column_names",
  "secure_delete",
  "synchronous",
  "busy_timeout",
  "cache_size",
  "cache_spill",
  "temp_store",
  "locking_mode",
  "mmap_size",
  "max_page_count",
  "journal_size_limit",
  "wal_autocheckpoint",
  "threads",
  "analysis_limit",
] as const;

/** One of {@link RESTORED_CONNECTION_SETTINGS}. */
export type RestoredConnectionSetting = (typeof RESTORED_CONNECTION_SETTINGS)[number];

/** The value of each setting at one moment; a setting this SQLite build lacks is absent. */
export type ConnectionSettingsSnapshot = Readonly<Partial<Record<RestoredConnectionSetting, string | number>>>;

/** Reads every restored setting of `db`. Call it outside a transaction or inside; it only reads. */
export function* snapshotConnectionSettings(): Step<ConnectionSettingsSnapshot> {
  const snapshot: Partial<Record<RestoredConnectionSetting, string | number>> = {};
  for (const name of RESTORED_CONNECTION_SETTINGS) {
    const value = yield* readSetting(name);
    if (value !== undefined) snapshot[name] = value;
  }
  return snapshot;
}

/**
 * Puts back every setting that differs from `before`; returns the names it restored. Must run
 * outside a transaction: SQLite ignores `foreign_keys` inside one and refuses `synchronous`.
 */
export function* restoreConnectionSettings(before: ConnectionSettingsSnapshot): Step<RestoredConnectionSetting[]> {
  const restored: RestoredConnectionSetting[] = [];
  for (const name of RESTORED_CONNECTION_SETTINGS) {
    const wanted = before[name];
    if (wanted === undefined || (yield* readSetting(name)) === wanted) continue;
    // Values came from SQLite itself (numbers, or a word such as "normal"), so they are safe to inline.
    const value = name === "case_sensitive_like" ? (wanted === 1 ? "1" : "0") : String(wanted);
    yield* exec(`PRAGMA ${name} = ${value}`);
    if (name === "locking_mode" && wanted === "normal") yield* releaseExclusiveFileLocks();
    restored.push(name);
  }
  return restored;
}

/**
 * Leaving exclusive locking mode keeps the file lock until the next access; this releases it now, or
 * every other process stays locked out until the app happens to touch the database.
 *
 * A database whose WAL was first opened in exclusive mode keeps its WAL index in this process's heap
 * instead of the shared `-shm` file, and SQLite then refuses `locking_mode = NORMAL` for as long as
 * it stays in WAL mode. For such a database the WAL is left (which checkpoints it; the exclusive lock
 * guarantees no other connection is using it) and entered again in normal mode: the file stays in
 * WAL, as the migration left it, now with a shared index other processes can use.
 */
function* releaseExclusiveFileLocks(): Step<void> {
  const schemas = (yield* query<{ name: string }>("PRAGMA database_list")).map((row) => row.name).filter((name) => name !== "temp");
  for (const schema of schemas) {
    const quoted = `"${schema.replace(/"/g, '""')}"`;
    if ((yield* queryValue(`PRAGMA ${quoted}.locking_mode`)) !== "exclusive") continue;
    if ((yield* queryValue(`PRAGMA ${quoted}.journal_mode`)) !== "wal") continue;
    yield* queryValue(`PRAGMA ${quoted}.journal_mode = DELETE`);
    yield* queryValue(`PRAGMA ${quoted}.locking_mode = NORMAL`);
    yield* queryValue(`PRAGMA ${quoted}.journal_mode = WAL`);
  }
  // The read's end is what drops the lock held since the exclusive mode took it.
  yield* queryOne("SELECT count(*) AS n FROM sqlite_master");
}

function* readSetting(name: RestoredConnectionSetting): Step<string | number | undefined> {
  try {
    // 1 when LIKE ignores case (the default, pragma off), 0 when case_sensitive_like is on.
    if (name === "case_sensitive_like") return (yield* queryValue("SELECT 'a' LIKE 'A'")) === 1 ? 0 : 1;
    // The bare pragma reports only the default for new attachments; `PRAGMA main.locking_mode = ...`
    // changes the main database alone, and would otherwise go unseen and keep its lock.
    if (name === "locking_mode") {
      return [yield* queryValue("PRAGMA locking_mode"), yield* queryValue("PRAGMA main.locking_mode")].includes("exclusive") ? "exclusive" : "normal";
    }
    const value: unknown = yield* queryValue(`PRAGMA ${name}`);
    return typeof value === "number" || typeof value === "string" ? value : undefined;
  } catch {
    // An app may replace like() with its own function; a setting that cannot be read is left alone.
    return undefined;
  }
}
