/** How the runtime names a migration in messages and events (`007_add_index`); codegen's file-name rules build on it. */
/** The digits `create` pads a version to, until the versions outgrow it. */
export const DEFAULT_VERSION_WIDTH = 3;

/**
 * A version as file names show it: zero-padded to `width` digits, and never truncated.
 *
 * @example
 * formatVersion(7); // "007"
 */
export function formatVersion(version: number, width: number = DEFAULT_VERSION_WIDTH): string {
  return String(version).padStart(width, "0");
}

/**
 * How messages name one migration: its file name without the extension, so it can be found in the migrations folder at a glance.
 *
 * @example
 * formatMigrationLabel(7, "add_index"); // "007_add_index"
 */
export function formatMigrationLabel(version: number, name: string): string {
  return `${formatVersion(version)}_${name}`;
}
