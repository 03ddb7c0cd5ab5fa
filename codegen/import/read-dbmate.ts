/** dbmate: `<version>_<name>.sql` holding `-- migrate:up` and `-- migrate:down` (each may say `transaction:false`); files run in file-name order, compared as strings. */
import { opensOwnTransaction, settleTransaction } from "./own-transaction.js";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { endOfLine, lineAt, lineOfSqlBefore, refuse, reportDuplicates, sectionOf, type ForeignMigration, type ForeignTool, type SourceFolder, type SourceSection } from "./source.js";

// dbmate's lines end at a line feed only: a lone carriage return neither starts a marker line nor ends one.
const UP = /(?<=^|\n)--\s*migrate:up(?:[ \t]+([^\n]*?))?[ \t]*\r?(?=\n|$)/g;
const DOWN = /(?<=^|\n)--\s*migrate:down(?:[ \t]+([^\n]*?))?[ \t]*\r?(?=\n|$)/g;

/** The reader `stepwise import --from dbmate` uses for dbmate's migrations folder, read as the comment above says the tool reads it. */
export const dbmate: ForeignTool = {
  order: "by file name as a string, as dbmate sorts them (so 10_b.sql runs before 9_a.sql)",
  foreignKeysOff: true,
  historyTable: "schema_migrations",
  noTransactionMark: "its `-- migrate:up` line says `transaction:false`",
  downNoTransactionMark: "its `-- migrate:down` line says `transaction:false`",
  read(source: SourceFolder, dialect: SqlDialect): ForeignMigration[] {
    const files = source.list().filter((entry) => entry.isFile() && /^\d+.*\.sql$/.test(entry.name));
    const found = files.flatMap((entry): (ForeignMigration & { key: string; file: string })[] => {
      const file = entry.name;
      const text = source.read(file);
      if (typeof text !== "string") return [];
      const ups = [...text.matchAll(UP)];
      const downs = [...text.matchAll(DOWN)];
      if (ups.length === 0) return refuse(source, file, 1, "no `-- migrate:up` line, which dbmate requires");
      if (ups.length > 1 || downs.length > 1) {
        const extra = (ups.length > 1 ? ups[1]! : downs[1]!).index;
        return refuse(source, file, lineAt(text, extra), "a second up or down block; stepwise holds one migration per file, so split this file in two (one block each) before importing");
      }
      const [up, down] = [ups[0]!, downs[0]];
      if (down === undefined) return refuse(source, file, 1, "no `-- migrate:down` line, which dbmate requires (it may be followed by nothing)");
      if (down.index < up.index) return refuse(source, file, lineAt(text, down.index), "`-- migrate:down` comes before `-- migrate:up`, which dbmate refuses");
      const statement = lineOfSqlBefore(text, up.index);
      if (statement !== null) return refuse(source, file, statement, "SQL above `-- migrate:up`, which dbmate refuses");
      const version = /^\d+/.exec(file)![0];
      const [upSection, downSection] = [sectionOf(file, text, endOfLine(text, up.index), down.index), sectionOf(file, text, endOfLine(text, down.index))];
      const run = (marker: RegExpMatchArray, section: SourceSection) => {
        const marked = (marker[1] ?? "").split(/\s+/).includes("transaction:false");
        return { section, transaction: !marked && !opensOwnTransaction(section.sql, dialect), ...(marked && { markLine: lineAt(text, marker.index!) }) };
      };
      return [
        {
          key: version,
          file,
          id: file.replace(/\.sql$/, ""),
          name: file.slice(version.length).replace(/\.sql$/, ""),
          ...(up.index > 0 ? { preamble: sectionOf(file, text, 0, up.index) } : {}),
          up: upSection,
          down: downSection,
          transaction: settleTransaction(source, run(up, upSection), run(down, downSection), dialect, "dbmate"),
          sources: [file],
          history: { version },
        },
      ];
    });
    reportDuplicates(source, found, "version");
    return found;
  },
};
