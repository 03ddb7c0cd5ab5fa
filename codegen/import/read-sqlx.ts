/** sqlx: `<version>_<description>.sql` (up only) or `.up.sql` / `.down.sql` pairs; versions are 64-bit integers in numeric order; a file starting `-- no-transaction` runs outside a transaction. */
import { opensOwnTransaction, settleTransaction, type DirectionRun } from "./own-transaction.js";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { compareNumeric, endOfLine, rewrittenChecksums, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

/** sqlx skips a `.sql` file with no `_`, and refuses one whose name before the first `_` is not a 64-bit integer. */
const FILE = /^(\d+)_(.*?)(?:\.(up|down))?\.sql$/;
const MAX_VERSION = 2n ** 63n - 1n;
const NO_TRANSACTION = "-- no-transaction";

/** The reader `stepwise import --from sqlx` uses for sqlx's migrations folder, read as the comment above says the tool reads it. */
export const sqlx: ForeignTool = {
  order: "by version as a number (sqlx parses it as a 64-bit integer)",
  historyTable: "_sqlx_migrations",
  noTransactionMark: "its first line is `-- no-transaction`",
  downNoTransactionMark: "its first line is `-- no-transaction`",
  read(source: SourceFolder, dialect: SqlDialect): ForeignMigration[] {
    const byVersion = new Map<string, { up?: string; down?: string; simple?: string }>();
    for (const entry of source.list()) {
      if (!entry.isFile() || !entry.name.endsWith(".sql") || !entry.name.includes("_")) continue;
      const match = FILE.exec(entry.name);
      if (!match || BigInt(match[1]!) > MAX_VERSION) {
        source.report(entry.name, 1, "sqlx cannot parse this name; it expects <version>_<description>.sql, .up.sql or .down.sql");
        continue;
      }
      const version = BigInt(match[1]!).toString();
      const slot = byVersion.get(version) ?? {};
      byVersion.set(version, slot);
      const kind = (match[3] ?? "simple") as "up" | "down" | "simple";
      if (slot[kind] !== undefined) source.report(entry.name, 1, `version ${version} is also ${slot[kind]}'s, which sqlx refuses`);
      else slot[kind] = entry.name;
    }
    const migrations: ForeignMigration[] = [];
    for (const [version, slot] of [...byVersion].sort(([a], [b]) => compareNumeric(a, b))) {
      const upFile = slot.simple ?? slot.up;
      if (slot.simple !== undefined && (slot.up ?? slot.down) !== undefined) source.report(slot.simple, 1, `version ${version} is both a simple migration and a reversible pair; keep one`);
      if (upFile === undefined) {
        source.report(slot.down!, 1, `a .down.sql without its .up.sql; add ${slot.down!.replace(/\.down\.sql$/, ".up.sql")} or remove it`);
        continue;
      }
      const upText = source.read(upFile);
      const downText = slot.down === undefined ? undefined : source.read(slot.down);
      if (typeof upText !== "string" || downText === null) continue;
      const up = runOf(upFile, upText, dialect);
      const down = downText === undefined ? null : runOf(slot.down!, downText, dialect);
      // The up file names the migration (sqlx records its description).
      const name = FILE.exec(upFile)![2]!;
      const stripped = rewrittenChecksums(source, upFile, "sha384", (text) => text.replaceAll("\r", ""));
      migrations.push({
        id: upFile.replace(/(\.up)?\.sql$/, ""),
        name,
        up: up.section,
        down: down?.section ?? null,
        transaction: settleTransaction(source, up, down, dialect, "sqlx"),
        sources: [upFile, ...(slot.down === undefined ? [] : [slot.down])],
        history: { version, description: name.replaceAll("_", " "), checksum: source.hash(upFile, "sha384") },
        // sqlx 0.9's `ignored-chars = ["\r"]` (sqlx.toml) hashes the file without its carriage returns.
        ...(stripped.length > 0 && { accepted: { checksum: stripped } }),
      });
    }
    return migrations;
  },
};

/** How sqlx ran the file: a first line `-- no-transaction` (its opt-out, dropped) takes it out of a transaction, and so does a `BEGIN` of its own. */
function runOf(file: string, text: string, dialect: SqlDialect): DirectionRun {
  if (!text.startsWith(NO_TRANSACTION)) return { section: { file, line: 1, sql: text }, transaction: !opensOwnTransaction(text, dialect) };
  const end = endOfLine(text, 0);
  // PostgreSQL ends a line comment at a carriage return too, so there SQL after a lone one on the mark's line ran (SQLite reads the rest of the line as the comment).
  const carriageReturn = dialect === "postgres" ? text.slice(0, end).search(/\r(?!\n)/) : -1;
  const section = carriageReturn === -1 ? { file, line: 2, sql: text.slice(end) } : { file, line: 1, sql: text.slice(carriageReturn) };
  return { section, transaction: false, markLine: 1 };
}
