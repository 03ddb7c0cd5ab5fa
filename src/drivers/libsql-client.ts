/**
 * The libsql-client driver (`@libsql/client` on a `file:` database or a server). A `Client` lends a connection per call and only `client.transaction()` keeps one, so
 * the write section is that transaction, and a body receives it; remotely no `user_version` (Turso refuses it), temp schema or per-connection settings.
 */
import type { Client, InStatement, InValue, ResultSet, Transaction } from "@libsql/client";
import { AsyncMigrationManager, migrateAsyncOn, type MigrateAsync } from "../core/async-manager.js";
import type { AsyncDriver, ErrorClassification, Row } from "../core/driver.js";
import { defineDriver, runBodyOnConnection } from "../core/define-driver.js";
import { SQLITE_DIALECT, statementTexts } from "../core/dialects/sqlite.js";
import { createSqliteEscapeGuard } from "../core/transaction-guard.js";
import { createHistoryGuard } from "../core/history-guard.js";
import { keysOf, MANAGER_OPTIONS, optionsObject, refuseNonConnection, refuseUnknownOptions, type MigrationManagerProps, refuseOtherLibrary } from "../core/options.js";
import { returnDefinition, type MigrationDefinition, type MigrationRegistry } from "../core/types.js";
import { createAsyncMigrationContext, type AsyncMigrationContext } from "../core/async-batches.js";
import { SQLITE_BATCH_DIALECT } from "../core/batch-walk.js";
import { classifyNativeSqliteError } from "./sqlite-shared.js";
import { findInCauseChain } from "../core/sql-location.js";
import { connectionLostError, usageError } from "../core/error-factories.js";
import type { MigrationFailure } from "../core/dialect.js";
import type { Step } from "../core/step.js";
import { StepwiseError } from "../core/errors.js";
import type { RunOptions } from "../core/manager-base.js";

/** What a migration body receives: the open write transaction (or, with `transaction: false`, the client). */
export type LibsqlClientConnection = Pick<Transaction, "execute" | "batch" | "executeMultiple">;

/** Options of the libsql-client `MigrationManager` and `migrate`. */
export interface LibsqlClientMigrationManagerProps extends MigrationManagerProps {
  /** Apply the remote rules (no `PRAGMA user_version`, no per-connection settings) to a `file:` database too, to prove migrations bound for Turso. Default: from the client's protocol. */
  readonly remote?: boolean;
  /** Opens an empty database for `verifySchema` and `baselineDatabase` to replay in (`() => createClient({ url: ":memory:" })`), closed after; without it they are refused. */
  readonly scratchClient?: () => Client | Promise<Client>;
}

/** The props of {@link LibsqlClientMigrationManagerProps} beyond every manager's. */
const LIBSQL_CLIENT_OPTIONS = keysOf<Omit<LibsqlClientMigrationManagerProps, keyof MigrationManagerProps>>({ remote: true, scratchClient: true });

/** A TypeScript migration on libsql-client: `up` and `down` receive the migration's transaction and may be `async`. */
export interface LibsqlClientMigrationDefinition extends Omit<MigrationDefinition<LibsqlClientConnection>, "up" | "down"> {
  /** Applies the change through `db`, inside the migration's transaction unless `transaction: false`. */
  readonly up: (db: LibsqlClientConnection, context: AsyncMigrationContext<LibsqlClientConnection>) => void | Promise<void>;
  /** Undoes `up`. Without it the migration is irreversible. */
  readonly down?: (db: LibsqlClientConnection, context: AsyncMigrationContext<LibsqlClientConnection>) => void | Promise<void>;
}

/** Whether `client` reaches a server rather than a local file (no client: a file). */
export function isRemoteClient(client: Pick<Client, "protocol"> | null | undefined): boolean {
  return typeof client?.protocol === "string" && client.protocol !== "file";
}

/** Reads a `LibsqlError`'s SQLite code: `rawCode` and `extendedCode` locally, `code` remotely; a server that stopped answering (`fetch failed`, a reset socket) is `lost`. */
export function classifyLibsqlClientError(error: unknown): ErrorClassification {
  const classification = classifyNativeSqliteError(error);
  return classification.nativeCode === null && isNetworkFailure(error) ? { kind: "lost", nativeCode: null } : classification;
}

/** Whether a system or undici socket code (`ECONNRESET`, `UND_ERR_SOCKET`), or the client's WebSocket failure (`HRANA_WEBSOCKET_ERROR`, which a `ws://` URL reports and every later call on the
 * closed stream carries as its cause), is down `error`'s cause chain. */
function isNetworkFailure(error: unknown): boolean {
  const network = /^(?:UND_ERR_|ECONN|EPIPE$|ETIMEDOUT$|EHOSTUNREACH$|ENETUNREACH$|HRANA_WEBSOCKET_ERROR$)/;
  return findInCauseChain(error, ({ code }: { code?: unknown }) => typeof code === "string" && network.test(code)) !== undefined;
}

/** A migration cut off by a lost server as `CONNECTION_LOST`: what the session ended and what to do, not the migration's fault. */
function* describeLostServer({ entry, direction, cause, rolledBack, origin, classification }: MigrationFailure): Step<StepwiseError | null> {
  if (classification.kind !== "lost") return null;
  const outcome = origin === "commit" ? "commit-unknown" : rolledBack ? "rolled-back" : "partly-applied";
  return connectionLostError({ version: entry.version, file: entry.file, direction, outcome, reason: networkReason(cause), cause });
}

/** The library's words and the socket's (`fetch failed: connect ECONNREFUSED …`): the first alone says nothing. */
const networkReason = (error: unknown): string =>
  [error, (error as { cause?: unknown } | null)?.cause]
    .map((each) => (each instanceof Error ? each.message : ""))
    .filter(Boolean)
    .join(": ");

/** Statements SQLite refuses (or, `PRAGMA x = y`, ignores) inside a transaction, or that manage one. */
const OUTSIDE_TRANSACTION_ONLY = /^(?:VACUUM|ATTACH|DETACH|BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b|^PRAGMA\b[^;]*=/i;
const TRANSACTION_CONTROL = /^(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;
const BUSY_TIMEOUT_READ = /^PRAGMA\s+busy_timeout$/i;

type StatementObject = Exclude<InStatement, string>;

/** What a statement run bare reports: `executeMultiple` returns nothing of it. */
const EMPTY_JSON = { columns: [], columnTypes: [], rows: [], rowsAffected: 0, lastInsertRowid: null };
const EMPTY_RESULT: ResultSet = { ...EMPTY_JSON, lastInsertRowid: undefined, toJSON: () => EMPTY_JSON };

/** Rows as plain objects, integers as numbers where exact (else decimal text), whatever the client's `intMode`. */
function rowsOf(result: ResultSet): Row[] {
  return result.rows.map((row) => {
    const plain: Row = {};
    result.columns.forEach((column, index) => {
      const value = row[index];
      if (!(column in plain)) plain[column] = typeof value !== "bigint" ? value : Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    });
    return plain;
  });
}

/** Per client, its check that integers come back as numbers: with `intMode: "string"` a version reads like text, and the history like another tool's. */
const intModeChecks = new WeakMap<Client, Promise<void>>();

/** Refuses a client made with `intMode: "string"`, once per client, before stepwise reads or writes through it. */
function refuseStringIntegers(client: Client): Promise<void> {
  let check = intModeChecks.get(client);
  if (check === undefined) {
    check = client.execute("SELECT 1").then(
      (result) => {
        if (typeof result.rows[0]?.[0] === "string")
          throw usageError(
            'This @libsql/client client returns integers as text (intMode: "string"), which stepwise cannot tell from text. Nothing was changed. Create the client stepwise uses with intMode "number" (the default) or "bigint".',
          );
      },
      (error: unknown) => {
        // A failure of the read itself (a network blip) is the caller's to report; the next call asks again.
        intModeChecks.delete(client);
        throw error;
      },
    );
    intModeChecks.set(client, check);
  }
  return check;
}

/** One client's open write transaction, and the busy timeout, which stepwise waits out itself (the client's connections wait for no lock). */
class ClientSession {
  busyTimeoutMs = 0;
  transaction: Transaction | null = null;
  readonly remote: boolean;

  constructor(readonly client: Client) {
    this.remote = isRemoteClient(client);
  }

  /** The open transaction, forgetting (and giving back the connection of) one a migration's own COMMIT ended. */
  open(): Transaction | null {
    if (this.transaction?.closed) {
      this.transaction.close();
      this.transaction = null;
    }
    return this.transaction;
  }

  /** `action` again while a lock refuses it, up to the busy timeout; only for statements SQLite refuses whole (BEGIN, COMMIT, reads, autocommit). */
  async waitOutLocks<T>(action: () => Promise<T>): Promise<T> {
    const started = performance.now();
    for (;;) {
      try {
        return await action();
      } catch (error) {
        const waited = performance.now() - started;
        if (classifyLibsqlClientError(error).kind !== "locked" || waited >= this.busyTimeoutMs) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(20, this.busyTimeoutMs - waited)));
      }
    }
  }

  /**
   * A write transaction on a connection of its own. Locally made a write one through `executeMultiple`, which finalises a refused `BEGIN IMMEDIATE` (left in progress, the
   * pooled connection could never commit again). Remotely opened by a `SELECT 1` bounded by the busy timeout: a server queues it behind another writer, never answering BUSY.
   */
  openWrite(): Promise<Transaction> {
    return this.waitOutLocks(async () => {
      const open = await this.client.transaction(this.remote ? "write" : "deferred");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const busy = Object.assign(new Error("the libSQL server did not open the write transaction within the busy timeout: another client holds its write lock"), { code: "SQLITE_BUSY" });
      const opening = this.remote ? open.execute("SELECT 1") : open.executeMultiple("COMMIT; BEGIN IMMEDIATE");
      const expired = this.remote ? new Promise<never>((_, reject) => (timer = setTimeout(() => reject(busy), this.busyTimeoutMs + 1_000))) : opening;
      try {
        await Promise.race([opening, expired]);
        return open;
      } catch (error) {
        opening.catch(() => undefined);
        open.close();
        throw error;
      } finally {
        clearTimeout(timer);
      }
    });
  }

  /** `work` in a committed write transaction of its own: sent bare, a write a lock refused stays in progress on its pooled connection (a later `DROP` fails SQLITE_LOCKED). */
  async inOwnWrite<T>(work: (open: Transaction) => Promise<T>): Promise<T> {
    const open = await this.openWrite();
    try {
      const result = await work(open);
      await this.waitOutLocks(() => open.executeMultiple("COMMIT"));
      return result;
    } finally {
      open.close();
    }
  }

  /** A script outside any transaction, each statement in a write transaction of its own or bare where SQLite allows none; whole when it manages its own, or remotely. */
  async execOutsideTransaction(sql: string): Promise<void> {
    const texts = this.remote ? [] : statementTexts(sql);
    if (this.remote || texts.some((text) => TRANSACTION_CONTROL.test(text))) return void (await this.client.executeMultiple(sql));
    for (const text of texts) {
      if (OUTSIDE_TRANSACTION_ONLY.test(text)) await this.waitOutLocks(() => this.client.executeMultiple(text));
      else await this.inOwnWrite((open) => open.executeMultiple(text));
    }
  }

  /**
   * A read outside stepwise's transaction with the manager's `busy_timeout`, so SQLite waits (a read retried by {@link waitOutLocks} can stay holding its shared lock). A PRAGMA that
   * sets runs bare: in a transaction SQLite refuses `journal_mode = DELETE`, which is how an exclusive WAL's lock is let go after a `transaction: false` migration.
   */
  async readOutsideTransaction(stmt: StatementObject): Promise<ResultSet> {
    if (this.remote) return this.client.execute(stmt);
    const text = statementTexts(stmt.sql)[0] ?? "";
    if (OUTSIDE_TRANSACTION_ONLY.test(text)) return this.waitOutLocks(() => this.client.execute(stmt));
    const open = await this.client.transaction("deferred");
    try {
      const timeout = await open.execute("PRAGMA busy_timeout");
      // The connection's own, not the one this read sets for itself: the settings snapshot compares it with what a migration left.
      if (BUSY_TIMEOUT_READ.test(text)) return timeout;
      const previous = Number(Object.values(rowsOf(timeout)[0] ?? {})[0] ?? 0);
      await open.executeMultiple(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(this.busyTimeoutMs))}`);
      try {
        return await open.execute(stmt);
      } finally {
        await open.executeMultiple(`PRAGMA busy_timeout = ${previous}`);
      }
    } finally {
      open.close();
    }
  }

  async executeOutsideTransaction(stmt: StatementObject): Promise<ResultSet> {
    if (this.remote) return this.client.execute(stmt);
    const text = statementTexts(stmt.sql)[0] ?? "";
    if (!OUTSIDE_TRANSACTION_ONLY.test(text) || (Array.isArray(stmt.args) ? stmt.args.length > 0 : stmt.args !== undefined)) return this.inOwnWrite((open) => open.execute(stmt));
    await this.execOutsideTransaction(text);
    return EMPTY_RESULT;
  }

  /** The client as a local `transaction: false` body receives it: its statements wait out locks as stepwise's do. */
  lockWaitingClient(): Client {
    return overriding(this.client, {
      execute: (stmt: InStatement, args?: InValue[]) => this.executeOutsideTransaction(typeof stmt === "string" ? { sql: stmt, args: args ?? [] } : stmt),
      executeMultiple: (sql: string) => this.execOutsideTransaction(sql),
      batch: (stmts: InStatement[]) => this.inOwnWrite((open) => open.batch(stmts)),
    });
  }

  async begin(mode: "immediate" | "deferred"): Promise<void> {
    this.open();
    this.transaction = await (mode === "immediate" ? this.openWrite() : this.waitOutLocks(() => this.client.transaction("deferred")));
  }

  /** Ends the write section: committed (not by `commit()`, which gives the connection back even when a lock refused the COMMIT; `executeMultiple` finalises a refused one), or rolled back. */
  async end(commit: boolean): Promise<void> {
    const open = this.transaction;
    this.transaction = null;
    try {
      if (commit) await this.waitOutLocks(() => open!.executeMultiple("COMMIT"));
      // Quietly: already ended by SQLite or the migration.
      else await open?.rollback().catch(() => undefined);
    } finally {
      open?.close();
    }
  }
}

/** `target` as a body receives it: `members` in place of its own, its other methods bound to it. */
function overriding<T extends object>(target: T, members: Partial<Record<PropertyKey, unknown>>): T {
  return new Proxy(target, {
    get: (object, property) => {
      if (Object.hasOwn(members, property)) return members[property];
      const value = Reflect.get(object, property, object) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

/** The executor's primitives on `client` (`remote`: the remote rules on a file too). */
export function createLibsqlClientDriver(client: Client, options: Pick<LibsqlClientMigrationManagerProps, "remote" | "scratchClient"> = {}): AsyncDriver<Client> {
  refuseOtherLibrary(client, "libsql-client", "an @libsql/client Client (createClient)", ["execute", "executeMultiple", "transaction"]);
  const session = new ClientSession(client);
  const statement = (sql: string, args: readonly unknown[]): StatementObject => ({ sql, args: args as InValue[] });
  const { scratchClient } = options;
  const driver: AsyncDriver<Client> = defineDriver({
    name: "libsql-client",
    dialect: "sqlite",
    async: true,
    connection: client,
    isOpen: () => !client.closed,
    lacks: options.remote === true || session.remote ? ["foreignKeySwitch", "userVersion"] : ["foreignKeySwitch"],
    exec: async (sql) => void (await (session.open()?.executeMultiple(sql) ?? session.execOutsideTransaction(sql))),
    // A deferred transaction takes its lock at its first read, so that waits out locks too.
    query: async (sql, params) => {
      await refuseStringIntegers(client);
      const stmt = statement(sql, params);
      return rowsOf(await (session.open() ? session.waitOutLocks(() => session.transaction!.execute(stmt)) : session.readOutsideTransaction(stmt)));
    },
    run: async (sql, params) => ({ changes: (await (session.open()?.execute(statement(sql, params)) ?? session.executeOutsideTransaction(statement(sql, params)))).rowsAffected }),
    begin: async (mode) => {
      await refuseStringIntegers(client);
      await session.begin(mode);
    },
    commit: () => session.end(true),
    rollback: () => session.end(false),
    inTransaction: async () => session.open() !== null,
    getBusyTimeout: async () => session.busyTimeoutMs,
    setBusyTimeout: async (ms) => void (session.busyTimeoutMs = ms),
    runBody: async (entry, direction, context) => {
      const open = session.transaction;
      let closedByBody = false;
      // Closing the transaction rolls it back: the body closed what it was given, as a db.close() on the other drivers, not an escape from it.
      const given = open === null ? (session.remote ? client : session.lockWaitingClient()) : overriding(open, { close: () => ((closedByBody = true), open.close()) });
      await runBodyOnConnection(given, () => !client.closed && !closedByBody, entry, direction, context, undefined, true);
    },
    // A batch handler writes through the open transaction, as a body does.
    createContext: (entry, direction, progress) => createAsyncMigrationContext(driver, SQLITE_BATCH_DIALECT, () => session.transaction ?? client, entry, direction, progress),
    classifyError: classifyLibsqlClientError,
    openScratchDatabase:
      scratchClient === undefined
        ? undefined
        : async () => {
            const scratch = await scratchClient();
            return { name: ":memory:", driver: createLibsqlClientDriver(scratch), drop: async () => void (scratch.closed || scratch.close()) };
          },
  });
  return driver;
}

/**
 * Applies and reverts a generated registry through an `@libsql/client` `Client` (`file:` or remote); each migration runs in a write transaction with its history row,
 * and its body receives that transaction. Every method returns a promise; the client is never closed.
 *
 * @example
 * await new MigrationManager(createClient({ url: process.env.DATABASE_URL! }), migrations).up();
 */
export class MigrationManager<R extends MigrationRegistry = MigrationRegistry> extends AsyncMigrationManager<Client, R> {
  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `REGISTRY_DIALECT_MISMATCH` when it was generated for PostgreSQL.
   */
  constructor(client: Client, migrations: R, props: LibsqlClientMigrationManagerProps = {}) {
    refuseNonConnection(client, "new MigrationManager");
    const { remote: remoteRules, scratchClient, ...settings } = optionsObject(props, "new MigrationManager");
    refuseUnknownOptions(props, [...MANAGER_OPTIONS, ...LIBSQL_CLIENT_OPTIONS], "new MigrationManager");
    const driver = createLibsqlClientDriver(client, { remote: remoteRules, scratchClient });
    const remote = !driver.capabilities.userVersion;
    // SQLite's dialect where a `Client` reaches one connection: the commit witness made inside each transaction (one made outside would land on another connection), the history guard on
    // bodies in one; remotely both in `main` (no temp schema) and no connection settings kept (each statement may reach another stream).
    super(driver, migrations, settings, {
      ...SQLITE_DIALECT,
      startEscapeGuard: createSqliteEscapeGuard({ witnessSchema: remote ? "main" : "temp", witnessPerTransaction: true, userVersion: !remote }),
      guardHistory: (store) => createHistoryGuard(store, remote ? { schema: "main" } : { transactionsOnly: true }),
      describeFailure: describeLostServer,
      ...(remote ? { snapshotConnectionSettings: undefined, restoreConnectionSettings: undefined } : {}),
    });
  }

  /** Runs a step; a server that does not answer outside a migration (reading the history, before anything ran) is `CONNECTION_LOST`, not the library's bare `TypeError: fetch failed`. */
  override async run<T>(step: Step<T>, options: RunOptions = {}): Promise<T> {
    try {
      return await super.run(step, options);
    } catch (error) {
      if (error instanceof StepwiseError || classifyLibsqlClientError(error).kind !== "lost") throw error;
      throw connectionLostError({ outcome: "none-running", reason: networkReason(error), cause: error });
    }
  }
}

/**
 * Applies every pending migration: the one call an app makes at start-up.
 *
 * @example
 * await migrate(createClient({ url: "file:app.db" }), migrations, { logger: console });
 */
export const migrate: MigrateAsync<Client, LibsqlClientMigrationManagerProps> = /* @__PURE__ */ migrateAsyncOn(MigrationManager, "libsql-client", "migrate", LIBSQL_CLIENT_OPTIONS);

/**
 * Declares a TypeScript migration whose `db` is the migration's libsql transaction; bodies may be `async`, the transaction staying open across their awaits.
 *
 * @example
 * export default defineMigration({ async up(db) { await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)"); } });
 */
export const defineMigration: <const T extends LibsqlClientMigrationDefinition>(definition: T) => T = returnDefinition;
