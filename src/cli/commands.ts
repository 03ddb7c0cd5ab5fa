/** The runtime commands: each a function of its scope and options that returns a {@link Report} (the data `--json` prints, and text); none parses or prints. */
import { parseJson } from "../shared/source-text.js";
import { tryOr } from "../shared/try-or.js";
import { existsSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { stepwiseTableNames } from "../safety/checksum-repair-log.js";
import { driverCapabilityError } from "../core/driver.js";
import { usageError } from "../core/error-factories.js";
import { backupRoomFix, migrationsUpTo } from "../safety/errors.js";
import { StepwiseError } from "../core/errors.js";
import { SyncMigrationManager } from "../core/manager.js";
import { formatVersion } from "../core/migration-label.js";
import { DEFAULT_BUSY_TIMEOUT_MS, type TransactionMode } from "../core/options.js";
import type { MigrationPlan } from "../core/planner.js";
import type { SchemaObjectKind } from "../core/schema-objects.js";
import { DEFAULT_TABLE_NAME } from "../core/history.js";
import { queryValue } from "../core/step.js";
import type { MigrationEntry, MigrationRegistry, VersionOf } from "../core/types.js";
import { refuseWholeRunObstacles } from "../core/whole-run-transaction.js";
import { adoptDatabase } from "../safety/adopt.js";
import { backupDriverOf, DEFAULT_BACKUP_KEEP, refuseUnwritableBackupFolder, upWithBackup } from "../safety/backup.js";
import { baselineDatabase } from "../safety/baseline.js";
import { describeChecksumRepair, listChecksumRepairs, repairChecksums } from "../safety/checksum-repair.js";
import { rehearseUp } from "../safety/rehearsal.js";
import { describeRepair, repairIncompleteMigration } from "../safety/repair.js";
import { restoreBackup } from "../safety/restore.js";
import type { SafetyNetManager } from "../safety/schema-reader.js";
import { verifySchema } from "../safety/verify.js";
import { adoptionSql } from "../safety/adoption-sql.js";
import { withFix } from "./error-fix.js";
import { connectorFor, driverOf, loadRegistry, refuseMissingDatabase, refuseServerBackup, resolvePath, resolveTarget, setting, withManager, type CommandScope } from "./database-target.js";
import * as format from "./format.js";
import { assertDriverWrites, type CliManager } from "./open-database.js";
import type { Report } from "./output.js";
import { inCliReport, targetFlags } from "./report-error.js";
import { writeFileAtomic } from "../safety/write-file.js";

/** The next step of a command refused for want of `--yes`. */
const CONFIRM_FIX = "run it again with --yes to confirm";
const RESET_UNMANAGED_FIX =
  'check that --db (or --url, DATABASE_URL) names the database you mean; if this one is to be emptied, delete its file or drop its objects by hand, or adopt it with "stepwise baseline <version>" first';

/** The environment variable that names who repairs checksums when `--by` is not given (a CI job's name, say). */
export const REPAIRED_BY_ENV = "STEPWISE_REPAIRED_BY";

/** A manager as the safety nets take it: each checks for the sync manager itself, and the result is awaited either way. */
const asNet = <R extends MigrationRegistry>(manager: CliManager<R>) => manager as unknown as SafetyNetManager<R, true>;

/** `status`: which migrations are applied and which pending; exit 1 with the refusal `up` would meet, spelled with the CLI's flags and name. */
export function status<R extends MigrationRegistry>(scope: CommandScope<R>): Promise<Report> {
  const { output } = scope.session;
  return withManager(scope, "read", async (manager, database, exists) => {
    const found = await manager.status();
    const problem = found.problem && inCliReport(found.problem, targetFlags(scope.flags));
    const label = exists ? database : `${database} ${output.palette.dim("(does not exist yet)")}`;
    // On PostgreSQL the URL alone does not say which history was read: --schema (or the config's) picks it.
    const schema = historySchemaOf(manager);
    const text = format.formatStatus({ ...found, problem }, label, output.palette, schema);
    return { data: { database, ...(schema !== undefined && { schema }), exists, ...found, problem }, text, ...(problem && { error: problem, exitCode: 1 }) };
  });
}

/** `up`: applies the pending migrations; with `dryRun` rehearses them, with `backup` snapshots the database first. */
export async function up<R extends MigrationRegistry>(
  scope: CommandScope<R>,
  options: { to?: number; transaction?: TransactionMode; dryRun?: boolean; backup?: string | true; keepBackups?: number; dangerouslySkipIntegrityCheck?: boolean },
): Promise<Report> {
  const { session } = scope;
  const { transaction, dangerouslySkipIntegrityCheck = false, backup } = options;
  // A rehearsal commits nothing.
  session.output.committed = options.dryRun ? null : [];
  const to = options.to === undefined ? {} : { to: options.to as VersionOf<R> };
  // What one transaction for the run would refuse, refused first (and before a file is made).
  const refuseWholeRun = async (manager: CliManager<R>, plan?: MigrationPlan<MigrationEntry>) => {
    if (transaction !== "all") return;
    plan ??= await manager.planUp(to);
    await manager.run(refuseWholeRunObstacles(manager.executor, plan.steps, plan.direction));
  };
  // Only a backup is checked, and only a backup has copies to keep: without --backup these flags would be ignored, and the run go ahead with no snapshot.
  const backupOnly = [options.keepBackups !== undefined && "--keep-backups", dangerouslySkipIntegrityCheck && "--dangerously-skip-integrity-check"].find(Boolean);
  if (backupOnly && backup === undefined) {
    throw withFix(usageError(`${backupOnly} goes with --backup; without it up takes no backup and runs no integrity check.`), `add --backup, or leave out ${backupOnly}`);
  }
  if (options.dryRun) {
    // A sync SQLite manager rehearses on an in-memory copy; pg and an async manager in a transaction rolled back.
    return withManager(scope, "rehearse", async (manager) => {
      await refuseWholeRun(manager);
      const { rehearsal } = await rehearseUp(asNet(manager), to);
      const text = format.formatRehearsal(rehearsal, session.output.palette, manager instanceof SyncMigrationManager ? "copy" : "rolled-back");
      return { data: rehearsal, text, ...(!rehearsal.ok && { exitCode: 1 }) };
    });
  }
  const run = { ...to, ...(transaction === undefined ? {} : { transaction }) };
  const preflight = async (manager: CliManager<R>) => {
    let plan;
    try {
      plan = await manager.planUp(to);
    } catch (error) {
      // Only up tells an interrupted migration from one still running elsewhere (it waits for it).
      if (error instanceof StepwiseError && error.is("INCOMPLETE_MIGRATION")) return;
      throw error;
    }
    await refuseWholeRun(manager, plan);
  };
  repeatOnFailure(scope, `${options.to === undefined ? "" : ` --to ${options.to}`}${transaction === "all" ? " --transaction all" : ""}`);
  if (backup === undefined) return withManager(scope, "write", async (manager) => resultReport(scope, await manager.up(run)), preflight);
  // Resolved before anything is opened: a path that is not the one the user meant is refused first.
  const directory = backup === true ? null : resolvePath(session, backup);
  // Backups copy a SQLite file; a PostgreSQL database is backed up with pg_dump before the run.
  refuseServerBackup(scope, session.commandLine("up --backup"), "pg_dump");
  const withBackup = async (manager: CliManager<R>, databasePath: string) => {
    const keep = options.keepBackups ?? DEFAULT_BACKUP_KEEP;
    const result = await upWithBackup(asNet(manager), { ...run, dangerouslySkipIntegrityCheck, backup: { directory: directory ?? path.join(path.dirname(databasePath), "backups"), keep } });
    // Scripts read which snapshot was taken: an online copy, or a VACUUM INTO on drivers without one.
    return resultReport(scope, result.backup ? { ...result, backupMethod: result.backup.method } : result);
  };
  return withManager(scope, "write", withBackup, async (manager) => {
    // A driver without files (sql.js) is refused before a database file is made, and so is a backup folder that cannot be made or written.
    backupDriverOf(manager, "upWithBackup", "openFile");
    await preflight(manager);
    const { file } = resolveTarget(scope);
    if (file !== null && file !== ":memory:") refuseUnwritableBackupFolder(directory ?? path.join(path.dirname(file), "backups"));
  });
}

/** `down`: one migration, `steps` of them, or every one above `to`. */
export async function down<R extends MigrationRegistry>(scope: CommandScope<R>, options: { readonly steps?: number; readonly to?: number; readonly transaction?: TransactionMode }): Promise<Report> {
  scope.session.output.committed = [];
  refuseMissingDatabase(scope, "nothing to revert");
  // No --steps passes none, so a plain down with nothing applied is a no-op as the library's down() is.
  const target = options.to !== undefined ? { to: options.to as VersionOf<R> | 0 } : options.steps !== undefined ? { steps: options.steps } : {};
  const all = options.transaction === "all" ? " --transaction all" : "";
  return withManager(scope, "write", async (manager) => {
    // A run of each migration on its own keeps what it reverted before one failed, so "--steps" again would revert too many: the version it aimed at is repeated instead.
    let to: number | undefined = options.to;
    if (options.steps !== undefined && all === "") {
      try {
        to = (await manager.planDown({ steps: options.steps })).toVersion;
      } catch {
        // down meets the same refusal, and reports it.
      }
    }
    repeatOnFailure(scope, to !== undefined ? ` --to ${to}${all}` : options.steps !== undefined ? ` --steps ${options.steps}${all}` : all);
    return resultReport(scope, await manager.down({ ...target, ...(options.transaction && { transaction: options.transaction }) }));
  });
}

/** Makes a fix that says to run this `up` or `down` again repeat `options`: where the run was to stop, and whether it was one transaction. */
function repeatOnFailure(scope: CommandScope, options: string): void {
  const { running } = scope.session;
  if (running !== undefined && options !== "") scope.session.running = { ...running, repeat: options };
}

/** `reset`: drops everything and applies every migration again, once confirmed. */
export async function reset<R extends MigrationRegistry>(scope: CommandScope<R>, options: { readonly yes?: boolean }): Promise<Report> {
  scope.session.output.committed = [];
  if (!options.yes) throw withFix(usageError("reset destroys every table and all data; run it again with --yes to confirm."), CONFIRM_FIX);
  return withManager(scope, "write", async (manager) => {
    // The drops take the history with them: the version they leave is read first, for the report to say what went.
    const resetFromVersion = await Promise.resolve()
      .then(() => manager.currentVersion())
      .catch(() => null);
    try {
      return resultReport(scope, { ...(await manager.reset({ dangerouslyDropAllData: true })), resetFromVersion });
    } catch (error) {
      // The fix up's refusal gives (baseline) is not the only way on here: the database may simply be the wrong one.
      if (error instanceof StepwiseError && error.is("UNMANAGED_DATABASE")) throw withFix(error, RESET_UNMANAGED_FIX);
      throw error;
    }
  });
}

/** The report of `up`, `down` or `reset`. */
function resultReport(scope: CommandScope, result: Parameters<typeof format.formatResult>[0] & { readonly backupMethod?: string }): Report {
  return { data: result, text: format.formatResult(result, scope.session.output.palette) };
}

/** `history`: the applied migrations; in JSON each row of a version whose checksum was realigned carries its events as `checksumRepairs`. */
export function history<R extends MigrationRegistry>(scope: CommandScope<R>): Promise<Report> {
  return withManager(scope, "read", async (manager) => {
    const rows = await manager.history();
    const repairs = await listChecksumRepairs(asNet(manager));
    const data = rows.map((row) => {
      // A repair realigned the row of its time: a row reverted and applied again since recorded the checksum it ran with, and the text lists the repair on its own.
      const own = repairs.filter((event) => event.version === row.version && event.repairedAt >= row.appliedAt);
      return own.length === 0 ? row : { ...row, checksumRepairs: own };
    });
    return { data, text: format.formatHistory(rows, repairs, scope.session.output.palette) };
  });
}

/** `version`: the database's schema version, a bare number. */
export function version<R extends MigrationRegistry>(scope: CommandScope<R>): Promise<Report> {
  return withManager(scope, "read", async (manager) => {
    const data = await manager.currentVersion();
    return { data, text: String(data) };
  });
}

/** `info`: the database file, its schema version, object counts, last migration and journal mode; refused on a missing file. */
export function info<R extends MigrationRegistry>(scope: CommandScope<R>): Promise<Report> {
  const { session } = scope;
  return withManager(scope, "read", async (manager, databasePath, exists) => {
    if (!exists) throw withFix(usageError(`There is no database at ${databasePath}; run "${session.commandLine("up")}" to create it.`), `run "${session.commandLine("up")}" to create it`);
    const data = await collectDatabaseInfo(manager, databasePath, targetFlags(scope.flags));
    const { sizeBytes: size, lastMigration: last, problem, pendingCount } = data;
    const text = format.formatKeyValues(
      [
        ["Path", data.path],
        ["Size", size < 1024 ? `${size} B` : size < 1024 * 1024 ? `${(size / 1024).toFixed(1)} KiB` : `${(size / 1024 / 1024).toFixed(1)} MiB`],
        ["Schema version", `${data.currentVersion} of ${data.latestVersion}${problem ? ` (up refuses: ${problem.code})` : pendingCount > 0 ? ` (${pendingCount} pending)` : ""}`],
        // Left out where the database has none (PostgreSQL, a libSQL server).
        ["user_version", data.userVersion === null ? null : String(data.userVersion)],
        ["Tables", String(data.objects.tables)],
        ["Indexes", String(data.objects.indexes)],
        ["Triggers", String(data.objects.triggers)],
        ["Views", String(data.objects.views)],
        ["Last migration", last ? `${formatVersion(last.version)} ${last.name} at ${format.formatTimestamp(last.appliedAt)}` : "none"],
        ["Journal mode", data.journalMode],
        ["History table", data.historyTable],
      ],
      session.output.palette,
    );
    return { data, text };
  });
}

/** What `info` reports, read without writing; `user_version` and the journal mode are `null` where the database has none. */
async function collectDatabaseInfo<R extends MigrationRegistry>(manager: CliManager<R>, path: string, flags: string) {
  const status = await manager.status();
  const objects = await manager.run(manager.executor.dialect.readSchemaObjects({ excludeTables: stepwiseTableNames(manager.tableName) }));
  const count = (type: SchemaObjectKind) => objects.filter((object) => object.type === type).length;
  // From the history, not the status rows, which leave out versions the registry lacks.
  const history = status.problem?.code === "HISTORY_TABLE_INVALID" ? [] : await manager.history();
  const last = history.filter((row) => row.state === "applied").at(-1);
  const common = {
    path,
    currentVersion: status.currentVersion,
    latestVersion: status.latestVersion,
    pendingCount: status.pendingCount,
    problem: status.problem && inCliReport(status.problem, flags),
    objects: { tables: count("table"), indexes: count("index"), triggers: count("trigger"), views: count("view") },
    lastMigration: last ? { version: last.version, name: last.name, appliedAt: last.appliedAt } : null,
  };
  if (manager.driver.dialect === "postgres") {
    const size = await manager.run(queryValue("SELECT pg_catalog.pg_database_size(pg_catalog.current_database()) AS size"));
    const schema = historySchemaOf(manager);
    return { ...common, sizeBytes: Number(size), userVersion: null, journalMode: null, historyTable: schema === undefined ? manager.tableName : `${schema}.${manager.tableName}` };
  }
  const pragma = async (name: string): Promise<unknown> => manager.run(queryValue(`PRAGMA ${name}`));
  const file = (manager.driver as { filePath?: string | null }).filePath ?? (path !== ":memory:" && existsSync(path) ? path : null);
  return {
    ...common,
    sizeBytes: file === null ? 0 : statSync(file).size,
    // A libSQL server (Turso) refuses the pragma; the history table is the record there.
    userVersion: manager.driver.capabilities.userVersion ? Number(await pragma("user_version")) : null,
    journalMode: String(await pragma("journal_mode")),
    historyTable: manager.tableName,
  };
}

/** The schema of the history table, on a dialect that has schemas (PostgreSQL); `undefined` on SQLite. */
function historySchemaOf(manager: CliManager<MigrationRegistry>): string | undefined {
  return (manager.executor.store as { readonly schema?: string }).schema;
}

/** `repair`: records an interrupted `transaction: false` migration as applied or forgets it; or realigns recorded checksums, exiting 1 until confirmed (0 when nothing is left, so it can run twice). */
export async function repair<R extends MigrationRegistry>(
  scope: CommandScope<R>,
  options: { applied?: number; forget?: number; checksums?: number | true; by?: string; yes?: boolean },
): Promise<Report> {
  if (options.checksums !== undefined) {
    refuseMissingDatabase(scope, "nothing to repair");
    const apply = Boolean(options.yes);
    // Who a checksum repair is recorded as: --by, then $STEPWISE_REPAIRED_BY, then the OS user (a container user with no passwd entry has no name to read).
    const { env } = scope.session.output.io;
    const repairedBy = options.by?.trim() || env[REPAIRED_BY_ENV]?.trim() || (tryOr(() => os.userInfo().username, null) ?? (env.USER?.trim() || env.USERNAME?.trim() || "unknown"));
    return withManager(scope, apply ? "write" : "read", async (manager) => {
      const result = await repairChecksums(asNet(manager), { apply, repairedBy, ...(options.checksums === true ? {} : { version: options.checksums }) });
      return { data: result, text: describeChecksumRepair(result), exitCode: !result.applied && result.realignments.length > 0 ? 1 : 0 };
    });
  }
  if (options.by !== undefined) throw withFix(usageError("--by names who realigned checksums; it goes with --checksums."), "add --checksums, or leave out --by");
  const version = options.applied ?? options.forget;
  if (version === undefined) {
    throw withFix(usageError("repair needs --applied <version>, --forget <version> or --checksums [version]."), "pass --applied <version>, --forget <version> or --checksums [version]");
  }
  if (!options.yes) throw withFix(usageError("repair rewrites the history after you checked the database by hand; run it again with --yes to confirm."), CONFIRM_FIX);
  refuseMissingDatabase(scope, "nothing to repair");
  return withManager(scope, "write", async (manager) => {
    const result = await repairIncompleteMigration(asNet(manager), { version, resolution: options.applied !== undefined ? "applied" : "forget" });
    return { data: result, text: describeRepair(result) };
  });
}

/** `baseline`: adopts a database made before stepwise, recording migrations 1..`version` as applied if its schema matches them (or `force`). */
export async function baseline<R extends MigrationRegistry>(scope: CommandScope<R>, options: { readonly force?: boolean; readonly oldTable?: readonly string[] }, version: number): Promise<Report> {
  refuseMissingDatabase(scope, "nothing to baseline");
  return withManager(scope, "write", async (manager) => {
    const result = await baselineDatabase(asNet(manager), version as VersionOf<R>, { dangerouslyForce: Boolean(options.force), oldTables: options.oldTable ?? [] });
    return { data: result, text: format.formatBaseline(result, scope.session.output.palette) };
  });
}

/** `adopt`: records the migrations another tool applied, read from its history table through `stepwise import`'s map (the bin defaults `--map` to the project's migrations folder; an app's CLI to `migrations/stepwise-import-map.json`). */
export async function adopt<R extends MigrationRegistry>(
  scope: CommandScope<R>,
  options: { readonly map?: string; readonly dropOldTable?: boolean; readonly historyFile?: string; readonly oldTable?: string; readonly writeSql?: string },
): Promise<Report> {
  refuseMissingDatabase(scope, "nothing to adopt");
  if (options.writeSql !== undefined && (options.dropOldTable || options.historyFile !== undefined)) {
    throw withFix(
      usageError("--write-sql guards the SQL it writes with the old tool's table, so it takes neither --drop-old-table nor --history-file; drop the table later, by hand, on both databases."),
      "leave out --drop-old-table and --history-file with --write-sql; drop the old tool's table later, by hand, on both databases",
    );
  }
  const mapFile = options.map ?? "migrations/stepwise-import-map.json";
  let map: unknown;
  try {
    map = parseJson(readFileSync(resolvePath(scope.session, mapFile), "utf8"));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist (pass the map stepwise import wrote with --map)" : `it cannot be read as JSON (${(error as Error).message})`;
    throw new StepwiseError("ADOPT_MAP_INVALID", `${mapFile} cannot be adopted from: ${reason}.`, { file: mapFile, reason });
  }
  if (options.historyFile !== undefined && options.dropOldTable) {
    throw withFix(
      usageError("--drop-old-table drops the old tool's table; a history file (--history-file) is yours to delete once adopted."),
      "leave out --drop-old-table, and delete the history file yourself once adopted",
    );
  }
  // Umzug's JSONStorage: the history is a file beside the app, read here so the safety net stays free of the file system.
  const historyFile = options.historyFile === undefined ? undefined : readHistoryFile(options.historyFile, resolvePath(scope.session, options.historyFile));
  return withManager(scope, "write", async (manager) => {
    if (options.writeSql !== undefined && manager.driver.dialect !== "sqlite")
      throw withFix(
        usageError("--write-sql writes SQLite's SQL, for a copy of a D1 or Durable Object database; a PostgreSQL database is adopted in place."),
        "leave out --write-sql: a PostgreSQL database is adopted in place",
      );
    const result = await adoptDatabase(asNet(manager), map, { mapFile, dropOldTable: Boolean(options.dropOldTable), ...(historyFile && { historyFile }), oldTable: options.oldTable });
    const { writeSql } = options;
    // The copy's adoption as SQL for the database it was copied from, written whole or not at all: a file cut short by a full disk would run part of the adoption there.
    if (writeSql !== undefined) writeFileAtomic(resolvePath(scope.session, writeSql), await manager.run(adoptionSql(manager.tableName, resolveTarget(scope).label)));
    const old =
      options.historyFile !== undefined
        ? `${result.oldTable} is kept; delete it once ${result.tool} no longer runs`
        : `${result.oldTable} ${result.oldTableDropped ? "was dropped" : "is kept, and baseline and verify leave it out"}`;
    // A later run records only what the old tool applied since the first.
    const since = result.recorded[0] !== undefined && result.recorded[0] > 1 ? result.recorded : undefined;
    const recorded =
      result.version === 0
        ? `recorded none of the ${result.imported} imported (${result.tool} had applied none)`
        : since
          ? `recorded ${since.length === 1 ? `migration ${since[0]}` : `migrations ${since[0]}..${result.version}`}, which ${result.tool} applied since stepwise last recorded, as applied (the schema matches)`
          : `recorded ${migrationsUpTo(result.version)} of the ${result.imported} imported as applied (the schema matches)`;
    // A --table other than the configured one holds the history now: every later command must name it, or reads the configured (often the old tool's) table.
    const configured = setting(undefined, scope.session.props.tableName) ?? DEFAULT_TABLE_NAME;
    const setInConfig = manager.tableName === configured ? null : { tableName: manager.tableName };
    const keep = setInConfig
      ? `\nstepwise's history is in ${manager.tableName}, not the configured ${configured}: set "tableName": "${manager.tableName}" in the config, or every later command needs --table ${manager.tableName}.`
      : "";
    const text =
      (result.alreadyAdopted
        ? `Already adopted from ${result.tool} at version ${result.version}; ${result.oldTableDropped ? `${result.oldTable} was dropped` : "nothing changed"}.`
        : scope.session.output.palette.green(`Adopted from ${result.tool}: ${recorded}; "up" continues from ${result.version + 1}. ${old}.`)) +
      keep +
      (writeSql === undefined ? "" : `\nWrote ${writeSql}: run it on the database this is a copy of (wrangler d1 execute <database> --remote --file ${writeSql}).`);
    return { data: { ...result, setInConfig, ...(writeSql !== undefined && { sqlFile: writeSql }) }, text };
  });
}

/** A history file's parsed JSON, or why it cannot be read, in the words the map's error uses (adopt names the file in its error). */
function readHistoryFile(file: string, resolved: string): { readonly file: string; readonly content: unknown; readonly unreadable?: string } {
  try {
    return { file, content: parseJson(readFileSync(resolved, "utf8")) };
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const unreadable = code === "ENOENT" ? "it does not exist" : error instanceof SyntaxError ? `it cannot be read as JSON (${message})` : `it cannot be read (${message})`;
    return { file, content: undefined, unreadable };
  }
}

/** `verify`: compares the schema with a replay of the applied migrations; exit 1 on drift. */
export async function verify<R extends MigrationRegistry>(scope: CommandScope<R>): Promise<Report> {
  refuseMissingDatabase(scope, "nothing to verify");
  // Not "read": on pg the replay creates (and drops) a scratch database, which a read-only session may not.
  return withManager(scope, "rehearse", async (manager) => {
    const verification = await verifySchema(asNet(manager));
    return { data: verification, text: format.formatVerification(verification, scope.session.output.palette), ...(!verification.ok && { exitCode: 1 }) };
  });
}

/** `restore`: puts a backup written by `up --backup` back in place of the database, once confirmed, after checking it. */
export async function restore<R extends MigrationRegistry>(scope: CommandScope<R>, options: { readonly yes?: boolean; readonly force?: boolean }, file: string): Promise<Report> {
  const { session, flags } = scope;
  if (!options.yes) throw withFix(usageError(`restore replaces the database's content with ${file}; run it again with --yes to confirm.`), CONFIRM_FIX);
  // A backup file is SQLite's; a PostgreSQL database is restored with pg_restore.
  const operation = session.commandLine("restore");
  refuseServerBackup(scope, operation, "pg_restore");
  const databasePath = resolveTarget(scope).file!;
  assertDriverWrites(driverOf(scope), operation);
  // restore opens the files itself, through a scratch connection of the chosen library (its openFile).
  const migrations = await loadRegistry(scope);
  const busyTimeoutMs = setting(flags.busyTimeout, session.props.busyTimeoutMs) ?? DEFAULT_BUSY_TIMEOUT_MS;
  const scratch = await (await connectorFor(scope, "write")).open({ databasePath: ":memory:", busyTimeoutMs, migrations: [], props: {} });
  if (!(scratch.manager instanceof SyncMigrationManager)) {
    await scratch.close();
    throw driverCapabilityError({ driver: scratch.manager.driver.name, capability: "openFile", operation });
  }
  const result = await restoreBackup({
    driver: (scratch.manager as SyncMigrationManager<unknown, never[]>).driver,
    backupFile: resolvePath(session, file),
    databasePath,
    tableName: setting(flags.table, session.props.tableName),
    busyTimeoutMs,
    migrations,
    dangerouslyAllowForeignBackup: Boolean(options.force),
  })
    .catch((error: unknown) => {
      // A folder error's own fix names `up --backup`'s options, which a restore has not.
      if (error instanceof StepwiseError && error.is("BACKUP_FOLDER_UNWRITABLE")) throw withFix(error, `make ${error.details.directory} writable, then run the restore again`);
      if (error instanceof StepwiseError && error.is("BACKUP_DISK_FULL")) throw withFix(error, `${backupRoomFix(error.details)}, then run the restore again`);
      throw error;
    })
    .finally(() => void scratch.close());
  return { data: result, text: format.formatRestore(result, session.output.palette) };
}
