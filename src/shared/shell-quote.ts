/** A word of a command the messages print, as a shell reads it back. */

/** A path or word as a shell reads it back: as is when plain, else in single quotes. */
export function quoteForShell(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
