/**
 * node-pg-migrate: every file of the folder but hidden ones, ordered by the number its name starts with (17 digits read as a UTC time, as node-pg-migrate reads them), then by
 * `localeCompare` with numbers compared as numbers and punctuation ignored; `pgmigrations.name` is the file name without its extension. A `.sql` file holds `-- Up Migration` and
 * `-- Down Migration` sections and is imported as SQL; a script runs through node-pg-migrate's own MigrationBuilder. PostgreSQL only.
 */
import { tokenizeSql } from "../../src/shared/postgres-tokens.js";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { NODE_PG_MIGRATE_SERVING } from "./serve-node-pg-migrate.js";
import { extensionOf, findExport, moduleMigration, nameOf, readScript, SCRIPT_EXTENSIONS, stemOf } from "./read-scripts.js";
import { lineAt, refuse, reportDuplicates, sectionOf, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

/** node-pg-migrate's value of a file name's leading number. */
function numericPrefix(name: string): number | null {
  const prefix = /^\d+/.exec(name)?.[0];
  if (prefix === undefined) return null;
  if (prefix.length !== 17) return Number(prefix);
  const [year, month, day, hours, minutes, seconds, ms] = [0, 4, 6, 8, 10, 12, 14].map((at, index, all) => prefix.slice(at, all[index + 1] ?? 17));
  return new Date(`${year}-${month}-${day}T${hours}:${minutes}:${seconds}.${ms}Z`).valueOf();
}

/** node-pg-migrate's `compareMigrationFileNames`. */
function compareFileNames(a: string, b: string): number {
  return numericPrefix(a)! - numericPrefix(b)! || a.localeCompare(b, undefined, { usage: "sort", numeric: true, sensitivity: "variant", ignorePunctuation: true });
}

/** Where node-pg-migrate's SQL loader finds a section's comment. */
const sectionMarker = (direction: string) => new RegExp(String.raw`^\s*--[\s-]*${direction}\s+migration`, "im");

/** The reader `stepwise import --from node-pg-migrate` uses for node-pg-migrate's migrations folder, read as the comment above says the tool reads it. */
export const nodePgMigrate: ForeignTool = {
  order: "by the number each file name starts with (17 digits read as a UTC time), then by name with numbers compared as numbers, as node-pg-migrate orders them",
  serve: NODE_PG_MIGRATE_SERVING,
  read(source: SourceFolder, dialect): ForeignMigration[] {
    const files = source
      .list()
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);
    if (dialect !== "postgres" && files.length > 0)
      return refuse(source, "", 1, "node-pg-migrate migrates PostgreSQL only, and this project's dialect is sqlite; import into a PostgreSQL project (--dialect postgres)");
    for (const file of files) {
      if (numericPrefix(file) === null)
        source.report(file, 1, 'its name does not start with a number, which node-pg-migrate refuses ("Cannot determine numeric prefix"); move it out of the migrations folder');
      else if (Number.isNaN(numericPrefix(file))) source.report(file, 1, "its 17-digit prefix is not a valid UTC time, which node-pg-migrate cannot order; rename it");
    }
    if (source.problems.length > 0) return [];
    const scriptsBefore: string[] = [];
    const found = files.sort(compareFileNames).flatMap((file): (ForeignMigration & { key: string; file: string })[] => {
      const id = stemOf(file);
      const base = { key: id, file };
      // node-pg-migrate picks a loader by the extension lower-cased.
      if (extensionOf(file).toLowerCase() === ".sql") return readSqlFile(source, file, dialect);
      if (!SCRIPT_EXTENSIONS.includes(extensionOf(file).toLowerCase()))
        return refuse(source, file, 1, `a ${extensionOf(file) || "file without an extension"}, which node-pg-migrate cannot load as a migration; move it out of the migrations folder`);
      if (!SCRIPT_EXTENSIONS.includes(extensionOf(file)))
        return refuse(
          source,
          file,
          1,
          `the extension ${extensionOf(file)}, which node-pg-migrate loads but Node and bundlers do not know as JavaScript; rename it to ${extensionOf(file).toLowerCase()} first`,
        );
      const text = readScript(source, file, "node-pg-migrate");
      if (text === null) return [];
      if (findExport(text, "up") === null)
        return refuse(source, file, 1, "no `up` export stepwise can find, and node-pg-migrate refuses a migration without one; export it as `exports.up`/`export const up`");
      const down = findExport(text, "down");
      if (down !== null && down.literal === true)
        return refuse(source, file, lineAt(text, down.index), "`down = true`, which node-pg-migrate refuses; export a function, `false` (no down), or nothing (the reverse of up)");
      const noTransaction = /\.\s*noTransaction\s*\(/.exec(text);
      // Shorthands accumulate in file order: this file's wrapper brings every earlier one that exports some. node-pg-migrate's template exports `shorthands = undefined`, which adds none.
      const alsoImports = [...scriptsBefore];
      const shorthands = findExport(text, "shorthands") !== null && !/\bshorthands\b\s*(?::[^=;]+)?=\s*undefined\s*[;\n]/.test(text);
      if (shorthands) scriptsBefore.push(file);
      return [
        {
          ...moduleMigration(file, id, {
            // `down = false`: node-pg-migrate refuses to undo it; no down at all: it runs up in reverse mode.
            down: down?.literal !== false,
            transaction: noTransaction === null,
            module: { alsoImports: shorthands ? [...alsoImports, file] : alsoImports, options: { transaction: noTransaction === null } },
          }),
          ...base,
        },
      ];
    });
    reportDuplicates(source, found, "migration name");
    return found;
  },
};

/** An SQL migration as node-pg-migrate's SQL loader reads it: the up section from its comment to the down comment (or the whole file without one), the down section from its comment. */
function readSqlFile(source: SourceFolder, file: string, dialect: SqlDialect): (ForeignMigration & { key: string; file: string })[] {
  const id = stemOf(file);
  const text = source.read(file);
  if (typeof text !== "string") return [];
  const upMatch = sectionMarker("up").exec(text);
  const downMatch = sectionMarker("down").exec(text);
  const up = upMatch?.index ?? -1;
  const down = downMatch?.index ?? -1;
  // Past the marker comment, which PostgreSQL ends at a line feed or a lone carriage return (SQL after one ran): stepwise's own marker stands for it (and would read it as a near miss of one).
  const after = (match: RegExpExecArray) => {
    const end = match.index + match[0].length;
    const lineBreak = text.slice(end).search(/\r(?!\n)|\n/);
    return lineBreak === -1 ? text.length : end + lineBreak + (text[end + lineBreak] === "\n" ? 1 : 0);
  };
  // node-pg-migrate's reading: the up section runs from its comment to the down comment after it (or the end), the whole file without one; no down comment, no down.
  const upSection = upMatch ? sectionOf(file, text, after(upMatch), down < up ? text.length : down) : sectionOf(file, text, 0);
  const downSection = downMatch ? sectionOf(file, text, after(downMatch), up < down ? text.length : up) : null;
  const preamble = up > 0 && (down < 0 || down > up) ? sectionOf(file, text, 0, up) : null;
  // Comments there (a pg_dump header) are kept above the up marker, as comments; SQL there node-pg-migrate never ran.
  const commentsOnly = preamble !== null && tokenizeSql(preamble.sql, dialect).every((token) => token.kind === "whitespace" || token.kind.endsWith("comment"));
  if (preamble !== null && !commentsOnly) return refuse(source, file, 1, "SQL above `-- Up Migration`, which node-pg-migrate never runs; delete it or move it below the comment");
  return [
    {
      key: id,
      file,
      id,
      name: nameOf(file),
      ...(commentsOnly && preamble.sql.trim() !== "" && { preamble }),
      up: upSection,
      down: downSection,
      transaction: true,
      sources: [file],
      history: { name: id },
    },
  ];
}
