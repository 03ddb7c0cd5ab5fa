/** `up`: applies the pending migrations; with `--dry-run` rehearses them, with `--backup` snapshots first. */
import { Option, type Command } from "commander";
import { StepwiseError } from "../../core/errors.js";
import { usageError } from "../../core/error-factories.js";
import type { TransactionMode } from "../../core/options.js";
import type { MigrationRegistry } from "../../core/types.js";
import { backupDriverOf, DEFAULT_BACKUP_KEEP, upWithBackup } from "../../safety/backup.js";
import { refuseServerBackup, resolvePath } from "../database-target.js";
import { formatRehearsal } from "../format-safety.js";
import type { CliManager } from "../open-database.js";
import { parsePath, parsePositiveInteger, refuseBareRepeat, singleValued } from "../parse-options.js";
import { defaultBackupDirectory } from "../safety-commands.js";
import { rehearsesOnCopy, rehearseWith } from "../safety-nets.js";
import { createTransactionOption, refuseWholeRunEarly, transactionOptionOf } from "../transaction-option.js";
import { withManager } from "../with-manager.js";
import type { CommandKit } from "./command-kit.js";

/** What `up` parses from its own flags. */
interface UpOptions {
  to?: number;
  transaction?: TransactionMode;
  json?: boolean;
  dryRun?: boolean;
  backup?: string | true;
  keepBackups?: number;
  dangerouslySkipIntegrityCheck?: boolean;
}

/** Adds `up`, with `--to`, `--transaction`, `--json`, `--dry-run` and `--backup`. */
export function addUpCommand<R extends MigrationRegistry>(program: Command, kit: CommandKit<R>): void {
  const up = program
    .command("up")
    .description("apply pending migrations, in order")
    .option("--to <version>", "stop after this version", singleValued(parsePositiveInteger))
    .addOption(createTransactionOption("apply"))
    .option("--json", "print the result as JSON instead of progress lines")
    .addOption(new Option("--dry-run", "rehearse on an in-memory copy and report durations, schema diff, row counts and failures; writes nothing").conflicts("backup"))
    .option("--backup [dir]", "snapshot the database before applying, when something is pending (default dir: backups/ next to the database)", singleValued(parsePath))
    .option("--keep-backups <count>", `how many backups of this database to keep in that folder (default: ${DEFAULT_BACKUP_KEEP})`, singleValued(parsePositiveInteger))
    .option("--dangerously-skip-integrity-check", "with --backup: migrate, and keep the snapshot, even when SQLite's quick_check finds the database damaged");
  refuseBareRepeat(up, "backup", "--backup [dir]");
  up.action((options: UpOptions, command: Command) => runUp(kit, command, options));
}

async function runUp<R extends MigrationRegistry>(kit: CommandKit<R>, command: Command, options: UpOptions): Promise<void> {
  const { session, output } = kit;
  output.quietEvents = Boolean(options.json);
  const to = options.to === undefined ? {} : { to: options.to };
  const transaction = transactionOptionOf(options);
  // What the run would refuse, refused before a database file is made (see withManager).
  const preflight = async (manager: CliManager<R>) => {
    let plan;
    try {
      plan = await manager.planUp(to);
    } catch (error) {
      // Only up tells an interrupted migration from one still running elsewhere (it waits for it).
      if (error instanceof StepwiseError && error.is("INCOMPLETE_MIGRATION")) return;
      throw error;
    }
    if (transaction.transaction === "all") await refuseWholeRunEarly(manager, plan);
  };
  if (options.dryRun) return rehearseUp(kit, command, to, transaction.transaction === "all", Boolean(options.json));
  const { dangerouslySkipIntegrityCheck = false } = options;
  // Only a backup is checked: plain up would read the whole file at every start.
  if (dangerouslySkipIntegrityCheck && options.backup === undefined) throw usageError("--dangerously-skip-integrity-check goes with --backup; plain up runs no integrity check.");
  if (options.backup === undefined) {
    await withManager(session, command, "write", async (manager) => output.printResult(await manager.up({ ...to, ...transaction }), Boolean(options.json)), preflight);
    return;
  }
  // Resolved before anything is opened or created: a path that is not the one the user meant is refused first.
  const backupDirectory = options.backup === true ? null : resolvePath(session, options.backup);
  // Backups copy a SQLite file; a PostgreSQL database is backed up with pg_dump before the run.
  const operation = session.commandLine("up --backup");
  refuseServerBackup(session, command, operation, "pg_dump");
  await withManager(
    session,
    command,
    "write",
    async (manager, databasePath) => {
      const backup = { directory: backupDirectory ?? defaultBackupDirectory(databasePath), keep: options.keepBackups ?? DEFAULT_BACKUP_KEEP };
      const result = await upWithBackup(manager, { ...to, ...transaction, backup, dangerouslySkipIntegrityCheck });
      // Scripts read which snapshot was taken: an online copy, or a VACUUM INTO on drivers without one.
      output.printResult(result.backup ? { ...result, backupMethod: result.backup.method } : result, Boolean(options.json));
    },
    async (manager) => {
      // A driver without files (sql.js) is refused before a database file is made.
      backupDriverOf(manager, "upWithBackup", "openFile");
      await preflight(manager);
    },
  );
}

/** `up --dry-run`: a sync SQLite manager rehearses on an in-memory copy; pg and an async manager in a transaction rolled back. */
async function rehearseUp<R extends MigrationRegistry>(kit: CommandKit<R>, command: Command, to: { to?: number }, wholeRun: boolean, json: boolean): Promise<void> {
  const { output } = kit;
  await withManager(kit.session, command, "rehearse", async (manager) => {
    // A rehearsal runs the migrations one by one; what one transaction for the run would refuse is refused first.
    if (wholeRun) await refuseWholeRunEarly(manager, await manager.planUp(to));
    const { rehearsal } = await rehearseWith(manager, to);
    output.clearProgress();
    if (json) output.printJson(rehearsal);
    else output.print(formatRehearsal(rehearsal, output.palette, rehearsesOnCopy(manager) ? "copy" : "rolled-back"));
    if (!rehearsal.ok) output.exitCode = 1;
  });
}
