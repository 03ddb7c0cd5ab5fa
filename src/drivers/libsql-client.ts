/**
 * The libsql-client driver: the executor's primitives on a `Client` of `@libsql/client`, for a local
 * `file:` database or a remote one (`libsql://`, `http(s)://`, `ws(s)://`: Turso, sqld), and the
 * `stepwise-migrate/libsql-client` entry (`migrate`, `MigrationManager`). Every primitive returns a promise,
 * so the async runner drives the executor.
 *
 * A `Client` is not one connection: locally it lends a pooled connection per call, remotely each
 * call outside a transaction may be a stream of its own. The only handle that keeps one connection
 * for a while is `client.transaction("write")`. So the executor's write section is that transaction
 * (its `BEGIN IMMEDIATE`), every statement stepwise runs while it is open goes through it, and a
 * migration body receives it, not the client: its statements are part of the migration and roll
 * back with it. Outside a transaction (the history reads, a `transaction: false` migration)
 * statements go to the client.
 *
 * What follows from that, and is declared: no `changeCounter` (`PRAGMA data_version` counts per
 * connection, and two reads may reach two connections), no `foreignKeySwitch` (`PRAGMA foreign_keys`
 * set outside the transaction may land on another connection), no owner lock or `fileLocking`, no
 * snapshot, backup or second file. Remotely, no `userVersion`: Turso rejects `PRAGMA user_version`,
 * so the history table is the only record there, and the executor never reads or writes the pragma.
 */
import type { Client, InStatement, InValue, ResultSet, Transaction } from "@libsql/client";
import { AsyncMigrationManager, migrateAsyncWithManager, type MigrateAsyncOptions } from "../core/async-manager.js";
import type { AsyncDriver, ErrorClassification, Row, ScratchDatabase } from "../core/driver.js";
import { defineDriver } from "../core/define-driver.js";
import type { MigrationManagerProps, MigrationResult } from "../core/options.js";
import type { MigrationContext, MigrationDefinition, MigrationRegistry, VersionOf } from "../core/types.js";
import { createLibsqlClientDialect } from "./libsql-client-dialect.js";
import { createAsyncMigrationContext, type AsyncMigrationContext } from "../core/async-batches.js";
import { SQLITE_BATCH_DIALECT } from "../core/batch-walk.js";
import { classifyNativeSqliteError } from "./sqlite-shared.js";
import { statementTexts } from "./statement-texts.js";
import { usageError } from "../core/error-factories.js";

/**
 * What a migration body receives: the open write transaction (or, in a `transaction: false`
 * migration, the client). Both run statements the same way.
 */
export type LibsqlClientConnection = Pick<Transaction, "execute" | "batch" | "executeMultiple">;

/** Options of the libsql-client `MigrationManager` and `migrate`. */
export interface LibsqlClientMigrationManagerProps extends MigrationManagerProps {
  /**
   * Apply the remote rules (no `PRAGMA user_version`, no per-connection settings) even to a `file:`
   * database, so an app that will move to Turso proves its migrations without one. A remote URL
   * always gets them. Default: from the client's protocol.
   */
  readonly remote?: boolean;
  /**
   * Opens an empty database of the same library, for the safety nets that replay the migrations
   * (`verifySchema`, `baselineDatabase`), such as `() => createClient({ url: ":memory:" })`.
   * The client is closed after each replay. Without it those nets are refused with
   * `DRIVER_CAPABILITY_MISSING` (`snapshot`) before anything runs: stepwise imports no library itself,
   * so an app on `@libsql/client/web` bundles no native one. Default: none.
   */
  readonly scratchClient?: () => Client | Promise<Client>;
}

/** A TypeScript migration on libsql-client: `up` and `down` receive the migration's transaction and may be `async`. */
export interface LibsqlClientMigrationDefinition extends Omit<MigrationDefinition<LibsqlClientConnection>, "up" | "down"> {
  /** Applies the change through `db`, inside the migration's transaction unless `transaction: false`. */
  readonly up: (db: LibsqlClientConnection, context: AsyncMigrationContext<LibsqlClientConnection>) => void | Promise<void>;
  /** Undoes `up`. Without it the migration is irreversible. */
  readonly down?: (db: LibsqlClientConnection, context: AsyncMigrationContext<LibsqlClientConnection>) => void | Promise<void>;
}

/** Whether `client` reaches a server rather than a local file. A missing client (a capability probe) counts as a file. */
export function isRemoteClient(client: Pick<Client, "protocol"> | null | undefined): boolean {
  const protocol = client?.protocol;
  return typeof protocol === "string" && protocol !== "file";
}

/** How often a statement refused by a lock tries again while another connection holds it. */
const BUSY_POLL_MS = 20;

/**
 * How long past the busy timeout a libSQL server may take to answer a write transaction's opening:
 * its round trip. A server queues the opening behind another client's open write transaction and
 * never answers BUSY, so without a bound a second app instance waited as long as the first held its
 * migration (for ever, behind a migration that awaits).
 */
const REMOTE_ANSWER_MS = 1_000;

/**
 * Statements SQLite refuses inside a transaction (`VACUUM`, `ATTACH`, `DETACH`, a change of
 * `journal_mode`), ignores there (`PRAGMA foreign_keys = ...`), or that manage one themselves.
 */
const OUTSIDE_TRANSACTION_ONLY = /^(?:VACUUM|ATTACH|DETACH|BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b|^PRAGMA\b[^;]*=/i;

/** A statement with its bound values, as the client takes it. */
type StatementObject = Exclude<InStatement, string>;

/** What a statement run bare returns: `executeMultiple` reports nothing of it. */
const EMPTY_RESULT: ResultSet = {
  columns: [],
  columnTypes: [],
  rows: [],
  rowsAffected: 0,
  lastInsertRowid: undefined,
  toJSON: () => ({ columns: [], columnTypes: [], rows: [], rowsAffected: 0, lastInsertRowid: null }),
};

/** Whether a statement begins, ends or nests a transaction (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`). */
function isTransactionControl(text: string): boolean {
  return /^(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i.test(text);
}

/**
 * An integer as a number when JavaScript holds it exactly, else as its decimal text, whatever the
 * client's `intMode`: the contract every driver's `query` keeps.
 */
function plainValue(value: unknown): unknown {
  if (typeof value !== "bigint") return value;
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : value.toString();
}

/** A result's rows as plain objects keyed by column name (libsql's rows also carry index keys and `length`). */
function rowsOf(result: ResultSet): Row[] {
  return result.rows.map((row) => {
    const plain: Row = {};
    result.columns.forEach((column, index) => {
      if (!(column in plain)) plain[column] = plainValue(row[index]);
    });
    return plain;
  });
}

/**
 * Reads a `LibsqlError`'s code as stepwise's kind. Locally it carries SQLite's extended code as a
 * number (`rawCode`) and as text (`extendedCode`); remotely only the text (`code`).
 */
export const classifyLibsqlClientError: (error: unknown) => ErrorClassification = classifyNativeSqliteError;

/**
 * What stepwise keeps for one client: its own write transaction while one is open (every statement
 * stepwise runs then goes through it), and the busy timeout, which stepwise waits out itself.
 */
class ClientSession {
  busyTimeoutMs = 0;
  transaction: Transaction | null = null;

  constructor(readonly client: Client) {}

  /** Where a statement goes: the open write transaction, else the client. */
  target(): LibsqlClientConnection {
    return this.transaction ?? this.client;
  }

  /** Forgets a transaction that ended without us (a migration's own COMMIT), giving its connection back. */
  settleEnded(): void {
    if (this.transaction !== null && this.transaction.closed) {
      const ended = this.transaction;
      this.transaction = null;
      ended.close();
    }
  }

  /**
   * Runs `action` again while it fails for a lock, until the busy timeout runs out. The client's
   * connections may wait for no lock themselves (libsql's `busy_timeout` is 0 unless the app set
   * `timeout`, and remotely nothing sets it), so the timeout is kept here, yielding to the event loop
   * (a busy wait inside SQLite would block every other connection of this process, the lock holder's
   * included). Only for statements SQLite refuses whole when locked: opening the write section, COMMIT
   * (which a BUSY answer leaves open to be tried again), reads, and a statement outside a transaction.
   * Without it, processes starting at once failed on their first read of the history while another
   * one committed (DATABASE_LOCKED within milliseconds, whatever the busy timeout).
   */
  async waitOutLocks<T>(action: () => Promise<T>): Promise<T> {
    const started = performance.now();
    for (;;) {
      try {
        return await action();
      } catch (error) {
        const waited = performance.now() - started;
        if (classifyLibsqlClientError(error).kind !== "locked" || waited >= this.busyTimeoutMs) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(BUSY_POLL_MS, this.busyTimeoutMs - waited)));
      }
    }
  }

  /**
   * `transaction("write")` on a local file, without its flaw: libsql leaves a `BEGIN IMMEDIATE` that
   * failed with BUSY in progress on its connection, and the pool lends that connection again, whose
   * next transaction can then never commit ("SQL statements in progress"). So the transaction is
   * taken deferred (which takes no lock, so cannot be refused) and turned into a write one through
   * `executeMultiple`, whose statements SQLite finalises even when they fail. Refused, it gives its
   * clean connection back and the caller tries again.
   */
  async openWriteLocally(): Promise<Transaction> {
    const deferred = await this.client.transaction("deferred");
    try {
      await deferred.executeMultiple("COMMIT; BEGIN IMMEDIATE");
      return deferred;
    } catch (error) {
      deferred.close();
      throw error;
    }
  }

  /**
   * A write transaction on a server. The client sends its BEGIN with the first statement, which the
   * server queues behind another client's write transaction without answering BUSY; so it is opened
   * at once, by a `SELECT 1`, bounded by the busy timeout (plus {@link REMOTE_ANSWER_MS}): past it, a
   * BUSY refusal, which the executor reports as DATABASE_LOCKED with the time waited, and the
   * transaction is closed, its queued opening with it.
   */
  async openWriteRemotely(): Promise<Transaction> {
    const open = await this.client.transaction("write");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error("the libSQL server did not open the write transaction within the busy timeout: another client holds its write lock"), { code: "SQLITE_BUSY" })),
        this.busyTimeoutMs + REMOTE_ANSWER_MS,
      );
    });
    const opening = open.execute("SELECT 1");
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
  }

  /** A write transaction on a connection of its own, waiting out locks (remotely the server's own, bounded). */
  openWrite(): Promise<Transaction> {
    return this.waitOutLocks(() => (isRemoteClient(this.client) ? this.openWriteRemotely() : this.openWriteLocally()));
  }

  /**
   * `work` in a write transaction of its own, committed (a COMMIT refused by a lock waits it out):
   * what a statement outside stepwise's transaction runs in when its result is needed. Sent bare, a
   * write that a lock refuses stays in progress on its pooled connection (libsql does not reset it),
   * and a later `DROP` of a table it read fails with SQLITE_LOCKED; inside a transaction that already
   * holds the write lock, no lock can refuse it.
   */
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

  /**
   * A script outside any transaction, each statement as autocommit would run it: in a write
   * transaction of its own ({@link inOwnWrite}), whose COMMIT keeps its claim on the file while it
   * waits (a bare statement refused at its commit starts over, and processes polling the history
   * could starve it), or bare where SQLite allows no transaction (`VACUUM`), waiting out locks
   * through `executeMultiple`, which finalises a statement even when it fails. A script that manages
   * its own transaction needs its statements on one connection, which only one call gets (the pool
   * rolls back a connection given back mid-transaction): it runs whole.
   */
  async execOutsideTransaction(sql: string): Promise<void> {
    // A server takes its locks itself: what follows is for a file several processes share.
    if (isRemoteClient(this.client)) return void (await this.client.executeMultiple(sql));
    const texts = statementTexts(sql);
    if (texts.some(isTransactionControl)) return void (await this.client.executeMultiple(sql));
    for (const text of texts) {
      if (OUTSIDE_TRANSACTION_ONLY.test(text)) await this.waitOutLocks(() => this.client.executeMultiple(text));
      else await this.inOwnWrite((open) => open.executeMultiple(text));
    }
  }

  /**
   * A read outside stepwise's transaction, on a connection held for it (a deferred transaction,
   * rolled back after) whose `busy_timeout` is the manager's while it reads, so SQLite itself waits
   * for the lock. Not {@link waitOutLocks}: a read refused by a lock can stay in progress on its pooled
   * connection (libsql does not reset it) holding the file's shared lock, past a rollback, so a writer
   * committing in another process waits for this one while this one waits for it (seen with four
   * processes starting at once). Waiting inside SQLite cannot block this process's own lock holder: a
   * read waits only for a commit in progress, which another connection of this process finishes
   * within its own call.
   */
  async readOutsideTransaction(stmt: StatementObject): Promise<ResultSet> {
    if (isRemoteClient(this.client)) return this.client.execute(stmt);
    const open = await this.client.transaction("deferred");
    try {
      const previous = Number(Object.values(rowsOf(await open.execute("PRAGMA busy_timeout"))[0] ?? {})[0] ?? 0);
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

  /** One statement outside stepwise's transaction, its result kept; see {@link inOwnWrite}. */
  async executeOutsideTransaction(stmt: StatementObject): Promise<ResultSet> {
    if (isRemoteClient(this.client)) return this.client.execute(stmt);
    const text = statementTexts(stmt.sql)[0] ?? "";
    // What SQLite refuses, or ignores, inside a transaction runs bare, finalised even when refused.
    if (OUTSIDE_TRANSACTION_ONLY.test(text) && (stmt.args === undefined || (Array.isArray(stmt.args) && stmt.args.length === 0))) {
      await this.execOutsideTransaction(text);
      return EMPTY_RESULT;
    }
    return this.inOwnWrite((open) => open.execute(stmt));
  }

  /**
   * The client as a `transaction: false` body receives it: its statements wait out locks as
   * stepwise's own do, so a body's `VACUUM` meeting another process's brief write lock waits instead
   * of failing the migration (and leaving its started row for everyone to wait on).
   */
  lockWaitingClient(): Client {
    return new Proxy(this.client, {
      get: (target, property) => {
        if (property === "execute") return (stmt: InStatement, args?: InValue[]) => this.executeOutsideTransaction(typeof stmt === "string" ? { sql: stmt, args: args ?? [] } : stmt);
        if (property === "executeMultiple") return (sql: string) => this.execOutsideTransaction(sql);
        if (property === "batch") return (stmts: InStatement[]) => this.inOwnWrite((open) => open.batch(stmts));
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** Opens stepwise's write section: a write transaction, or with `deferred` one that takes its lock at its first statement. */
  async begin(mode: "immediate" | "deferred"): Promise<void> {
    this.settleEnded();
    if (this.transaction !== null) throw usageError("stepwise opened a write section while its previous one on this client was still open");
    this.transaction = await (mode === "immediate" ? this.openWrite() : this.waitOutLocks(() => this.client.transaction("deferred")));
  }

  /** Commits stepwise's write section, waiting out a reader's lock on the COMMIT. */
  async commit(): Promise<void> {
    const open = this.transaction;
    if (open === null) throw usageError("stepwise committed a write section that was not open");
    this.transaction = null;
    try {
      // COMMIT as a statement, not `open.commit()`: that gives the connection back even when SQLite
      // answered BUSY (a reader still on the file), where the transaction stays open to try again.
      // Through `executeMultiple`, so a refused COMMIT is finalised, not left in progress (see openWriteLocally).
      await this.waitOutLocks(() => open.executeMultiple("COMMIT"));
    } finally {
      // Rolls back whatever a failed commit left open, and gives the connection back.
      open.close();
    }
  }

  /** Rolls back stepwise's write section, if one is open, and gives its connection back. */
  async rollback(): Promise<void> {
    const open = this.transaction;
    this.transaction = null;
    if (open === null) return;
    try {
      await open.rollback();
    } catch {
      // Already ended (by SQLite after an error, or by the migration); its connection goes back below.
    } finally {
      open.close();
    }
  }
}

/**
 * The executor's primitives on `client`. `remote` applies the remote rules (see
 * {@link LibsqlClientMigrationManagerProps.remote}); it is on whenever the client is remote. A
 * manager built on it needs {@link createLibsqlClientDialect} too, as {@link MigrationManager} passes
 * it: SQLite's default dialect makes the commit witness outside a transaction, where a client may
 * lend another connection than the transaction's.
 *
 * @example
 * const driver = createLibsqlClientDriver(createClient({ url: "file:app.db" }));
 */
export function createLibsqlClientDriver(client: Client, options: Pick<LibsqlClientMigrationManagerProps, "remote" | "scratchClient"> = {}): AsyncDriver<Client> {
  const remote = options.remote === true || isRemoteClient(client);
  const session = new ClientSession(client);
  const statement = (sql: string, params: readonly unknown[]): StatementObject => ({ sql, args: params as InValue[] });
  const driver: AsyncDriver<Client> = defineDriver({
    name: "libsql-client",
    dialect: "sqlite",
    async: true,
    connection: client,
    // See the module note.
    lacks: remote ? ["foreignKeySwitch", "userVersion"] : ["foreignKeySwitch"],
    exec: async (sql) => {
      session.settleEnded();
      if (session.transaction !== null) return void (await session.transaction.executeMultiple(sql));
      await session.execOutsideTransaction(sql);
    },
    query: async (sql, params) => {
      session.settleEnded();
      const open = session.transaction;
      // In stepwise's transaction, as every statement; a deferred one takes its lock at its first read, so that waits out locks.
      if (open !== null) return rowsOf(await session.waitOutLocks(() => open.execute(statement(sql, params))));
      return rowsOf(await session.readOutsideTransaction(statement(sql, params)));
    },
    run: async (sql, params) => {
      session.settleEnded();
      const open = session.transaction;
      return { changes: (open !== null ? await open.execute(statement(sql, params)) : await session.executeOutsideTransaction(statement(sql, params))).rowsAffected };
    },
    begin: (mode) => session.begin(mode),
    commit: () => session.commit(),
    rollback: () => session.rollback(),
    inTransaction: async () => {
      session.settleEnded();
      return session.transaction !== null;
    },
    getBusyTimeout: async () => session.busyTimeoutMs,
    setBusyTimeout: async (ms) => {
      session.busyTimeoutMs = ms;
    },
    runBody: async (entry, direction, context) => {
      const body = direction === "up" ? entry.module.up : entry.module.down;
      const db = session.transaction ?? (isRemoteClient(client) ? client : session.lockWaitingClient());
      await (body as (db: LibsqlClientConnection, context: MigrationContext) => unknown).call(entry.module, db, context);
    },
    // A handler writes through the open transaction (the migration's, or its batch's own), as a body does.
    createContext: (entry, direction, progress) => createAsyncMigrationContext(driver, SQLITE_BATCH_DIALECT, () => session.target(), entry, direction, progress),
    classifyError: classifyLibsqlClientError,
    ...(options.scratchClient === undefined ? {} : { openScratchDatabase: () => openScratchClient(options.scratchClient!) }),
  });
  return driver;
}

/** An empty database from the app's `scratchClient`, as a scratch database the replaying nets close after. */
async function openScratchClient(open: () => Client | Promise<Client>): Promise<ScratchDatabase<Client>> {
  const scratch = await open();
  let dropped = false;
  return {
    name: ":memory:",
    // The local rules: the scratch database is the app's own library on a private connection.
    driver: createLibsqlClientDriver(scratch),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      scratch.close();
    },
  };
}

/**
 * Applies and reverts the migrations of a generated registry through an `@libsql/client` `Client`
 * (`createClient({ url })`, a `file:` or a remote URL). Every method returns a promise; each
 * migration runs in a `client.transaction("write")` with its history row, and its body receives
 * that transaction. The client is never closed.
 *
 * @example
 * import { createClient } from "@libsql/client";
 * import { MigrationManager } from "stepwise-migrate/libsql-client";
 * import { migrations } from "../generated/registry.js";
 *
 * const manager = new MigrationManager(createClient({ url: process.env.DATABASE_URL! }), migrations);
 * await manager.up();
 */
export class MigrationManager<R extends MigrationRegistry = MigrationRegistry> extends AsyncMigrationManager<Client, R> {
  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `REGISTRY_DIALECT_MISMATCH` when it was generated for PostgreSQL.
   */
  constructor(client: Client, migrations: R, props: LibsqlClientMigrationManagerProps = {}) {
    const { remote, scratchClient, ...settings } = props;
    const driver = createLibsqlClientDriver(client, { ...(remote === undefined ? {} : { remote }), ...(scratchClient === undefined ? {} : { scratchClient }) });
    super(driver, migrations, settings, createLibsqlClientDialect({ remote: !driver.capabilities.userVersion }));
  }
}

/**
 * Applies every pending migration: the one call an app makes at start-up.
 *
 * @example
 * await migrate(createClient({ url: "file:app.db" }), migrations, { logger: console });
 */
export function migrate<R extends MigrationRegistry>(client: Client, migrations: R, options: LibsqlClientMigrationManagerProps & MigrateAsyncOptions<VersionOf<R>> = {}): Promise<MigrationResult> {
  return migrateAsyncWithManager(options, (props) => new MigrationManager(client, migrations, props as LibsqlClientMigrationManagerProps), "stepwise-migrate/libsql-client");
}

/**
 * Declares a TypeScript migration whose `db` is the migration's libsql transaction. Bodies may be
 * `async`: the transaction stays open across their awaits.
 *
 * @example
 * import { defineMigration } from "stepwise-migrate/libsql-client";
 * export default defineMigration({ async up(db) { await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)"); } });
 */
export function defineMigration<const T extends LibsqlClientMigrationDefinition>(definition: T): T {
  return definition;
}
