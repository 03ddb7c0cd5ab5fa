/**
 * A Cloudflare project's TypeScript migration is written for a D1 binding or a Durable Object's `ctx.storage.sql`, neither of which exists outside a Worker. The replay runs on an in-memory SQLite
 * database of a driver installed here, so such a body is handed an object with the part of the binding's API a migration uses, over that database; the SQL is SQLite's either way.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { statementTexts } from "../src/core/dialects/sqlite.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { withGuardedBodies } from "../src/safety/contained-copy.js";
import { packageSubpathOf } from "../src/shared/package-name.js";
import { tryOr } from "./problems.js";

/** The Worker connections a migration can be written for. */
export type WorkerConnection = "d1" | "durable-objects";

type Row = Record<string, unknown>;
type RunResult = { readonly rows: Row[]; readonly columns: string[]; readonly changes: number };
/** What every replay driver's native connection shares; `getRowsModified` is sql.js's. */
interface NativeDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): unknown;
  getRowsModified?(): number;
}

/** `migrations` with each TypeScript migration written for a Worker connection (its import, else the project's) handed that API; and the first. */
export function withWorkerConnections(
  migrations: MigrationRegistry,
  project: { readonly projectRoot: string; readonly driver: string | null; readonly target?: string | null },
): { migrations: MigrationRegistry; connection: WorkerConnection | null } {
  const projectDefault: WorkerConnection | null = project.driver === "d1" || project.driver === "durable-objects" ? project.driver : project.target === "d1" ? "d1" : null;
  let first: WorkerConnection | null = null;
  const wrapped = migrations.map((entry) => {
    if (entry.kind !== "ts") return entry;
    // Without its file only the project's driver can say.
    const source = tryOr(() => readFileSync(path.join(project.projectRoot, entry.file), "utf8"), "");
    const imported = [...source.matchAll(/\bfrom\s*["']([^"'\n]+)["']/g)].map((match) => packageSubpathOf(match[1]!)).find((subpath) => subpath === "d1" || subpath === "durable-objects");
    const connection = (imported as WorkerConnection | undefined) ?? projectDefault;
    if (connection === null) return entry;
    first ??= connection;
    return withGuardedBodies(entry, (db) => (connection === "d1" ? d1Binding : durableObjectSql)(db as NativeDatabase));
  });
  return { migrations: wrapped as unknown as MigrationRegistry, connection: first };
}

/** D1 and Durable Objects bind booleans as 1 and 0; the file drivers refuse them. */
const bindable = (values: readonly unknown[]) => values.map((value) => (typeof value === "boolean" ? Number(value) : value));

/** Runs one statement with `params` on any replay driver's connection. */
function runStatement(db: NativeDatabase, sql: string, params: readonly unknown[]): RunResult {
  const statement = db.prepare(sql) as Record<string, (...args: unknown[]) => unknown> & { reader?: boolean; columnNames?: string[] };
  if (typeof db.getRowsModified === "function") {
    try {
      statement.bind!(bindable(params));
      const rows: Row[] = [];
      while (statement.step!()) rows.push(statement.getAsObject!() as Row);
      const columns = statement.getColumnNames!() as string[];
      return { rows, columns, changes: columns.length === 0 ? db.getRowsModified() : 0 };
    } finally {
      statement.free!();
    }
  }
  // better-sqlite3 and libsql say whether a statement reads (and refuse columns() when it does not); node:sqlite lists its columns, bun:sqlite names them.
  const columns = statement.reader === false ? [] : typeof statement.columns === "function" ? (statement.columns() as { name: string }[]).map((column) => column.name) : (statement.columnNames ?? []);
  if (!(statement.reader ?? columns.length > 0)) return { rows: [], columns: [], changes: Number((statement.run!(...bindable(params)) as { changes?: number | bigint }).changes ?? 0) };
  const rows = statement.all!(...bindable(params)) as Row[];
  return { rows, columns: columns.length > 0 ? columns : Object.keys(rows[0] ?? {}), changes: 0 };
}

/** A D1 binding's API over `db`: `prepare` with `bind`, `first`, `all`, `run` and `raw`, `batch` and `exec`. */
function d1Binding(db: NativeDatabase) {
  const results = (run: RunResult) => ({ results: run.rows, success: true, meta: { changes: run.changes, rows_read: run.rows.length, rows_written: run.changes } });
  const statement = (sql: string, params: readonly unknown[]) => ({
    sql,
    params,
    bind: (...values: unknown[]) => statement(sql, values),
    all: async () => results(runStatement(db, sql, params)),
    run: async () => results(runStatement(db, sql, params)),
    first: async (column?: string) => ((row) => (column === undefined || row === null ? row : row[column]))(runStatement(db, sql, params).rows[0] ?? null),
    raw: async (options?: { columnNames?: boolean }) => {
      const run = runStatement(db, sql, params);
      const rows = run.rows.map((row) => run.columns.map((column) => row[column]));
      return options?.columnNames ? [run.columns, ...rows] : rows;
    },
  });
  return {
    prepare: (sql: string) => statement(sql, []),
    // A batch lands whole or not at all, as D1's does.
    batch: async (statements: readonly ReturnType<typeof statement>[]) => {
      db.exec("SAVEPOINT stepwise_replay_batch");
      try {
        const all = statements.map((each) => results(runStatement(db, each.sql, each.params)));
        db.exec("RELEASE stepwise_replay_batch");
        return all;
      } catch (error) {
        db.exec("ROLLBACK TO stepwise_replay_batch");
        db.exec("RELEASE stepwise_replay_batch");
        throw error;
      }
    },
    exec: async (sql: string) => {
      const statements = statementTexts(sql);
      for (const text of statements) runStatement(db, text, []);
      return { count: statements.length, duration: 0 };
    },
  };
}

/** A Durable Object's `ctx.storage.sql` over `db`: `exec` runs every statement, binding the last, and returns its cursor. */
function durableObjectSql(db: NativeDatabase) {
  return {
    exec(query: string, ...bindings: unknown[]) {
      const statements = statementTexts(query);
      let written = 0;
      let last: RunResult = { rows: [], columns: [], changes: 0 };
      statements.forEach((text, index) => {
        last = runStatement(db, text, index === statements.length - 1 ? bindings : []);
        written += last.changes;
      });
      const { rows, columns } = last;
      let next = 0;
      return {
        columnNames: columns,
        rowsRead: rows.length,
        rowsWritten: written,
        toArray: () => rows.slice(next),
        one: () => {
          if (rows.length !== 1) throw new Error(`Expected exactly one result from SQL query, but got ${rows.length === 0 ? "no results" : `${rows.length} results`}.`);
          return rows[0];
        },
        raw: () => rows.map((row) => columns.map((column) => row[column]))[Symbol.iterator](),
        next: () => (next < rows.length ? { done: false, value: rows[next++] } : { done: true, value: undefined }),
        [Symbol.iterator]() {
          return this;
        },
      };
    },
    databaseSize: 0,
  };
}
