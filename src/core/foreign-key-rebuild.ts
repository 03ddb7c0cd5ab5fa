/**
 * SQLite's table rebuild (create the new table, copy, drop the old one, rename) is safe only with
 * foreign-key enforcement off: with it on, `DROP TABLE` of a parent first deletes every row, so the
 * children's rows are refused ("FOREIGN KEY constraint failed"), cascade-deleted or nulled. SQLite's
 * error names neither the table nor the fix, so a migration that dropped or renamed a table other
 * tables reference gets both named here. An FK failure of any other kind (a bad row inserted) has
 * another fix, and gets nothing.
 */
import type { ForeignKeyRebuildHint } from "./errors.js";
import { query, type Step } from "./step.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";

/** The fix for a SQL migration: the flag on its up marker line. */
export const SQL_FOREIGN_KEYS_OFF_FIX = "-- migrate:up foreign_keys:off";
/** The fix for a TypeScript migration: the option of `defineMigration`. */
export const TS_FOREIGN_KEYS_OFF_FIX = "disableForeignKeys: true";

const NAME = String.raw`("(?:[^"]|"")+"|\x60(?:[^\x60]|\x60\x60)+\x60|\[[^\]]+\]|[A-Za-z_][\w$]*)`;
const SCHEMA_PREFIX = String.raw`(?:(?:"main"|main|"temp"|temp)\s*\.\s*)?`;
const DROP_TABLE = new RegExp(String.raw`\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?${SCHEMA_PREFIX}${NAME}`, "gi");
const RENAME_TABLE = new RegExp(String.raw`\bALTER\s+TABLE\s+${SCHEMA_PREFIX}${NAME}\s+RENAME\s+TO\b`, "gi");

/** A quoted SQLite identifier as SQLite reads it. */
function unquoteIdentifier(name: string): string {
  const first = name[0];
  if (first === '"') return name.slice(1, -1).replace(/""/g, '"');
  if (first === "`") return name.slice(1, -1).replace(/``/g, "`");
  if (first === "[") return name.slice(1, -1);
  return name;
}

/**
 * The tables a text drops or renames, in order of appearance, each once. The text is SQL, or a
 * TypeScript migration's function source (its SQL sits in string literals): a name in a comment may
 * be listed too, which costs one lookup and can name a table only if it is really referenced.
 *
 * @example
 * findDroppedOrRenamedTables('DROP TABLE "authors"; ALTER TABLE x RENAME TO y;'); // ["authors", "x"]
 */
export function findDroppedOrRenamedTables(text: string): string[] {
  const found: { name: string; at: number }[] = [];
  for (const pattern of [DROP_TABLE, RENAME_TABLE]) {
    for (const match of text.matchAll(pattern)) found.push({ name: unquoteIdentifier(match[1]!), at: match.index });
  }
  found.sort((a, b) => a.at - b.at);
  const seen = new Set<string>();
  return found.map((item) => item.name).filter((name) => !seen.has(name.toLowerCase()) && seen.add(name.toLowerCase()));
}

/** The text of what `entry` runs in `direction`: its SQL, or its function's source. */
function sourceOf(entry: MigrationEntry, direction: MigrationDirection): string {
  if (entry.kind === "sql") return (direction === "up" ? entry.upSql : entry.downSql) ?? "";
  try {
    const fn = direction === "up" ? entry.module.up : entry.module.down;
    return typeof fn === "function" ? Function.prototype.toString.call(fn) : "";
  } catch {
    return "";
  }
}

/** Whether a failure is SQLite's foreign-key refusal (its extended code, or a driver that reports only the primary one). */
function isForeignKeyFailure(sqliteCode: string | null, cause: unknown): boolean {
  if (sqliteCode === "SQLITE_CONSTRAINT_FOREIGNKEY") return true;
  if (sqliteCode === null || !sqliteCode.startsWith("SQLITE_CONSTRAINT")) return false;
  try {
    return /FOREIGN KEY constraint failed/i.test(String((cause as { message?: unknown } | null)?.message ?? ""));
  } catch {
    return false;
  }
}

/**
 * The hint for `cause`, the failure of `entry`, when it is a foreign-key failure and the migration,
 * run with enforcement on, dropped or renamed a table other tables reference; otherwise `null`. Read
 * on the failing migration's connection before its rollback: the failed `DROP` left the parent in
 * place (and a deferred failure at COMMIT finds the rebuilt table under the same name).
 */
export function* readForeignKeyRebuildHint(entry: MigrationEntry, direction: MigrationDirection, sqliteCode: string | null, cause: unknown): Step<ForeignKeyRebuildHint | null> {
  if (entry.disableForeignKeys || (entry.dialect ?? "sqlite") !== "sqlite" || !isForeignKeyFailure(sqliteCode, cause)) return null;
  const candidates = findDroppedOrRenamedTables(sourceOf(entry, direction));
  for (const table of candidates) {
    let children: { name: string }[];
    try {
      children = yield* query<{ name: string }>(
        `SELECT DISTINCT m.name AS name FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f
         WHERE m.type = 'table' AND f."table" = ? COLLATE NOCASE AND m.name <> ? COLLATE NOCASE ORDER BY m.name`,
        [table, table],
      );
    } catch {
      // The hint is extra; a connection that cannot answer leaves the failure as it was.
      return null;
    }
    if (children.length > 0) {
      return { table, referencedBy: children.map((child) => child.name), fix: entry.kind === "sql" ? SQL_FOREIGN_KEYS_OFF_FIX : TS_FOREIGN_KEYS_OFF_FIX };
    }
  }
  return null;
}
