/**
 * The `fix` of `--json`'s error, the next step as one line a script can show: an error's own (`details.fix`), else one attached where only the thrower knows the command, else
 * made here from the details.
 */
import { adoptedHistoryIn, defaultHistoryIn, historyWriteFix, unusableSqliteFix } from "../core/error-factories.js";
import { spell } from "../core/option-text.js";
import type { StepwiseErrorCode, StepwiseErrorDetails } from "../core/errors.js";
import { backupRoomFix, isNotAFolder } from "../safety/errors.js";
import { baselineCommand } from "../safety/adopt.js";

/** Next steps attached where the error was made, read back when it is printed. */
const attached = new WeakMap<object, string>();

/** Gives `error` (a stepwise error, or commander's for a bad option) the next step `fix`, for `--json`; returns it, to throw. */
export function withFix<E extends object>(error: E, fix: string): E {
  attached.set(error, fix);
  return error;
}

/**
 * The way past a driver whose library is missing other than installing it. better-sqlite3 is the driver when none is named (`DEFAULT_CLI_DRIVER`, which this module cannot import without a cycle), so an app on node:sqlite or libsql that never named its own meets
 * better-sqlite3's refusal: that one says so, rather than only asking for a library the app does not use.
 */
export function otherDriver(driver: string, reason: StepwiseErrorDetails["DRIVER_NOT_INSTALLED"]["reason"]): string {
  return driver === "better-sqlite3" && reason === "missing"
    ? `or, if the app uses another SQLite library, name its driver with --driver or "driver" in the config (such as "node-sqlite", which needs nothing installed): better-sqlite3 is the one used when none is named`
    : `or choose another driver with --driver (or "driver" in the config)`;
}

type FixOf = { readonly [C in StepwiseErrorCode]?: (details: StepwiseErrorDetails[C]) => string };

const versionsOf = (versions: readonly number[]) => versions.join(", ");

/** The next step of each code whose message names one, from its details alone. */
export const FIX_OF_CODE: FixOf = {
  REGISTRY_INVALID: () => `run "stepwise gen" to rewrite the registry instead of editing it`,
  REGISTRY_LOAD_FAILED: ({ file, location }) =>
    location ? `fix ${location}, or run "stepwise gen" to rewrite ${file}` : `fix the migration that throws when imported, or run "stepwise gen" to rewrite ${file}`,
  REGISTRY_STALE: ({ registryFile }) => `run "stepwise gen" to regenerate ${registryFile}, then this command again`,
  REGISTRY_DIALECT_MISMATCH: ({ driverDialect }) =>
    `run the registry generated for ${driverDialect} ("stepwise gen --dialect ${driverDialect}" writes it), or choose a ${driverDialect === "postgres" ? "SQLite" : "PostgreSQL"} registry's driver`,
  DATABASE_AHEAD: ({ unknownVersions }) => `run a newer build that has migrations ${versionsOf(unknownVersions)}, or roll them back with the build that applied them`,
  HISTORY_TABLE_INVALID: (details) =>
    "column" in details
      ? `${historyWriteFix(details)}, then run the command again`
      : `give stepwise a history table of its own (--table, or "tableName" in the config), or fix or delete the bad row of ${details.table ?? "the history table"}, or restore a backup`,
  HISTORY_OUT_OF_ORDER: ({ missingVersions }) => `restore the history rows of ${versionsOf(missingVersions)}, or the numbering the database was migrated with`,
  HISTORY_ROW_MISSING: ({ version }) =>
    `check the database and drop any trigger or rule on the history table, then run "stepwise repair --applied ${version} --yes" or "stepwise repair --forget ${version} --yes"`,
  HISTORY_CHANGED_BY_MIGRATION: ({ file }) => `remove the statement that touches the history table from ${file}`,
  INCOMPLETE_MIGRATION: ({ version }) =>
    `check the database, then run "stepwise repair --applied ${version} --yes" if its changes are all there, or "stepwise repair --forget ${version} --yes" if none are`,
  UNMANAGED_DATABASE: ({ tables }) => {
    const adopted = adoptedHistoryIn(tables);
    const usual = defaultHistoryIn(tables);
    return adopted
      ? `pass --table ${adopted} (or set "tableName": "${adopted}" in the config): stepwise adopt recorded the history there`
      : usual
        ? `pass --table ${usual} (or set "tableName": "${usual}" in the config) if it is stepwise's history; else write migrations that build this schema and record them with "stepwise baseline <version>"`
        : `write migrations that build this schema and record them with "stepwise baseline <version>"`;
  },
  INVALID_TABLE_NAME: () => `pass a plain name to --table (or "tableName" in the config)`,
  TRANSACTION_ESCAPED: ({ file }) => `remove the transaction control from ${file}, or mark it transaction: false`,
  FOREIGN_KEY_VIOLATION: ({ file }) => `make ${file} copy every referenced row, or delete the orphans in it`,
  MIGRATION_FAILED: (details) => {
    const fix = migrationFailedFix(details);
    const sequences = details.sequencesSet.join(", ");
    return details.sequencesSet.length === 0 || details.afterReset ? fix : fix.replace(/nothing of it was kept$/, `its setval's change to ${sequences} was kept: set it back by hand`);
  },
  // The plain error it is made from carries the server's code: 3F000 is reset's refusal of a session creating in another schema.
  RESET_FAILED: ({ detail, ...error }) =>
    (error as { nativeCode?: unknown }).nativeCode === "3F000"
      ? `pass --schema <the schema the migrations built in> (it sets the session's search_path), then run "stepwise reset --yes" again`
      : `remove what keeps it${detail ? ` (${detail.split("\n")[0]})` : ""}: drop or change what depends on it, or load the module a virtual table needs; then run "stepwise reset --yes" again`,
  INVALID_TARGET: ({ steps, currentVersion, ...error }) => {
    // The plain error it is made from carries its message: one that names the command going the other way (up --to below the database) has that as the step.
    const named = /run ("stepwise (?:up|down) [^"]+")/.exec(String((error as { message?: unknown }).message))?.[1];
    if (steps === undefined) return named ? `run ${named}` : `pass a version the registry has, in the command's direction; "stepwise status" shows where the database is`;
    return currentVersion ? `pass --steps ${currentVersion} or fewer; "stepwise down --to 0" reverts all ${currentVersion}` : `nothing is applied, so there is nothing to revert`;
  },
  BATCH_KEY_INVALID: ({ file }) => `pass forEachBatch a key that is a unique, non-NULL column (the INTEGER PRIMARY KEY, or rowid) in ${file}`,
  BATCH_OPTIONS_INVALID: ({ file, option, value }) =>
    option === "batchSize"
      ? `pass a whole batchSize in ${file}`
      : option === "where" && typeof value === "string" && value.trim() !== ""
        ? `write ? in where, with the values in params, in ${file}`
        : `give forEachBatch in ${file} only the options it takes (table, key, columns, where, params, batchSize), each of its type`,
  DATABASE_LOCKED: () => `run it again when the lock is released, or raise --busy-timeout`,
  MIGRATION_IN_PROGRESS: ({ version, serverSession }) =>
    `run it again when migration ${version} finishes; ${serverSession === undefined ? "if its process is gone" : `once server session ${serverSession} has ended (it runs on after its process is gone)`}, "stepwise repair --applied ${version}" or "--forget ${version}"`,
  DATABASE_NEEDS_RECOVERY: () => `run "stepwise up" (or anything that writes) as a user who may write the database file and its folder`,
  // A server's carries its own fix; a SQLite file's message names the step for its code.
  DATABASE_UNUSABLE: ({ sqliteCode }) => fixOfUnusableSqlite(sqliteCode ?? ""),
  DATABASE_PATH_INVALID: ({ problem }) =>
    problem === "gone"
      ? "nothing, if the database was removed on purpose; else restore it (or correct its URL in --url-file, if it was mistyped) and run again"
      : problem === "mount-point"
        ? "mount the database's folder rather than the file, or stop the app and copy the backup in with the sqlite3 shell (.restore <backup>)"
        : `pass the path of a database file (--db, "database" in the config, or DATABASE_URL); for a server, use its driver (--driver pg)`,
  PATH_NOT_UTF8: () => `rename the file to a UTF-8 name (or link to it from one), and pass that`,
  DATABASE_FOLDER_MISSING: ({ folder }) => `check the database path, or create ${folder} first`,
  DISK_FULL: () => `free disk space and run it again`,
  DRIVER_UNKNOWN: ({ validDrivers }) => `use one of: ${validDrivers.join(", ")}`,
  DRIVER_NOT_INSTALLED: ({ installCommand, driver, reason }) => `run "${installCommand}", ${otherDriver(driver, reason)}`,
  DRIVER_RUNTIME_UNSUPPORTED: ({ required }) => `run the bin with ${required}, or choose another driver with --driver`,
  SCHEMA_MISMATCH: ({ version, adoptedFrom }) =>
    adoptedFrom && version === 0
      ? `point --db/--url at the database ${adoptedFrom} migrated (and --old-table at its history table, if it was named otherwise), or put back the rows deleted from that table, then run "stepwise adopt" again`
      : adoptedFrom
        ? `undo the change made by hand (or write it as a ${adoptedFrom} migration, run it and import again), then run "stepwise adopt" again`
        : `pick the version the schema matches, fix the schema by hand, or run "stepwise baseline ${version} --force" if the differences are harmless`,
  SCHEMA_DRIFT: () => `undo the change, or make it a migration ("stepwise create")`,
  ALREADY_MANAGED: ({ adoptFrom }) =>
    adoptFrom === null
      ? `run "stepwise up" to continue, or "stepwise verify" to compare its schema`
      : `run "stepwise verify" first; "stepwise up" continues only when it is clean (otherwise up would run again what ${adoptFrom} ran)`,
  SCRATCH_DATABASE_UNAVAILABLE: ({ sqlstate }) =>
    sqlstate === "25006"
      ? `run the check against the primary server, in a session that may write (default_transaction_read_only off): it creates a scratch database`
      : `grant the role CREATEDB ("ALTER ROLE <role> CREATEDB"), or run the check as a role that has it`,
  REHEARSAL_REFUSED: ({ rehearsableTo, obstacle }) => {
    const past =
      obstacle === "reaches-another-file"
        ? `take a backup and run it ("stepwise up --backup")`
        : obstacle === "non-transactional"
          ? `rehearse on a copy of the database (CREATE DATABASE … TEMPLATE, or a restored pg_dump), where what it leaves does no harm`
          : `rehearse on a copy of the database`;
    return rehearsableTo === null ? past : `rehearse up to the migration before it ("stepwise up --dry-run --to ${rehearsableTo}"), or ${past}`;
  },
  TEMP_FOLDER_UNUSABLE: ({ folder }) => `free space in ${folder}, or point TMPDIR at a folder that can hold a copy of the database`,
  BACKUP_INVALID: () => `pick a file written by "stepwise up --backup"`,
  BACKUP_FOREIGN: ({ file }) => `pick a backup of this database, or pass --force to restore ${file} anyway`,
  BACKUP_IS_DATABASE: () => `pick a backup written by "stepwise up --backup", not the database itself`,
  BACKUP_DISK_FULL: (details) => `${backupRoomFix(details)}, or back up to another folder (--backup <dir>)`,
  BACKUP_FOLDER_UNWRITABLE: ({ directory, systemCode }) =>
    isNotAFolder(systemCode) ? `pass a folder to --backup: ${directory} is a file, or lies under one` : `make ${directory} writable, or pass another folder to --backup`,
  MISSING_DEPENDENCY: ({ installCommand }) => `run "${installCommand}"`,
  DEPENDENCY_VERSION_UNSUPPORTED: ({ installCommand }) => `run "${installCommand}"`,
  FILE_WRITE_FAILED: ({ file }) => `free disk space or make the folder of ${file} writable, and run it again`,
  VERSIONS_EXHAUSTED: ({ migrationsDir }) => `rename the migration of ${migrationsDir} numbered 2^53 - 1 (or more) to the version after the one before it`,
  GIT_NOT_FOUND: () => `install git, or put it on the PATH`,
  NOT_A_GIT_REPOSITORY: () => `run it in a clone of the project, with the migrations folder inside it`,
  GIT_REF_NOT_FOUND: () => `fetch the branch ("git fetch origin"), or pass the one you will merge into with --base`,
  GIT_FAILED: () => `fix what git's message says and run it again`,
  GIT_HISTORY_SHALLOW: () => `fetch more history ("git fetch --unshallow", or fetch-depth: 0 in CI's checkout)`,
  REBASE_APPLIED_MIGRATION: ({ migrations }) =>
    `roll them back first ("stepwise down --to ${Math.min(...migrations.map((migration) => migration.version)) - 1}"), then rebase; or pass --no-db-check when that database is not one to keep`,
  REBASE_CONFLICT: () => `resolve it by hand, then run "stepwise rebase" again`,
  REBASE_RENAME_FAILED: ({ restored }) =>
    restored ? `check that the folder is writable and run "stepwise rebase" again` : `put the files in "pending" back, check that the folder is writable, and run "stepwise rebase" again`,
  IMPORT_SOURCE_INVALID: ({ dir, problems }) =>
    `fix each file ${problems.some((problem) => problem.importedBy) ? `named (of ${dir}, or one its migrations import)` : `of ${dir}`} as its problem says, then run the import again`,
  IMPORT_EMPTY_DOWN: () => `pass --empty-down irreversible or --empty-down no-op`,
  IMPORT_TARGET_NOT_EMPTY: () => `import into an empty folder (--dir, or "migrationsDir" in the config)`,
  ADOPT_MAP_INVALID: () => `pass the map "stepwise import" wrote (--map), and run "stepwise gen" after importing`,
  ADOPT_HISTORY_MISSING: () =>
    `point --db/--url at the database the tool migrated and --map at the import of that tool; pass --old-table <name> if the tool was configured to name its table otherwise`,
  ADOPT_TABLE_CLASH: () => `give stepwise's history another name (--table stepwise_migrations, or "tableName" in the config), then adopt`,
  ADOPT_UNKNOWN_MIGRATION: ({ tool, migrateTo, baselineVersion, oldTables = [], mapOutdated }) => {
    const baseline = `"${baselineCommand(baselineVersion!, oldTables)}"`;
    return migrateTo === null
      ? mapOutdated
        ? `import the ${tool} folder again into an empty folder (--dir <folder>) and run "stepwise adopt --map <folder>/stepwise-import-map.json"; if the folder no longer holds the scripts the baseline script replaced and the database ran them all, record it with ${baseline}, which checks its schema first`
        : `if the database ran every script the baseline script replaced, record it with ${baseline}, which checks its schema first`
      : migrateTo !== undefined
        ? `migrate the database to ${migrateTo} with ${tool} first, then adopt`
        : `import the folder the database was migrated from (the tool's migrations at the version deployed there), or remove those rows from the tool's table if they are stale`;
  },
  ADOPT_MIGRATION_FAILED: ({ migrations, force }) =>
    force === undefined
      ? `finish or roll back ${migrations.length === 1 ? "that migration" : "those migrations"} with the old tool, so every recorded one is applied or rolled back, then adopt`
      : `fix the database by hand, then run "migrate force ${force.finished}" if you finished ${migrations[0]?.file ?? "the migration"}, or "migrate force ${force.undone}" if you undid it, then adopt`,
  ADOPT_HISTORY_GAP: () => `apply the missing migrations with the old tool first, then adopt`,
  ADOPT_CHECKSUM_MISMATCH: () => `import the migrations the database actually ran (the tool's folder at the deployed commit), then adopt`,
  ADOPT_HISTORY_UNORDERED: () => `check that the imported migrations build this database's schema; if they do, record it with "stepwise baseline <version>"`,
  ADOPT_OLD_TABLE_INVALID: () => `pass --old-table as the tool was configured to name it: name, or schema.name on PostgreSQL`,
  ADOPT_SQL_REFUSED: () => `export a new copy of the database, adopt it without --drop-old-table and without running up on it, then write the SQL again`,
  ADOPT_TOOL_LOCKED: () => `stop the old tool's deployments; if none is running, release its lock with the tool, then adopt`,
  ADOPT_HISTORY_CHANGED: ({ adoptedVersion, toolVersion, currentVersion }) =>
    adoptedVersion === null || toolVersion === null
      ? `stop the old tool's deployments, then run "stepwise adopt" again`
      : toolVersion < adoptedVersion
        ? `migrate the database forward with the old tool to version ${adoptedVersion} or beyond, then run "stepwise adopt" again`
        : currentVersion !== adoptedVersion
          ? `check the schema ("stepwise verify") and data by hand, then delete the rows the old tool recorded after the adoption (or drop its table), and stop its deployments`
          : `stop the old tool's deployments, then run "stepwise adopt" again`,
  DATABASE_INSIDE_SQUASH: ({ squashVersion }) => `migrate the database to version ${squashVersion} or beyond with a release from before the squash first`,
  DOWN_BELOW_SQUASH: ({ version }) => `choose a target of ${version} or above; to go back further, restore a backup`,
  SQUASH_TARGET_INVALID: ({ latest }) =>
    latest < 2 ? `there is nothing to squash: it needs two migrations or more; add migrations first` : `pass --to a version from 2 to ${latest}, above any earlier squash`,
  SQUASH_REPLAY_UNAVAILABLE: () => `install a SQLite driver, or give a PostgreSQL project a server (DATABASE_URL, a role with CREATEDB)`,
  SQUASH_NOT_FAITHFUL: () => `squash to a version before the migration that made the difference`,
  SQUASH_UNCOMMITTED: () => `commit the migrations folder first`,
};

/** The step `DATABASE_UNUSABLE`'s message names for SQLite's `code`, spelled for the bin; the path's sources for a file that is no database. */
function fixOfUnusableSqlite(code: string): string {
  if (/^SQLITE_(NOTADB|CORRUPT)$/.test(code)) return `check the path: it must name a SQLite database file (--db, "database" in the config, or DATABASE_URL)`;
  const fix = unusableSqliteFix(code);
  return fix === null ? `point stepwise at the right database, with write access` : spell(fix, "cli");
}

/** The next step attached to `error` where it was made, if any. */
export function attachedFix(error: object): string | null {
  return attached.get(error) ?? null;
}

/** A plain error (a status problem, a fleet database's error) with the `fix` `--json` gives a thrown one: its own when its details carry one, else its code's, else `null`. */
export function withPlainFix<T extends { readonly code: string }>(plain: T): T & { readonly fix: unknown } {
  const make = FIX_OF_CODE[plain.code as StepwiseErrorCode] as ((details: unknown) => string) | undefined;
  return { ...plain, fix: (plain as { fix?: unknown }).fix ?? make?.(plain) ?? null };
}

/** `MIGRATION_FAILED`'s next step, but for what a rollback kept. */
function migrationFailedFix({ version, file, direction, rolledBack, location, afterReset, setting, atCommit, connectionClosed, replayed }: StepwiseErrorDetails["MIGRATION_FAILED"]): string {
  const at = location ? `${location.file}:${location.line}` : file;
  // The CLI names the command that replayed in place of "stepwise up".
  if (replayed) {
    return `make ${at} run on an empty database too (on PostgreSQL the scratch database shares the server's roles: create a role only where pg_roles lacks it, in a DO block), then run "stepwise gen" and "stepwise up" again; the database checked was not touched`;
  }
  // Pending again or interrupted, by its transaction mode: status tells which, and repair refuses a migration that left no attempt.
  if (connectionClosed) {
    return `remove the close() from ${file} and run "stepwise gen"; check the database for what it committed itself before closing; then "stepwise status" shows where it stands: run "stepwise ${direction}" again, or repair it as status says if it was interrupted`;
  }
  // A session whose search_path names no schema is no fault of the migration.
  if (rolledBack && !afterReset && setting === "search_path") {
    return `give the session a schema to build in: pass --schema <schema>, or set the role's (ALTER ROLE <role> SET search_path = <schema>); then run "stepwise ${direction}" again; nothing of it was kept`;
  }
  if (rolledBack && !afterReset && direction === "up" && setting === "statement_timeout") {
    return `let ${file} run longer than the session's statement_timeout: make "SET LOCAL statement_timeout = '30min'" its first statement (or raise the role's or the database's), then run "stepwise gen" and "stepwise up" again; nothing of it was kept`;
  }
  if (rolledBack && !afterReset && setting === "transaction") {
    const how = file.endsWith(".sql")
      ? `make it the first statement of its section (comments only before it)`
      : `move it to the start of a SQL migration, or give ${file} transaction: false and have it run BEGIN ISOLATION LEVEL … and COMMIT itself`;
    return `PostgreSQL takes SET TRANSACTION only before the transaction's first query, and ${at} sends it after one: ${how}; then run "stepwise gen" and "stepwise ${direction}" again; nothing of it was kept`;
  }
  const reached = afterReset?.reachedVersion;
  const reset = afterReset ? `reset's drops stayed: what the database held before it is gone, and it is at ${reached === null ? "the version before it" : `version ${reached}`}` : null;
  if (!rolledBack) {
    const repair = `check the database by hand: ${file} ran outside a transaction and may have left changes; then run "stepwise repair --applied ${version} --yes" if its changes are all there, or "stepwise repair --forget ${version} --yes" if none are`;
    return reset ? `${repair}; ${reset}` : repair;
  }
  // Under --transaction all a deferred constraint checked at COMMIT may be any of the run's migrations': applied one at a time, the one that breaks it fails at its own COMMIT.
  if (atCommit && atCommit.versions.length > 1 && !afterReset) {
    // The run's own command is quoted bare: the CLI adds the options that picked the database, its --to and --transaction all.
    const each = `applied one per transaction on a copy of the database, as a run without --transaction all applies them, the one that breaks it fails at its own COMMIT`;
    return `find which of migrations ${atCommit.versions.join(", ")} breaks the constraint the error names (${each}), fix it, run "stepwise gen", then run "stepwise ${direction}" again; nothing of them was kept`;
  }
  if (direction === "up") return `fix ${at}, then run "stepwise gen" and "stepwise up" again; nothing of it was kept${reset ? `, but ${reset}` : ""}`;
  // A location in another file (the original an imported wrapper runs, a helper) is what the down section ran.
  const section = location && location.file !== file ? `${at}, which the down section of ${file} runs` : `the down section of ${at}`;
  return `fix ${section}, run "stepwise gen", record the edit with "stepwise repair --checksums ${version} --yes" (on every database that applied it, before it runs this build), then run "stepwise down" again; nothing of it was kept`;
}
