/**
 * Knex: its default migration source reads the folder's files with a loadable extension and sorts them by name as JavaScript compares strings (lodash's `sortBy`), so `10_b.js` runs before
 * `9_a.js`. `knex_migrations.name` is the file name with its extension. Knex requires both `up` and `down`, and runs each migration in a transaction unless it exports
 * `config = { transaction: false }`.
 */
import { KNEX_SERVING } from "./serve-knex.js";
import { closingBrace, extensionOf, findExport, isDeclarationFile, moduleMigration, readScript, reportCompiledCopies } from "./read-scripts.js";
import { lineAt, refuse, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

/** Knex's default `loadExtensions`. */
const LOADED = [".co", ".coffee", ".eg", ".iced", ".js", ".cjs", ".litcoffee", ".ls", ".ts"];
/** Languages Knex loads through their own compilers, which stepwise does not bundle. */
const COMPILED = [".co", ".coffee", ".eg", ".iced", ".litcoffee", ".ls"];

/** The reader `stepwise import --from knex` uses for Knex's migrations folder, read as the comment above says the tool reads it. */
export const knex: ForeignTool = {
  order: "by file name as JavaScript compares strings (so 10_b.js runs before 9_a.js), as Knex's default migration source sorts them",
  serve: KNEX_SERVING,
  read(source: SourceFolder): ForeignMigration[] {
    const files = source
      .list()
      .filter((entry) => entry.isFile() && LOADED.includes(extensionOf(entry.name)))
      // In the listing's order, which is lodash's sortBy's (it compares with < and >).
      .map((entry) => entry.name);
    reportCompiledCopies(source, files, "Knex");
    return files.flatMap((file): ForeignMigration[] => {
      if (COMPILED.includes(extensionOf(file)))
        return refuse(
          source,
          file,
          1,
          `a ${extensionOf(file).slice(1)} migration, which Knex compiles with that language's loader; compile it to JavaScript (keeping its file name's stem) and import again`,
        );
      if (isDeclarationFile(file)) return refuse(source, file, 1, "a TypeScript declaration file, which Knex would load as a migration and fail on; move it out of the migrations folder");
      const text = readScript(source, file, "Knex");
      if (text === null) return [];
      if (findExport(text, "up") === null) {
        const seed = findExport(text, "seed");
        if (seed !== null)
          return refuse(source, file, lineAt(text, seed.index), "a Knex seed (it exports seed), not a migration: seeds are not part of a migration history, so keep running them with knex seed:run");
        return refuse(source, file, 1, "no `up` export stepwise can find, and Knex refuses a migration without up and down functions; export them as `exports.up`/`export async function up`");
      }
      if (findExport(text, "down") === null) return refuse(source, file, 1, "no `down` export stepwise can find, and Knex refuses a migration without one (it checks both up and down)");
      const transaction = readTransactionConfig(source, file, text);
      if (transaction === null) return [];
      return [moduleMigration(file, file, { down: true, transaction })];
    });
  },
};

/**
 * Whether Knex ran the file in a transaction: `config.transaction`, when the file sets it to `true` or `false` as a literal. A config stepwise cannot read as a literal is refused at its line, since
 * it decides how Knex ran the migration; a project-wide `disableTransactions` is not in the folder and is not honoured.
 */
function readTransactionConfig(source: SourceFolder, file: string, text: string): boolean | null {
  const config = findExport(text, "config");
  if (config === null) return true;
  const object = configObjectOf(text, config.index);
  // Only the config object's own `transaction` decides: a key of that name elsewhere in the file (an inserted row's column) is not Knex's setting.
  const setting = object === null ? null : /(?:\btransaction|"transaction"|'transaction')\s*:\s*([^,}\s]+)/.exec(object);
  // No key at all is Knex's default; `{ transaction }` or a spread may set it in a way the text cannot say.
  if (object !== null && setting === null && !/\btransaction\b|\.\.\./.test(object)) return true;
  if (setting === null || (setting[1] !== "true" && setting[1] !== "false")) {
    source.report(
      file,
      lineAt(text, config.index),
      "a `config` export whose `transaction` stepwise cannot read as `true` or `false`; Knex decides from it whether the migration runs in a transaction, so write it as a literal",
    );
    return null;
  }
  return setting[1] === "true";
}

/** The text of the object literal `config` is set to, where it is exported (at `index`) or, for `export { config }` and `{ config }`, declared; `null` when it is not one. */
function configObjectOf(text: string, index: number): string | null {
  for (const from of [index, /\b(?:const|let|var)\s+config\b/.exec(text)?.index]) {
    if (from === undefined) continue;
    const word = /\bconfig\b/g;
    word.lastIndex = from;
    const at = word.exec(text)?.index;
    if (at === undefined) continue;
    // `config = {` or `config: Type = {` (TypeScript, whose type may hold braces of its own) where it is declared; `config: {` or `exports.config = {` elsewhere.
    const key = /^config["']?\s*[=:]\s*\{/.exec(text.slice(at));
    const open = /\b(?:const|let|var)\s+$/.test(text.slice(0, at)) ? valueAfterType(text, at + "config".length) : key && at + key[0].length - 1;
    if (open === null) continue;
    const end = closingBrace(text, open);
    if (end !== -1) return text.slice(open, end + 1);
  }
  return null;
}

/** Where the object literal a declaration is set to opens: after its `=`, the first outside the brackets of a type annotation (`=>` is part of a type); `null` when it is set to no literal. */
function valueAfterType(text: string, from: number): number | null {
  let depth = 0;
  for (let at = from; at < text.length; at++) {
    const char = text[at]!;
    if (char === "=" && text[at + 1] === ">") at++;
    else if ("{[(<".includes(char)) depth++;
    else if ("}])>".includes(char)) depth--;
    else if (char === ";" && depth === 0) return null;
    else if (char === "=" && depth === 0) {
      const value = /^\s*\{/.exec(text.slice(at + 1));
      return value && at + value[0].length;
    }
  }
  return null;
}
