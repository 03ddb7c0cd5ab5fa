/**
 * `gen --check`'s replay: what fails only at deploy time, caught at build time. The registry's
 * migrations are applied in order, through the runtime's own manager, to an empty database (SQLite: in
 * memory, with the project's driver and foreign keys on, as better-sqlite3 and node:sqlite open them;
 * PostgreSQL: a scratch database created on the configured server), then
 * the newest one is rolled back. The first failure becomes a problem at the file and line of the
 * statement that failed (`CREAT TABLE`), and a table rebuild that would break at deploy on real rows
 * (dropping a table other tables reference, with enforcement on) is reported even when the empty
 * tables of the replay let it pass.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { StepwiseError } from "../src/core/errors.js";
import { findDroppedOrRenamedTables, SQL_FOREIGN_KEYS_OFF_FIX, TS_FOREIGN_KEYS_OFF_FIX } from "../src/core/foreign-key-rebuild.js";
import { begin, exec, query, rollbackQuietly, type Step } from "../src/core/step.js";
import type { MigrationDirection, MigrationEntry, MigrationRegistry, SqlDialect } from "../src/core/types.js";
import { DOWN_MARKER, UP_MARKER } from "../src/shared/sql-markers.js";
import { splitSqlStatements, tokenizeSql } from "../src/shared/sql-tokens.js";
import type { Problem } from "./problems.js";

/** The part of a runtime manager the replay drives; every manager the CLI opens has it, sync or async. */
export interface ReplayManager {
  up(options: { to: number }): unknown;
  down(options: { steps: number }): unknown;
  run<T>(step: Step<T>): T | Promise<T>;
}

/** An empty database the replay may fill, and how to let it go. */
export interface ReplayDatabase {
  readonly manager: ReplayManager;
  /**
   * Where the replay runs, as a problem says it after "on": `an empty in-memory better-sqlite3
   * database`, `a scratch database of the PostgreSQL server at db.example:5432`. Never a secret.
   */
  readonly where: string;
  close(): void | Promise<void>;
}

/** Inputs for {@link replayMigrations}. */
export interface ReplayOptions {
  /** Absolute; `entry.file` is relative to it, and source lines are read from there. */
  readonly projectRoot: string;
  readonly migrations: MigrationRegistry;
  /** Opens an empty database (SQLite's in memory, PostgreSQL's a scratch one) and a manager for `migrations`. */
  readonly open: (migrations: MigrationRegistry) => Promise<ReplayDatabase>;
  /** The history table's name, left out of what the replay inspects. */
  readonly tableName: string;
  /**
   * The registry's dialect: how a failing statement is found. On `postgres` there is no foreign-key
   * switch and no table rebuild to inspect. Default `sqlite`.
   */
  readonly dialect?: SqlDialect;
}

/** What {@link replayMigrations} did. */
export interface ReplayResult {
  /** Empty when every migration applied (and the newest rolled back). At most one: the first failure stops the replay. */
  readonly problems: readonly Problem[];
  /** How many migrations were applied before the replay ended. */
  readonly applied: number;
  /** The version whose `down` was replayed, or `null` (irreversible, or the replay stopped before). */
  readonly downVersion: number | null;
  /** Where it ran ({@link ReplayDatabase.where}). */
  readonly where: string;
}

interface TableRow {
  readonly name: string;
  readonly rootpage: number;
  readonly parent: string | null;
}

/** Each table's storage page (a rebuilt table gets a new one) and the tables it references. */
interface TableGraph {
  readonly rootpages: ReadonlyMap<string, number>;
  readonly references: readonly { readonly child: string; readonly parent: string }[];
}

/**
 * Replays `migrations` on an empty database and reports the first failure as a {@link Problem}.
 * Data migrations run too, against the rows earlier migrations seeded. Never touches the app's
 * database: `open` gives a new empty one, closed before this returns.
 */
export async function replayMigrations(options: ReplayOptions): Promise<ReplayResult> {
  const database = await options.open(options.migrations);
  const { manager } = database;
  let applied = 0;
  const sqlite = (options.dialect ?? "sqlite") === "sqlite";
  try {
    if (sqlite) await manager.run(exec("PRAGMA foreign_keys = ON"));
    for (const entry of options.migrations) {
      const before = sqlite ? await manager.run(readTableGraph(options.tableName)) : null;
      try {
        await manager.up({ to: entry.version });
      } catch (error) {
        return { problems: [await describeFailure(options, database, entry, "up", error)], applied, downVersion: null, where: database.where };
      }
      applied++;
      if (before === null || entry.disableForeignKeys) continue;
      const after = await manager.run(readTableGraph(options.tableName));
      const rebuilt = findRebuiltParent(entry, before, after);
      if (rebuilt !== null) return { problems: [describeRebuild(options, entry, rebuilt.parent, rebuilt.children, null)], applied, downVersion: null, where: database.where };
    }
    const newest = options.migrations.at(-1);
    if (newest === undefined || !newest.reversible) return { problems: [], applied, downVersion: null, where: database.where };
    try {
      await manager.down({ steps: 1 });
    } catch (error) {
      return { problems: [await describeFailure(options, database, newest, "down", error)], applied, downVersion: newest.version, where: database.where };
    }
    return { problems: [], applied, downVersion: newest.version, where: database.where };
  } finally {
    await database.close();
  }
}

function* readTableGraph(tableName: string): Step<TableGraph> {
  const rows = yield* query<TableRow>(
    `SELECT m.name AS name, m.rootpage AS rootpage, f."table" AS parent
     FROM sqlite_master AS m LEFT JOIN pragma_foreign_key_list(m.name) AS f
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name <> ?`,
    [tableName],
  );
  const rootpages = new Map<string, number>();
  const references: { child: string; parent: string }[] = [];
  for (const row of rows) {
    rootpages.set(row.name.toLowerCase(), row.rootpage);
    if (row.parent !== null && row.parent.toLowerCase() !== row.name.toLowerCase()) references.push({ child: row.name.toLowerCase(), parent: row.parent.toLowerCase() });
  }
  return { rootpages, references };
}

/**
 * A table that other tables referenced before `entry` ran and that it dropped or replaced (its
 * storage moved), while those tables live on. On the replay's
 * empty tables that passes; on real rows the drop is refused, or deletes the children's rows.
 */
function findRebuiltParent(entry: MigrationEntry, before: TableGraph, after: TableGraph): { parent: string; children: string[] } | null {
  const named = new Set(findDroppedOrRenamedTables(sourceText(entry, "up")).map((name) => name.toLowerCase()));
  const byParent = new Map<string, string[]>();
  for (const { child, parent } of before.references) {
    const page = before.rootpages.get(parent);
    // Inside a transaction nothing but a drop moves a table's storage (VACUUM cannot run there), so
    // the name need only be found in the source (SQL built at run time hides it) outside one.
    if (page === undefined || (!entry.transaction && !named.has(parent)) || !after.rootpages.has(child)) continue;
    if (after.rootpages.get(parent) === page) continue;
    byParent.set(parent, [...(byParent.get(parent) ?? []), child]);
  }
  const [first] = byParent;
  return first === undefined ? null : { parent: first[0], children: [...new Set(first[1])].sort() };
}

function sourceText(entry: MigrationEntry, direction: MigrationDirection): string {
  if (entry.kind === "sql") return (direction === "up" ? entry.upSql : entry.downSql) ?? "";
  const fn = direction === "up" ? entry.module.up : entry.module.down;
  return typeof fn === "function" ? Function.prototype.toString.call(fn) : "";
}

/** The migration file's text, or `null` when it cannot be read (the registry is then all there is). */
function readSource(options: ReplayOptions, entry: MigrationEntry): string | null {
  try {
    return readFileSync(path.join(options.projectRoot, entry.file), "utf8").replace(/^\uFEFF/, "");
  } catch {
    return null;
  }
}

/** 1-based line of the file where `entry`'s `direction` section's SQL starts (the registry holds it trimmed of blank lines). */
function sectionStartLine(fileText: string, direction: MigrationDirection): number | null {
  const lines = fileText.split(/\r?\n/);
  const marker = direction === "up" ? UP_MARKER : DOWN_MARKER;
  const markerIndex = lines.findIndex((line) => line === marker || line.startsWith(`${marker} `) || line.startsWith(`${marker}\t`));
  if (markerIndex === -1) return null;
  let index = markerIndex + 1;
  while (index < lines.length && /^[ \t\f\r]*$/.test(lines[index]!)) index++;
  return index + 1;
}

/** The first line of `fileText` that drops or renames `table`, for pointing at it. */
function findStatementLine(fileText: string, table: string): { line: number; column: number } | null {
  const lines = fileText.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.trimStart().startsWith("--")) continue;
    if (findDroppedOrRenamedTables(line).some((name) => name.toLowerCase() === table.toLowerCase())) {
      const column = line.search(/\b(DROP|ALTER)\b/i);
      return { line: index + 1, column: column + 1 };
    }
  }
  return null;
}

function describeRebuild(options: ReplayOptions, entry: MigrationEntry, parent: string, children: readonly string[], reason: string | null): Problem {
  const source = readSource(options, entry);
  const at = (source === null ? null : findStatementLine(source, parent)) ?? { line: (source !== null && entry.kind === "sql" ? sectionStartLine(source, "up") : null) ?? 1, column: 1 };
  const fix = entry.kind === "sql" ? `put the flag on the up marker line: "${SQL_FOREIGN_KEYS_OFF_FIX}"` : `add "${TS_FOREIGN_KEYS_OFF_FIX}" to its defineMigration`;
  const what = reason ?? "it passed here only because the replay's tables are empty";
  return {
    code: "FOREIGN_KEY_PARENT_REBUILT",
    file: entry.file,
    line: at.line,
    column: at.column,
    message: `this migration drops or replaces table ${parent}, which ${children.join(", ")} reference${children.length === 1 ? "s" : ""} with foreign keys, with enforcement on (${what}): on a database with rows, the drop is refused ("FOREIGN KEY constraint failed") or deletes their rows; ${fix}, and stepwise checks the keys before committing`,
  };
}

/** The root failure a manager's error wraps: the library's error, for its message. */
function rootMessage(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof StepwiseError && current.cause !== undefined; depth++) current = current.cause;
  const message = current instanceof Error ? current.message : String(current);
  return message.split("\n")[0]!;
}

/** Where in `entry` the replay failed, and why, as one problem. */
async function describeFailure(options: ReplayOptions, database: ReplayDatabase, entry: MigrationEntry, direction: MigrationDirection, error: unknown): Promise<Problem> {
  const { manager } = database;
  const hint = error instanceof StepwiseError && error.is("MIGRATION_FAILED") ? error.details.foreignKeyRebuild : null;
  if (hint !== null && direction === "up") return describeRebuild(options, entry, hint.table, hint.referencedBy, "the replay's seeded rows already fail");
  const code = direction === "up" ? "REPLAY_FAILED" : "REPLAY_DOWN_FAILED";
  const source = readSource(options, entry);
  const stepwiseCode = error instanceof StepwiseError && error.code !== "MIGRATION_FAILED" ? ` (${error.code})` : "";
  const prefix = `${direction === "up" ? "applying" : "rolling back"} this migration on ${database.where} failed: `;
  if (entry.kind === "sql" && source !== null) {
    const located = await locateFailingStatement(manager, entry, direction, options.dialect ?? "sqlite");
    const start = sectionStartLine(source, direction);
    if (located !== null && start !== null) {
      return { code, file: entry.file, line: start + located.line - 1, column: located.column, message: `${prefix}${located.message}${stepwiseCode}` };
    }
    return { code, file: entry.file, line: start ?? 1, column: 1, message: `${prefix}${rootMessage(error)}${stepwiseCode}` };
  }
  const at = locateInStack(options, entry, error);
  return { code, file: entry.file, line: at.line, column: at.column, message: `${prefix}${rootMessage(error)}${stepwiseCode}` };
}

/**
 * The statement of `entry`'s SQL that fails, found by running them one by one inside a transaction
 * that is rolled back, from the state the failed migration was rolled back to. `null` when each
 * passes alone (a failure at COMMIT, or of stepwise's own checks).
 */
async function locateFailingStatement(
  manager: ReplayManager,
  entry: MigrationEntry & { kind: "sql" },
  direction: MigrationDirection,
  dialect: SqlDialect,
): Promise<{ line: number; column: number; message: string } | null> {
  const sql = (direction === "up" ? entry.upSql : entry.downSql) ?? "";
  const statements = splitSqlStatements(tokenizeSql(sql, dialect), dialect);
  return await manager.run(
    (function* (): Step<{ line: number; column: number; message: string } | null> {
      if (entry.disableForeignKeys) yield* exec("PRAGMA foreign_keys = OFF");
      if (entry.transaction) yield* begin("immediate");
      try {
        for (const statement of statements) {
          const first = statement.tokens[0]!;
          const last = statement.tokens.at(-1)!;
          try {
            yield* exec(sql.slice(first.offset, last.offset + last.text.length));
          } catch (error) {
            return { line: first.line, column: first.column, message: error instanceof Error ? error.message.split("\n")[0]! : String(error) };
          }
        }
        return null;
      } finally {
        yield* rollbackQuietly();
        if (entry.disableForeignKeys) yield* exec("PRAGMA foreign_keys = ON");
      }
    })(),
  );
}

/** The line of a TypeScript migration its error's stack points at (tsx maps it to the source), or its first line. */
function locateInStack(options: ReplayOptions, entry: MigrationEntry, error: unknown): { line: number; column: number } {
  const absolute = path.join(options.projectRoot, entry.file);
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    for (const match of (current.stack ?? "").matchAll(/((?:file:\/\/)?\/[^\s()]+?):(\d+):(\d+)/g)) {
      const file = match[1]!.startsWith("file://") ? new URL(match[1]!).pathname : match[1]!;
      if (path.resolve(file) === absolute) return { line: Number(match[2]), column: Number(match[3]) };
    }
  }
  return { line: 1, column: 1 };
}
