/**
 * Messages that name an option or a call, written once and spelled two ways: through the library as
 * it takes them (`to: 3`, `transaction: "all"`, `up()`, `repairIncompleteMigration(manager, ...)`),
 * printed by the CLI as its flags and commands (`--to 3`, `--transaction all`, `stepwise up`,
 * `stepwise repair --applied 3 --yes`). An error's `message` (and a `fix` field) holds the library's
 * spelling; the text behind it travels with the error, out of sight of `Object.entries` and
 * `JSON.stringify`, so the CLI prints its own spelling from the same definition.
 */

/** How a text names options and calls: the library's spelling, or the CLI's. */
export type Syntax = "api" | "cli";

/** One name, in both spellings. */
export interface Spelled {
  readonly api: string;
  readonly cli: string;
}

/** Text with names in it: plain parts, and parts spelled both ways. */
export type Text = readonly (string | Spelled)[];

/** What a field holds before it is spelled: a text, or an object of texts (CHECKSUM_MISMATCH's `fix`). */
export type TextField = Text | { readonly [key: string]: Text };

/** The options messages name: the library's key, and the CLI's flag and config setting. */
const OPTIONS = {
  to: { key: "to", flag: "--to" },
  steps: { key: "steps", flag: "--steps" },
  transaction: { key: "transaction", flag: "--transaction" },
  tableName: { key: "tableName", flag: "--table" },
  busyTimeoutMs: { key: "busyTimeoutMs", flag: "--busy-timeout" },
  databasePath: { key: "databasePath", flag: "--db" },
  backupDirectory: { key: "backup.directory", flag: "--backup" },
  backupKeep: { key: "backup.keep", flag: "--keep-backups" },
  dangerouslyAllowForeignBackup: { key: "dangerouslyAllowForeignBackup", flag: "--force" },
  dangerouslyForce: { key: "dangerouslyForce", flag: "--force" },
} as const;

/** An option a message can name. */
export type OptionName = keyof typeof OPTIONS;

/** A value given to an option: a number, a word (`"all"`), `true` for a switch, or a placeholder such as `"<dir>"`. */
export type OptionValue = number | string | true;

/**
 * An option, named alone (`busyTimeoutMs` / `--busy-timeout`) or with its value (`to: 3` / `--to 3`;
 * `dangerouslyForce: true` / `--force`; `tableName: "<name>"` / `--table <name>`).
 */
export function option(name: OptionName, value?: OptionValue): Spelled {
  const { key, flag } = OPTIONS[name];
  if (value === undefined) return { api: key, cli: flag };
  if (value === true) return { api: `${key}: true`, cli: flag };
  return { api: `${key}: ${typeof value === "number" ? value : JSON.stringify(value)}`, cli: `${flag} ${value}` };
}

/** The options of one call, as `{ to: 3, transaction: "all" }` and `--to 3 --transaction all`. */
function callOptions(options: Partial<Record<OptionName, OptionValue>>): Spelled {
  const spelled = (Object.entries(options) as [OptionName, OptionValue][]).map(([name, value]) => option(name, value));
  return { api: spelled.length === 0 ? "" : `{ ${spelled.map((part) => part.api).join(", ")} }`, cli: spelled.map((part) => ` ${part.cli}`).join("") };
}

/** A manager's `up` or `down`: `up({ to: 3 })` / `stepwise up --to 3`. */
export function runCall(direction: "up" | "down", options: Partial<Record<OptionName, OptionValue>> = {}): Spelled {
  const spelled = callOptions(options);
  return { api: `${direction}(${spelled.api})`, cli: `"stepwise ${direction}${spelled.cli}"` };
}

/** The library's calls messages name (a command in quotes, as the user types it) (the safety nets, status), each beside the command that does the same. */
export const CALLS = {
  rehearseUp: (options: Partial<Record<OptionName, OptionValue>>): Spelled => {
    const spelled = callOptions(options);
    return { api: `rehearseUp(manager${spelled.api === "" ? "" : `, ${spelled.api}`})`, cli: `"stepwise up --dry-run${spelled.cli}"` };
  },
  repair: (version: number | "<version>", resolution: "applied" | "forget"): Spelled => ({
    api: `repairIncompleteMigration(manager, { version: ${version}, resolution: "${resolution}" })`,
    cli: `"stepwise repair --${resolution} ${version} --yes"`,
  }),
  repairChecksums: (version: number): Spelled => ({ api: `repairChecksums(manager, { version: ${version} })`, cli: `"stepwise repair --checksums ${version}"` }),
  applyChecksumRepair: { api: "apply: true", cli: '"--yes"' } satisfies Spelled,
  baseline: { api: "baselineDatabase(manager, <version>)", cli: '"stepwise baseline <version>"' } satisfies Spelled,
  restore: { api: "restoreBackup({ backupFile, ... })", cli: '"stepwise restore <file> --yes"' } satisfies Spelled,
  upWithBackup: { api: "upWithBackup(manager, { backup })", cli: '"stepwise up --backup"' } satisfies Spelled,
  status: { api: "manager.status()", cli: '"stepwise status"' } satisfies Spelled,
} as const;

/**
 * A tagged template for a {@link Text}: `` text`run ${runCall("up", { to: 3 })} again` ``. Strings
 * and numbers become plain parts; {@link Spelled} parts keep both spellings.
 */
export function text(strings: TemplateStringsArray, ...parts: readonly (string | number | Spelled | Text)[]): Text {
  const out: (string | Spelled)[] = [];
  strings.forEach((literal, index) => {
    out.push(literal);
    if (index >= parts.length) return;
    const part = parts[index]!;
    if (Array.isArray(part)) out.push(...(part as Text));
    else out.push(typeof part === "object" ? (part as Spelled) : String(part));
  });
  return out;
}

/** `text` in one syntax. */
export function spell(value: Text | string, syntax: Syntax): string {
  return typeof value === "string" ? value : value.map((part) => (typeof part === "string" ? part : part[syntax])).join("");
}

/** Where an error (or the plain data made from it) keeps the texts behind its fields. */
const TEXTS: unique symbol = Symbol.for("stepwise.texts") as never;

type WithTexts = { [TEXTS]?: Record<string, TextField> };

function spellField(field: TextField, syntax: Syntax): unknown {
  return Array.isArray(field) ? spell(field as Text, syntax) : Object.fromEntries(Object.entries(field as Record<string, Text>).map(([key, inner]) => [key, spell(inner, syntax)]));
}

/**
 * Keeps `field` of `target` in both spellings and returns it in the library's, for the field itself:
 * `this.fix = keepText(this, "fix", text\`...\`)`.
 */
export function keepText<T extends TextField>(target: object, field: string, value: T): T extends Text ? string : { readonly [K in keyof T]: string } {
  const holder = target as WithTexts;
  if (!Object.prototype.hasOwnProperty.call(holder, TEXTS)) Object.defineProperty(holder, TEXTS, { value: {}, enumerable: false });
  holder[TEXTS]![field] = value;
  return spellField(value, "api") as never;
}

/** Copies the texts kept for `from` onto `to` (plain data made from an error). */
export function copyTexts(from: object, to: object): void {
  const texts = (from as WithTexts)[TEXTS];
  if (texts) for (const [field, value] of Object.entries(texts)) keepText(to, field, value);
}

/** `target`'s fields spelled in `syntax`: each field kept with {@link keepText}, by name; empty when none was. */
export function spellFields(target: object, syntax: Syntax): Record<string, unknown> {
  const texts = (target as WithTexts)[TEXTS] ?? {};
  return Object.fromEntries(Object.entries(texts).map(([field, value]) => [field, spellField(value, syntax)]));
}
