/**
 * The safety-net commands: `baseline`, `verify` and `restore`. They only parse, call the library and
 * print; `up --dry-run` and `up --backup` live with `up` in `create-cli.ts`. `baseline` and `verify`
 * run on every manager the CLI opens (sync SQLite, async SQLite, pg) through `src/cli/safety-nets.ts`.
 */
import path from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import type { MigrationRegistry } from "../core/types.js";
import type { SyncDriver } from "../core/driver.js";
import { restoreBackup } from "../safety/restore.js";
import type { CliContext } from "./cli-context.js";
import type { CliDriverName } from "./driver-names.js";
import { formatBaseline, formatRestore, formatVerification } from "./format-safety.js";
import { assertDriverWrites } from "./open-database.js";
import { parsePath } from "./parse-options.js";
import type { CliManager, CommandMode } from "./open-database.js";
import { baselineWith, verifyWith } from "./safety-nets.js";
import { usageError } from "../core/error-factories.js";

/** What the safety commands need from `createCli`. */
export interface SafetyCommandDeps<R extends MigrationRegistry> {
  readonly context: CliContext;
  readonly print: (text: string) => void;
  readonly printJson: (value: unknown) => void;
  /** A command as the user types it (the embedding app's `programName` first), for messages. */
  readonly commandLine: (rest: string) => string;
  readonly resolveDatabasePath: (command: Command) => string;
  readonly tableName: (command: Command) => string | undefined;
  /** The driver the command opens the database with. */
  readonly driver: (command: Command) => CliDriverName;
  /** Resolves a path the user typed. */
  readonly resolvePath: (file: string) => string;
  /** Opens the database with the manager the driver and registry call for (sync, async, or pg's) and runs `action` on it. */
  readonly withManager: <T>(command: Command, mode: CommandMode, action: (manager: CliManager<R>, databasePath: string, exists: boolean) => T) => Promise<Awaited<T>>;
  /** Refuses a backup or restore on a server database (pg), naming `tool`, before any connection. */
  readonly refuseServerBackup: (command: Command, operation: string, tool: "pg_dump" | "pg_restore") => void;
  /** Refuses (`USAGE`) a command on a SQLite file that does not exist: "There is no database at …; `consequence`." */
  readonly refuseMissingDatabase: (command: Command, consequence: string) => void;
  /** A fresh in-memory connection of the chosen driver's library, through which restore opens files; the caller closes it. */
  readonly scratchDriver: (command: Command) => Promise<{ readonly driver: SyncDriver; close(): void }>;
}

/** Adds `baseline`, `verify` and `restore` to the program. */
export function addSafetyCommands<R extends MigrationRegistry>(program: Command, deps: SafetyCommandDeps<R>): void {
  const { context, print, printJson } = deps;

  program
    .command("baseline")
    .description("adopt a database made before stepwise: record migrations 1..VERSION as applied if its schema matches them")
    .argument("<version>", "the last migration the database's schema already contains", parseVersion)
    .option("--force", "record them even when the schema differs (prints the differences)")
    .option("--json", "print plain JSON")
    .action(async (version: number, options: { force?: boolean; json?: boolean }, command: Command) => {
      deps.refuseMissingDatabase(command, "nothing to baseline");
      await deps.withManager(command, "write", async (manager) => {
        const result = await baselineWith(manager, version, { dangerouslyForce: Boolean(options.force) });
        if (options.json) printJson(result);
        else print(formatBaseline(result, context.palette));
      });
    });

  program
    .command("verify")
    .description("compare the schema with a replay of the applied migrations; exit 1 on drift")
    .option("--json", "print plain JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      deps.refuseMissingDatabase(command, "nothing to verify");
      // Not "read": on pg the replay creates (and drops) a scratch database, which a read-only session may not.
      await deps.withManager(command, "rehearse", async (manager) => {
        const verification = await verifyWith(manager);
        if (options.json) printJson(verification);
        else print(formatVerification(verification, context.palette));
        if (!verification.ok) context.setExitCode(1);
      });
    });

  program
    .command("restore")
    .description("put a backup written by up --backup back in place of the database (checks it first)")
    .argument("<file>", "the backup file", parsePath)
    .option("--yes", "confirm that the database's current content may be replaced")
    .option("--force", "restore even when the backup's history does not match this app's migrations")
    .option("--json", "print plain JSON")
    .action(async (file: string, options: { yes?: boolean; force?: boolean; json?: boolean }, command: Command) => {
      if (!options.yes) {
        throw usageError(`restore replaces the database's content with ${file}; run it again with --yes to confirm.`);
      }
      // A backup file is SQLite's; a PostgreSQL database is restored with pg_restore.
      deps.refuseServerBackup(command, deps.commandLine("restore"), "pg_restore");
      const databasePath = deps.resolveDatabasePath(command);
      if (databasePath === ":memory:") throw usageError("Cannot restore into an in-memory database; pass --db <path>.");
      assertDriverWrites(deps.driver(command), deps.commandLine("restore"));
      // Only the registry is needed from the database; the restore opens it itself, through a
      // scratch in-memory connection of the chosen driver's library (its openFile).
      const migrations = await deps.withManager(command, "read", (manager) => manager.migrations);
      const scratch = await deps.scratchDriver(command);
      const driver = scratch.driver;
      const result = await restoreBackup({
        driver,
        backupFile: deps.resolvePath(file),
        databasePath,
        tableName: deps.tableName(command),
        busyTimeoutMs: command.optsWithGlobals<{ busyTimeout?: number }>().busyTimeout,
        migrations,
        dangerouslyAllowForeignBackup: Boolean(options.force),
      }).finally(() => scratch.close());
      if (options.json) printJson(result);
      else print(formatRestore(result, context.palette));
    });
}

/** The folder `up --backup` uses when none is given: `backups/` next to the database. */
export function defaultBackupDirectory(databasePath: string): string {
  return path.join(path.dirname(databasePath), "backups");
}

function parseVersion(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < 1) throw new InvalidArgumentError("expected a migration version (1 or more)");
  return parsed;
}
