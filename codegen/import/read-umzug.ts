/**
 * Umzug: the migrations its `glob` finds, sorted by path (`Array.prototype.sort`, so by file name as JavaScript compares strings within one folder), each named by its file name with the
 * extension, which SequelizeStorage's `SequelizeMeta.name` and JSONStorage's array record. Import reads every script directly in the folder, as a glob of `<dir>/*.{js,cjs,mjs,ts,cts,mts}` finds
 * them, or with `--glob` the files the project's own glob matches (a template beside the migrations is not one); Umzug runs no transaction, and each migration gets `{ name, path, context }`, where stepwise serves the driver connection as `context`.
 */
import { globToRegExp } from "./glob-pattern.js";
import { UMZUG_SERVING } from "./serve-umzug.js";
import { extensionOf, findExport, isDeclarationFile, moduleMigration, readScript, reportCompiledCopies, SCRIPT_EXTENSIONS } from "./read-scripts.js";
import { lineAt, refuse, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

/** A context stepwise cannot serve: Sequelize's QueryInterface (the context of sequelize-cli style migrations) and Sequelize itself. */
const SEQUELIZE = /\bqueryInterface\b|\bQueryInterface\b|\bSequelize\b|\bsequelize\b/;

/** The reader `stepwise import --from umzug` uses for Umzug's migrations folder, read as the comment above says the tool reads it. */
export const umzug: ForeignTool = {
  order: "by file name as JavaScript compares strings (Umzug sorts its glob's paths with Array.prototype.sort)",
  serve: UMZUG_SERVING,
  read(source: SourceFolder, _dialect, options = {}): ForeignMigration[] {
    const pattern = options.glob === undefined ? null : globToRegExp(options.glob);
    // The project's glob decides which files are migrations: what it leaves out (a template, a helper) Umzug never ran.
    const entries = source.list().filter((entry) => entry.isFile() && (pattern === null || pattern.test(entry.name)));
    const files = entries.map((entry) => entry.name).filter((file) => SCRIPT_EXTENSIONS.includes(extensionOf(file)) && !isDeclarationFile(file));
    for (const entry of entries)
      if (extensionOf(entry.name) === ".sql")
        source.report(
          entry.name,
          1,
          "a .sql file, which Umzug runs only through a resolver of the project's own (its default resolver refuses SQL); stepwise cannot know what that resolver did, so port it to a script or a stepwise .sql migration",
        );
    reportCompiledCopies(source, files, "Umzug");
    return files.flatMap((file): ForeignMigration[] => {
      const text = readScript(source, file, "Umzug");
      if (text === null) return [];
      const sequelize = SEQUELIZE.exec(text);
      if (sequelize !== null)
        return refuse(
          source,
          file,
          lineAt(text, sequelize.index),
          "a migration for Sequelize's QueryInterface as its context, which stepwise cannot serve (it serves the driver connection as context); port it to SQL or to the connection first",
        );
      if (findExport(text, "up") === null)
        return refuse(
          source,
          file,
          1,
          "no `up` export stepwise can find, which Umzug's default resolver requires; export it as `export async function up`/`exports.up`, or, if the project's glob leaves this file out (a helper, an index, a template), pass that glob as --glob",
        );
      return [moduleMigration(file, file, { down: findExport(text, "down") !== null, transaction: false })];
    });
  },
};
