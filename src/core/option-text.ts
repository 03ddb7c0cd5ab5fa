/**
 * Messages that name options and calls, written once and spelled two ways: as the library takes them (`to: 3`) and as the CLI prints them (`--to 3`). An error's fields hold
 * the library's spelling; the texts ride on the error under a symbol, out of sight of `JSON.stringify`, so the CLI prints its own spelling.
 */

/** How a text names options and calls: the library's spelling, or the CLI's. */
export type Syntax = "api" | "cli";
/** One name, in both spellings. */
export type Spelled = { readonly [S in Syntax]: string };
/** Text with names in it: plain parts, and parts spelled both ways. */
export type Text = readonly (string | Spelled)[];
/** A text, or an object of texts (CHECKSUM_MISMATCH's `fix`). */
export type TextField = Text | { readonly [key: string]: Text };

/** The options messages name: the library's key, and the CLI's flag. */
const OPTIONS = {
  to: ["to", "--to"],
  steps: ["steps", "--steps"],
  transaction: ["transaction", "--transaction"],
  tableName: ["tableName", "--table"],
  busyTimeoutMs: ["busyTimeoutMs", "--busy-timeout"],
  databasePath: ["databasePath", "--db"],
  backupDirectory: ["backup.directory", "--backup"],
  backupKeep: ["backup.keep", "--keep-backups"],
  dangerouslyAllowForeignBackup: ["dangerouslyAllowForeignBackup", "--force"],
  dangerouslyForce: ["dangerouslyForce", "--force"],
  oldTables: ["oldTables", "--old-table"],
} as const;

/** An option a message can name. */
export type OptionName = keyof typeof OPTIONS;
/** A number, a word (`"all"`), `true` for a switch, or a placeholder such as `"<dir>"`. */
export type OptionValue = number | string | true;
type CallOptions = Partial<Record<OptionName, OptionValue>>;

/** An option, alone (`busyTimeoutMs` / `--busy-timeout`) or with its value (`to: 3` / `--to 3`; `dangerouslyForce: true` / `--force`). */
export function option(name: OptionName, value?: OptionValue): Spelled {
  const [key, flag] = OPTIONS[name];
  if (value === undefined || value === true) return { api: value ? `${key}: true` : key, cli: flag };
  return { api: `${key}: ${typeof value === "number" ? value : JSON.stringify(value)}`, cli: `${flag} ${value}` };
}

/** A call with its options, as `name({ to: 3 })` and `"stepwise command --to 3"`. */
function call(api: (options: string) => string, cli: string, options: CallOptions): Spelled {
  const spelled = Object.entries(options).map(([name, value]) => option(name as OptionName, value));
  return { api: api(spelled.length === 0 ? "" : `{ ${spelled.map((part) => part.api).join(", ")} }`), cli: `"${[cli, ...spelled.map((part) => part.cli)].join(" ")}"` };
}

/** A manager's `up` or `down`: `up({ to: 3 })` / `"stepwise up --to 3"`. */
export const runCall = (direction: "up" | "down", options: CallOptions = {}): Spelled => call((spelled) => `${direction}(${spelled})`, `stepwise ${direction}`, options);

/** The library's calls messages name, each beside the command that does the same. */
export const CALLS = {
  rehearseUp: (options: CallOptions): Spelled => call((spelled) => `rehearseUp(manager${spelled && `, ${spelled}`})`, "stepwise up --dry-run", options),
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
  reset: { api: "reset({ dangerouslyDropAllData: true })", cli: '"stepwise reset --yes"' } satisfies Spelled,
} as const;

/** A tagged template for a {@link Text}: `` text`run ${runCall("up", { to: 3 })} again` ``; strings and numbers become plain parts. */
export function text(strings: TemplateStringsArray, ...parts: readonly (string | number | Spelled | Text)[]): Text {
  return strings.flatMap((literal, index) => {
    if (index >= parts.length) return [literal];
    const part = parts[index]!;
    return [literal, ...(Array.isArray(part) ? (part as Text) : [typeof part === "object" ? (part as Spelled) : String(part)])];
  });
}

/** A text in one syntax. */
export function spell(value: Text | string, syntax: Syntax): string {
  return typeof value === "string" ? value : value.map((part) => (typeof part === "string" ? part : part[syntax])).join("");
}

const TEXTS: unique symbol = Symbol.for("stepwise.texts") as never;
type WithTexts = { [TEXTS]?: Record<string, TextField> };

function spellField(field: TextField, syntax: Syntax): unknown {
  return Array.isArray(field) ? spell(field as Text, syntax) : Object.fromEntries(Object.entries(field).map(([key, inner]) => [key, spell(inner as Text, syntax)]));
}

/** Keeps `field` of `target` in both spellings and returns it in the library's. */
export function keepText<T extends TextField>(target: object, field: string, value: T): T extends Text ? string : { readonly [K in keyof T]: string } {
  const holder = target as WithTexts;
  if (!Object.prototype.hasOwnProperty.call(holder, TEXTS)) Object.defineProperty(holder, TEXTS, { value: {}, enumerable: false });
  holder[TEXTS]![field] = value;
  return spellField(value, "api") as never;
}

/** Copies the texts kept for `from` onto `to` (plain data made from an error), and returns `to`. */
export function copyTexts<T extends object>(from: object, to: T): T {
  for (const [field, value] of Object.entries((from as WithTexts)[TEXTS] ?? {})) keepText(to, field, value);
  return to;
}

/** Rewrites `target`'s kept `field` (a {@link Text}, in both spellings) with `edit`; nothing when none is kept. */
export function rewordText(target: object, field: string, edit: (text: Text) => Text): void {
  const kept = (target as WithTexts)[TEXTS]?.[field];
  if (Array.isArray(kept)) keepText(target, field, edit(kept as Text));
}

/** `target`'s fields kept with {@link keepText}, spelled in `syntax`; empty when none was. */
export function spellFields(target: object, syntax: Syntax): Record<string, unknown> {
  return Object.fromEntries(Object.entries((target as WithTexts)[TEXTS] ?? {}).map(([field, value]) => [field, spellField(value, syntax)]));
}
