/** The one place a failure becomes output and an exit code (2 for a usage error, else 1): text on stderr, with `--json` JSON on stdout too; a failed migration says where in its file it threw. */
import { tryOr } from "../shared/try-or.js";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CommanderError } from "commander";
import { StepwiseError, type StepwiseErrorCode } from "../core/errors.js";
import { spellFields } from "../core/option-text.js";
import { callSiteStack } from "../core/call-site.js";
import { describeThrownValue, isInstanceSafely, toPlainError, translateSqliteError } from "../core/error-factories.js";
import { attachedFix, withPlainFix } from "./error-fix.js";
import { quoteForShell } from "../shared/shell-quote.js";
import type { CliOutput } from "./output.js";
import type { RunningCommand } from "./database-target.js";
import { AbnormalEnd } from "./abnormal-end.js";

/** A position in a project file, 1-based. */
export type SourceLocation = { readonly file: string; readonly line: number; readonly column: number };

/** The codes the CLI exits 2 for: each names a setting the user typed (a flag or the config), not a state of the database. */
const USAGE_EXIT_CODES: ReadonlySet<StepwiseErrorCode> = new Set<StepwiseErrorCode>(["USAGE", "DATABASE_PATH_INVALID", "PATH_NOT_UTF8", "INVALID_TABLE_NAME", "DRIVER_UNKNOWN"]);

/** The codes whose cause is an installation's state the message already quotes: no stack says more, so `--verbose` is not offered. */
const NO_STACK_HINT: ReadonlySet<StepwiseErrorCode> = new Set<StepwiseErrorCode>(["DRIVER_NOT_INSTALLED", "DRIVER_RUNTIME_UNSUPPORTED", "MISSING_DEPENDENCY", "DEPENDENCY_VERSION_UNSUPPORTED"]);

/** Prints a run's failure and returns its exit code; `argv` is read for `--json` and `--verbose` as given, so a failure while parsing honours them. */
export function reportError(error: unknown, argv: readonly string[], output: CliOutput, running?: RunningCommand): number {
  const { palette } = output;
  const options = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  // A run that failed after committing migrations applied (or reverted) them: a script reads which beside the error, as a success's report lists them.
  const printJson = (fields: Record<string, unknown>) => {
    if (options.includes("--json"))
      output.printJson({ error: { ...fields, fix: fields.fix ?? null }, ...(output.committed !== null && { steps: output.committed }), ...(output.backup !== null && { backup: output.backup }) });
  };
  const stderr = output.io.stderr;
  if (error instanceof CommanderError) {
    // commander printed its message. Help asked for is success (help for no command is told apart by the caller); an unknown command is a usage error.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
    printJson({ name: "StepwiseError", code: "USAGE", message: error.message.replace(/^error: /, ""), fix: attachedFix(error) });
    return 2;
  }
  if (error instanceof AbnormalEnd) {
    printJson({ name: error.name, code: "UNEXPECTED", message: error.message });
    stderr(`${palette.red("error [UNEXPECTED]")}: ${error.message}\n`);
    if (options.includes("--verbose")) stderr(`${palette.dim(formatStackChain(error))}\n`);
    return 1;
  }
  const translated = translateSqliteError(error, 0);
  if (!(translated instanceof StepwiseError)) {
    // No stepwise error: a bug, or a library's error nothing translated; a script still finds a code.
    printJson({ name: readSafely(() => (error instanceof Error ? error.name : typeof error)), code: "UNEXPECTED", message: describeThrownValue(error) });
    stderr(`${palette.red("unexpected error")} (please report it with the output below):\n${describeStack(error)}\n`);
    return 1;
  }
  const json = errorToJson(translated);
  // Its commands must reach the database this run was pointed at, not the configured one (a fleet's own flags name many: its targets' fixes name each).
  const flags = options.includes("fleet") ? "" : databaseFlags(options);
  // adopt, baseline and verify run the migrations only in a scratch database: once one is fixed, the step is to run that command again, never up on the database it checked
  // (up on a database another tool migrated would run every migration on tables it already holds).
  const rerun =
    translated.is("MIGRATION_FAILED") && running && REPLAYING_COMMANDS.has(running.name)
      ? [running.name, ...running.operands, ...ownOptions(options, running.options)].map(quoteForShell).join(" ")
      : null;
  // "Run it again" after an up or down that was to stop at a version, or run as one transaction, means with those options: a bare "stepwise up" would go past --to.
  const again = running?.repeat && RUN_AGAIN_CODES.has(translated.code) ? running : null;
  const rename = (name: string, bare: boolean) =>
    rerun !== null && name === "up" ? `"stepwise ${rerun}${flags}` : again !== null && bare && name === again.name ? `"stepwise ${name}${flags}${again.repeat}` : null;
  if (flags !== "" || rerun !== null || again !== null) Object.assign(json, { fix: withDatabaseFlags(json.fix, flags, rename), message: withDatabaseFlags(json.message, flags, rename) });
  printJson(json);
  stderr(`${palette.red(`error [${translated.code}]`)}: ${String(json.message)}\n`);
  const usage = error instanceof StepwiseError && USAGE_EXIT_CODES.has(error.code);
  const location = usage ? null : locateFailure(translated);
  if (location) stderr(`Thrown at ${location.file}:${location.line}:${location.column}\n`);
  // The message that names no whole next step: the fix its location made, or, outside a transaction, the repair commands.
  if (translated.is("MIGRATION_FAILED")) stderr(`Next: ${String(json.fix)}\n`);
  if (options.includes("--verbose")) stderr(`${palette.dim(formatStackChain(translated))}\n`);
  else if (!usage && translated.cause !== undefined && !NO_STACK_HINT.has(translated.code)) stderr(palette.dim("(run with --verbose for the whole stack)\n"));
  return usage ? 2 : 1;
}

/** The options that pick a database, which a command the fix names must repeat, in the order it writes them. */
const DATABASE_OPTIONS = ["db", "url", "schema", "table", "driver"] as const;
/** The commands that check a database against the migrations replayed in a scratch database: a migration that fails there fails in the replay, not on the database. */
const REPLAYING_COMMANDS: ReadonlySet<string> = new Set(["adopt", "baseline", "verify"]);
/** The failures of a run under way whose fix is to run it again: other fixes name a different run (`WHOLE_RUN_TRANSACTION_REFUSED`'s "then stepwise up"). */
export const RUN_AGAIN_CODES: ReadonlySet<string> = new Set<StepwiseErrorCode>(["MIGRATION_FAILED", "LOCK_TIMEOUT", "CONNECTION_LOST"]);
/** The commands that work on a project, not on a database. */
const PROJECT_COMMANDS: ReadonlySet<string> = new Set(["gen", "create", "import", "rebase", "squash"]);

/** The options `argv` gives (`--db x`, `--db=x` as `--db x`) that `takes` knows, each with its value when `takes` says it has one. */
function givenOptions(argv: readonly string[], takes: (option: string) => boolean | undefined): [option: string, value?: string][] {
  const given: [string, string?][] = [];
  for (let index = 0; index < argv.length; index++) {
    const [option, inline] = argv[index]!.split(/=(.*)/s) as [string, string | undefined];
    const takesValue = takes(option);
    if (takesValue === undefined) continue;
    const value = takesValue ? (inline ?? argv[index + 1]) : undefined;
    if (value !== undefined && inline === undefined) index++;
    given.push(value === undefined ? [option] : [option, value]);
  }
  return given;
}

/** The command's own options `argv` gives, as typed: a command run again needs them (adopt reads another table with them). */
function ownOptions(argv: readonly string[], declared: RunningCommand["options"]): string[] {
  return givenOptions(argv, (option) => declared.find((candidate) => candidate.flag === option)?.takesValue).flat() as string[];
}

/** The database-picking options `argv` gives (the last of each, as commander reads them), as {@link targetFlags} writes them. */
function databaseFlags(argv: readonly string[]): string {
  const given = givenOptions(argv, (option) => (option.startsWith("--") && (DATABASE_OPTIONS as readonly string[]).includes(option.slice(2)) ? true : undefined));
  return targetFlags(Object.fromEntries(given.flatMap(([option, value]) => (value === undefined ? [] : [[option.slice(2), value]]))));
}

/** A command's parsed database-picking options as one string to add to a command it names; a URL without its password, which comes from the environment. */
export function targetFlags(flags: { readonly [name in (typeof DATABASE_OPTIONS)[number]]?: string }): string {
  return DATABASE_OPTIONS.map((name) => (flags[name] === undefined ? "" : ` --${name} ${quoteForShell(name === "url" ? withoutPassword(flags[name]) : flags[name])}`)).join("");
}

/**
 * `fix` (a text, or an object of texts such as `CHECKSUM_MISMATCH`'s) with `flags` added to each command it names that works on a database; `rename` may name another
 * command instead (the fleet's own, for the fleet's), told whether the text names the command `bare`, with no option of its own.
 */
export function withDatabaseFlags<T>(fix: T, flags: string, rename: (command: string, bare: boolean) => string | null = () => null): T {
  const add = (text: string) =>
    text.replace(/"stepwise ([a-z]+)(?=("?))/g, (command, name: string, closing: string) => rename(name, closing === '"') ?? (PROJECT_COMMANDS.has(name) ? command : `${command}${flags}`));
  if (typeof fix === "string") return add(fix) as T;
  if (fix === null || typeof fix !== "object") return fix;
  // An object's command field is a bare command line; its texts quote theirs.
  return Object.fromEntries(Object.entries(fix).map(([key, value]) => [key, typeof value !== "string" ? value : key === "command" ? add(`"${value}`).slice(1) : add(value)])) as T;
}

/** A URL as a command may carry it: without a password or token, whose redacted stand-in would be sent as one (they come from PGPASSWORD or the token's variable). */
export function withoutPassword(label: string): string {
  if (!/^postgres(ql)?:\/\//i.test(label)) return label.replace(/([?&])authToken=[^&#]*&?/i, "$1").replace(/[?&]$/, "");
  const url = tryOr(() => new URL(label), null);
  for (const key of ["password", "sslpassword"]) url?.searchParams.delete(key);
  return url === null ? label : Object.assign(url, { password: "" }).href;
}

/** The error as `--json` prints it: `name`, `code`, `message`, every structured field and a `fix` (or `null`); a failed migration also gets its `location`. */
function errorToJson(error: StepwiseError): Record<string, unknown> {
  const fields: Record<string, unknown> = { name: error.name, ...inCliSpelling(toPlainError(error)) };
  if ((fields.location ?? null) === null && typeof (error.details as { file?: unknown }).file === "string" && error.cause !== undefined) fields.location = locateFailure(error);
  // Made from the fields, so a failed migration's fix names the line its location found.
  return withPlainFix({ ...fields, code: error.code, fix: fields.fix ?? attachedFix(error) ?? undefined });
}

/** A plain error (a status problem, a fleet database's error) as the CLI reports it: spelled with its flags and commands, with the `fix` a thrown one gets, its message's and fix's commands given `flags`. */
export function inCliReport<T extends { readonly code: string }>(problem: T, flags = ""): T & { readonly fix: unknown } {
  const report = withPlainFix(inCliSpelling(problem));
  return flags === "" ? report : { ...report, fix: withDatabaseFlags(report.fix, flags), message: withDatabaseFlags((report as { message?: unknown }).message, flags) };
}

/** `value` (an error, or plain data made from one) with every field that names options or calls spelled as the CLI's flags and commands. */
export function inCliSpelling<T extends object>(value: T): T {
  return { ...value, ...spellFields(value, "cli") };
}

/** Stepwise's own source folder: its frames inside a migration's (a driver's `exec` it called) are not the project's code. */
const OWN_SOURCE = tryOr(
  () =>
    `${fileURLToPath(new URL("../", import.meta.url))
      .replace(/\\/g, "/")
      .replace(/\/$/, "")}/`,
  "",
);

/**
 * Where a failure that names its migration happened: the error's own `location`, else the frame in its `file` of what it (or a cause) threw, or where that frame called into another
 * project file that threw (an imported migration's original, an app's helper), the innermost frame there; installed packages and stepwise's own source are not the project's.
 * When no stack names the file (pg makes a statement's error in its socket handler), the call the body made that failed with it, where the driver noted one, is read the same way.
 */
function locateFailure(error: StepwiseError): SourceLocation | null {
  const { location: own, file } = error.details as unknown as { location?: Partial<SourceLocation> | null; file?: unknown };
  if (own && typeof own.file === "string" && typeof own.line === "number" && typeof own.column === "number") return { file: own.file, line: own.line, column: own.column };
  return typeof file === "string" ? locateThrow(error, file) : null;
}

/**
 * Where `error`, thrown by the migration in `file` (a path from the project's root), was thrown: the frame in `file`, or the innermost one it called in another file of the project (an
 * imported migration's original); `gen --check`'s replay reports a failure there too.
 */
export function locateThrow(error: unknown, file: string): SourceLocation | null {
  const chain: Error[] = [];
  // The error itself first: one a migration's call refused (a walk's options) was made with its file on the stack.
  for (const current of causeChain(error)) {
    if (!isInstanceSafely(current, Error)) break;
    chain.push(current);
  }
  for (const stackOf of [(current: Error) => readSafely(() => current.stack ?? ""), (current: Error) => callSiteStack(current) ?? ""]) {
    for (const current of chain) {
      const found = locateInStack(stackOf(current), file);
      if (found) return found;
    }
  }
  return null;
}

/** The frame of `stack` in `file` (a path from the project's root), or the innermost frame it called in another file of the project; `null` when no frame is in `file`. */
function locateInStack(stack: string, file: string): SourceLocation | null {
  const normalize = (name: string) => name.replace(/\\/g, "/").replace(/^\.\//, "");
  const relativeFile = normalize(file);
  const frames: SourceLocation[] = [];
  for (const line of stack.split("\n")) {
    const match = /^\s*at (?:async )?(?:.*?\()?(.+?):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!match) continue;
    // A file URL that is not a path on this system is compared as written.
    const framePath = normalize(match[1]!.startsWith("file://") ? tryOr(() => fileURLToPath(match[1]!), match[1]!) : match[1]!);
    const at = { file: framePath, line: Number(match[2]), column: Number(match[3]) };
    if (framePath !== relativeFile && !framePath.endsWith(`/${relativeFile}`)) {
      frames.push(at);
      continue;
    }
    const root = framePath.slice(0, framePath.length - relativeFile.length);
    // The migrations folder's other files (an import's helper) only pass the call on: a frame there names no line to fix.
    const migrationsFolder = `${root}${path.posix.dirname(relativeFile)}/`;
    const inProject = (frame: SourceLocation) =>
      root !== "" && frame.file.startsWith(root) && !frame.file.startsWith(migrationsFolder) && !frame.file.includes("/node_modules/") && (OWN_SOURCE === "" || !frame.file.startsWith(OWN_SOURCE));
    const inner = frames.find(inProject);
    return inner ? { ...inner, file: inner.file.slice(root.length) } : { ...at, file };
  }
  return null;
}

/** `error` and each cause down its chain, once each. */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current !== undefined && !chain.includes(current); current = isInstanceSafely(current, Error) ? tryOr(() => current.cause, undefined) : undefined) chain.push(current);
  return chain;
}

// What a body threw may be hostile (a getter of name, stack or cause that throws): reporting it must not fail in turn.

/** `read()`, or a placeholder where reading throws. */
const readSafely = (read: () => unknown): string => tryOr(() => String(read()), "(a value that cannot be read)");

/** A thrown value's stack, else its message; never throws. */
function describeStack(value: unknown): string {
  return isInstanceSafely(value, Error) ? tryOr(() => value.stack ?? describeThrownValue(value), describeThrownValue(value)) : describeThrownValue(value);
}

/** The whole stack of `error` and each cause down its chain, for `--verbose`. */
function formatStackChain(error: unknown): string {
  return causeChain(error)
    .map((current, index) => {
      const text = describeStack(current);
      return index === 0 ? text : `Caused by: ${text}`;
    })
    .join("\n");
}
