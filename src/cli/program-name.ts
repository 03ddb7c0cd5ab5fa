/**
 * Library errors say what to run as `stepwise <command>`, since the library cannot know how it is
 * embedded. An app's own CLI (`createCli({ programName: "myapp migrate" })`) is run under another
 * name; its users would type a command that does not exist. The CLI rewrites those mentions at its
 * output boundary, for the commands it really has: `stepwise gen` stays, since gen belongs to the
 * stepwise bin, not to the app's CLI.
 */

/**
 * Replaces `stepwise <command>` with `<programName> <command>` in `text` for each of `commands`;
 * `text` unchanged when `programName` is `stepwise`.
 */
export function renameCommandMentions(text: string, programName: string, commands: readonly string[]): string {
  if (programName === "stepwise" || commands.length === 0) return text;
  const names = commands.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  // Only where a user would type it: not inside a path or a package name such as node_modules/stepwise.
  return text.replace(new RegExp(`(^|[\\s"'\`(])stepwise (?=(?:${names})\\b)`, "g"), (_match, before: string) => `${before}${programName} `);
}

/**
 * An error's `fix` with the library's command names rewritten to the app's: a string, or a structured
 * fix (such as CHECKSUM_MISMATCH's accidental and deliberate ways out) with every string inside it
 * rewritten and its shape kept; `null` when the error has none.
 */
export function renameInFix(fix: unknown, rename: (text: string) => string): unknown {
  if (fix === undefined || fix === null) return null;
  if (typeof fix === "string") return rename(fix);
  if (Array.isArray(fix)) return fix.map((item) => renameInFix(item, rename));
  if (typeof fix === "object") return Object.fromEntries(Object.entries(fix).map(([key, value]) => [key, renameInFix(value, rename)]));
  return fix;
}
