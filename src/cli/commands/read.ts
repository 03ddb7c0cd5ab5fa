/** The commands that only read: `history`, `version` and `info`. */
import type { Command } from "commander";
import { usageError } from "../../core/error-factories.js";
import type { MigrationRegistry } from "../../core/types.js";
import { attachChecksumRepairs, checksumRepairsWith, formatChecksumRepairEvents } from "../checksum-repair-command.js";
import { collectDatabaseInfo } from "../database-info.js";
import { formatHistory, formatInfo } from "../format.js";
import { inCliSpelling } from "../json-error.js";
import { withManager } from "../with-manager.js";
import type { CommandKit } from "./command-kit.js";

/** Adds `history`, `version` and `info`, which open the database read-only and never create it. */
export function addReadCommands<R extends MigrationRegistry>(program: Command, kit: CommandKit<R>): void {
  const { session, output } = kit;
  const { palette } = output;
  program
    .command("history")
    .description("list applied migrations with when they ran and how long they took")
    .option("--json", "print plain JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      await withManager(session, command, "read", async (manager) => {
        const rows = await manager.history();
        const repairs = await checksumRepairsWith(manager);
        if (options.json) output.printJson(attachChecksumRepairs(rows, repairs));
        else output.print(formatHistory(rows, palette) + formatChecksumRepairEvents(repairs));
      });
    });

  program
    .command("version")
    .description("print the database's schema version (0 when nothing is applied)")
    .action(async (_options: unknown, command: Command) => {
      await withManager(session, command, "read", async (manager) => output.print(String(await manager.currentVersion())));
    });

  program
    .command("info")
    .description("show the database file, its schema version, object counts, last migration and journal mode")
    .option("--json", "print plain JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      await withManager(session, command, "read", async (manager, databasePath, exists) => {
        if (!exists) throw usageError(`There is no database at ${databasePath}; run "${session.commandLine("up")}" to create it.`);
        const collected = await collectDatabaseInfo(manager, databasePath);
        const info = { ...collected, problem: collected.problem && inCliSpelling(collected.problem) };
        if (options.json) output.printJson(info);
        else output.print(formatInfo(info, palette));
      });
    });
}
