/**
 * Kysely: `FileMigrationProvider` loads the folder's `.js`, `.ts`, `.mjs` and `.mts` files (declarations left out) that export `up` (by name or on their default export), each named by its file
 * name without the extension, and the `Migrator` runs them in the order `Object.keys(…).sort()` gives their names (UTF-16 code units: `002_Create` before `002_add`; its `nameComparator`, by
 * default `localeCompare`, only orders executed migrations of one timestamp). On PostgreSQL it runs them in a transaction (its adapter supports transactional DDL); on SQLite, whose adapter
 * does not, on one connection outside any, so `db.transaction()` and `PRAGMA foreign_keys` work there. `kysely_migration.name` is
 * that name, or the key an index module of the folder lists the file under (see kysely-index.ts).
 */
import { compareText } from "../problems.js";
import { KYSELY_SERVING } from "./serve-kysely.js";
import { closingBrace, endOfQuoted, extensionOf, findExport, isDeclarationFile, moduleMigration, openBracketsAt, readScript, stemOf } from "./read-scripts.js";
import { findProviderParameter, readKyselyIndex } from "./kysely-index.js";
import { lineAt, refuse, reportDuplicates, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

const LOADED = [".js", ".ts", ".mjs", ".mts"];

/** The reader `stepwise import --from kysely` uses for Kysely's migrations folder, read as the comment above says the tool reads it. */
export const kysely: ForeignTool = {
  order: "by name (the file name without its extension) as JavaScript's default sort orders strings (so 002_Create_posts runs before 002_add_email), as Kysely's Migrator sorts them",
  serve: KYSELY_SERVING,
  read(source: SourceFolder, dialect): ForeignMigration[] {
    const helpers: { file: string; text: string }[] = [];
    const found = source.list().flatMap((entry): (ForeignMigration & { key: string; file: string; text: string })[] => {
      const file = entry.name;
      if (!entry.isFile() || !LOADED.includes(extensionOf(file)) || isDeclarationFile(file)) return [];
      const text = readScript(source, file, "Kysely");
      if (text === null) return [];
      // FileMigrationProvider leaves out a module without `up`: a helper beside the migrations.
      if (findExport(text, "up") === null) {
        // A definition of `up` at the top of the module (or one level in: an object or destructuring exported some way the text cannot place) is a sign it may be exported, and so
        // is a module whose exports the text cannot list (`export *`, `module.exports =` a value); an `up` deeper in (a factory's returned object) is a helper's.
        // `export * as name` exports one name, not `up`; an `up` in a type (an interface of the project's provider) is no value.
        const types = typeBodiesOf(text);
        const defined = [...text.matchAll(/\bup\s*[:=(,}]|\bexport\s*\*(?!\s*as\b)|\bmodule\.exports\s*=\s*(?!\{)/g)].find(
          (match) => openBracketsAt(text, match.index).length < 2 && !types.some(([start, end]) => match.index > start && match.index < end),
        );
        const entry = findProviderEntry(text, types);
        if (entry)
          source.report(
            file,
            lineAt(text, entry.index),
            `a MigrationProvider holding its migrations in this one file, each recorded by the Migrator under its key, which import reads only as one file per migration; move each into a file named by its key (${entry.key === null ? "the key getMigrations returns it under" : `${entry.key}.ts for this one`}, exporting its up and down) in a folder of their own, and import that folder`,
          );
        else if (defined)
          source.report(
            file,
            lineAt(text, defined.index),
            "stepwise cannot tell from the text whether this file exports `up` (Kysely runs it only if it does); a migration: export it as `export async function up`; a helper: move it out of the folder",
          );
        else helpers.push({ file, text });
        return [];
      }
      const key = stemOf(file);
      return [{ ...moduleMigration(file, key, { down: findExport(text, "down") !== null, transaction: dialect !== "sqlite" }), key, file, text }];
    });
    const migrationFiles = found.map((migration) => migration.file);
    const indexes = helpers.flatMap((helper) => readKyselyIndex(source, helper.file, helper.text, migrationFiles) ?? []);
    if (indexes.length > 1)
      return refuse(
        source,
        indexes[1]!.file,
        1,
        `a second Kysely migration index beside ${indexes[0]!.file}; stepwise cannot tell which one the project's Migrator reads, so keep one of them in the folder`,
      );
    const names = indexes[0]?.names;
    // A provider of the project's reads the index, and may call up with more than db; stepwise calls it as Kysely's Migrator does.
    if (indexes.length === 1)
      for (const migration of found) {
        const parameter = findProviderParameter(migration.text);
        if (parameter !== null)
          source.report(
            migration.file,
            lineAt(migration.text, parameter.index),
            `its up or down takes a second parameter (${parameter.name}), which Kysely's Migrator never passes: the project's provider, reading ${indexes[0]!.file}, fills it, and stepwise calls it with db alone as the Migrator does, so it would run with undefined there; read that value some other way in the migration (or drop the parameter) and import again`,
          );
      }
    // The index's names are what the Migrator recorded and sorted; the file stays what the wrapper imports.
    const named =
      names === undefined
        ? found
        : found.flatMap((migration) =>
            names.has(migration.file) ? [{ ...migration, id: names.get(migration.file)!, key: names.get(migration.file)!, history: { name: names.get(migration.file)! } }] : [],
          );
    // Two files of one name (a.js and a.ts): Kysely keeps whichever it read last.
    reportDuplicates(source, named, "migration name");
    return named.sort((a, b) => compareText(a.key, b.key) || compareText(a.file, b.file));
  },
};

/** A call of another migration's up: `.up(`, `.up?.(`, `.up.call(`, `.up.apply(`, `["up"](`. */
const FORWARDS_UP = /\.\s*up\s*(?:\?\.\s*)?(?:\(|\.\s*(?:call|apply)\b)|\[\s*(["'`])up\1\s*\]/;

/** Where the property value that starts at `start` ends: the first `,` or closing bracket outside brackets and strings. */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let at = start; at < text.length; at++) {
    const char = text[at]!;
    if (char === '"' || char === "'" || char === "`") at = endOfQuoted(text, at, char) - 1;
    else if (char === "{" || char === "(" || char === "[") depth++;
    else if (char === "}" || char === ")" || char === "]") {
      if (depth === 0) return at;
      depth--;
    } else if (char === "," && depth === 0) return at;
  }
  return text.length;
}

/** Where each `interface X { … }` and `type X = { … }` body of the module starts and ends: types, whose members are not exported values. */
function typeBodiesOf(text: string): [number, number][] {
  return [...text.matchAll(/\b(?:interface\s+[\w$]+[^{;=]*|type\s+[\w$]+\s*(?:<[^=]*>)?\s*=\s*)\{/g)].flatMap((match): [number, number][] => {
    const start = match.index + match[0].length - 1;
    const end = closingBrace(text, start);
    return end === -1 ? [] : [[start, end]];
  });
}

/**
 * A MigrationProvider of the project's (a file defining `getMigrations`) that holds migrations itself, in whatever shape (`migrations['001'] = {…}` as the AT Protocol feed generator template
 * does, `migrations.m001 = {…}`, an object literal `{ '001': {…} }`): the Migrator records each under its key, and there is no file per migration to wrap. Where the first `up` it defines
 * (a function, not `up: other.up`, which is a listing of migrations kept elsewhere) is, and the key of the entry it is in when the text names one; `null` for any other file.
 */
function findProviderEntry(text: string, types: readonly [number, number][]): { index: number; key: string | null } | null {
  if (!/(?<![.\w$])getMigrations\s*[(:=]/.test(text)) return null;
  const definitions = [...text.matchAll(/(?<![.\w$])up\s*(?:\(|[:=]\s*(?:async\b|function\b|\())/g)].filter((match) => !types.some(([start, end]) => match.index > start && match.index < end));
  // An up whose own value calls another up (`up: (db) => migration.up(db, ctx)`, `migration["up"]`, `.up.call`) hands on a migration kept elsewhere: a provider that wraps the folder's
  // files, a helper. Only its own value is read: a sibling down that calls one says nothing of it.
  const entryOf = (index: number) => openBracketsAt(text, index).at(-1) ?? -1;
  const up = definitions.find((match) => !FORWARDS_UP.test(text.slice(match.index, valueEnd(text, match.index))));
  if (up === undefined) return null;
  const open = entryOf(up.index);
  const before = text.slice(0, Math.max(0, open));
  const key =
    /\[\s*(["'`])([^"'`]+)\1\s*\]\s*=\s*$/.exec(before)?.[2] ??
    /\.\s*([A-Za-z_$][\w$]*)\s*=\s*$/.exec(before)?.[1] ??
    /[{,]\s*(?:(["'`])([^"'`]+)\1|([A-Za-z_$][\w$]*))\s*:\s*$/
      .exec(before)
      ?.slice(2)
      .find((name) => name !== undefined) ??
    null;
  return { index: key === null ? up.index : open, key };
}
