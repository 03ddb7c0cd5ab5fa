/** The comment lines a SQL migration is steered by. Only exact spellings count; a near miss is refused, since read as a comment `-- Migrate:down` would run the down section as part of up. */

/** The exact spellings, quoted in every fix. */
export const UP_MARKER = "-- migrate:up";
/** See {@link UP_MARKER}. */
export const DOWN_MARKER = "-- migrate:down";
/** See {@link UP_MARKER}. */
export const DESCRIPTION_PREFIX = "-- description:";
/** Marks a section deliberately empty, followed by why: `-- migrate:empty <reason>`. */
export const EMPTY_MARKER = "-- migrate:empty";
/** The word `stepwise create` puts where the migration's code goes; `gen` refuses a file that still holds it. */
export const TEMPLATE_PLACEHOLDER = "stepwise:todo";
/** The flags the up marker line accepts, as written. */
export const KNOWN_FLAGS: readonly string[] = ["transaction:false", "transaction:true", "foreign_keys:off"];

/** What a `--` comment on a line of its own means. */
export type MarkerComment =
  | { readonly kind: "marker"; readonly direction: "up" | "down"; readonly rest: string }
  | { readonly kind: "unknown-directive"; readonly directive: string }
  | { readonly kind: "empty"; readonly reason: string }
  | { readonly kind: "description"; readonly value: string }
  /** `bareDirection`: only a direction word (`-- Down`), a heading when the section it names has already begun. */
  | { readonly kind: "look-alike"; readonly intended: string; readonly reason: string; readonly bareDirection?: boolean }
  | { readonly kind: "comment" };

/** Classifies a line comment (from `--` to the end of the line, without the line break). */
export function classifyComment(text: string): MarkerComment {
  const prefix = "-- migrate:";
  if (text.startsWith(DESCRIPTION_PREFIX)) return { kind: "description", value: text.slice(DESCRIPTION_PREFIX.length).trim() };
  if (!text.startsWith(prefix)) return classifyLookalike(text);
  const directive = text.slice(prefix.length).split(/\s/, 1)[0]!;
  const rest = text.slice(prefix.length + directive.length);
  if (directive === "up" || directive === "down") return { kind: "marker", direction: directive, rest };
  if (directive === "empty") return { kind: "empty", reason: rest.trim() };
  const folded = lettersOf(directive);
  if (folded === "up" || folded === "down") return { kind: "look-alike", intended: `${prefix}${folded}`, reason: `the directive must be lowercase ASCII "${folded}"` };
  const lookalike = classifyLookalike(text);
  if (lookalike.kind === "look-alike") return { ...lookalike, reason: "nothing may come between the colon and the directive" };
  return directive === "" ? { kind: "look-alike", intended: UP_MARKER, reason: "the directive must follow the colon directly" } : { kind: "unknown-directive", directive };
}

/** The marker a comment that is not on a line of its own (after SQL, or a `/* … *\/` block) was meant as, or `null`; it is never read as one. */
export function looksLikeMarker(text: string): string | null {
  const meaning = classifyComment(text.startsWith("/*") ? `--${text.slice(2, text.endsWith("*/") ? -2 : undefined)}` : text);
  if (meaning.kind === "marker") return meaning.direction === "up" ? UP_MARKER : DOWN_MARKER;
  if (meaning.kind === "look-alike" && meaning.intended.startsWith("-- migrate:") && !meaning.bareDirection) return meaning.intended;
  return meaning.kind === "unknown-directive" ? UP_MARKER : meaning.kind === "empty" ? EMPTY_MARKER : null;
}

/** A `migrate:up` or `migrate:down` inside a comment where it is never read as a marker (see {@link findHiddenMarkers}). */
export interface HiddenMarker {
  /** Where it starts in the comment's text. */
  readonly index: number;
  /** The marker it spells: {@link UP_MARKER} or {@link DOWN_MARKER}. */
  readonly marker: string;
  /** What precedes it on its line: the name of a character an editor may draw as a line break (`U+2028 (LINE SEPARATOR)`), or `null` for other text. */
  readonly after: string | null;
}

/**
 * Every `migrate:up` or `migrate:down` (any case, look-alike letters, spaces around the colon) in a comment's text with more than the comment's opening and blanks before it on its line. Whatever
 * precedes it there (a character an editor draws as a line break, or prose pushing it off-screen), the comment goes on through it, so the SQL written below it as another section would run in the
 * one above. One starting a later line of a block comment is text commented out; one starting the first line is left to the caller when `headRead` (it reads the head with
 * {@link classifyComment} or {@link looksLikeMarker}), and found otherwise.
 */
export function findHiddenMarkers(comment: string, headRead: boolean): HiddenMarker[] {
  const { folded, origins } = foldWithOrigins(comment);
  const found: HiddenMarker[] = [];
  for (const match of folded.matchAll(/migrat(?:e|es|ion|ions)\s*:\s*(up|down)(?![a-z0-9_])/g)) {
    const index = origins[match.index]!;
    const lineStart = comment.lastIndexOf("\n", index - 1) + 1;
    const before = comment.slice(lineStart, index);
    const breaker = [...before].findLast((char) => SHOWN_AS_LINE_BREAK.has(char));
    if (/^[-*/\s]*$/.test(before) && breaker === undefined && (headRead || lineStart > 0)) continue;
    found.push({ index, marker: match[1] === "up" ? UP_MARKER : DOWN_MARKER, after: breaker === undefined ? null : SHOWN_AS_LINE_BREAK.get(breaker)! });
  }
  return found;
}

/** Characters some editor or viewer draws as a line break, though a comment goes on through them (all but PostgreSQL's `--` comment, which a carriage return ends). */
const SHOWN_AS_LINE_BREAK = new Map([
  ["\u2028", "U+2028 (LINE SEPARATOR)"],
  ["\u2029", "U+2029 (PARAGRAPH SEPARATOR)"],
  ["\u0085", "U+0085 (NEXT LINE)"],
  ["\r", "a carriage return"],
  ["\f", "a form feed"],
  ["\v", "a vertical tab"],
]);

/** The known flag an unknown one most likely meant, or `null`. */
export function suggestFlag(flag: string): string | null {
  const key = lettersOf(flag);
  if (/^(no)?(transactions?|trans|tx)/.test(key)) {
    return !key.startsWith("no") && /^(true|yes|on|1|enabled?)$/.test(key.replace(/^(transactions?|trans|tx)/, "")) ? "transaction:true" : "transaction:false";
  }
  return key.includes("foreign") || key.startsWith("fk") ? "foreign_keys:off" : null;
}

const DIRECTION_WORDS = new Set(["up", "down"]);
const MIGRATE_WORDS = new Set(["migrate", "migration", "migrations", "migrates"]);
const SECTION_WORDS = new Set(["migration", "migrations", "section", "sql", "script"]);
const OTHER_TOOL_DIRECTIVES = new Set(["statementbegin", "statementend", "notransaction", "envsub"]);
const FLAG_OFF_LINE = "flags go on the up marker line; on a line of their own they are only a comment";
const SPELLED_EXACTLY = "markers are spelled exactly, in lowercase ASCII, with one space after -- and none around the colon";

/** Whole comments that, reduced to their letters, spell a marker or a flag: separators and case are what a writer gets wrong. */
const SQUEEZED_LOOKALIKES = new Map<string, { intended: string; reason: string }>(
  (
    [
      ["migrateup migrationup migrationsup", UP_MARKER, SPELLED_EXACTLY],
      ["migratedown migrationdown migrationsdown", DOWN_MARKER, SPELLED_EXACTLY],
      ["transactionfalse transactionsfalse transactionoff transactionsoff transactionno notransaction notransactions notx withouttransaction", `${UP_MARKER} transaction:false`, FLAG_OFF_LINE],
      ["transactiontrue transactionon transactionyes", `${UP_MARKER} transaction:true`, FLAG_OFF_LINE],
      ["foreignkeysoff foreignkeyoff foreignkeysfalse noforeignkeys fkoff fksoff noforeignkeychecks", `${UP_MARKER} foreign_keys:off`, FLAG_OFF_LINE],
    ] as const
  ).flatMap(([keys, intended, reason]) => keys.split(" ").map((key) => [key, { intended, reason }] as const)),
);

function classifyLookalike(text: string): MarkerComment {
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
  const tool = /^\s*\+(goose|migrate)\b/.exec(body)?.[1];
  if (tool && (DIRECTION_WORDS.has(second) || OTHER_TOOL_DIRECTIVES.has(second))) {
    const syntax = `is ${tool === "goose" ? "goose" : "sql-migrate"} syntax`;
    const reason = DIRECTION_WORDS.has(second) ? `"+${tool} ${second}" ${syntax}` : `"+${tool} ${words[1]}" ${syntax} and stepwise has no such directive; remove it, a section runs as one script`;
    return { kind: "look-alike", intended: second === "down" ? DOWN_MARKER : UP_MARKER, reason };
  }
  if (MIGRATE_WORDS.has(first) && DIRECTION_WORDS.has(second)) return { kind: "look-alike", intended: `-- migrate:${second}`, reason: SPELLED_EXACTLY };
  if (DIRECTION_WORDS.has(first) && (words.length === 1 || (words.length === 2 && SECTION_WORDS.has(second)))) {
    return { kind: "look-alike", intended: `-- migrate:${first}`, reason: `"${raw.trim()}" is how other tools mark a section`, bareDirection: true };
  }
  if (/^\s*desc(ription)?\s*[:=]/.test(body)) {
    return { kind: "look-alike", intended: `${DESCRIPTION_PREFIX} …`, reason: "the description line is spelled exactly, in lowercase, with one space after --" };
  }
  const squeezed = SQUEEZED_LOOKALIKES.get(body.replace(/[^a-z]/g, ""));
  if (squeezed) return { kind: "look-alike", ...squeezed };
  if (/^\s*(transaction|foreign[\s_-]?keys)\s*[:=]/.test(body)) {
    return { kind: "look-alike", intended: `${UP_MARKER} ${body.includes("foreign") ? "foreign_keys:off" : "transaction:false"}`, reason: FLAG_OFF_LINE };
  }
  return { kind: "comment" };
}

function lettersOf(text: string): string {
  return foldLookalikes(text)
    .toLowerCase()
    .replace(/[^a-z]/g, "");
}

/** NFKC makes fullwidth letters and ligatures ASCII; Cyrillic and Greek look-alikes and dashes are mapped by hand; Unicode spaces become plain ones. */
function foldLookalikes(text: string): string {
  let folded = "";
  for (const char of text.normalize("NFKC")) folded += LOOKALIKES.get(char) ?? (/\s/.test(char) ? " " : char);
  return folded;
}

/** {@link foldLookalikes} in lowercase, one character at a time, with the offset in `text` each folded character comes from. */
function foldWithOrigins(text: string): { folded: string; origins: number[] } {
  let folded = "";
  const origins: number[] = [];
  let index = 0;
  for (const char of text) {
    // ASCII folds to itself; normalising each character of a long comment costs the seed files with one.
    const mapped = char < "\u0080" ? char.toLowerCase() : foldLookalikes(char).toLowerCase();
    folded += mapped;
    for (let at = 0; at < mapped.length; at++) origins.push(index);
    index += char.length;
  }
  return { folded, origins };
}

/** Each look-alike followed by the ASCII character it passes for. */
const LOOKALIKES = new Map(
  (
    "\u0430a \u0410A \u0435e \u0415E \u043Eo \u041EO \u0440p \u0420P \u0441c \u0421C \u0456i \u0406I \u0501d \u0442t \u0422T \u043Cm \u041CM \u0433r \u0455s \u0405S \u0458j " +
    "\u03BFo \u039FO \u03B1a \u0391A \u03C1p \u03A1P \u03B9i \u0399I \u03C4t \u03A4T \u03BDv \u0261g \u0578n \u057Cn \u0445x \u0425X \u0443y \u0412B \u041DH \u0131i \u0268i \u01C3! " +
    "\u2010- \u2011- \u2012- \u2013- \u2212-"
  )
    .split(" ")
    .map((pair) => [pair[0]!, pair[1]!] as const),
);
