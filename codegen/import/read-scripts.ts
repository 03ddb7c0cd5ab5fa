/**
 * What the JavaScript tools' readers share: which files are scripts, what a script exports, read from its text (a migration is never run to import it), and the migration that wraps it. A
 * question the text cannot answer for sure is refused at its line rather than guessed.
 */
import { parseJson } from "../../src/shared/source-text.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { tryOr } from "../problems.js";
import { lineAt, type ForeignMigration, type ModuleMigration, type SourceFolder } from "./source.js";

/** The extensions the JavaScript tools load as modules (TypeScript through their loader, here through tsx or the app's bundler). */
export const SCRIPT_EXTENSIONS: readonly string[] = [".js", ".cjs", ".mjs", ".ts", ".cts", ".mts"];

/** A declaration file: no code, and no tool runs one. */
export const isDeclarationFile = (name: string) => /\.d\.[cm]?ts$/.test(name);

/** The extension of `name` as `path.extname` gives it, its case kept (Knex, Kysely and Umzug compare it as written). */
export function extensionOf(name: string): string {
  const at = name.lastIndexOf(".");
  return at <= 0 ? "" : name.slice(at);
}

/** `name` without its extension. */
export const stemOf = (name: string) => name.slice(0, name.length - extensionOf(name).length);

/**
 * Where `name` (`up`, `down`, `config`, `shorthands`…) is exported: `export function name`, `export const name =`, `exports.name =`, `module.exports.name =`, or a key of `module.exports = { … }` /
 * `export default { … }`; the export statement's index, and its value when that is written as `false`/`true`.
 */
export function findExport(text: string, name: string): { index: number; literal?: boolean } | null {
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
    const key = new RegExp(String.raw`(?:^|[{,\s])(?:async\s+)?(?:${name}|"${name}"|'${name}')\s*(?:\(|:\s*(true|false)?|,|\})`, "m").exec(text.slice(object.index));
    if (key) return { index: object.index + key.index, ...(key[1] === undefined ? {} : { literal: key[1] === "true" }) };
  }
  return null;
}

/** Where each bracket, brace and parenthesis open at `index` (in code, comments blanked) opens, outermost first; strings and templates are skipped whole, so a bracket in one is not counted. */
export function openBracketsAt(text: string, index: number): number[] {
  const open: number[] = [];
  for (let at = 0; at < index; at++) {
    const char = text[at]!;
    if (char === '"' || char === "'" || char === "`") at = endOfQuoted(text, at, char) - 1;
    else if (char === "{" || char === "(" || char === "[") open.push(at);
    else if (char === "}" || char === ")" || char === "]") open.pop();
  }
  return open;
}

/** Where the `}` closing the brace at `open` is (braces only counted), or -1. */
export function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let at = open; at < text.length; at++) {
    if (text[at] === "{") depth++;
    else if (text[at] === "}" && --depth === 0) return at;
  }
  return -1;
}

/**
 * The script's code with its comments blanked (each character a space, line breaks kept, so offsets and lines stay): an export, `config` or `noTransaction()` left in a comment is not code, and
 * reading it would change how the migration runs. Strings and template literals are kept; a `/` starts a regular expression where an expression may begin, as JavaScript parses it.
 */
function blankComments(text: string): string {
  let out = "";
  let at = 0;
  const blank = (part: string) => part.replace(/[^\n\r]/g, " ");
  while (at < text.length) {
    const char = text[at]!;
    const next = text[at + 1];
    let end = at + 1;
    if (char === "/" && next === "/") {
      const lineEnd = /[\n\r]/g;
      lineEnd.lastIndex = at;
      end = lineEnd.exec(text)?.index ?? text.length;
    } else if (char === "/" && next === "*") end = text.indexOf("*/", at + 2) < 0 ? text.length : text.indexOf("*/", at + 2) + 2;
    else if (char === '"' || char === "'" || char === "`") end = endOfQuoted(text, at, char);
    else if (char === "/" && /(?:^|[(,=:[!&|?{};+\-*%<>~^]|\breturn|\btypeof)\s*$/.test(out.slice(-40))) end = endOfQuoted(text, at, "/");
    out += char === "/" && (next === "/" || next === "*") ? blank(text.slice(at, end)) : text.slice(at, end);
    at = end;
  }
  return out;
}

/** Where the string, template or regular expression opened by `quote` at `start` ends (after its closing quote): escapes skipped, a template's `${…}` read as code to its matching brace. */
export function endOfQuoted(text: string, start: number, quote: string): number {
  let at = start + 1;
  let inClass = false;
  while (at < text.length) {
    const char = text[at]!;
    if (char === "\\") at += 2;
    // Only a template spans lines: a quote or regular expression misread (a regex after a parenthesis) ends at its line, so it cannot hide the rest of the file.
    else if (quote !== "`" && (char === "\n" || char === "\r")) return at;
    else if (quote === "/" && (char === "[" || char === "]")) {
      // A regular expression's character class may hold its delimiter unescaped.
      inClass = char === "[";
      at++;
    } else if (char === quote && !inClass) return at + 1;
    else if (quote === "`" && char === "$" && text[at + 1] === "{") {
      let depth = 0;
      at += 1;
      while (at < text.length) {
        const inner = text[at]!;
        if (inner === '"' || inner === "'" || inner === "`") at = endOfQuoted(text, at, inner);
        else {
          if (inner === "{") depth++;
          else if (inner === "}" && --depth === 0) break;
          at++;
        }
      }
      at++;
    } else at++;
  }
  return text.length;
}

/** Reads a script (its comments blanked, see {@link blankComments}) and refuses what no wrapper can import: unreadable files and TypeScript written for CommonJS only. */
export function readScript(source: SourceFolder, file: string, tool: string): string | null {
  const read = source.read(file);
  if (typeof read !== "string") return null;
  const text = blankComments(read);
  const esm = esModuleScope(source.dir, file);
  const commonJs = esm === null ? null : /\b(?:module\.exports\b|exports\.\w+\s*=(?!=))/.exec(text);
  if (esm !== null && commonJs !== null && !/^\s*export\b/m.test(text)) {
    // node-pg-migrate's loader (jiti) runs CommonJS wherever it is; the wrapper's static import is Node's (or the bundler's), which does not.
    const fix =
      tool === "node-pg-migrate" || esm.endsWith(" extension")
        ? `rename it to ${extensionOf(file).replace(/^\.m?/, ".c")} (node-pg-migrate records its name without the extension) or write it with \`export\``
        : 'add a package.json holding {"type": "commonjs"} to its folder (which keeps the file name the tool recorded) or write it with `export`';
    source.report(file, lineAt(text, commonJs.index), `CommonJS exports in a file Node loads as an ES module (${esm}), where they are not defined, so the wrapper's import fails; ${fix}`);
    return null;
  }
  // TypeScript that tsx cannot run as an ES module, which the wrapper's static import needs.
  const cjs = /^\s*(?:export\s*=|import\s+\w+\s*=\s*require\s*\()/m.exec(text);
  if (cjs !== null && /\.[cm]?ts$/i.test(file)) {
    source.report(
      file,
      lineAt(text, cjs.index + cjs[0].search(/\S/)),
      `TypeScript's CommonJS-only syntax (\`export =\` or \`import … = require()\`), which ${tool}'s loader compiled to CommonJS but the stepwise wrapper imports as an ES module; write it as \`export\`/\`import\` first`,
    );
    return null;
  }
  return text;
}

/** Why Node loads `file` (in `dir`) as an ES module: its `.mjs`/`.mts` extension, or a `.js`/`.ts` file's nearest package.json saying `"type": "module"`; `null` when it loads it as CommonJS. */
function esModuleScope(dir: string, file: string): string | null {
  if (/\.m[jt]s$/.test(file)) return `the ${extensionOf(file)} extension`;
  if (!/\.[jt]s$/.test(file)) return null;
  for (let folder = path.dirname(path.resolve(dir, file)); ; folder = path.dirname(folder)) {
    const manifest = path.join(folder, "package.json");
    const type = tryOr(() => (parseJson(readFileSync(manifest, "utf8")) as { type?: unknown }).type ?? "commonjs", undefined);
    if (type !== undefined) return type === "module" ? `${path.relative(path.resolve(dir), manifest).split(path.sep).join("/")} says "type": "module"` : null;
    if (path.dirname(folder) === folder) return null;
  }
}

/**
 * Reports a script beside another of its name but for the extension (`1_a.ts` and `1_a.js`): a compiled copy next to its source, which Knex and Umzug would each run as a migration of its
 * own; the tool's history then records one of them, and stepwise cannot tell which.
 */
export function reportCompiledCopies(source: SourceFolder, files: readonly string[], tool: string): void {
  const seen = new Map<string, string>();
  for (const file of files) {
    const first = seen.get(stemOf(file));
    if (first === undefined) seen.set(stemOf(file), file);
    else
      source.report(
        file,
        1,
        `${first} has this file's name but for the extension, a compiled copy beside its source, and ${tool} would run each as a migration of its own; keep one of them in the folder (the one ${tool} ran) and import again`,
      );
  }
}

/** The migration that wraps one script, which the tool records under `id`; `down` says whether the tool has a down for it. */
export function moduleMigration(file: string, id: string, run: { down: boolean; transaction: boolean; module?: Omit<ModuleMigration, "file"> }): ForeignMigration {
  const section = { file, line: 1, sql: "" };
  return { id, name: nameOf(file), up: section, down: run.down ? section : null, transaction: run.transaction, sources: [file], history: { name: id }, module: { file, ...run.module } };
}

/** The words of a migration's name: the file name without its extension and leading version. */
export function nameOf(file: string): string {
  const base = stemOf(file);
  // A dated version (20240101_120000_, Umzug's 2024.01.01T00.00.00., 20230309T045948368Z-) is all version; a number that starts a word (1_2fa) is not. A name that is all
  // version (a release's 2.2.17) keeps it whole, not its last part.
  return base.replace(/^\d+(?:(?:[-_.]|T(?=\d))\d+Z?(?=[-_.\sT]|$))*[-_.\s]*/, "") || base;
}
