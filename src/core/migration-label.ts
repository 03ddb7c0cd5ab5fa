/** How the runtime names a migration in messages and events (`007_add_index`); codegen's file-name rules build on it. */
/** The digits `create` pads a version to, until the versions outgrow it. */
export const DEFAULT_VERSION_WIDTH = 3;

/** A version as file names show it, zero-padded to `width` digits and never truncated: `formatVersion(7)` is `"007"`. */
export function formatVersion(version: number, width: number = DEFAULT_VERSION_WIDTH): string {
  return String(version).padStart(width, "0");
}

/** How messages name a migration: its file name without the extension (`formatMigrationLabel(7, "add_index")` is `"007_add_index"`), found at a glance. */
export function formatMigrationLabel(version: number, name: string): string {
  return `${formatVersion(version)}_${name}`;
}
