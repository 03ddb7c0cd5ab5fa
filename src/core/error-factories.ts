/**
 * The constructors of stepwise's errors, each wording its code's message once as a template the factory fills in, and the readings they rest on: a thrown value, a library error's native code,
 * SQLite's codes. Internal: a program catches a `StepwiseError` and reads `code`.
 */
import type { MigrationDirection } from "./types.js";
import { describeInvalidIndexes } from "./invalid-indexes.js";
import { copyTexts, keepText, option, runCall, CALLS, text, type Text } from "./option-text.js";
import { describeFileKind, StepwiseError } from "./errors.js";
import type * as E from "./errors.js";
import type { SchemaDifference } from "./schema-difference.js";

/** A driver's reading of a library error (the shape of `ErrorClassification`). */
type NativeReading = { readonly kind: E.ErrorKind; readonly nativeCode: string | null };
/** The migration a message is about, and the direction it ran. */
type Run = { version: number; file: string; direction: MigrationDirection };

const NOTHING_CHANGED = "Nothing was changed.";
const ROLLED_BACK = "The transaction was rolled back; nothing of it was kept.";
const label = (version: number | null, file: string | null) => `Migration ${version} (${file})`;
const isFull = (systemCode: string | null) => /^(ENOSPC|EDQUOT|EFBIG)$/.test(systemCode ?? "");
const list = (lines: readonly string[]) => lines.map((line) => `\n  - ${line}`).join("");

// A body may throw anything (`null`, a frozen object, a Proxy whose traps throw): reporting it must never fail in turn.

/** The thrown value's message as a report shows it; never throws. */
export function describeThrownValue(value: unknown): string {
  try {
    return value instanceof Error ? String(value.message) : String(value);
  } catch {
    return "a thrown value that cannot be read as text";
  }
}

/** `value instanceof type`, false where asking throws (a Proxy's `getPrototypeOf` trap). */
export function isInstanceSafely<T>(value: unknown, type: abstract new (...args: never[]) => T): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** A stored value as SQL would show it, for messages: text quoted, NULL spelled out. */
export function describeStoredValue(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "string") return `'${value}'`;
  return value instanceof Uint8Array ? `a ${value.length}-byte blob` : String(value);
}

/** Records a driver's reading of the library error `error` wraps as its `nativeCode` and `nativeKind`; the first reading with a code wins. */
export function recordNativeError<E extends StepwiseError>(error: E, classification: NativeReading): E {
  if (error.nativeCode === null && classification.nativeCode !== null) Object.assign(error, { nativeCode: classification.nativeCode, nativeKind: classification.kind });
  return error;
}

/** The library error a stepwise error wraps: the first cause down its chain that is not a stepwise error, or `undefined`. */
export function nativeCauseOf(error: StepwiseError): unknown {
  let cause: unknown = error.cause;
  // Bounded: a cyclic cause chain must not hang error handling.
  for (let depth = 0; depth < 8 && isInstanceSafely(cause, StepwiseError); depth++) cause = cause.cause;
  return isInstanceSafely(cause, StepwiseError) ? undefined : cause;
}

/** `classify(error)`, or no code when the classifier throws: an app's classifier must not turn a migration's failure into its own `TypeError`. */
export function classifySafely(classify: (error: unknown) => NativeReading, error: unknown): NativeReading {
  try {
    return classify(error) ?? { kind: "other", nativeCode: null };
  } catch {
    return { kind: "other", nativeCode: null };
  }
}

/** `error` as plain data for `status()` and the CLI's `--json`: code, message, native reading and details, JSON-safe. */
export function toPlainError(error: StepwiseError): E.StatusProblem {
  const plain: Record<string, unknown> = { code: error.code, message: error.message, nativeCode: error.nativeCode, nativeKind: error.nativeKind };
  for (const [key, value] of Object.entries(error.details)) if (!(key in plain)) plain[key] = toPlain(value);
  copyTexts(error, plain);
  return plain as E.StatusProblem;
}

/** JSON-safe: bigints as strings (history values may be), nested errors as name, code and message. */
function toPlain(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, code: (value as { code?: unknown }).code ?? null, message: value.message };
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toPlain(inner)]));
  return value;
}

/** How long each failed operation ran before its library error came back, by that error. */
const elapsedByError = new WeakMap<object, number>();

/** Records that the operation which threw `error` ran `ms`, so a lock error states the wait measured; the innermost runner's record wins. */
export function recordElapsed(error: unknown, ms: number): void {
  if (Object(error) === error && !elapsedByError.has(error as object)) elapsedByError.set(error as object, Math.round(ms));
}

/** Facts a message names that `details` do not keep. */
type Extra = { cause?: unknown; detail?: string; notes?: string; hint?: string; remedy?: string | Text; lines?: readonly string[] };

/** Each code's message, filled in from its details (and {@link Extra}); codes whose message the caller words are absent. */
const MESSAGES: { readonly [C in E.StepwiseErrorCode]?: (details: E.StepwiseErrorDetails[C], extra: Extra) => string | Text } = {
  // The registry and the history table
  REGISTRY_INVALID: ({ problems }) => `The migration registry is invalid:${list(problems.map((p) => p.message))}\nRegenerate it with "stepwise gen" instead of editing it by hand.`,
  REGISTRY_LOAD_FAILED: ({ file, location }, { cause }) =>
    `Could not load ${file}${location ? ` (at ${location})` : ""}: ${describeThrownValue(cause)}\nIf a migration throws when it is imported, fix it there; if the registry itself is broken, run "stepwise gen" to rewrite it.`,
  DATABASE_AHEAD: ({ unknownVersions, latestKnownVersion }) =>
    `The database is newer than this app: it has migration${unknownVersions.length === 1 ? "" : "s"} ${unknownVersions.join(", ")} applied; this app knows up to ${latestKnownVersion}.\nRun a newer build, or roll back with the build that applied them.`,
  HISTORY_OUT_OF_ORDER: ({ missingVersions, highestAppliedVersion }) =>
    `The history records migration ${highestAppliedVersion} but not ${missingVersions.join(", ")}, which come before it: a row was deleted by hand, or a migration renumbered after it ran. Restore the rows or the numbering.`,
  HISTORY_TABLE_INVALID: (details, { detail }) =>
    "missingColumns" in details
      ? text`The history table "${details.table}" has an unexpected shape${details.missingColumns.length > 0 ? `: it lacks ${details.missingColumns.join(", ")}` : ""}${detail ? ` (${detail})` : ""}.\nIf another tool owns it, give stepwise a history table of its own: ${option("tableName", "<name>")}.`
      : `The history table${details.table === null ? "" : ` "${details.table}"`} has a row stepwise never writes (${details.rowid === null ? `version ${describeStoredValue(details.version)}` : `rowid ${details.rowid}`}): ${detail}.\n${NOTHING_CHANGED} Fix or delete that row, or restore a backup.`,
  INVALID_TABLE_NAME: ({ tableName }) =>
    `"${tableName}" cannot be the history table's name: use letters, digits and underscores, not starting with a digit${/^sqlite_/i.test(tableName) ? ", nor with sqlite_ (SQLite's own tables)" : ""}.`,
  INCOMPLETE_MIGRATION: ({ version, file, startedAt }) =>
    text`${label(version, file)} runs outside a transaction and was interrupted (started ${startedAt}), so it may be partly applied.\nCheck the database, then ${CALLS.repair(version, "applied")} if its changes are all there, or ${CALLS.repair(version, "forget")} to run it again.`,
  HISTORY_ROW_MISSING: ({ table, version, operation, file, direction: given, restoredStartedRow }) => {
    const direction = given ?? (operation === "delete" ? "down" : "up");
    const write = operation === "delete" ? "DELETE" : "UPDATE";
    const next =
      direction === "down"
        ? "Check that the revert is complete."
        : restoredStartedRow
          ? text`It is recorded as interrupted again: check the database, then ${CALLS.repair(version, "applied")} if its changes are all there.`
          : text`It could not be recorded as interrupted: check the database before ${runCall("up")}, which would run it again.`;
    return text`${file ? label(version, file) : `Migration ${version}`}: the ${write} of its row in the history table "${table}" changed no row while it ran ${direction}: another process removed the row (a repair that forgot the attempt, or a DELETE), or a trigger or rule on it discarded the ${write} (drop it).${file ? text`\nIts changes are in the database; it was not run again.\n${next}` : ""}`;
  },
  UNMANAGED_DATABASE: ({ tables }) =>
    text`The database has tables (${tables.slice(0, 5).join(", ")}${tables.length > 5 ? ", \u2026" : ""}) but no migration history.\nAdopt it with ${CALLS.baseline}, naming the last migration its schema already contains.`,
  // Running migrations
  BATCH_OPTIONS_INVALID: ({ option, value, version, file }) =>
    `${label(version, file)}: ` +
    (option === "where"
      ? `forEachBatch cannot use the where ${describeStoredValue(value)}: its $n placeholders would share numbers with the walk's own. Nothing was walked. Write ? for each value, and pass the values in params, in order.`
      : `forEachBatch cannot use ${option} ${describeStoredValue(value)}: it must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}. Nothing was walked. Pass, for example, ${option}: 500.`),
  BATCH_KEY_INVALID: ({ table, key, columns, version, file }, { detail }) =>
    `${label(version, file)}: forEachBatch cannot walk "${table}" by key "${key}": ${detail}. A keyset walk by it could stop early or skip rows, so it stopped instead (in a transaction, everything rolls back). Pass key: a unique, non-NULL column (the INTEGER PRIMARY KEY, or "rowid" where the table has one)${columns.length > 0 ? `; the table has ${columns.join(", ")}` : ""}.`,
  IRREVERSIBLE_MIGRATION: ({ version, file }) =>
    `Cannot roll back past migration ${version} (${file}): it has no down. Nothing was changed.\nChoose a target above ${version}, or add a down to that migration.`,
  MIGRATION_FAILED: ({ version, file, direction, rolledBack, backupPath, foreignKeyRebuild: rebuild }, { cause, notes }) => {
    const refs = rebuild?.referencedBy ?? [];
    const fk = rebuild ? `It drops or renames table ${rebuild.table}, which ${refs.join(", ")} reference${refs.length === 1 ? "s" : ""} with foreign keys enforced. Fix: ${rebuild.fix}.\n` : "";
    // Not ROLLED_BACK: only under transaction "all" is the database as it was before the run.
    const outcome = rolledBack ? "It was rolled back; nothing of it was kept." : "It runs outside a transaction, so some of its changes may remain; check the database.";
    const backup = backupPath ? text`\nA backup taken before this run is at ${backupPath}; ${CALLS.restore} puts it back.` : "";
    return text`${label(version, file)} failed while running ${direction}: ${describeThrownValue(cause)}\n${notes ? `${notes}\n` : ""}${fk}${outcome}${backup}`;
  },
  HISTORY_CHANGED_BY_MIGRATION: ({ version, file, direction, table, change, rolledBack, historyChanged }) =>
    `${label(version, file)} changed the history table "${table}" while running ${direction} (${change}). That table is stepwise's record of what ran; a migration may not write it. ` +
    (rolledBack
      ? ROLLED_BACK
      : `It runs outside a transaction, so its statements before that one stayed; ${historyChanged ? `the history table stays as it left it: check it with "stepwise status" and "stepwise history", then "stepwise repair"` : "the history table itself was not changed"}. It is not recorded as applied.`) +
    ` Remove the statement that touches "${table}" from the migration.`,
  TRANSACTION_ESCAPED: ({ version, file, direction, committed }, { cause }) =>
    `${label(version, file)} ended stepwise's transaction (a COMMIT, END or ROLLBACK) while running ${direction}.${cause === undefined ? "" : ` It then failed: ${describeThrownValue(cause)}.`} It was not recorded: the history says it is ${direction === "up" ? "not " : ""}applied.\n${ESCAPED_COMMIT_ADVICE[committed]}\nRemove that statement (SAVEPOINT ... RELEASE nests safely; transaction: false runs what SQLite refuses in a transaction), regenerate, and run it again.`,
  FOREIGN_KEY_VIOLATION: ({ version, file, direction, violations, violationCount }) =>
    `${label(version, file)} left ${violationCount} foreign key violation${violationCount === 1 ? "" : "s"} while running ${direction} (${violations
      .slice(0, 3)
      .map((v) => `${v.table} row ${v.rowid ?? "?"} \u2192 ${v.parent}`)
      .join("; ")}). ${ROLLED_BACK} Make the rebuild copy every referenced row, or delete the orphans in the migration.`,
  TRANSACTION_OPEN: ({ driver, operation }) =>
    `${operation} cannot run while the app's ${driver} connection is inside a transaction. ${NOTHING_CHANGED} Commit or roll back that transaction (still open) first, then call ${operation} again.`,
  // Locks, sessions and concurrency
  DATABASE_LOCKED: ({ busyTimeoutMs, waitedMs, holders, file }) => {
    // The time measured beside the timeout, never the timeout as if it were waited: `process 4242 (migrator from 10.0.0.5, write)`.
    const who = holders.map(
      ({ pid, program, host, lock }) => `process ${pid} (${[[program, host === null ? null : `from ${host}`].filter((part) => part !== null).join(" "), lock].filter(Boolean).join(", ")})`,
    );
    const held = who.length > 0 ? ` (held by ${who.join(", ")})` : file === undefined ? " (another app instance migrating, or an open write transaction)" : "";
    const wait = waitedMs === null ? `(busy timeout ${busyTimeoutMs} ms)` : `and stayed locked while stepwise waited ${waitedMs} ms (busy timeout ${busyTimeoutMs} ms)`;
    return text`The ${file === undefined ? "database" : `backup ${file}`} was locked by another ${file === undefined ? "connection" : "process"} ${wait}${held}. ${NOTHING_CHANGED} Retry when it is released, or raise ${option("busyTimeoutMs")}.`;
  },
  MIGRATION_IN_PROGRESS: ({ version, file, startedAt, owner, waitedMs }) =>
    text`${label(version, file)} runs outside a transaction and is still being applied${owner ? ` by process ${owner.pid} on ${owner.host}` : ""} (started ${startedAt}); waited ${waitedMs} ms. ${NOTHING_CHANGED} Retry when it finishes, or raise ${option("busyTimeoutMs")}; if that process is gone, check the database and run ${CALLS.repair(version, "applied")} or ${CALLS.repair(version, "forget")}.`,
  LOCK_TIMEOUT: ({ version, file, direction, lockTimeoutMs, relation, lockType, mode, holders, rolledBack, invalidIndexes, fix }) => {
    const limit = lockTimeoutMs > 0 ? `more than ${lockTimeoutMs} ms (lock_timeout)` : "past the session's lock_timeout";
    const what = lockType === null ? "a lock" : `${relation === null ? `a ${lockType} lock` : `a lock on ${relation}`} (${mode})`;
    const held =
      holders.length === 0 ? "held by another session (which one was not seen: the wait began and ran out between two looks at pg_locks)" : `held by ${holders.map(describeSession).join(", ")}`;
    const outcome = !rolledBack
      ? `It runs outside a transaction, so its statements before this one stay; it stays recorded as started.${invalidIndexes.length > 0 ? `\n${describeInvalidIndexes(invalidIndexes, "It left")}` : " "}`
      : version === null
        ? "Nothing was changed. "
        : "Its transaction was rolled back; nothing of it was kept. ";
    return `${version === null ? "A statement of stepwise's" : `Migration ${version} (${file}), running ${direction},`} waited ${limit} for ${what}, ${held}. ${outcome}Fix: ${fix}.`;
  },
  CONNECTION_LOST: ({ reason, outcome, version, file, direction: given, during, fix }) => {
    const [migration, direction] = [`Migration ${version} (${file})`, given ?? "up"];
    const what = {
      "rolled-back": `${migration} was running ${direction} in a transaction, which the server rolled back when the session ended: nothing of that transaction was kept, and it is not recorded.`,
      "commit-unknown": `${migration} was committing (${direction}): the server may have committed it, with its history row, before the session ended, or rolled it back.`,
      "partly-applied": `${migration} was running ${direction} outside a transaction (transaction: false), so some of its statements may have been applied; it stays recorded as started, and the next run stops at it. A CREATE INDEX CONCURRENTLY it ran may have left an invalid index: "stepwise repair" names each, with the statement that drops it.`,
      "none-running": `No migration was running${during ? ` (it was ${during})` : ""}: none was half done, and what this run applied before stays applied.`,
    }[outcome];
    return `The connection to the database server was lost: ${reason}. ${what} Fix: ${fix}.`;
  },
  // Opening the database
  DATABASE_NEEDS_RECOVERY: ({ sqliteCode }) =>
    text`A crashed process left the database mid-write (${sqliteCode}); rolling that back needs write access. ${NOTHING_CHANGED} Run ${runCall("up")} (or anything else that writes) as a user who may write the file and its folder.`,
  DATABASE_PATH_INVALID: ({ path, problem, kind }) =>
    text`${PATH_PROBLEMS[problem](path, kind)}. ${NOTHING_CHANGED} ${
      problem === "journal-not-a-file"
        ? "Check what it is (where a link points), then remove it (a crashed writer's real journal must be moved back in its place, not linked)."
        : text`Pass ${option("databasePath", "<file>")}${{ api: "", cli: ' (or set "database" in the config)' }} naming the database file itself, such as data/app.db.`
    }`,
  PATH_NOT_UTF8: ({ bytes }) =>
    `The path ${bytes} is not valid UTF-8, so stepwise cannot open the file it names (it would open another one). ${NOTHING_CHANGED} Rename the file to a UTF-8 name (or link to it from one), and pass that.`,
  DATABASE_FOLDER_MISSING: ({ databasePath, folder }) =>
    text`There is no folder ${folder} to hold the database ${databasePath}; nothing was changed. Check ${option("databasePath")}, or create the folder first (mkdir -p "${folder}").`,
  DISK_FULL: ({ version, file, sqliteCode }) =>
    `The database ran out of room (${sqliteCode})${version === null ? "" : ` while applying migration ${version} (${file})`}. ${ROLLED_BACK} Free disk space (or raise PRAGMA max_page_count) and run it again.`,
  // Drivers
  DRIVER_UNKNOWN: ({ driver, source, validDrivers }) => `Unknown driver ${JSON.stringify(driver)} in ${source}. ${NOTHING_CHANGED} Use one of: ${validDrivers.join(", ")}.`,
  DRIVER_NOT_INSTALLED: ({ driver, packageName, installCommand, reason }, { cause }) =>
    (reason === "missing"
      ? `The ${driver} driver needs the "${packageName}" package, which is not installed. ${NOTHING_CHANGED} Install it with:`
      : `The "${packageName}" package is installed but failed to load on this runtime (${describeThrownValue(cause).replace(/\s+/g, " ")}). ${NOTHING_CHANGED} Rebuild it for this runtime with:`) +
    `\n  ${installCommand}\nor choose another driver with --driver (or "driver" in the config).`,
  DRIVER_RUNTIME_UNSUPPORTED: ({ driver, runtime, required }, { hint }) => `The ${driver} driver needs ${required}, but this is ${runtime}. ${NOTHING_CHANGED} ${hint}`,
  REGISTRY_DIALECT_MISMATCH: ({ registryDialect, driverDialect, driver, version, file }) =>
    `The registry was generated for ${registryDialect} (${file}, version ${version}), but the ${driver} driver runs ${driverDialect}. ${NOTHING_CHANGED} Import a registry generated for ${driverDialect} (stepwise gen --dialect ${driverDialect}), or use a ${registryDialect} driver.`,
  // Safety nets
  SCHEMA_MISMATCH: ({ version, drift }) =>
    text`The database's schema is not what migrations 1..${version} build:${list(drift)}\nNothing was recorded. Pick the version the schema matches, fix the schema by hand, or record it anyway with ${option("dangerouslyForce", true)} if you know the differences are harmless.`,
  SCHEMA_DRIFT: ({ version }, { lines = [] }) =>
    `The schema differs from what migrations 1..${version} build:${list(lines)}\nSomething changed it outside migrations. Undo that change, or make it a migration ("stepwise create").`,
  ALREADY_MANAGED: ({ currentVersion }, { detail: tableName }) =>
    `The database already has a migration history ("${tableName}", at version ${currentVersion}); baseline only adopts databases that have none. Use "up" to continue, or "verify" to compare its schema.`,
  REHEARSAL_REFUSED: ({ version, file, obstacle, driver }) =>
    text`Cannot rehearse the pending migrations: migration ${version} (${file}) ${obstacle === "transaction-false" ? "has transaction: false" : "switches foreign keys off"}, and on the ${driver} driver a rehearsal runs inside one transaction rolled back at the end, which that migration cannot join. Nothing ran and nothing was changed. Rehearse up to version ${version - 1} (${CALLS.rehearseUp({ to: version - 1 })}), or rehearse on a copy of the database.`,
  TEMP_FOLDER_UNUSABLE: ({ folder, systemCode, operation }) =>
    `${operation} needs a private copy of the database in the temporary folder ${folder}, which ${isFull(systemCode) ? "has no room for it" : "cannot be written"} (${systemCode ?? "error"}). ${NOTHING_CHANGED} ` +
    `${isFull(systemCode) ? "Free space there, or point TMPDIR at a folder with room" : "Point TMPDIR at an existing, writable folder (or create this one)"}, and run it again.`,
  DATABASE_DAMAGED: ({ databasePath, problems, fix }) => `${databasePath} fails SQLite's quick_check (${problems.slice(0, 3).join("; ")}). ${NOTHING_CHANGED} To go on: ${fix}.`,
  BACKUP_DISK_FULL: ({ directory, systemCode, availableBytes, neededBytes }) =>
    text`The backup folder ${directory} has no room for the backup (${systemCode}${neededBytes === null ? "" : `; the database is ${neededBytes} bytes`}${availableBytes === null ? "" : `, ${availableBytes} bytes are free there`}). The partial backup was removed and the database was not touched. Free space in that folder, lower ${option("backupKeep")}, or back up to a folder on another disk.`,
  BACKUP_FOLDER_UNWRITABLE: ({ directory, systemCode }, { remedy }) =>
    text`The backup folder ${directory} cannot be written (${systemCode}). The database was not touched. ${remedy ?? text`Fix the folder's permissions, or pass a writable folder: ${option("backupDirectory", "<dir>")}.`}`,
  BACKUP_FOREIGN: ({ file, reasons }) => {
    const lines = reasons.map(({ version, kind, backup, registry }) =>
      kind === "unknown-version" ? `migration ${version} (${backup}) is not in this app's registry` : `migration ${version}: the backup has ${kind} ${backup}, the registry ${registry}`,
    );
    const shown = [...lines.slice(0, 10), ...(lines.length > 10 ? [`\u2026 and ${lines.length - 10} more`] : [])];
    return text`${file} does not hold this app's migrations:${list(shown)}\n${NOTHING_CHANGED} Pick a backup of this database, or pass ${option("dangerouslyAllowForeignBackup", true)} if you mean to put this one in place anyway.`;
  },
  BACKUP_INVALID: ({ file, reason }) => text`${file} cannot be restored: ${reason}. ${NOTHING_CHANGED} Pick a file written by ${CALLS.upWithBackup}.`,
  BACKUP_IS_DATABASE: ({ backupFile, databasePath }) =>
    text`${backupFile} is the database ${databasePath} itself (the same file), so there is nothing to restore from it. ${NOTHING_CHANGED} Pick a backup written by ${CALLS.upWithBackup} (listed in the backup folder as <file>.v<version>.<time>.<identity>.bak).`,
  // The CLI and its tools
  FILE_WRITE_FAILED: ({ file, step, systemCode, bytesWritten, bytesExpected }) =>
    `Could not write ${file} (${systemCode ?? "error"} during ${step}${step === "write" ? ` after ${bytesWritten} of ${bytesExpected} bytes` : ""}). Nothing was replaced: the file is as it was before, and the temporary copy was removed. ` +
    (isFull(systemCode) ? "Free disk space (or raise the quota or file size limit) and run it again." : "Check that the folder is writable and on a healthy disk, then run it again."),
};

/** The error of `code`, its message filled in from `details` and `extra`. */
function fail<C extends E.StepwiseErrorCode>(code: C, details: E.StepwiseErrorDetails[C], extra: Extra = {}): StepwiseError<C> {
  return new StepwiseError(code, MESSAGES[code]!(details, extra), details, { cause: extra.cause });
}

const ESCAPED_COMMIT_ADVICE: Readonly<Record<E.EscapedCommit, string>> = {
  yes: "What it ran before ending the transaction was COMMITTED: undo it by hand (or restore a backup) before running it again.",
  unknown: "What it ran after ending the transaction may be COMMITTED (SQLite commits each statement outside one): check, and undo it by hand (or restore a backup) before running it again.",
  no: "Nothing it did was committed: the database is as it was.",
};

/** `session 4242 (application "reporting", in a transaction since ..., its query started ...)`. */
function describeSession({ pid, applicationName, state, transactionStart, queryStart }: E.LockHolderSession): string {
  const facts = [
    applicationName && `application "${applicationName}"`,
    state,
    transactionStart && `in a transaction since ${transactionStart}`,
    queryStart && `its query started ${queryStart}`,
  ].filter(Boolean);
  return `session ${pid}${facts.length > 0 ? ` (${facts.join(", ")})` : ""}`;
}

const PATH_PROBLEMS: Readonly<Record<E.DatabasePathProblem, (path: string, kind: E.FileKind | null) => string>> = {
  empty: () => "the database path is empty",
  "nul-byte": (path) => `the database path ${JSON.stringify(path)} contains a NUL character, which no file name can hold`,
  "too-long": (path) => `the database path ${path} is longer than the file system allows`,
  directory: (path, kind) => `${path} is ${describeFileKind(kind ?? "directory")}, not a database file`,
  "not-a-file": (path, kind) => `${path} is ${describeFileKind(kind ?? "directory")}, not a database file`,
  "unsupported-url": (path) => `${path} does not name a SQLite file: stepwise reads a plain path, file:<path> or sqlite:<path> there`,
  "symlink-loop": (path) => `the folders on the way to ${path} form a symbolic link loop`,
  "dangling-symlink": (path) => `${path} is a symbolic link to a file that does not exist (an unmounted volume, a moved database?), and stepwise creates no database through it`,
  "journal-not-a-file": (path, kind) => `${path}, the database's journal, is ${describeFileKind(kind ?? "symlink")}: SQLite refuses to use it, and stepwise neither follows nor removes it`,
  "parent-not-directory": (path) => `a part of ${path} above the file is not a folder`,
};

// The factories, one per way a code arises; callers are everywhere, so their names and signatures are stable.

/** `REGISTRY_INVALID`: the registry breaks the version rules. */
export const registryInvalidError = (problems: readonly E.RegistryProblem[]) => fail("REGISTRY_INVALID", { problems });
/** `REGISTRY_LOAD_FAILED`: the registry module could not be imported. */
export const registryLoadError = ({ file, location, cause }: { file: string; location: string | null; cause: unknown }) => fail("REGISTRY_LOAD_FAILED", { file, location }, { cause });
/** `DATABASE_AHEAD`: the database was migrated by a newer app. */
export const databaseAheadError = (unknownVersions: readonly number[], latestKnownVersion: number) => fail("DATABASE_AHEAD", { unknownVersions, latestKnownVersion });
/** `HISTORY_OUT_OF_ORDER`: the history skips versions below the newest applied one. */
export const historyOutOfOrderError = (missingVersions: readonly number[], highestAppliedVersion: number) => fail("HISTORY_OUT_OF_ORDER", { missingVersions, highestAppliedVersion });
/** `HISTORY_TABLE_INVALID`: the history table lacks the columns stepwise needs. */
export const historyTableInvalidError = (table: string, missingColumns: readonly string[], detail?: string) => fail("HISTORY_TABLE_INVALID", { table, missingColumns }, { detail });
/** `HISTORY_TABLE_INVALID` for one row holding what stepwise never writes: no plan can be trusted until it is fixed. */
export const historyRowInvalidError = ({ table, rowid, version, problem, detail }: { table: string | null; rowid: number | null; version: unknown; problem: E.HistoryRowProblem; detail: string }) =>
  fail("HISTORY_TABLE_INVALID", { table, rowid, version, problem }, { detail });
/** `INVALID_TABLE_NAME`: refused before any SQL ran. */
export const invalidTableNameError = (tableName: string) => fail("INVALID_TABLE_NAME", { tableName });
/** `INCOMPLETE_MIGRATION`: a `transaction: false` migration started and never recorded its end. */
export const incompleteMigrationError = ({ version, file, startedAt }: { version: number; file: string; startedAt: string }) => fail("INCOMPLETE_MIGRATION", { version, file, startedAt });
/** `UNMANAGED_DATABASE`: the database has tables but no history. */
export const unmanagedDatabaseError = (tables: readonly string[]) => fail("UNMANAGED_DATABASE", { tables });

/** `CHECKSUM_MISMATCH`: an applied migration was edited; `fix` names calls, so it is kept as texts for the CLI's spelling. */
export function checksumMismatchError({ version, file, registryChecksum, databaseChecksum }: { version: number; file: string; registryChecksum: string; databaseChecksum: string }) {
  const accidental = text`restore ${file} and put the change in a new migration ("stepwise create")`;
  const deliberate = text`if the database already has what the file now says, ${CALLS.repairChecksums(version)} shows what it would record and ${CALLS.applyChecksumRepair} records it`;
  const texts = {};
  const fix = keepText(texts, "fix", { accidental, deliberate, command: text`stepwise repair --checksums ${version}` });
  const message = text`${label(version, file)} was changed after it was applied.\n  applied:  ${databaseChecksum}\n  registry: ${registryChecksum}\nIf the edit was an accident: ${accidental}.\nIf it was deliberate: ${deliberate}.`;
  return copyTexts(texts, new StepwiseError("CHECKSUM_MISMATCH", message, { version, file, registryChecksum, databaseChecksum, fix }));
}

/**
 * `HISTORY_ROW_MISSING`: a history write of a running migration changed no row (another process removed it, or a trigger or rule discarded the write; the count cannot tell which). What became of the
 * changes is known once `file` is named.
 */
export function historyRowMissingError(fields: {
  table: string;
  version: number;
  operation: E.HistoryRowOperation;
  file?: string | null;
  direction?: MigrationDirection | null;
  restoredStartedRow?: boolean;
}) {
  const { table, version, operation, file = null, direction = null, restoredStartedRow = false } = fields;
  return fail("HISTORY_ROW_MISSING", { table, version, operation, file, direction, rolledBack: false, restoredStartedRow });
}

// Running migrations

/** `BATCH_OPTIONS_INVALID`: refused before the first batch (a `$n` in `where` would share numbers with the walk's own). */
export const batchOptionsInvalidError = ({ option, value, version, file }: { option: "batchSize" | "where"; value: unknown; version: number; file: string }) =>
  fail("BATCH_OPTIONS_INVALID", { option, value, version, file });
/** `BATCH_KEY_INVALID`: a keyset walk by this key could stop early or skip rows. */
export const batchKeyError = (fields: { table: string; key: string; problem: E.BatchKeyProblem; detail: string; columns?: readonly string[]; value?: unknown; version: number; file: string }) => {
  const { table, key, problem, detail, columns = [], value = null, version, file } = fields;
  return fail("BATCH_KEY_INVALID", { table, key, problem, columns, value, version, file }, { detail });
};
/** `IRREVERSIBLE_MIGRATION`: `down` would have to pass a migration without a down. */
export const irreversibleMigrationError = (version: number, file: string) => fail("IRREVERSIBLE_MIGRATION", { version, file });
/** `INVALID_TARGET`: a requested version does not exist or points the wrong way. */
export const invalidTargetError = (target: number, message: string | Text) => new StepwiseError("INVALID_TARGET", message, { target });
/** `HISTORY_CHANGED_BY_MIGRATION`: a migration wrote stepwise's history table and failed before its COMMIT. */
export const historyChangedByMigrationError = (fields: Run & { table: string; change: string; rolledBack: boolean; historyChanged: boolean; cause?: unknown }) => {
  const { version, file, direction, table, change, rolledBack, historyChanged, cause } = fields;
  return fail("HISTORY_CHANGED_BY_MIGRATION", { version, file, direction, table, change, rolledBack, historyChanged }, { cause });
};
/** `TRANSACTION_ESCAPED`: a migration ended stepwise's transaction; it is never recorded. */
export const transactionEscapedError = ({ version, file, direction, committed, cause }: Run & { committed: E.EscapedCommit; cause?: unknown }) =>
  fail("TRANSACTION_ESCAPED", { version, file, direction, committed }, { cause });
/** `FOREIGN_KEY_VIOLATION`: a migration run with foreign keys off left dangling references; rolled back before commit. */
export const foreignKeyViolationError = ({ version, file, direction, violations }: Run & { violations: readonly E.ForeignKeyViolation[] }) =>
  fail("FOREIGN_KEY_VIOLATION", { version, file, direction, violations: violations.slice(0, 100), violationCount: violations.length });
/** `TRANSACTION_OPEN`: refused before anything ran; the app's transaction is still open. */
export const transactionOpenError = ({ driver, operation, cause }: { driver: string; operation: string; cause?: unknown }) => fail("TRANSACTION_OPEN", { driver, operation }, { cause });

/** `MIGRATION_FAILED`; `notes` are the lines the dialect read of the failure (PostgreSQL's DETAIL, HINT, invalid indexes). */
export function migrationFailedError(fields: Run & Partial<E.StepwiseErrorDetails["MIGRATION_FAILED"]> & { cause: unknown; rolledBack: boolean; notes?: string }): StepwiseError<"MIGRATION_FAILED"> {
  const { version, file, direction, rolledBack, backupPath = null, foreignKeyRebuild = null, location = null, detail = null, hint = null, invalidIndexes = [], cause, notes } = fields;
  return fail("MIGRATION_FAILED", { version, file, direction, rolledBack, backupPath, foreignKeyRebuild, location, detail, hint, invalidIndexes }, { cause, notes });
}

/** The same failure, naming the backup taken before the run. */
export function withBackupPath(error: StepwiseError<"MIGRATION_FAILED">, backupPath: string): StepwiseError<"MIGRATION_FAILED"> {
  return copyFailure(error, { backupPath });
}

/** The same failure, naming where in its file it happened (found after it was thrown). */
export function withLocation(error: StepwiseError<"MIGRATION_FAILED">, location: E.SqlLocation): StepwiseError<"MIGRATION_FAILED"> {
  return copyFailure(error, { location });
}

function copyFailure(error: StepwiseError<"MIGRATION_FAILED">, fields: { backupPath?: string; location?: E.SqlLocation }): StepwiseError<"MIGRATION_FAILED"> {
  const copy = Object.assign(migrationFailedError({ ...error.details, cause: error.cause, ...fields }), { nativeCode: error.nativeCode, nativeKind: error.nativeKind });
  if (closedConnections.has(error)) closedConnections.add(copy);
  return copy;
}

const closedConnections = new WeakSet<StepwiseError>();

/**
 * `MIGRATION_FAILED` for a migration that closed its connection (`db.close()`): SQLite rolled back the open transaction, but what it committed before stays and nothing can be checked, so never
 * "rolled back"; the executor stops at once for it.
 */
export function connectionClosedError(entry: { readonly version: number; readonly file: string }, direction: MigrationDirection): StepwiseError<"MIGRATION_FAILED"> {
  const cause = new Error(
    "it closed the database connection it was given (db.close()), so stepwise could not record it; SQLite rolled back the open transaction, but what it committed before stays. Remove the close() and open the database again",
  );
  const error = migrationFailedError({ version: entry.version, file: entry.file, direction, cause, rolledBack: false });
  closedConnections.add(error);
  return error;
}

/** Whether `value` is a failure {@link connectionClosedError} made (by identity: a thrown Proxy may trap `instanceof`). */
export function isConnectionClosedError(value: unknown): boolean {
  return closedConnections.has(value as StepwiseError);
}

// Locks, sessions and concurrency

/** `DATABASE_LOCKED`: another connection held the lock past the busy timeout; `waitedMs` is what a runner measured. */
export const databaseLockedError = (busyTimeoutMs: number, cause: unknown, holders: readonly E.LockHolder[] = [], waitedMs: number | null = elapsedByError.get(cause as object) ?? null) =>
  fail("DATABASE_LOCKED", { busyTimeoutMs, waitedMs, holders }, { cause });
/** `DATABASE_LOCKED` for the backup file offered to `restore` (`file`): the remedy is the same, waiting. */
export const backupLockedError = (file: string, busyTimeoutMs: number, cause: unknown, holders: readonly E.LockHolder[] = [], waitedMs: number | null = elapsedByError.get(cause as object) ?? null) =>
  fail("DATABASE_LOCKED", { busyTimeoutMs, waitedMs, holders, file }, { cause });
/** `MIGRATION_IN_PROGRESS`: another process's `transaction: false` migration outlasted the busy timeout. */
export const migrationInProgressError = ({ version, file, startedAt, owner, waitedMs }: { version: number; file: string; startedAt: string; owner: E.MigrationOwnerInfo | null; waitedMs: number }) =>
  fail("MIGRATION_IN_PROGRESS", { version, file, startedAt, owner, waitedMs });

/** `LOCK_TIMEOUT`: PostgreSQL cancelled a statement that waited past `lock_timeout`; `wait` is what a second session saw. */
export function lockTimeoutError(
  fields: Partial<Run> & { lockTimeoutMs: number; wait: E.LockWait | null; rolledBack: boolean; invalidIndexes?: readonly E.InvalidIndex[]; cause: unknown },
): StepwiseError<"LOCK_TIMEOUT"> {
  const { version = null, file = null, direction = null, wait, lockTimeoutMs, rolledBack, invalidIndexes = [], cause } = fields;
  const holders = wait?.holders ?? [];
  const ending = holders.length === 0 ? "" : ` (or end it: ${holders.map((holder) => `SELECT pg_terminate_backend(${holder.pid});`).join(" ")})`;
  const fix = rolledBack
    ? `wait for ${holders.length > 1 ? "those sessions" : "that session"} to finish${ending}, then ${version === null ? "run the command again" : `run "stepwise ${direction}" again`}; or let it wait longer with --lock-timeout <ms> (lockTimeoutMs)`
    : `remove what it left (${invalidIndexes.length > 0 ? "the invalid indexes above, and " : ""}anything else it applied), run "stepwise repair --forget ${version}", then "stepwise ${direction}" once ${holders.length === 0 ? "the other session" : "that session"} has finished${ending}; or let it wait longer with --lock-timeout <ms>`;
  const where = { relation: wait?.relation ?? null, lockType: wait?.lockType ?? null, mode: wait?.mode ?? null };
  return fail("LOCK_TIMEOUT", { version, file, direction, lockTimeoutMs, ...where, holders, rolledBack, invalidIndexes, fix }, { cause });
}

/** `CONNECTION_LOST`: the server ended the session or the network dropped it; `outcome` says what became of the running migration. */
export function connectionLostError(fields: Partial<Run> & { outcome: E.ConnectionLossOutcome; during?: string; reason: string; cause: unknown }): StepwiseError<"CONNECTION_LOST"> {
  const { version = null, file = null, outcome, during = null, reason, cause } = fields;
  const verb = fields.direction === "down" ? "down" : "up";
  const fix = {
    "partly-applied": `check the database by hand, then run "stepwise repair --applied ${version}" if all of it is there or "stepwise repair --forget ${version}" if none is`,
    "commit-unknown": `run "stepwise status" once the server accepts connections: it shows whether ${version} is applied; then run "stepwise ${verb}" for the rest`,
    "rolled-back": `run "stepwise ${verb}" again once the server accepts connections`,
    "none-running": `run "stepwise ${version === null ? "status" : verb}" again once the server accepts connections`,
  }[outcome];
  return fail("CONNECTION_LOST", { version, file, direction: fields.direction ?? null, outcome, during, reason, fix }, { cause });
}

// Opening the database

/** `DATABASE_UNUSABLE`: not SQLite, read-only, or otherwise refused by SQLite. */
export const databaseUnusableError = (message: string, sqliteCode: string | null, cause: unknown) => new StepwiseError("DATABASE_UNUSABLE", message, { sqliteCode }, { cause });

/** `DATABASE_UNUSABLE` for a server that could not be connected to; `problem` tells the cases apart. Never quotes the URL. */
export function connectionFailedError({
  problem,
  reason,
  fix,
  sqlstate,
  systemCode,
  cause,
}: {
  problem: E.ConnectionProblem;
  reason: string;
  fix: string | null;
  sqlstate: string | null;
  systemCode: string | null;
  cause: unknown;
}) {
  const reasonCode = sqlstate ?? systemCode;
  const message = `Cannot connect to the PostgreSQL server: ${reason}${reasonCode && !reason.includes(reasonCode) ? ` (${reasonCode})` : ""}. ${NOTHING_CHANGED}${fix ? ` Fix: ${fix}.` : ""}`;
  return new StepwiseError("DATABASE_UNUSABLE", message, { sqliteCode: sqlstate, problem, reason, fix, reasonCode }, { cause });
}

/** `DATABASE_NEEDS_RECOVERY`: a crashed writer's journal needs a connection that may write. */
export const databaseNeedsRecoveryError = (sqliteCode: string, cause: unknown) => fail("DATABASE_NEEDS_RECOVERY", { sqliteCode }, { cause });
/** `DATABASE_PATH_INVALID`: the path cannot name a database file. */
export const databasePathInvalidError = (path: string, problem: E.DatabasePathProblem, kind: E.FileKind | null = problem === "directory" ? "directory" : null) =>
  fail("DATABASE_PATH_INVALID", { path, problem, kind });
/** `PATH_NOT_UTF8`: the string that reached stepwise names another file than the bytes given. */
export const pathEncodingError = (path: string, bytes: string) => fail("PATH_NOT_UTF8", { path, bytes });
/** `DATABASE_FOLDER_MISSING`: no folder to hold the database. */
export const databaseFolderMissingError = (databasePath: string, folder: string) => fail("DATABASE_FOLDER_MISSING", { databasePath, folder });
/** `DISK_FULL`: the disk or `max_page_count` ran out; the write was rolled back. */
export const diskFullError = ({ version, file, sqliteCode, cause }: { version: number | null; file: string | null; sqliteCode: string; cause: unknown }) =>
  fail("DISK_FULL", { version, file, sqliteCode }, { cause });

/** The `SQLITE_*` code of an error, or `null` when it did not come from SQLite. */
export function sqliteCodeOf(error: unknown): string | null {
  try {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === "string" && code.startsWith("SQLITE_") ? code : null;
  } catch {
    return null;
  }
}

const SQLITE_KINDS: ReadonlyArray<readonly [RegExp, E.ErrorKind]> = [
  [/^SQLITE_(BUSY|LOCKED)/, "locked"],
  [/^SQLITE_FULL/, "full"],
  [/^SQLITE_(READONLY|PERM)/, "readonly"],
  [/^SQLITE_NOTADB$/, "notadb"],
  [/^SQLITE_CORRUPT/, "corrupt"],
  [/^SQLITE_CANTOPEN/, "cantopen"],
];

/** Reads an `SQLITE_*` code as stepwise's kind of failure: what every SQLite driver's `classifyError` reports. */
export function kindOfSqliteCode(code: string): E.ErrorKind {
  return SQLITE_KINDS.find(([pattern]) => pattern.test(code))?.[1] ?? "other";
}

/** The SQLite codes that make a database unusable, and what each tells the user. */
const UNUSABLE: ReadonlyArray<readonly [RegExp, (code: string) => string]> = [
  [/^SQLITE_(NOTADB|CORRUPT)$/, (code) => `The file is not a usable SQLite database (${code}): check the path`],
  [/^SQLITE_CANTOPEN/, (code) => `SQLite cannot open the database file (${code}): check that the path names a file this process may open`],
  [/^SQLITE_(READONLY|PERM)/, (code) => `The database cannot be written (${code}): the file or its folder is read-only to this process, or the connection has PRAGMA query_only on`],
  [/^SQLITE_IOERR_(SHORT_)?READ$/, (code) => `The database file could not be read (${code}): check the path and the disk`],
  [/^SQLITE_IOERR/, (code) => `The disk refused the write (${code}), so nothing was committed: free space and retry`],
];

/**
 * The typed error for a SQLite failure a user can act on (locked, not a database, read-only, full); anything else is returned unchanged. `code` is the one the driver's `classifyError` reads, by
 * default the error's `code` property.
 */
export function translateSqliteError(error: unknown, busyTimeoutMs: number, code: string | null = sqliteCodeOf(error)): unknown {
  if (error instanceof StepwiseError || code === null) return error;
  const kind = kindOfSqliteCode(code);
  const unusable = UNUSABLE.find(([pattern]) => pattern.test(code))?.[1];
  const translated =
    kind === "locked"
      ? databaseLockedError(busyTimeoutMs, error)
      : kind === "full"
        ? diskFullError({ version: null, file: null, sqliteCode: code, cause: error })
        : // A crashed writer's hot journal (or WAL) on a connection that may not write: a writer must recover it.
          code === "SQLITE_READONLY_ROLLBACK" || code === "SQLITE_READONLY_RECOVERY"
          ? databaseNeedsRecoveryError(code, error)
          : unusable && databaseUnusableError(`${unusable(code)}. ${NOTHING_CHANGED}`, code, error);
  return translated ? recordNativeError(translated, { kind, nativeCode: code }) : error;
}

// Drivers

/** `DRIVER_UNKNOWN`: a driver name that names none of stepwise's drivers (the CLI exits 2: a setting the user typed). */
export const driverUnknownError = ({ driver, source, validDrivers }: { driver: string; source: string; validDrivers: readonly string[] }) => fail("DRIVER_UNKNOWN", { driver, source, validDrivers });
/** `DRIVER_NOT_INSTALLED`: the driver's library is missing, or fails to load on this runtime. */
export const driverNotInstalledError = ({
  driver,
  packageName,
  installCommand,
  reason,
  cause,
}: {
  driver: string;
  packageName: string;
  installCommand: string;
  reason: "missing" | "unloadable";
  cause?: unknown;
}) => fail("DRIVER_NOT_INSTALLED", { driver, packageName, installCommand, reason }, { cause });
/** `DRIVER_RUNTIME_UNSUPPORTED`: the driver is built into another runtime. */
export const driverRuntimeUnsupportedError = ({ driver, runtime, required, hint }: { driver: string; runtime: string; required: string; hint: string }) =>
  fail("DRIVER_RUNTIME_UNSUPPORTED", { driver, runtime, required }, { hint });
/** `REGISTRY_DIALECT_MISMATCH`: thrown when the manager is constructed, before anything touches the database. */
export const registryDialectMismatchError = ({
  registryDialect,
  driverDialect,
  driver,
  version,
  file,
}: {
  registryDialect: string;
  driverDialect: string;
  driver: string;
  version: number;
  file: string;
}) => fail("REGISTRY_DIALECT_MISMATCH", { registryDialect, driverDialect, driver, version, file });

// Safety nets

/** `SCHEMA_MISMATCH`: baseline found the schema is not what migrations 1..N build; nothing was recorded. `drift` words each difference. */
export const schemaMismatchError = (version: number, differences: readonly SchemaDifference[], drift: readonly string[]) => fail("SCHEMA_MISMATCH", { version, differences, drift });
/** `SCHEMA_DRIFT`: the live schema differs from what the applied migrations build; `drift` words each difference. */
export const schemaDriftError = ({ version, differences, drift }: { version: number; differences: readonly SchemaDifference[]; drift: readonly string[] }) =>
  fail("SCHEMA_DRIFT", { version, differences }, { lines: drift });
/** `ALREADY_MANAGED`: baseline was asked of a database that has a migration history (in `tableName`). */
export const alreadyManagedError = (currentVersion: number, tableName: string) => fail("ALREADY_MANAGED", { currentVersion }, { detail: tableName });
/** `REHEARSAL_REFUSED`: the plan holds a migration that cannot join the one transaction a rehearsal runs in; nothing ran. */
export const rehearsalRefusedError = ({ version, file, obstacle, driver }: { version: number; file: string; obstacle: E.WholeRunObstacle; driver: string }) =>
  fail("REHEARSAL_REFUSED", { version, file, obstacle, driver });
/** `BACKUP_INVALID`: the file offered to `restore` is no usable backup (`kind` says what it is when it is no regular file); nothing was changed. */
export const backupInvalidError = (file: string, reason: string, cause?: unknown, kind: E.FileKind | null = null) => fail("BACKUP_INVALID", { file, reason, kind }, { cause });
/** `TEMP_FOLDER_UNUSABLE`: the temporary folder cannot hold a safety net's private copy. */
export const tempFolderUnusableError = ({ folder, systemCode, operation, cause }: { folder: string; systemCode: string | null; operation: string; cause?: unknown }) =>
  fail("TEMP_FOLDER_UNUSABLE", { folder, systemCode, operation }, { cause });
/** `DATABASE_DAMAGED`: the database fails `quick_check`, so `up --backup` migrates nothing. */
export const databaseDamagedError = ({ databasePath, problems }: { databasePath: string; problems: readonly string[] }) =>
  fail("DATABASE_DAMAGED", {
    databasePath,
    check: "quick_check",
    problems,
    fix: `restore a good backup ("stepwise restore <file> --yes"), or recover the data with the sqlite3 shell's ".recover" into a new file; to migrate it as it is, pass --dangerously-skip-integrity-check (dangerouslySkipIntegrityCheck: true)`,
  });
/** `BACKUP_DISK_FULL`: the backup folder ran out of room; the database was not touched, and freeing space elsewhere does not help. */
export const backupDiskFullError = ({
  directory,
  path,
  systemCode,
  availableBytes,
  neededBytes,
  cause,
}: {
  directory: string;
  path: string;
  systemCode: string;
  availableBytes: number | null;
  neededBytes: number | null;
  cause: unknown;
}) => fail("BACKUP_DISK_FULL", { directory, path, systemCode, availableBytes, neededBytes }, { cause });
/** `BACKUP_FOLDER_UNWRITABLE`: the backup folder cannot be created or written; the database was not touched. */
export const backupFolderUnwritableError = (directory: string, systemCode: string, cause: unknown, remedy?: string | Text) =>
  fail("BACKUP_FOLDER_UNWRITABLE", { directory, systemCode }, { cause, remedy });
/** `BACKUP_FOREIGN`: the backup's history does not match this app's migrations. */
export const foreignBackupError = (file: string, reasons: readonly E.ForeignBackupReason[]) => fail("BACKUP_FOREIGN", { file, reasons });
/** `BACKUP_IS_DATABASE`: the file offered to `restore` is the database itself. */
export const backupIsDatabaseError = (backupFile: string, databasePath: string) => fail("BACKUP_IS_DATABASE", { backupFile, databasePath });

// The CLI and its tools

/** `USAGE`: a command or option that cannot work as given; the CLI exits 2. */
export const usageError = (message: string) => new StepwiseError("USAGE", message, {});
/** `FILE_WRITE_FAILED`: `gen` or `create` could not write a file; the target is as it was and the temporary copy is gone. */
export const fileWriteError = ({
  file,
  step,
  systemCode,
  bytesWritten,
  bytesExpected,
  cause,
}: {
  file: string;
  step: E.FileWriteStep;
  systemCode: string | null;
  bytesWritten: number;
  bytesExpected: number;
  cause: unknown;
}) => fail("FILE_WRITE_FAILED", { file, step, systemCode, bytesWritten, bytesExpected }, { cause });
