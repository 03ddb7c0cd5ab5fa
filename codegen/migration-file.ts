/** Migration file names, `<version>_<name>.ts` or `.sql`: the one place that knows the rules, so the scan, `create` and `rebase` can never disagree. */
import { DEFAULT_VERSION_WIDTH, formatVersion } from "../src/core/migration-label.js";

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

/**
 * What a file name in the migrations folder turned out to be; a malformed one says why, the version it starts with when one can be read (so the file still fills its place and is not also reported as
 * a gap), and the name it should probably have.
 */
export type MigrationFileNameResult =
  | { readonly status: "migration"; readonly migration: ParsedMigrationFileName }
  | {
      readonly status: "malformed";
      readonly problem: {
        readonly fileName: string;
        readonly reason: string;
        readonly version: number | null;
        /** The version it starts with is 2^53 or more: no version after it is one gen accepts. */
        readonly versionTooLarge?: true;
        readonly suggestedName: string | null;
        /** The reason with `advice` where it offers the rename to `suggestedName` (at its end where it offers none): the scan's, when another migration holds that name's version. */
        readonly reasonWithRenameAdvice: (advice: string) => string;
      };
    }
  | { readonly status: "ignored" };

/** The longest name `create` derives from a description, so file names stay readable. */
export const MAX_GENERATED_NAME_LENGTH = 60;

const VALID_FILE_NAME = /^(\d+)_([a-z0-9]+(?:_[a-z0-9]+)*)\.(ts|sql)$/;
/** ECMA-48 control sequences (CSI, OSC and the two-character ones), counted whole so the digits inside `ESC[2J` are not read as a version. */
const TERMINAL_ESCAPE = String.raw`(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[ -~]`;
/** Spaces, control and invisible characters, combining marks and dots that may precede a version. */
const INVISIBLE_NOISE = new RegExp(`^(?:${TERMINAL_ESCAPE}|[\\s\\p{Cc}\\p{Cf}\\p{Mn}\\p{Me}.])+`, "u");
/** Anything but a letter or a digit before a version. */
const LEADING_NOISE = new RegExp(`^(?:${TERMINAL_ESCAPE}|[^\\p{L}\\p{N}])+`, "u");
/** Punctuation, then a version and an underscore: `-002_b.ts`, `#002_b.ts`. */
const PUNCTUATED_VERSION = new RegExp(`^(?:${TERMINAL_ESCAPE}|[^\\p{L}\\p{N}])+\\p{Nd}+_`, "u");
const LEADING_DIGITS = /^\p{Nd}+/u;
const SOURCE_EXTENSION = /\.(sql|[cm]?[jt]sx?)$/i;

/**
 * Classifies one entry of the migrations folder by its name. A name is migration-like when it starts with a decimal digit of any script (after stray spaces or invisible characters), or ends in
 * `.sql`; a hidden one only when the rest starts with a digit and it ends in a source extension (so an editor's `.001_init.sql.swp` is left alone), and never one ending in `~`, an editor's backup. A migration-like name must follow the rules
 * exactly, or it is refused: a skipped migration is the failure stepwise exists to prevent.
 *
 * @example
 * parseMigrationFileName("002_add_preferences.ts"); // { status: "migration", migration: { version: 2, ... } }
 * parseMigrationFileName("002_b.SQL"); // { status: "malformed", problem: { version: 2, suggestedName: "002_b.sql", ... } }
 * parseMigrationFileName("README.md"); // { status: "ignored" }
 */
export function parseMigrationFileName(fileName: string): MigrationFileNameResult {
  if (!isMigrationLike(fileName)) return { status: "ignored" };
  const match = VALID_FILE_NAME.exec(fileName);
  if (!match) return explainBadFileName(fileName);
  const version = Number(match[1]);
  if (!Number.isSafeInteger(version)) return tooLarge(malformed(fileName, `version ${match[1]} is too large; use a number below 2^53`, null, null));
  if (version === 0) return malformed(fileName, `versions start at 1; rename it to 001_${match[2]}.${match[3]}`, null, `001_${match[2]}.${match[3]}`);
  return { status: "migration", migration: { version, name: match[2]!, kind: match[3] as MigrationKind, fileName } };
}

/**
 * The version a folder entry holds, given what {@link parseMigrationFileName} made of its name: a migration's, or a refused name's when a version can be read from it (so the refused file still fills
 * its place, and `create` never hands that version out again); `null` for an ignored name or one with no readable version.
 */
export function heldVersion(parsed: MigrationFileNameResult): number | null {
  if (parsed.status === "ignored") return null;
  return parsed.status === "migration" ? parsed.migration.version : parsed.problem.version;
}

/** Whether a name falls under the naming rule of {@link parseMigrationFileName}. */
export function isMigrationLike(fileName: string): boolean {
  const hasSourceExtension = SOURCE_EXTENSION.test(trimTrailingNoise(fileName));
  const startsWithDigit = LEADING_DIGITS.test(fileName.replace(INVISIBLE_NOISE, ""));
  // An editor's autosave (`#001_init.sql#`) does not end in a source extension; its lock file is hidden; its backup (`001_init.sql~`, Emacs's numbered `001_init.sql.~1~`) ends in a tilde.
  if (fileName.endsWith("~")) return false;
  if (fileName.startsWith(".")) return hasSourceExtension && startsWithDigit;
  return (PUNCTUATED_VERSION.test(fileName) && hasSourceExtension) || startsWithDigit || /\.sql$/i.test(trimTrailingNoise(fileName));
}

/** `result` marked as starting with a version too large for gen. */
function tooLarge(result: MigrationFileNameResult): MigrationFileNameResult {
  return result.status === "malformed" ? { ...result, problem: { ...result.problem, versionTooLarge: true } } : result;
}

function malformed(fileName: string, reason: string, version: number | null, suggestedName: string | null, reasonWithRenameAdvice = (advice: string) => `${reason}${advice}`): MigrationFileNameResult {
  return { status: "malformed", problem: { fileName, reason, version, suggestedName, reasonWithRenameAdvice } };
}

/** Names the first thing wrong, and builds the name the file should have. */
function explainBadFileName(fileName: string): MigrationFileNameResult {
  const leading = LEADING_NOISE.exec(fileName)?.[0] ?? "";
  const afterLeading = fileName.slice(leading.length);
  const digits = LEADING_DIGITS.exec(afterLeading)?.[0] ?? "";
  if (digits === "") {
    const example = `${formatVersion(1)}_${toSnakeCaseName(trimTrailingNoise(afterLeading).replace(/\.sql$/i, "")) || "add_index"}.sql`;
    const reason = `the name must start with a version number, as in <version>_<name>.sql; rename it to ${example} with the next free version in place of ${formatVersion(1)}, or, if it is not a migration, move it into a subfolder such as lib/`;
    return malformed(fileName, reason, null, null);
  }
  // Unicode keeps each script's digits 0-9 contiguous, so a digit's value is how many digits precede it.
  const asciiDigits = [...digits]
    .map((char) => {
      let value = 0;
      while (value < 60 && /\p{Nd}/u.test(String.fromCodePoint(char.codePointAt(0)! - value - 1))) value++;
      return String(value % 10);
    })
    .join("");
  const parsedVersion = Number(asciiDigits);
  const version = Number.isSafeInteger(parsedVersion) && parsedVersion > 0 ? parsedVersion : null;
  const rest = trimTrailingNoise(afterLeading.slice(digits.length));
  const { stem, kind, extensionProblem } = splitExtension(rest);
  const name = toSnakeCaseName(stem.replace(/^[^\p{L}\p{N}]+/u, ""));
  const suggestedName = kind !== null && name !== "" ? `${asciiDigits}_${name}.${kind}` : null;
  const reasonWith = (renameTo: string): string => {
    let reason: string;
    // A dot is also how a stopped rebase leaves a file between its two names: put back by its old names together, the next rebase keeps the branch's order.
    const rebase = leading === "." ? "; if a stopped stepwise rebase left it, put every file that rebase moved back under its name before it (git status shows them), then run the rebase again" : "";
    if (leading !== "") reason = `the name starts with ${describeLeading(leading)} before the version${renameTo}${rebase}`;
    else if (digits !== asciiDigits) reason = `the version must be written in ASCII digits 0-9${renameTo}`;
    else if (rest !== afterLeading.slice(digits.length)) reason = `the name ends with spaces or invisible characters${renameTo}`;
    else if (extensionProblem !== null) {
      reason = `${extensionProblem}${renameTo}${kind === null ? "; if it is not a migration, rename it so it does not start with a digit, or move it into a subfolder such as lib/" : ""}`;
    } else if (!rest.startsWith("_")) reason = `the version must be followed by an underscore, as in <version>_<name>.${kind}${renameTo}`;
    else if (stem.length <= 1) reason = `the name after the version is empty; expected <version>_<name>.${kind}, for example ${asciiDigits}_add_index.${kind}`;
    else reason = `the name "${stem.slice(1)}" must be lowercase snake_case (a-z, 0-9 and single underscores)${renameTo}`;
    if (version === 0 || parsedVersion === 0) reason += "; versions start at 1";
    return reason;
  };
  const reason = reasonWith(suggestedName ? `; rename it to ${suggestedName}` : "");
  const result = malformed(fileName, reason, version, suggestedName, suggestedName ? reasonWith : (advice) => `${reason}${advice}`);
  return Number.isSafeInteger(parsedVersion) ? result : tooLarge(result);
}

/** Names what precedes the version, escaped, so an invisible or control character can be found. */
function describeLeading(leading: string): string {
  if (/^\.+$/.test(leading)) return "a dot";
  const shown = [...leading].map((char) => (char > " " && char < "\u007f" ? char : `\\u{${char.codePointAt(0)!.toString(16)}}`)).join("");
  return `${INVISIBLE_NOISE.exec(leading)?.[0] === leading ? "invisible or space characters" : "other characters"} ("${shown}")`;
}

/** Splits off the extension, mapping near-misses (`.SQL`, `.mts`, `.js`) to the kind they were meant as. */
function splitExtension(rest: string): { stem: string; kind: MigrationKind | null; extensionProblem: string | null } {
  if (/\.d\.[cm]?ts$/i.test(rest)) return { stem: rest.replace(/\.d\.[cm]?ts$/i, ""), kind: null, extensionProblem: "a declaration file (.d.ts) cannot be a migration" };
  const dot = rest.lastIndexOf(".");
  if (dot === -1) return { stem: rest, kind: null, extensionProblem: "the name has no extension; a migration ends in .ts or .sql" };
  const extension = rest.slice(dot + 1);
  const lower = extension.toLowerCase();
  const stem = rest.slice(0, dot);
  if (extension === "ts" || extension === "sql") return { stem, kind: extension, extensionProblem: null };
  if (lower === "sql" || lower === "ts") return { stem, kind: lower, extensionProblem: `the extension must be lowercase ".${lower}"` };
  if (/^([cm]?[jt]sx?)$/.test(lower)) return { stem, kind: "ts", extensionProblem: `".${extension}" is not read as a migration; stepwise migrations are .ts or .sql files` };
  const inner = /\.(sql|ts)$/i.exec(stem);
  if (inner) {
    return { stem: stem.slice(0, inner.index), kind: inner[1]!.toLowerCase() as MigrationKind, extensionProblem: `".${extension}" after ".${inner[1]}" makes it something other than a migration` };
  }
  return { stem, kind: null, extensionProblem: `a file named like a migration must end in .ts or .sql, not ".${extension}"` };
}

/** Drops trailing spaces and invisible characters; a loop, because `/[\s]+$/` backtracks quadratically. */
function trimTrailingNoise(text: string): string {
  let end = text.length;
  while (end > 0 && /[\s\p{Cc}\p{Cf}]/u.test(text[end - 1]!)) end--;
  return text.slice(0, end);
}

/** Letters NFKD leaves whole (no combining mark to strip), spelled in ASCII as German, Danish, Polish, Croatian and Icelandic writers do. */
const TRANSLITERATIONS: Readonly<Record<string, string>> = Object.fromEntries("ß:ss ẞ:SS æ:ae Æ:AE ø:o Ø:O œ:oe Œ:OE ł:l Ł:L đ:d Đ:D ð:d Ð:D þ:th Þ:TH ı:i".split(" ").map((pair) => pair.split(":")));

/**
 * A description as a migration name: lowercase ASCII snake_case of at most {@link MAX_GENERATED_NAME_LENGTH} characters, cut after the last whole word that fits (a first word longer than that is cut
 * itself); empty when no letter or digit is left, which callers must refuse.
 *
 * @example
 * toSnakeCaseName("Add e-mail to Contacts"); // "add_e_mail_to_contacts"
 * toSnakeCaseName("rename straße"); // "rename_strasse"
 */
export function toSnakeCaseName(description: string): string {
  const words = description
    .replace(/[^\u0000-\u007f]/g, (char) => TRANSLITERATIONS[char] ?? char)
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== "");
  let name = "";
  for (const word of words) {
    const next = name === "" ? word : `${name}_${word}`;
    // Whole words read better than a cut one, but a single long word is still a name.
    if (next.length > MAX_GENERATED_NAME_LENGTH) return name === "" ? word.slice(0, MAX_GENERATED_NAME_LENGTH) : name;
    name = next;
  }
  return name;
}

/** `007_add_index.sql`: the version zero-padded to `width` digits, never truncated. */
export function formatMigrationFileName(version: number, name: string, kind: MigrationKind, width: number = DEFAULT_VERSION_WIDTH): string {
  return `${formatVersion(version, width)}_${name}.${kind}`;
}

/** The widest version these file names write (at least the default), so a new file lines up with the rest. */
export function versionWidthOf(fileNames: Iterable<string>): number {
  let width = DEFAULT_VERSION_WIDTH;
  for (const fileName of fileNames) width = Math.max(width, fileName.indexOf("_"));
  return width;
}
