/**
 * Option parsers shared by the CLI's commands. Each throws commander's `InvalidArgumentError`, so a
 * bad value is a usage error (exit 2) reported before any command runs.
 */
import { InvalidArgumentError } from "commander";
import { isValidTableName } from "../history-store.js";

/** Parses `--table`: a name the history store accepts. */
export function parseTableName(value: string): string {
  if (!isValidTableName(value)) throw new InvalidArgumentError("expected letters, digits and underscores, starting with a letter or underscore");
  return value;
}
