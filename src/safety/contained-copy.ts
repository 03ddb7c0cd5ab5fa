/**
 * The private copy a rehearsal, verify or replay runs migrations on. It refuses before they run what would write another file for good: `ATTACH`, `VACUUM INTO` (in SQL and in a body's SQL calls) and
 * the library calls that write a file or load code. A connection the body opens itself is not contained.
 */
import type { SyncDriver } from "../core/driver.js";
import { runSync } from "../core/runners.js";
import { queryValue } from "../core/step.js";
import type { MigrationEntry, SqlDialect } from "../core/types.js";
import { splitSqlStatements, tokenizeSql } from "../shared/postgres-tokens.js";

/** A statement or call of a migration that would reach a file other than the copy; refused before it ran. */
export class OutsideCopyRefusedError extends Error {
  override readonly name: string = "OutsideCopyRefusedError";

  constructor(readonly refused: string) {
    super(
      `a rehearsal, verify or replay runs on a private copy and refused ${refused.trim().slice(0, 80)}, which would reach another file that the copy's rollback cannot undo. Keep migrations to their own database: move the work on the other file out of the migration (or give it its own step in the app).`,
    );
  }
}

/** The refusal down `error`'s chain of a call that reached another file (a body may wrap it in its own error), or `null`. Never throws. */
export function reachesAnotherFile(error: unknown): OutsideCopyRefusedError | null {
  let current = error;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    try {
      if (current instanceof OutsideCopyRefusedError) return current;
      current = (current as { cause?: unknown }).cause;
    } catch {
      return null;
    }
  }
  return null;
}

/** Each statement of `sql`: its words upper-cased, and its text. */
export function* statementsOf(sql: string, dialect: SqlDialect): Generator<{ readonly words: string[]; readonly text: string; readonly tokens: readonly { kind: string; text: string }[] }> {
  for (const { tokens } of splitSqlStatements(tokenizeSql(sql, dialect), dialect)) {
    yield { words: tokens.filter((token) => token.kind === "word").map((token) => token.text.toUpperCase()), text: tokens.map((token) => token.text).join(" "), tokens };
  }
}

/**
 * The refusal of the first statement of `sql` that reaches another file, or `null`. An ATTACH of a database in memory reaches none, when its file is that one literal alone
 * (`ATTACH ':memory:' AS m`, or `''`: a temporary one): an expression could name any file.
 */
export function reachingStatement(sql: string): OutsideCopyRefusedError | null {
  for (const { words, text, tokens } of statementsOf(sql, "sqlite")) {
    const operand = tokens.slice(tokens[1]?.text.toUpperCase() === "DATABASE" ? 2 : 1);
    const inMemory = words[0] === "ATTACH" && operand[0]?.kind === "string" && ["':memory:'", "''"].includes(operand[0].text) && operand[1]?.text.toUpperCase() === "AS";
    if ((words[0] === "ATTACH" && !inMemory) || (words[0] === "VACUUM" && words.includes("INTO"))) return new OutsideCopyRefusedError(text);
  }
  return null;
}

/** The SQL of a call's first argument: a string, a `{ text }` (pg) or `{ sql }` (libsql-client), or a tagged template's strings (node:sqlite's tag store), whose values are bound and so never SQL. */
function sqlTextOf(first: unknown): string | null {
  if (typeof first === "string") return first;
  if (Array.isArray(first) && "raw" in first) return first.join("?");
  const { text, sql } = first !== null && typeof first === "object" ? (first as { text?: unknown; sql?: unknown }) : {};
  return typeof text === "string" ? text : typeof sql === "string" ? sql : null;
}

/** A connection's method. */
type ConnectionCall = (...args: unknown[]) => unknown;

/** The SQLite libraries' calls that run or prepare SQL, node:sqlite's tag store's included. */
const SQL_CALLS: ReadonlySet<PropertyKey> = new Set(["exec", "prepare", "run", "query", "each", "iterateStatements", "get", "all", "iterate"]);
/** libsql-client's, which return a promise (`batch` takes a list). */
const ASYNC_SQL_CALLS: ReadonlySet<PropertyKey> = new Set(["execute", "executeMultiple", "batch"]);

/**
 * `connection` with its SQL calls refusing each statement `refuse` returns an error for, and the calls of `replaced` replaced. A call of `asyncCalls` is refused by a rejection, or through its
 * callback when its last argument is one (pg's `query`).
 */
export function guardSqlCalls<C extends object>(
  connection: C,
  refuse: (sql: string) => Error | null,
  replaced: Readonly<Record<string, ConnectionCall>> = {},
  asyncCalls: ReadonlySet<PropertyKey> = ASYNC_SQL_CALLS,
): C {
  return new Proxy(connection, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function") return value;
      const call = (value as ConnectionCall).bind(target);
      if (typeof property === "string" && Object.hasOwn(replaced, property)) return replaced[property];
      if (property === "createTagStore") return (...args: unknown[]) => guardSqlCalls(call(...args) as object, refuse);
      const async = asyncCalls.has(property);
      if (!async && !SQL_CALLS.has(property)) return call;
      return (...args: unknown[]) => {
        const texts = Array.isArray(args[0]) && !("raw" in args[0]) ? args[0].map(sqlTextOf) : [sqlTextOf(args[0])];
        const error = texts.map((text) => (text === null ? null : refuse(text))).find((refusal) => refusal !== null);
        if (!error) return call(...args);
        if (!async) throw error;
        const callback = args.at(-1);
        if (typeof callback !== "function") return Promise.reject(error);
        queueMicrotask(() => (callback as (error: Error) => void)(error));
        return undefined;
      };
    },
  });
}

/** `entry` with its TypeScript bodies handed `guard(db)` for their connection; a SQL entry as it is. */
export function withGuardedBodies<E extends MigrationEntry>(entry: E, guard: (connection: object) => object): E {
  if (entry.kind !== "ts") return entry;
  const module = entry.module as { up?: unknown; down?: unknown };
  const wrap = (body: unknown) =>
    typeof body === "function"
      ? function (this: unknown, db: unknown, ...rest: unknown[]) {
          return (body as ConnectionCall).call(module, db !== null && typeof db === "object" ? guard(db) : db, ...rest);
        }
      : body;
  return { ...entry, module: { ...entry.module, up: wrap(module.up), down: wrap(module.down) } } as E;
}

const refusedCall = (name: string) => () => {
  throw new OutsideCopyRefusedError(`${name}()`);
};
const FILE_CALLS = { backup: refusedCall("backup"), loadExtension: refusedCall("loadExtension"), enableLoadExtension: refusedCall("enableLoadExtension") };
const containConnection = <C extends object>(connection: C): C => guardSqlCalls(connection, reachingStatement, FILE_CALLS);

/** `migrations` with every TypeScript body handed a contained connection (`gen --check`'s replay, on a database of its own). */
export function containBodies<M extends MigrationEntry>(migrations: readonly M[]): M[] {
  return migrations.map((entry) => withGuardedBodies(entry, containConnection));
}

/** The first SQL migration of `migrations` whose text reaches another file, with the statement; `null` when none does. */
export function firstReachingSql(migrations: readonly MigrationEntry[]): { readonly file: string; readonly statement: string } | null {
  for (const entry of migrations) {
    if (entry.kind !== "sql") continue;
    const refusal = reachingStatement(entry.upSql) ?? (entry.downSql === null ? null : reachingStatement(entry.downSql));
    if (refusal !== null) return { file: entry.file, statement: refusal.refused };
  }
  return null;
}

/** A private, contained copy holding `bytes` (empty for a scratch database), with the app connection's settings that change what migrations do. */
export function openContainedCopy<Db>(driver: SyncDriver<Db>, bytes: Uint8Array): SyncDriver<Db> {
  // A WAL-mode header makes SQLite look for a `-wal` file an in-memory database cannot have.
  if (bytes.length > 19 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
  const copy = driver.openSnapshot!(bytes);
  const check = (sql: string) => {
    const refusal = reachingStatement(sql);
    if (refusal !== null) throw refusal;
  };
  try {
    for (const setting of ["foreign_keys", "recursive_triggers"]) copy.exec(`PRAGMA ${setting} = ${runSync(queryValue(`PRAGMA ${setting}`), driver) === 1 ? "ON" : "OFF"}`);
  } catch (error) {
    copy.close?.();
    throw error;
  }
  return {
    ...copy,
    exec: (sql) => (check(sql), copy.exec(sql)),
    query: (sql, params) => (check(sql), copy.query(sql, params)),
    run: (sql, params) => (check(sql), copy.run(sql, params)),
    runBody: (entry, direction, context) => copy.runBody(withGuardedBodies(entry, containConnection), direction, context),
  };
}
