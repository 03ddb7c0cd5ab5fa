/** The parsers of option values and arguments: each throws commander's `InvalidArgumentError`, a usage error (exit 2) before any command runs, or the stepwise error of a usage code the same value gets elsewhere (`INVALID_TABLE_NAME`, `PATH_NOT_UTF8`). */
import type { EventEmitter } from "node:events";
import { type Command, InvalidArgumentError } from "commander";
import { invalidTableNameError } from "../core/error-factories.js";
import { isValidTableName } from "../core/history.js";
import { MAX_BUSY_TIMEOUT_MS, TRANSACTION_MODES, type TransactionMode } from "../core/options.js";
import { StepwiseError } from "../core/errors.js";
import { assertPathRoundTrips } from "./database-path.js";
import { withFix } from "./error-fix.js";
import { CONTROL_CHARACTERS, escapeControlCharacters } from "./format.js";

/** Parses `--table`: a name the history store accepts, else `INVALID_TABLE_NAME`, as a configured or library-given name is, not commander's usage error. */
export function parseTableName(value: string): string {
  if (isValidTableName(value)) return value;
  throw invalidTableNameError(value);
}

/**
 * A parser of a free-text value stepwise records and prints later (`repair --by`, `--old-table`), refusing a control character (`USAGE` naming `flag`): an escape sequence or a line
 * break in it would recolour or forge the lines `history` prints.
 */
export function recordedText(flag: string): (value: string) => string {
  return (value) => {
    if (value.search(CONTROL_CHARACTERS) === -1) return value;
    const error = new StepwiseError(
      "USAGE",
      `${flag} was given "${escapeControlCharacters(value)}", which holds a control character (a line break, an escape sequence); stepwise records it and prints it later. Nothing was changed.`,
      {
        option: flag,
      },
    );
    throw withFix(error, `pass ${flag} a value without control characters`);
  };
}

/** Parses a path: an empty one is what an unset shell variable leaves (it would resolve to the working folder); one whose bytes were not UTF-8 names another file (`PATH_NOT_UTF8`). */
export function parsePath(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("expected a path, got an empty string (is the variable it came from unset?)");
  return parseDatabasePath(value);
}

/** Parses `--db`, refusing a control character: a script saved with Windows line endings passes `data/app.db\r`, another file than the one it names. */
export function parseDatabasePath(value: string): string {
  // NUL cannot come from a command line; the database's checks name it.
  if (/[\u0001-\u001f\u007f]/.test(value)) {
    const crlf = /\r$/.test(value) ? ": a carriage return at its end, as a script saved with Windows (CRLF) line endings passes; save it with LF endings" : "";
    throw new InvalidArgumentError(`expected a path, got ${JSON.stringify(value)}, which holds a control character${crlf}`);
  }
  assertPathRoundTrips(value);
  return value;
}

/** A parser of whole numbers from `min` to `max`, saying `expected` otherwise. */
function wholeNumber(min: number, expected: string, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min) throw new InvalidArgumentError(expected);
    if (parsed > max) throw new InvalidArgumentError(`expected at most ${max} ms`);
    return parsed;
  };
}

/** Parses a count or version of 1 or more (`--to`, `--steps`, `--keep-backups`…). */
export const parsePositiveInteger = wholeNumber(1, "expected a whole number of at least 1");
/** Parses a value that may be 0 (`down --to 0`). */
export const parseNonNegativeInteger = wholeNumber(0, "expected a whole number");
/** Parses `baseline`'s version argument. */
export const parseVersion = wholeNumber(1, "expected a migration version (1 or more)");
/** Parses `--busy-timeout` and `--lock-timeout`: milliseconds, up to what SQLite's 32-bit busy timeout holds (more would wrap to no wait at all). */
export const parseBusyTimeout = wholeNumber(0, "expected a whole number", MAX_BUSY_TIMEOUT_MS);

/** Parses `--transaction`. */
export function parseTransactionMode(value: string): TransactionMode {
  const mode = TRANSACTION_MODES.find((candidate) => candidate === value);
  if (mode === undefined) throw new InvalidArgumentError(`expected ${TRANSACTION_MODES.join(" or ")}`);
  return mode;
}

/**
 * Wraps a one-value option's parser so that two different values (`--db a.db --db b.db`, compared parsed) are a usage error: commander keeps the last silently. The option must
 * have no default, which commander passes as the previous value.
 */
export function singleValued<T>(parse: (value: string) => T = (value) => value as T, show: (value: T) => string = (value) => JSON.stringify(value)): (value: string, previous: T | undefined) => T {
  return (value, previous) => {
    const parsed = parse(value);
    if (previous !== undefined && previous !== parsed) throw new InvalidArgumentError(`given twice with different values (${show(previous)} and ${show(parsed)}); give it once`);
    return parsed;
  };
}

/** {@link singleValued} for an optional value (`--backup [dir]`), whose bare flag commander parses not at all: this listens before commander's handler, which still sees the value before. */
export function refuseBareRepeat(command: Command, attribute: string, flag: string): void {
  // commander's Command is an EventEmitter at run time, though its types leave that out.
  (command as unknown as EventEmitter).prependListener(`option:${attribute}`, (value: string | null | undefined) => {
    const previous: unknown = command.getOptionValue(attribute);
    if (value == null && typeof previous === "string") {
      command.error(`error: option '${flag}' given twice with different values (${JSON.stringify(previous)} and the default); give it once`, { code: "commander.invalidArgument", exitCode: 2 });
    }
  });
}
