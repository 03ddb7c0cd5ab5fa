/**
 * Migration file names: `<version>_<name>.ts` or `<version>_<name>.sql`.
 *
 * This is the one place that knows the naming rules. Codegen uses it to scan a folder and `create`
 * uses it to name a new file, so the two can never disagree.
 */

/** The two kinds of migration source. */
export type MigrationKind = "ts" | "sql";

/** A file name that follows the rules. */
export interface ParsedMigrationFileName {
  /** The positive integer before the first underscore; leading zeros are not significant. */
  readonly version: number;
  /** The lowercase snake_case part between the version and the extension. */
  readonly name: string;
  readonly kind: MigrationKind;
  readonly fileName: string;
}

/** Why a file that looks like a migration was refused. */
export interface MalformedMigrationFileName {
  readonly fileName: string;
  readonly reason: string;
}

/** What a file name in the migrations folder turned out to be. */
export type MigrationFileNameResult =
  | { readonly status: "migration"; readonly migration: ParsedMigrationFileName }
  | { readonly status: "malformed"; readonly problem: MalformedMigrationFileName }
  | { readonly status: "ignored" };

/** The digits `create` pads a version to, until the versions outgrow it. */
export const DEFAULT_VERSION_WIDTH = 3;

/** The longest name `create` derives from a description, so file names stay readable. */
export const MAX_GENERATED_NAME_LENGTH = 60;

const VALID_FILE_NAME = /^(\d+)_([a-z0-9]+(?:_[a-z0-9]+)*)\.(ts|sql)$/;

/**
 * Classifies one entry of the migrations folder.
 *
 * A `.sql` file, or a `.ts` file whose name starts with a digit, is meant to be a migration, so a
 * broken name is an error rather than something to skip silently: a skipped migration is the very
 * failure stepwise exists to prevent. Declaration files and other extensions are ignored, as are
 * `.ts` files that do not start with a digit (shared helpers).
 *
 * @example
 * parseMigrationFileName("002_add_preferences.ts"); // { status: "migration", migration: { version: 2, ... } }
 * parseMigrationFileName("004_Add.ts"); // { status: "malformed", problem: { reason: "..." } }
 * parseMigrationFileName("README.md"); // { status: "ignored" }
 */
export function parseMigrationFileName(fileName: string): MigrationFileNameResult {
  if (fileName.endsWith(".d.ts")) return { status: "ignored" };
  const isSql = fileName.endsWith(".sql");
  const isTs = fileName.endsWith(".ts");
  if (!isSql && !isTs) return { status: "ignored" };
  if (isTs && !/^\d/.test(fileName)) return { status: "ignored" };

  const match = VALID_FILE_NAME.exec(fileName);
  if (match) {
    const version = Number(match[1]);
    if (!Number.isSafeInteger(version)) {
      return malformed(fileName, `version ${match[1]} is too large; use a number below 2^53`);
    }
    if (version === 0) {
      return malformed(fileName, "versions start at 1; rename it to 001_" + match[2] + "." + match[3]);
    }
    return {
      status: "migration",
      migration: { version, name: match[2]!, kind: match[3] as MigrationKind, fileName },
    };
  }
  return malformed(fileName, explainBadFileName(fileName));
}

function malformed(fileName: string, reason: string): MigrationFileNameResult {
  return { status: "malformed", problem: { fileName, reason } };
}

function explainBadFileName(fileName: string): string {
  const extension = fileName.endsWith(".sql") ? ".sql" : ".ts";
  const stem = fileName.slice(0, -extension.length);
  const versionMatch = /^(\d+)(.*)$/.exec(stem);
  const expected = `expected <version>_<name>${extension}, for example 004_add_index${extension}`;
  if (!versionMatch) return `the name must start with a version number; ${expected}`;
  const rest = versionMatch[2]!;
  if (!rest.startsWith("_")) {
    return `the version must be followed by an underscore; ${expected}`;
  }
  const name = rest.slice(1);
  if (name === "") return `the name after the version is empty; ${expected}`;
  const suggestion = toSnakeCaseName(name);
  const hint = suggestion ? `; rename it to ${versionMatch[1]}_${suggestion}${extension}` : "";
  return `the name "${name}" must be lowercase snake_case (a-z, 0-9 and single underscores)${hint}`;
}

/**
 * Turns a free-text description into a migration name: lowercase snake_case, ASCII only, at most
 * {@link MAX_GENERATED_NAME_LENGTH} characters. Returns an empty string when nothing usable is left,
 * which callers must refuse.
 *
 * @example
 * toSnakeCaseName("Add e-mail to Contacts"); // "add_e_mail_to_contacts"
 * toSnakeCaseName("../../etc"); // "etc"
 */
export function toSnakeCaseName(description: string): string {
  const ascii = description.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  const words = ascii
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== "");
  let name = "";
  for (const word of words) {
    const next = name === "" ? word : `${name}_${word}`;
    if (next.length > MAX_GENERATED_NAME_LENGTH) break;
    name = next;
  }
  return name;
}

/**
 * Builds a file name. The version is zero-padded to `width` digits, and never truncated.
 *
 * @example
 * formatMigrationFileName(7, "add_index", "sql"); // "007_add_index.sql"
 */
export function formatMigrationFileName(
  version: number,
  name: string,
  kind: MigrationKind,
  width: number = DEFAULT_VERSION_WIDTH,
): string {
  return `${formatVersion(version, width)}_${name}.${kind}`;
}

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
 * How messages name one migration: its file name without the extension, so it can be found in the
 * migrations folder at a glance.
 *
 * @example
 * formatMigrationLabel(7, "add_index"); // "007_add_index"
 */
export function formatMigrationLabel(version: number, name: string): string {
  return `${formatVersion(version)}_${name}`;
}
