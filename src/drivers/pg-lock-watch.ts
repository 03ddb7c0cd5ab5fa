/**
 * What a statement waits for when its `lock_timeout` runs out. PostgreSQL's error says only
 * "canceling statement due to lock timeout"; the relation and the session holding it are in
 * `pg_locks` only while the wait lasts. So while one of the session's statements (or a migration
 * body) has run for a third of the timeout, a second connection looks there every third of it and
 * keeps the last wait it saw; when the statement fails for its lock timeout, that wait is recorded
 * on the error (`recordLockWait`), which `LOCK_TIMEOUT` then names. The second connection opens only
 * when a statement runs that long, and closes once the session is idle again. A look that fails (no
 * connection slot, no password to reuse) records nothing: the error still says what ran out.
 */
import type pg from "pg";
import { isLockTimeout, recordLockWait } from "../core/dialects/postgres-failures.js";
import { CONCAT, EQ, NE, TEXT } from "../core/dialects/postgres-operators.js";
import type { LockHolderSession, LockWait } from "../core/lock-timeout-error.js";
import { STEPWISE_QUERY_TYPES } from "./pg-query-types.js";
import { clientLike } from "./pg-second-connection.js";

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

/** Runs a session's statements so that one cancelled by its `lock_timeout` carries what it waited for. */
export interface LockWatch {
  /** Runs `action` (one statement, or a migration body) watched: see the module note. */
  watch<T>(action: () => Promise<T>): Promise<T>;
}

/** A {@link LockWatch} of `session` under `lockTimeoutMs`; one that watches nothing when it is 0 or the session has no backend pid. */
export function createLockWatch(session: pg.ClientBase, lockTimeoutMs: number): LockWatch {
  const interval = Math.max(10, Math.floor(lockTimeoutMs / 3));
  let running = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let looking: Promise<void> | null = null;
  let second: pg.Client | null = null;
  let last: { readonly at: number; readonly wait: LockWait } | null = null;

  const look = async (pid: number): Promise<void> => {
    try {
      if (second === null) {
        second = clientLike(session, "stepwise lock watch");
        await second.connect();
      }
      const { rows } = await second.query<WaitRow>({ text: WAITS_SQL, values: [pid], types: STEPWISE_QUERY_TYPES });
      if (rows.length > 0) last = { at: performance.now(), wait: toWait(rows) };
    } catch {
      // No look this time (see the module note).
    }
  };
  const schedule = (pid: number): void => {
    timer = setTimeout(() => {
      looking = look(pid).finally(() => {
        looking = null;
        if (running > 0) schedule(pid);
      });
    }, interval);
    // The process must not stay alive for a look.
    (timer as { unref?: () => void }).unref?.();
  };
  const stop = async (): Promise<void> => {
    clearTimeout(timer);
    await looking;
    const closing = second;
    second = null;
    await closing?.end().catch(() => undefined);
  };

  return {
    async watch(action) {
      const pid = (session as { processID?: unknown }).processID;
      if (lockTimeoutMs <= 0 || typeof pid !== "number") return action();
      const started = performance.now();
      if (running++ === 0) schedule(pid);
      try {
        return await action();
      } catch (error) {
        if (isLockTimeout(error)) {
          // A look under way may be the one that sees it.
          await looking;
          if (last !== null && last.at >= started) recordLockWait(error, last.wait);
        }
        throw error;
      } finally {
        if (--running === 0) await stop();
      }
    },
  };
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
