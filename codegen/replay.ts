/**
 * `gen --check`'s replay: the migrations applied through the runtime's own manager to an empty
 * database, then the newest rolled back, so what would fail at deploy fails at build time, at the
 * failing statement's line. A rebuild of a referenced table is reported even when empty tables pass.
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

/** An empty database the replay may fill: its manager, where it is as a problem says it (never a secret), and how to let it go. */
export interface ReplayDatabase {
  readonly manager: ReplayManager;
  readonly where: string;
  close(): void | Promise<void>;
}

/** Inputs for {@link replayMigrations}. */
export interface ReplayOptions {
  /** `entry.file` is relative to it; source lines are read from there. */
  readonly projectRoot: string;
  readonly migrations: MigrationRegistry;
  readonly open: (migrations: MigrationRegistry) => Promise<ReplayDatabase>;
  /** The history table, left out of what the replay inspects. */
  readonly tableName: string;
  /** On `postgres` there is no foreign-key switch and no table rebuild to inspect. Default `sqlite`. */
  readonly dialect?: SqlDialect;
}

/** What {@link replayMigrations} did: at most one problem (the first failure stops it), how many applied, the version rolled back. */
export interface ReplayResult {
  readonly problems: readonly Problem[];
  readonly applied: number;
  readonly downVersion: number | null;
  readonly where: string;
}

/** Each table's storage page (a rebuilt table gets a new one) and the tables it references. */
interface TableGraph {
  readonly rootpages: ReadonlyMap<string, number>;
  readonly references: readonly { readonly child: string; readonly parent: string }[];
}

/** Replays `migrations` on the empty database `open` gives, closed before this returns; data migrations run on the rows earlier ones seeded. */
export async function replayMigrations(options: ReplayOptions): Promise<ReplayResult> {
  const database = await options.open(options.migrations);
  const { manager, where } = database;
  const sqlite = (options.dialect ?? "sqlite") === "sqlite";
  let applied = 0;
  try {
    if (sqlite) await manager.run(exec("PRAGMA foreign_keys = ON"));
    for (const entry of options.migrations) {
      const before = sqlite ? await manager.run(readTableGraph(options.tableName)) : null;
      try {
        await manager.up({ to: entry.version });
      } catch (error) {
        return { problems: [await describeFailure(options, database, entry, "up", error)], applied, downVersion: null, where };
      }
      applied++;
      if (before === null || entry.disableForeignKeys) continue;
      const rebuilt = findRebuiltParent(entry, before, await manager.run(readTableGraph(options.tableName)));
      if (rebuilt !== null) return { problems: [describeRebuild(options, entry, rebuilt.parent, rebuilt.children, null)], applied, downVersion: null, where };
    }
    const newest = options.migrations.at(-1);
    if (newest === undefined || !newest.reversible) return { problems: [], applied, downVersion: null, where };
    try {
      await manager.down({ steps: 1 });
    } catch (error) {
      return { problems: [await describeFailure(options, database, newest, "down", error)], applied, downVersion: newest.version, where };
    }
    return { problems: [], applied, downVersion: newest.version, where };
  } finally {
    await database.close();
  }
}

function* readTableGraph(tableName: string): Step<TableGraph> {
  const rows = yield* query<{ name: string; rootpage: number; parent: string | null }>(
    `SELECT m.name AS name, m.rootpage AS rootpage, f."table" AS parent
     FROM sqlite_master AS m LEFT JOIN pragma_foreign_key_list(m.name) AS f
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name <> ?`,
    [tableName],
  );
  const rootpages = new Map(rows.map((row) => [row.name.toLowerCase(), row.rootpage]));
  const references = rows.flatMap((row) => (row.parent !== null && row.parent.toLowerCase() !== row.name.toLowerCase() ? [{ child: row.name.toLowerCase(), parent: row.parent.toLowerCase() }] : []));
  return { rootpages, references };
}

/** A table other tables referenced before `entry` ran that it dropped or replaced (its storage moved) while they live on. */
function findRebuiltParent(entry: MigrationEntry, before: TableGraph, after: TableGraph): { parent: string; children: string[] } | null {
  const named = new Set(findDroppedOrRenamedTables(sourceText(entry, "up")).map((name) => name.toLowerCase()));
  const byParent = new Map<string, string[]>();
  for (const { child, parent } of before.references) {
    const page = before.rootpages.get(parent);
    // Inside a transaction only a drop moves a table's storage (VACUUM cannot run there); outside one the name must be in the source.
    if (page === undefined || (!entry.transaction && !named.has(parent)) || !after.rootpages.has(child) || after.rootpages.get(parent) === page) continue;
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

/** The 1-based line where a section's SQL starts (the registry holds it without the blank lines after the marker). */
function sectionStartLine(fileText: string, direction: MigrationDirection): number | null {
  const lines = fileText.split(/\r?\n/);
  const marker = direction === "up" ? UP_MARKER : DOWN_MARKER;
  let index = lines.findIndex((line) => line === marker || line.startsWith(`${marker} `) || line.startsWith(`${marker}\t`));
  if (index === -1) return null;
  while (++index < lines.length && /^[ \t\f\r]*$/.test(lines[index]!));
  return index + 1;
}

function describeRebuild(options: ReplayOptions, entry: MigrationEntry, parent: string, children: readonly string[], reason: string | null): Problem {
  const source = readSource(options, entry);
  // The first line outside a comment that drops or renames the table.
  const lines = source?.split(/\r?\n/) ?? [];
  const index = lines.findIndex((line) => !line.trimStart().startsWith("--") && findDroppedOrRenamedTables(line).some((name) => name.toLowerCase() === parent.toLowerCase()));
  const at =
    index === -1
      ? { line: (source !== null && entry.kind === "sql" ? sectionStartLine(source, "up") : null) ?? 1, column: 1 }
      : { line: index + 1, column: lines[index]!.search(/\b(DROP|ALTER)\b/i) + 1 };
  const fix = entry.kind === "sql" ? `put the flag on the up marker line: "${SQL_FOREIGN_KEYS_OFF_FIX}"` : `add "${TS_FOREIGN_KEYS_OFF_FIX}" to its defineMigration`;
  const referenced = `${children.join(", ")} reference${children.length === 1 ? "s" : ""}`;
  const message = `this migration drops or replaces table ${parent}, which ${referenced} with foreign keys, with enforcement on (${reason ?? "it passed here only because the replay's tables are empty"}): on a database with rows, the drop is refused ("FOREIGN KEY constraint failed") or deletes their rows; ${fix}, and stepwise checks the keys before committing`;
  return { code: "FOREIGN_KEY_PARENT_REBUILT", file: entry.file, ...at, message };
}

/** Where in `entry` the replay failed, and why, as one problem. */
async function describeFailure(options: ReplayOptions, database: ReplayDatabase, entry: MigrationEntry, direction: MigrationDirection, error: unknown): Promise<Problem> {
  const hint = error instanceof StepwiseError && error.is("MIGRATION_FAILED") ? error.details.foreignKeyRebuild : null;
  if (hint !== null && direction === "up") return describeRebuild(options, entry, hint.table, hint.referencedBy, "the replay's seeded rows already fail");
  const code = direction === "up" ? "REPLAY_FAILED" : "REPLAY_DOWN_FAILED";
  const stepwiseCode = error instanceof StepwiseError && error.code !== "MIGRATION_FAILED" ? ` (${error.code})` : "";
  const prefix = `${direction === "up" ? "applying" : "rolling back"} this migration on ${database.where} failed: `;
  // The library's own error, under the manager's wrappers.
  let root: unknown = error;
  for (let depth = 0; depth < 8 && root instanceof StepwiseError && root.cause !== undefined; depth++) root = root.cause;
  const because = `${(root instanceof Error ? root.message : String(root)).split("\n")[0]}${stepwiseCode}`;
  const source = readSource(options, entry);
  if (entry.kind === "sql" && source !== null) {
    const located = await locateFailingStatement(database.manager, entry, direction, options.dialect ?? "sqlite");
    const start = sectionStartLine(source, direction);
    if (located !== null && start !== null) return { code, file: entry.file, line: start + located.line - 1, column: located.column, message: `${prefix}${located.message}${stepwiseCode}` };
    return { code, file: entry.file, line: start ?? 1, column: 1, message: `${prefix}${because}` };
  }
  // A TypeScript migration: the line its error's stack points at (tsx maps it to the source).
  const absolute = path.join(options.projectRoot, entry.file);
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    for (const match of (current.stack ?? "").matchAll(/((?:file:\/\/)?\/[^\s()]+?):(\d+):(\d+)/g)) {
      const file = match[1]!.startsWith("file://") ? new URL(match[1]!).pathname : match[1]!;
      if (path.resolve(file) === absolute) return { code, file: entry.file, line: Number(match[2]), column: Number(match[3]), message: `${prefix}${because}` };
    }
  }
  return { code, file: entry.file, line: 1, column: 1, message: `${prefix}${because}` };
}

/**
 * The statement of `entry`'s SQL that fails, found by running them one by one in a transaction that
 * is rolled back; `null` when each passes alone (a failure at COMMIT, or of stepwise's own checks).
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
        for (const { tokens } of statements) {
          const [first, last] = [tokens[0]!, tokens.at(-1)!];
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
