/**
 * Every failure stepwise reports is a {@link StepwiseError} with a stable `code` and the facts behind
 * it as fields, so programs (and tests) branch on data and people read the message.
 */
import type { ErrorKind } from "./error-kind.js";
import type { MigrationDirection } from "./types.js";
import type { DriverCapability } from "./driver-capabilities.js";
import type { SchemaDifference } from "./schema-difference.js";
import { keepText, spell, type Text } from "./option-text.js";

/** The name of a codegen tool (historically an optional peer dependency, hence the name). */
export type OptionalPeer = "ts-morph" | "prettier" | "tsx";

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
   * async (or a Durable Object met one). Nothing was read or written.
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
   * `operation`): a backup or restore on a driver with no second file, a write through sql.js in
   * the CLI, a TypeScript migration on D1 (`atomicBatch`). Refused before anything ran. On a
   * server, `tool` names the tool to use instead (`pg_dump`, `pg_restore`).
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
   * the way), or, for `restore`, the folders it writes the restored and the replaced database to.
   * The database was not touched.
   * Fix: Make the folder writable, or pass another one to `--backup DIR`.
   */
  | "BACKUP_FOLDER_UNWRITABLE"
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

/**
 * Every failure stepwise reports: a stable {@link StepwiseError.code | code} to branch on, the facts
 * behind it in {@link StepwiseError.details | details} (their shape is the code's, in
 * {@link StepwiseErrorDetails}), and a message for people. {@link StepwiseError.is | is} narrows
 * `details` to one code's:
 *
 * @example
 * try {
 *   manager.up();
 * } catch (error) {
 *   if (error instanceof StepwiseError && error.is("CHECKSUM_MISMATCH")) console.error(error.details.file, error.details.fix.command);
 *   else throw error;
 * }
 */
export class StepwiseError<C extends StepwiseErrorCode = StepwiseErrorCode> extends Error {
  // A literal, not the class's own name: a bundler that minifies renames classes.
  override readonly name: string = "StepwiseError";
  /** Stable identifier; safe to branch on. */
  declare readonly code: C;
  /** The facts behind the failure, shaped by {@link code}: see {@link StepwiseErrorDetails}. */
  declare readonly details: StepwiseErrorDetails[C];
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
  constructor(code: C, message: string | Text, details: StepwiseErrorDetails[C], options?: { cause?: unknown }) {
    super(spell(message, "api"), options);
    this.code = code;
    this.details = details;
    if (typeof message !== "string") keepText(this, "message", message);
  }

  /** Whether this error has `code`; narrows {@link details} to that code's. */
  is<K extends StepwiseErrorCode>(code: K): this is StepwiseError<K> {
    return (this.code as StepwiseErrorCode) === code;
  }
}

/**
 * The {@link StepwiseError.details | details} of each code: the facts a program (or the CLI's
 * `--json`) reads instead of the message.
 */
export interface StepwiseErrorDetails {
  readonly REGISTRY_INVALID: {
    readonly problems: readonly RegistryProblem[];
  };
  readonly REGISTRY_LOAD_FAILED: {
    /** The registry file, relative to the project root. */
    readonly file: string;
    /** Where the failure was reported (`file:line:col`), when the error says; `null` otherwise. */
    readonly location: string | null;
  };
  readonly REGISTRY_STALE: {
    /** The registry file, relative to the project root. */
    readonly registryFile: string;
    /** What differs, file by file. */
    readonly changes: readonly RegistryChange[];
    /** Why `gen` cannot write a current registry yet (an unedited template, a syntax error); often empty. */
    readonly problems: readonly RegistryGenProblem[];
  };
  readonly REGISTRY_DIALECT_MISMATCH: {
    /** The dialect the registry (its first entry of another dialect) was generated for. */
    readonly registryDialect: string;
    /** The dialect the driver speaks. */
    readonly driverDialect: string;
    /** The driver's name, such as `"better-sqlite3"`. */
    readonly driver: string;
    /** The first entry of the other dialect. */
    readonly version: number;
    readonly file: string;
  };
  readonly CHECKSUM_MISMATCH: {
    readonly version: number;
    readonly file: string;
    /** The checksum of the migration as the registry has it now. */
    readonly registryChecksum: string;
    /** The checksum recorded when the migration was applied. */
    readonly databaseChecksum: string;
    /**
     * What to do, for a script or a UI: the same two ways out the message gives. `command` is the
     * CLI's command line for the deliberate way, whoever reads it.
     */
    readonly fix: { readonly accidental: string; readonly deliberate: string; readonly command: string };
  };
  readonly DATABASE_AHEAD: {
    /** Applied versions the registry lacks, ascending. */
    readonly unknownVersions: readonly number[];
    /** The newest version the registry knows (0 for an empty registry). */
    readonly latestKnownVersion: number;
  };
  readonly HISTORY_OUT_OF_ORDER: {
    readonly missingVersions: readonly number[];
    readonly highestAppliedVersion: number;
  };
  /** The table's shape (`missingColumns`), or one of its rows (`rowid`, `version`, `problem`). */
  readonly HISTORY_TABLE_INVALID:
    | {
        readonly table: string;
        readonly missingColumns: readonly string[];
      }
    | {
        /** `null` when the rows were handed to the planner directly, not read from a table. */
        readonly table: string | null;
        /** The row's rowid, to find it with `SELECT * FROM <table> WHERE rowid = ?`; `null` when the table has none. */
        readonly rowid: number | null;
        /** The `version` value as stored. */
        readonly version: unknown;
        readonly problem: HistoryRowProblem;
      };
  readonly HISTORY_ROW_MISSING: {
    readonly table: string;
    readonly version: number;
    readonly operation: HistoryRowOperation;
    /** The migration's file, once the manager has named it; `null` from the history store alone. */
    readonly file: string | null;
    readonly direction: MigrationDirection | null;
    /** Always false: the migration's changes stay in the database. */
    readonly rolledBack: false;
    /** True when a `started` row was written back, so the next `up` stops instead of running it again. */
    readonly restoredStartedRow: boolean;
  };
  readonly HISTORY_CHANGED_BY_MIGRATION: {
    readonly version: number;
    readonly file: string;
    readonly direction: MigrationDirection;
    /** The history table's name. */
    readonly table: string;
    /** What the migration did to it, in a few words ("a row written", "dropped or altered"). */
    readonly change: string;
    /** False only for a `transaction: false` migration, whose statements before the failure stayed. */
    readonly rolledBack: boolean;
    /** Whether the history table was left as the migration changed it (a `transaction: false` migration on a storage that can only detect the change afterwards). */
    readonly historyChanged: boolean;
  };
  readonly INCOMPLETE_MIGRATION: {
    readonly version: number;
    readonly file: string;
    readonly startedAt: string;
  };
  readonly UNMANAGED_DATABASE: {
    readonly tables: readonly string[];
  };
  readonly INVALID_TABLE_NAME: {
    readonly tableName: string;
  };
  readonly MIGRATION_FAILED: {
    readonly version: number;
    readonly file: string;
    readonly direction: MigrationDirection;
    /** False only for `transaction: false` migrations, whose partial effects cannot be rolled back. */
    readonly rolledBack: boolean;
    /** The snapshot taken before this run, when `up` was asked to take one; otherwise `null`. */
    readonly backupPath: string | null;
    /**
     * Set when the failure is SQLite's "FOREIGN KEY constraint failed" from dropping or renaming a table
     * other tables reference, with enforcement on (a table rebuild): the table, its children and the
     * fix. `null` for every other failure, a foreign-key failure from a bad row included.
     */
    readonly foreignKeyRebuild: ForeignKeyRebuildHint | null;
    /**
     * Where in the migration's file the failing statement starts (a SQL migration's, found from the
     * database's error position or by running its statements one by one once it failed), or `null`
     * when that is not known: a TypeScript migration (its error's stack names its line), a failure of
     * stepwise's own statements, or a registry written before `gen` recorded the SQL's lines.
     */
    readonly location: SqlLocation | null;
    /** The server's DETAIL of the failure (PostgreSQL: which view depends on the column dropped), or `null`. */
    readonly detail: string | null;
    /** The server's HINT of the failure (PostgreSQL: "Use DROP ... CASCADE to drop the dependent objects too."), or `null`. */
    readonly hint: string | null;
    /**
     * On PostgreSQL, the invalid indexes (each an `InvalidIndex`) in the way of running it again, each
     * with the statement that removes it: those this `transaction: false` migration left, or the one an
     * earlier attempt left under the name its statement found taken ("already exists"). Empty otherwise.
     */
    readonly invalidIndexes: readonly InvalidIndex[];
  };
  readonly TRANSACTION_ESCAPED: {
    readonly version: number;
    readonly file: string;
    readonly direction: MigrationDirection;
    /**
     * `yes` when the migration committed: what it ran before ending the transaction (and, with
     * `transaction: "all"`, the migrations before it in the run, with their history rows) stays in
     * the database. `no` when the database is as it was. `unknown` when statements may have been.
     */
    readonly committed: EscapedCommit;
  };
  readonly FOREIGN_KEY_VIOLATION: {
    readonly version: number;
    readonly file: string;
    readonly direction: MigrationDirection;
    /** The first violations found (at most 100). */
    readonly violations: readonly ForeignKeyViolation[];
    readonly violationCount: number;
  };
  readonly IRREVERSIBLE_MIGRATION: {
    readonly version: number;
    readonly file: string;
  };
  readonly INVALID_TARGET: {
    readonly target: number;
  };
  readonly WHOLE_RUN_TRANSACTION_REFUSED: {
    readonly version: number;
    readonly file: string;
    readonly obstacle: WholeRunObstacle;
    /** The call refused: `"up"` applies, `"down"` reverts. */
    readonly direction: MigrationDirection;
    /** The obstacle is the first migration of the run, so no shorter run in one transaction gets past it. */
    readonly firstOfRun: boolean;
    /** The calls that get past it: the part of the run before it in one transaction, then the rest without. */
    readonly fix: string;
  };
  readonly BATCH_KEY_INVALID: {
    readonly table: string;
    readonly key: string;
    readonly problem: BatchKeyProblem;
    /** The table's columns, to pick a key from; empty when the table does not exist. */
    readonly columns: readonly string[];
    /** The offending key value, for `duplicate-key`, `not-increasing` and `unsafe-integer`. */
    readonly value: unknown;
    /** The migration that called `forEachBatch`. */
    readonly version: number;
    readonly file: string;
  };
  readonly BATCH_OPTIONS_INVALID: {
    readonly option: "batchSize" | "where";
    readonly value: unknown;
    /** The migration that called `forEachBatch`. */
    readonly version: number;
    readonly file: string;
  };
  readonly ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER: {
    /** The async migrations' versions, ascending. */
    readonly versions: readonly number[];
    /** Their files, project-relative, in the order of `versions`. */
    readonly files: readonly string[];
    /** The driver whose sync API refused, such as `"better-sqlite3"`. */
    readonly driver: string;
    /** The package entry whose async API runs them, such as `"stepwise-migrate/better-sqlite3"`. */
    readonly entry: string;
    /** What to write instead, snippet-sized: the import and the awaited call. */
    readonly fix: string;
  };
  readonly ASYNC_IN_SYNC_RUNNER: {
    /** What returned the promise: a driver primitive's name, or `"up"`/`"down"` for a migration body. */
    readonly source: string;
    /** What to do instead, for a migration body: declare it `async` and apply it with `migrateAsync`; otherwise `null`. */
    readonly fix: string | null;
  };
  readonly ASYNC_RUN_IN_PROGRESS: {
    /** The driver's name, such as `"better-sqlite3"`. */
    readonly driver: string;
  };
  readonly TRANSACTION_OPEN: {
    /** The driver's name, such as `"libsql"`. */
    readonly driver: string;
    /** What was asked, such as `"takeBackup"`. */
    readonly operation: string;
  };
  readonly DATABASE_LOCKED: {
    /** How long stepwise was told to wait (the busy timeout). */
    readonly busyTimeoutMs: number;
    /** The backup file that was locked, when `restore` waited for it; absent when the database was. */
    readonly file?: string;
    /**
     * How long it actually waited, measured around the refused operation: the busy timeout when the
     * lock outlasted it, less when the refusal came earlier (SQLite refuses some waits at once). `null`
     * when nothing timed it.
     */
    readonly waitedMs: number | null;
    /**
     * The processes holding locks on the file, found through `/proc/locks` on Linux; empty where the
     * operating system does not say (other platforms, another host, or a lock already released).
     */
    readonly holders: readonly LockHolder[];
  };
  readonly MIGRATION_IN_PROGRESS: {
    readonly version: number;
    readonly file: string;
    readonly startedAt: string;
    /** The process recorded as running it, or `null` when the row names none. */
    readonly owner: MigrationOwnerInfo | null;
    readonly waitedMs: number;
  };
  readonly LOCK_TIMEOUT: {
    /** The migration whose statement waited, or `null` for stepwise's own (reading the history). */
    readonly version: number | null;
    readonly file: string | null;
    readonly direction: MigrationDirection | null;
    /** The `lock_timeout` stepwise set (`lockTimeoutMs`); 0 when it set none and the session's or server's ran out. */
    readonly lockTimeoutMs: number;
    /** The relation waited for (`schema.name`), or `null` when unknown or not a relation's lock. */
    readonly relation: string | null;
    /** The kind of lock waited for (`pg_locks.locktype`), or `null` when the wait was not seen. */
    readonly lockType: string | null;
    /** The mode asked for (`AccessExclusiveLock`), or `null` when the wait was not seen. */
    readonly mode: string | null;
    /** The sessions that held it; empty when the wait was not seen (it began and ran out between two looks). */
    readonly holders: readonly LockHolderSession[];
    /** False for a `transaction: false` migration, whose statements before this one stay. */
    readonly rolledBack: boolean;
    /** The invalid indexes a `transaction: false` migration left, each with the statement that removes it. */
    readonly invalidIndexes: readonly InvalidIndex[];
    /** What to do next. */
    readonly fix: string;
  };
  readonly CONNECTION_LOST: {
    /** The migration that was running, or `null` when none was. */
    readonly version: number | null;
    readonly file: string | null;
    readonly direction: MigrationDirection | null;
    readonly outcome: ConnectionLossOutcome;
    /** What was under way when no migration was, such as `"waiting for the run lock"`; otherwise `null`. */
    readonly during: string | null;
    /** The server's or the library's words: `terminating connection due to administrator command`. */
    readonly reason: string;
    /** What to do next. */
    readonly fix: string;
  };
  readonly DATABASE_UNUSABLE: {
    /** The SQLite error code, such as `SQLITE_NOTADB` or `SQLITE_READONLY`. */
    readonly sqliteCode: string | null;
    /** On a server: which of the common cases it is, `unknown` for the rest; absent for a file. */
    readonly problem?: ConnectionProblem;
    /** On a server: its own words (`password authentication failed for user "app"`), or the socket's; never the URL. */
    readonly reason?: string;
    /** On a server: what to change, for a script to show; `null` when the case is not one stepwise knows. */
    readonly fix?: string | null;
    /** On a server: PostgreSQL's SQLSTATE (`28P01`), or the system's code (`ECONNREFUSED`), or `null`. */
    readonly reasonCode?: string | null;
  };
  readonly DATABASE_NEEDS_RECOVERY: {
    /** `SQLITE_READONLY_ROLLBACK` (hot rollback journal) or `SQLITE_READONLY_RECOVERY` (WAL). */
    readonly sqliteCode: string;
  };
  readonly DATABASE_PATH_INVALID: {
    readonly path: string;
    readonly problem: DatabasePathProblem;
    /** What `path` is on disk, when that is the problem (`directory`, `not-a-file`, `dangling-symlink`, `journal-not-a-file`); otherwise `null`. */
    readonly kind: FileKind | null;
  };
  readonly PATH_NOT_UTF8: {
    /** The path as it reached stepwise. */
    readonly path: string;
    /** The bytes as given, escaped (`\xff.db`), where the process's own arguments or environment show them; else the path with U+FFFD as `\ufffd`. */
    readonly bytes: string;
  };
  readonly DATABASE_FOLDER_MISSING: {
    readonly databasePath: string;
    readonly folder: string;
  };
  readonly DISK_FULL: {
    /** The migration that was running, or `null` when the failure was in stepwise's own bookkeeping. */
    readonly version: number | null;
    readonly file: string | null;
    readonly sqliteCode: string;
  };
  readonly DRIVER_UNKNOWN: {
    /** The name as given. */
    readonly driver: string;
    /** Where it came from: `"--driver"`, or the config file's path (and key). */
    readonly source: string;
    /** The names that are accepted. */
    readonly validDrivers: readonly string[];
  };
  readonly DRIVER_NOT_INSTALLED: {
    /** The driver's name, such as `"libsql"`. */
    readonly driver: string;
    /** The npm package that provides it. */
    readonly packageName: string;
    /** The command that installs (or rebuilds) it. */
    readonly installCommand: string;
    readonly reason: "missing" | "unloadable";
  };
  readonly DRIVER_RUNTIME_UNSUPPORTED: {
    /** The driver's name. */
    readonly driver: string;
    /** The runtime this process is, such as `"node 20.18.0"`. */
    readonly runtime: string;
    /** What the driver needs, such as `"node >= 22.16"` or `"bun"`. */
    readonly required: string;
  };
  readonly DRIVER_CAPABILITY_MISSING: {
    /** The driver's name, such as `"sql.js"`. */
    readonly driver: string;
    /** What it lacks. */
    readonly capability: DriverCapability;
    /** What was asked of it, such as `"rehearseUp"`. */
    readonly operation: string;
    /** The migration file that asked it, when one did; otherwise `null`. */
    readonly file: string | null;
    /** What to do instead, when there is a way; otherwise `null`. */
    readonly fix: string | null;
    /** For a backup or restore on a server: the server's tool to use instead. */
    readonly tool?: ServerBackupTool;
  };
  readonly SCHEMA_MISMATCH: {
    readonly version: number;
    readonly differences: readonly SchemaDifference[];
    readonly drift: readonly string[];
  };
  readonly SCHEMA_DRIFT: {
    readonly version: number;
    readonly differences: readonly SchemaDifference[];
  };
  readonly ALREADY_MANAGED: {
    readonly currentVersion: number;
  };
  readonly REHEARSAL_REFUSED: {
    readonly version: number;
    readonly file: string;
    /** Why the migration cannot join the rehearsal's transaction. */
    readonly obstacle: WholeRunObstacle;
    /** The driver's name, such as `"pg"`. */
    readonly driver: string;
  };
  readonly SCRATCH_DATABASE_UNAVAILABLE: {
    /** The driver's name, `"pg"`. */
    readonly driver: string;
    /** The name the scratch database would have had. */
    readonly database: string;
    /** PostgreSQL's SQLSTATE for the refusal (`42501` for a missing privilege), or `null`. */
    readonly sqlstate: string | null;
  };
  readonly TEMP_FOLDER_UNUSABLE: {
    /** The temporary folder as resolved (`os.tmpdir()`). */
    readonly folder: string;
    /** The operating system's code (`ENOENT`, `ENOTDIR`, `EACCES`, `ENOSPC`...), or `null`. */
    readonly systemCode: string | null;
    /** What needed it, such as `"rehearseUp"`, or `"snapshot"` when the driver was called directly. */
    readonly operation: string;
  };
  readonly DATABASE_DAMAGED: {
    readonly databasePath: string;
    /** The check that failed. */
    readonly check: "quick_check";
    /** What the check reported, a line each (at most 20). */
    readonly problems: readonly string[];
    readonly fix: string;
  };
  readonly BACKUP_INVALID: {
    readonly file: string;
    readonly reason: string;
    /** What the path is when it is no regular file (`missing`, `fifo`, `directory`...); otherwise `null`. */
    readonly kind: FileKind | null;
  };
  readonly BACKUP_FOREIGN: {
    readonly file: string;
    /** Every disagreement, ascending by version. */
    readonly reasons: readonly ForeignBackupReason[];
  };
  readonly BACKUP_IS_DATABASE: {
    readonly backupFile: string;
    readonly databasePath: string;
  };
  readonly BACKUP_DISK_FULL: {
    /** The backup folder that ran out of room. */
    readonly directory: string;
    /** The file being written when it did (removed again). */
    readonly path: string;
    /** `SQLITE_FULL`, `SQLITE_IOERR_WRITE`, `ENOSPC`, `EFBIG`...: what the system reported. */
    readonly systemCode: string;
    /** Free bytes in the backup folder's file system afterwards, when the system says. */
    readonly availableBytes: number | null;
    /** The size of the database being copied. */
    readonly neededBytes: number | null;
  };
  readonly BACKUP_FOLDER_UNWRITABLE: {
    readonly directory: string;
    /** `EACCES`, `EROFS`, `ENOTDIR`, `SQLITE_CANTOPEN`...: what the system reported. */
    readonly systemCode: string;
  };
  readonly USAGE: {
    /** For an unset `${VAR}` in the config: the setting, such as `url`. */
    readonly setting?: string;
    /** For an unset `${VAR}` in the config: the variable it names, such as `DATABASE_URL`. */
    readonly variable?: string;
    /** For an unset `${VAR}` in the config: the config file that names it. */
    readonly configFile?: string;
    /** For no database given: every place looked at, in the order the CLI reads them. */
    readonly searched?: readonly DatabaseLookup[];
  };
  readonly MISSING_DEPENDENCY: {
    /** The packages to install. */
    readonly packages: readonly OptionalPeer[];
    /** The npm command that installs them, with versions stepwise supports. */
    readonly installCommand: string;
  };
  readonly DEPENDENCY_VERSION_UNSUPPORTED: {
    /** The package. */
    readonly package: OptionalPeer;
    /** The version found, as its package.json says. */
    readonly installedVersion: string;
    /** The major version stepwise supports. */
    readonly supportedMajor: number;
    /** Where the package was found. */
    readonly packageFile: string;
    /** The npm command that installs a supported version. */
    readonly installCommand: string;
  };
  readonly FILE_WRITE_FAILED: {
    /** The file that was being replaced or created, as the caller named it. */
    readonly file: string;
    readonly step: FileWriteStep;
    /** The operating system's code (`ENOSPC`, `EDQUOT`, `EIO`, `EFBIG`, `EXDEV`, `EACCES`...), or `null`. */
    readonly systemCode: string | null;
    readonly bytesWritten: number;
    readonly bytesExpected: number;
  };
  readonly GIT_NOT_FOUND: {
    /** What needed git, such as `stepwise rebase`. */
    readonly operation: string;
  };
  /** The project is outside a work tree (`directory`, `operation`), or its migrations folder is (`migrationsDir`, `topLevel`). */
  readonly NOT_A_GIT_REPOSITORY:
    | {
        readonly directory: string;
        readonly operation: string;
      }
    | {
        readonly migrationsDir: string;
        readonly topLevel: string;
      };
  readonly GIT_REF_NOT_FOUND: {
    /** The ref that was asked for, or `null` when none was given and no default branch was found. */
    readonly ref: string | null;
    /** The refs that were tried, in order. */
    readonly tried: readonly string[];
  };
  readonly GIT_FAILED: {
    readonly args: readonly string[];
    readonly exitCode: number | null;
    readonly stderr: string;
  };
  readonly GIT_HISTORY_SHALLOW: {
    readonly base: string;
  };
  readonly REBASE_APPLIED_MIGRATION: {
    /** The database that was read (a path, or a URL with its password hidden). */
    readonly database: string;
    readonly migrations: readonly RebaseMigrationRef[];
  };
  readonly REBASE_CONFLICT: {
    readonly reason: RebaseConflictReason;
    /** Project-relative files involved. */
    readonly files: readonly string[];
  };
  readonly REBASE_RENAME_FAILED: {
    /** The file being moved or rewritten when it failed. */
    readonly file: string;
    /** The operating system's code (`EACCES`, `EXDEV`...), or `null`. */
    readonly systemCode: string | null;
    /** Whether every earlier step was undone. */
    readonly restored: boolean;
    /** When not restored: `temporary -> original` moves that are still to do by hand. */
    readonly pending: readonly string[];
  };
}

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

/** The command that realigns recorded checksums after a deliberate edit (`src/safety/checksum-repair.ts`). */
export const REPAIR_CHECKSUMS_COMMAND = "stepwise repair --checksums";
/** Why a history row was refused by `HISTORY_TABLE_INVALID`. */
export type HistoryRowProblem = "version-not-positive-integer" | "duplicate-version" | "checksum-not-text" | "unknown-state";
/** Which history write found its row gone, in `HISTORY_ROW_MISSING`. */
export type HistoryRowOperation = "mark-applied" | "mark-started" | "delete";

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

/**
 * Whether a migration that ended stepwise's transaction got anything committed: `yes` (proven),
 * `no` (proven: the database is as it was), or `unknown` (it ran statements after ending the
 * transaction, and SQLite commits each of those on its own).
 */
export type EscapedCommit = "yes" | "no" | "unknown";

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

/** Why `DATABASE_PATH_INVALID` refused a path. */
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
/** Why `BATCH_KEY_INVALID` refused a `forEachBatch` walk. */
export type BatchKeyProblem = "no-such-table" | "no-such-column" | "no-rowid" | "null-key" | "duplicate-key" | "not-increasing" | "unsafe-integer" | "invalid-key";

/** One row `PRAGMA foreign_key_check` reported. */
export interface ForeignKeyViolation {
  /** The child table holding the dangling reference. */
  readonly table: string;
  readonly rowid: number | null;
  /** The parent table the reference points to. */
  readonly parent: string;
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

/** The step of a file write that failed, for `FILE_WRITE_FAILED`. */
export type FileWriteStep = "create-temporary" | "write" | "flush" | "close" | "rename" | "link";

/** Who started a `transaction: false` migration, as recorded in its `started` history row. */
export interface MigrationOwnerInfo {
  readonly pid: number;
  readonly host: string;
}
/** A migration that rebase would renumber, as the refusal names it. */
export interface RebaseMigrationRef {
  readonly version: number;
  readonly name: string;
  /** Project-relative, forward slashes. */
  readonly file: string;
}
/** Why rebase cannot decide on its own. */
export type RebaseConflictReason = "edited-on-both-sides" | "unmerged" | "target-exists";
/**
 * How the migrations folder differs from the registry: a migration `added` to the folder, `changed`
 * in it (or in a local file it imports), `removed` from it, or the `registry` itself missing or
 * edited by hand. A renamed file is one `removed` and one `added`.
 */
export type RegistryChangeKind = "added" | "changed" | "removed" | "registry";
/** One difference between the migrations folder and the registry. */
export interface RegistryChange {
  /** The migration (or, for `registry`, the registry file), relative to the project root. */
  readonly file: string;
  readonly change: RegistryChangeKind;
  /** For `changed`: the local files the migration imports, whose edits count as its own. */
  readonly relatedFiles?: readonly string[];
}
/** A problem that stops `gen` from writing a current registry, as plain data. */
export interface RegistryGenProblem {
  readonly code: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}
/** Why a connection could not be opened, as `DATABASE_UNUSABLE`'s `problem` names it. */
export type ConnectionProblem =
  | "wrong-password"
  | "password-missing"
  | "missing-database"
  | "missing-role"
  | "not-allowed"
  | "tls-required"
  | "tls-refused"
  | "tls-certificate"
  | "too-many-connections"
  | "server-starting"
  | "refused"
  | "closed-at-start"
  | "host-not-found"
  | "timed-out"
  | "unknown";
/**
 * What a lost connection did to the migration that was running:
 * - `none-running`: none was (the run lock was being waited for, the history read, or one had just
 *   finished); what this run applied before is applied;
 * - `rolled-back`: it ran in a transaction, which the server rolled back when the session ended;
 * - `commit-unknown`: its COMMIT was on the way, and the server may or may not have committed it;
 * - `partly-applied`: it runs outside a transaction (`transaction: false`), so some of it may be in
 *   the database; its `started` row stays, and the next run stops at it.
 */
export type ConnectionLossOutcome = "none-running" | "rolled-back" | "commit-unknown" | "partly-applied";
/**
 * A session that held a lock another waited for, as `pg_stat_activity` shows it. Never its query
 * text, which may hold secrets; `null` where the server hides a field (another role's session, to a
 * role without `pg_read_all_stats`).
 */
export interface LockHolderSession {
  /** Its server process (`pg_terminate_backend(pid)` ends it). */
  readonly pid: number;
  /** Its `application_name`, or `null` when empty. */
  readonly applicationName: string | null;
  /** `active`, `idle in transaction`... */
  readonly state: string | null;
  /** When its transaction began (ISO 8601). */
  readonly transactionStart: string | null;
  /** When its current or last query began (ISO 8601). */
  readonly queryStart: string | null;
}
/** Why a migration cannot join a whole-run transaction. */
export type WholeRunObstacle =
  /** It has `transaction: false`: SQLite refuses its statements (VACUUM, some PRAGMAs) in a transaction. */
  | "transaction-false"
  /**
   * It sets `disableForeignKeys` while enforcement is on. The switch only works outside a
   * transaction, so it would cover every migration of the run, and cascades that the others rely on
   * would silently stop.
   */
  | "foreign-keys-off";
/** The server tool that does what was asked. */
export type ServerBackupTool = "pg_dump" | "pg_restore";
/** One place the CLI looked for the database, and what it found there. */
export interface DatabaseLookup {
  /** A flag, an environment variable, or an absolute file path. */
  readonly place: string;
  /** What that place held, such as `not found` or `no "stepwise" key`. */
  readonly found: string;
}
