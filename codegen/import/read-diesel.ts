/** Diesel: a folder per migration, `<version>_<name>/up.sql` (+ `down.sql`, `metadata.toml`); the version is the name up to its first `_`, dashes dropped, and Diesel orders versions as strings. */
import { compareText } from "../problems.js";
import { opensOwnTransaction, settleTransaction } from "./own-transaction.js";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { reportDuplicates, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

/** The reader `stepwise import --from diesel` uses for Diesel's migrations folder, read as the comment above says the tool reads it. */
export const diesel: ForeignTool = {
  order: "by version as a string (the folder name up to its first `_`, dashes dropped), as Diesel compares them",
  foreignKeysOff: true,
  historyTable: "__diesel_schema_migrations",
  noTransactionMark: "its metadata.toml says `run_in_transaction = false`",
  read(source: SourceFolder, dialect: SqlDialect): ForeignMigration[] {
    // Diesel skips files and empty folders, and refuses a folder without up.sql.
    const folders = source.list().filter((entry) => entry.isDirectory() && source.list(entry.name).length > 0);
    const found = folders.flatMap((folder): (ForeignMigration & { key: string; file: string })[] => {
      const at = (file: string) => `${folder.name}/${file}`;
      const up = source.read(at("up.sql"));
      if (up === undefined) source.report(folder.name, 1, "this folder has no up.sql, so Diesel refuses the migrations folder (UnknownMigrationFormat); add one or move the folder out");
      if (up === "") source.report(at("up.sql"), 1, "an empty up.sql, which Diesel refuses to run (EmptyMigration); write the migration, or a comment saying why it does nothing");
      const down = source.read(at("down.sql"));
      const metadata = source.read(at("metadata.toml"));
      if (typeof up !== "string" || up === "" || down === null || metadata === null) return [];
      const setting = /^\s*run_in_transaction\s*=\s*(\S+)/m.exec(metadata ?? "");
      if (setting && setting[1] !== "true" && setting[1] !== "false") source.report(at("metadata.toml"), 1, `run_in_transaction must be true or false, not ${setting[1]}`);
      const version = folder.name.split("_")[0]!.replaceAll("-", "");
      const name = folder.name.includes("_") ? folder.name.slice(folder.name.indexOf("_") + 1) : folder.name;
      // Diesel's metadata field defaults to false when the file exists without the key (serde's default for a bool), and to true without the file.
      const wrapped = metadata === undefined || (setting !== null && setting[1] !== "false");
      const [upSection, downSection] = [{ file: at("up.sql"), line: 1, sql: up }, down === undefined ? null : { file: at("down.sql"), line: 1, sql: down }];
      const run = (section: typeof upSection) => ({ section, transaction: wrapped && !opensOwnTransaction(section.sql, dialect) });
      return [
        {
          key: version,
          file: folder.name,
          id: folder.name,
          name,
          up: upSection,
          down: downSection,
          transaction: settleTransaction(source, run(upSection), downSection && run(downSection), dialect, "Diesel"),
          sources: [at("up.sql"), ...(down === undefined ? [] : [at("down.sql")]), ...(metadata === undefined ? [] : [at("metadata.toml")])],
          history: { version },
        },
      ];
    });
    reportDuplicates(source, found, "version");
    return found.sort((a, b) => compareText(a.key, b.key));
  },
};
