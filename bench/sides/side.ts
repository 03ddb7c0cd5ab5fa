/** What every side program shares: its arguments and the one line it prints for the bench. */

/** `up` (apply everything pending) or `down` (roll everything back), and the database: a file or a URL. */
export const [action, target] = process.argv.slice(2) as ["up" | "down", string];

/** The connection settings every SQLite side opens with, as a typical app does. */
export const SQLITE_PRAGMAS = ["journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"];

/** The statements of a migration's script, for the tools that send one statement per call. */
export const statementsOf = (script: string): string[] =>
  script
    .split(";")
    .map((statement) => statement.trim())
    .filter((statement) => statement !== "");

/** Prints how many migrations the tool says it ran (the bench checks it) and this process's peak memory. */
export function report(count: number): void {
  process.stdout.write(`${JSON.stringify({ count, rssKiB: process.resourceUsage().maxRSS })}\n`);
}
