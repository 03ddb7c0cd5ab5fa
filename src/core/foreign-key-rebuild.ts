/** SQLite's table rebuild is safe only with foreign keys off: a migration that would drop or rename a referenced table is refused, or its failure names the children and the fix. */
import type { ForeignKeyRebuildHint } from "./errors.js";
import { changeCounter, query, type Step } from "./step.js";
import { isInstanceSafely, stringFieldOf } from "./error-factories.js";
import { foldIdentifier, quoteIdentifier } from "./batch-walk.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import { significantTokens, tokenizeSqliteSql } from "../shared/sqlite-tokens.js";
import { withoutJsComments } from "./js-comments.js";

/** The fix for a SQL migration: the flag on its up marker line. */
export const SQL_FOREIGN_KEYS_OFF_FIX = "-- migrate:up foreign_keys:off";
/** The fix for a TypeScript migration: the option of `defineMigration`. */
export const TS_FOREIGN_KEYS_OFF_FIX = "disableForeignKeys: true";
/** The fix where the driver cannot switch foreign keys off (D1, Durable Objects). */
export const ALTER_IN_PLACE_FIX = "change the table in place (ALTER TABLE \u2026 ADD, RENAME or DROP COLUMN) instead of rebuilding it: this storage cannot switch foreign keys off";

const NAME = String.raw`("(?:[^"]|"")+"|\x60(?:[^\x60]|\x60\x60)+\x60|\[[^\]]+\]|[A-Za-z_][\w$]*)`;
const SCHEMA_PREFIX = String.raw`(?:(?:"main"|main|"temp"|temp)\s*\.\s*)?`;
const DROP_TABLE = new RegExp(String.raw`\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?${SCHEMA_PREFIX}${NAME}`, "gi");
const RENAME_TABLE = new RegExp(String.raw`\bALTER\s+TABLE\s+${SCHEMA_PREFIX}${NAME}\s+RENAME\s+TO\b`, "gi");

/** The tables a text (SQL, or a function's source) drops or renames, in order, each once, unquoted: `DROP TABLE "a"; ALTER TABLE x RENAME TO y` gives `["a", "x"]`. */
export function findDroppedOrRenamedTables(text: string): string[] {
  const found = [...text.matchAll(DROP_TABLE), ...text.matchAll(RENAME_TABLE)].sort((a, b) => a.index - b.index);
  const seen = new Set<string>();
  return found.map(([, name]) => unquoteIdentifier(name!)).filter((name) => !seen.has(name.toLowerCase()) && seen.add(name.toLowerCase()));
}

function unquoteIdentifier(name: string): string {
  const quote = name[0]!;
  if (quote === "[") return name.slice(1, -1);
  return quote === '"' || quote === "`" ? name.slice(1, -1).replaceAll(quote + quote, quote) : name;
}

/**
 * What `entry` runs, as the checks read it, comments left out: SQL's tokens one space apart, so a comment between `DROP` and `TABLE` hides nothing; a TypeScript body's own source, strings
 * kept (its SQL is there), so a build that keeps comments (tsc) reads as one that drops them (esbuild).
 */
export function migrationCode(entry: MigrationEntry, direction: MigrationDirection): string {
  if (entry.kind === "sql")
    return significantTokens(tokenizeSqliteSql((direction === "up" ? entry.upSql : entry.downSql) ?? ""))
      .map((token) => token.text)
      .join(" ");
  try {
    const fn = direction === "up" ? entry.module.up : entry.module.down;
    return typeof fn === "function" ? withoutJsComments(Function.prototype.toString.call(fn)) : "";
  } catch {
    return "";
  }
}

/**
 * Whether `entry` runs `direction` with the foreign keys its own business: flagged (`foreign_keys:off`, `disableForeignKeys`), or setting `foreign_keys` or `defer_foreign_keys` itself in a
 * statement, however spelled (`PRAGMA main.foreign_keys = 0`, `db.pragma("foreign_keys = off")`); a comment naming them (an importer's commented-out pragma) does not count. The run-time
 * refusal and `gen --check`'s replay both decide by it, so a migration one lets run the other does not report. `code`: {@link migrationCode}'s, when already read.
 */
export function managesForeignKeys(entry: MigrationEntry, direction: MigrationDirection, code = migrationCode(entry, direction)): boolean {
  return entry.disableForeignKeys || /foreign_keys/i.test(code);
}

/** Thrown before a body that would drop or rename a referenced table; reported as the migration's failure, with the hint. */
export class ForeignKeyParentRebuildRefusal extends Error {
  override readonly name: string = "ForeignKeyParentRebuildRefusal";
  declare readonly hint: ForeignKeyRebuildHint;

  constructor(hint: ForeignKeyRebuildHint) {
    super(`refused before it ran: with foreign keys enforced, SQLite would refuse the drop of ${hint.table} or delete its children's rows (ON DELETE CASCADE)`);
    this.hint = hint;
  }
}

/** Refuses, before `entry`'s body runs, a drop or rename of a table still referenced while foreign keys are enforced; one that drops the children too, or manages the keys itself, passes. */
export function* refuseParentRebuild(
  entry: MigrationEntry,
  direction: MigrationDirection,
  foreignKeySwitch: boolean,
  foreignKeysEnforced: () => Step<boolean>,
  referencing: ReferencingTables,
): Step<void> {
  if ((entry.dialect ?? "sqlite") !== "sqlite") return;
  const text = migrationCode(entry, direction);
  try {
    if (!/\b(?:DROP|RENAME)\b/i.test(text) || managesForeignKeys(entry, direction, text)) return;
    const candidates = findDroppedOrRenamedTables(text);
    if (candidates.length === 0 || !(yield* foreignKeysEnforced())) return;
    const alsoGone = new Set(candidates.map((name) => name.toLowerCase()));
    const renamed = new Set([...text.matchAll(RENAME_TABLE)].map(([, name]) => unquoteIdentifier(name!).toLowerCase()));
    for (const table of candidates) {
      const children = (yield* childrenOf(table, yield* referencing.read())).filter((name) => !alsoGone.has(name.toLowerCase()));
      // A drop reaches only the rows of its children, so with none it loses nothing (a database built from zero, where an imported history's rebuilds ran as its tool ran them);
      // a rename repoints the children's keys whatever they hold.
      if (children.length > 0 && (renamed.has(table.toLowerCase()) || (yield* anyHoldsRows(children))))
        throw new ForeignKeyParentRebuildRefusal({ table, referencedBy: children, fix: fixFor(entry, foreignKeySwitch) });
    }
  } finally {
    // A reference appears or changes name only through SQL saying so, or through code, which cannot be read ahead.
    if (entry.kind !== "sql" || /REFERENCES|RENAME|writable_schema/i.test(text)) referencing.forget();
  }
}

/** A table whose `CREATE` statement mentions `REFERENCES`: its name, folded name and lowered SQL. */
type MaybeChild = { readonly name: string; readonly folded: string; readonly sql: string };

/** The tables that may reference another, kept while nothing could change them: reading them for every drop made rolling back a long history quadratic. */
export class ReferencingTables {
  private known: { readonly counter: number; readonly tables: readonly MaybeChild[] } | null = null;

  /** Drops what was read, at the start of a run and after a migration that could change a reference. */
  forget(): void {
    this.known = null;
  }

  /** The tables that may reference another, as the schema stands now. */
  *read(): Step<readonly MaybeChild[]> {
    const counter = yield* changeCounter();
    if (this.known !== null && counter !== null && this.known.counter === counter) return this.known.tables;
    const tables = yield* readMaybeChildren();
    this.known = counter === null ? null : { counter, tables };
    return tables;
  }
}

/** Every table whose `CREATE` statement mentions `REFERENCES`; Cloudflare's own (`_cf_KV`) refuse every read and reference nothing. */
function* readMaybeChildren(): Step<MaybeChild[]> {
  const sql = `SELECT name, lower(sql) AS sql FROM sqlite_master
     WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND sql LIKE '%REFERENCES%' ORDER BY name`;
  const rows = yield* query<{ name: string; sql: string }>(sql);
  // Folded here: SQLite's lower() folds more than ASCII where ICU is built in.
  return rows.map((row) => ({ name: row.name, folded: foldIdentifier(row.name), sql: row.sql }));
}

function* childrenOf(table: string, tables: readonly MaybeChild[]): Step<string[]> {
  const folded = foldIdentifier(table);
  const quoted = /["\x60]/.test(table);
  const children: string[] = [];
  for (const child of tables) {
    if (child.folded === folded || (!quoted && !child.sql.includes(folded))) continue;
    const keys = yield* query(`SELECT 1 AS hit FROM pragma_foreign_key_list(?) WHERE "table" = ? COLLATE NOCASE LIMIT 1`, [child.name, table]);
    if (keys.length > 0) children.push(child.name);
  }
  return children;
}

function* anyHoldsRows(tables: readonly string[]): Step<boolean> {
  for (const table of tables) if ((yield* query(`SELECT 1 AS hit FROM ${quoteIdentifier(table)} LIMIT 1`)).length > 0) return true;
  return false;
}

function fixFor(entry: MigrationEntry, foreignKeySwitch: boolean): string {
  return !foreignKeySwitch ? ALTER_IN_PLACE_FIX : entry.kind === "sql" ? SQL_FOREIGN_KEYS_OFF_FIX : TS_FOREIGN_KEYS_OFF_FIX;
}

/** The hint for `entry`'s foreign-key failure when it dropped or renamed a referenced table; read before the rollback, while the parent is still there. */
export function* readForeignKeyRebuildHint(
  entry: MigrationEntry,
  direction: MigrationDirection,
  sqliteCode: string | null,
  cause: unknown,
  foreignKeySwitch = true,
): Step<ForeignKeyRebuildHint | null> {
  // Safely: a migration may throw a Proxy whose every trap throws.
  if (isInstanceSafely(cause, ForeignKeyParentRebuildRefusal)) return cause.hint;
  if (entry.disableForeignKeys || (entry.dialect ?? "sqlite") !== "sqlite" || !sqliteCode?.startsWith("SQLITE_CONSTRAINT")) return null;
  if (sqliteCode !== "SQLITE_CONSTRAINT_FOREIGNKEY" && !/FOREIGN KEY constraint failed/i.test(stringFieldOf(cause, "message") ?? "")) return null;
  try {
    for (const table of findDroppedOrRenamedTables(migrationCode(entry, direction))) {
      const children = yield* childrenOf(table, yield* readMaybeChildren());
      if (children.length > 0) return { table, referencedBy: children, fix: fixFor(entry, foreignKeySwitch) };
    }
  } catch {
    // The hint is extra; a connection that cannot answer leaves the failure as it was.
  }
  return null;
}
