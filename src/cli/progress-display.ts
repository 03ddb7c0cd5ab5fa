/**
 * Shows `progress` events: a bar redrawn in place, with rate and ETA, on a terminal; plain lines at
 * most once per interval otherwise, so logs of CI runs and services stay readable.
 */
import type { MigrationEvent } from "../core/events.js";
import { formatMigrationLabel } from "../core/migration-label.js";
import type { Palette } from "./format.js";

type ProgressEvent = Extract<MigrationEvent, { type: "progress" }>;

/** How often a non-terminal gets a progress line, in milliseconds of migration time. */
export const DEFAULT_PLAIN_PROGRESS_INTERVAL_MS = 2_000;

/** Options for {@link createProgressDisplay}. */
export interface ProgressDisplayOptions {
  readonly write: (text: string) => void;
  /** A terminal gets the redrawn bar; anything else gets plain lines. */
  readonly isTTY: boolean;
  readonly palette: Palette;
  /** Default {@link DEFAULT_PLAIN_PROGRESS_INTERVAL_MS}. */
  readonly plainIntervalMs?: number;
  /** Bar width in cells. Default 24. */
  readonly barWidth?: number;
}

/** Draws progress; `clear` removes a bar before other output is printed. */
export interface ProgressDisplay {
  show(event: ProgressEvent): void;
  clear(): void;
}

/** Creates a {@link ProgressDisplay}. */
export function createProgressDisplay(options: ProgressDisplayOptions): ProgressDisplay {
  const plainIntervalMs = options.plainIntervalMs ?? DEFAULT_PLAIN_PROGRESS_INTERVAL_MS;
  const width = options.barWidth ?? 24;
  let barShown = false;
  let lastPlain: { version: number; elapsedMs: number } | null = null;
  return {
    show(event) {
      const label = formatMigrationLabel(event.version, event.name);
      const counts = event.total === null ? `${formatCount(event.done)}` : `${formatCount(event.done)}/${formatCount(event.total)}`;
      // Nothing to walk: a bar or a line would only be noise.
      if (event.total === 0) return;
      const rate = event.ratePerSecond === null || event.done === 0 ? "" : `  ${formatCount(Math.round(event.ratePerSecond))}/s`;
      const eta = event.etaMs === null ? "" : `  ETA ${formatDuration(event.etaMs)}`;
      if (options.isTTY) {
        const fraction = event.total ? Math.min(1, event.done / event.total) : 0;
        const filled = Math.round(fraction * width);
        const bar = `[${"█".repeat(filled)}${"░".repeat(width - filled)}]`;
        const percent = event.total ? `${String(Math.floor(fraction * 100)).padStart(3)}%` : "";
        options.write(`\r\u001b[2K  ${label} ${options.palette.green(bar)} ${percent} ${counts}${options.palette.dim(`${rate}${eta}`)}`);
        barShown = true;
        return;
      }
      const finished = event.total !== null && event.done >= event.total;
      const due = lastPlain === null || lastPlain.version !== event.version || event.elapsedMs - lastPlain.elapsedMs >= plainIntervalMs;
      if (!due && !finished) return;
      lastPlain = { version: event.version, elapsedMs: event.elapsedMs };
      const percent = event.total ? ` (${Math.floor((Math.min(event.done, event.total) / event.total) * 100)}%)` : "";
      options.write(`  ${label}: ${counts}${percent}${rate}${eta}\n`);
    },
    clear() {
      if (!barShown) return;
      options.write("\r\u001b[2K");
      barShown = false;
    },
  };
}

function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}
