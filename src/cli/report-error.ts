/** The one place a failure becomes output and an exit code (2 for a usage error, else 1): text on stderr, with `--json` JSON on stdout too; a failed migration says where in its file it threw. */
import { tryOr } from "../shared/try-or.js";
import { fileURLToPath } from "node:url";
import { CommanderError } from "commander";
import { StepwiseError, type StepwiseErrorCode } from "../core/errors.js";
import { spellFields } from "../core/option-text.js";
import { toPlainError, translateSqliteError } from "../core/error-factories.js";
import { attachedFix, withPlainFix } from "./error-fix.js";
import { quoteForShell } from "./format.js";
import type { CliOutput } from "./output.js";

/** A position in a project file, 1-based. */
type SourceLocation = { readonly file: string; readonly line: number; readonly column: number };

/** The codes the CLI exits 2 for: each names a setting the user typed (a flag or the config), not a state of the database. */
const USAGE_EXIT_CODES: ReadonlySet<StepwiseErrorCode> = new Set<StepwiseErrorCode>(["USAGE", "DATABASE_PATH_INVALID", "PATH_NOT_UTF8", "INVALID_TABLE_NAME", "DRIVER_UNKNOWN"]);

/** The codes whose cause is an installation's state the message already quotes: no stack says more, so `--verbose` is not offered. */
const NO_STACK_HINT: ReadonlySet<StepwiseErrorCode> = new Set<StepwiseErrorCode>(["DRIVER_NOT_INSTALLED", "DRIVER_RUNTIME_UNSUPPORTED", "MISSING_DEPENDENCY", "DEPENDENCY_VERSION_UNSUPPORTED"]);

/** Prints a run's failure and returns its exit code; `argv` is read for `--json` and `--verbose` as given, so a failure while parsing honours them. */
export function reportError(error: unknown, argv: readonly string[], output: CliOutput): number {
  const { palette } = output;
  const options = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  const printJson = (fields: Record<string, unknown>) => {
    if (options.includes("--json")) output.printJson({ error: { ...fields, fix: fields.fix ?? null } });
  };
  const stderr = output.io.stderr;
  if (error instanceof CommanderError) {
    // commander printed its message. Help asked for is success (help for no command is told apart by the caller); an unknown command is a usage error.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
    printJson({ name: "StepwiseError", code: "USAGE", message: error.message.replace(/^error: /, ""), fix: attachedFix(error) });
    return 2;
  }
  const translated = translateSqliteError(error, 0);
  if (!(translated instanceof StepwiseError)) {
    // No stepwise error: a bug, or a library's error nothing translated; a script still finds a code.
    printJson({ name: error instanceof Error ? error.name : typeof error, code: "UNEXPECTED", message: error instanceof Error ? error.message : String(error) });
    stderr(`${palette.red("unexpected error")} (please report it with the output below):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
  const json = errorToJson(translated);
  // Its commands must reach the database this run was pointed at, not the configured one.
  const flags = databaseFlags(options);
  if (flags !== "" && typeof json.fix === "string") json.fix = withDatabaseFlags(json.fix, flags);
  printJson(json);
  const { message } = spellFields(translated, "cli");
  stderr(`${palette.red(`error [${translated.code}]`)}: ${typeof message === "string" ? message : translated.message}\n`);
  const usage = error instanceof StepwiseError && USAGE_EXIT_CODES.has(error.code);
  const location = usage ? null : locateFailure(translated);
  if (location) stderr(`Thrown at ${location.file}:${location.line}:${location.column}\n`);
  // The message that names no whole next step: the fix its location made, or, outside a transaction, the repair commands.
  if (translated.is("MIGRATION_FAILED")) stderr(`Next: ${String(json.fix)}\n`);
  if (options.includes("--verbose")) stderr(`${palette.dim(formatStackChain(translated))}\n`);
  else if (!usage && translated.cause !== undefined && !NO_STACK_HINT.has(translated.code)) stderr(palette.dim("(run with --verbose for the whole stack)\n"));
  return usage ? 2 : 1;
}

/** The options that pick a database, which a command the fix names must repeat. */
const DATABASE_OPTIONS: ReadonlySet<string> = new Set(["--db", "--url", "--schema", "--table", "--driver"]);
/** The commands that work on a project, not on a database. */
const PROJECT_COMMANDS: ReadonlySet<string> = new Set(["gen", "create", "import", "rebase", "squash"]);

/** The database-picking options `argv` gives (`--db x`, `--db=x`), as one string to add to a command; a URL without its password, which comes from the environment. */
function databaseFlags(argv: readonly string[]): string {
  let flags = "";
  for (let index = 0; index < argv.length; index++) {
    const [option, inline] = argv[index]!.split(/=(.*)/s) as [string, string | undefined];
    const value = DATABASE_OPTIONS.has(option) ? (inline ?? argv[++index]) : undefined;
    if (value !== undefined) flags += ` ${option} ${quoteForShell(option === "--url" ? withoutPassword(value) : value)}`;
  }
  return flags;
}

/** `fix` with `flags` added to each command it names that works on a database; `rename` may name another command instead (the fleet's own, for the fleet's). */
export function withDatabaseFlags(fix: string, flags: string, rename: (command: string) => string | null = () => null): string {
  return fix.replace(/"stepwise ([a-z]+)/g, (command, name: string) => rename(name) ?? (PROJECT_COMMANDS.has(name) ? command : `${command}${flags}`));
}

/** A URL as a command may carry it: without a password, whose redacted stand-in would be sent as one (the password comes from PGPASSWORD or the token's variable). */
export function withoutPassword(label: string): string {
  const url = tryOr(() => new URL(label), null);
  url?.searchParams.delete("password");
  return url === null ? label : Object.assign(url, { password: "" }).href;
}

/** The error as `--json` prints it: `name`, `code`, `message`, every structured field and a `fix` (or `null`); a failed migration also gets its `location`. */
function errorToJson(error: StepwiseError): Record<string, unknown> {
  const fields: Record<string, unknown> = { name: error.name, ...inCliSpelling(toPlainError(error)) };
  if ((fields.location ?? null) === null && typeof (error.details as { file?: unknown }).file === "string" && error.cause !== undefined) fields.location = locateFailure(error);
  // Made from the fields, so a failed migration's fix names the line its location found.
  return withPlainFix({ ...fields, code: error.code, fix: fields.fix ?? attachedFix(error) ?? undefined });
}

/** A plain error (a status problem, a fleet database's error) as the CLI reports it: spelled with its flags and commands, with the `fix` a thrown one gets. */
export function inCliReport<T extends { readonly code: string }>(problem: T): T & { readonly fix: unknown } {
  return withPlainFix(inCliSpelling(problem));
}

/** `value` (an error, or plain data made from one) with every field that names options or calls spelled as the CLI's flags and commands. */
export function inCliSpelling<T extends object>(value: T): T {
  return { ...value, ...spellFields(value, "cli") };
}

/**
 * Where a failure that names its migration happened: the error's own `location` (a SQL migration's
 * failing statement), else the first frame of what the migration threw (or a cause down its chain)
 * in its `file`. Node maps frames through source maps when they are on, so a bundled app's frame
 * names the migration's file as well.
 */
function locateFailure(error: StepwiseError): SourceLocation | null {
  const { location: own, file } = error.details as unknown as { location?: Partial<SourceLocation> | null; file?: unknown };
  if (own && typeof own.file === "string" && typeof own.line === "number" && typeof own.column === "number") return { file: own.file, line: own.line, column: own.column };
  if (typeof file !== "string" || error.cause === undefined) return null;
  const normalize = (name: string) => name.replace(/\\/g, "/").replace(/^\.\//, "");
  for (const current of causeChain(error.cause)) {
    if (!(current instanceof Error)) break;
    for (const line of (current.stack ?? "").split("\n")) {
      const match = /^\s*at (?:.*?\()?(.+?):(\d+):(\d+)\)?\s*$/.exec(line);
      if (!match) continue;
      // A file URL that is not a path on this system is compared as written.
      const framePath = normalize(match[1]!.startsWith("file://") ? tryOr(() => fileURLToPath(match[1]!), match[1]!) : match[1]!);
      if (framePath === normalize(file) || framePath.endsWith(`/${normalize(file)}`)) return { file, line: Number(match[2]), column: Number(match[3]) };
    }
  }
  return null;
}

/** `error` and each cause down its chain, once each. */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current !== undefined && !chain.includes(current); current = current instanceof Error ? current.cause : undefined) chain.push(current);
  return chain;
}

/** The whole stack of `error` and each cause down its chain, for `--verbose`. */
function formatStackChain(error: unknown): string {
  return causeChain(error)
    .map((current, index) => {
      const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
      return index === 0 ? text : `Caused by: ${text}`;
    })
    .join("\n");
}
