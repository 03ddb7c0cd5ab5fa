/**
 * drizzle-kit: `meta/_journal.json` lists the migrations in order, each `<tag>.sql` beside `meta/`, with `--> statement-breakpoint` comments between statements (kept: to SQLite they are comments).
 * drizzle writes no downs. Its SQLite migrator runs the pending migrations in one transaction (where the `PRAGMA foreign_keys` lines of a table rebuild do nothing; the writer turns them into
 * `foreign_keys:off`).
 */
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { splitSqlStatements, tokenizeSql } from "../../src/shared/postgres-tokens.js";
import { checkToolDialect, lineAt, lineEndingChecksums, refuse, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

const JOURNAL = "meta/_journal.json";

/** The reader `stepwise import --from drizzle` uses for drizzle-kit's migrations folder, read as the comment above says the tool reads it. */
export const drizzle: ForeignTool = {
  order: "as meta/_journal.json lists them, which is how drizzle's migrator reads them",
  transactionControlFix:
    "drizzle's migrator runs every file inside one transaction of its own; stepwise runs a file that ends it with COMMIT outside a transaction, and on SQLite only when, as drizzle's own run needs, no BEGIN comes before that COMMIT and its last transaction statement is a BEGIN (it opens the transaction drizzle's closing COMMIT ends); give the file that shape, or take its other transaction statements out, and import again",
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
      const outside = leaveMigratorTransaction(sql, dialect);
      return [
        {
          id: entry.tag,
          name: entry.tag.replace(/^\d+_/, ""),
          up: { file, line: 1, sql: outside ?? sql },
          down: null,
          transaction: outside === null,
          sources: [file],
          history: { hash: source.hash(file), created_at: entry.when as number },
          // drizzle never checks the hash of a migration it applied, so the same file checked out with other line endings (git's core.autocrlf) still stands for it.
          accepted: { hash: lineEndingChecksums(source, file) },
        },
      ];
    });
  },
};

/**
 * A file that ends drizzle's transaction (`COMMIT`) ran from there outside it: on PostgreSQL (after an `ALTER TYPE … ADD VALUE` the rest uses) its other statements as written, where a `COMMIT`
 * outside a transaction only warns; on SQLite one that commits and opens one last (`COMMIT; PRAGMA foreign_keys = OFF; BEGIN; … COMMIT; PRAGMA foreign_keys = ON; BEGIN; …`, written by hand
 * so that the pragmas take effect), its own `BEGIN … COMMIT` included, and the statements before its first `COMMIT` each on its own, as the rest. A last `BEGIN` only opens a transaction for the
 * migrator's `COMMIT`; what follows it runs on its own, as it committed with that transaction. The SQL to run outside stepwise's transaction, with those statements that only end or reopen drizzle's as comments; `null` for a file that ran inside drizzle's transaction.
 */
function leaveMigratorTransaction(sql: string, dialect: SqlDialect): string | null {
  const statements = splitSqlStatements(tokenizeSql(sql, dialect), dialect)
    .map(({ tokens }) => tokens.filter((token) => token.text !== ";"))
    .filter((tokens) => tokens.length > 0);
  const word = (tokens: (typeof statements)[number] | undefined) => tokens?.[0]!.text.toUpperCase() ?? "";
  const ends = (tokens: (typeof statements)[number] | undefined) => ["COMMIT", "END"].includes(word(tokens));
  const first = statements.findIndex(ends);
  // The transaction drizzle's closing COMMIT ends is the one the file's last BEGIN opens, when no COMMIT follows it: what comes after it ran in that transaction.
  const last = statements.findLastIndex((tokens) => ends(tokens) || word(tokens) === "BEGIN");
  const reopens = first !== -1 && last > first && word(statements[last]) === "BEGIN";
  // On SQLite drizzle's run takes the file only in that shape: a BEGIN before the first COMMIT fails inside its transaction, a COMMIT not reopened leaves none for its own COMMIT.
  const sqliteShape = reopens && !statements.slice(0, first).some((tokens) => word(tokens) === "BEGIN");
  if (dialect === "sqlite" ? !sqliteShape : first === -1) return null;
  const comment = (text: string, tokens: (typeof statements)[number]) => {
    const [from, to] = [tokens[0]!.offset, tokens.at(-1)!.offset + tokens.at(-1)!.text.length];
    return `${text.slice(0, from)}/* ${text.slice(from, to).replaceAll("*/", "* /")} */${text.slice(to)}`;
  };
  const reopened = reopens ? comment(sql, statements[last]!) : sql;
  return dialect === "sqlite" ? comment(reopened, statements[first]!) : reopened;
}
