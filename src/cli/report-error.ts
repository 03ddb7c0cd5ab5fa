/** The one place a failure becomes output and an exit code (2 for a usage error, else 1): text on stderr, with `--json` JSON on stdout too; a failed migration says where in its file it threw. */
import { tryOr } from "../shared/try-or.js";
import { fileURLToPath } from "node:url";
import { CommanderError } from "commander";
import { StepwiseError, type StepwiseErrorCode } from "../core/errors.js";
import { spellFields } from "../core/option-text.js";
import { toPlainError, translateSqliteError } from "../core/error-factories.js";
import { attachedFix, withPlainFix } from "./error-fix.js";
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
