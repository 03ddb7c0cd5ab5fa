/**
 * The parsers of option values and arguments. Each throws commander's `InvalidArgumentError`, so a
 * bad value is a usage error (exit 2) reported before any command runs.
 */
import type { EventEmitter } from "node:events";
import { type Command, InvalidArgumentError } from "commander";
import { isValidTableName } from "../core/history.js";
import type { TransactionMode } from "../core/options.js";
import { assertPathRoundTrips } from "./database-path.js";

/** Parses `--table`: a name the history store accepts. */
export function parseTableName(value: string): string {
  if (isValidTableName(value)) return value;
  throw new InvalidArgumentError(
    /^sqlite_/i.test(value)
      ? "names starting with sqlite_ are reserved by SQLite for its own tables; choose another, such as schema_migrations"
      : "expected letters, digits and underscores, starting with a letter or underscore",
  );
}

/**
 * Parses a path option or argument (`--dir`, `--out`, `--backup`, a backup file). An empty value is
 * what an unset shell variable leaves and would resolve to the working folder itself; one whose
 * bytes were not UTF-8 names another file (`PATH_NOT_UTF8`).
 */
export function parsePath(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("expected a path, got an empty string (is the variable it came from unset?)");
  assertPathRoundTrips(value);
  return value;
}

/** Parses a whole number of at least `min`, saying `expected` otherwise. */
function parseWhole(value: string, min: number, expected: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min) throw new InvalidArgumentError(expected);
  return parsed;
}

/** Parses a count or version that must be 1 or more (`--to`, `--steps`, `--keep-backups`…). */
export function parsePositiveInteger(value: string): number {
  return parseWhole(value, 1, "expected a whole number of at least 1");
}

/** Parses a value that may be 0 (`down --to 0`). */
export function parseNonNegativeInteger(value: string): number {
  return parseWhole(value, 0, "expected a whole number");
}

/** Parses `baseline`'s version argument. */
export function parseVersion(value: string): number {
  return parseWhole(value, 1, "expected a migration version (1 or more)");
}

/** SQLite keeps the busy timeout in a 32-bit int; a larger value would wrap to no wait at all. */
const MAX_BUSY_TIMEOUT_MS = 2_147_483_647;

/** Parses `--busy-timeout` and `--lock-timeout`: milliseconds, 0 up to what SQLite can hold. */
export function parseBusyTimeout(value: string): number {
  const parsed = parseNonNegativeInteger(value);
  if (parsed > MAX_BUSY_TIMEOUT_MS) throw new InvalidArgumentError(`expected at most ${MAX_BUSY_TIMEOUT_MS} ms`);
  return parsed;
}

/** Every value `--transaction` takes, the default first. */
export const TRANSACTION_MODES: readonly TransactionMode[] = ["each", "all"];

/** Parses `--transaction`: one of {@link TRANSACTION_MODES}. */
export function parseTransactionMode(value: string): TransactionMode {
  const mode = TRANSACTION_MODES.find((candidate) => candidate === value);
  if (mode === undefined) throw new InvalidArgumentError(`expected ${TRANSACTION_MODES.join(" or ")}`);
  return mode;
}

/**
 * Wraps the parser of an option that takes one value, so that giving it twice with two different
 * values (`--db a.db --db b.db`) is a usage error naming both: commander would keep the last one
 * silently, and a script that appends a flag it already had would migrate another database than the
 * one it named first. Values are compared after parsing, so two spellings of one driver are one value.
 * The option must have no default (commander hands the parser the default as the previous value).
 * `show` writes a value into the error: an option that may hold a URL shows it redacted.
 */
export function singleValued<T>(parse: (value: string) => T = (value) => value as T, show: (value: T) => string = (value) => JSON.stringify(value)): (value: string, previous: T | undefined) => T {
  return (value, previous) => {
    const parsed = parse(value);
    if (previous !== undefined && previous !== parsed) throw new InvalidArgumentError(`given twice with different values (${show(previous)} and ${show(parsed)}); give it once`);
    return parsed;
  };
}

/**
 * {@link singleValued} for an option whose value is optional (`--backup [dir]`): commander calls no
 * parser when it comes bare, so `--backup /mnt/usb --backup` would silently fall back to the default
 * folder. Listens before commander's own handler, which still sees the value given earlier.
 */
export function refuseBareRepeat(command: Command, attribute: string, flag: string): void {
  // commander's Command is an EventEmitter at run time, though its types leave that out.
  (command as unknown as EventEmitter).prependListener(`option:${attribute}`, (value: string | null | undefined) => {
    const previous: unknown = command.getOptionValue(attribute);
    if (value == null && typeof previous === "string") {
      command.error(`error: option '${flag}' given twice with different values (${JSON.stringify(previous)} and the default); give it once`, { code: "commander.invalidArgument", exitCode: 2 });
    }
  });
}
