/**
 * The constructors of the core's errors: each builds a {@link StepwiseError} with its code, its
 * message (worded here, once) and its details. Internal: a program catches a `StepwiseError` and
 * branches on `code`.
 */
import { describeThrownValue } from "./thrown-value.js";
import type { MigrationDirection } from "./types.js";
import { copyTexts, keepText, option, runCall, CALLS, text, type Text } from "./option-text.js";
import {
  describeFileKind,
  REPAIR_CHECKSUMS_COMMAND,
  StepwiseError,
  type BatchKeyProblem,
  type DatabasePathProblem,
  type EscapedCommit,
  type FileKind,
  type FileWriteStep,
  type ForeignBackupReason,
  type ForeignKeyRebuildHint,
  type ForeignKeyViolation,
  type HistoryRowOperation,
  type HistoryRowProblem,
  type InvalidIndex,
  type LockHolder,
  type MigrationOwnerInfo,
  type RegistryProblem,
  type SqlLocation,
} from "./errors.js";

/** How every message names a migration: "Migration 3 (003_users.sql)". */
function migrationLabel(version: number | null, file: string | null): string {
  return `Migration ${version} (${file})`;
}

/** Where the database file is named: the library's option, the CLI's flag and config setting. */
const DATABASE_OPTION: Text = [option("databasePath", "<file>"), { api: "", cli: ' (or set "database" in the config)' }];

/** Said by every refusal that ran nothing. */
const NOTHING_CHANGED = "Nothing was changed.";

/** Said by every failure whose transaction rolled back. */
const ROLLED_BACK = "The transaction was rolled back; nothing of it was kept.";

/** The registry breaks the version rules; codegen prevents this unless the file was edited by hand. */
export function registryInvalidError(problems: readonly RegistryProblem[]): StepwiseError<"REGISTRY_INVALID"> {
  return new StepwiseError(
    "REGISTRY_INVALID",
    `The migration registry is invalid:\n${problems.map((p) => `  - ${p.message}`).join("\n")}\n` + `Regenerate it with "stepwise gen" instead of editing it by hand.`,
    { problems },
  );
}

/**
 * The registry module could not be imported: it does not compile (edited by hand, or a merge left
 * markers in it), or a migration it imports throws while loading.
 */
export function registryLoadError(fields: { file: string; location: string | null; cause: unknown }): StepwiseError<"REGISTRY_LOAD_FAILED"> {
  const reason = fields.cause instanceof Error ? fields.cause.message : String(fields.cause);
  return new StepwiseError(
    "REGISTRY_LOAD_FAILED",
    `Could not load ${fields.file}${fields.location ? ` (at ${fields.location})` : ""}: ${reason}\n` +
      `If a migration throws when it is imported, fix it there; if the registry itself is broken, run "stepwise gen" to rewrite it.`,
    { file: fields.file, location: fields.location },
    { cause: fields.cause },
  );
}

/**
 * An applied migration was edited after it ran. The two ways out are in {@link fix}: restore the file
 * when the edit was an accident; `repair --checksums` when it was deliberate.
 */
export function checksumMismatchError(fields: { version: number; file: string; registryChecksum: string; databaseChecksum: string }): StepwiseError<"CHECKSUM_MISMATCH"> {
  const accidental = text`restore ${fields.file} and put the change in a new migration ("stepwise create")`;
  const deliberate = text`if the database already has what the file now says, ${CALLS.repairChecksums(fields.version)} shows what it would record and ${CALLS.applyChecksumRepair} records it`;
  const command = text`${REPAIR_CHECKSUMS_COMMAND} ${fields.version}`;
  // The fix names calls too: kept as texts, so the CLI spells it with its commands.
  const texts = {};
  const fix = keepText(texts, "fix", { accidental, deliberate, command });
  const error = new StepwiseError(
    "CHECKSUM_MISMATCH",
    text`${migrationLabel(fields.version, fields.file)} was changed after it was applied.
  applied:  ${fields.databaseChecksum}
  registry: ${fields.registryChecksum}
If the edit was an accident: ${accidental}.
If it was deliberate: ${deliberate}.`,
    { version: fields.version, file: fields.file, registryChecksum: fields.registryChecksum, databaseChecksum: fields.databaseChecksum, fix },
  );
  copyTexts(texts, error);
  return error;
}

/** The database records versions the registry does not have: it was migrated by a newer app. */
export function databaseAheadError(unknownVersions: readonly number[], latestKnownVersion: number): StepwiseError<"DATABASE_AHEAD"> {
  return new StepwiseError(
    "DATABASE_AHEAD",
    `The database is newer than this app: it has migration${unknownVersions.length === 1 ? "" : "s"} ${unknownVersions.join(", ")} applied; this app knows up to ${latestKnownVersion}.\n` +
      `Run a newer build, or roll back with the build that applied them.`,
    { unknownVersions, latestKnownVersion },
  );
}

/** The history skips a version that the registry has below the newest applied one. */
export function historyOutOfOrderError(missingVersions: readonly number[], highestAppliedVersion: number): StepwiseError<"HISTORY_OUT_OF_ORDER"> {
  return new StepwiseError(
    "HISTORY_OUT_OF_ORDER",
    `The history records migration ${highestAppliedVersion} but not ${missingVersions.join(", ")}, which come before it: ` +
      `a row was deleted by hand, or a migration renumbered after it ran. Restore the rows or the numbering.`,
    { missingVersions, highestAppliedVersion },
  );
}

/** The history table exists but does not have the columns stepwise needs. */
export function historyTableInvalidError(table: string, missingColumns: readonly string[], detail?: string): StepwiseError<"HISTORY_TABLE_INVALID"> {
  return new StepwiseError(
    "HISTORY_TABLE_INVALID",
    text`The history table "${table}" has an unexpected shape${missingColumns.length > 0 ? `: it lacks ${missingColumns.join(", ")}` : ""}${detail ? ` (${detail})` : ""}.
If another tool owns it, give stepwise a history table of its own: ${option("tableName", "<name>")}.`,
    { table, missingColumns },
  );
}

/**
 * One row of the history table holds something stepwise never writes (a version of 0 or below, a
 * fraction, text or NULL; a version twice; a state other than applied/started), so no plan can be
 * trusted. Same code as `HISTORY_TABLE_INVALID`: the table is unusable until that row is fixed.
 */
export function historyRowInvalidError(fields: { table: string | null; rowid: number | null; version: unknown; problem: HistoryRowProblem; detail: string }): StepwiseError<"HISTORY_TABLE_INVALID"> {
  const where = fields.rowid === null ? `version ${describeStoredValue(fields.version)}` : `rowid ${fields.rowid}`;
  return new StepwiseError(
    "HISTORY_TABLE_INVALID",
    `The history table${fields.table === null ? "" : ` "${fields.table}"`} has a row stepwise never writes (${where}): ${fields.detail}.\n` +
      `${NOTHING_CHANGED} Fix or delete that row, or restore a backup.`,
    { table: fields.table, rowid: fields.rowid, version: fields.version, problem: fields.problem },
  );
}

/** A history table name was refused before any SQL ran: it is not a plain SQL identifier. */
export function invalidTableNameError(tableName: string): StepwiseError<"INVALID_TABLE_NAME"> {
  return new StepwiseError(
    "INVALID_TABLE_NAME",
    `"${tableName}" cannot be the history table's name: use letters, digits and underscores, not starting with a digit` +
      (/^sqlite_/i.test(tableName) ? `, nor with sqlite_ (SQLite's own tables).` : "."),
    { tableName },
  );
}

/** A `transaction: false` migration started but never recorded its end, so its effects are unknown. */
export function incompleteMigrationError(fields: { version: number; file: string; startedAt: string }): StepwiseError<"INCOMPLETE_MIGRATION"> {
  return new StepwiseError(
    "INCOMPLETE_MIGRATION",
    text`${migrationLabel(fields.version, fields.file)} runs outside a transaction and was interrupted (started ${fields.startedAt}), so it may be partly applied.
Check the database, then ${CALLS.repair(fields.version, "applied")} if its changes are all there, or ${CALLS.repair(fields.version, "forget")} to run it again.`,
    { version: fields.version, file: fields.file, startedAt: fields.startedAt },
  );
}

/**
 * A history write of a migration this process was running changed no row: its row disappeared under
 * it (another process ran `repair --forget`, or deleted it by hand), or a trigger or rule on the
 * history table discarded the write; the count cannot tell which. Running the migration again would
 * apply it twice, so it stops instead. For `up`, a `started` row is written back when possible, so the next run stops with
 * INCOMPLETE_MIGRATION until a person checks the database and runs `repair`.
 */
export function historyRowMissingError(fields: {
  table: string;
  version: number;
  operation: HistoryRowOperation;
  file?: string | null;
  direction?: MigrationDirection | null;
  restoredStartedRow?: boolean;
}): StepwiseError<"HISTORY_ROW_MISSING"> {
  const label = fields.file ? migrationLabel(fields.version, fields.file) : `Migration ${fields.version}`;
  const direction = fields.direction ?? (fields.operation === "delete" ? "down" : "up");
  // Only the write's count of zero is known: another process removing the row and a trigger or rule
  // discarding the write look the same from here, so the message names both. What became of the
  // migration's changes is known once the manager names the file (outside a transaction); as the
  // cause of a rolled-back MIGRATION_FAILED, this error says nothing of them.
  const write = fields.operation === "delete" ? "DELETE" : "UPDATE";
  const next =
    direction === "down"
      ? text`Check that the revert is complete.`
      : fields.restoredStartedRow
        ? text`It is recorded as interrupted again: check the database, then ${CALLS.repair(fields.version, "applied")} if its changes are all there.`
        : text`It could not be recorded as interrupted: check the database before ${runCall("up")}, which would run it again.`;
  const outcome = fields.file ? text`\nIts changes are in the database; it was not run again.\n${next}` : text``;
  return new StepwiseError(
    "HISTORY_ROW_MISSING",
    text`${label}: the ${write} of its row in the history table "${fields.table}" changed no row while it ran ${direction}: another process removed the row (a repair that forgot the attempt, or a DELETE), or a trigger or rule on it discarded the ${write} (drop it).${outcome}`,
    {
      table: fields.table,
      version: fields.version,
      operation: fields.operation,
      file: fields.file ?? null,
      direction: fields.direction ?? null,
      rolledBack: false,
      restoredStartedRow: fields.restoredStartedRow ?? false,
    },
  );
}

/**
 * `context.forEachBatch` was given options it cannot walk with: a `batchSize` that is not a whole
 * number from 1 to 2^53, or (PostgreSQL) a `where` with `$n` placeholders, which would share numbers
 * with the walk's own. Refused before the first batch, so nothing was written.
 */
export function batchOptionsInvalidError(fields: { option: "batchSize" | "where"; value: unknown; version: number; file: string }): StepwiseError<"BATCH_OPTIONS_INVALID"> {
  const origin = `${migrationLabel(fields.version, fields.file)}: `;
  return new StepwiseError(
    "BATCH_OPTIONS_INVALID",
    fields.option === "where"
      ? `${origin}forEachBatch cannot use the where ${describeStoredValue(fields.value)}: its $n placeholders would share numbers with the walk's own. ` +
          `Nothing was walked. Write ? for each value, and pass the values in params, in order.`
      : `${origin}forEachBatch cannot use ${fields.option} ${describeStoredValue(fields.value)}: it must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}. ` +
          `Nothing was walked. Pass, for example, ${fields.option}: 500.`,
    { option: fields.option, value: fields.value, version: fields.version, file: fields.file },
  );
}

/** The database has user tables but no history: it predates stepwise. */
export function unmanagedDatabaseError(tables: readonly string[]): StepwiseError<"UNMANAGED_DATABASE"> {
  return new StepwiseError(
    "UNMANAGED_DATABASE",
    text`The database has tables (${tables.slice(0, 5).join(", ")}${tables.length > 5 ? ", \u2026" : ""}) but no migration history.
Adopt it with ${CALLS.baseline}, naming the last migration its schema already contains.`,
    { tables },
  );
}

/** `down` would have to pass a migration that has no `down`. */
export function irreversibleMigrationError(version: number, file: string): StepwiseError<"IRREVERSIBLE_MIGRATION"> {
  return new StepwiseError(
    "IRREVERSIBLE_MIGRATION",
    `Cannot roll back past migration ${version} (${file}): it has no down. Nothing was changed.\n` + `Choose a target above ${version}, or add a down to that migration.`,
    { version, file },
  );
}

/** A requested target version does not exist or points the wrong way. */
export function invalidTargetError(target: number, message: string | Text): StepwiseError<"INVALID_TARGET"> {
  return new StepwiseError("INVALID_TARGET", message, { target });
}

/** A migration threw. Its transaction was rolled back, so the database is as it was before it. */
export function migrationFailedError(fields: {
  version: number;
  file: string;
  direction: MigrationDirection;
  cause: unknown;
  rolledBack: boolean;
  backupPath?: string | null;
  foreignKeyRebuild?: ForeignKeyRebuildHint | null;
  location?: SqlLocation | null;
  detail?: string | null;
  hint?: string | null;
  invalidIndexes?: readonly InvalidIndex[];
  /**
   * Lines the message shows after the failure's reason: what the dialect read of it (PostgreSQL's
   * DETAIL, HINT and invalid indexes). Worded by the dialect, so only its bundles carry the text.
   */
  notes?: string;
}): StepwiseError<"MIGRATION_FAILED"> {
  const reason = describeThrownValue(fields.cause);
  const rebuild = fields.foreignKeyRebuild ?? null;
  return new StepwiseError(
    "MIGRATION_FAILED",
    text`${migrationLabel(fields.version, fields.file)} failed while running ${fields.direction}: ${reason}\n${fields.notes ? `${fields.notes}\n` : ""}${
      rebuild
        ? `It drops or renames table ${rebuild.table}, which ${rebuild.referencedBy.join(", ")} reference${rebuild.referencedBy.length === 1 ? "s" : ""} with foreign keys enforced. Fix: ${rebuild.fix}.\n`
        : ""
    }${
      // Not ROLLED_BACK: the database is as it was before the run only under transaction: "all"; otherwise the
      // migrations before this one stay applied. What holds in both: nothing of this one was kept.
      fields.rolledBack ? `It was rolled back; nothing of it was kept.` : `It runs outside a transaction, so some of its changes may remain; check the database.`
    }${fields.backupPath ? text`\nA backup taken before this run is at ${fields.backupPath}; ${CALLS.restore} puts it back.` : ""}`,
    {
      version: fields.version,
      file: fields.file,
      direction: fields.direction,
      rolledBack: fields.rolledBack,
      backupPath: fields.backupPath ?? null,
      foreignKeyRebuild: rebuild,
      location: fields.location ?? null,
      detail: fields.detail ?? null,
      hint: fields.hint ?? null,
      invalidIndexes: fields.invalidIndexes ?? [],
    },
    { cause: fields.cause },
  );
}

/** The same failure, naming the backup taken before the run. */
export function withBackupPath(error: StepwiseError<"MIGRATION_FAILED">, backupPath: string): StepwiseError<"MIGRATION_FAILED"> {
  return copyFailure(error, { backupPath });
}

/** The same failure, naming where in its file it happened (found after it was thrown: `sql-location.ts`). */
export function withLocation(error: StepwiseError<"MIGRATION_FAILED">, location: SqlLocation): StepwiseError<"MIGRATION_FAILED"> {
  return copyFailure(error, { location });
}

function copyFailure(error: StepwiseError<"MIGRATION_FAILED">, fields: { backupPath?: string; location?: SqlLocation }): StepwiseError<"MIGRATION_FAILED"> {
  const copy = migrationFailedError({ ...error.details, cause: error.cause, ...fields });
  // The same failure, so the same reading of the library's error (see `native-error.ts`).
  Object.assign(copy, { nativeCode: error.nativeCode, nativeKind: error.nativeKind });
  if (closedConnections.has(error)) closedConnections.add(copy);
  return copy;
}

/**
 * A migration wrote stepwise's history table (a row inserted, changed or deleted, or the table
 * dropped, renamed, truncated or altered): the history is stepwise's record of what ran, and a
 * migration that edits it makes the next `status` or `up` misread the database. The migration
 * failed before its COMMIT; `rolledBack` says whether that undid all of it. Where the write was
 * refused as it happened (SQLite), the history table was never changed, even by a `transaction:
 * false` migration; `historyChanged` says whether the history itself was left changed.
 */
export function historyChangedByMigrationError(fields: {
  version: number;
  file: string;
  direction: MigrationDirection;
  table: string;
  change: string;
  rolledBack: boolean;
  historyChanged: boolean;
  cause?: unknown;
}): StepwiseError<"HISTORY_CHANGED_BY_MIGRATION"> {
  const outcome = fields.rolledBack
    ? ROLLED_BACK
    : `It runs outside a transaction, so its statements before that one stayed; ${fields.historyChanged ? `the history table stays as it left it: check it with "stepwise status" and "stepwise history", then "stepwise repair"` : "the history table itself was not changed"}. It is not recorded as applied.`;
  return new StepwiseError(
    "HISTORY_CHANGED_BY_MIGRATION",
    `${migrationLabel(fields.version, fields.file)} changed the history table "${fields.table}" while running ${fields.direction} (${fields.change}). ` +
      `That table is stepwise's record of what ran; a migration may not write it. ${outcome} Remove the statement that touches "${fields.table}" from the migration.`,
    { version: fields.version, file: fields.file, direction: fields.direction, table: fields.table, change: fields.change, rolledBack: fields.rolledBack, historyChanged: fields.historyChanged },
    fields.cause === undefined ? undefined : { cause: fields.cause },
  );
}

/**
 * A migration ended the transaction stepwise runs it in (COMMIT, END or ROLLBACK in the migration),
 * so it could not be rolled back as one unit. It is never recorded.
 */
export function transactionEscapedError(fields: { version: number; file: string; direction: MigrationDirection; committed: EscapedCommit; cause?: unknown }): StepwiseError<"TRANSACTION_ESCAPED"> {
  const failure = fields.cause === undefined ? "" : ` It then failed: ${describeThrownValue(fields.cause)}.`;
  return new StepwiseError(
    "TRANSACTION_ESCAPED",
    `${migrationLabel(fields.version, fields.file)} ended stepwise's transaction (a COMMIT, END or ROLLBACK) while running ${fields.direction}.${failure} ` +
      `It was not recorded: the history says it is ${fields.direction === "up" ? "not " : ""}applied.\n` +
      ESCAPED_COMMIT_ADVICE[fields.committed] +
      `Remove that statement (SAVEPOINT ... RELEASE nests safely; transaction: false runs what SQLite refuses in a transaction), regenerate, and run it again.`,
    { version: fields.version, file: fields.file, direction: fields.direction, committed: fields.committed },
    { cause: fields.cause },
  );
}

const ESCAPED_COMMIT_ADVICE: Readonly<Record<EscapedCommit, string>> = {
  yes: `What it ran before ending the transaction was COMMITTED: undo it by hand (or restore a backup) before running it again.\n`,
  unknown: `What it ran after ending the transaction may be COMMITTED (SQLite commits each statement outside one): check, and undo it by hand (or restore a backup) before running it again.\n`,
  no: `Nothing it did was committed: the database is as it was.\n`,
};

/** How messages name a holder: `process 4242 (node, write)`, `process 4242 (migrator from 10.0.0.5, write)`. */
function describeHolder(holder: LockHolder): string {
  const who = [holder.program, holder.host === null ? null : `from ${holder.host}`].filter((part) => part !== null).join(" ");
  return `process ${holder.pid} (${who === "" ? "" : `${who}, `}${holder.lock})`;
}

/** Another connection held the lock stepwise needed, and stepwise gave up waiting for it. */
export function databaseLockedError(busyTimeoutMs: number, cause: unknown, holders: readonly LockHolder[] = [], waitedMs: number | null = elapsedOf(cause)): StepwiseError<"DATABASE_LOCKED"> {
  return new StepwiseError(
    "DATABASE_LOCKED",
    text`The database was locked by another connection ${describeWait(busyTimeoutMs, waitedMs)} ${
      holders.length > 0 ? `(held by ${holders.map(describeHolder).join(", ")}). ` : `(another app instance migrating, or an open write transaction). `
    }${NOTHING_CHANGED} Retry when it is released, or raise ${option("busyTimeoutMs")}.`,
    { busyTimeoutMs, waitedMs, holders },
    { cause },
  );
}

/** The wait a lock error states: the time measured, with the timeout beside it, never the timeout as if it were waited. */
function describeWait(busyTimeoutMs: number, waitedMs: number | null): string {
  return waitedMs === null ? `(busy timeout ${busyTimeoutMs} ms)` : `and stayed locked while stepwise waited ${waitedMs} ms (busy timeout ${busyTimeoutMs} ms)`;
}

/**
 * The backup file offered to `restore` stayed locked by another process past the busy timeout (it is
 * being written, or held open in a write transaction). Same code as {@link databaseLockedError}: the
 * remedy is the same, waiting; `file` says which file. Nothing was changed.
 */
export function backupLockedError(
  file: string,
  busyTimeoutMs: number,
  cause: unknown,
  holders: readonly LockHolder[] = [],
  waitedMs: number | null = elapsedOf(cause),
): StepwiseError<"DATABASE_LOCKED"> {
  return new StepwiseError(
    "DATABASE_LOCKED",
    text`The backup ${file} was locked by another process ${describeWait(busyTimeoutMs, waitedMs)}${
      holders.length > 0 ? ` (held by ${holders.map(describeHolder).join(", ")})` : ""
    }. Nothing was changed. Retry once whatever writes it has finished, or raise ${option("busyTimeoutMs")}.`,
    { busyTimeoutMs, waitedMs, holders, file },
    { cause },
  );
}

/** The file cannot be used as a database: not SQLite, read-only, or otherwise refused by SQLite. */
export function databaseUnusableError(message: string, sqliteCode: string | null, cause: unknown): StepwiseError<"DATABASE_UNUSABLE"> {
  return new StepwiseError("DATABASE_UNUSABLE", message, { sqliteCode }, { cause });
}

/**
 * A crashed writer left a hot journal (or an unrecovered WAL) that only a connection allowed to write
 * can roll back, and this one may not write: the file, its folder or the connection is read-only.
 */
export function databaseNeedsRecoveryError(sqliteCode: string, cause: unknown): StepwiseError<"DATABASE_NEEDS_RECOVERY"> {
  return new StepwiseError(
    "DATABASE_NEEDS_RECOVERY",
    text`A crashed process left the database mid-write (${sqliteCode}); rolling that back needs write access. ${NOTHING_CHANGED} Run ${runCall("up")} (or anything else that writes) as a user who may write the file and its folder.`,
    { sqliteCode },
    { cause },
  );
}

/**
 * The database path cannot name a database file: it is empty, a folder, a FIFO, socket or device, a
 * link to nothing, under a file, or a journal beside it is a symbolic link.
 */
export function databasePathInvalidError(path: string, problem: DatabasePathProblem, kind: FileKind | null = problem === "directory" ? "directory" : null): StepwiseError<"DATABASE_PATH_INVALID"> {
  const reason =
    problem === "empty"
      ? "the database path is empty"
      : problem === "nul-byte"
        ? `the database path ${JSON.stringify(path)} contains a NUL character, which no file name can hold`
        : problem === "too-long"
          ? `the database path ${path} is longer than the file system allows`
          : problem === "directory" || problem === "not-a-file"
            ? `${path} is ${describeFileKind(kind ?? "directory")}, not a database file`
            : problem === "unsupported-url"
              ? `${path} does not name a SQLite file: stepwise reads a plain path, file:<path> or sqlite:<path> there`
              : problem === "symlink-loop"
                ? `the folders on the way to ${path} form a symbolic link loop`
                : problem === "dangling-symlink"
                  ? `${path} is a symbolic link to a file that does not exist (an unmounted volume, a moved database?), and stepwise creates no database through it`
                  : problem === "journal-not-a-file"
                    ? `${path}, the database's journal, is ${describeFileKind(kind ?? "symlink")}: SQLite refuses to use it, and stepwise neither follows nor removes it`
                    : `a part of ${path} above the file is not a folder`;
  const remedy =
    problem === "journal-not-a-file"
      ? "Check what it is (where a link points), then remove it (a crashed writer's real journal must be moved back in its place, not linked)."
      : text`Pass ${DATABASE_OPTION} naming the database file itself, such as data/app.db.`;
  return new StepwiseError("DATABASE_PATH_INVALID", text`${reason}. Nothing was changed. ${remedy}`, { path, problem, kind });
}

/**
 * A path stepwise was handed is not the name it stands for: the bytes the user gave were not UTF-8,
 * so the string that reached stepwise (with U+FFFD, or `%xx` that decodes to no text) names another
 * file. Refused before anything is opened; nothing was changed.
 */
export function pathEncodingError(path: string, bytes: string): StepwiseError<"PATH_NOT_UTF8"> {
  return new StepwiseError(
    "PATH_NOT_UTF8",
    `The path ${bytes} is not valid UTF-8, so stepwise cannot open the file it names (it would open another one). Nothing was changed. ` +
      "Rename the file to a UTF-8 name (or link to it from one), and pass that.",
    { path, bytes },
  );
}

/**
 * The database fails SQLite's `quick_check`: migrating it would build on damage, and a backup of it
 * is one `restore` refuses. Nothing was changed: nothing migrated, no backup kept.
 */
export function databaseDamagedError(fields: { databasePath: string; problems: readonly string[] }): StepwiseError<"DATABASE_DAMAGED"> {
  const fix =
    'restore a good backup ("stepwise restore <file> --yes"), or recover the data with the sqlite3 shell\'s ".recover" into a new file; ' +
    "to migrate it as it is, pass --dangerously-skip-integrity-check (dangerouslySkipIntegrityCheck: true)";
  return new StepwiseError("DATABASE_DAMAGED", `${fields.databasePath} fails SQLite's quick_check (${fields.problems.slice(0, 3).join("; ")}). ${NOTHING_CHANGED} To go on: ${fix}.`, {
    databasePath: fields.databasePath,
    check: "quick_check",
    problems: fields.problems,
    fix,
  });
}

/**
 * `context.forEachBatch` cannot walk every row by the key it was given: the key is not a column (or
 * rowid alias) of the table, or some row's key is NULL, repeated, or cannot be compared exactly. A
 * keyset walk over such a key would stop early or skip rows, so it is refused; when found before the
 * first batch nothing was written, and when found later the migration's transaction rolls back.
 */
export function batchKeyError(fields: {
  table: string;
  key: string;
  problem: BatchKeyProblem;
  detail: string;
  columns?: readonly string[];
  value?: unknown;
  version: number;
  file: string;
}): StepwiseError<"BATCH_KEY_INVALID"> {
  const origin = `${migrationLabel(fields.version, fields.file)}: `;
  return new StepwiseError(
    "BATCH_KEY_INVALID",
    // The detail ends a sentence: most problems (no such table, a view's rowid, a key past 2^53) are no reason a walk would skip rows.
    `${origin}forEachBatch cannot walk "${fields.table}" by key "${fields.key}": ${fields.detail}. ` +
      `A keyset walk by it could stop early or skip rows, so it stopped instead (in a transaction, everything rolls back). ` +
      `Pass key: a unique, non-NULL column (the INTEGER PRIMARY KEY, or "rowid" where the table has one)` +
      (fields.columns && fields.columns.length > 0 ? `; the table has ${fields.columns.join(", ")}` : "") +
      `.`,
    { table: fields.table, key: fields.key, problem: fields.problem, columns: fields.columns ?? [], value: fields.value ?? null, version: fields.version, file: fields.file },
  );
}

/**
 * A migration run with foreign keys switched off left references that point nowhere. It was rolled
 * back before committing, so the database is as it was.
 */
export function foreignKeyViolationError(fields: { version: number; file: string; direction: MigrationDirection; violations: readonly ForeignKeyViolation[] }): StepwiseError<"FOREIGN_KEY_VIOLATION"> {
  const sample = fields.violations
    .slice(0, 3)
    .map((v) => `${v.table} row ${v.rowid ?? "?"} \u2192 ${v.parent}`)
    .join("; ");
  return new StepwiseError(
    "FOREIGN_KEY_VIOLATION",
    `${migrationLabel(fields.version, fields.file)} left ${fields.violations.length} foreign key violation` +
      `${fields.violations.length === 1 ? "" : "s"} while running ${fields.direction} (${sample}). ${ROLLED_BACK} ` +
      `Make the rebuild copy every referenced row, or delete the orphans in the migration.`,
    { version: fields.version, file: fields.file, direction: fields.direction, violations: fields.violations.slice(0, 100), violationCount: fields.violations.length },
  );
}

/** The disk (or the database's `max_page_count`) ran out of room; the write was rolled back. */
export function diskFullError(fields: { version: number | null; file: string | null; sqliteCode: string; cause: unknown }): StepwiseError<"DISK_FULL"> {
  return new StepwiseError(
    "DISK_FULL",
    `The database ran out of room (${fields.sqliteCode})` +
      (fields.version === null ? "" : ` while applying migration ${fields.version} (${fields.file})`) +
      `. ${ROLLED_BACK} Free disk space (or raise PRAGMA max_page_count) and run it again.`,
    { version: fields.version, file: fields.file, sqliteCode: fields.sqliteCode },
    { cause: fields.cause },
  );
}

/**
 * The backup could not be written because its folder ran out of room (or the file hit a size limit
 * or quota). Distinct from `DISK_FULL`: the database itself was not touched, and freeing
 * space elsewhere does not help; `directory` says where.
 */
export function backupDiskFullError(fields: {
  directory: string;
  path: string;
  systemCode: string;
  availableBytes: number | null;
  neededBytes: number | null;
  cause: unknown;
}): StepwiseError<"BACKUP_DISK_FULL"> {
  return new StepwiseError(
    "BACKUP_DISK_FULL",
    text`The backup folder ${fields.directory} has no room for the backup (${fields.systemCode}${
      fields.neededBytes === null ? "" : `; the database is ${fields.neededBytes} bytes`
    }${fields.availableBytes === null ? "" : `, ${fields.availableBytes} bytes are free there`}). The partial backup was removed and the database was not touched. Free space in that folder, lower ${option("backupKeep")}, or back up to a folder on another disk.`,
    { directory: fields.directory, path: fields.path, systemCode: fields.systemCode, availableBytes: fields.availableBytes, neededBytes: fields.neededBytes },
    { cause: fields.cause },
  );
}

/** The backup folder cannot be created or written (permissions, read-only, a file in the way). The database was not touched. */
export function backupFolderUnwritableError(
  directory: string,
  systemCode: string,
  cause: unknown,
  remedy: string | Text = text`Fix the folder's permissions, or pass a writable folder: ${option("backupDirectory", "<dir>")}.`,
): StepwiseError<"BACKUP_FOLDER_UNWRITABLE"> {
  return new StepwiseError(
    "BACKUP_FOLDER_UNWRITABLE",
    text`The backup folder ${directory} cannot be written (${systemCode}). The database was not touched. ${remedy}`,
    { directory, systemCode },
    { cause },
  );
}

/**
 * The backup's migration history does not match this app's migrations: it is another app's
 * database, or this app's from a branch or a newer release. Nothing was changed.
 */
export function foreignBackupError(file: string, reasons: readonly ForeignBackupReason[]): StepwiseError<"BACKUP_FOREIGN"> {
  const lines = reasons
    .slice(0, 10)
    .map((reason) =>
      reason.kind === "unknown-version"
        ? `migration ${reason.version} (${reason.backup}) is not in this app's registry`
        : `migration ${reason.version}: the backup has ${reason.kind} ${reason.backup}, the registry ${reason.registry}`,
    );
  return new StepwiseError(
    "BACKUP_FOREIGN",
    text`${file} does not hold this app's migrations:\n${lines.map((line) => `  - ${line}`).join("\n")}${
      reasons.length > lines.length ? `\n  - \u2026 and ${reasons.length - lines.length} more` : ""
    }\nNothing was changed. Pick a backup of this database, or pass ${option("dangerouslyAllowForeignBackup", true)} if you mean to put this one in place anyway.`,
    { file, reasons },
  );
}

/**
 * The file offered to `restore` is the database itself (the same path, a hard link or a symlink to
 * it): restoring it onto itself could change nothing, and its own read would be mistaken for another
 * connection's lock. Nothing was changed.
 */
export function backupIsDatabaseError(backupFile: string, databasePath: string): StepwiseError<"BACKUP_IS_DATABASE"> {
  return new StepwiseError(
    "BACKUP_IS_DATABASE",
    text`${backupFile} is the database ${databasePath} itself (the same file), so there is nothing to restore from it. Nothing was changed. Pick a backup written by ${CALLS.upWithBackup} (listed in the backup folder as <file>.v<version>.<time>.<identity>.bak).`,
    { backupFile, databasePath },
  );
}

/** The folder that should hold the database does not exist, so nothing can be written there. */
export function databaseFolderMissingError(databasePath: string, folder: string): StepwiseError<"DATABASE_FOLDER_MISSING"> {
  return new StepwiseError(
    "DATABASE_FOLDER_MISSING",
    text`There is no folder ${folder} to hold the database ${databasePath}; nothing was changed. Check ${option("databasePath")}, or create the folder first (mkdir -p "${folder}").`,
    { databasePath, folder },
  );
}

/**
 * `gen` or `create` could not write a file (a full disk, a quota, an I/O error, a rename across
 * devices or into a read-only folder). The write went to a temporary file first, so the target was
 * left as it was (or, for a new file, does not exist) and the temporary file was removed.
 */
export function fileWriteError(fields: {
  file: string;
  step: FileWriteStep;
  systemCode: string | null;
  bytesWritten: number;
  bytesExpected: number;
  cause: unknown;
}): StepwiseError<"FILE_WRITE_FAILED"> {
  const progress = fields.step === "write" ? ` after ${fields.bytesWritten} of ${fields.bytesExpected} bytes` : "";
  return new StepwiseError(
    "FILE_WRITE_FAILED",
    `Could not write ${fields.file} (${fields.systemCode ?? "error"} during ${fields.step}${progress}). Nothing was replaced: ` +
      `the file is as it was before, and the temporary copy was removed. ` +
      (fields.systemCode === "ENOSPC" || fields.systemCode === "EDQUOT" || fields.systemCode === "EFBIG"
        ? "Free disk space (or raise the quota or file size limit) and run it again."
        : "Check that the folder is writable and on a healthy disk, then run it again."),
    { file: fields.file, step: fields.step, systemCode: fields.systemCode, bytesWritten: fields.bytesWritten, bytesExpected: fields.bytesExpected },
    { cause: fields.cause },
  );
}

/**
 * Another process is running a `transaction: false` migration and did not finish within the busy
 * timeout. Nothing was changed by this process.
 */
export function migrationInProgressError(fields: { version: number; file: string; startedAt: string; owner: MigrationOwnerInfo | null; waitedMs: number }): StepwiseError<"MIGRATION_IN_PROGRESS"> {
  return new StepwiseError(
    "MIGRATION_IN_PROGRESS",
    text`${migrationLabel(fields.version, fields.file)} runs outside a transaction and is still being applied${
      fields.owner ? ` by process ${fields.owner.pid} on ${fields.owner.host}` : ""
    } (started ${fields.startedAt}); waited ${fields.waitedMs} ms. ${NOTHING_CHANGED} Retry when it finishes, or raise ${option("busyTimeoutMs")}; if that process is gone, check the database and run ${CALLS.repair(fields.version, "applied")} or ${CALLS.repair(fields.version, "forget")}.`,
    { version: fields.version, file: fields.file, startedAt: fields.startedAt, owner: fields.owner, waitedMs: fields.waitedMs },
  );
}

/** A command or option that cannot work as given; the CLI exits with code 2 for it. */
export function usageError(message: string): StepwiseError<"USAGE"> {
  return new StepwiseError("USAGE", message, {});
}

/**
 * A migration closed the connection it was given (`db.close()`). SQLite rolled back the transaction
 * that was open, but whatever the migration committed before closing stays, and nothing can be
 * checked through a closed connection: so never "rolled back". A driver throws it from `runBody`;
 * the executor stops at once, since no further step can run on the connection.
 */
export function connectionClosedError(entry: { readonly version: number; readonly file: string }, direction: MigrationDirection): StepwiseError<"MIGRATION_FAILED"> {
  const cause = new Error(
    "it closed the database connection it was given (db.close()), so stepwise could not record it; SQLite rolled back the open transaction, " +
      "but what it committed before stays. Remove the close() and open the database again",
  );
  const error = migrationFailedError({ version: entry.version, file: entry.file, direction, cause, rolledBack: false });
  closedConnections.add(error);
  return error;
}

/** The failures {@link connectionClosedError} made: the executor stops at once for them. */
const closedConnections = new WeakSet<StepwiseError>();

/** Whether `value` is a failure {@link connectionClosedError} made. */
export function isConnectionClosedError(value: unknown): boolean {
  // By identity, not instanceof: a body may throw a Proxy whose getPrototypeOf trap throws.
  return closedConnections.has(value as StepwiseError);
}

/**
 * A driver name (the CLI's `--driver`, or `driver` in the config) that names none of stepwise's
 * drivers. The CLI exits with code 2 for it: it is a setting the user typed.
 */
export function driverUnknownError(fields: { driver: string; source: string; validDrivers: readonly string[] }): StepwiseError<"DRIVER_UNKNOWN"> {
  return new StepwiseError("DRIVER_UNKNOWN", `Unknown driver ${JSON.stringify(fields.driver)} in ${fields.source}. Nothing was changed. Use one of: ${fields.validDrivers.join(", ")}.`, {
    driver: fields.driver,
    source: fields.source,
    validDrivers: fields.validDrivers,
  });
}

/**
 * The chosen driver's library cannot be loaded: not installed (`reason: "missing"`), or installed
 * but failing to load on this runtime, such as a native addon built for another Node
 * (`reason: "unloadable"`). Thrown before the database is opened.
 */
export function driverNotInstalledError(fields: {
  driver: string;
  packageName: string;
  installCommand: string;
  reason: "missing" | "unloadable";
  cause?: unknown;
}): StepwiseError<"DRIVER_NOT_INSTALLED"> {
  return new StepwiseError(
    "DRIVER_NOT_INSTALLED",
    fields.reason === "missing"
      ? `The ${fields.driver} driver needs the "${fields.packageName}" package, which is not installed. Nothing was changed. Install it with:\n  ${fields.installCommand}\nor choose another driver with --driver (or "driver" in the config).`
      : `The "${fields.packageName}" package is installed but failed to load on this runtime (${fields.cause instanceof Error ? fields.cause.message.replace(/\s+/g, " ") : String(fields.cause)}). Nothing was changed. Rebuild it for this runtime with:\n  ${fields.installCommand}\nor choose another driver with --driver (or "driver" in the config).`,
    { driver: fields.driver, packageName: fields.packageName, installCommand: fields.installCommand, reason: fields.reason },
    { cause: fields.cause },
  );
}

/**
 * The chosen driver is built into another runtime: node-sqlite on a Node too old for it, bun-sqlite
 * outside Bun. Thrown before the database is opened.
 */
export function driverRuntimeUnsupportedError(fields: { driver: string; runtime: string; required: string; hint: string }): StepwiseError<"DRIVER_RUNTIME_UNSUPPORTED"> {
  return new StepwiseError("DRIVER_RUNTIME_UNSUPPORTED", `The ${fields.driver} driver needs ${fields.required}, but this is ${fields.runtime}. Nothing was changed. ${fields.hint}`, {
    driver: fields.driver,
    runtime: fields.runtime,
    required: fields.required,
  });
}

/**
 * An operation that must start its own transaction (or `VACUUM`) was called on a connection the app
 * left inside a transaction. Refused before anything ran: the app's transaction is still open, with
 * its uncommitted writes, and nothing else was changed.
 */
export function transactionOpenError(fields: { driver: string; operation: string; cause?: unknown }): StepwiseError<"TRANSACTION_OPEN"> {
  return new StepwiseError(
    "TRANSACTION_OPEN",
    `${fields.operation} cannot run while the app's ${fields.driver} connection is inside a transaction. ${NOTHING_CHANGED} ` +
      `Commit or roll back that transaction (still open) first, then call ${fields.operation} again.`,
    { driver: fields.driver, operation: fields.operation },
    fields.cause === undefined ? undefined : { cause: fields.cause },
  );
}

/**
 * The system's temporary folder (`TMPDIR`, else the platform's default) cannot hold the private copy
 * a safety net needs: it is missing, not a folder, not writable, or full. Nothing was changed.
 */
export function tempFolderUnusableError(fields: { folder: string; systemCode: string | null; operation: string; cause?: unknown }): StepwiseError<"TEMP_FOLDER_UNUSABLE"> {
  const full = fields.systemCode === "ENOSPC" || fields.systemCode === "EDQUOT" || fields.systemCode === "EFBIG";
  return new StepwiseError(
    "TEMP_FOLDER_UNUSABLE",
    `${fields.operation} needs a private copy of the database in the temporary folder ${fields.folder}, which ` +
      (full ? "has no room for it" : "cannot be written") +
      ` (${fields.systemCode ?? "error"}). Nothing was changed. ` +
      (full ? "Free space there, or point TMPDIR at a folder with room, and run it again." : "Point TMPDIR at an existing, writable folder (or create this one), and run it again."),
    { folder: fields.folder, systemCode: fields.systemCode, operation: fields.operation },
    fields.cause === undefined ? undefined : { cause: fields.cause },
  );
}

/**
 * A registry generated for one SQL dialect was given to a driver of another: its checksums, SQL
 * checks and SQL text are for the other database. Thrown when the manager is constructed, before
 * anything touches the database.
 */
export function registryDialectMismatchError(fields: { registryDialect: string; driverDialect: string; driver: string; version: number; file: string }): StepwiseError<"REGISTRY_DIALECT_MISMATCH"> {
  return new StepwiseError(
    "REGISTRY_DIALECT_MISMATCH",
    `The registry was generated for ${fields.registryDialect} (${fields.file}, version ${fields.version}), but the ${fields.driver} driver runs ${fields.driverDialect}. ${NOTHING_CHANGED} ` +
      `Import a registry generated for ${fields.driverDialect} (stepwise gen --dialect ${fields.driverDialect}), or use a ${fields.registryDialect} driver.`,
    { registryDialect: fields.registryDialect, driverDialect: fields.driverDialect, driver: fields.driver, version: fields.version, file: fields.file },
  );
}

/** How long each failed operation ran before its library error came back, by that error. */
const elapsedByError = new WeakMap<object, number>();

/**
 * Records that the operation which threw `error` ran for `ms` milliseconds: the runners note it for
 * every failed operation, so a lock error can state how long it was actually waited for (SQLite's
 * busy handler, a driver's own retries, a refusal that came at once) rather than the configured
 * timeout. The first record wins: the innermost runner measured the operation itself.
 */
export function recordElapsed(error: unknown, ms: number): void {
  if (error !== null && (typeof error === "object" || typeof error === "function") && !elapsedByError.has(error)) elapsedByError.set(error, Math.round(ms));
}

/** What {@link recordElapsed} noted for `error`, or `null` when no runner timed it. */
export function elapsedOf(error: unknown): number | null {
  return error !== null && (typeof error === "object" || typeof error === "function") ? (elapsedByError.get(error) ?? null) : null;
}

/** A stored value as SQL would show it, for messages: text quoted, NULL spelled out. */
export function describeStoredValue(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `a ${value.length}-byte blob`;
  return String(value);
}
