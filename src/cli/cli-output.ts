/**
 * What the commands print and the exit code they leave: results as text or JSON, and the manager's
 * events as they happen (progress redrawn on a terminal, one line per migration).
 */
import type { MigrationEvent } from "../core/events.js";
import { formatMigrationLabel } from "../core/migration-label.js";
import type { MigrationResult } from "../core/options.js";
import type { CliIo } from "./cli-context.js";
import { formatDuration, roundDurations } from "./duration.js";
import { formatResult, type Palette } from "./format.js";
import { formatBackupTaken } from "./format-safety.js";
import { createProgressDisplay, type ProgressDisplay } from "./progress-display.js";

/** One run's output: where it prints, how, and the exit code it returns. */
export interface CliOutput {
  readonly io: CliIo;
  readonly palette: Palette;
  /** The exit code `run` returns, for a command that failed without throwing. */
  exitCode: number;
  /** Set by a `--json` run: events print nothing, so stdout holds the JSON alone. */
  quietEvents: boolean;
  /** Prints a line (a trailing newline added when missing). */
  print(text: string): void;
  /** Prints JSON; durations become whole milliseconds, as the text shows them rounded too. */
  printJson(value: unknown): void;
  /** Shows one of the manager's events. */
  printEvent(event: MigrationEvent): void;
  /** Prints what a run did, as JSON or as text. */
  printResult(result: MigrationResult & { readonly backupMethod?: string }, json: boolean): void;
  /** Clears a progress line still on the terminal. */
  clearProgress(): void;
}

/** The output of one CLI, printing to `io` with `palette`. */
export function createCliOutput(io: CliIo, palette: Palette): CliOutput {
  const progressDisplay = createProgressDisplay({ write: io.stdout, isTTY: io.isTTY, palette });
  const output: CliOutput = {
    io,
    palette,
    exitCode: 0,
    quietEvents: false,
    print: (text) => io.stdout(text.endsWith("\n") ? text : `${text}\n`),
    printJson: (value) => output.print(JSON.stringify(roundDurations(value), null, 2)),
    printEvent: (event) => printEvent(output, event, progressDisplay),
    printResult: (result, json) => (json ? output.printJson(result) : output.print(formatResult(result, palette))),
    clearProgress: () => progressDisplay.clear(),
  };
  return output;
}

function printEvent(output: CliOutput, event: MigrationEvent, progressDisplay: ProgressDisplay): void {
  if (output.quietEvents) return;
  if (event.type === "progress") return progressDisplay.show(event);
  progressDisplay.clear();
  const { palette, print } = output;
  if (event.type === "backed-up") return print(formatBackupTaken(event.backup, palette));
  if (event.type === "migrated") {
    const arrow = event.direction === "up" ? palette.green("↑") : palette.yellow("↓");
    print(`  ${arrow} ${formatMigrationLabel(event.version, event.name)} ${palette.dim(formatDuration(event.durationMs))}`);
  } else if (event.type === "skipped") {
    print(`  ${palette.dim(`- ${formatMigrationLabel(event.version, event.name)} (already ${event.direction === "up" ? "applied" : "reverted"} by another process)`)}`);
  }
}
