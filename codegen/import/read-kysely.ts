/**
 * Kysely: `FileMigrationProvider` loads the folder's `.js`, `.ts`, `.mjs` and `.mts` files (declarations left out) that export `up` (by name or on their default export), each named by its file
 * name without the extension, and the `Migrator` runs them in the order `Object.keys(…).sort()` gives their names (UTF-16 code units: `002_Create` before `002_add`; its `nameComparator`, by
 * default `localeCompare`, only orders executed migrations of one timestamp), each in a transaction on SQLite and PostgreSQL (their adapters support transactional DDL). `kysely_migration.name` is
 * that name.
 */
import { compareText } from "../problems.js";
import { KYSELY_SERVING } from "./serve-kysely.js";
import { extensionOf, findExport, isDeclarationFile, moduleMigration, nameOf, nestingAt, readScript } from "./read-scripts.js";
import { lineAt, reportDuplicates, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

const LOADED = [".js", ".ts", ".mjs", ".mts"];

export const kysely: ForeignTool = {
  order: "by name (the file name without its extension) as JavaScript's default sort orders strings (so 002_Create_posts runs before 002_add_email), as Kysely's Migrator sorts them",
  foreignKeysOff: false,
  serve: KYSELY_SERVING,
  read(source: SourceFolder): ForeignMigration[] {
    const found = source.list().flatMap((entry): (ForeignMigration & { key: string; file: string })[] => {
      const file = entry.name;
      if (!entry.isFile() || !LOADED.includes(extensionOf(file)) || isDeclarationFile(file)) return [];
      const text = readScript(source, file, "Kysely");
      if (text === null) return [];
      // FileMigrationProvider leaves out a module without `up`: a helper beside the migrations.
      if (findExport(text, "up") === null) {
        // A definition of `up` at the top of the module (or one level in: an object or destructuring exported some way the text cannot place) is a sign it may be exported, and so
        // is a module whose exports the text cannot list (`export *`, `module.exports =` a value); an `up` deeper in (a factory's returned object) is a helper's.
        const defined = [...text.matchAll(/\bup\s*[:=(,}]|\bexport\s*\*|\bmodule\.exports\s*=\s*(?!\{)/g)].find((match) => nestingAt(text, match.index) < 2);
        if (defined)
          source.report(
            file,
            lineAt(text, defined.index),
            "stepwise cannot tell from the text whether this file exports `up` (Kysely runs it only if it does); a migration: export it as `export async function up`; a helper: move it out of the folder",
          );
        return [];
      }
      const key = file.slice(0, file.lastIndexOf("."));
      return [{ ...moduleMigration({ file, id: key, name: nameOf(file), down: findExport(text, "down") !== null, transaction: true, history: { name: key } }), key, file }];
    });
    // Two files of one name (a.js and a.ts): Kysely keeps whichever it read last.
    reportDuplicates(source, found, "migration name");
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : compareText(a.file, b.file)));
  },
};
