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
 * Whether {@link snapshotConnectionSettingsInOneRead} reads `name` in its one statement: every
 * setting but those SQLite offers no table-valued function for (`mmap_size`, `wal_autocheckpoint`),
 * `locking_mode` (read per schema) and `case_sensitive_like` (read through `like()`, which an app
 * may replace). A function, not a list built when the module loads: the bundles that import this
 * module without calling it (Durable Objects) then carry none of it.
 */
function isReadTogether(name: RestoredConnectionSetting): boolean {
  return name !== "case_sensitive_like" && name !== "locking_mode" && name !== "mmap_size" && name !== "wal_autocheckpoint";
}

/**
 * {@link snapshotConnectionSettings} with most settings read by one statement. Every statement a
 * driver keeps prepared costs SQLite work in each later migration of the run (on libsql, in its
 * binding, about 1,800 instructions a statement per migration, measured), and reading each setting
 * by its own statement kept 29 of them. The values are the same: SQLite's table-valued
 * `pragma_<name>` answers what `PRAGMA <name>` does. When the statement fails (a build without one
 * of those functions), every setting is read on its own, as before.
 */
export function* snapshotConnectionSettingsInOneRead(): Step<ConnectionSettingsSnapshot> {
  // One row holding each setting under its name, from its `pragma_<name>` function. Called with
  // `()`: SQLite looks the name up among the schemas' tables and views first, and one named so
  // would answer in the setting's place; called as a function, the statement fails on it instead.
  const together = RESTORED_CONNECTION_SETTINGS.filter(isReadTogether).map((name) => `(SELECT * FROM pragma_${name}()) AS ${name}`);
  let row: Record<string, unknown> | undefined;
  try {
    row = yield* queryOne(`SELECT ${together.join(", ")}`);
  } catch {
    return yield* snapshotConnectionSettings();
  }
  const snapshot: Partial<Record<RestoredConnectionSetting, string | number>> = {};
  for (const name of RESTORED_CONNECTION_SETTINGS) {
    const value = isReadTogether(name) ? row?.[name] : yield* readSetting(name);
    if (typeof value === "number" || typeof value === "string") snapshot[name] = value;
  }
  return snapshot;
}

/**
 * {@link restoreConnectionSettings} after one read of the settings, as
 * {@link snapshotConnectionSettingsInOneRead} reads them: the usual end of a run, where nothing
 * differs from `before`, reads nothing more and puts nothing back. When something differs, each
 * setting is read and put back in turn, as always, since putting one back can move another
 * (cache_size moves cache_spill).
 */
export function* restoreConnectionSettingsAfterOneRead(before: ConnectionSettingsSnapshot): Step<RestoredConnectionSetting[]> {
  const now = yield* snapshotConnectionSettingsInOneRead();
  if (RESTORED_CONNECTION_SETTINGS.every((name) => before[name] === undefined || before[name] === now[name])) return [];
  return yield* restoreConnectionSettings(before);
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
