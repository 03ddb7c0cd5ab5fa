/**
 * drizzle-kit: `meta/_journal.json` lists the migrations in order, each `<tag>.sql` beside `meta/`, with `--> statement-breakpoint` comments between statements (kept: to SQLite they are comments).
 * drizzle writes no downs. Its SQLite migrator runs the pending migrations in one transaction (where the `PRAGMA foreign_keys` lines of a table rebuild do nothing; the writer turns them into
 * `foreign_keys:off`).
 */
import { checkToolDialect, lineAt, refuse, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

const JOURNAL = "meta/_journal.json";

export const drizzle: ForeignTool = {
  order: "as meta/_journal.json lists them, which is how drizzle's migrator reads them",
  foreignKeysOff: false,
  read(source: SourceFolder, dialect): ForeignMigration[] {
    const text = source.read(JOURNAL);
    if (text === undefined) return refuse(source, JOURNAL, 1, "no journal; drizzle-kit writes meta/_journal.json beside the SQL files, and its order is the migrations' order");
    if (text === null) return [];
    let journal: { dialect?: unknown; entries?: unknown } | null;
    try {
      journal = JSON.parse(text) as typeof journal;
    } catch (error) {
      return refuse(source, JOURNAL, 1, `not valid JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(journal?.entries)) return refuse(source, JOURNAL, 1, 'no "entries" array');
    // drizzle-kit records the dialect it generated the SQL for.
    if (typeof journal.dialect === "string" && !checkToolDialect(source, JOURNAL, text, journal.dialect, dialect)) return [];
    return (journal.entries as ({ tag?: unknown; when?: unknown } | null)[]).flatMap((item, index): ForeignMigration[] => {
      const entry = item ?? {};
      const at = Math.max(0, text.indexOf(`"${String(entry.tag)}"`));
      if (typeof entry.tag !== "string" || !/^[\w.-]+$/.test(entry.tag)) return refuse(source, JOURNAL, lineAt(text, at), `entry ${index} has no usable "tag" (the SQL file's name without .sql)`);
      // drizzle's migrator records `when` as created_at and compares it to find what is pending: a made-up one would not match the database's.
      if (!Number.isSafeInteger(entry.when)) return refuse(source, JOURNAL, lineAt(text, at), `entry ${index} has no usable "when" (the time drizzle-kit generated it, in milliseconds)`);
      const file = `${entry.tag}.sql`;
      const sql = source.read(file);
      if (sql === undefined) return refuse(source, JOURNAL, lineAt(text, at), `entry ${index} names ${file}, which does not exist`);
      if (sql === null) return [];
      return [
        {
          id: entry.tag,
          name: entry.tag.replace(/^\d+_/, ""),
          up: { file, line: 1, sql },
          down: null,
          transaction: true,
          sources: [file],
          // drizzle records the SQL file's SHA-256 and the journal's `when`.
          history: { hash: source.hash(file), created_at: entry.when as number },
        },
      ];
    });
  },
};
