/** What the CLI prints and the exit code it leaves; every write passes one boundary, which hides secrets and names the app's program. */
import type { BackupRecord, MigrationEvent } from "../core/events.js";
import type { AppliedStep } from "../core/options.js";
import { formatMigrationLabel } from "../core/migration-label.js";
import type { CliIo } from "./cli-props.js";
import { createPalette, formatBackupTaken, formatDuration, formatSeconds } from "./format.js";
import { createRedactor } from "./secrets.js";

/** What a command returns: its data (what `--json` prints), the same as text, and how it ended. */
export interface Report {
  readonly data: unknown;
  readonly text: string;
  /** 1 for a check that failed without an error (status's refusal, verify's drift, a failed dry run). */
  readonly exitCode?: number;
  /** A refusal to print on stderr as `error [CODE]: message`, after the report. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** One CLI's output: where it prints, how, and the exit code a run returns. */
export type CliOutput = ReturnType<typeof createCliOutput>;

/** The output of one CLI on `given` (the process's streams by default): every write hides what `hide` was given, and says `programName <command>` for `stepwise <command>`. */
export function createCliOutput(given: Partial<CliIo> = {}, programName = "stepwise", commands: () => readonly string[] = () => []) {
  const { hide, redact } = createRedactor();
  const rename = renameCommandMentions(programName, commands);
  const [stdout, stderr] = [given.stdout ?? writerIgnoringClosedStream(process.stdout), given.stderr ?? writerIgnoringClosedStream(process.stderr)];
  const filter = (write: (text: string) => void) => (text: string) => write(rename(redact(text)));
  const env = given.env ?? process.env;
  // The process's stderr is coloured only as its own terminal allows: `stepwise up 2> errors.log` at a terminal keeps the log plain.
  const plainStderr = given.stderr === undefined && createPalette(env, Boolean(process.stderr.isTTY)).red("") === "";
  const io: CliIo = {
    stdout: filter(stdout),
    stderr: plainStderr ? (text) => filter(stderr)(text.replace(/\u001b\[[0-9;]*m/g, "")) : filter(stderr),
    env,
    isTTY: given.isTTY ?? Boolean(process.stdout.isTTY),
  };
  const palette = createPalette(io.env, io.isTTY);
  const progress = createProgressDisplay(io, palette);
  const print = (text: string) => io.stdout(text.endsWith("\n") ? text : `${text}\n`);
  const output = {
    io,
    palette,
    /** Hides a string that may hold a secret (an argument, a URL) wherever it would be printed, in every form a client writes it back. */
    hide,
    /** The exit code `run` returns, for a command that failed without throwing. */
    exitCode: 0,
    /** Why the process's stdout could not be written (not a closed pipe), when this output writes there; `null` when it could. */
    stdoutFailure: () => (given.stdout === undefined ? streamWriteFailure(process.stdout) : null),
    /** Set by a `--json` run: events print nothing, so stdout holds the JSON alone. */
    quietEvents: false,
    /** The migrations a run that migrates (`up`, `down`, `reset`) committed, as its report lists them; a failure's JSON lists them too. `null` for other commands. */
    committed: null as AppliedStep[] | null,
    /** The migration running now, from its `migrating` event to its `migrated` one: what a process that ends under it cut short. */
    migrating: null as { readonly version: number; readonly file: string; readonly direction: "up" | "down"; readonly transaction: boolean } | null,
    /** Whether this run printed its `--json` value, which a failure after it must not print a second of. */
    printedJson: false,
    /** The snapshot `up --backup` took, which a failure's JSON names whatever its code (only `MIGRATION_FAILED` carries `backupPath`). */
    backup: null as BackupRecord | null,
    /** Prints JSON, every `…Ms` number rounded to whole milliseconds, as the text shows them. */
    printJson: (value: unknown) => {
      output.printedJson = true;
      print(JSON.stringify(roundDurations(value), null, 2));
    },
    /** Shows one of the manager's events as it happens. */
    printEvent(event: MigrationEvent): void {
      // Emitted once the migration is committed (with --transaction all, once the run is).
      if (event.type === "migrated") output.committed?.push({ version: event.version, name: event.name, durationMs: event.durationMs });
      if (event.type === "backed-up") output.backup = event.backup;
      if (output.quietEvents) return;
      if (event.type === "progress") return progress.show(event);
      progress.clear();
      if (event.type === "backed-up") print(formatBackupTaken(event.backup, palette));
      if (event.type !== "migrated" && event.type !== "skipped") return;
      const label = formatMigrationLabel(event.version, event.name);
      if (event.type === "migrated") print(`  ${event.direction === "up" ? palette.green("↑") : palette.yellow("↓")} ${label} ${palette.dim(formatDuration(event.durationMs))}`);
      else print(`  ${palette.dim(`- ${label} (already ${event.direction === "up" ? "applied" : "reverted"} by another process)`)}`);
    },
    /** Prints a command's report as JSON or text, and sets the exit code it asks for. */
    printReport(report: Report, json: boolean): void {
      progress.clear();
      if (json) output.printJson(report.data);
      else print(report.text);
      if (report.error) io.stderr(`${palette.red(`error [${report.error.code}]`)}: ${report.error.message}\n`);
      if (report.exitCode !== undefined) output.exitCode = report.exitCode;
    },
  };
  return output;
}

/** Replaces `stepwise <command>` with `<programName> <command>` for the program's commands (not `stepwise gen`, the bin's), where a user would type it. */
function renameCommandMentions(programName: string, commands: () => readonly string[]): (text: string) => string {
  if (programName === "stepwise") return (text) => text;
  return (text) => {
    const names = commands().map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    // After a space, a quote or a parenthesis (also as JSON writes a line break), not inside a path or a package name such as node_modules/stepwise.
    const mention = new RegExp(`(^|[\\s"'\`(]|\\\\[nt])stepwise (?=(?:${names.join("|")})\\b)`, "g");
    return names.length === 0 ? text : text.replace(mention, (_match, before: string) => `${before}${programName} `);
  };
}

/** A copy of `value` whose numbers under keys ending in `Ms` are whole milliseconds, for `--json`; a class instance keeps its own JSON form. */
export function roundDurations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(roundDurations);
  if (value === null || typeof value !== "object") return value;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, /Ms$/.test(key) && typeof inner === "number" && Number.isFinite(inner) ? Math.round(inner) : roundDurations(inner)]));
}

const writers = new WeakMap<NodeJS.WritableStream, (text: string) => void>();
const failures = new WeakMap<NodeJS.WritableStream, Error>();

/**
 * A write function for `stream` that drops text once the stream failed: a pipe whose reader has gone (`stepwise up | head -1`) emits EPIPE, which would crash the process between two
 * migrations. Any other failure (a full disk, an I/O error) is kept for {@link streamWriteFailure}, since the output it lost may be what a script reads. One per stream, bound to its
 * `write` as first asked: the bin asks before it sends what others write to stdout to stderr.
 */
export function writerIgnoringClosedStream(stream: NodeJS.WritableStream): (text: string) => void {
  const existing = writers.get(stream);
  if (existing) return existing;
  let closed = false;
  const fail = (error: unknown) => {
    closed = true;
    if ((error as NodeJS.ErrnoException | null)?.code !== "EPIPE" && !failures.has(stream)) failures.set(stream, error instanceof Error ? error : new Error(String(error)));
  };
  stream.on("error", fail);
  const streamWrite = stream.write.bind(stream);
  const write = (text: string) => {
    try {
      if (!closed) streamWrite(text);
    } catch (error) {
      fail(error);
    }
  };
  writers.set(stream, write);
  return write;
}

/** Why writing to `stream` through {@link writerIgnoringClosedStream} failed, other than a closed pipe; `null` when it did not. */
export function streamWriteFailure(stream: NodeJS.WritableStream): Error | null {
  return failures.get(stream) ?? null;
}

/** Shows `progress` events: a bar with rate and ETA redrawn in place on a terminal; elsewhere a plain line at most every 2 s of migration time, so CI logs stay readable. */
function createProgressDisplay(io: CliIo, palette: ReturnType<typeof createPalette>): { show(event: Extract<MigrationEvent, { type: "progress" }>): void; clear(): void } {
  const count = (value: number) => value.toLocaleString("en-US");
  let barShown = false;
  let lastPlain: { version: number; elapsedMs: number } | null = null;
  return {
    show(event) {
      // Nothing to walk: a bar or a line would only be noise.
      if (event.total === 0) return;
      const label = formatMigrationLabel(event.version, event.name);
      const counts = event.total === null ? count(event.done) : `${count(event.done)}/${count(event.total)}`;
      const rate = event.ratePerSecond === null || event.done === 0 ? "" : `  ${count(Math.round(event.ratePerSecond))}/s`;
      const eta = event.etaMs === null ? "" : `  ETA ${formatSeconds(Math.round(event.etaMs / 1000), true)}`;
      const fraction = event.total ? Math.min(1, event.done / event.total) : 0;
      if (io.isTTY) {
        const filled = Math.round(fraction * 24);
        const percent = event.total ? `${String(Math.floor(fraction * 100)).padStart(3)}%` : "";
        io.stdout(`\r\u001b[2K  ${label} ${palette.green(`[${"█".repeat(filled)}${"░".repeat(24 - filled)}]`)} ${percent} ${counts}${palette.dim(`${rate}${eta}`)}`);
        barShown = true;
        return;
      }
      const finished = event.total !== null && event.done >= event.total;
      const due = lastPlain === null || lastPlain.version !== event.version || event.elapsedMs - lastPlain.elapsedMs >= 2_000;
      if (!due && !finished) return;
      lastPlain = { version: event.version, elapsedMs: event.elapsedMs };
      io.stdout(`  ${label}: ${counts}${event.total ? ` (${Math.floor(fraction * 100)}%)` : ""}${rate}${eta}\n`);
    },
    clear() {
      if (barShown) io.stdout("\r\u001b[2K");
      barShown = false;
    },
  };
}
