/** What every command of the runtime CLI works with. */
import type { MigrationRegistry } from "../../core/types.js";
import type { CliOutput } from "../cli-output.js";
import type { CliSession } from "../database-target.js";

/** The session (settings, database target), the output, and the app's own command names. */
export interface CommandKit<R extends MigrationRegistry> {
  readonly session: CliSession<R>;
  readonly output: CliOutput;
  /** The library names commands as `stepwise <command>`; the app's own CLI is run by its name. */
  renameCommands(text: string): string;
}
