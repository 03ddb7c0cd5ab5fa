/**
 * A rehearsal (`up --dry-run`) and `verify` run the migrations on a private copy of the database (or
 * an empty scratch one) that `openSnapshot` opened; whatever they do there is thrown away. A
 * migration can still reach another file from that connection, and what it writes there stays: each
 * `verify` once added a row to a file a migration `ATTACH`ed. So the copy's driver refuses, before
 * they run, the statements that reach another file (`ATTACH`, `VACUUM INTO`), in a SQL migration's
 * text and in every SQL call of a TypeScript body's connection, and the library calls that write
 * another file or load code (better-sqlite3's `backup`, the drivers' `loadExtension`). The
 * migration then fails as a migration (`MIGRATION_FAILED`, naming its file; its cause an
 * {@link OutsideCopyRefusedError} that names the statement and the fix), and nothing reached the
 * other file.
 *
 * `ATTACH` is the only way a connection reaches another database file, and SQLite refuses it inside
 * a transaction, so refusing the statement contains every write through an attached name. Not
 * contained: a TypeScript body that opens a connection of its own (`new Database("other.db")`) or
 * writes files through `node:fs`; it is the app's code, and runs as it would in the real `up`.
 */
import { splitSqlStatements, tokenizeSql } from "../shared/sql-tokens.js";
import type { SyncDriver } from "../core/driver.js";
import type { MigrationEntry, SqlDialect } from "../core/types.js";

/** A statement or call of a migration that would reach a file other than the copy; refused before it ran. */
export class OutsideCopyRefusedError extends Error {
  override readonly name: string = "OutsideCopyRefusedError";
  /** The statement (`ATTACH ...`, `VACUUM INTO ...`) or the library call (`backup`) that was refused. */
  readonly refused: string;

  constructor(refused: string) {
    super(
      `a rehearsal, verify or replay runs on a private copy and refused ${refused.trim().slice(0, 80)}, which would reach another file that the copy's rollback cannot undo. ` +
        `Keep migrations to their own database: move the work on the other file out of the migration (or give it its own step in the app).`,
    );
    this.refused = refused;
  }
}

/** Each statement of `sql`: its words upper-cased (to match keywords), and its text. */
export function* statementsOf(sql: string, dialect: SqlDialect): Generator<{ readonly words: string[]; readonly text: string }> {
  for (const { tokens } of splitSqlStatements(tokenizeSql(sql, dialect), dialect)) {
    yield { words: tokens.filter((token) => token.kind === "word").map((token) => token.text.toUpperCase()), text: tokens.map((token) => token.text).join(" ") };
  }
}

/** The first statement of `sql` that reaches another file (`ATTACH`, `VACUUM ... INTO`), or `null`. */
export function reachingStatement(sql: string): string | null {
  for (const { words, text } of statementsOf(sql, "sqlite")) {
    if (words[0] === "ATTACH" || (words[0] === "VACUUM" && words.includes("INTO"))) return text;
  }
  return null;
}

/**
 * The SQL text of a call's first argument: a string, a config or submittable with `text` (`pg`) or
 * `sql` (libsql-client), or a tagged template's strings (node:sqlite's tag store), whose values are
 * bound parameters and so never SQL.
 */
export function sqlTextOf(first: unknown): string | null {
  if (typeof first === "string") return first;
  if (Array.isArray(first) && "raw" in first) return first.join("?");
  if (first !== null && typeof first === "object") {
    const { text, sql } = first as { text?: unknown; sql?: unknown };
    if (typeof text === "string") return text;
    if (typeof sql === "string") return sql;
  }
  return null;
}

/** A connection's method, called on the connection. */
export type ConnectionCall = (...args: unknown[]) => unknown;

/**
 * `connection` with each method that `replace` returns a function for replaced by it (`call` is the
 * method itself, bound); every other method is the connection's own, bound to it.
 */
export function proxyCalls<C extends object>(connection: C, replace: (property: PropertyKey, call: ConnectionCall) => ConnectionCall | undefined): C {
  return new Proxy(connection, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function") return value;
      const call = (value as ConnectionCall).bind(target);
      return replace(property, call) ?? call;
    },
  });
}

/** `entry` with its TypeScript bodies handed `guard(db)` for their connection; a SQL entry is returned as it is. */
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

/** The SQLite libraries' calls that run or prepare SQL (node:sqlite's tag store's too). */
const SQL_CALLS: ReadonlySet<PropertyKey> = new Set(["exec", "prepare", "run", "query", "each", "iterateStatements", "get", "all", "iterate"]);
/** The libraries' calls that write another file or load code into the connection. */
const FILE_CALLS: ReadonlySet<PropertyKey> = new Set(["backup", "loadExtension", "enableLoadExtension"]);

function refuseReaching(first: unknown): void {
  const text = typeof first === "string" ? first : Array.isArray(first) && "raw" in first ? first.join("?") : null;
  const reaching = text === null ? null : reachingStatement(text);
  if (reaching !== null) throw new OutsideCopyRefusedError(reaching);
}

/** `connection` with its SQL calls refusing what reaches another file, and its file calls refused. */
function containConnection<C extends object>(connection: C): C {
  return proxyCalls(connection, (property, call) => {
    if (FILE_CALLS.has(property)) {
      return () => {
        throw new OutsideCopyRefusedError(`${String(property)}()`);
      };
    }
    if (property === "createTagStore") return (...args) => containConnection(call(...args) as object);
    if (!SQL_CALLS.has(property)) return undefined;
    return (...args) => {
      refuseReaching(args[0]);
      return call(...args);
    };
  });
}

/**
 * `migrations` with every TypeScript body handed a contained connection, for a replay that opens its
 * database through another path than `openSnapshot` (`gen --check`'s, on an in-memory database).
 */
export function containBodies<M extends MigrationEntry>(migrations: readonly M[]): M[] {
  return migrations.map((entry) => withGuardedBodies(entry, containConnection));
}

/** The first SQL migration of `migrations` whose text reaches another file, with the statement; `null` when none does. */
export function firstReachingSql(migrations: readonly MigrationEntry[]): { readonly file: string; readonly statement: string } | null {
  for (const entry of migrations) {
    if (entry.kind !== "sql") continue;
    const statement = reachingStatement(entry.upSql) ?? (entry.downSql === null ? null : reachingStatement(entry.downSql));
    if (statement !== null) return { file: entry.file, statement };
  }
  return null;
}

/**
 * `copy` (a driver `openSnapshot` opened for a rehearsal, verify or replay) refusing every way a
 * migration reaches another file; see the module note.
 */
export function containCopy<Db>(copy: SyncDriver<Db>): SyncDriver<Db> {
  return {
    ...copy,
    exec: (sql) => {
      refuseReaching(sql);
      copy.exec(sql);
    },
    query: (sql, params) => {
      refuseReaching(sql);
      return copy.query(sql, params);
    },
    run: (sql, params) => {
      refuseReaching(sql);
      return copy.run(sql, params);
    },
    runBody: (entry, direction, context) => copy.runBody(withGuardedBodies(entry, containConnection), direction, context),
  };
}
