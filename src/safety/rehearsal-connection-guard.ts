/**
 * What keeps a rehearsal on PostgreSQL from committing. The rehearsal runs every migration inside one
 * transaction that is rolled back at the end; a TypeScript body that sends `COMMIT` (or `END`,
 * `ABORT`, `ROLLBACK`, `PREPARE TRANSACTION`) would end that transaction, and with it the guarantee
 * that nothing stays. In a real run the escape guard catches such a body after the fact
 * (`TRANSACTION_ESCAPED`); a rehearsal cannot wait until after, so the body gets its connection
 * through a guard that refuses those statements before they reach the server. The body then fails
 * as a migration (`MIGRATION_FAILED`, its cause {@link RehearsalStatementRefusedError}), where the
 * real run would report the escape.
 *
 * On SQLite the same holds for the SQLite libraries' own calls (`exec`, `prepare`, `run`, Bun's
 * `query`, sql.js's `each` and `iterateStatements`, node:sqlite's tag store, libsql-client's
 * `execute`, `executeMultiple`, `batch` and its transaction's `commit()` and `rollback()`): a body's
 * `COMMIT` there would commit the rehearsal's work, history rows included, to the live database.
 *
 * SQL migrations need no guard: `gen` refuses transaction control in a transactional SQL migration,
 * and a rehearsal never runs a `transaction: false` one.
 */
import { splitSqlStatements, tokenizeSql } from "../shared/sql-tokens.js";
import type { MigrationEntry, SqlDialect } from "../core/types.js";

/** Statements that end or replace the transaction they run in (a savepoint's `ROLLBACK TO` does not). */
function endsTransaction(sql: string, dialect: SqlDialect): boolean {
  for (const { tokens } of splitSqlStatements(tokenizeSql(sql, dialect), dialect)) {
    const words = tokens.filter((token) => token.kind === "word").map((token) => token.text.toUpperCase());
    const [first, second, third] = words;
    if (dialect === "sqlite") {
      // SQLite: COMMIT, END and ROLLBACK [TRANSACTION] without TO; BEGIN inside a transaction fails by itself.
      if (first === "COMMIT" || first === "END") return true;
      if (first === "ROLLBACK" && second !== "TO" && !(second === "TRANSACTION" && third === "TO")) return true;
      continue;
    }
    if (first === "COMMIT" || first === "END" || first === "ABORT") return true;
    if (first === "PREPARE" && second === "TRANSACTION") return true;
    if (first === "ROLLBACK" && second !== "TO" && !((second === "WORK" || second === "TRANSACTION") && third === "TO") && second !== "PREPARED") return true;
  }
  return false;
}

/** A statement a migration body sent during a rehearsal would have ended the rehearsal's transaction. */
export class RehearsalStatementRefusedError extends Error {
  override readonly name: string = "RehearsalStatementRefusedError";
  /** The statement's text, as the body sent it. */
  readonly sql: string;

  constructor(sql: string) {
    super(`the rehearsal refused a statement that ends its transaction (${sql.trim().slice(0, 80)}); the real run would report TRANSACTION_ESCAPED`);
    this.sql = sql;
  }
}

/**
 * The text of a call's first argument: a string, a config or submittable with `text` (`pg`) or
 * `sql` (libsql-client), or a tagged template's strings (node:sqlite's tag store), whose values are
 * bound parameters and so never SQL.
 */
function textOf(config: unknown): string | null {
  if (typeof config === "string") return config;
  if (Array.isArray(config) && "raw" in config) return config.join("?");
  if (config !== null && typeof config === "object") {
    const { text, sql } = config as { text?: unknown; sql?: unknown };
    if (typeof text === "string") return text;
    if (typeof sql === "string") return sql;
  }
  return null;
}

/**
 * The SQLite libraries' calls that run or prepare SQL and return (or throw) at once; sql.js's `each`
 * and `iterateStatements` run SQL as `exec` does.
 */
const SQLITE_SYNC_CALLS: ReadonlySet<PropertyKey> = new Set(["exec", "prepare", "run", "query", "each", "iterateStatements"]);
/** node:sqlite's tag store's calls, each a tagged template (only on the store: elsewhere `get` is no SQL call). */
const TAG_STORE_CALLS: ReadonlySet<PropertyKey> = new Set(["run", "get", "all", "iterate"]);
/** libsql-client's calls that run SQL and return a promise; `batch` takes a list of statements. */
const SQLITE_ASYNC_CALLS = new Set<PropertyKey>(["execute", "executeMultiple", "batch"]);
/** libsql-client's transaction's own ends: the body receives the transaction itself. */
const SQLITE_ENDING_CALLS: ReadonlyMap<PropertyKey, string> = new Map([
  ["commit", "COMMIT"],
  ["rollback", "ROLLBACK"],
]);

/** The statement of a call's first argument that ends the transaction, if any (each of `batch`'s list). */
function endingText(first: unknown): string | null {
  const texts = Array.isArray(first) && !("raw" in first) ? first.map(textOf) : [textOf(first)];
  return texts.find((text) => text !== null && endsTransaction(text, "sqlite")) ?? null;
}

/** `client` with its SQLite calls refusing statements that end the transaction; everything else is the client's own. */
function guardSqliteConnection<C extends object>(client: C, syncCalls: ReadonlySet<PropertyKey> = SQLITE_SYNC_CALLS): C {
  return new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function") return value;
      const call = value as (...rest: unknown[]) => unknown;
      const ending = SQLITE_ENDING_CALLS.get(property);
      if (ending !== undefined) return () => Promise.reject(new RehearsalStatementRefusedError(ending));
      // node:sqlite's tag store prepares its statements itself, past this proxy: guarded as well.
      if (property === "createTagStore") return (...args: unknown[]) => guardSqliteConnection(call.apply(target, args) as object, TAG_STORE_CALLS);
      if (!syncCalls.has(property) && !SQLITE_ASYNC_CALLS.has(property)) return call.bind(target);
      return (...args: unknown[]) => {
        const text = endingText(args[0]);
        if (text !== null) {
          const error = new RehearsalStatementRefusedError(text);
          if (SQLITE_ASYNC_CALLS.has(property)) return Promise.reject(error);
          throw error;
        }
        return call.apply(target, args);
      };
    },
  });
}

/** `client` with a `query` that refuses statements ending the transaction; everything else is the client's own. */
function guardConnection<C extends object>(client: C, dialect: SqlDialect): C {
  if (dialect === "sqlite") return guardSqliteConnection(client);
  return new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (property === "query" && typeof value === "function") {
        return (...args: unknown[]) => {
          const text = textOf(args[0]);
          if (text !== null && endsTransaction(text, "postgres")) {
            const error = new RehearsalStatementRefusedError(text);
            const callback = args[args.length - 1];
            if (typeof callback === "function") {
              queueMicrotask(() => (callback as (error: Error) => void)(error));
              return undefined;
            }
            return Promise.reject(error);
          }
          return (value as (...rest: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === "function" ? (value as (...rest: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * `entry` with its TypeScript bodies handed a guarded connection (see the module note); a SQL entry
 * is returned as it is.
 */
export function withGuardedConnection(entry: MigrationEntry, dialect: SqlDialect): MigrationEntry {
  if (entry.kind !== "ts") return entry;
  const module = entry.module as { up?: unknown; down?: unknown };
  const wrap = (body: unknown) =>
    typeof body === "function"
      ? function (this: unknown, db: unknown, ...rest: unknown[]) {
          const connection = db !== null && typeof db === "object" ? guardConnection(db, dialect) : db;
          return (body as (...args: unknown[]) => unknown).call(module, connection, ...rest);
        }
      : body;
  return { ...entry, module: { ...entry.module, up: wrap(module.up), down: wrap(module.down) } } as MigrationEntry;
}
