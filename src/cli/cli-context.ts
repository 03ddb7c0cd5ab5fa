/**
 * What the commands share, in a file of its own so that command modules (`safety-commands.ts`) can
 * take it without importing `create-cli.ts`, which imports them.
 */
import type { Command } from "commander";
import type { AppliedMigration } from "../core/planner.js";
import type { Palette } from "./format.js";

/** Where the CLI writes and what it knows about its terminal; defaults to the real process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal, which turns colour on. */
  readonly isTTY: boolean;
}

/** What the commands share, handed to `CreateCliProps.extend`. */
export interface CliContext {
  readonly io: CliIo;
  readonly palette: Palette;
  /** Sets the exit code `run` returns, for a command that failed without throwing. */
  setExitCode(code: number): void;
  /**
   * The history rows of the database the global flags and settings point at (`--db`, `--url`, the
   * configured database, `DATABASE_URL`), read without loading the registry and without creating a
   * missing file; `null` when no database is configured.
   */
  readAppliedHistory(command: Command): Promise<{ readonly database: string; readonly rows: readonly AppliedMigration[] } | null>;
}
