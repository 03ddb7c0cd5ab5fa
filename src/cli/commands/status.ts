/** `status`: which migrations are applied and which are pending, and why `up` would refuse. */
import type { Command } from "commander";
import type { StatusProblem } from "../../core/plain-error.js";
import type { MigrationRegistry } from "../../core/types.js";
import { formatStatus } from "../format.js";
import { inCliSpelling } from "../json-error.js";
import { renameInFix } from "../program-name.js";
import { withManager } from "../with-manager.js";
import type { CommandKit } from "./command-kit.js";

/** Adds `status`: the plan as text or JSON, exit 1 with the refusal `up` would meet. */
export function addStatusCommand<R extends MigrationRegistry>(program: Command, kit: CommandKit<R>): void {
  program
    .command("status")
    .description("show which migrations are applied and which are pending")
    .option("--json", "print plain JSON")
    .action((options: { json?: boolean }, command: Command) => showStatus(kit, command, Boolean(options.json)));
}

async function showStatus<R extends MigrationRegistry>(kit: CommandKit<R>, command: Command, json: boolean): Promise<void> {
  const { output, renameCommands } = kit;
  const { palette } = output;
  await withManager(kit.session, command, "read", async (manager, databasePath, exists) => {
    const found = await manager.status();
    // The refusal as every command prints one: spelled with the CLI's flags, named by this program.
    const problem = found.problem && inCliSpelling(found.problem);
    const status = {
      ...found,
      problem: problem && { ...problem, message: renameCommands(problem.message), ...(problem.fix ? { fix: renameInFix(problem.fix, renameCommands) as StatusProblem["fix"] } : {}) },
    };
    if (json) output.printJson({ database: databasePath, exists, ...status });
    else output.print(formatStatus(status, exists ? databasePath : `${databasePath} ${palette.dim("(does not exist yet)")}`, palette));
    if (status.problem) {
      output.io.stderr(`${palette.red(`error [${status.problem.code}]`)}: ${status.problem.message}\n`);
      output.exitCode = 1;
    }
  });
}
