/**
 * Prisma Migrate: `<timestamp>_<name>/migration.sql` per migration, applied in folder-name order (compared as strings), with no down. Prisma sends a migration's script without BEGIN/COMMIT. On SQLite
 * each is imported with `transaction:false` (but one whose table rebuild switches `PRAGMA foreign_keys` gets `foreign_keys:off` instead, in a transaction: see the writer). On PostgreSQL, Prisma before
 * 7.4 sends the whole script as one multi-statement query, which PostgreSQL runs as one implicit transaction (so `CREATE INDEX CONCURRENTLY` fails there with 25001): imported in a transaction, unless
 * the script holds what cannot run in one (CONCURRENTLY, VACUUM, …: only Prisma 7.4's statement-by-statement run applied it) or its own transaction control.
 */
import { checkToolDialect, lineEndingChecksums, refuse, runsInOneTransaction, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

const LOCK = "migration_lock.toml";

/** The reader `stepwise import --from prisma` uses for Prisma Migrate's migrations folder, read as the comment above says the tool reads it. */
export const prisma: ForeignTool = {
  order: "by folder name as a string, as Prisma sorts them",
  read(source: SourceFolder, dialect): ForeignMigration[] {
    // Prisma records the database its migrations were generated for, and refuses to apply them to another.
    const lock = source.read(LOCK);
    const provider = typeof lock === "string" ? /^\s*provider\s*=\s*"([^"]*)"/m.exec(lock)?.[1] : undefined;
    if (provider !== undefined && !checkToolDialect(source, LOCK, lock!, provider, dialect)) return [];
    return source
      .list()
      .filter((entry) => entry.isDirectory())
      .flatMap((folder): ForeignMigration[] => {
        const file = `${folder.name}/migration.sql`;
        const sql = source.read(file);
        if (sql === undefined) return refuse(source, folder.name, 1, "this folder has no migration.sql, which Prisma refuses; add it or move the folder out");
        if (sql === null) return [];
        return [
          {
            id: folder.name,
            name: folder.name.replace(/^\d+_?/, ""),
            up: { file, line: 1, sql },
            down: null,
            transaction: dialect === "postgres" && runsInOneTransaction(sql, dialect),
            sources: [file],
            history: { migration_name: folder.name, checksum: source.hash(file) },
            // Prisma checks the script as read, with CRLF made LF, and with every LF made CRLF.
            accepted: { checksum: lineEndingChecksums(source, file) },
          },
        ];
      });
  },
};
