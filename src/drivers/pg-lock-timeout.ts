/**
 * The pg driver's `lock_timeout` (`lockTimeoutMs`): how a run bounds its waits for other sessions'
 * locks, and how it names the holder when one runs out.
 *
 * - In stepwise's transactions it travels with the BEGIN (`SET LOCAL`, no round trip more), and ends
 *   with them.
 * - Around a `transaction: false` migration it is set for the session, and put back after as the
 *   session had it: the value it had SET, or RESET to what it started with.
 * - Outside a transaction, stepwise's own statements (the history read before a run) cannot take a
 *   `SET LOCAL`, and a `SET` for the session would cost two round trips on every start: the watch
 *   below ends their waits instead, cancelling one that waits for a lock once it has run the timeout.
 * - PostgreSQL's error says only "canceling statement due to lock timeout"; the relation and the
 *   session holding it are in `pg_locks` only while the wait lasts. So while a statement (or a
 *   migration body) has run a third of the timeout, a second connection looks there every third of
 *   it and keeps the last wait it saw; when the statement fails for its lock timeout, that wait is
 *   recorded on the error (`recordLockWait`), which `LOCK_TIMEOUT` names. The second connection
 *   opens only when a statement runs that long, and closes when the session is idle again. A look
 *   that fails (no connection slot, no password to reuse) records nothing: the error still says
 *   what ran out.
 */
import type pg from "pg";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../core/options.js";
import { isLockTimeout, recordLockWait } from "../core/dialects/postgres-failures.js";
import { CONCAT, EQ, NE, TEXT } from "../core/dialects/postgres-operators.js";
import type { LockHolderSession, LockWait } from "../core/lock-timeout-error.js";
import { STEPWISE_QUERY_TYPES } from "./pg-query-types.js";
import { clientLike } from "./pg-second-connection.js";
import { usageError } from "../core/error-factories.js";

/**
 * The locks session `$1` waits for, each with a session that holds it (`pg_blocking_pids`): the
 * relation's name (a row's wait names the relation of the tuple lock it holds), and of each holder
 * what `pg_stat_activity` shows besides its query text.
 */
const WAITS_SQL = `SELECT w.locktype::${TEXT} AS "lockType", w.mode::${TEXT} AS mode,
    (SELECT n.nspname::${TEXT} ${CONCAT} '.' ${CONCAT} c.relname::${TEXT}
       FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
       WHERE c.oid ${EQ} COALESCE(w.relation, (SELECT t.relation FROM pg_catalog.pg_locks AS t WHERE t.pid ${EQ} w.pid AND t.locktype ${EQ} 'tuple' LIMIT 1))) AS relation,
    b.pid, CASE WHEN a.application_name ${NE} '' THEN a.application_name::${TEXT} END AS "applicationName", a.state::${TEXT} AS state,
    pg_catalog.to_char(pg_catalog.timezone('UTC', a.xact_start), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "transactionStart",
    pg_catalog.to_char(pg_catalog.timezone('UTC', a.query_start), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "queryStart"
  FROM pg_catalog.pg_locks AS w
  CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(w.pid)) AS b(pid)
  LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid ${EQ} b.pid
  WHERE w.pid ${EQ} $1 AND NOT w.granted
  ORDER BY b.pid`;

interface WaitRow extends LockHolderSession {
  readonly lockType: string;
  readonly mode: string;
  readonly relation: string | null;
}

/**
 * `lockTimeoutMs` (default `DEFAULT_LOCK_TIMEOUT_MS`) as the whole milliseconds stepwise sets.
 *
 * @throws `USAGE` when it is no number of milliseconds, 0 or more.
 */
export function lockTimeoutOf(lockTimeoutMs: number | undefined): number {
  const value = lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw usageError(`lockTimeoutMs must be a number of milliseconds, 0 or more (0: set no lock_timeout); got ${String(value)}.`);
  }
  // PostgreSQL's lock_timeout is at most INT_MAX milliseconds.
  return Math.min(Math.trunc(value), 2_147_483_647);
}

/** Options of the second connection's session: it must never hold the run up for long. */
const LOOK_TIMEOUTS = { connectionTimeoutMillis: 5_000, query_timeout: 5_000 };

/**
 * How a session runs its statements under the run's `lock_timeout` (see the module note): `0` sets
 * none and watches nothing. `sessionGone` says when the session can no longer send, so nothing is
 * put back through it.
 */
export class SessionLockTimeout {
  /** The statement that opens a transaction: `BEGIN`, with the `SET LOCAL` when a timeout is set. */
  readonly begin: string;
  private readonly interval: number;
  private running = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private looking: Promise<void> | null = null;
  private second: pg.Client | null = null;
  private last: { readonly at: number; readonly wait: LockWait } | null = null;
  // The outermost statement watched: when it started, whether its wait is to be ended, and whether it was.
  private active: { readonly started: number; readonly enforce: boolean; cancelled: boolean } | null = null;
  private pendingRestore: string | null = null;

  constructor(
    private readonly session: pg.ClientBase,
    private readonly lockTimeoutMs: number,
    private readonly sessionGone: () => boolean,
  ) {
    this.begin = lockTimeoutMs > 0 ? `BEGIN; SET LOCAL lock_timeout = ${lockTimeoutMs}` : "BEGIN";
    this.interval = Math.max(10, Math.floor(lockTimeoutMs / 3));
  }

  /**
   * Runs `action` (one statement, or a migration body) watched for a lock wait: see the module note.
   * With `enforce` (a statement of stepwise's own outside any transaction, where no `SET LOCAL` can
   * reach), the watch also ends the wait: a statement waiting for a lock once it has run the timeout
   * is cancelled, and fails as a lock timeout.
   */
  async watch<T>(action: () => Promise<T>, enforce = false): Promise<T> {
    const pid = (this.session as { processID?: unknown }).processID;
    if (this.lockTimeoutMs === 0 || typeof pid !== "number") return action();
    const watched = { started: performance.now(), enforce, cancelled: false };
    if (this.running++ === 0) {
      this.active = watched;
      this.schedule(pid);
    }
    try {
      return await action();
    } catch (thrown) {
      // Cancelled by the watch for its lock wait: the server's lock_timeout would have said so.
      const error = watched.cancelled && (thrown as { code?: unknown } | null)?.code === "57014" ? cancelledForLock(thrown) : thrown;
      if (isLockTimeout(error)) {
        // A look under way may be the one that sees it.
        await this.looking;
        if (this.last !== null && this.last.at >= watched.started) recordLockWait(error, this.last.wait);
      }
      throw error;
    } finally {
      // Idle again: no more looks, and the second connection goes (after the look under way, if one is).
      if (--this.running === 0) {
        clearTimeout(this.timer);
        if (this.looking === null) this.close();
      }
    }
  }

  /**
   * Runs `action` (a `transaction: false` migration's statements) under the timeout set for the
   * session, and puts the session's own back after, or, while `action` left a transaction open
   * (which would take the restore back with its rollback), once {@link restorePending} is called
   * after that transaction ends.
   */
  async aroundSession<T>(action: () => Promise<T>, inTransaction: () => boolean): Promise<T> {
    if (this.lockTimeoutMs === 0) return action();
    const [before] = (await this.session.query(
      `SELECT s.setting, s.source FROM pg_catalog.pg_settings AS s WHERE s.name ${EQ} 'lock_timeout'; SET lock_timeout = ${this.lockTimeoutMs}`,
    )) as unknown as [pg.QueryResult<{ setting: string; source: string }>];
    const row = before.rows[0];
    try {
      return await action();
    } finally {
      this.pendingRestore = row?.source === "session" ? `SELECT pg_catalog.set_config('lock_timeout', '${row.setting.replace(/'/g, "''")}', false)` : "RESET lock_timeout";
      if (!inTransaction()) await this.restorePending();
    }
  }

  /** Puts back the session's own `lock_timeout` if {@link aroundSession} left that for later. */
  async restorePending(): Promise<void> {
    const restore = this.pendingRestore;
    this.pendingRestore = null;
    if (restore !== null && !this.sessionGone()) await this.session.query(restore).catch(() => undefined);
  }

  private schedule(pid: number): void {
    this.timer = setTimeout(() => {
      this.looking = this.look(pid).finally(() => {
        this.looking = null;
        if (this.running > 0) this.schedule(pid);
        else this.close();
      });
    }, this.interval);
    // The process must not stay alive for a look.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Reads what session `pid` waits for, and cancels an enforced statement that has waited past the timeout. */
  private async look(pid: number): Promise<void> {
    try {
      if (this.second === null) {
        this.second = clientLike(this.session, "stepwise lock watch", undefined, LOOK_TIMEOUTS);
        await this.second.connect();
      }
      const { rows } = await this.second.query<WaitRow>({ text: WAITS_SQL, values: [pid], types: STEPWISE_QUERY_TYPES });
      if (rows.length === 0) return;
      this.last = { at: performance.now(), wait: toWait(rows) };
      const watched = this.active;
      if (watched?.enforce && !watched.cancelled && this.last.at - watched.started >= this.lockTimeoutMs) {
        watched.cancelled = true;
        await this.second.query({ text: "SELECT pg_catalog.pg_cancel_backend($1)", values: [pid], types: STEPWISE_QUERY_TYPES });
      }
    } catch {
      // No look this time (see the module note).
    }
  }

  private close(): void {
    const closing = this.second;
    this.second = null;
    void closing?.end().catch(() => undefined);
  }
}

/** A statement the watch cancelled for waiting past the timeout, as PostgreSQL's lock timeout reads. */
function cancelledForLock(cause: unknown): Error {
  return Object.assign(new Error("canceling statement due to lock timeout (stepwise cancelled it: it waited for a lock past lockTimeoutMs)", { cause }), { code: "55P03" });
}

function toWait(rows: readonly WaitRow[]): LockWait {
  const first = rows[0]!;
  return {
    relation: first.relation,
    lockType: first.lockType,
    mode: first.mode,
    holders: rows.map(({ pid, applicationName, state, transactionStart, queryStart }) => ({ pid, applicationName, state, transactionStart, queryStart })),
  };
}
