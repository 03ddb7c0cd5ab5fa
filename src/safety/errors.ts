/** The errors only the safety nets throw (baseline, verify, rehearsal, backups and restore), beside the core's: the same `StepwiseError`, its codes and details defined in the core. */
import { formatList, NOTHING_CHANGED } from "../core/error-factories.js";
import { StepwiseError, type DatabasePathProblem, type FileKind, type ForeignBackupReason, type SchemaDifference, type SqlLocation, type StepwiseErrorDetails } from "../core/errors.js";
import { CALLS, option, text, type Text } from "../core/option-text.js";

/**
 * `SCHEMA_MISMATCH`: baseline (or adopt, at the version the other tool recorded: `adoptedFrom` names it) found the schema is not what migrations 1..N build; nothing was recorded. `drift` words
 * each difference.
 */
export function schemaMismatchError(version: number, differences: readonly SchemaDifference[], drift: readonly string[], adoptedFrom?: string) {
  const message =
    adoptedFrom && version === 0
      ? `${adoptedFrom} records no migration as applied, but the database's schema is not empty:${formatList(drift)}\nNothing was recorded. Point --db/--url at the database ${adoptedFrom} migrated, and --old-table at the history table it kept there if it was configured to name it otherwise; if ${adoptedFrom}'s rows were deleted, put them back (or restore a backup), then adopt again.`
      : adoptedFrom
        ? `The database's schema is not ${builtBy(version)}, the ones ${adoptedFrom} recorded:${formatList(drift)}\nNothing was recorded. Undo the change made by hand (or, to keep it, write it as a ${adoptedFrom} migration, run it with ${adoptedFrom} and import again), then adopt again.`
        : text`The database's schema is not ${builtBy(version)}:${formatList(drift)}\nNothing was recorded. Pick the version the schema matches, fix the schema by hand, or record it anyway with ${option("dangerouslyForce", true)} if you know the differences are harmless.${
            // Another tool's history table (Sequelize's, TypeORM's) is the usual table a database made before stepwise holds beyond its schema.
            differences.some((difference) => difference.objectType === "table" && difference.change === "added")
              ? text` A table another tool keeps here (its migration history) is left out by naming it in ${option("oldTables")}.`
              : ""
          }`;
  return new StepwiseError("SCHEMA_MISMATCH", message, { version, differences, drift, adoptedFrom: adoptedFrom ?? null });
}

/** `SCHEMA_DRIFT`: the live schema differs from what the applied migrations build; `drift` words each difference. */
export function schemaDriftError({ version, differences, drift }: StepwiseErrorDetails["SCHEMA_DRIFT"] & { drift: readonly string[] }) {
  const message = `The schema differs from ${builtBy(version)}:${formatList(drift)}\nSomething changed it outside migrations. Undo that change, or make it a migration ("stepwise create").`;
  return new StepwiseError("SCHEMA_DRIFT", message, { version, differences });
}

/**
 * `ALREADY_MANAGED`: baseline, or adopt from the tool `adoptFrom`, was asked of a database that has a migration history (in `tableName`). For adopt, that history is not one an adoption from
 * that tool recorded, so which of the tool's migrations it holds is unknown, and `up` is no safe advice before `verify`.
 */
export function alreadyManagedError(currentVersion: number, tableName: string, adoptFrom?: string) {
  const message =
    adoptFrom === undefined
      ? `The database already has a migration history ("${tableName}", at version ${currentVersion}); baseline only adopts databases that have none. Use "up" to continue, or "verify" to compare its schema.`
      : `The database already has a migration history ("${tableName}", at version ${currentVersion}) that no adoption from ${adoptFrom} recorded (nor a baseline that left out ${adoptFrom}'s table), so adopt cannot tell which of the migrations ${adoptFrom} ran it holds; nothing was written. Compare the schema with that history first ("verify"): a migration ${adoptFrom} ran that the history lacks shows there, and "up" would run it again.`;
  return new StepwiseError("ALREADY_MANAGED", message, { currentVersion, adoptFrom: adoptFrom ?? null });
}

/** `REHEARSAL_REFUSED`: the plan holds a migration that cannot join the one transaction a rehearsal runs in, or whose effect its rollback would not undo (`effect` names it); nothing ran. */
export function rehearsalRefusedError({
  version,
  file,
  obstacle,
  driver,
  rehearsableTo,
  location = null,
  effect = "",
}: Omit<StepwiseErrorDetails["REHEARSAL_REFUSED"], "location"> & { location?: SqlLocation | null; effect?: string }) {
  // Up to the pending migration before it, when there is one: a target at or below the current version is one `up` refuses.
  const past = obstacle === "reaches-another-file" ? "take a backup and run it" : "rehearse on a copy of the database";
  const partial =
    rehearsableTo === null ? text`It is the first pending migration, so ${past}.` : text`Rehearse up to version ${rehearsableTo} (${CALLS.rehearseUp({ to: rehearsableTo })}), or ${past}.`;
  const at = location === null ? "" : ` at ${location.file}:${location.line}`;
  const why =
    obstacle === "reaches-another-file"
      ? "reaches a file other than the database (ATTACH, VACUUM INTO), which a rehearsal's private copy cannot contain, so it cannot tell what the real run would do there"
      : obstacle === "non-transactional"
        ? `calls ${effect}${at}, whose effect PostgreSQL does not roll back, so the rehearsal's rollback would leave it on the live database`
        : `${{ "transaction-false": "has transaction: false", "foreign-keys-off": "switches foreign keys off", "set-transaction": "starts with SET TRANSACTION" }[obstacle]}, and on the ${driver} driver a rehearsal runs inside one transaction rolled back at the end, which that migration cannot join`;
  const message = text`Cannot rehearse the pending migrations: migration ${version} (${file}) ${why}. Nothing ran and nothing was changed. ${partial}`;
  return new StepwiseError("REHEARSAL_REFUSED", message, { version, file, obstacle, driver, rehearsableTo, location });
}

/** `DATABASE_DAMAGED`: the database fails `quick_check`, so `up --backup` migrates nothing. */
export function databaseDamagedError({ databasePath, problems }: { databasePath: string; problems: readonly string[] }) {
  const fix = `restore a good backup ("stepwise restore <file> --yes"), or recover the data with the sqlite3 shell's ".recover" into a new file; to migrate it as it is, pass --dangerously-skip-integrity-check (dangerouslySkipIntegrityCheck: true)`;
  const message = `${databasePath} fails SQLite's quick_check (${problems.slice(0, 3).join("; ")}). ${NOTHING_CHANGED} To go on: ${fix}.`;
  return new StepwiseError("DATABASE_DAMAGED", message, { databasePath, check: "quick_check", problems, fix });
}

/** `BACKUP_INVALID`: the file offered to `restore` is no usable backup (`kind` says what it is when it is no regular file); nothing was changed. */
export function backupInvalidError(file: string, reason: string, cause?: unknown, kind: FileKind | null = null) {
  return new StepwiseError("BACKUP_INVALID", text`${file} cannot be restored: ${reason}. ${NOTHING_CHANGED} Pick a file written by ${CALLS.upWithBackup}.`, { file, reason, kind }, { cause });
}

/** Whether the folder had room for the whole database when its write was refused: a disk quota or a file size limit stopped it, which freeing space would not lift. */
const refusedWithRoom = ({ availableBytes, neededBytes }: StepwiseErrorDetails["BACKUP_DISK_FULL"]): boolean => availableBytes !== null && neededBytes !== null && availableBytes > neededBytes;

/** What lifts `BACKUP_DISK_FULL` in its folder: free space there, or, when it had room, a higher quota or file size limit. */
export const backupRoomFix = (details: StepwiseErrorDetails["BACKUP_DISK_FULL"]): string =>
  `${refusedWithRoom(details) ? "raise the disk quota or the file size limit (ulimit -f) for" : "free space in"} ${details.directory}`;

/** `BACKUP_DISK_FULL`: the backup folder ran out of room; the database was not touched, and freeing space elsewhere does not help. */
export function backupDiskFullError(fields: StepwiseErrorDetails["BACKUP_DISK_FULL"] & { cause: unknown; remedy?: string }) {
  const { directory, path, systemCode, availableBytes, neededBytes, remedy } = fields;
  const sizes = `${neededBytes === null ? "" : `; the database is ${neededBytes} bytes`}${availableBytes === null ? "" : `, ${availableBytes} bytes are free there`}`;
  const limited = refusedWithRoom(fields);
  const what = limited ? `refused the backup's write with room to spare (${systemCode}${sizes}): a disk quota or a file size limit stops it` : `has no room for the backup (${systemCode}${sizes})`;
  const fix = limited
    ? text`Raise the quota or the file size limit (ulimit -f), or back up to a folder on another disk.`
    : text`Free space in that folder (older backups are pruned only after a new one is written, so a lower ${option("backupKeep")} frees nothing first), or back up to a folder on another disk.`;
  const message = text`The backup folder ${directory} ${what}. The partial backup was removed and the database was not touched. ${remedy ?? fix}`;
  return new StepwiseError("BACKUP_DISK_FULL", message, { directory, path, systemCode, availableBytes, neededBytes }, { cause: fields.cause });
}

/** Whether a folder's `systemCode` says a file stands where it or a parent should be (`mkdir` over a file, or under one). */
export const isNotAFolder = (systemCode: string): boolean => systemCode === "EEXIST" || systemCode === "ENOTDIR";

/** `BACKUP_FOLDER_UNWRITABLE`: the backup folder cannot be created or written; the database was not touched. */
export function backupFolderUnwritableError(directory: string, systemCode: string, cause: unknown, remedy?: string | Text) {
  const message = isNotAFolder(systemCode)
    ? text`The backup folder ${directory} cannot be made: a file, not a folder, is at that path or on its way (${systemCode}). The database was not touched. ${remedy ?? text`Pass a folder: ${option("backupDirectory", "<dir>")}.`}`
    : text`The backup folder ${directory} cannot be written (${systemCode}). The database was not touched. ${remedy ?? text`Fix the folder's permissions, or pass a writable folder: ${option("backupDirectory", "<dir>")}.`}`;
  return new StepwiseError("BACKUP_FOLDER_UNWRITABLE", message, { directory, systemCode }, { cause });
}

/** `BACKUP_FOREIGN`: the backup's history does not match this app's migrations. */
export function foreignBackupError(file: string, reasons: readonly ForeignBackupReason[]) {
  const lines = reasons.map(({ version, kind, backup, registry }) =>
    kind === "unknown-version" ? `migration ${version} (${backup}) is not in this app's registry` : `migration ${version}: the backup has ${kind} ${backup}, the registry ${registry}`,
  );
  const shown = [...lines.slice(0, 10), ...(lines.length > 10 ? [`\u2026 and ${lines.length - 10} more`] : [])];
  const message = text`${file} does not hold this app's migrations:${formatList(shown)}\n${NOTHING_CHANGED} Pick a backup of this database, or pass ${option("dangerouslyAllowForeignBackup", true)} if you mean to put this one in place anyway.`;
  return new StepwiseError("BACKUP_FOREIGN", message, { file, reasons });
}

/** `BACKUP_IS_DATABASE`: the file offered to `restore` is the database itself. */
export function backupIsDatabaseError(backupFile: string, databasePath: string) {
  const message = text`${backupFile} is the database ${databasePath} itself (the same file), so there is nothing to restore from it. ${NOTHING_CHANGED} Pick a backup written by ${CALLS.upWithBackup} (listed in the backup folder as <file>.v<version>.<time>.<identity>.bak).`;
  return new StepwiseError("BACKUP_IS_DATABASE", message, { backupFile, databasePath });
}

/** `DATABASE_FOLDER_MISSING`: no folder to hold the database. */
export function databaseFolderMissingError(databasePath: string, folder: string) {
  const message = text`There is no folder ${folder} to hold the database ${databasePath}; nothing was changed. Check ${option("databasePath")}, or create the folder first (mkdir -p "${folder}").`;
  return new StepwiseError("DATABASE_FOLDER_MISSING", message, { databasePath, folder });
}

/** `migration 1`, or `migrations 1..N`. */
export const migrationsUpTo = (version: number) => (version === 1 ? "migration 1" : `migrations 1..${version}`);

/** What the migrations up to `version` build, as a sentence names it: `what migrations 1..3 build`, `what migration 1 builds`, `an empty database` at 0. */
export const builtBy = (version: number) => (version === 0 ? "an empty database" : `what ${migrationsUpTo(version)} build${version === 1 ? "s" : ""}`);

const FILE_KIND_WORDS: Partial<Record<FileKind, string>> = { file: "a regular file", directory: "a folder", symlink: "a symbolic link", fifo: "a FIFO (named pipe)", missing: "missing" };

/** A {@link FileKind} as a message names it: "a FIFO (named pipe)", "a block device". */
export const describeFileKind = (kind: FileKind): string => FILE_KIND_WORDS[kind] ?? `a ${kind.replace("-", " ")}`;

const notADatabaseFile = (path: string, kind: FileKind | null) => `${path} is ${describeFileKind(kind ?? "directory")}, not a database file`;
const PATH_PROBLEMS: Readonly<Record<DatabasePathProblem, (path: string, kind: FileKind | null) => string>> = {
  empty: () => "the database path is empty",
  "nul-byte": (path) => `the database path ${JSON.stringify(path)} contains a NUL character, which no file name can hold`,
  "too-long": (path) => `the database path ${path} is longer than the file system allows`,
  directory: notADatabaseFile,
  "not-a-file": notADatabaseFile,
  "unsupported-url": (path) => `${path} does not name a SQLite file: stepwise reads a plain path, file:<path> or sqlite:<path> there`,
  "symlink-loop": (path) => `the folders on the way to ${path} form a symbolic link loop`,
  "dangling-symlink": (path) => `${path} is a symbolic link to a file that does not exist (an unmounted volume, a moved database?), and stepwise creates no database through it`,
  "journal-not-a-file": (path, kind) => `${path}, the database's journal, is ${describeFileKind(kind ?? "symlink")}: SQLite refuses to use it, and stepwise neither follows nor removes it`,
  "parent-not-directory": (path) => `a part of ${path} above the file is not a folder`,
  gone: (path) => `${path} was listed for the run and is not there when its turn comes, and stepwise creates no database in its place`,
  "mount-point": (path) =>
    `${path} is a mount point (a file bind-mounted into a container?), which restore cannot replace: it renames a whole copy over the database, so no reader ever sees half of one`,
};

/** `DATABASE_PATH_INVALID`: the path cannot name a database file. */
export function databasePathInvalidError(path: string, problem: DatabasePathProblem, kind: FileKind | null = problem === "directory" ? "directory" : null) {
  const remedy =
    problem === "gone"
      ? "If it was removed on purpose, nothing is needed; if not, restore it (or correct its URL, if it was mistyped) and run again."
      : problem === "mount-point"
        ? "Mount the database's folder rather than the file, or stop the app and copy the backup's content in with the sqlite3 shell (.restore <backup>)."
        : problem === "journal-not-a-file"
          ? "Check what it is (where a link points), then remove it (a crashed writer's real journal must be moved back in its place, not linked)."
          : text`Pass ${option("databasePath", "<file>")}${{ api: "", cli: ' (or set "database" in the config)' }} naming the database file itself, such as data/app.db.`;
  return new StepwiseError("DATABASE_PATH_INVALID", text`${PATH_PROBLEMS[problem](path, kind)}. ${NOTHING_CHANGED} ${remedy}`, { path, problem, kind });
}
