/** The one error class and what each of its codes means. docs/errors.md is generated from the comments on {@link StepwiseErrorDetails} (`npm run docs:errors`): each says what the code means, then
 * `Fix:` and how to fix it. */
import type { MigrationDirection } from "./types.js";
import type { DriverCapability } from "./driver-capabilities.js";
import { keepText, spell, type Text } from "./option-text.js";

/**
 * Every failure stepwise reports: a stable {@link StepwiseError.code | code} to branch on, the facts behind it in
 * {@link StepwiseError.details | details} (shaped per code, see {@link StepwiseErrorDetails}), and a message for people.
 * {@link StepwiseError.is | is} narrows `details` to one code's.
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
  /** When this error wraps a database library's error (down its `cause` chain): that error's code as the driver reads it, such as `SQLITE_CONSTRAINT_UNIQUE` or a PostgreSQL SQLSTATE, the same on
   * every driver; otherwise `null`. */
  readonly nativeCode: string | null = null;
  /** The same reading as stepwise's kind of failure (`locked`, `full`, `readonly`...), or `null` with {@link nativeCode}. */
  readonly nativeKind: ErrorKind | null = null;

  /** @param message the message, or a `Text` naming options and calls, which the CLI prints in its own spelling. */
  constructor(code: C, message: string | Text, details: StepwiseErrorDetails[C], options?: { cause?: unknown }) {
    super(spell(message, "api"), options?.cause === undefined ? undefined : options);
    this.code = code;
    this.details = details;
    if (typeof message !== "string") keepText(this, "message", message);
  }

  /** Whether this error has `code`; narrows {@link details} to that code's. */
  is<K extends StepwiseErrorCode>(code: K): this is StepwiseError<K> {
    return (this.code as StepwiseErrorCode) === code;
  }
}

/** Every `code` a {@link StepwiseError} can carry. */
export type StepwiseErrorCode = keyof StepwiseErrorDetails;

/** The {@link StepwiseError.details | details} of each code: the facts a program (or the CLI's `--json`) reads instead of the message. */
export interface StepwiseErrorDetails {
  // Group: The registry and the history table
  /** The registry breaks the version rules (a duplicate, a gap, a version below 1, a malformed entry). `gen` never writes such a registry, so it was edited by hand.
   * Fix: Regenerate it with `stepwise gen` instead of editing it. */
  readonly REGISTRY_INVALID: Readonly<{ problems: readonly RegistryProblem[] }>;
  /** A command of the bin that runs the registry (`status`, `up`, `down`, `verify`, `fleet` and the other runtime commands) could not import the registry module (`file`, at `location` when known):
   * it does not compile (edited by hand, or a merge left conflict markers in it), a migration it imports throws while loading, or a package it needs is not installed (`location` is then the import
   * that needs it: the migration's own, or its import of a driver entry whose library the app lacks). (`gen` reports a registry file it cannot read as `REGISTRY_UNREADABLE`, and `gen --check`'s replay
   * one it cannot import as `REPLAY_REGISTRY_UNLOADABLE`.) An app's embedded CLI (`createCli`) reports its `migrations` function throwing as this, `file` then `createCli's migrations`.
   * Fix: If a migration throws when it is imported, fix it there; install a missing package, or import `defineMigration` from the entry of the driver the app uses; if the registry itself is broken,
   * run `stepwise gen` to rewrite it. */
  readonly REGISTRY_LOAD_FAILED: Readonly<{ file: string; location: string | null }>;
  /** A runtime command of the bin found the registry out of date with the migrations folder (a migration added, changed or removed, or the registry edited), and ran nothing. `changes` names each file
   * and how it differs; `problems` are gen's own when gen cannot write a current registry yet.
   * Fix: Run `stepwise gen` (or keep `stepwise gen --watch` running). `STEPWISE_SKIP_REGISTRY_CHECK=1` runs the registry as it is, for rolling back mid-merge. */
  readonly REGISTRY_STALE: Readonly<{ registryFile: string; changes: readonly RegistryChange[]; problems: readonly RegistryGenProblem[] }>;
  /** A registry generated for one SQL dialect was given to a driver of the other (a SQLite registry to `stepwise-migrate/pg`, or the reverse); `version` and `file` name its first entry of the other
   * dialect. Refused when the manager is constructed, before the database is touched.
   * Fix: Import the registry generated for the driver's dialect (`stepwise gen --dialect postgres` writes the PostgreSQL one). */
  readonly REGISTRY_DIALECT_MISMATCH: Readonly<{ registryDialect: string; driverDialect: string; driver: string; version: number; file: string }>;
  /** The checksum the history recorded for an applied migration differs from the registry's: its file was edited after it ran, or, when the history recorded another name for that version
   * (`replaced`; `recordedName` is the name recorded, `null` where the read gave none), the migrations were renumbered (`renumberedTo`: where the registry now has that name) or the file replaced.
   * Nothing ran. `fix` holds the message's two ways out; `fix.command` is the CLI's command line for the deliberate one.
   * Fix: If the edit was an accident, restore the file (for a TypeScript migration, or the project files it imports, which its checksum covers). If it was deliberate and the database already has what the file now says, record the new checksum with `stepwise repair --checksums --yes`; on
   * a development database, `stepwise reset --yes` starts over. If `replaced` (which `repair --checksums` refuses), roll back to the version before it with the build that applied it (`stepwise down
   * --to <version - 1>`), then `stepwise up`; or put the numbering back. */
  readonly CHECKSUM_MISMATCH: Readonly<{
    version: number;
    file: string;
    registryChecksum: string;
    databaseChecksum: string;
    recordedName: string | null;
    replaced: boolean;
    renumberedTo: Readonly<{ version: number; file: string }> | null;
    fix: Readonly<{ accidental: string; deliberate: string; command: string }>;
  }>;
  /** The database records migrations this registry does not have (`unknownVersions`, ascending): a newer build of the app migrated it. `latestKnownVersion` is 0 for an empty registry.
   * Fix: Run a newer build, or roll those migrations back with the build that applied them. */
  readonly DATABASE_AHEAD: Readonly<{ unknownVersions: readonly number[]; latestKnownVersion: number }>;
  /** The history records a migration but not some versions below it: a row was deleted by hand, or a migration was renumbered after it ran.
   * Fix: Restore the missing rows, or the numbering the database was migrated with. */
  readonly HISTORY_OUT_OF_ORDER: Readonly<{ missingVersions: readonly number[]; highestAppliedVersion: number }>;
  /** The history table exists but has another shape (another tool owns a table of that name: `missingColumns`; `adoptedInto` names the tables `stepwise adopt` put this database's history in,
   * as when it was adopted with `--table` and a later command left the flag out), or one of its rows holds something stepwise never writes (`rowid`, `version` as stored, `problem`; `table` is `null`
   * for rows handed to the planner directly), or it refuses the rows stepwise writes (`problem`: `not-null-column`, `check-constraint`, `unique-constraint`, `foreign-key`, `constraint`, `column-type` or `trigger`; `column` and `constraint` name what refused, where known). A column
   * stepwise never fills that is `NOT NULL` with no default (and, on PostgreSQL, no trigger or rule that could fill it) is refused before anything runs (`version` `null`), by every command that
   * reads the history; a CHECK, UNIQUE or foreign-key constraint, a column type or a trigger that refuses stepwise's row for migration `version` is found when it is written: that write's
   * transaction is rolled back, the migration's changes with it, so the database is as it was before that transaction. The migration's file is not at fault.
   * Fix: Pass the table `adoptedInto` names (`--table`, `tableName`); else give stepwise a history table of its own, or `stepwise adopt` the database from the tool that owns it; or fix or delete the
   * bad row, or restore a backup. For a refused write: give `column` a default or drop it, or drop the constraint or trigger that refuses stepwise's rows, then run the command again. */
  readonly HISTORY_TABLE_INVALID: Readonly<
    | { table: string; missingColumns: readonly string[]; adoptedInto: readonly string[] }
    | { table: string | null; rowid: number | null; version: unknown; problem: HistoryRowProblem }
    | { table: string; problem: HistoryWriteProblem; column: string | null; constraint: string | null; version: number | null }
  >;
  /** A history write of the migration this process was running changed no row: another process removed the row (`repair --forget`, a `DELETE`), or a trigger or rule on the history table discarded it.
   * Running the migration again could apply it twice, so the run stopped; its changes stay (`rolledBack` is always false), and `restoredStartedRow` says whether a `started` row was written back so
   * that the next `up` stops at it.
   * Fix: Check the database; drop any trigger or rule on the history table; then resolve the migration with `stepwise repair --applied N` or `--forget N`. */
  readonly HISTORY_ROW_MISSING: Readonly<{
    table: string;
    version: number;
    operation: HistoryRowOperation;
    file: string | null;
    direction: MigrationDirection | null;
    rolledBack: false;
    restoredStartedRow: boolean;
  }>;
  /** A migration wrote stepwise's history table (a row inserted, changed or deleted, or the table dropped, renamed or altered; `change` says which). The migration failed; `rolledBack` says whether
   * that undid all of it and `historyChanged` whether the history was left changed.
   * Fix: Remove the statement that touches the history table from the migration. */
  readonly HISTORY_CHANGED_BY_MIGRATION: Readonly<{ version: number; file: string; direction: MigrationDirection; table: string; change: string; rolledBack: boolean; historyChanged: boolean }>;
  /** A `transaction: false` migration started and never recorded its end: its process died or it failed part way, so it may be partly applied. `up` refuses until a person says which.
   * Fix: Check the database, then run `stepwise repair --applied N --yes` if its changes are all there, or `stepwise repair --forget N --yes` if none are, so that `up` runs it again. */
  readonly INCOMPLETE_MIGRATION: Readonly<{ version: number; file: string; startedAt: string }>;
  /** The database has tables or views but no history table (an empty one, as `down --to 0` leaves, is a managed database at version 0): it was made before stepwise, or
   * by another tool, or the run read another history table than the one it holds (the message names one `stepwise adopt` recorded, or one of the default name, `schema_migrations`), or it
   * is not the database meant (a wrong `--db` or `DATABASE_URL`). `up` refuses it, and so does `reset`, which drops nothing there.
   * `throughCopy` is true where the driver has no scratch database to replay migrations in (no `snapshot` and no `scratchDatabase` capability: D1, Durable Objects, libsql-client without
   * `scratchClient`), so neither `baselineDatabase` nor `adoptDatabase` runs there.
   * Fix: Name the history table it holds (`--table`, `tableName`); else write migrations that build the same schema and adopt it with `stepwise baseline N`, naming the last
   * migration its schema already contains (or, for another tool's migrations, import them and run `stepwise adopt`). With `throughCopy`: adopt an exported copy with the CLI
   * (`stepwise adopt --db <copy> --write-sql <file>`) and run the SQL it writes on this database, all or nothing (D1: `wrangler d1 execute --remote --file`; a Durable Object: the object
   * runs it in one `transactionSync`); see docs/adopting.md. A database there that no tool recorded has no such route: `baseline` writes no SQL. Refused by `reset`: check that `--db` (`--url`, `DATABASE_URL`)
   * names the database meant; to empty this one, delete its file or drop its objects by hand, or adopt it first. */
  readonly UNMANAGED_DATABASE: Readonly<{ tables: readonly string[]; throughCopy: boolean }>;
  /** The history table's name, given by `--table`, the config's `tableName` or the library's `tableName` option alike, is not a plain SQL identifier (letters, digits and underscores, not empty,
   * not starting with a digit or `sqlite_`; on PostgreSQL at most 46 characters, so that the tables kept beside it fit its 63). Refused before any SQL ran.
   * Fix: Pass a plain name to `--table` (`tableName`). */
  readonly INVALID_TABLE_NAME: Readonly<{ tableName: string }>;
  // Group: Running migrations
  /** A migration threw, or one of its statements failed. Its transaction was rolled back, so the schema, data and history are as they were before it (`rolledBack: true`), except for a `transaction:
   * false` migration (`rolledBack: false`), whose partial changes stay. `cause` is what was thrown, `nativeCode` the database's reason, `location` where in the file (SQL migrations), `detail` and
   * `hint` the server's words (PostgreSQL) or what Cloudflare's storage refuses (`SQLITE_AUTH`); on PostgreSQL `setting` names the session setting (the role's, the database's or the connection's,
   * not the migration's) it failed by, `statement_timeout` (a cancelled statement, 57014) or a `search_path` naming no schema that exists (3F000), or `transaction` for the migration's `SET TRANSACTION` refused after the transaction's first query (25001: only a SQL migration's leading ones go with stepwise's BEGIN), else `null`; `invalidIndexes` those in the way of running it again; a foreign-key rebuild refused before it ran carries `foreignKeyRebuild`, and a run with `--backup`
   * the `backupPath`. Under `reset`, which commits its drops before applying every migration again, `afterReset` says those drops stay: the data is gone and the database is at `reachedVersion`
   * (`null` when it could not be read), not as it was before the reset; elsewhere it is `null`. A failure at `COMMIT` (a constraint checked only then, such as a deferred foreign key) has `atCommit`,
   * the versions the transaction held: under `transaction: "all"` any of them may have broken it, not only the last, whose `version` and `file` the error carries; elsewhere it is `null`.
   * `connectionClosed` is true when the migration closed the connection it was given (`db.close()`): it is not recorded, and `rolledBack` is `false` because what it committed itself before
   * closing stays; a transactional one is pending again (SQLite rolled back the transaction stepwise ran it in, with the rest of a `transaction: "all"` run), a `transaction: false` one is interrupted.
   * Fix: Fix the migration at the location given and run `stepwise up` again (after `reset`, that applies the rest). With `atCommit` naming several, find which of them breaks the constraint by
   * applying them one at a time. With `connectionClosed`, remove the `close()` and check what the migration committed itself; `stepwise status` then shows it pending, or interrupted for
   * `stepwise repair`. After a `transaction: false` migration, check the database and `stepwise repair` it
   * first. From `adopt`, `baseline` or `verify`, which run the migrations only in a scratch database to compare schemas (`replayed: true`), the database is untouched: make the migration run on an
   * empty database too (on PostgreSQL the scratch database shares the server's roles: create a role only if it is missing), then run that command again, not `up`. On PostgreSQL
   * `sequencesSet` names the sequences the migration's SQL calls `setval` on (as written), whose change PostgreSQL keeps through a rollback: set them back by hand. */
  readonly MIGRATION_FAILED: Readonly<{
    version: number;
    file: string;
    direction: MigrationDirection;
    rolledBack: boolean;
    backupPath: string | null;
    foreignKeyRebuild: ForeignKeyRebuildHint | null;
    location: SqlLocation | null;
    detail: string | null;
    hint: string | null;
    setting: MigrationFailedSetting | null;
    invalidIndexes: readonly InvalidIndex[];
    afterReset: Readonly<{ reachedVersion: number | null }> | null;
    atCommit: Readonly<{ versions: readonly number[] }> | null;
    connectionClosed: boolean;
    replayed: boolean;
    sequencesSet: readonly string[];
  }>;
  /** `reset` could not drop an object of the database: on PostgreSQL, something outside the history table's schema needs it (another schema's view, foreign key, child table, partition or
   * column of one of its types, an extension's member, a cast, an event trigger or a publication), and `detail` gives the server's words on what, or the session creates in another schema than the history table's (`nativeCode` `3F000`:
   * the migrations would run again there, beside what they built; set the `search_path` to the history's schema, as `--schema` does); on SQLite, a virtual table whose module this connection has not loaded (`no such module`). On SQLite `object` names the table, view, index or trigger whose drop failed; on PostgreSQL, which drops the schema's objects in one statement, and on D1, which drops them in one batch, it is `null` and the message names it.
   * The drops were rolled back (`rolledBack`, always true; on D1, which has no transactions, they go as one batch): nothing was dropped and no migration ran.
   * Fix: Drop or change what depends on it (the message and `detail` name it), or load the module the virtual table needs, then run `stepwise reset --yes` again. Refused for the
   * schema the session creates in (3F000): pass `--schema` naming the schema the migrations built in (it sets the session's `search_path`). */
  readonly RESET_FAILED: Readonly<{ table: string; object: string | null; detail: string | null; rolledBack: boolean }>;
  /** A migration ended the transaction stepwise runs it in (a `COMMIT`, `END` or `ROLLBACK` of its own), so it could not be rolled back as one unit. It is never recorded; `committed` (`yes`, `no`,
   * `unknown`) says whether any of its work stayed (with `transaction: "all"`, `yes` includes the migrations before it in the run). When it also dropped or renamed the history table
   * where that stays, the error's `cause` is `HISTORY_CHANGED_BY_MIGRATION` with `historyChanged: true`.
   * Fix: Remove the transaction control from the migration, or mark it `transaction: false` if it must manage transactions itself; check what `committed` says stayed. */
  readonly TRANSACTION_ESCAPED: Readonly<{ version: number; file: string; direction: MigrationDirection; committed: EscapedCommit }>;
  /** A migration run with foreign keys switched off (`foreign_keys:off`) left references that point nowhere; `PRAGMA foreign_key_check` found them before commit, and the migration was rolled back.
   * `violations` holds the first 100.
   * Fix: Make the rebuild copy every referenced row, or delete the orphans in the migration. */
  readonly FOREIGN_KEY_VIOLATION: Readonly<{ version: number; file: string; direction: MigrationDirection; violations: readonly ForeignKeyViolation[]; violationCount: number }>;
  /** `down` would have to pass a migration that has no down section. Nothing was changed. `fix` is the message's way on: below the newest applied, `down --to` it; then, or for the newest, a down added.
   * Fix: Roll back to that migration (`--to`), not past it; to go further, add a down to it, run `stepwise gen`, and record its new checksum with `stepwise repair --checksums <version> --yes`. */
  readonly IRREVERSIBLE_MIGRATION: Readonly<{ version: number; file: string; fix: string }>;
  /** A requested version does not exist or points the wrong way (`up --to` below the current version, `down --to` above it, `repair` of a version with no interrupted attempt), or `down --steps`
   * asks for more migrations than are applied. Nothing was changed. For a step count, `target` is `null` (no version was asked for), `steps` is the count asked and `currentVersion` how many
   * are applied.
   * Fix: Pass a version the registry has, in the command's direction, or a step count no larger than `currentVersion` (`down --to 0` reverts all); `stepwise status` shows where the database is. */
  readonly INVALID_TARGET: Readonly<{ target: number | null; steps?: number; currentVersion?: number }>;
  /** `--transaction all` (`transaction: "all"`) was refused before anything ran: a migration of the run has `transaction: false`, switches foreign keys off while they are on, or (PostgreSQL) starts with `SET TRANSACTION`. `version`, `file`,
   * `obstacle` and `direction` say which; `firstOfRun` that no shorter run gets past it, and `fix` gives the calls that do.
   * Fix: Run the calls `fix` gives: each stretch that can share a transaction with `--to` and `--transaction all`, each obstacle on its own without it. */
  readonly WHOLE_RUN_TRANSACTION_REFUSED: Readonly<{ version: number; file: string; obstacle: WholeRunObstacle; direction: MigrationDirection; firstOfRun: boolean; fix: string }>;
  /** `context.forEachBatch` cannot walk every row by its key: the key is not a column (or rowid alias) of the table, or some row's key (`value`) is NULL, repeated, or cannot be compared exactly. A
   * keyset walk would stop early or skip rows, so it stopped. `columns` lists the table's columns to pick from. An integer key past 2^53 on a connection that reads integers as numbers is
   * `unsafe-integer`, its `value` the exact key as a bigint (its decimal text in `--json`; `null` under @libsql/client's `intMode: "number"`, which cannot read the row), and the message names the library's switch that reads integers as BigInt.
   * Fix: Pass `key`: a unique, non-NULL column (the `INTEGER PRIMARY KEY`, or `rowid`). */
  readonly BATCH_KEY_INVALID: Readonly<{ table: string; key: string; problem: BatchKeyProblem; columns: readonly string[]; value: unknown; version: number; file: string }>;
  /** `context.forEachBatch` was given options it cannot walk with: an option it does not take (`option` names it, such as a misspelt `wher`, which would otherwise walk every row), options
   * that are no object (`option` is `"options"`), a `where` that is no string or holds numbered or named placeholders (`$1` on PostgreSQL; `?1`, `:name`, `@name`, `$name` on SQLite), which the walk's own values would
   * take, `params` or `columns` that are no array (of names, for `columns`), or a `batchSize` that is not a whole number from 1 to 2^53. Nothing was walked.
   * Fix: Spell the options as `forEachBatch` takes them (`table`, `key`, `columns`, `where`, `params`, `batchSize`), pass a whole `batchSize`, and write `?` in `where` with the values in `params`, in order. */
  readonly BATCH_OPTIONS_INVALID: Readonly<{ option: string; value: unknown; version: number; file: string }>;
  /** The sync `migrate`/`MigrationManager` was given a registry in which `gen` marked migrations async (or a Durable Object met one). Nothing was read or written. `entry` is the package entry whose
   * async API runs them.
   * Fix: Use the same entry's `migrateAsync` or `AsyncMigrationManager` (`fix` gives the two lines); on Durable Objects, drop the `async`. */
  readonly ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER: Readonly<{ versions: readonly number[]; files: readonly string[]; driver: string; entry: string; fix: string }>;
  /** A sync runner met a promise (`source`: a driver primitive, or `up`/`down` for a migration body) in a registry `gen` did not mark async. It is reported as the cause of that migration's
   * `MIGRATION_FAILED`, rolled back.
   * Fix: Declare the body `async` so that `gen` marks it, regenerate, and run the registry with `migrateAsync`. */
  readonly ASYNC_IN_SYNC_RUNNER: Readonly<{ source: string; fix: string | null }>;
  /** A second stepwise call reached a connection while another was still running on it in this process: an async one not yet settled, or the call that made this one from its `onEvent`
   * listener, its logger or a migration body. The second call did nothing; the first goes on (a body's call fails its migration, with this as the cause).
   * Fix: Await the first call's promise before starting another on the same connection; from a listener or a body, make the call after the first one has returned. */
  readonly ASYNC_RUN_IN_PROGRESS: Readonly<{ driver: string }>;
  /** An operation that starts its own transaction (`up`, `down`, `reset`, baseline, repair, a backup or restore) was called on a connection the app left inside a transaction, or any call, a read
   * too, on a pg connection whose transaction failed and was not rolled back (PostgreSQL refuses every statement there). Refused before anything ran; the app's transaction is still open.
   * Fix: Commit or roll back the app's transaction first, then call it again. */
  readonly TRANSACTION_OPEN: Readonly<{ driver: string; operation: string }>;
  // Group: Locks, sessions and concurrency
  /** Another connection held the lock stepwise needed (another app instance migrating, or an open write transaction), and stepwise gave up waiting after the busy timeout. Nothing was changed by that step; what the call committed before it stays, and the message names it.
   * `waitedMs` is the wait measured (`null` when nothing timed it), `file` the backup when `restore` waited for one, and on Linux `holders` names the processes holding the file.
   * Fix: Retry when the lock is released, or raise `--busy-timeout` (`busyTimeoutMs`). */
  readonly DATABASE_LOCKED: Readonly<{ busyTimeoutMs: number; file?: string; waitedMs: number | null; holders: readonly LockHolder[] }>;
  /** Another process, or another run in this one (`owner`, when its row names one), is running a `transaction: false` migration and did not finish within the busy timeout (`waitedMs`;
   * 0 where the runtime cannot wait synchronously, as in a Worker). On PostgreSQL `serverSession` is the backend running it, which goes on with its statement after that process is gone
   * (killed, Ctrl-C), holding the run lock: a run that waited for that lock is refused with this code, not `DATABASE_LOCKED`. Nothing was changed by this process.
   * Fix: Retry when it finishes; if its process (and on PostgreSQL its server session) is gone, `stepwise repair` the migration. */
  readonly MIGRATION_IN_PROGRESS: Readonly<{ version: number; file: string; startedAt: string; owner: Readonly<{ pid: number; host: string }> | null; waitedMs: number; serverSession?: number }>;
  /** On PostgreSQL, a statement waited for another session's lock past `lock_timeout` and was cancelled. The migration's transaction was rolled back; a `transaction: false` one (`rolledBack: false`)
   * may have applied part of itself. The error names the relation, lock type and mode and the holding sessions (`version` is `null` for stepwise's own statements; `holders` is empty when the wait
   * was not seen).
   * Fix: Retry when those sessions are done, or raise `--lock-timeout` (`lockTimeoutMs`; 0 waits without limit). */
  readonly LOCK_TIMEOUT: Readonly<{
    version: number | null;
    file: string | null;
    direction: MigrationDirection | null;
    lockTimeoutMs: number;
    relation: string | null;
    lockType: string | null;
    mode: string | null;
    holders: readonly LockHolderSession[];
    rolledBack: boolean;
    invalidIndexes: readonly InvalidIndex[];
    fix: string;
  }>;
  /** The server ended the session, or the network dropped it, while stepwise used it (`reason`: the server's or the library's words). `outcome` says what became of the migration running:
   * `rolled-back`, `commit-unknown`, `partly-applied` or `none-running` (then `during` says what was under way).
   * Fix: Run `stepwise status` to see what was recorded; after `partly-applied`, check the database and `stepwise repair` the migration; then run `up` again. */
  readonly CONNECTION_LOST: Readonly<{
    version: number | null;
    file: string | null;
    direction: MigrationDirection | null;
    outcome: ConnectionLossOutcome;
    during: string | null;
    reason: string;
    fix: string;
  }>;
  // Group: Opening the database
  /** The database cannot be used: the file is not SQLite, is read-only or damaged beyond opening (`sqliteCode`), was deleted, moved or replaced while open (`SQLITE_READONLY_DBMOVED`:
   * what the run applied before went to the file it had opened), the disk or file system failed it (`SQLITE_IOERR_*`; with `SQLITE_IOERR_DELETE_NOENT`, a journal something else deleted,
   * the run's last transaction may have been committed), or (on a server) the connection was refused: a wrong password, a missing database or
   * role, TLS, nothing listening; or the server refused stepwise's own write (a read-only session, a privilege the role lacks). On a server `problem`, `reason` (the server's words, never
   * the URL) and `reasonCode` (SQLSTATE or system code) tell the cases apart. The CLI adds the SQLite file it opened as `databasePath`, and names it first in the message (not for a refusal met while a migration runs: its body may have reached another file).
   * Fix: Point stepwise at the right database, with write access; on a server, follow the error's `fix`. */
  readonly DATABASE_UNUSABLE: Readonly<{ sqliteCode: string | null; problem?: ConnectionProblem; reason?: string; fix?: string | null; reasonCode?: string | null; databasePath?: string }>;
  /** A crashed writer left a hot journal (or an unrecovered WAL: `sqliteCode`) that only a connection allowed to write can roll back, and this one may not write. Nothing was changed.
   * The CLI adds the file it opened as `databasePath`, and names it first in the message.
   * Fix: Run `stepwise up` (or anything else that writes) as a user who may write the file and its folder. */
  readonly DATABASE_NEEDS_RECOVERY: Readonly<{ sqliteCode: string; databasePath?: string }>;
  /** The database path cannot name a database file: it is empty, a folder, a FIFO, socket or device, a link to nothing, or a `DATABASE_URL` of another kind (a server URL, a connection string);
   * or, in `fleet`, the file or PostgreSQL schema a pattern (or a `file:` URL of `--url-file`) listed is not there when its turn comes (`gone`), and no database is created in its place; or,
   * for `restore`, the file is a mount point (a file bind-mounted into a container), which no rename can replace (`mount-point`). `problem` says which, and `kind` what is on disk.
   * Fix: Pass the path of a database file (`--db`, `database` in the config, or a `DATABASE_URL` that is a path, `file:` or `sqlite:` path); for a server, use its driver (`--driver pg`). A
   * database `gone` from a fleet needs nothing when it was removed on purpose (it is not a tenant any more); restore it if not, or correct its URL in `--url-file` if it was mistyped.
   * For a `mount-point`, mount the database's folder rather than the file, or stop the app and copy the backup's content in with the `sqlite3` shell's `.restore`. */
  readonly DATABASE_PATH_INVALID: Readonly<{ path: string; problem: DatabasePathProblem; kind: FileKind | null }>;
  /** A path's bytes are not UTF-8, so the string stepwise received would name another file (`bytes` shows them escaped). Refused before anything was opened.
   * Fix: Rename the file to a UTF-8 name (or link to it from one), and pass that. */
  readonly PATH_NOT_UTF8: Readonly<{ path: string; bytes: string }>;
  /** The folder that should hold the database does not exist, so nothing can be written there.
   * Fix: Check the database path, or create the folder first (`mkdir -p`). */
  readonly DATABASE_FOLDER_MISSING: Readonly<{ databasePath: string; folder: string }>;
  /** The disk, or the database's `max_page_count`, ran out of room; the write was rolled back. `version` is `null` when it happened in stepwise's own bookkeeping.
   * Fix: Free disk space (or raise `PRAGMA max_page_count`) and run it again. */
  readonly DISK_FULL: Readonly<{ version: number | null; file: string | null; sqliteCode: string }>;
  // Group: Drivers
  /** A driver name (`--driver`, or `driver` in the config) names none of stepwise's drivers. `validDrivers` lists them and `source` says where the name came from.
   * Fix: Use one of the listed names: `better-sqlite3`, `node-sqlite`, `bun-sqlite`, `libsql`, `sql-js`, `pg`, `libsql-client`. */
  readonly DRIVER_UNKNOWN: Readonly<{ driver: string; source: string; validDrivers: readonly string[] }>;
  /** The chosen driver's library cannot be loaded: not installed (`reason: "missing"`), or built for another runtime, such as a native addon for another Node, or never built,
   * its install script skipped (`reason: "unloadable"`). better-sqlite3 is the driver when none is named, so an app on another SQLite library meets its refusal until it names its own.
   * Fix: Install it with the `installCommand` given (or rebuild it for this Node; where npm skipped its install script, approve that first with `npm install-scripts approve <package>`), or choose another driver (`--driver`, or `"driver"` in the config, such as `"node-sqlite"`). */
  readonly DRIVER_NOT_INSTALLED: Readonly<{ driver: string; packageName: string; installCommand: string; reason: "missing" | "unloadable" }>;
  /** The chosen driver is built into another runtime: `node-sqlite` on a Node older than 22.16, `bun-sqlite` outside Bun.
   * Fix: Run the bin with the runtime the driver needs (`required`), or choose another driver. */
  readonly DRIVER_RUNTIME_UNSUPPORTED: Readonly<{ driver: string; runtime: string; required: string }>;
  /** The operation needs a capability the driver does not have (`driver`, `capability`, `operation`): a backup or restore on a driver with no second file, a write through sql.js in the CLI, a
   * TypeScript migration on D1 (`atomicBatch`). Refused before anything ran. On a server, `tool` names the tool to use instead (`pg_dump`, `pg_restore`).
   * Fix: Do it another way the error names (its `fix`, or `tool`), or use a driver that has the capability (see the driver table in docs/drivers.md). */
  readonly DRIVER_CAPABILITY_MISSING: Readonly<{ driver: string; capability: DriverCapability; operation: string; file: string | null; fix: string | null; tool?: ServerBackupTool }>;
  // Group: Safety nets
  /** `baseline N` (or `adopt`, at the version the other tool recorded) found that the database's schema is not what migrations 1..N build; `differences` holds the diff. Nothing was recorded.
   * Fix: For baseline, pick the version the schema matches, fix the schema by hand, or record it anyway with `baseline N --force` if you know the differences are harmless. For adopt, undo the
   * change made by hand (or write it as a migration of the other tool, run it, and import again), then adopt again; when the other tool records none (`version` 0) on a schema that is not empty,
   * point adopt at the database that tool migrated and its history table (`--old-table`), or put back the rows deleted from that table. */
  readonly SCHEMA_MISMATCH: Readonly<{ version: number; differences: readonly SchemaDifference[]; drift: readonly string[]; adoptedFrom: string | null }>;
  /** The live schema differs from what the applied migrations build: something changed it outside migrations (`verify`, or `migrate` with `verifySchema`). `differences` lists each difference.
   * Fix: Undo that change, or make it a migration (`stepwise create`). */
  readonly SCHEMA_DRIFT: Readonly<{ version: number; differences: readonly SchemaDifference[] }>;
  /** `baseline` was asked of a database that already has a migration history; or `adopt` (`adoptFrom`: the old tool) was, and no adoption from that tool recorded it, nor a `baseline`
   * that left out that tool's table (which adopt treats as an adoption at the baseline's version), so which of the tool's migrations the history holds is unknown.
   * Fix: Use `stepwise up` to continue, or `stepwise verify` to compare its schema; after adopt's refusal, `verify` first: `up` continues only when it is clean. */
  readonly ALREADY_MANAGED: Readonly<{ currentVersion: number; adoptFrom: string | null }>;
  /** The plan cannot be rehearsed inside one transaction rolled back at the end (pg, `@libsql/client`, async registries), because one of its migrations has `transaction: false` or switches foreign
   * keys off; or, on any driver, because one reaches a file other than the database (`obstacle: "reaches-another-file"`: `ATTACH`, `VACUUM INTO`), which no private copy can contain, so the
   * rehearsal cannot say what the real run would do; or, on PostgreSQL, because a SQL migration has an effect the rollback would not undo (`obstacle: "non-transactional"`: `setval`, dblink,
   * `COPY … TO` a file or `PROGRAM`, `lo_export`, adminpack's file functions, `pg_terminate_backend`; see docs/postgres.md), `location` being the statement's place in its file (else `null`).
   * Nothing ran. `rehearsableTo`: the newest pending version before it, which a rehearsal can reach; `null` when it is the first pending.
   * Fix: Rehearse up to the migration before it (`up --dry-run --to N`) when there is one; past it, take a backup (`up --backup`) and run it, or, on PostgreSQL, rehearse on a copy of the database. */
  readonly REHEARSAL_REFUSED: Readonly<{
    version: number;
    file: string;
    obstacle: WholeRunObstacle | "reaches-another-file" | "non-transactional";
    driver: string;
    rehearsableTo: number | null;
    location: SqlLocation | null;
  }>;
  /** On PostgreSQL, the server would not create the scratch database that verify, baseline and `gen --check`'s replay run the migrations in: typically the role lacks `CREATEDB` (`sqlstate` `42501`),
   * or the session is read-only (`25006`: a standby, or `default_transaction_read_only`). Nothing was changed.
   * Fix: Grant it (`ALTER ROLE <role> CREATEDB`), or run the check as a role that has it; a read-only session's, against the primary server. */
  readonly SCRATCH_DATABASE_UNAVAILABLE: Readonly<{ driver: string; database: string; sqlstate: string | null }>;
  /** The temporary folder (`TMPDIR`) cannot hold the private copy a safety net needs: it is missing, not a folder, not writable, or full (`systemCode`). Nothing was changed.
   * Fix: Free space there, or point `TMPDIR` at a folder that can hold a copy of the database. */
  readonly TEMP_FOLDER_UNUSABLE: Readonly<{ folder: string; systemCode: string | null; operation: string }>;
  /** The database fails SQLite's `quick_check` before `up --backup` (`problems`: what it reported, at most 20 lines): migrating it would build on damage, and a backup of it is one `restore` refuses.
   * Nothing was migrated and no backup kept.
   * Fix: Restore a good backup (`stepwise restore <file> --yes`), or recover the data with the sqlite3 shell's `.recover` into a new file; to migrate it as it is, pass
   * `--dangerously-skip-integrity-check` (`dangerouslySkipIntegrityCheck: true`). */
  readonly DATABASE_DAMAGED: Readonly<{ databasePath: string; check: "quick_check"; problems: readonly string[]; fix: string }>;
  /** The file offered to `restore` is not a usable stepwise backup: not an intact SQLite database, or one without a history table (`kind` says what the path is when it is no regular file). Nothing
   * was changed.
   * Fix: Pick a file written by `up --backup` (`upWithBackup`). */
  readonly BACKUP_INVALID: Readonly<{ file: string; reason: string; kind: FileKind | null }>;
  /** The backup's migration history does not match this app's migrations: another app's database, or this app's from a branch or a newer release. Each difference is listed in `reasons`. Nothing was
   * changed.
   * Fix: Pick a backup of this database, or pass `--force` (`dangerouslyAllowForeignBackup`) if you mean to restore it anyway. */
  readonly BACKUP_FOREIGN: Readonly<{ file: string; reasons: readonly ForeignBackupReason[] }>;
  /** The file offered to `restore` is the database itself (the same path, a hard link or a symlink to it). Nothing was changed.
   * Fix: Pick a backup written by `up --backup`, listed in the backup folder as `<file>.v<version>.<time>.<identity>.bak`. */
  readonly BACKUP_IS_DATABASE: Readonly<{ backupFile: string; databasePath: string }>;
  /** The backup could not be written because its folder ran out of room (or hit a quota or a file size limit: `availableBytes` above `neededBytes`). The database was not touched. `directory`,
   * `availableBytes` and `neededBytes` say where and how much; the partial file at `path` was removed.
   * Fix: Free space in the backup folder (or raise the quota or file size limit when it had room), or back up to another folder (`--backup DIR`). */
  readonly BACKUP_DISK_FULL: Readonly<{ directory: string; path: string; systemCode: string; availableBytes: number | null; neededBytes: number | null }>;
  /** The backup folder cannot be created or written (permissions, a read-only file system, a file in the way), or, for `restore`, the folders it writes the restored and the replaced database to. The
   * database was not touched.
   * Fix: Make the folder writable, or pass another one to `--backup DIR`. */
  readonly BACKUP_FOLDER_UNWRITABLE: Readonly<{ directory: string; systemCode: string }>;
  // Group: The CLI and its tools
  /** A command or option that cannot work as given: a missing or contradictory flag, no database named (`searched` lists every place looked at; `urlDriver` names the driver that opens the config's `url` when that is a server's, not a SQLite file), an unset `${VAR}` in the config (`setting`,
   * `variable`, `configFile`), a password in a committed config, an unknown value, an option the library's call does not take (`option`). Nothing was changed.
   * Fix: Follow the message: it names the flag, setting, option or variable to give. */
  readonly USAGE: Readonly<{ setting?: string; variable?: string; configFile?: string; searched?: readonly DatabaseLookup[]; urlDriver?: string; option?: string }>;
  /** `gen`, `create` or a runtime command that loads a TypeScript registry needs the codegen tools (ts-morph, prettier, tsx), which the project has not installed: stepwise leaves them to the
   * project's devDependencies.
   * Fix: Install them with the `installCommand` given (`npm install --save-dev ts-morph@28 prettier@3 tsx@4`); on a production install, install tsx as a dependency, or run the migrations from the
   * app (`migrate()`, or an embedded CLI made with `createCli`). */
  readonly MISSING_DEPENDENCY: Readonly<{ packages: readonly OptionalPeer[]; installCommand: string }>;
  /** A codegen tool is installed in a major version stepwise does not support (`package`, `installedVersion`, `supportedMajor`, `packageFile`).
   * Fix: Install the supported major version with the `installCommand` given. */
  readonly DEPENDENCY_VERSION_UNSUPPORTED: Readonly<{ package: OptionalPeer; installedVersion: string; supportedMajor: number; packageFile: string; installCommand: string }>;
  /** `gen`, `create`, `import`, `squash`, `rebase` or `adopt --write-sql` could not write a file (a full disk, a quota, a file size limit, an I/O error, a read-only folder) at `step`. The write went
   * to a temporary file first, since removed, so the target is as it was.
   * `squash --yes` could not delete a migration it replaces (`step` `delete`: a file held open, a folder it may not write); it put every file back as it was.
   * Fix: Free space or make the folder writable, and run it again. */
  readonly FILE_WRITE_FAILED: Readonly<{ file: string; step: FileWriteStep; systemCode: string | null; bytesWritten: number; bytesExpected: number }>;
  /** `create` found no version free for a new migration: a migration in `migrationsDir` holds version 2^53 - 1 (or one too large to read), and `gen` accepts none larger. Nothing was created.
   * Fix: Rename that migration to the version after the one before it, if its number was a slip; a folder numbered by timestamps leaves room enough. */
  readonly VERSIONS_EXHAUSTED: Readonly<{ migrationsDir: string }>;
  // Group: Branches and rebase
  /** `rebase` or `gen --check --base` reads the base branch from git, or `squash --yes` asks git whether it holds the files it deletes, but the `git` command was not found. Nothing was changed.
   * Fix: Install git, or put it on the PATH. */
  readonly GIT_NOT_FOUND: Readonly<{ operation: string }>;
  /** The project (`directory`), or its migrations folder (`migrationsDir`, outside `topLevel`), is not inside a git work tree, so there is no branch to compare with. Nothing was changed.
   * Fix: Run it in a clone of your project, with the migrations folder inside it. */
  readonly NOT_A_GIT_REPOSITORY: Readonly<{ directory: string; operation: string } | { migrationsDir: string; topLevel: string }>;
  /** The base ref names no commit, or no default branch could be found (`ref` is then `null`; `tried` lists the names). Nothing was changed.
   * Fix: Fetch the branch (`git fetch origin`) or pass the one you will merge into with `--base`. */
  readonly GIT_REF_NOT_FOUND: Readonly<{ ref: string | null; tried: readonly string[] }>;
  /** git ran but failed for another reason; its own message is kept. Nothing was changed.
   * Fix: Fix what git's message says and run it again. */
  readonly GIT_FAILED: Readonly<{ args: readonly string[]; exitCode: number | null; stderr: string }>;
  /** The clone is shallow and does not reach the history the branch shares with the base, so which migrations this branch added cannot be told. Nothing was changed.
   * Fix: Fetch more history (`git fetch --unshallow`, or `fetch-depth: 0` in CI's checkout). */
  readonly GIT_HISTORY_SHALLOW: Readonly<{ base: string }>;
  /** A migration `rebase` would renumber is recorded as applied in the database it is pointed at (`database`, its password hidden): a new number would make that database run it again. Nothing was
   * changed.
   * Fix: Roll them back first (`stepwise down --to <the version below the oldest of them>`), then rebase; or `--no-db-check` when that database is not one to keep. */
  readonly REBASE_APPLIED_MIGRATION: Readonly<{ database: string; migrations: readonly Readonly<{ version: number; name: string; file: string }>[] }>;
  /** Renumbering would not resolve the situation or would clobber a file: a migration both branches edited (`edited-on-both-sides`), a merge conflict still open in the migrations folder (`unmerged`),
   * or a new name already taken (`target-exists`). Nothing was changed.
   * Fix: Resolve the conflict or the edit by hand, then run `stepwise rebase` again. */
  readonly REBASE_CONFLICT: Readonly<{ reason: RebaseConflictReason; files: readonly string[] }>;
  /** A rename or rewrite failed part way. Every file already renamed was put back unless `restored` is false, when `pending` lists what could not be (`temporary -> original`).
   * Fix: Check that the folder is writable and run `stepwise rebase` again; if `restored` is false, put the files in `pending` back first. */
  readonly REBASE_RENAME_FAILED: Readonly<{ file: string; systemCode: string | null; restored: boolean; pending: readonly string[] }>;
  // Group: Importing another tool's migrations
  /** `stepwise import` found migrations of the tool it cannot import as they are: a file the tool itself would refuse, a construct stepwise cannot run as the tool ran it (a goose `ENVSUB`, a Flyway
   * placeholder or callback), SQL `gen` would refuse, or a local file a JavaScript migration imports that `gen` would refuse (missing, unreadable, not parsing); `problems` gives each at its file and line, with a `code` for some (`gen`'s `SQL_…` codes, `DOWN_NEEDS_NO_TRANSACTION`, `GOOSE_ENVSUB_SUBSTITUTES` with the line it changes in `relatedLine`, `STEPWISE_HISTORY_TABLE_NAMED` for a statement on the table stepwise's `tableName` names) (`dir` is the source folder). Nothing was written.
   * Fix: Fix each file as its problem says (in the source folder, so the tool and stepwise agree), then run the import again. */
  readonly IMPORT_SOURCE_INVALID: Readonly<{
    tool: string;
    dir: string;
    problems: readonly Readonly<{
      file: string;
      line: number;
      message: string;
      code?: string;
      relatedLine?: number;
      /** A file the migrations import (directly or through others): the first migration that reaches it, the files from it to this one, and how many other migrations reach it. */
      importedBy?: Readonly<{ migration: string; through: readonly string[]; others: number }>;
    }>[];
  }>;
  /** `stepwise import`: some of the tool's migrations have an empty or no down (`files`), and stepwise will not guess what that should mean. Nothing was written.
   * Fix: Pass `--empty-down irreversible` (no down section: `stepwise down` refuses to pass them) or `--empty-down no-op` (a down that deliberately does nothing). */
  readonly IMPORT_EMPTY_DOWN: Readonly<{ tool: string; files: readonly string[] }>;
  /** `stepwise import`: the migrations folder it would write to (`dir`) already holds migrations or an import map (`files`), often the tool's own folder when importing in place. Nothing was written.
   * Fix: Import into an empty folder (`--dir`, or `migrationsDir` in the config); to use the tool's folder name, move its folder aside first and import from there. */
  readonly IMPORT_TARGET_NOT_EMPTY: Readonly<{ dir: string; files: readonly string[] }>;
  /** `stepwise adopt`: the import map (`file`) is missing, is not `stepwise-import-map/1`, names a tool adopt does not read, or names versions the registry lacks (`reason`). Nothing was written.
   * Fix: Pass the map `stepwise import` wrote (`--map`), and run `stepwise gen` after importing so the registry holds its migrations. */
  readonly ADOPT_MAP_INVALID: Readonly<{ file: string; reason: string }>;
  /** `stepwise adopt`: the old tool's history table (`table`, in `schema` on PostgreSQL, `null` on SQLite) does not exist in this database, or a table of that name is not in the tool's shape (another
   * tool's), so there is nothing to adopt from; with `--history-file`, `table` is the file and `reason` says why it cannot be read (it does not exist, its JSON parse error, not the tool's shape).
   * `otherTools` names the tools whose history table the database holds instead (drizzle-kit's folder that `wrangler d1 migrations apply` ran: `["wrangler"]`). Nothing was written.
   * Fix: Point `--db`/`--url` at the database the tool migrated, and `--map` at the import of that tool; a tool configured to name its table otherwise needs `--old-table <name>`; a database it
   * never migrated needs no adopting (run `stepwise up`). With `otherTools`: import the folder again with that tool (`stepwise import <tool>`, into an empty folder) and adopt with its map. */
  readonly ADOPT_HISTORY_MISSING: Readonly<{ tool: string; table: string; schema: string | null; reason?: string; otherTools?: readonly string[] }>;
  /** `stepwise adopt`: the old tool's history table is named as stepwise's (`table`: dbmate's and golang-migrate's `schema_migrations`), so both cannot be kept. Nothing was written.
   * Fix: Give stepwise's history another name (`--table stepwise_migrations`, or `tableName` in the config), then adopt. */
  readonly ADOPT_TABLE_CLASH: Readonly<{ tool: string; table: string }>;
  /** `stepwise adopt`: the old tool's history records migrations the import map does not hold (`ids`); a Knex or Umzug name that differs from one imported name only by its script extension
   * (`1_a.js` recorded, `1_a.ts` imported) is that migration, not unknown; or rows below the baseline script (Flyway's B) the import starts with, which stand for it only once they reach the newest
   * script it replaced: `migrateTo` is that script's version, `null` when the import saw none of them (they were deleted, so which the database lacks is unknown); then `baselineVersion` is
   * the baseline script's stepwise version and `oldTables` the tool's tables `stepwise baseline` takes as `--old-table`, and `mapOutdated` is true when the map was written before import recorded
   * that script (so whether the folder holds them is unknown). `ranAsCode` lists those the tool ran as code import does not read (Flyway's Java migrations, each with its row `type`, such as `JDBC`).
   * Nothing was written.
   * Fix: Import the folder the database was migrated from (the tool's migrations at the version deployed there), or remove those rows from the tool's table if they are stale. For each of `ranAsCode`,
   * write a SQL script of its version in the imported folder doing what the code did (or nothing, when a database built from empty needs none of it), import again, then adopt. Below a baseline
   * script: migrate the database to `migrateTo` with the tool first; with `migrateTo` null, if it ran them all, run `stepwise baseline <baselineVersion> --old-table <each of oldTables>`, which
   * checks its schema first; with `mapOutdated`, first import the tool's folder again into an empty folder and adopt with that map (`--map`). */
  readonly ADOPT_UNKNOWN_MIGRATION: Readonly<{
    tool: string;
    ids: readonly string[];
    migrateTo?: string | null;
    baselineVersion?: number;
    oldTables?: readonly string[];
    mapOutdated?: true;
    ranAsCode?: readonly Readonly<{ id: string; type: string }>[];
  }>;
  /** `stepwise adopt`: the tool marks migrations failed or dirty (`migrations`, each with its `state`), so the database is not at a version stepwise can record (a rolled-back one counts as not
   * applied, as the tool would run it again, and is not refused). Nothing was written.
   * golang-migrate's dirty version names its file (`file`) and the versions `migrate force` takes (`force`: `finished` once the database was finished by hand, `undone` once undone).
   * Fix: Finish them or roll them back with the old tool (or by hand, then fix its table: golang-migrate's `migrate force <version>`) so every recorded migration is applied or rolled back, then adopt. */
  readonly ADOPT_MIGRATION_FAILED: Readonly<{
    tool: string;
    migrations: readonly Readonly<{ id: string; state: string; file?: string | null }>[];
    force?: Readonly<{ finished: string; undone: string }>;
  }>;
  /** `stepwise adopt`: the applied migrations are not 1..k of the imported history: `missing` lists the ones before the newest applied that the tool never recorded (or rolled back). Nothing was written.
   * Fix: Apply the missing migrations first, the way the message names for the tool (`goose up -allow-missing`, `flyway migrate -outOfOrder=true`, or plain `flyway migrate` when only repeatable scripts ran above them; drizzle never fills a gap itself), or check that
   * the map is the one for this history, then adopt. */
  readonly ADOPT_HISTORY_GAP: Readonly<{ tool: string; applied: readonly number[]; missing: readonly Readonly<{ version: number; id: string }>[] }>;
  /** `stepwise adopt`: the checksum the old tool stored differs from the imported file's (`migrations`: `id`, `version`, `recorded`, `expected`): the database ran another text than the one imported. Nothing was written.
   * Fix: Import the migrations the database actually ran (the tool's folder at the deployed commit), then adopt. */
  readonly ADOPT_CHECKSUM_MISMATCH: Readonly<{ tool: string; migrations: readonly Readonly<{ id: string; version: number; recorded: string; expected: string }>[] }>;
  /** `stepwise adopt`: the old tool wrote to its history table (`table`) between adopt's checks and its write, so it was migrating the database at the same time; or, on a later run, the old tool's
   * kept table records another version (`toolVersion`) than the one adopted (`adoptedVersion`) in a way adopt cannot record: the tool rolled back since, or stepwise's history (`currentVersion`)
   * moved since too, so both migrated the database. (The tool applying more while stepwise's history stayed at the adopted version is not refused: a later adopt records those.) Nothing was
   * written or dropped. The versions are `null` for a race during the first adoption.
   * Fix: Stop the old tool's deployments (adopting is a one-time switch), then run `stepwise adopt` again. After a rollback by the old tool, migrate forward with it again to the adopted
   * version or beyond, then adopt. When both migrated it, check the schema (`stepwise verify`) and data by hand, then delete the rows the old tool recorded after the adoption (or drop its table). */
  readonly ADOPT_HISTORY_CHANGED: Readonly<{ tool: string; table: string; adoptedVersion: number | null; toolVersion: number | null; currentVersion: number | null }>;
  /** `stepwise adopt`: the old tool applied the migrations in another order than their imported versions (`applied`: each `id` and `version`, in the order it ran them; Knex, Kysely with
   * `allowUnorderedMigrations` and node-pg-migrate with `checkOrder: false` allow that), so the database's schema may not be what versions 1..k build. Nothing was written.
   * Fix: Check that a fresh database built by the imported migrations gives this database's schema; if it does, record it with `stepwise baseline <version>` instead. */
  readonly ADOPT_HISTORY_UNORDERED: Readonly<{ tool: string; applied: readonly Readonly<{ id: string; version: number }>[] }>;
  // Group: Squashed history
  /** The database ran some, but not all, of the migrations `stepwise squash` replaced with one (`squashVersion`, in `file`): it is at `version`, and the migrations between are gone from the registry,
   * so nothing can bring it to the squash's schema. Nothing was run. `stepwise adopt` refuses so too a database the old tool left there.
   * Fix: Deploy a release from before the squash to migrate it to `squashVersion` (or beyond) first; then this release runs it as it is. For `adopt`, migrate it to `squashVersion` with the old tool first. */
  readonly DATABASE_INSIDE_SQUASH: Readonly<{ version: number; squashVersion: number; file: string }>;
  /** `down` would go below a squashed migration (`version`, in `file`): it builds the schema of every version up to its own, and has no down; the migrations it replaced are gone. Nothing was changed.
   * Fix: Choose a target of `version` or above; to go back further, restore the database from a backup. */
  readonly DOWN_BELOW_SQUASH: Readonly<{ version: number; file: string; target: number }>;
  /** `stepwise squash --to K`: K is not a version it can squash to (`reason`): below 2, past the newest migration (`latest`), not above an earlier squash, below a later TypeScript migration that
   * imports a migration file the squash would delete, or migrations 1..K build nothing squash reads (on PostgreSQL, often a `schema` setting the migrations do not build in). Nothing was written.
   * Fix: Pass a version from 2 to the newest, above any earlier squash; move what a later migration imports from an earlier one into a file that is not a migration, or squash it too; on
   * PostgreSQL, check the `schema` setting. */
  readonly SQUASH_TARGET_INVALID: Readonly<{ target: number; latest: number; reason: string }>;
  /** `stepwise squash` could not replay the migrations to read the schema they build (`reason`: `no-driver`, `no-server`, `no-scratch-database`, `not-contained`...). Nothing was written.
   * Fix: As for `gen --check`'s replay: install a SQLite driver (sql.js builds nothing), or give a PostgreSQL project a server (`DATABASE_URL`, a role with `CREATEDB`). */
  readonly SQUASH_REPLAY_UNAVAILABLE: Readonly<{ reason: string }>;
  /** `stepwise squash`: the migration it wrote, applied alone to an empty database, does not build the schema migrations 1..K built or hold the rows they left (`differences`, such as
   * `table "t" differs`, `rows "t" differs` or, on PostgreSQL, `aggregate "total(integer)" missing`): they made something squash does not write (see docs/migrations.md for what it carries). Nothing was written.
   * Fix: Squash to a version before the migration that made it. */
  readonly SQUASH_NOT_FAITHFUL: Readonly<{ target: number; differences: readonly string[] }>;
  /** `stepwise squash --yes` would delete migrations (`files`) that git does not hold as they are (uncommitted changes, untracked, or no repository), so their text would be lost. Nothing was written.
   * Fix: Commit the migrations folder first; squash deletes the files it replaces and git history keeps them. */
  readonly SQUASH_UNCOMMITTED: Readonly<{ files: readonly string[] }>;
  /** `stepwise adopt --old-table`: the name given for the old tool's history table (`value`) cannot name one (`reason`: empty, a schema on SQLite, past PostgreSQL's 63 bytes, a stray quote). Nothing was read.
   * Fix: Pass the table as the tool was configured to name it: `name`, or `schema.name` on PostgreSQL, double-quoting a part that holds a dot or a quote (`"my.schema"."my""table"`). */
  readonly ADOPT_OLD_TABLE_INVALID: Readonly<{ value: string; reason: string }>;
  /** `stepwise adopt`: the old tool holds its migration lock (`table`: Knex's `knex_migrations_lock` with `is_locked = 1`), so it is migrating the database now, or a run of it died holding the lock
   * and may have left a migration half done. Nothing was written.
   * Fix: Stop the old tool's deployments; if none is running, check the schema against its history, release the lock with the tool (`knex migrate:unlock`), then adopt. */
  readonly ADOPT_TOOL_LOCKED: Readonly<{ tool: string; table: string }>;
  /** `stepwise adopt --write-sql`: the copy holds no adoption to carry to the database it was made from (`reason` `no-adoption`), or one that cannot be carried honestly: the old tool's table
   * was dropped in it (`old-table-dropped`: nothing could then check that database still holds what was adopted), or the copy was migrated after the adoption (`migrated-after-adoption`: its
   * history holds `versions`, not 1..`adoptedVersion`, and its rows would claim migrations that database did not run). `adoptedVersion` is `null` without an adoption. No file was written.
   * Fix: Export a new copy of the database, adopt it without `--drop-old-table` and without running `up` on it, and write the SQL from that adoption. */
  readonly ADOPT_SQL_REFUSED: Readonly<{ reason: "no-adoption" | "old-table-dropped" | "migrated-after-adoption"; adoptedVersion: number | null; versions: readonly number[] }>;
}

/** Why `up` would refuse, as `status()` reports it: the refusal's code, message and fields, JSON-safe. */
export interface StatusProblem {
  /** The code `up` would throw with. */
  readonly code: StepwiseErrorCode;
  readonly message: string;
  /** CHECKSUM_MISMATCH's ways out (the other refusals say theirs in `message`). */
  readonly fix?: StepwiseErrorDetails["CHECKSUM_MISMATCH"]["fix"];
  /** The refusal's facts, as its error carries them: `version`, `file`, `tables`, `unknownVersions`... */
  readonly [field: string]: unknown;
}

/** What a driver error means to stepwise; `lost` is a server session that ended while in use (one that never opened is `cantopen`). */
export type ErrorKind = "locked" | "full" | "readonly" | "notadb" | "corrupt" | "cantopen" | "lost" | "other";
/** A codegen tool the project installs for `gen`. */
export type OptionalPeer = "ts-morph" | "prettier" | "tsx";
/** A place in a migration's file (as the registry names it), 1-based, as `file:line:col` names it. */
export type SqlLocation = Readonly<{ file: string; line: number; column: number }>;
/** One broken rule in a registry: a duplicate, a gap, a bad version or a malformed entry. */
export type RegistryProblem = Readonly<{ version: number | null; file: string | null; message: string }>;
/** Why a history row was refused by `HISTORY_TABLE_INVALID`. */
export type HistoryRowProblem = "version-not-positive-integer" | "duplicate-version" | "checksum-not-text" | "unknown-state";
/**
 * Why the history table refuses the rows stepwise writes, in `HISTORY_TABLE_INVALID`: a column stepwise leaves empty (or writes `NULL` into) that is `NOT NULL` without a default
 * (`not-null-column`); a `check-constraint`, `unique-constraint` (on a column other than `version`), `foreign-key` or other `constraint` its row breaks; a `column-type` that refuses stepwise's
 * value (a `STRICT` table's, a `varchar(n)`); a `trigger` (or rule) on the table that raised an error; PostgreSQL's `row-security` that applies to stepwise's role, whose policies
 * would also hide rows from its reads.
 */
export type HistoryWriteProblem = "not-null-column" | "check-constraint" | "unique-constraint" | "foreign-key" | "constraint" | "column-type" | "trigger" | "row-security";
/** Which history write found its row gone, in `HISTORY_ROW_MISSING`. */
export type HistoryRowOperation = "mark-applied" | "mark-started" | "delete";
/** A foreign-key failure from rebuilding `table` with enforcement on: the tables that reference it, and the `fix` (`foreign_keys:off` or `disableForeignKeys: true`). */
export type ForeignKeyRebuildHint = Readonly<{ table: string; referencedBy: readonly string[]; fix: string }>;
/** An index PostgreSQL marks invalid (what a failed `CREATE INDEX CONCURRENTLY` leaves, in the way of running it again); `drop` removes it. */
export type InvalidIndex = Readonly<{ schema: string; name: string; table: string; drop: string }>;
/** Whether a migration that ended stepwise's transaction got anything committed; `unknown` when it ran statements after, which SQLite commits one by one. */
export type EscapedCommit = "yes" | "no" | "unknown";
/** A process holding a lock on the database, by pid and `program` (its executable's name, or on PostgreSQL the first word of its `application_name`; never its arguments, which may hold secrets).
 * `host` is `null` for a process on this machine. */
export type LockHolder = Readonly<{ pid: number; program: string | null; host: string | null; lock: "write" | "read" }>;
/** Why `DATABASE_PATH_INVALID` refused a path. */
export type DatabasePathProblem =
  "empty" | "nul-byte" | "too-long" | "directory" | "not-a-file" | "parent-not-directory" | "unsupported-url" | "symlink-loop" | "dangling-symlink" | "journal-not-a-file" | "gone" | "mount-point";
/** What a path names on disk, where stepwise expected a regular file (or nothing yet). */
export type FileKind = "file" | "directory" | "symlink" | "fifo" | "socket" | "character-device" | "block-device" | "missing";
/** Why `BATCH_KEY_INVALID` refused a `forEachBatch` walk. */
export type BatchKeyProblem = "no-such-table" | "no-such-column" | "no-rowid" | "null-key" | "duplicate-key" | "not-increasing" | "unsafe-integer" | "invalid-key";
/** One row `PRAGMA foreign_key_check` reported: the child `table` holding a reference to a missing row of `parent`. */
export type ForeignKeyViolation = Readonly<{ table: string; rowid: number | null; parent: string }>;
/** Why a backup's history does not belong to this app's registry: a version it lacks, or a `name` or `checksum` that differs (`registry` is `null` for an unknown version). */
export type ForeignBackupReason = Readonly<{ version: number; kind: "unknown-version" | "name" | "checksum"; backup: string; registry: string | null }>;
/** The step of a file write that failed, for `FILE_WRITE_FAILED`. */
export type FileWriteStep = "create-temporary" | "write" | "flush" | "close" | "rename" | "link" | "delete";
/** Why rebase cannot decide on its own. */
export type RebaseConflictReason = "edited-on-both-sides" | "unmerged" | "target-exists";
/** How the migrations folder differs from the registry: a migration `added`, `changed` (or a local file it imports), `removed`, or the `registry` itself edited or missing. */
export type RegistryChangeKind = "added" | "changed" | "removed" | "registry";
/** One difference between the migrations folder and the registry; for `changed`, `relatedFiles` are the local files it imports. */
export type RegistryChange = Readonly<{ file: string; change: RegistryChangeKind; relatedFiles?: readonly string[] }>;
/**
 * The PostgreSQL session setting a migration failed by, as `MIGRATION_FAILED`'s `setting` names it: the fix is the setting's (or a `SET` in the migration), not the migration's SQL; `transaction`:
 * its `SET TRANSACTION` came after the transaction's first query, and belongs first in a SQL migration.
 */
export type MigrationFailedSetting = "statement_timeout" | "search_path" | "transaction";
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
  | "pool-busy"
  | "unknown";
/** A session that held a lock another waited for, as `pg_stat_activity` shows it (never its query, which may hold secrets); a field is `null` where the server hides it. `pg_terminate_backend(pid)`
 * ends it. */
export type LockHolderSession = Readonly<{ pid: number; applicationName: string | null; state: string | null; transactionStart: string | null; queryStart: string | null }>;
/** What a statement waited for, as a second session saw it in `pg_locks`: the `relation` (`null` for another kind of lock), `lockType` (`relation`, `tuple`, `transactionid`, `virtualxid`...), the
 * `mode` asked for, and the sessions holding it. */
export type LockWait = Readonly<{ relation: string | null; lockType: string; mode: string; holders: readonly LockHolderSession[] }>;
/** Why a migration cannot join a whole-run transaction: `transaction-false` (SQLite refuses its statements in one), `foreign-keys-off` (the switch works only outside a transaction, so it would
 * cover the whole run), or `set-transaction` (on PostgreSQL it starts with `SET TRANSACTION`, which only a transaction's first statement may be). */
export type WholeRunObstacle = "transaction-false" | "foreign-keys-off" | "set-transaction";
/** What kind of schema object a {@link SchemaDifference} is about. */
export type SchemaObjectType = "table" | "column" | "index" | "trigger" | "view" | "sequence" | "function" | "aggregate" | "operator" | "type";
/** One aspect of an object that differs, rendered as text on both sides. */
export interface SchemaAspectChange {
  /** Which property differs: `type`, `not null`, `default`, `definition`, `column order`... */
  readonly aspect: string;
  readonly before: string | null;
  readonly after: string | null;
}
/** One difference between two snapshots, read from `before` to `after`: `added` exists only in `after`, `removed` only in `before`. */
export interface SchemaDifference {
  readonly objectType: SchemaObjectType;
  /** `contacts`, `contacts.nick` for a column, `idx_contacts_username`... */
  readonly name: string;
  readonly table: string;
  readonly change: "added" | "removed" | "changed";
  /** For `changed`: what differs. Empty otherwise. */
  readonly details: readonly SchemaAspectChange[];
}
/** The server tool that does what was asked. */
export type ServerBackupTool = "pg_dump" | "pg_restore";
/** A problem that stops `gen` from writing a current registry, as plain data. */
export type RegistryGenProblem = Readonly<{ code: string; file: string; line: number; column: number; message: string }>;
/** What a lost connection did to the migration that was running: `none-running` (what this run applied before stays applied), `rolled-back` (by the server, with the session), `commit-unknown` (its
 * COMMIT was on the way), or `partly-applied` (a `transaction: false` one; its `started` row stays, and the next run stops at it). */
export type ConnectionLossOutcome = "none-running" | "rolled-back" | "commit-unknown" | "partly-applied";
/** One place the CLI looked for the database (a flag, an environment variable or a file), and what it `found` there. */
export type DatabaseLookup = Readonly<{ place: string; found: string }>;
