/** The connection settings a migration can leave changed on the app's connection, which `up`, `down` and `reset` put back; not what the file stores (`journal_mode`). */
import { exec, inTransaction, query, queryValue, type Step } from "./step.js";

/** Every setting restored, each read with `PRAGMA <name>` (`case_sensitive_like` by `'a' LIKE 'A'`). */
const SETTINGS: readonly string[] = (
  "foreign_keys defer_foreign_keys recursive_triggers ignore_check_constraints legacy_alter_table case_sensitive_like query_only trusted_schema writable_schema cell_size_check automatic_index reverse_unordered_selects count_changes full_column_names " +
  "short_column_names secure_delete synchronous fullfsync checkpoint_fullfsync read_uncommitted busy_timeout cache_size cache_spill temp_store locking_mode mmap_size max_page_count journal_size_limit " +
  "wal_autocheckpoint threads analysis_limit"
).split(" ");

/** The value of each setting at one moment; a setting this SQLite build lacks is absent. `attached` holds the attached databases' names. */
export type ConnectionSettingsSnapshot = Readonly<Record<string, string | number>>;

/** Reads every setting {@link restoreConnectionSettings} puts back. */
export function* snapshotConnectionSettings(): Step<ConnectionSettingsSnapshot> {
  const snapshot: Record<string, string | number> = {};
  for (const name of SETTINGS) {
    const value = yield* readSetting(name);
    if (value !== undefined) snapshot[name] = value;
  }
  snapshot.attached = JSON.stringify(yield* attachedNames());
  return snapshot;
}

/**
 * Puts back every setting that differs from `before`; returns their names. After a failed run (`failed`) it also detaches what the run attached: an `ATTACH` is not rolled back, and left
 * attached it would fail the app's retry at that line ("already in use"). A migration that succeeded keeps its own to detach.
 */
export function* restoreConnectionSettings(before: ConnectionSettingsSnapshot, failed = false): Step<string[]> {
  const restored: string[] = [];
  if (failed && typeof before.attached === "string" && !(yield* inTransaction())) {
    const kept = new Set(JSON.parse(before.attached) as string[]);
    for (const name of yield* attachedNames()) if (!kept.has(name)) yield* exec(`DETACH DATABASE "${name.replace(/"/g, '""')}"`);
  }
  for (const name of SETTINGS) {
    const wanted = before[name];
    if (wanted === undefined || (yield* readSetting(name)) === wanted) continue;
    // Between the migrations of one transaction: the file locks stay until the run's end puts it back, and switching
    // defer_foreign_keys off would forget the violations its COMMIT must still refuse (SQLite ends it there anyway).
    if ((name === "locking_mode" || name === "defer_foreign_keys") && (yield* inTransaction())) continue;
    // Values came from SQLite itself, so they are safe to inline.
    const value = name === "case_sensitive_like" ? (wanted === 1 ? "1" : "0") : String(wanted);
    yield* exec(`PRAGMA ${name} = ${value}`);
    if (name === "locking_mode" && wanted === "normal") yield* releaseExclusiveFileLocks();
    restored.push(name);
  }
  return restored;
}

/** Releases the file lock exclusive mode kept; a WAL in exclusive mode refuses `locking_mode = NORMAL`, so it is left and entered again. */
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
  yield* query("SELECT count(*) AS n FROM sqlite_master");
}

/** The databases attached beside `main` (and `temp`, which appears once something temporary is made, and cannot be detached). */
function* attachedNames(): Step<string[]> {
  try {
    return (yield* query<{ name: string }>("PRAGMA database_list")).map((row) => row.name).filter((name) => name !== "main" && name !== "temp");
  } catch {
    // Where the storage refuses the pragma (Durable Objects), nothing can be attached either.
    return [];
  }
}

function* readSetting(name: string): Step<string | number | undefined> {
  try {
    if (name === "case_sensitive_like") return (yield* queryValue("SELECT 'a' LIKE 'A'")) === 1 ? 0 : 1;
    // The bare pragma reports only the default for new attachments, not `PRAGMA main.locking_mode = ...`.
    if (name === "locking_mode") return [yield* queryValue("PRAGMA locking_mode"), yield* queryValue("PRAGMA main.locking_mode")].includes("exclusive") ? "exclusive" : "normal";
    const value: unknown = yield* queryValue(`PRAGMA ${name}`);
    return typeof value === "number" || typeof value === "string" ? value : undefined;
  } catch {
    // A setting that cannot be read (an app's own like()) is left alone.
    return undefined;
  }
}
