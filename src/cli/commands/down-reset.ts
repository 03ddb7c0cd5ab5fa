/** `down` reverts applied migrations, newest first; `reset` drops everything and applies them all again. */
import { Option, type Command } from "commander";
import { usageError } from "../../core/error-factories.js";
import type { TransactionMode } from "../../core/options.js";
import type { MigrationRegistry } from "../../core/types.js";
import { refuseMissingDatabase } from "../database-target.js";
import { parseNonNegativeInteger, parsePositiveInteger, singleValued } from "../parse-options.js";
import { createTransactionOption, transactionOptionOf } from "../transaction-option.js";
import { withManager } from "../with-manager.js";
import type { CommandKit } from "./command-kit.js";

/** Adds `down`: one migration, `--steps` of them, or every one above `--to`. */
export function addDownCommand<R extends MigrationRegistry>(program: Command, kit: CommandKit<R>): void {
  const { session, output } = kit;
  program
    .command("down")
    .description("revert applied migrations, newest first (default: one)")
    .addOption(new Option("--steps <count>", "how many to revert").argParser(singleValued(parsePositiveInteger)).conflicts("to"))
    .addOption(new Option("--to <version>", "revert every migration above this version (0 reverts all)").argParser(singleValued(parseNonNegativeInteger)))
    .addOption(createTransactionOption("revert"))
    .option("--json", "print the result as JSON instead of progress lines")
    .action(async (options: { steps?: number; to?: number; transaction?: TransactionMode; json?: boolean }, command: Command) => {
      output.quietEvents = Boolean(options.json);
      refuseMissingDatabase(session, command, "nothing to revert");
      const transaction = transactionOptionOf(options);
      await withManager(session, command, "write", async (manager) => {
        const result = await (options.to !== undefined ? manager.down({ to: options.to, ...transaction }) : manager.down({ steps: options.steps ?? 1, ...transaction }));
        output.printResult(result, Boolean(options.json));
      });
    });
}

/** Adds `reset`, which asks for `--yes` before it drops anything. */
export function addResetCommand<R extends MigrationRegistry>(program: Command, kit: CommandKit<R>): void {
  const { session, output } = kit;
  program
    .command("reset")
    .description("drop every table, view, index and trigger, then apply all migrations (destroys all data)")
    .option("--yes", "confirm that all data in the database may be destroyed")
    .option("--json", "print the result as JSON instead of progress lines")
    .action(async (options: { yes?: boolean; json?: boolean }, command: Command) => {
      if (!options.yes) throw usageError("reset destroys every table and all data; run it again with --yes to confirm.");
      output.quietEvents = Boolean(options.json);
      await withManager(session, command, "write", async (manager) => {
        output.printResult(await manager.reset({ dangerouslyDropAllData: true }), Boolean(options.json));
      });
    });
}
