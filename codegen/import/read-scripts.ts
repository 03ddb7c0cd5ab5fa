/**
 * What the JavaScript tools' readers share: which files are scripts, what a script exports, read from its text (a migration is never run to import it), and the migration that wraps it. A
 * question the text cannot answer for sure is refused at its line rather than guessed.
 */
import { lineAt, type ForeignMigration, type ModuleMigration, type SourceFolder } from "./source.js";

/** The extensions the JavaScript tools load as modules (TypeScript through their loader, here through tsx or the app's bundler). */
export const SCRIPT_EXTENSIONS = [".js", ".cjs", ".mjs", ".ts", ".cts", ".mts"] as const;

/** A declaration file: no code, and no tool runs one. */
export const isDeclarationFile = (name: string) => /\.d\.[cm]?ts$/.test(name);

/** The extension of `name` as `path.extname` gives it, its case kept (Knex, Kysely and Umzug compare it as written). */
export function extensionOf(name: string): string {
  const at = name.lastIndexOf(".");
  return at <= 0 ? "" : name.slice(at);
}

/** How the script exports `name` (`up`, `down`, `config`, `shorthands`…): the export statement's index, and its value when that is written as `false`/`true`. */
export interface ExportFound {
  readonly index: number;
  readonly literal?: boolean;
}

/** Where `name` is exported: `export function name`, `export const name =`, `exports.name =`, `module.exports.name =`, or a key of `module.exports = { … }` / `export default { … }`. */
export function findExport(text: string, name: string): ExportFound | null {
  const patterns = [
    new RegExp(String.raw`\bexport\s+(?:async\s+)?function\s*\*?\s*${name}\b`),
    new RegExp(String.raw`\bexport\s+(?:const|let|var)\s+${name}\b\s*(?::[^=]+)?=\s*(true|false)?`),
    new RegExp(String.raw`\b(?:module\.)?exports\.${name}\s*=(?!=)\s*(true|false)?`),
    new RegExp(String.raw`\bexport\s*\{[^}]*\b${name}\b[^}]*\}`),
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match) return { index: match.index, ...(match[1] === undefined ? {} : { literal: match[1] === "true" }) };
  }
  const object = /\b(?:module\.exports\s*=|export\s+default)\s*\{/.exec(text);
  if (object) {
    const key = new RegExp(String.raw`(?:^|[{,\s])(?:async\s+)?${name}\s*(?:\(|:\s*(true|false)?|,|\})`, "m").exec(text.slice(object.index));
    if (key) return { index: object.index + key.index, ...(key[1] === undefined ? {} : { literal: key[1] === "true" }) };
  }
  return null;
}

/** TypeScript that tsx cannot run as an ES module (`export =`, `import x = require()`), which the wrapper's static import needs; the line, or `null`. */
export function findCommonJsTypeScript(text: string): number | null {
  const match = /^\s*(?:export\s*=|import\s+\w+\s*=\s*require\s*\()/m.exec(text);
  return match === null ? null : lineAt(text, match.index + match[0].search(/\S/));
}

/** Reads a script and refuses what no wrapper can import: unreadable files and TypeScript written for CommonJS only. */
export function readScript(source: SourceFolder, file: string, tool: string): string | null {
  const text = source.read(file);
  if (typeof text !== "string") return null;
  const cjs = findCommonJsTypeScript(text);
  if (cjs !== null && /\.[cm]?ts$/i.test(file)) {
    source.report(
      file,
      cjs,
      `TypeScript's CommonJS-only syntax (\`export =\` or \`import … = require()\`), which ${tool}'s loader compiled to CommonJS but the stepwise wrapper imports as an ES module; write it as \`export\`/\`import\` first`,
    );
    return null;
  }
  return text;
}

/** The migration that wraps one script; `down` says whether the tool has a down for it. */
export function moduleMigration(input: {
  file: string;
  id: string;
  name: string;
  down: boolean;
  transaction: boolean;
  history: Readonly<Record<string, string | number>>;
  module?: Omit<ModuleMigration, "file">;
}): ForeignMigration {
  const section = { file: input.file, line: 1, sql: "" };
  return {
    id: input.id,
    name: input.name,
    up: section,
    down: input.down ? section : null,
    transaction: input.transaction,
    sources: [input.file],
    history: input.history,
    module: { file: input.file, ...input.module },
  };
}

/** The words of a migration's name: the file name without its extension and leading version. */
export function nameOf(file: string): string {
  const base = file.slice(0, file.length - extensionOf(file).length);
  return base.replace(/^\d+[-_.]*/, "") || base;
}
