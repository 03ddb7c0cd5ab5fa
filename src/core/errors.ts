/**
 * Every failure stepwise reports is a {@link StepwiseError} with a stable `code` and the facts behind
 * it as fields, so programs (and tests) branch on data and people read the message.
 */
import { describeStoredValue } from "./stored-value.js";
import { describeThrownValue } from "./thrown-value.js";
import { elapsedOf } from "./elapsed.js";
import type { ErrorKind } from "./error-kind.js";
import type { MigrationDirection } from "./types.js";
import { keepText, option, runCall, CALLS, spell, text, type Text } from "./option-text.js";

/** Every `code` a {@link StepwiseError} can carry. */
export type StepwiseErrorCode =
  // Group: The registry and the history table
  /**
   * The registry breaks the version rules (a duplicate, a gap, a version below 1, a malformed
   * entry). `gen` never writes such a registry, so it was edited by hand.
   * Fix: Regenerate it with `stepwise gen` instead of editing it.
   */
  | "REGISTRY_INVALID"
  /**
   * The bin could not import the registry module: it does not compile (edited by hand, or a merge
   * left conflict markers in it), or a migration it imports throws while loading.
   * Fix: If a migration throws when it is imported, fix it there; if the registry itself is broken,
   * run `stepwise gen` to rewrite it.
   */
  | "REGISTRY_LOAD_FAILED"
  /**
   * A runtime command of the bin found the registry out of date with the migrations folder (a
   * migration added, changed or removed, or the registry edited), and ran nothing. `changes` names
   * each file and how it differs; `problems` are gen's own when gen cannot write a current registry
   * yet.
   * Fix: Run `stepwise gen` (or keep `stepwise gen --watch` running).
   * `STEPWISE_SKIP_REGISTRY_CHECK=1` runs the registry as it is, for rolling back mid-merge.
   */
  | "REGISTRY_STALE"
  /**
   * A registry generated for one SQL dialect was given to a driver of the other (a SQLite registry
   * to `stepwise-migrate/pg`, or the reverse). Refused when the manager is constructed, before the
   * database is touched.
   * Fix: Import the registry generated for the driver's dialect (`stepwise gen --dialect postgres`
   * writes the PostgreSQL one).
   */
  | "REGISTRY_DIALECT_MISMATCH"
  /**
   * An applied migration's file was edited after it ran: the checksum the history recorded differs
   * from the registry's. Nothing ran.
   * Fix: If the edit was an accident, restore the file. If it was deliberate and the database
   * already has what the file now says, record the new checksum with `stepwise repair --checksums
   * --yes`; on a development database, `stepwise reset --yes` starts over.
   */
  | "CHECKSUM_MISMATCH"
  /**
   * The database records migrations this registry does not have: a newer build of the app migrated
   * it.
   * Fix: Run a newer build, or roll those migrations back with the build that applied them.
   */
  | "DATABASE_AHEAD"
  /**
   * The history records a migration but not some versions below it: a row was deleted by hand, or a
   * migration was renumbered after it ran.
   * Fix: Restore the missing rows, or the numbering the database was migrated with.
   */
  | "HISTORY_OUT_OF_ORDER"
  /**
   * The history table exists but has another shape (another tool owns a table of that name), or one
   * of its rows holds something stepwise never writes.
   * Fix: Give stepwise a history table of its own (`--table`, `tableName`), or fix or delete the
   * bad row, or restore a backup.
   */
  | "HISTORY_TABLE_INVALID"
  /**
   * A history write of the migration this process was running changed no row: another process
   * removed the row (`repair --forget`, a `DELETE`), or a trigger or rule on the history table
   * discarded it. Running the migration again could apply it twice, so the run stopped.
   * Fix: Check the database; drop any trigger or rule on the history table; then resolve the
   * migration with `stepwise repair --applied N` or `--forget N`.
   */
  | "HISTORY_ROW_MISSING"
  /**
   * A migration wrote stepwise's history table (a row inserted, changed or deleted, or the table
   * dropped, renamed or altered). The migration failed; `rolledBack` says whether that undid all of
   * it and `historyChanged` whether the history was left changed.
   * Fix: Remove the statement that touches the history table from the migration.
   */
  | "HISTORY_CHANGED_BY_MIGRATION"
  /**
   * A `transaction: false` migration started and never recorded its end: its process died or it
   * failed part way, so it may be partly applied. `up` refuses until a person says which.
   * Fix: Check the database, then run `stepwise repair --applied N --yes` if its changes are all
   * there, or `stepwise repair --forget N --yes` if none are, so that `up` runs it again.
   */
  | "INCOMPLETE_MIGRATION"
  /**
   * The database has tables but no migration history: it was made before stepwise, or by another
   * tool.
   * Fix: Write migrations that build the same schema and adopt it with `stepwise baseline N`,
   * naming the last migration its schema already contains.
   */
  | "UNMANAGED_DATABASE"
  /**
   * The history table's name is not a plain SQL identifier (letters, digits and underscores, not
   * starting with a digit or `sqlite_`). Refused before any SQL ran.
   * Fix: Pass a plain name to `--table` (`tableName`).
   */
  | "INVALID_TABLE_NAME"
  // Group: Running migrations
  /**
   * A migration threw, or one of its statements failed. Its transaction was rolled back, so the
   * schema, data and history are as they were before it (`rolledBack: true`), except for a
   * `transaction: false` migration (`rolledBack: false`), whose partial changes stay. `cause` is
   * what was thrown, `nativeCode` the database's reason, `location` where in the file; a
   * foreign-key rebuild refused before it ran carries `foreignKeyRebuild`, and a run with
   * `--backup` the `backupPath`.
   * Fix: Fix the migration at the location given and run `stepwise up` again. After a `transaction:
   * false` migration, check the database and `stepwise repair` it first.
   */
  | "MIGRATION_FAILED"
  /**
   * A migration ended the transaction stepwise runs it in (a `COMMIT`, `END` or `ROLLBACK` of its
   * own), so it could not be rolled back as one unit. It is never recorded; `committed` (`yes`,
   * `no`, `unknown`) says whether any of its work stayed.
   * Fix: Remove the transaction control from the migration, or mark it `transaction: false` if it
   * must manage transactions itself; check what `committed` says stayed.
   */
  | "TRANSACTION_ESCAPED"
  /**
   * A migration run with foreign keys switched off (`foreign_keys:off`) left references that point
   * nowhere; `PRAGMA foreign_key_check` found them before commit, and the migration was rolled
   * back.
   * Fix: Make the rebuild copy every referenced row, or delete the orphans in the migration.
   */
  | "FOREIGN_KEY_VIOLATION"
  /**
   * `down` would have to pass a migration that has no down section. Nothing was changed.
   * Fix: Choose a target above that migration, or add a down to it.
   */
  | "IRREVERSIBLE_MIGRATION"
  /**
   * A requested version does not exist or points the wrong way (`up --to` below the current
   * version, `down --to` above it, `repair` of a version with no interrupted attempt).
   * Fix: Pass a version the registry has, in the command's direction; `stepwise status` shows where
   * the database is.
   */
  | "INVALID_TARGET"
  /**
   * `--transaction all` (`transaction: "all"`) was refused before anything ran: a migration of the
   * run has `transaction: false`, or switches foreign keys off while they are on. `version`,
   * `file`, `obstacle` and `direction` say which.
   * Fix: Run up to the migration before it in one transaction (`--to`), then the rest without
   * `--transaction all`.
   */
  | "WHOLE_RUN_TRANSACTION_REFUSED"
  /**
   * `context.forEachBatch` cannot walk every row by its key: the key is not a column (or rowid
   * alias) of the table, or some row's key is NULL, repeated, or cannot be compared exactly. A
   * keyset walk would stop early or skip rows, so it stopped.
   * Fix: Pass `key`: a unique, non-NULL column (the `INTEGER PRIMARY KEY`, or `rowid`).
   */
  | "BATCH_KEY_INVALID"
  /**
   * `context.forEachBatch` was given options it cannot walk with: a `batchSize` that is not a whole
   * number from 1 to 2^53, or (PostgreSQL) a `where` with `$n` placeholders. Nothing was walked.
   * Fix: Pass a whole `batchSize`, and write `?` in `where` with the values in `params`, in order.
   */
  | "BATCH_OPTIONS_INVALID"
  /**
   * The sync `migrate`/`MigrationManager` was given a registry in which `gen` marked migrations
   * async (or `up --backup`, or a Durable Object, met one). Nothing was read or written.
   * Fix: Use the same entry's `migrateAsync` or `AsyncMigrationManager` (the message gives the two
   * lines); on Durable Objects, drop the `async`.
   */
  | "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER"
  /**
   * A sync runner met a promise: a migration body that is async, or returns a promise, in a
   * registry `gen` did not mark async. It is reported as the cause of that migration's
   * `MIGRATION_FAILED`, rolled back.
   * Fix: Declare the body `async` so that `gen` marks it, regenerate, and run the registry with
   * `migrateAsync`.
   */
  | "ASYNC_IN_SYNC_RUNNER"
  /**
   * A second stepwise call reached a connection while an async one was still running on it in this
   * process. The second call did nothing; the first goes on.
   * Fix: Await the first call's promise before starting another on the same connection.
   */
  | "ASYNC_RUN_IN_PROGRESS"
  /**
   * An operation that starts its own transaction (`up`, `down`, `reset`, baseline, repair, a backup
   * or restore) was called on a connection the app left inside a transaction. Refused before
   * anything ran; the app's transaction is still open.
   * Fix: Commit or roll back the app's transaction first, then call it again.
   */
  | "TRANSACTION_OPEN"
  // Group: Locks, sessions and concurrency
  /**
   * Another connection held the lock stepwise needed (another app instance migrating, or an open
   * write transaction), and stepwise gave up waiting after the busy timeout. Nothing was changed.
   * On Linux `holders` names the processes holding the file.
   * Fix: Retry when the lock is released, or raise `--busy-timeout` (`busyTimeoutMs`).
   */
  | "DATABASE_LOCKED"
  /**
   * Another process is running a `transaction: false` migration and did not finish within the busy
   * timeout. Nothing was changed by this process.
   * Fix: Retry when it finishes; if its process is gone, `stepwise repair` the migration.
   */
  | "MIGRATION_IN_PROGRESS"
  /**
   * On PostgreSQL, a statement waited for another session's lock past `lock_timeout` and was
   * cancelled. The migration's transaction was rolled back; a `transaction: false` one may have
   * applied part of itself. The error names the relation, the lock mode and the holding sessions.
   * Fix: Retry when those sessions are done, or raise `--lock-timeout` (`lockTimeoutMs`; 0 waits
   * without limit).
   */
  | "LOCK_TIMEOUT"
  /**
   * The server ended the session, or the network dropped it, while stepwise used it. `outcome` says
   * what became of the migration running: `rolled-back`, `commit-unknown`, `partly-applied` or
   * `none-running`.
   * Fix: Run `stepwise status` to see what was recorded; after `partly-applied`, check the database
   * and `stepwise repair` the migration; then run `up` again.
   */
  | "CONNECTION_LOST"
  // Group: Opening the database
  /**
   * The database cannot be used: the file is not SQLite, is read-only or damaged beyond opening, or
   * (on a server) the connection was refused: a wrong password, a missing database or role, TLS,
   * nothing listening. On a server `problem`, `reason` and `reasonCode` tell the cases apart.
   * Fix: Point stepwise at the right database, with write access; on a server, follow the error's
   * `fix`.
   */
  | "DATABASE_UNUSABLE"
  /**
   * A crashed writer left a hot journal (or an unrecovered WAL) that only a connection allowed to
   * write can roll back, and this one may not write. Nothing was changed.
   * Fix: Run `stepwise up` (or anything else that writes) as a user who may write the file and its
   * folder.
   */
  | "DATABASE_NEEDS_RECOVERY"
  /**
   * The database path cannot name a database file: it is empty, a folder, a FIFO, socket or device,
   * a link to nothing, or a `DATABASE_URL` of another kind (a server URL, a connection string).
   * `kind` says which.
   * Fix: Pass the path of a database file (`--db`, `database` in the config, or a `DATABASE_URL`
   * that is a path, `file:` or `sqlite:` path); for a server, use its driver (`--driver pg`).
   */
  | "DATABASE_PATH_INVALID"
  /**
   * A path's bytes are not UTF-8, so the string stepwise received would name another file. Refused
   * before anything was opened.
   * Fix: Rename the file to a UTF-8 name (or link to it from one), and pass that.
   */
  | "PATH_NOT_UTF8"
  /**
   * The folder that should hold the database does not exist, so nothing can be written there.
   * Fix: Check the database path, or create the folder first (`mkdir -p`).
   */
  | "DATABASE_FOLDER_MISSING"
  /**
   * The disk, or the database's `max_page_count`, ran out of room; the write was rolled back.
   * Fix: Free disk space (or raise `PRAGMA max_page_count`) and run it again.
   */
  | "DISK_FULL"
  // Group: Drivers
  /**
   * A driver name (`--driver`, or `driver` in the config) names none of stepwise's drivers.
   * `validDrivers` lists them and `source` says where the name came from.
   * Fix: Use one of the listed names: `better-sqlite3`, `node-sqlite`, `bun-sqlite`, `libsql`,
   * `sql-js`, `pg`, `libsql-client`.
   */
  | "DRIVER_UNKNOWN"
  /**
   * The chosen driver's library cannot be loaded: not installed (`reason: "missing"`), or built for
   * another runtime, such as a native addon for another Node (`reason: "unloadable"`).
   * Fix: Install it with the `installCommand` given (or rebuild it for this Node), or choose
   * another driver.
   */
  | "DRIVER_NOT_INSTALLED"
  /**
   * The chosen driver is built into another runtime: `node-sqlite` on a Node older than 22.16,
   * `bun-sqlite` outside Bun.
   * Fix: Run the bin with the runtime the driver needs (`required`), or choose another driver.
   */
  | "DRIVER_RUNTIME_UNSUPPORTED"
  /**
   * The operation needs a capability the driver does not have (`driver`, `capability`,
   * `operation`): a backup on a driver with no second file, a restore without the backup API, a
   * write through sql.js in the CLI, a TypeScript migration on D1 (`atomicBatch`). Refused before
   * anything ran. On a server, `tool` names the tool to use instead (`pg_dump`, `pg_restore`).
   * Fix: Do it another way the error names (its `fix`, or `tool`), or use a driver that has the
   * capability (see the driver table in docs/drivers.md).
   */
  | "DRIVER_CAPABILITY_MISSING"
  // Group: Safety nets
  /**
   * `baseline N` found that the database's schema is not what migrations 1..N build; `differences`
   * holds the diff. Nothing was recorded.
   * Fix: Pick the version the schema matches, fix the schema by hand, or record it anyway with
   * `baseline N --force` if you know the differences are harmless.
   */
  | "SCHEMA_MISMATCH"
  /**
   * The live schema differs from what the applied migrations build: something changed it outside
   * migrations (`verify`, or `migrate` with `verifySchema`). `drift` lists each difference.
   * Fix: Undo that change, or make it a migration (`stepwise create`).
   */
  | "SCHEMA_DRIFT"
  /**
   * `baseline` was asked of a database that already has a migration history.
   * Fix: Use `stepwise up` to continue, or `stepwise verify` to compare its schema.
   */
  | "ALREADY_MANAGED"
  /**
   * The plan cannot be rehearsed inside one transaction rolled back at the end (pg,
   * `@libsql/client`, async registries), because one of its migrations has `transaction: false` or
   * switches foreign keys off. Nothing ran.
   * Fix: Rehearse up to the migration before it (`up --dry-run --to N`).
   */
  | "REHEARSAL_REFUSED"
  /**
   * On PostgreSQL, the server would not create the scratch database that verify, baseline and `gen
   * --check`'s replay run the migrations in: typically the role lacks `CREATEDB` (`sqlstate`
   * `42501`). Nothing was changed.
   * Fix: Grant it (`ALTER ROLE <role> CREATEDB`), or run the check as a role that has it.
   */
  | "SCRATCH_DATABASE_UNAVAILABLE"
  /**
   * The temporary folder (`TMPDIR`) cannot hold the private copy a safety net needs: it is missing,
   * not a folder, not writable, or full. Nothing was changed.
   * Fix: Free space there, or point `TMPDIR` at a folder that can hold a copy of the database.
   */
  | "TEMP_FOLDER_UNUSABLE"
  /**
   * The database fails SQLite's `quick_check` before `up --backup`: migrating it would build on
   * damage, and a backup of it is one `restore` refuses. Nothing was migrated and no backup kept.
   * Fix: Restore a good backup (`stepwise restore <file> --yes`), or recover the data with the
   * sqlite3 shell's `.recover` into a new file; to migrate it as it is, pass
   * `--dangerously-skip-integrity-check` (`dangerouslySkipIntegrityCheck: true`).
   */
  | "DATABASE_DAMAGED"
  /**
   * The file offered to `restore` is not a usable stepwise backup: not an intact SQLite database,
   * or one without a history table. Nothing was changed.
   * Fix: Pick a file written by `up --backup` (`upWithBackup`).
   */
  | "BACKUP_INVALID"
  /**
   * The backup's migration history does not match this app's migrations: another app's database, or
   * this app's from a branch or a newer release. Each difference is listed. Nothing was changed.
   * Fix: Pick a backup of this database, or pass `--force` (`dangerouslyAllowForeignBackup`) if you
   * mean to restore it anyway.
   */
  | "BACKUP_FOREIGN"
  /**
   * The file offered to `restore` is the database itself (the same path, a hard link or a symlink
   * to it). Nothing was changed.
   * Fix: Pick a backup written by `up --backup`, listed in the backup folder as
   * `<file>.v<version>.<time>.<identity>.bak`.
   */
  | "BACKUP_IS_DATABASE"
  /**
   * The backup could not be written because its folder ran out of room (or hit a quota). The
   * database was not touched. `directory`, `availableBytes` and `neededBytes` say where and how
   * much.
   * Fix: Free space in the backup folder, or back up to another folder (`--backup DIR`).
   */
  | "BACKUP_DISK_FULL"
  /**
   * The backup folder cannot be created or written (permissions, a read-only file system, a file in
   * the way). The database was not touched.
   * Fix: Make the folder writable, or pass another one to `--backup DIR`.
   */
  | "BACKUP_FOLDER_UNWRITABLE"
  /**
   * After the copy, the database read back through a fresh connection did not match the backup.
   * `previousBackup` holds the database as it was before the restore.
   * Fix: Check the disk and the database, and restore again; the copy of the previous database is
   * next to the backup.
   */
  | "RESTORE_UNVERIFIED"
  // Group: The CLI and its tools
  /**
   * A command or option that cannot work as given: a missing or contradictory flag, no database
   * named (`searched` lists every place looked at), an unset `${VAR}` in the config, a password in
   * a committed config, an unknown value. Nothing was changed.
   * Fix: Follow the message: it names the flag, setting or variable to give.
   */
  | "USAGE"
  /**
   * `gen`, `create` or a runtime command that loads a TypeScript registry needs the codegen tools
   * (ts-morph, prettier, tsx), which the project has not installed: stepwise leaves them to the
   * project's devDependencies.
   * Fix: Install them with the `installCommand` given (`npm install --save-dev ts-morph@28
   * prettier@3 tsx@4`).
   */
  | "MISSING_DEPENDENCY"
  /**
   * A codegen tool is installed in a major version stepwise does not support (`package`,
   * `installedVersion`, `supportedMajor`, `packageFile`).
   * Fix: Install the supported major version with the `installCommand` given.
   */
  | "DEPENDENCY_VERSION_UNSUPPORTED"
  /**
   * `gen` or `create` could not write a file (a full disk, a quota, an I/O error, a read-only
   * folder). The write went to a temporary file first, so the target is as it was.
   * Fix: Free space or make the folder writable, and run it again.
   */
  | "FILE_WRITE_FAILED"
  // Group: Branches and rebase
  /**
   * `rebase` or `gen --check --base` reads the base branch from git, but the `git` command was not
   * found. Nothing was changed.
   * Fix: Install git, or put it on the PATH.
   */
  | "GIT_NOT_FOUND"
  /**
   * The project, or its migrations folder, is not inside a git work tree, so there is no branch to
   * compare with. Nothing was changed.
   * Fix: Run it in a clone of your project, with the migrations folder inside it.
   */
  | "NOT_A_GIT_REPOSITORY"
  /**
   * The base ref names no commit, or no default branch could be found (`tried` lists the names).
   * Nothing was changed.
   * Fix: Fetch the branch (`git fetch origin`) or pass the one you will merge into with `--base`.
   */
  | "GIT_REF_NOT_FOUND"
  /**
   * git ran but failed for another reason; its own message is kept. Nothing was changed.
   * Fix: Fix what git's message says and run it again.
   */
  | "GIT_FAILED"
  /**
   * The clone is shallow and does not reach the history the branch shares with the base, so which
   * migrations this branch added cannot be told. Nothing was changed.
   * Fix: Fetch more history (`git fetch --unshallow`, or `fetch-depth: 0` in CI's checkout).
   */
  | "GIT_HISTORY_SHALLOW"
  /**
   * A migration `rebase` would renumber is recorded as applied in the database it is pointed at: a
   * new number would make that database run it again. Nothing was changed.
   * Fix: Roll it back first (`stepwise down`), then rebase; or `--no-db-check` when that database
   * is not one to keep.
   */
  | "REBASE_APPLIED_MIGRATION"
  /**
   * Renumbering would not resolve the situation or would clobber a file: a migration both branches
   * edited (`edited-on-both-sides`), a merge conflict still open in the migrations folder
   * (`unmerged`), or a new name already taken (`target-exists`). Nothing was changed.
   * Fix: Resolve the conflict or the edit by hand, then run `stepwise rebase` again.
   */
  | "REBASE_CONFLICT"
  /**
   * A rename or rewrite failed part way. Every file already renamed was put back unless `restored`
   * is false, when `pending` lists what could not be.
   * Fix: Check that the folder is writable and run `stepwise rebase` again; if `restored` is false,
   * put the files in `pending` back first.
   */
  | "REBASE_RENAME_FAILED";

/** The base class of all stepwise errors. */
export class StepwiseError extends Error {
  /** Stable identifier; safe to branch on. */
  declare readonly code: StepwiseErrorCode;
  /**
   * When this error wraps a database library's error (its `cause`, or the first cause down the
   * chain that is not a stepwise error): that error's code as the driver reads it, SQLite's
   * `SQLITE_*` name (`SQLITE_CONSTRAINT_UNIQUE`), the same on every driver, whatever shape the
   * library gives it. `null` when it wraps none, or the library's error carries no code. The
   * `cause` stays the library's own error, untouched.
   */
  readonly nativeCode: string | null = null;
  /** The same reading as stepwise's kind of failure (`locked`, `full`, `readonly`...), or `null` with {@link nativeCode}. */
  readonly nativeKind: ErrorKind | null = null;

  /**
   * @param message the message, or a `Text` that names options and calls: the message then
   *   spells them as the library takes them, and the CLI prints its own spelling of the same text.
   */
  constructor(code: StepwiseErrorCode, message: string | Text, options?: { cause?: unknown }) {
    super(spell(message, "api"), options);
    this.name = "StepwiseError";
    this.code = code;
    if (typeof message !== "string") keepText(this, "message", message);
  }
}

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

/** A place in a migration's file, 1-based, as `file:line:col` names it. */
export interface SqlLocation {
  /** The migration's file, as the registry names it (`migrations/003_add_index.sql`). */
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One broken rule in a registry: a duplicate, a gap, a bad version or a malformed entry. */
export interface RegistryProblem {
  readonly version: number | null;
  readonly file: string | null;
  readonly message: string;
}

/** The registry breaks the version rules; codegen prevents this unless the file was edited by hand. */
export class RegistryInvalidError extends StepwiseError {
  override readonly name: string = "RegistryInvalidError";
  declare readonly problems: readonly RegistryProblem[];

  constructor(problems: readonly RegistryProblem[]) {
    super("REGISTRY_INVALID", `The migration registry is invalid:\n${problems.map((p) => `  - ${p.message}`).join("\n")}\n` + `Regenerate it with "stepwise gen" instead of editing it by hand.`);
    this.problems = problems;
  }
}

/**
 * The registry module could not be imported: it does not compile (edited by hand, or a merge left
 * markers in it), or a migration it imports throws while loading.
 */
export class RegistryLoadError extends StepwiseError {
  override readonly name: string = "RegistryLoadError";
  /** The registry file, relative to the project root. */
  declare readonly file: string;
  /** Where the failure was reported (`file:line:col`), when the error says; `null` otherwise. */
  declare readonly location: string | null;

  constructor(fields: { file: string; location: string | null; cause: unknown }) {
    const reason = fields.cause instanceof Error ? fields.cause.message : String(fields.cause);
    super(
      "REGISTRY_LOAD_FAILED",
      `Could not load ${fields.file}${fields.location ? ` (at ${fields.location})` : ""}: ${reason}\n` +
        `If a migration throws when it is imported, fix it there; if the registry itself is broken, run "stepwise gen" to rewrite it.`,
      { cause: fields.cause },
    );
    this.file = fields.file;
    this.location = fields.location;
  }
}

/** The command that realigns recorded checksums after a deliberate edit (`src/safety/checksum-repair.ts`). */
export const REPAIR_CHECKSUMS_COMMAND = "stepwise repair --checksums";

/**
 * An applied migration was edited after it ran. The two ways out are in {@link fix}: restore the file
 * when the edit was an accident; `repair --checksums` when it was deliberate.
 */
export class ChecksumMismatchError extends StepwiseError {
  override readonly name: string = "ChecksumMismatchError";
  declare readonly version: number;
  declare readonly file: string;
  /** The checksum of the migration as the registry has it now. */
  declare readonly registryChecksum: string;
  /** The checksum recorded when the migration was applied. */
  declare readonly databaseChecksum: string;
  /**
   * What to do, for a script or a UI: the same two ways out the message gives. `command` is the
   * CLI's command line for the deliberate way, whoever reads it.
   */
  declare readonly fix: { readonly accidental: string; readonly deliberate: string; readonly command: string };

  constructor(fields: { version: number; file: string; registryChecksum: string; databaseChecksum: string }) {
    const accidental = text`restore ${fields.file} and put the change in a new migration ("stepwise create")`;
    const deliberate = text`if the database already has what the file now says, ${CALLS.repairChecksums(fields.version)} shows what it would record and ${CALLS.applyChecksumRepair} records it`;
    const command = text`${REPAIR_CHECKSUMS_COMMAND} ${fields.version}`;
    super(
      "CHECKSUM_MISMATCH",
      text`${migrationLabel(fields.version, fields.file)} was changed after it was applied.
  applied:  ${fields.databaseChecksum}
  registry: ${fields.registryChecksum}
If the edit was an accident: ${accidental}.
If it was deliberate: ${deliberate}.`,
    );
    this.version = fields.version;
    this.file = fields.file;
    this.registryChecksum = fields.registryChecksum;
    this.databaseChecksum = fields.databaseChecksum;
    this.fix = keepText(this, "fix", { accidental, deliberate, command });
  }
}

/** The database records versions the registry does not have: it was migrated by a newer app. */
export class DatabaseAheadError extends StepwiseError {
  override readonly name: string = "DatabaseAheadError";
  /** Applied versions the registry lacks, ascending. */
  declare readonly unknownVersions: readonly number[];
  /** The newest version the registry knows (0 for an empty registry). */
  declare readonly latestKnownVersion: number;

  constructor(unknownVersions: readonly number[], latestKnownVersion: number) {
    super(
      "DATABASE_AHEAD",
      `The database is newer than this app: it has migration${unknownVersions.length === 1 ? "" : "s"} ${unknownVersions.join(", ")} applied; this app knows up to ${latestKnownVersion}.\n` +
        `Run a newer build, or roll back with the build that applied them.`,
    );
    this.unknownVersions = unknownVersions;
    this.latestKnownVersion = latestKnownVersion;
  }
}

/** The history skips a version that the registry has below the newest applied one. */
export class HistoryOutOfOrderError extends StepwiseError {
  override readonly name: string = "HistoryOutOfOrderError";
  declare readonly missingVersions: readonly number[];
  declare readonly highestAppliedVersion: number;

  constructor(missingVersions: readonly number[], highestAppliedVersion: number) {
    super(
      "HISTORY_OUT_OF_ORDER",
      `The history records migration ${highestAppliedVersion} but not ${missingVersions.join(", ")}, which come before it: ` +
        `a row was deleted by hand, or a migration renumbered after it ran. Restore the rows or the numbering.`,
    );
    this.missingVersions = missingVersions;
    this.highestAppliedVersion = highestAppliedVersion;
  }
}

/** The history table exists but does not have the columns stepwise needs. */
export class HistoryTableInvalidError extends StepwiseError {
  override readonly name: string = "HistoryTableInvalidError";
  declare readonly table: string;
  declare readonly missingColumns: readonly string[];

  constructor(table: string, missingColumns: readonly string[], detail?: string) {
    super(
      "HISTORY_TABLE_INVALID",
      text`The history table "${table}" has an unexpected shape${missingColumns.length > 0 ? `: it lacks ${missingColumns.join(", ")}` : ""}${detail ? ` (${detail})` : ""}.
If another tool owns it, give stepwise a history table of its own: ${option("tableName", "<name>")}.`,
    );
    this.table = table;
    this.missingColumns = missingColumns;
  }
}

/** Why a history row was refused by {@link HistoryRowInvalidError}. */
export type HistoryRowProblem = "version-not-positive-integer" | "duplicate-version" | "checksum-not-text" | "unknown-state";

/**
 * One row of the history table holds something stepwise never writes (a version of 0 or below, a
 * fraction, text or NULL; a version twice; a state other than applied/started), so no plan can be
 * trusted. Same code as {@link HistoryTableInvalidError}: the table is unusable until that row is fixed.
 */
export class HistoryRowInvalidError extends StepwiseError {
  override readonly name: string = "HistoryRowInvalidError";
  /** `null` when the rows were handed to the planner directly, not read from a table. */
  declare readonly table: string | null;
  /** The row's rowid, to find it with `SELECT * FROM <table> WHERE rowid = ?`; `null` when the table has none. */
  declare readonly rowid: number | null;
  /** The `version` value as stored. */
  declare readonly version: unknown;
  declare readonly problem: HistoryRowProblem;

  constructor(fields: { table: string | null; rowid: number | null; version: unknown; problem: HistoryRowProblem; detail: string }) {
    const where = fields.rowid === null ? `version ${describeStoredValue(fields.version)}` : `rowid ${fields.rowid}`;
    super(
      "HISTORY_TABLE_INVALID",
      `The history table${fields.table === null ? "" : ` "${fields.table}"`} has a row stepwise never writes (${where}): ${fields.detail}.\n` +
        `${NOTHING_CHANGED} Fix or delete that row, or restore a backup.`,
    );
    this.table = fields.table;
    this.rowid = fields.rowid;
    this.version = fields.version;
    this.problem = fields.problem;
  }
}

/** A history table name was refused before any SQL ran: it is not a plain SQL identifier. */
export class InvalidTableNameError extends StepwiseError {
  override readonly name: string = "InvalidTableNameError";
  declare readonly tableName: string;

  constructor(tableName: string) {
    super(
      "INVALID_TABLE_NAME",
      `"${tableName}" cannot be the history table's name: use letters, digits and underscores, not starting with a digit` +
        (/^sqlite_/i.test(tableName) ? `, nor with sqlite_ (SQLite's own tables).` : "."),
    );
    this.tableName = tableName;
  }
}

/** A `transaction: false` migration started but never recorded its end, so its effects are unknown. */
export class IncompleteMigrationError extends StepwiseError {
  override readonly name: string = "IncompleteMigrationError";
  declare readonly version: number;
  declare readonly file: string;
  declare readonly startedAt: string;

  constructor(fields: { version: number; file: string; startedAt: string }) {
    super(
      "INCOMPLETE_MIGRATION",
      text`${migrationLabel(fields.version, fields.file)} runs outside a transaction and was interrupted (started ${fields.startedAt}), so it may be partly applied.
Check the database, then ${CALLS.repair(fields.version, "applied")} if its changes are all there, or ${CALLS.repair(fields.version, "forget")} to run it again.`,
    );
    this.version = fields.version;
    this.file = fields.file;
    this.startedAt = fields.startedAt;
  }
}

/** Which history write found its row gone, in {@link HistoryRowMissingError}. */
export type HistoryRowOperation = "mark-applied" | "mark-started" | "delete";

/**
 * A history write of a migration this process was running changed no row: its row disappeared under
 * it (another process ran `repair --forget`, or deleted it by hand), or a trigger or rule on the
 * history table discarded the write; the count cannot tell which. Running the migration again would
 * apply it twice, so it stops instead. For `up`, a `started` row is written back when possible, so the next run stops with
 * INCOMPLETE_MIGRATION until a person checks the database and runs `repair`.
 */
export class HistoryRowMissingError extends StepwiseError {
  override readonly name: string = "HistoryRowMissingError";
  declare readonly table: string;
  declare readonly version: number;
  declare readonly operation: HistoryRowOperation;
  /** The migration's file, once the manager has named it; `null` from the history store alone. */
  declare readonly file: string | null;
  declare readonly direction: MigrationDirection | null;
  /** Always false: the migration's changes stay in the database. */
  declare readonly rolledBack: false;
  /** True when a `started` row was written back, so the next `up` stops instead of running it again. */
  declare readonly restoredStartedRow: boolean;

  constructor(fields: { table: string; version: number; operation: HistoryRowOperation; file?: string | null; direction?: MigrationDirection | null; restoredStartedRow?: boolean }) {
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
    super(
      "HISTORY_ROW_MISSING",
      text`${label}: the ${write} of its row in the history table "${fields.table}" changed no row while it ran ${direction}: another process removed the row (a repair that forgot the attempt, or a DELETE), or a trigger or rule on it discarded the ${write} (drop it).${outcome}`,
    );
    this.table = fields.table;
    this.version = fields.version;
    this.operation = fields.operation;
    this.file = fields.file ?? null;
    this.direction = fields.direction ?? null;
    this.rolledBack = false;
    this.restoredStartedRow = fields.restoredStartedRow ?? false;
  }
}

/**
 * `context.forEachBatch` was given options it cannot walk with: a `batchSize` that is not a whole
 * number from 1 to 2^53, or (PostgreSQL) a `where` with `$n` placeholders, which would share numbers
 * with the walk's own. Refused before the first batch, so nothing was written.
 */
export class BatchOptionsInvalidError extends StepwiseError {
  override readonly name: string = "BatchOptionsInvalidError";
  declare readonly option: "batchSize" | "where";
  declare readonly value: unknown;
  declare readonly version: number | null;
  declare readonly file: string | null;

  constructor(fields: { option: "batchSize" | "where"; value: unknown; version?: number | null; file?: string | null }) {
    const origin = fields.file ? `${migrationLabel(fields.version ?? null, fields.file)}: ` : "";
    super(
      "BATCH_OPTIONS_INVALID",
      fields.option === "where"
        ? `${origin}forEachBatch cannot use the where ${describeStoredValue(fields.value)}: its $n placeholders would share numbers with the walk's own. ` +
            `Nothing was walked. Write ? for each value, and pass the values in params, in order.`
        : `${origin}forEachBatch cannot use ${fields.option} ${describeStoredValue(fields.value)}: it must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}. ` +
            `Nothing was walked. Pass, for example, ${fields.option}: 500.`,
    );
    this.option = fields.option;
    this.value = fields.value;
    this.version = fields.version ?? null;
    this.file = fields.file ?? null;
  }
}

/** The database has user tables but no history: it predates stepwise. */
export class UnmanagedDatabaseError extends StepwiseError {
  override readonly name: string = "UnmanagedDatabaseError";
  declare readonly tables: readonly string[];

  constructor(tables: readonly string[]) {
    super(
      "UNMANAGED_DATABASE",
      text`The database has tables (${tables.slice(0, 5).join(", ")}${tables.length > 5 ? ", \u2026" : ""}) but no migration history.
Adopt it with ${CALLS.baseline}, naming the last migration its schema already contains.`,
    );
    this.tables = tables;
  }
}

/** `down` would have to pass a migration that has no `down`. */
export class IrreversibleMigrationError extends StepwiseError {
  override readonly name: string = "IrreversibleMigrationError";
  declare readonly version: number;
  declare readonly file: string;

  constructor(version: number, file: string) {
    super(
      "IRREVERSIBLE_MIGRATION",
      `Cannot roll back past migration ${version} (${file}): it has no down. Nothing was changed.\n` + `Choose a target above ${version}, or add a down to that migration.`,
    );
    this.version = version;
    this.file = file;
  }
}

/** A requested target version does not exist or points the wrong way. */
export class InvalidTargetError extends StepwiseError {
  override readonly name: string = "InvalidTargetError";
  declare readonly target: number;

  constructor(target: number, message: string | Text) {
    super("INVALID_TARGET", message);
    this.target = target;
  }
}

/**
 * Why a migration's foreign-key failure came from rebuilding a parent table with enforcement on, and
 * the fix (see `foreign-key-rebuild.ts`).
 */
export interface ForeignKeyRebuildHint {
  /** The table the migration dropped or renamed. */
  readonly table: string;
  /** The tables whose foreign keys reference it. */
  readonly referencedBy: readonly string[];
  /** `-- migrate:up foreign_keys:off` for a SQL migration, `disableForeignKeys: true` for a TypeScript one. */
  readonly fix: string;
}

/**
 * An index PostgreSQL marks invalid (`pg_index.indisvalid` false): what a `CREATE INDEX CONCURRENTLY`
 * or `REINDEX CONCURRENTLY` that failed part way leaves. It takes writes and is never used for reads,
 * and its name is taken, so the same statement run again fails with "already exists".
 */
export interface InvalidIndex {
  readonly schema: string;
  readonly name: string;
  /** The table it indexes. */
  readonly table: string;
  /** The statement that removes it: `DROP INDEX CONCURRENTLY IF EXISTS "schema"."name";`. */
  readonly drop: string;
}

/** A migration threw. Its transaction was rolled back, so the database is as it was before it. */
export class MigrationFailedError extends StepwiseError {
  override readonly name: string = "MigrationFailedError";
  declare readonly version: number;
  declare readonly file: string;
  declare readonly direction: MigrationDirection;
  /** False only for `transaction: false` migrations, whose partial effects cannot be rolled back. */
  declare readonly rolledBack: boolean;
  /** The snapshot taken before this run, when `up` was asked to take one; otherwise `null`. */
  declare readonly backupPath: string | null;
  /**
   * Set when the failure is SQLite's "FOREIGN KEY constraint failed" from dropping or renaming a table
   * other tables reference, with enforcement on (a table rebuild): the table, its children and the
   * fix. `null` for every other failure, a foreign-key failure from a bad row included.
   */
  declare readonly foreignKeyRebuild: ForeignKeyRebuildHint | null;
  /**
   * Where in the migration's file the failing statement starts (a SQL migration's, found from the
   * database's error position or by running its statements one by one once it failed), or `null`
   * when that is not known: a TypeScript migration (its error's stack names its line), a failure of
   * stepwise's own statements, or a registry written before `gen` recorded the SQL's lines.
   */
  declare readonly location: SqlLocation | null;
  /** The server's DETAIL of the failure (PostgreSQL: which view depends on the column dropped), or `null`. */
  declare readonly detail: string | null;
  /** The server's HINT of the failure (PostgreSQL: "Use DROP ... CASCADE to drop the dependent objects too."), or `null`. */
  declare readonly hint: string | null;
  /**
   * On PostgreSQL, the invalid indexes (see {@link InvalidIndex}) in the way of running it again, each
   * with the statement that removes it: those this `transaction: false` migration left, or the one an
   * earlier attempt left under the name its statement found taken ("already exists"). Empty otherwise.
   */
  declare readonly invalidIndexes: readonly InvalidIndex[];

  constructor(fields: {
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
  }) {
    const reason = describeThrownValue(fields.cause);
    const rebuild = fields.foreignKeyRebuild ?? null;
    super(
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
      { cause: fields.cause },
    );
    this.version = fields.version;
    this.file = fields.file;
    this.direction = fields.direction;
    this.rolledBack = fields.rolledBack;
    this.backupPath = fields.backupPath ?? null;
    this.foreignKeyRebuild = rebuild;
    this.location = fields.location ?? null;
    this.detail = fields.detail ?? null;
    this.hint = fields.hint ?? null;
    this.invalidIndexes = fields.invalidIndexes ?? [];
  }

  /** The same failure, naming the backup taken before the run. */
  withBackupPath(backupPath: string): MigrationFailedError {
    return this.copyWith({ backupPath });
  }

  /** The same failure, naming where in its file it happened (found after it was thrown: `sql-location.ts`). */
  withLocation(location: SqlLocation): MigrationFailedError {
    return this.copyWith({ location });
  }

  private copyWith(fields: { backupPath?: string; location?: SqlLocation }): MigrationFailedError {
    const copy = new MigrationFailedError({ ...this, cause: this.cause, ...fields });
    // The same failure, so the same reading of the library's error (see `native-error.ts`).
    Object.assign(copy, { nativeCode: this.nativeCode, nativeKind: this.nativeKind });
    return copy;
  }
}

/**
 * A migration wrote stepwise's history table (a row inserted, changed or deleted, or the table
 * dropped, renamed, truncated or altered): the history is stepwise's record of what ran, and a
 * migration that edits it makes the next `status` or `up` misread the database. The migration
 * failed before its COMMIT; `rolledBack` says whether that undid all of it. Where the write was
 * refused as it happened (SQLite), the history table was never changed, even by a `transaction:
 * false` migration; `historyChanged` says whether the history itself was left changed.
 */
export class HistoryChangedByMigrationError extends StepwiseError {
  override readonly name: string = "HistoryChangedByMigrationError";
  declare readonly version: number;
  declare readonly file: string;
  declare readonly direction: MigrationDirection;
  /** The history table's name. */
  declare readonly table: string;
  /** What the migration did to it, in a few words ("a row written", "dropped or altered"). */
  declare readonly change: string;
  /** False only for a `transaction: false` migration, whose statements before the failure stayed. */
  declare readonly rolledBack: boolean;
  /** Whether the history table was left as the migration changed it (a `transaction: false` migration on a storage that can only detect the change afterwards). */
  declare readonly historyChanged: boolean;

  constructor(fields: { version: number; file: string; direction: MigrationDirection; table: string; change: string; rolledBack: boolean; historyChanged: boolean; cause?: unknown }) {
    const outcome = fields.rolledBack
      ? ROLLED_BACK
      : `It runs outside a transaction, so its statements before that one stayed; ${fields.historyChanged ? `the history table stays as it left it: check it with "stepwise status" and "stepwise history", then "stepwise repair"` : "the history table itself was not changed"}. It is not recorded as applied.`;
    super(
      "HISTORY_CHANGED_BY_MIGRATION",
      `${migrationLabel(fields.version, fields.file)} changed the history table "${fields.table}" while running ${fields.direction} (${fields.change}). ` +
        `That table is stepwise's record of what ran; a migration may not write it. ${outcome} Remove the statement that touches "${fields.table}" from the migration.`,
      fields.cause === undefined ? undefined : { cause: fields.cause },
    );
    this.version = fields.version;
    this.file = fields.file;
    this.direction = fields.direction;
    this.table = fields.table;
    this.change = fields.change;
    this.rolledBack = fields.rolledBack;
    this.historyChanged = fields.historyChanged;
  }
}

/**
 * Whether a migration that ended stepwise's transaction got anything committed: `yes` (proven),
 * `no` (proven: the database is as it was), or `unknown` (it ran statements after ending the
 * transaction, and SQLite commits each of those on its own).
 */
export type EscapedCommit = "yes" | "no" | "unknown";

/**
 * A migration ended the transaction stepwise runs it in (COMMIT, END or ROLLBACK in the migration),
 * so it could not be rolled back as one unit. It is never recorded.
 */
export class TransactionEscapedError extends StepwiseError {
  override readonly name: string = "TransactionEscapedError";
  declare readonly version: number;
  declare readonly file: string;
  declare readonly direction: MigrationDirection;
  /**
   * `yes` when the migration committed: what it ran before ending the transaction (and, with
   * `transaction: "all"`, the migrations before it in the run, with their history rows) stays in
   * the database. `no` when the database is as it was. `unknown` when statements may have been.
   */
  declare readonly committed: EscapedCommit;

  constructor(fields: { version: number; file: string; direction: MigrationDirection; committed: EscapedCommit; cause?: unknown }) {
    const failure = fields.cause === undefined ? "" : ` It then failed: ${describeThrownValue(fields.cause)}.`;
    super(
      "TRANSACTION_ESCAPED",
      `${migrationLabel(fields.version, fields.file)} ended stepwise's transaction (a COMMIT, END or ROLLBACK) while running ${fields.direction}.${failure} ` +
        `It was not recorded: the history says it is ${fields.direction === "up" ? "not " : ""}applied.\n` +
        ESCAPED_COMMIT_ADVICE[fields.committed] +
        `Remove that statement (SAVEPOINT ... RELEASE nests safely; transaction: false runs what SQLite refuses in a transaction), regenerate, and run it again.`,
      { cause: fields.cause },
    );
    this.version = fields.version;
    this.file = fields.file;
    this.direction = fields.direction;
    this.committed = fields.committed;
  }
}

const ESCAPED_COMMIT_ADVICE: Readonly<Record<EscapedCommit, string>> = {
  yes: `What it ran before ending the transaction was COMMITTED: undo it by hand (or restore a backup) before running it again.\n`,
  unknown: `What it ran after ending the transaction may be COMMITTED (SQLite commits each statement outside one): check, and undo it by hand (or restore a backup) before running it again.\n`,
  no: `Nothing it did was committed: the database is as it was.\n`,
};

/**
 * A process that holds a lock on the database, as far as the operating system (or the server) tells:
 * named by its pid and program, never by its arguments, which may carry a key or a password.
 */
export interface LockHolder {
  readonly pid: number;
  /**
   * Its program: the file name of the executable it was started as (`node`, `myapp`), or on
   * PostgreSQL the first word of the session's `application_name`; `null` when unreadable.
   */
  readonly program: string | null;
  /** The host the session connects from (PostgreSQL); `null` for a process on this machine. */
  readonly host: string | null;
  /** `write` for a process holding the write lock; `read` for one that only reads. */
  readonly lock: "write" | "read";
}

/** How messages name a holder: `process 4242 (node, write)`, `process 4242 (migrator from 10.0.0.5, write)`. */
function describeHolder(holder: LockHolder): string {
  const who = [holder.program, holder.host === null ? null : `from ${holder.host}`].filter((part) => part !== null).join(" ");
  return `process ${holder.pid} (${who === "" ? "" : `${who}, `}${holder.lock})`;
}

/** Another connection held the lock stepwise needed, and stepwise gave up waiting for it. */
export class DatabaseLockedError extends StepwiseError {
  override readonly name: string = "DatabaseLockedError";
  /** How long stepwise was told to wait (the busy timeout). */
  declare readonly busyTimeoutMs: number;
  /**
   * How long it actually waited, measured around the refused operation: the busy timeout when the
   * lock outlasted it, less when the refusal came earlier (SQLite refuses some waits at once). `null`
   * when nothing timed it.
   */
  declare readonly waitedMs: number | null;
  /**
   * The processes holding locks on the file, found through `/proc/locks` on Linux; empty where the
   * operating system does not say (other platforms, another host, or a lock already released).
   */
  declare readonly holders: readonly LockHolder[];

  /** @param waitedMs how long was waited; by default what the runner measured for `cause` (see `elapsed.ts`). */
  constructor(busyTimeoutMs: number, cause: unknown, holders: readonly LockHolder[] = [], waitedMs: number | null = elapsedOf(cause)) {
    super(
      "DATABASE_LOCKED",
      text`The database was locked by another connection ${describeWait(busyTimeoutMs, waitedMs)} ${
        holders.length > 0 ? `(held by ${holders.map(describeHolder).join(", ")}). ` : `(another app instance migrating, or an open write transaction). `
      }${NOTHING_CHANGED} Retry when it is released, or raise ${option("busyTimeoutMs")}.`,
      { cause },
    );
    this.busyTimeoutMs = busyTimeoutMs;
    this.waitedMs = waitedMs;
    this.holders = holders;
  }
}

/** The wait a lock error states: the time measured, with the timeout beside it, never the timeout as if it were waited. */
function describeWait(busyTimeoutMs: number, waitedMs: number | null): string {
  return waitedMs === null ? `(busy timeout ${busyTimeoutMs} ms)` : `and stayed locked while stepwise waited ${waitedMs} ms (busy timeout ${busyTimeoutMs} ms)`;
}

/**
 * The backup file offered to `restore` stayed locked by another process past the busy timeout (it is
 * being written, or held open in a write transaction). Same code as {@link DatabaseLockedError}: the
 * remedy is the same, waiting; `file` says which file. Nothing was changed.
 */
export class BackupLockedError extends DatabaseLockedError {
  override readonly name: string = "BackupLockedError";
  declare readonly file: string;

  constructor(file: string, busyTimeoutMs: number, cause: unknown, holders: readonly LockHolder[] = [], waitedMs: number | null = elapsedOf(cause)) {
    super(busyTimeoutMs, cause, holders, waitedMs);
    this.file = file;
    this.message = keepText(
      this,
      "message",
      text`The backup ${file} was locked by another process ${describeWait(busyTimeoutMs, waitedMs)}${
        holders.length > 0 ? ` (held by ${holders.map(describeHolder).join(", ")})` : ""
      }. Nothing was changed. Retry once whatever writes it has finished, or raise ${option("busyTimeoutMs")}.`,
    );
  }
}

/** The file cannot be used as a database: not SQLite, read-only, or otherwise refused by SQLite. */
export class DatabaseUnusableError extends StepwiseError {
  override readonly name: string = "DatabaseUnusableError";
  /** The SQLite error code, such as `SQLITE_NOTADB` or `SQLITE_READONLY`. */
  declare readonly sqliteCode: string | null;

  constructor(message: string, sqliteCode: string | null, cause: unknown) {
    super("DATABASE_UNUSABLE", message, { cause });
    this.sqliteCode = sqliteCode;
  }
}

/**
 * A crashed writer left a hot journal (or an unrecovered WAL) that only a connection allowed to write
 * can roll back, and this one may not write: the file, its folder or the connection is read-only.
 */
export class DatabaseNeedsRecoveryError extends StepwiseError {
  override readonly name: string = "DatabaseNeedsRecoveryError";
  /** `SQLITE_READONLY_ROLLBACK` (hot rollback journal) or `SQLITE_READONLY_RECOVERY` (WAL). */
  declare readonly sqliteCode: string;

  constructor(sqliteCode: string, cause: unknown) {
    super(
      "DATABASE_NEEDS_RECOVERY",
      text`A crashed process left the database mid-write (${sqliteCode}); rolling that back needs write access. ${NOTHING_CHANGED} Run ${runCall("up")} (or anything else that writes) as a user who may write the file and its folder.`,
      { cause },
    );
    this.sqliteCode = sqliteCode;
  }
}

/** Why {@link DatabasePathInvalidError} refused a path. */
export type DatabasePathProblem =
  "empty" | "nul-byte" | "too-long" | "directory" | "not-a-file" | "parent-not-directory" | "unsupported-url" | "symlink-loop" | "dangling-symlink" | "journal-not-a-file";

/** What a path names on disk, where stepwise expected a regular file (or nothing yet). */
export type FileKind = "file" | "directory" | "symlink" | "fifo" | "socket" | "character-device" | "block-device" | "missing";

/** A {@link FileKind} as a message names it: "a FIFO (named pipe)". */
export function describeFileKind(kind: FileKind): string {
  return FILE_KIND_WORDS[kind];
}

const FILE_KIND_WORDS: Readonly<Record<FileKind, string>> = {
  file: "a regular file",
  directory: "a folder",
  symlink: "a symbolic link",
  fifo: "a FIFO (named pipe)",
  socket: "a socket",
  "character-device": "a character device",
  "block-device": "a block device",
  missing: "missing",
};

/**
 * The database path cannot name a database file: it is empty, a folder, a FIFO, socket or device, a
 * link to nothing, under a file, or a journal beside it is a symbolic link.
 */
export class DatabasePathInvalidError extends StepwiseError {
  override readonly name: string = "DatabasePathInvalidError";
  declare readonly path: string;
  declare readonly problem: DatabasePathProblem;
  /** What `path` is on disk, when that is the problem (`directory`, `not-a-file`, `dangling-symlink`, `journal-not-a-file`); otherwise `null`. */
  declare readonly kind: FileKind | null;

  constructor(path: string, problem: DatabasePathProblem, kind: FileKind | null = problem === "directory" ? "directory" : null) {
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
    super("DATABASE_PATH_INVALID", text`${reason}. Nothing was changed. ${remedy}`);
    this.path = path;
    this.problem = problem;
    this.kind = kind;
  }
}

/**
 * A path stepwise was handed is not the name it stands for: the bytes the user gave were not UTF-8,
 * so the string that reached stepwise (with U+FFFD, or `%xx` that decodes to no text) names another
 * file. Refused before anything is opened; nothing was changed.
 */
export class PathEncodingError extends StepwiseError {
  override readonly name: string = "PathEncodingError";
  /** The path as it reached stepwise. */
  declare readonly path: string;
  /** The bytes as given, escaped (`\xff.db`), where the process's own arguments or environment show them; else the path with U+FFFD as `\ufffd`. */
  declare readonly bytes: string;

  constructor(path: string, bytes: string) {
    super(
      "PATH_NOT_UTF8",
      `The path ${bytes} is not valid UTF-8, so stepwise cannot open the file it names (it would open another one). Nothing was changed. ` +
        "Rename the file to a UTF-8 name (or link to it from one), and pass that.",
    );
    this.path = path;
    this.bytes = bytes;
  }
}

/**
 * The database fails SQLite's `quick_check`: migrating it would build on damage, and a backup of it
 * is one `restore` refuses. Nothing was changed: nothing migrated, no backup kept.
 */
export class DatabaseDamagedError extends StepwiseError {
  override readonly name: string = "DatabaseDamagedError";
  declare readonly databasePath: string;
  /** The check that failed. */
  declare readonly check: "quick_check";
  /** What the check reported, a line each (at most 20). */
  declare readonly problems: readonly string[];
  declare readonly fix: string;

  constructor(fields: { databasePath: string; problems: readonly string[] }) {
    const fix =
      'restore a good backup ("stepwise restore <file> --yes"), or recover the data with the sqlite3 shell\'s ".recover" into a new file; ' +
      "to migrate it as it is, pass --dangerously-skip-integrity-check (dangerouslySkipIntegrityCheck: true)";
    super("DATABASE_DAMAGED", `${fields.databasePath} fails SQLite's quick_check (${fields.problems.slice(0, 3).join("; ")}). ${NOTHING_CHANGED} To go on: ${fix}.`);
    this.databasePath = fields.databasePath;
    this.check = "quick_check";
    this.problems = fields.problems;
    this.fix = fix;
  }
}

/** Why {@link BatchKeyError} refused a `forEachBatch` walk. */
export type BatchKeyProblem = "no-such-table" | "no-such-column" | "no-rowid" | "null-key" | "duplicate-key" | "not-increasing" | "unsafe-integer" | "invalid-key";

/**
 * `context.forEachBatch` cannot walk every row by the key it was given: the key is not a column (or
 * rowid alias) of the table, or some row's key is NULL, repeated, or cannot be compared exactly. A
 * keyset walk over such a key would stop early or skip rows, so it is refused; when found before the
 * first batch nothing was written, and when found later the migration's transaction rolls back.
 */
export class BatchKeyError extends StepwiseError {
  override readonly name: string = "BatchKeyError";
  declare readonly table: string;
  declare readonly key: string;
  declare readonly problem: BatchKeyProblem;
  /** The table's columns, to pick a key from; empty when the table does not exist. */
  declare readonly columns: readonly string[];
  /** The offending key value, for `duplicate-key`, `not-increasing` and `unsafe-integer`. */
  declare readonly value: unknown;
  /** The migration that called `forEachBatch`, when it ran inside one. */
  declare readonly version: number | null;
  declare readonly file: string | null;

  constructor(fields: { table: string; key: string; problem: BatchKeyProblem; detail: string; columns?: readonly string[]; value?: unknown; version?: number | null; file?: string | null }) {
    const origin = fields.file ? `${migrationLabel(fields.version ?? null, fields.file)}: ` : "";
    super(
      "BATCH_KEY_INVALID",
      // The detail ends a sentence: most problems (no such table, a view's rowid, a key past 2^53) are no reason a walk would skip rows.
      `${origin}forEachBatch cannot walk "${fields.table}" by key "${fields.key}": ${fields.detail}. ` +
        `A keyset walk by it could stop early or skip rows, so it stopped instead (in a transaction, everything rolls back). ` +
        `Pass key: a unique, non-NULL column (the INTEGER PRIMARY KEY, or "rowid" where the table has one)` +
        (fields.columns && fields.columns.length > 0 ? `; the table has ${fields.columns.join(", ")}` : "") +
        `.`,
    );
    this.table = fields.table;
    this.key = fields.key;
    this.problem = fields.problem;
    this.columns = fields.columns ?? [];
    this.value = fields.value ?? null;
    this.version = fields.version ?? null;
    this.file = fields.file ?? null;
  }
}

/** One row `PRAGMA foreign_key_check` reported. */
export interface ForeignKeyViolation {
  /** The child table holding the dangling reference. */
  readonly table: string;
  readonly rowid: number | null;
  /** The parent table the reference points to. */
  readonly parent: string;
}

/**
 * A migration run with foreign keys switched off left references that point nowhere. It was rolled
 * back before committing, so the database is as it was.
 */
export class ForeignKeyViolationError extends StepwiseError {
  override readonly name: string = "ForeignKeyViolationError";
  declare readonly version: number;
  declare readonly file: string;
  declare readonly direction: MigrationDirection;
  /** The first violations found (at most 100). */
  declare readonly violations: readonly ForeignKeyViolation[];
  declare readonly violationCount: number;

  constructor(fields: { version: number; file: string; direction: MigrationDirection; violations: readonly ForeignKeyViolation[] }) {
    const sample = fields.violations
      .slice(0, 3)
      .map((v) => `${v.table} row ${v.rowid ?? "?"} \u2192 ${v.parent}`)
      .join("; ");
    super(
      "FOREIGN_KEY_VIOLATION",
      `${migrationLabel(fields.version, fields.file)} left ${fields.violations.length} foreign key violation` +
        `${fields.violations.length === 1 ? "" : "s"} while running ${fields.direction} (${sample}). ${ROLLED_BACK} ` +
        `Make the rebuild copy every referenced row, or delete the orphans in the migration.`,
    );
    this.version = fields.version;
    this.file = fields.file;
    this.direction = fields.direction;
    this.violations = fields.violations.slice(0, 100);
    this.violationCount = fields.violations.length;
  }
}

/** The disk (or the database's `max_page_count`) ran out of room; the write was rolled back. */
export class DiskFullError extends StepwiseError {
  override readonly name: string = "DiskFullError";
  /** The migration that was running, or `null` when the failure was in stepwise's own bookkeeping. */
  declare readonly version: number | null;
  declare readonly file: string | null;
  declare readonly sqliteCode: string;

  constructor(fields: { version: number | null; file: string | null; sqliteCode: string; cause: unknown }) {
    super(
      "DISK_FULL",
      `The database ran out of room (${fields.sqliteCode})` +
        (fields.version === null ? "" : ` while applying migration ${fields.version} (${fields.file})`) +
        `. ${ROLLED_BACK} Free disk space (or raise PRAGMA max_page_count) and run it again.`,
      { cause: fields.cause },
    );
    this.version = fields.version;
    this.file = fields.file;
    this.sqliteCode = fields.sqliteCode;
  }
}

/**
 * The backup could not be written because its folder ran out of room (or the file hit a size limit
 * or quota). Distinct from {@link DiskFullError}: the database itself was not touched, and freeing
 * space elsewhere does not help; `directory` says where.
 */
export class BackupDiskFullError extends StepwiseError {
  override readonly name: string = "BackupDiskFullError";
  /** The backup folder that ran out of room. */
  declare readonly directory: string;
  /** The file being written when it did (removed again). */
  declare readonly path: string;
  /** `SQLITE_FULL`, `SQLITE_IOERR_WRITE`, `ENOSPC`, `EFBIG`...: what the system reported. */
  declare readonly systemCode: string;
  /** Free bytes in the backup folder's file system afterwards, when the system says. */
  declare readonly availableBytes: number | null;
  /** The size of the database being copied. */
  declare readonly neededBytes: number | null;

  constructor(fields: { directory: string; path: string; systemCode: string; availableBytes: number | null; neededBytes: number | null; cause: unknown }) {
    super(
      "BACKUP_DISK_FULL",
      text`The backup folder ${fields.directory} has no room for the backup (${fields.systemCode}${
        fields.neededBytes === null ? "" : `; the database is ${fields.neededBytes} bytes`
      }${fields.availableBytes === null ? "" : `, ${fields.availableBytes} bytes are free there`}). The partial backup was removed and the database was not touched. Free space in that folder, lower ${option("backupKeep")}, or back up to a folder on another disk.`,
      { cause: fields.cause },
    );
    this.directory = fields.directory;
    this.path = fields.path;
    this.systemCode = fields.systemCode;
    this.availableBytes = fields.availableBytes;
    this.neededBytes = fields.neededBytes;
  }
}

/** The backup folder cannot be created or written (permissions, read-only, a file in the way). The database was not touched. */
export class BackupFolderUnwritableError extends StepwiseError {
  override readonly name: string = "BackupFolderUnwritableError";
  declare readonly directory: string;
  /** `EACCES`, `EROFS`, `ENOTDIR`, `SQLITE_CANTOPEN`...: what the system reported. */
  declare readonly systemCode: string;

  /** `remedy`: what to do, when not `up --backup` (whose remedy is the default). */
  constructor(directory: string, systemCode: string, cause: unknown, remedy: string | Text = text`Fix the folder's permissions, or pass a writable folder: ${option("backupDirectory", "<dir>")}.`) {
    super("BACKUP_FOLDER_UNWRITABLE", text`The backup folder ${directory} cannot be written (${systemCode}). The database was not touched. ${remedy}`, { cause });
    this.directory = directory;
    this.systemCode = systemCode;
  }
}

/** Why a backup's history does not belong to this app's registry. */
export interface ForeignBackupReason {
  readonly version: number;
  /** `unknown-version`: the registry has no such migration; `name` or `checksum`: it differs. */
  readonly kind: "unknown-version" | "name" | "checksum";
  /** What the backup records. */
  readonly backup: string;
  /** What the registry has; `null` for an unknown version. */
  readonly registry: string | null;
}

/**
 * The backup's migration history does not match this app's migrations: it is another app's
 * database, or this app's from a branch or a newer release. Nothing was changed.
 */
export class ForeignBackupError extends StepwiseError {
  override readonly name: string = "ForeignBackupError";
  declare readonly file: string;
  /** Every disagreement, ascending by version. */
  declare readonly reasons: readonly ForeignBackupReason[];

  constructor(file: string, reasons: readonly ForeignBackupReason[]) {
    const lines = reasons
      .slice(0, 10)
      .map((reason) =>
        reason.kind === "unknown-version"
          ? `migration ${reason.version} (${reason.backup}) is not in this app's registry`
          : `migration ${reason.version}: the backup has ${reason.kind} ${reason.backup}, the registry ${reason.registry}`,
      );
    super(
      "BACKUP_FOREIGN",
      text`${file} does not hold this app's migrations:\n${lines.map((line) => `  - ${line}`).join("\n")}${
        reasons.length > lines.length ? `\n  - \u2026 and ${reasons.length - lines.length} more` : ""
      }\nNothing was changed. Pick a backup of this database, or pass ${option("dangerouslyAllowForeignBackup", true)} if you mean to put this one in place anyway.`,
    );
    this.file = file;
    this.reasons = reasons;
  }
}

/**
 * After copying, the database read back through a fresh connection did not match the backup.
 * `previousBackup` holds the database as it was before the restore.
 */
export class RestoreUnverifiedError extends StepwiseError {
  override readonly name: string = "RestoreUnverifiedError";
  declare readonly databasePath: string;
  declare readonly backupFile: string;
  /** What differed: `schema`, `content`, `user_version`, `page count`, `integrity`. */
  declare readonly mismatches: readonly string[];
  /** The snapshot of the database taken before the restore, or `null` when there was none. */
  declare readonly previousBackup: string | null;

  constructor(fields: { databasePath: string; backupFile: string; mismatches: readonly string[]; previousBackup: string | null }) {
    super(
      "RESTORE_UNVERIFIED",
      `Restoring ${fields.backupFile} into ${fields.databasePath} could not be confirmed: read back, the database ` +
        `differs from the backup (${fields.mismatches.join(", ")}). ` +
        (fields.previousBackup ? `The database as it was before is saved as ${fields.previousBackup}; ` : "") +
        `stop every process using the database and run restore again.`,
    );
    this.databasePath = fields.databasePath;
    this.backupFile = fields.backupFile;
    this.mismatches = fields.mismatches;
    this.previousBackup = fields.previousBackup;
  }
}

/**
 * The file offered to `restore` is the database itself (the same path, a hard link or a symlink to
 * it): restoring it onto itself could change nothing, and its own read would be mistaken for another
 * connection's lock. Nothing was changed.
 */
export class BackupIsDatabaseError extends StepwiseError {
  override readonly name: string = "BackupIsDatabaseError";
  declare readonly backupFile: string;
  declare readonly databasePath: string;

  constructor(backupFile: string, databasePath: string) {
    super(
      "BACKUP_IS_DATABASE",
      text`${backupFile} is the database ${databasePath} itself (the same file), so there is nothing to restore from it. Nothing was changed. Pick a backup written by ${CALLS.upWithBackup} (listed in the backup folder as <file>.v<version>.<time>.<identity>.bak).`,
    );
    this.backupFile = backupFile;
    this.databasePath = databasePath;
  }
}

/** The folder that should hold the database does not exist, so nothing can be written there. */
export class DatabaseFolderMissingError extends StepwiseError {
  override readonly name: string = "DatabaseFolderMissingError";
  declare readonly databasePath: string;
  declare readonly folder: string;

  constructor(databasePath: string, folder: string) {
    super(
      "DATABASE_FOLDER_MISSING",
      text`There is no folder ${folder} to hold the database ${databasePath}; nothing was changed. Check ${option("databasePath")}, or create the folder first (mkdir -p "${folder}").`,
    );
    this.databasePath = databasePath;
    this.folder = folder;
  }
}

/** The step of a file write that failed, for {@link FileWriteError}. */
export type FileWriteStep = "create-temporary" | "write" | "flush" | "close" | "rename" | "link";

/**
 * `gen` or `create` could not write a file (a full disk, a quota, an I/O error, a rename across
 * devices or into a read-only folder). The write went to a temporary file first, so the target was
 * left as it was (or, for a new file, does not exist) and the temporary file was removed.
 */
export class FileWriteError extends StepwiseError {
  override readonly name: string = "FileWriteError";
  /** The file that was being replaced or created, as the caller named it. */
  declare readonly file: string;
  declare readonly step: FileWriteStep;
  /** The operating system's code (`ENOSPC`, `EDQUOT`, `EIO`, `EFBIG`, `EXDEV`, `EACCES`...), or `null`. */
  declare readonly systemCode: string | null;
  declare readonly bytesWritten: number;
  declare readonly bytesExpected: number;

  constructor(fields: { file: string; step: FileWriteStep; systemCode: string | null; bytesWritten: number; bytesExpected: number; cause: unknown }) {
    const progress = fields.step === "write" ? ` after ${fields.bytesWritten} of ${fields.bytesExpected} bytes` : "";
    super(
      "FILE_WRITE_FAILED",
      `Could not write ${fields.file} (${fields.systemCode ?? "error"} during ${fields.step}${progress}). Nothing was replaced: ` +
        `the file is as it was before, and the temporary copy was removed. ` +
        (fields.systemCode === "ENOSPC" || fields.systemCode === "EDQUOT" || fields.systemCode === "EFBIG"
          ? "Free disk space (or raise the quota or file size limit) and run it again."
          : "Check that the folder is writable and on a healthy disk, then run it again."),
      { cause: fields.cause },
    );
    this.file = fields.file;
    this.step = fields.step;
    this.systemCode = fields.systemCode;
    this.bytesWritten = fields.bytesWritten;
    this.bytesExpected = fields.bytesExpected;
  }
}

/** Who started a `transaction: false` migration, as recorded in its `started` history row. */
export interface MigrationOwnerInfo {
  readonly pid: number;
  readonly host: string;
}

/**
 * Another process is running a `transaction: false` migration and did not finish within the busy
 * timeout. Nothing was changed by this process.
 */
export class MigrationInProgressError extends StepwiseError {
  override readonly name: string = "MigrationInProgressError";
  declare readonly version: number;
  declare readonly file: string;
  declare readonly startedAt: string;
  /** The process recorded as running it, or `null` when the row names none. */
  declare readonly owner: MigrationOwnerInfo | null;
  declare readonly waitedMs: number;

  constructor(fields: { version: number; file: string; startedAt: string; owner: MigrationOwnerInfo | null; waitedMs: number }) {
    super(
      "MIGRATION_IN_PROGRESS",
      text`${migrationLabel(fields.version, fields.file)} runs outside a transaction and is still being applied${
        fields.owner ? ` by process ${fields.owner.pid} on ${fields.owner.host}` : ""
      } (started ${fields.startedAt}); waited ${fields.waitedMs} ms. ${NOTHING_CHANGED} Retry when it finishes, or raise ${option("busyTimeoutMs")}; if that process is gone, check the database and run ${CALLS.repair(fields.version, "applied")} or ${CALLS.repair(fields.version, "forget")}.`,
    );
    this.version = fields.version;
    this.file = fields.file;
    this.startedAt = fields.startedAt;
    this.owner = fields.owner;
    this.waitedMs = fields.waitedMs;
  }
}

/** A command or option that cannot work as given; the CLI exits with code 2 for it. */
export class UsageError extends StepwiseError {
  override readonly name: string = "UsageError";
  constructor(message: string) {
    super("USAGE", message);
  }
}

/**
 * A migration closed the connection it was given (`db.close()`). SQLite rolled back the transaction
 * that was open, but whatever the migration committed before closing stays, and nothing can be
 * checked through a closed connection: so never "rolled back". A driver throws it from `runBody`;
 * the executor stops at once, since no further step can run on the connection.
 */
export class ConnectionClosedError extends MigrationFailedError {
  override readonly name: string = "ConnectionClosedError";
  constructor(entry: { readonly version: number; readonly file: string }, direction: MigrationDirection) {
    const cause = new Error(
      "it closed the database connection it was given (db.close()), so stepwise could not record it; SQLite rolled back the open transaction, " +
        "but what it committed before stays. Remove the close() and open the database again",
    );
    super({ version: entry.version, file: entry.file, direction, cause, rolledBack: false });
  }
}

/**
 * A driver name (the CLI's `--driver`, or `driver` in the config) that names none of stepwise's
 * drivers. The CLI exits with code 2 for it: it is a setting the user typed.
 */
export class DriverUnknownError extends StepwiseError {
  override readonly name: string = "DriverUnknownError";
  /** The name as given. */
  declare readonly driver: string;
  /** Where it came from: `"--driver"`, or the config file's path (and key). */
  declare readonly source: string;
  /** The names that are accepted. */
  declare readonly validDrivers: readonly string[];

  constructor(fields: { driver: string; source: string; validDrivers: readonly string[] }) {
    super("DRIVER_UNKNOWN", `Unknown driver ${JSON.stringify(fields.driver)} in ${fields.source}. Nothing was changed. Use one of: ${fields.validDrivers.join(", ")}.`);
    this.driver = fields.driver;
    this.source = fields.source;
    this.validDrivers = fields.validDrivers;
  }
}

/**
 * The chosen driver's library cannot be loaded: not installed (`reason: "missing"`), or installed
 * but failing to load on this runtime, such as a native addon built for another Node
 * (`reason: "unloadable"`). Thrown before the database is opened.
 */
export class DriverNotInstalledError extends StepwiseError {
  override readonly name: string = "DriverNotInstalledError";
  /** The driver's name, such as `"libsql"`. */
  declare readonly driver: string;
  /** The npm package that provides it. */
  declare readonly packageName: string;
  /** The command that installs (or rebuilds) it. */
  declare readonly installCommand: string;
  declare readonly reason: "missing" | "unloadable";

  constructor(fields: { driver: string; packageName: string; installCommand: string; reason: "missing" | "unloadable"; cause?: unknown }) {
    super(
      "DRIVER_NOT_INSTALLED",
      fields.reason === "missing"
        ? `The ${fields.driver} driver needs the "${fields.packageName}" package, which is not installed. Nothing was changed. Install it with:\n  ${fields.installCommand}\nor choose another driver with --driver (or "driver" in the config).`
        : `The "${fields.packageName}" package is installed but failed to load on this runtime (${fields.cause instanceof Error ? fields.cause.message.replace(/\s+/g, " ") : String(fields.cause)}). Nothing was changed. Rebuild it for this runtime with:\n  ${fields.installCommand}\nor choose another driver with --driver (or "driver" in the config).`,
      { cause: fields.cause },
    );
    this.driver = fields.driver;
    this.packageName = fields.packageName;
    this.installCommand = fields.installCommand;
    this.reason = fields.reason;
  }
}

/**
 * The chosen driver is built into another runtime: node-sqlite on a Node too old for it, bun-sqlite
 * outside Bun. Thrown before the database is opened.
 */
export class DriverRuntimeUnsupportedError extends StepwiseError {
  override readonly name: string = "DriverRuntimeUnsupportedError";
  /** The driver's name. */
  declare readonly driver: string;
  /** The runtime this process is, such as `"node 20.18.0"`. */
  declare readonly runtime: string;
  /** What the driver needs, such as `"node >= 22.16"` or `"bun"`. */
  declare readonly required: string;

  constructor(fields: { driver: string; runtime: string; required: string; hint: string }) {
    super("DRIVER_RUNTIME_UNSUPPORTED", `The ${fields.driver} driver needs ${fields.required}, but this is ${fields.runtime}. Nothing was changed. ${fields.hint}`);
    this.driver = fields.driver;
    this.runtime = fields.runtime;
    this.required = fields.required;
  }
}

/**
 * An operation that must start its own transaction (or `VACUUM`) was called on a connection the app
 * left inside a transaction. Refused before anything ran: the app's transaction is still open, with
 * its uncommitted writes, and nothing else was changed.
 */
export class TransactionOpenError extends StepwiseError {
  override readonly name: string = "TransactionOpenError";
  /** The driver's name, such as `"libsql"`. */
  declare readonly driver: string;
  /** What was asked, such as `"takeBackupSync"`. */
  declare readonly operation: string;

  constructor(fields: { driver: string; operation: string; cause?: unknown }) {
    super(
      "TRANSACTION_OPEN",
      `${fields.operation} cannot run while the app's ${fields.driver} connection is inside a transaction. ${NOTHING_CHANGED} ` +
        `Commit or roll back that transaction (still open) first, then call ${fields.operation} again.`,
      fields.cause === undefined ? undefined : { cause: fields.cause },
    );
    this.driver = fields.driver;
    this.operation = fields.operation;
  }
}

/**
 * The system's temporary folder (`TMPDIR`, else the platform's default) cannot hold the private copy
 * a safety net needs: it is missing, not a folder, not writable, or full. Nothing was changed.
 */
export class TempFolderUnusableError extends StepwiseError {
  override readonly name: string = "TempFolderUnusableError";
  /** The temporary folder as resolved (`os.tmpdir()`). */
  declare readonly folder: string;
  /** The operating system's code (`ENOENT`, `ENOTDIR`, `EACCES`, `ENOSPC`...), or `null`. */
  declare readonly systemCode: string | null;
  /** What needed it, such as `"rehearseUp"`, or `"snapshot"` when the driver was called directly. */
  declare readonly operation: string;

  constructor(fields: { folder: string; systemCode: string | null; operation: string; cause?: unknown }) {
    const full = fields.systemCode === "ENOSPC" || fields.systemCode === "EDQUOT" || fields.systemCode === "EFBIG";
    super(
      "TEMP_FOLDER_UNUSABLE",
      `${fields.operation} needs a private copy of the database in the temporary folder ${fields.folder}, which ` +
        (full ? "has no room for it" : "cannot be written") +
        ` (${fields.systemCode ?? "error"}). Nothing was changed. ` +
        (full ? "Free space there, or point TMPDIR at a folder with room, and run it again." : "Point TMPDIR at an existing, writable folder (or create this one), and run it again."),
      fields.cause === undefined ? undefined : { cause: fields.cause },
    );
    this.folder = fields.folder;
    this.systemCode = fields.systemCode;
    this.operation = fields.operation;
  }
}

/**
 * A registry generated for one SQL dialect was given to a driver of another: its checksums, SQL
 * checks and SQL text are for the other database. Thrown when the manager is constructed, before
 * anything touches the database.
 */
export class RegistryDialectMismatchError extends StepwiseError {
  override readonly name: string = "RegistryDialectMismatchError";
  /** The dialect the registry (its first entry of another dialect) was generated for. */
  declare readonly registryDialect: string;
  /** The dialect the driver speaks. */
  declare readonly driverDialect: string;
  /** The driver's name, such as `"better-sqlite3"`. */
  declare readonly driver: string;
  /** The first entry of the other dialect. */
  declare readonly version: number;
  declare readonly file: string;

  constructor(fields: { registryDialect: string; driverDialect: string; driver: string; version: number; file: string }) {
    super(
      "REGISTRY_DIALECT_MISMATCH",
      `The registry was generated for ${fields.registryDialect} (${fields.file}, version ${fields.version}), but the ${fields.driver} driver runs ${fields.driverDialect}. ${NOTHING_CHANGED} ` +
        `Import a registry generated for ${fields.driverDialect} (stepwise gen --dialect ${fields.driverDialect}), or use a ${fields.registryDialect} driver.`,
    );
    this.registryDialect = fields.registryDialect;
    this.driverDialect = fields.driverDialect;
    this.driver = fields.driver;
    this.version = fields.version;
    this.file = fields.file;
  }
}
