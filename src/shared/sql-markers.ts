/**
 * Reads the comment lines a SQL migration is steered by: `-- migrate:up`, `-- migrate:down`, the flags
 * on the up line and `-- description:`. Only the exact spellings count, and a comment that looks
 * like one of them but is not exact is a mistake rather than a comment: read as a comment,
 * `-- Migrate:down` would make the down section run as part of up.
 */

/** The exact spellings, quoted in every fix. */
export const UP_MARKER = "-- migrate:up";
/** See {@link UP_MARKER}. */
export const DOWN_MARKER = "-- migrate:down";
/** See {@link UP_MARKER}. */
export const DESCRIPTION_PREFIX = "-- description:";
/**
 * The line that makes a section deliberately empty, followed by why: `-- migrate:empty <reason>`.
 * A no-op kept so versions line up across dialects is a real migration; an up that is empty by
 * accident (only comments, whitespace or `;`) is still refused.
 */
export const EMPTY_MARKER = "-- migrate:empty";
/**
 * The word `stepwise create` puts in a comment where the migration's SQL or code goes. A file that
 * still holds it is an unedited (or half-edited) template, which `gen` refuses wherever it appears.
 */
export const TEMPLATE_PLACEHOLDER = "stepwise:todo";
/** The flags the up marker line accepts, as written. */
export const KNOWN_FLAGS = ["transaction:false", "transaction:true", "foreign_keys:off"] as const;

/** What a `--` comment on a line of its own means. */
export type MarkerComment =
  | {
      readonly kind: "marker";
      readonly direction: "up" | "down";
      /** The text after the directive, flags and all. */ readonly rest: string;
      /** 0-based index of `rest` in the comment. */ readonly restIndex: number;
    }
  | { readonly kind: "unknown-directive"; readonly directive: string }
  | {
      readonly kind: "empty";
      /** Why the section is empty, as written after the marker (may be `""`, which is refused). */ readonly reason: string;
    }
  | { readonly kind: "description"; readonly value: string }
  | {
      readonly kind: "look-alike";
      /** What the comment seems meant as, spelled exactly. */
      readonly intended: string;
      readonly reason: string;
      /**
       * Only a bare direction word (`-- Down`, `-- up migration`): a heading rather than a marker
       * when the section it names has already begun.
       */
      readonly bareDirection?: boolean;
    }
  | { readonly kind: "comment" };

/**
 * Classifies a line comment (its text from `--` to the end of the line, without the line break).
 *
 * @example
 * classifyComment("-- migrate:up transaction:false"); // { kind: "marker", direction: "up", rest: " transaction:false", ... }
 * classifyComment("-- Migrate:down"); // { kind: "look-alike", intended: "-- migrate:down", ... }
 */
export function classifyComment(text: string): MarkerComment {
  if (text.startsWith("-- migrate:")) {
    const afterPrefix = text.slice("-- migrate:".length);
    const directive = afterPrefix.slice(0, firstWhitespace(afterPrefix));
    if (directive === "up" || directive === "down") {
      return { kind: "marker", direction: directive, rest: afterPrefix.slice(directive.length), restIndex: "-- migrate:".length + directive.length };
    }
    if (directive === "empty") return { kind: "empty", reason: afterPrefix.slice(directive.length).trim() };
    const folded = foldLookalikes(directive)
      .toLowerCase()
      .replace(/[^a-z]/g, "");
    if (folded === "up" || folded === "down") {
      return { kind: "look-alike", intended: `-- migrate:${folded}`, reason: `the directive must be lowercase ASCII "${folded}"` };
    }
    const lookalike = classifyLookalike(text);
    if (lookalike.kind === "look-alike") return { ...lookalike, reason: "nothing may come between the colon and the directive" };
    return directive === "" ? { kind: "look-alike", intended: UP_MARKER, reason: "the directive must follow the colon directly" } : { kind: "unknown-directive", directive };
  }
  if (text.startsWith(DESCRIPTION_PREFIX)) return { kind: "description", value: text.slice(DESCRIPTION_PREFIX.length).trim() };
  return classifyLookalike(text);
}

/**
 * Whether a comment that is not on a line of its own (after SQL, or a `/* … *\/` block) was meant as a
 * marker or flag; such a comment is never read as one, so it must be refused.
 */
export function looksLikeMarker(text: string): string | null {
  const body = text.startsWith("/*") ? `--${text.slice(2, text.endsWith("*/") ? -2 : undefined)}` : text;
  const meaning = classifyComment(body);
  if (meaning.kind === "marker") return meaning.direction === "up" ? UP_MARKER : DOWN_MARKER;
  if (meaning.kind === "look-alike" && meaning.intended.startsWith("-- migrate:") && !meaning.bareDirection) return meaning.intended;
  if (meaning.kind === "unknown-directive") return UP_MARKER;
  if (meaning.kind === "empty") return EMPTY_MARKER;
  return null;
}

/** The fix for an unknown flag: the known flag it most likely meant, or `null`. */
export function suggestFlag(flag: string): string | null {
  const key = foldLookalikes(flag)
    .toLowerCase()
    .replace(/[^a-z]/g, "");
  if (/^(no)?(transactions?|trans|tx)/.test(key)) {
    if (key.startsWith("no")) return "transaction:false";
    const value = key.replace(/^(transactions?|trans|tx)/, "");
    return /^(true|yes|on|1|enabled?)$/.test(value) ? "transaction:true" : "transaction:false";
  }
  if (key.includes("foreign") || key.startsWith("fk")) return "foreign_keys:off";
  return null;
}

const DIRECTION_WORDS = new Set(["up", "down"]);
const MIGRATE_WORDS = new Set(["migrate", "migration", "migrations", "migrates"]);
const SECTION_WORDS = new Set(["migration", "migrations", "section", "sql", "script"]);
const OTHER_TOOL_DIRECTIVES = new Set(["statementbegin", "statementend", "notransaction", "envsub"]);

const FLAG_OFF_LINE = "flags go on the up marker line; on a line of their own they are only a comment";
const SPELLED_EXACTLY = "markers are spelled exactly, in lowercase ASCII, with one space after -- and none around the colon";

/**
 * Whole comments that, with everything but their letters removed, spell a marker or a flag: the
 * separators (`:`, `-`, `_`, spaces) and the case are what a writer gets wrong, not the words.
 */
const SQUEEZED_LOOKALIKES: ReadonlyMap<string, LookalikeFix> = new Map([
  ...squeezedEntries(["migrateup", "migrationup", "migrationsup"], UP_MARKER, SPELLED_EXACTLY),
  ...squeezedEntries(["migratedown", "migrationdown", "migrationsdown"], DOWN_MARKER, SPELLED_EXACTLY),
  ...squeezedEntries(
    ["transactionfalse", "transactionsfalse", "transactionoff", "transactionsoff", "transactionno", "notransaction", "notransactions", "notx", "withouttransaction"],
    `${UP_MARKER} transaction:false`,
    FLAG_OFF_LINE,
  ),
  ...squeezedEntries(["transactiontrue", "transactionon", "transactionyes"], `${UP_MARKER} transaction:true`, FLAG_OFF_LINE),
  ...squeezedEntries(["foreignkeysoff", "foreignkeyoff", "foreignkeysfalse", "noforeignkeys", "fkoff", "fksoff", "noforeignkeychecks"], `${UP_MARKER} foreign_keys:off`, FLAG_OFF_LINE),
]);

interface LookalikeFix {
  readonly intended: string;
  readonly reason: string;
}

function squeezedEntries(keys: readonly string[], intended: string, reason: string): Array<[string, LookalikeFix]> {
  return keys.map((key) => [key, { intended, reason }]);
}

function classifyLookalike(text: string): MarkerComment {
  // Only the start of a comment can make it a marker; bounding it keeps long comments cheap.
  const raw = text.slice(0, 200);
  const body = foldLookalikes(raw.replace(/^-+/, "")).toLowerCase();
  const liquibase = /^--\s*(changeset|rollback|liquibase)\b/i.exec(raw);
  if (liquibase && !/^--\s/.test(raw)) {
    return { kind: "look-alike", intended: liquibase[1]!.toLowerCase() === "rollback" ? DOWN_MARKER : UP_MARKER, reason: `"--${liquibase[1]}" is Liquibase syntax, which stepwise does not read` };
  }
  const words = body
    .split(/[^a-z0-9+]+/)
    .filter((word) => word !== "")
    .slice(0, 3);
  const first = (words[0] ?? "").replace(/^\++/, "");
  const second = (words[1] ?? "").replace(/^\++/, "");
  const toolPrefix = /^\s*\+(goose|migrate)\b/.exec(body)?.[1];
  if (toolPrefix && (DIRECTION_WORDS.has(second) || OTHER_TOOL_DIRECTIVES.has(second))) {
    const intended = second === "down" ? DOWN_MARKER : UP_MARKER;
    const reason = DIRECTION_WORDS.has(second)
      ? `"+${toolPrefix} ${second}" is ${toolPrefix === "goose" ? "goose" : "sql-migrate"} syntax`
      : `"+${toolPrefix} ${words[1]}" is ${toolPrefix === "goose" ? "goose" : "sql-migrate"} syntax and stepwise has no such directive; remove it, a section runs as one script`;
    return { kind: "look-alike", intended, reason };
  }
  if (MIGRATE_WORDS.has(first) && DIRECTION_WORDS.has(second)) {
    return { kind: "look-alike", intended: `-- migrate:${second}`, reason: "markers are spelled exactly, in lowercase ASCII, with one space after -- and none around the colon" };
  }
  if (DIRECTION_WORDS.has(first) && (words.length === 1 || (words.length === 2 && SECTION_WORDS.has(second)))) {
    return { kind: "look-alike", intended: `-- migrate:${first}`, reason: `"${raw.trim()}" is how other tools mark a section`, bareDirection: true };
  }
  if (/^\s*desc(ription)?\s*[:=]/.test(body)) {
    return { kind: "look-alike", intended: `${DESCRIPTION_PREFIX} …`, reason: "the description line is spelled exactly, in lowercase, with one space after --" };
  }
  const squeezed = SQUEEZED_LOOKALIKES.get(body.replace(/[^a-z]/g, ""));
  if (squeezed) return { kind: "look-alike", ...squeezed };
  if (/^\s*(transaction|foreign[\s_-]?keys)\s*[:=]/.test(body)) {
    return {
      kind: "look-alike",
      intended: `${UP_MARKER} ${body.includes("foreign") ? "foreign_keys:off" : "transaction:false"}`,
      reason: "flags go on the up marker line; on a line of their own they are only a comment",
    };
  }
  return { kind: "comment" };
}

function firstWhitespace(text: string): number {
  const index = text.search(/\s/);
  return index === -1 ? text.length : index;
}

/**
 * Compatibility forms become ASCII (fullwidth letters, ligatures) through NFKC, and the Cyrillic and
 * Greek letters that look like the Latin letters of the marker words are mapped by hand; no-break
 * and other Unicode spaces become plain spaces.
 */
function foldLookalikes(text: string): string {
  let folded = "";
  for (const char of text.normalize("NFKC")) folded += LOOKALIKES[char] ?? (/\s/.test(char) ? " " : char);
  return folded;
}

const LOOKALIKES: Readonly<Record<string, string>> = {
  "\u0430": "a",
  "\u0410": "A",
  "\u0435": "e",
  "\u0415": "E",
  "\u043E": "o",
  "\u041E": "O",
  "\u0440": "p",
  "\u0420": "P",
  "\u0441": "c",
  "\u0421": "C",
  "\u0456": "i",
  "\u0406": "I",
  "\u0501": "d",
  "\u0442": "t",
  "\u0422": "T",
  "\u043C": "m",
  "\u041C": "M",
  "\u0433": "r",
  "\u0455": "s",
  "\u0405": "S",
  "\u0458": "j",
  "\u03BF": "o",
  "\u039F": "O",
  "\u03B1": "a",
  "\u0391": "A",
  "\u03C1": "p",
  "\u03A1": "P",
  "\u03B9": "i",
  "\u0399": "I",
  "\u03C4": "t",
  "\u03A4": "T",
  "\u03BD": "v",
  "\u0261": "g",
  "\u0578": "n",
  "\u057C": "n",
  "\u0445": "x",
  "\u0425": "X",
  "\u0443": "y",
  "\u0412": "B",
  "\u041D": "H",
  "\u0131": "i",
  "\u0268": "i",
  "\u01C3": "!",
  "\u2010": "-",
  "\u2011": "-",
  "\u2012": "-",
  "\u2013": "-",
  "\u2212": "-",
};
