/**
 * A {@link StepwiseError} as plain JSON for `--json` output: its `code`, `message`, every
 * structured field and a `fix` (or `null`), so a script branches on data as a program catching the
 * error would.
 */
import type { StepwiseError } from "../core/errors.js";
import { locateFailure, type SourceLocation } from "./error-location.js";
import { toPlainError } from "../core/plain-error.js";
import { spellFields } from "../core/option-text.js";

/**
 * The error's `name`, `code`, `message` and own fields; `cause` and `stack` are left out. A failed
 * migration also gets `location` (`{ file, line, column }` in the migration: the failing statement's
 * in a SQL migration, which the error carries, else the frame in the migration's file of what it
 * threw, or `null`).
 */
export function errorToJson(error: StepwiseError): Record<string, unknown> {
  const fields: Record<string, unknown> = { name: error.name, ...inCliSpelling(toPlainError(error)) };
  if ((fields.location ?? null) === null && typeof (error.details as { file?: unknown }).file === "string" && error.cause !== undefined) fields.location = locateFailure(error);
  if (!("fix" in fields)) fields.fix = fixFor(error, fields.location as SourceLocation | null | undefined);
  return fields;
}

/**
 * What to do next, for a script to show: the error's own `fix` when it has one, a failed migration's
 * next step, otherwise `null` (the message says it in prose).
 */
function fixFor(error: StepwiseError, location: SourceLocation | null | undefined): string | null {
  if (!error.is("MIGRATION_FAILED")) return null;
  const { details } = error;
  if (!details.rolledBack) return `check the database by hand: ${details.file} ran outside a transaction and may have left changes; then "stepwise repair"`;
  const where = location ? `${location.file}:${location.line}` : details.file;
  return `fix ${where} and run "stepwise ${details.direction === "up" ? "up" : "down"}" again; nothing of it was kept`;
}

/**
 * `value` (an error, or plain data made from one: a status problem) with every field that names
 * options or calls spelled as the CLI's flags and commands instead of the library's.
 */
export function inCliSpelling<T extends object>(value: T): T {
  return { ...value, ...spellFields(value, "cli") };
}

/** An error's message as the CLI prints it: its flags and commands, not the library's options and calls. */
export function cliMessage(error: StepwiseError): string {
  const { message } = spellFields(error, "cli");
  return typeof message === "string" ? message : error.message;
}

/**
 * Any failure as the `error` object of `--json` output. A value that is no stepwise error (a bug,
 * or a library's error nothing translated) still gets a `code`, `UNEXPECTED`, so a script that
 * reads stdout always finds one.
 */
export function unexpectedErrorToJson(error: unknown): Record<string, unknown> {
  return {
    name: error instanceof Error ? error.name : typeof error,
    code: UNEXPECTED_CODE,
    message: error instanceof Error ? error.message : String(error),
  };
}

/** The `code` of {@link unexpectedErrorToJson}: not a {@link StepwiseError} code, since nothing stable threw it. */
export const UNEXPECTED_CODE = "UNEXPECTED";
