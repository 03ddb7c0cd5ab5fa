/**
 * A Kysely folder whose migrations an index module lists under names of its own (`export default { "001": m001 }` after `import * as m001 from "./001-init.js"`, or
 * `export * as _001 from "./001-init.js"`): the project hands that object to its Migrator through a provider of its own, because FileMigrationProvider's `import()` does not
 * survive a bundler. The Migrator then records and orders the index's keys, not the file names, so import must read them from the index.
 */
import { closingBrace, extensionOf, stemOf } from "./read-scripts.js";
import { lineAt, type SourceFolder } from "./source.js";

/** A specifier's quoted text, and the identifier or quoted key before it. */
const KEY = String.raw`(?:"([^"]+)"|'([^']+)'|([A-Za-z_$][\w$]*))`;

/**
 * Reads `text` (comments blanked) as an index of the sibling migrations in `migrationFiles`: the name each of them is listed under, or `null` when the module exports none of them
 * (a helper, even one that imports a migration). A listing stepwise cannot read whole (a value that is not an imported module, a migration listed twice or not at all) is reported at its line, and gives an empty map.
 */
export function readKyselyIndex(source: SourceFolder, file: string, text: string, migrationFiles: readonly string[]): { file: string; names: ReadonlyMap<string, string> } | null {
  const resolve = (specifier: string) => resolveSibling(specifier, migrationFiles);
  const names = new Map<string, string>();
  const problems: { index: number; message: string }[] = [];
  const list = (name: string, target: string, index: number) => {
    if (names.has(target)) problems.push({ index, message: `${target} is listed twice (as ${names.get(target)} and ${name}), so Kysely's Migrator runs it twice; list it once and import again` });
    else names.set(target, name);
  };
  // `export * as name from "./file.js"`: the module's namespace, whose keys are these names.
  for (const match of text.matchAll(new RegExp(String.raw`\bexport\s*\*\s*as\s+${KEY}\s+from\s*["']([^"']+)["']`, "g"))) {
    const target = resolve(match[4]!);
    if (target !== null) list(match[1] ?? match[2] ?? match[3]!, target, match.index);
  }
  // `import * as local from "./file.js"` (or a default import of a CommonJS-style module), then an exported object literal `{ name: local }`.
  const locals = new Map<string, string>();
  for (const match of text.matchAll(/\bimport\s+(?:\*\s*as\s+)?([A-Za-z_$][\w$]*)\s+from\s*["']([^"']+)["']/g)) {
    const target = resolve(match[2]!);
    if (target !== null) locals.set(match[1]!, target);
  }
  // Only an exported object with an entry that is an imported migration lists migrations; one holding other values (a helper's, reading a migration's constants) lists none.
  const objects = locals.size === 0 ? [] : exportedObjectsOf(text).filter((object) => object.entries.some((entry) => entry.value !== null && locals.has(entry.value)));
  for (const object of objects)
    for (const entry of object.entries) {
      const target = entry.value === null ? undefined : locals.get(entry.value);
      if (target === undefined)
        problems.push({
          index: object.at + entry.index,
          message: `stepwise cannot tell which migration file the entry ${entry.key} names (its value is not a module this file imports from the folder); write it as \`${entry.key}: module\``,
        });
      else list(entry.key, target, object.at + entry.index);
    }
  if (names.size === 0 && problems.length === 0) return null;
  for (const migration of migrationFiles)
    if (!names.has(migration) && migration !== file)
      problems.push({
        index: 0,
        message: `it lists the folder's migrations under names of its own, but not ${migration}, which the project's Migrator therefore never ran; add it to the index, or move it out of the folder`,
      });
  for (const problem of problems) source.report(file, lineAt(text, Math.max(0, problem.index)), `a Kysely migration index: ${problem.message}`);
  return { file, names: problems.length > 0 ? new Map() : names };
}

/** The folder's migration file a relative specifier names (`./001-init.js` is `001-init.ts` too, as TypeScript resolves it), or `null`. */
function resolveSibling(specifier: string, files: readonly string[]): string | null {
  if (!specifier.startsWith("./") || specifier.slice(2).includes("/")) return null;
  const name = specifier.slice(2);
  if (files.includes(name)) return name;
  const twin: Record<string, string> = { ".js": ".ts", ".mjs": ".mts", ".cjs": ".cts" };
  const candidates = extensionOf(name) === "" ? files.filter((file) => stemOf(file) === name) : [`${stemOf(name)}${twin[extensionOf(name)] ?? ""}`];
  return candidates.find((candidate) => files.includes(candidate)) ?? null;
}

/** The object literals the module exports (`export default {`, `export const x = {`, `module.exports = {`): each one's entries, and where its body starts. */
function exportedObjectsOf(text: string): { entries: ReturnType<typeof entriesOf>; at: number }[] {
  return [...text.matchAll(/\b(?:export\s+default|export\s+(?:const|let|var)\s+[\w$]+\s*(?::[^=]+)?=|module\.exports\s*=)\s*\{/g)].flatMap((open) => {
    const start = open.index + open[0].length;
    const end = closingBrace(text, start - 1);
    return end === -1 ? [] : [{ entries: entriesOf(text.slice(start, end)), at: start }];
  });
}

/** The object literal's entries, `key: identifier` or shorthand `key`; a value that is not a bare identifier is `null`. */
function entriesOf(body: string): { key: string; value: string | null; index: number }[] {
  const entries: { key: string; value: string | null; index: number }[] = [];
  let at = 0;
  for (const part of body.split(",")) {
    const match = new RegExp(String.raw`^\s*${KEY}\s*(?::\s*([\s\S]*?))?\s*$`).exec(part);
    const lead = part.search(/\S/);
    if (lead >= 0) {
      const key = match === null ? part.trim() : (match[1] ?? match[2] ?? match[3]!);
      const value = match === null ? null : match[4] === undefined ? (match[3] ?? null) : /^[A-Za-z_$][\w$]*$/.test(match[4]) ? match[4] : null;
      entries.push({ key, value, index: at + lead });
    }
    at += part.length + 1;
  }
  return entries;
}

/**
 * The second parameter `up` or `down` declares (`up(db, dialect)`), and where: Kysely's Migrator calls them with `db` alone, so only a provider of the project's fills it, and stepwise, which
 * calls them as the Migrator does, would pass `undefined` there. `null` when each takes at most `db`, or when the text does not say.
 */
export function findProviderParameter(text: string): { name: string; index: number } | null {
  for (const name of ["up", "down"]) {
    const start = new RegExp(String.raw`\bexport\s+(?:async\s+)?function\s*${name}\s*(?:<[^>]*>)?\s*\(|\bexport\s+(?:const|let|var)\s+${name}\b[^=]*=\s*(?:async\s*)?\(`).exec(text);
    if (start === null) continue;
    const open = start.index + start[0].length;
    let depth = 1;
    let at = open;
    const commas: number[] = [];
    for (; at < text.length && depth > 0; at++) {
      const char = text[at]!;
      if ("([{<".includes(char)) depth++;
      else if (")]}>".includes(char) && !(char === ">" && text[at - 1] === "=")) depth--;
      else if (char === "," && depth === 1) commas.push(at);
    }
    const second = commas.length === 0 ? "" : text.slice(commas[0]! + 1, commas[1] ?? at - 1).trim();
    const parameter = /^(?:\.\.\.)?([A-Za-z_$][\w$]*|\{|\[)/.exec(second);
    if (parameter !== null) return { name: parameter[1]!, index: commas[0]! + 1 + text.slice(commas[0]! + 1).search(/\S/) };
  }
  return null;
}
