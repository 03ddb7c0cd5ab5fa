/**
 * The two ways a database server's connection fails stepwise: it cannot be opened
 * ({@link ConnectionFailedError}, with the server's own reason and what to change), or it is lost
 * while stepwise uses it ({@link ConnectionLostError}, saying what became of the migration that was
 * running). Neither quotes a connection URL, so neither can print a password.
 */
import { DatabaseUnusableError, StepwiseError } from "./errors.js";
import type { MigrationDirection } from "./types.js";

/** Why a connection could not be opened, as {@link ConnectionFailedError.problem} names it. */
export type ConnectionProblem =
  | "wrong-password"
  | "password-missing"
  | "missing-database"
  | "missing-role"
  | "not-allowed"
  | "tls-required"
  | "tls-refused"
  | "tls-certificate"
  | "too-many-connections"
  | "server-starting"
  | "refused"
  | "closed-at-start"
  | "host-not-found"
  | "timed-out"
  | "unknown";

/**
 * The server could not be connected to, or refused the session: a wrong password, a database or role
 * that does not exist, TLS required or refused, too many connections, nothing listening, a host name
 * that does not resolve. Its code stays `DATABASE_UNUSABLE`, as every database that cannot be opened
 * has; `problem` tells the cases apart. Nothing was changed.
 */
export class ConnectionFailedError extends DatabaseUnusableError {
  override readonly name: string = "ConnectionFailedError";
  /** Which of the common cases it is; `unknown` for the rest. */
  declare readonly problem: ConnectionProblem;
  /** The server's own words (`password authentication failed for user "app"`), or the socket's; never the URL. */
  declare readonly reason: string;
  /** What to change, for a script to show; `null` when the case is not one stepwise knows. */
  declare readonly fix: string | null;
  /** PostgreSQL's SQLSTATE (`28P01`), or the system's code (`ECONNREFUSED`), or `null`. */
  declare readonly reasonCode: string | null;

  constructor(fields: { problem: ConnectionProblem; reason: string; fix: string | null; sqlstate: string | null; systemCode: string | null; cause: unknown }) {
    const code = fields.sqlstate ?? fields.systemCode;
    super(
      `Cannot connect to the PostgreSQL server: ${fields.reason}${code && !fields.reason.includes(code) ? ` (${code})` : ""}. Nothing was changed.` + (fields.fix ? ` Fix: ${fields.fix}.` : ""),
      fields.sqlstate,
      fields.cause,
    );
    this.problem = fields.problem;
    this.reason = fields.reason;
    this.fix = fields.fix;
    this.reasonCode = code;
  }
}

/**
 * What a lost connection did to the migration that was running:
 * - `none-running`: none was (the run lock was being waited for, the history read, or one had just
 *   finished); what this run applied before is applied;
 * - `rolled-back`: it ran in a transaction, which the server rolled back when the session ended;
 * - `commit-unknown`: its COMMIT was on the way, and the server may or may not have committed it;
 * - `partly-applied`: it runs outside a transaction (`transaction: false`), so some of it may be in
 *   the database; its `started` row stays, and the next run stops at it.
 */
export type ConnectionLossOutcome = "none-running" | "rolled-back" | "commit-unknown" | "partly-applied";

/**
 * The connection to the database server was lost while stepwise used it: the server ended the session
 * (`pg_terminate_backend`, a restart, an idle timeout) or the network dropped it. Not a fault of any
 * migration: {@link outcome} says whether the one running can have been kept.
 */
export class ConnectionLostError extends StepwiseError {
  override readonly name: string = "ConnectionLostError";
  /** The migration that was running, or `null` when none was. */
  declare readonly version: number | null;
  declare readonly file: string | null;
  declare readonly direction: MigrationDirection | null;
  declare readonly outcome: ConnectionLossOutcome;
  /** What was under way when no migration was, such as `"waiting for the run lock"`; otherwise `null`. */
  declare readonly during: string | null;
  /** The server's or the library's words: `terminating connection due to administrator command`. */
  declare readonly reason: string;
  /** What to do next. */
  declare readonly fix: string;

  constructor(fields: { version?: number; file?: string; direction?: MigrationDirection; outcome: ConnectionLossOutcome; during?: string; reason: string; cause: unknown }) {
    const { outcome, reason } = fields;
    const migration = fields.version === undefined ? null : `Migration ${fields.version} (${fields.file})`;
    const verb = fields.direction === "down" ? "down" : "up";
    const fix =
      outcome === "partly-applied"
        ? `check the database by hand, then run "stepwise repair --applied ${fields.version}" if all of it is there or "stepwise repair --forget ${fields.version}" if none is`
        : outcome === "commit-unknown"
          ? `run "stepwise status" once the server accepts connections: it shows whether ${fields.version} is applied; then run "stepwise ${verb}" for the rest`
          : `run "stepwise ${migration === null ? "status" : verb}" again once the server accepts connections`;
    const what =
      outcome === "rolled-back"
        ? `${migration} was running ${verb} in a transaction, which the server rolled back when the session ended: nothing of that transaction was kept, and it is not recorded.`
        : outcome === "commit-unknown"
          ? `${migration} was committing (${verb}): the server may have committed it, with its history row, before the session ended, or rolled it back.`
          : outcome === "partly-applied"
            ? `${migration} was running ${verb} outside a transaction (transaction: false), so some of its statements may have been applied; it stays recorded as started, and the next run stops at it. ` +
              `A CREATE INDEX CONCURRENTLY it ran may have left an invalid index: "stepwise repair" names each, with the statement that drops it.`
            : `No migration was running${fields.during ? ` (it was ${fields.during})` : ""}: none was half done, and what this run applied before stays applied.`;
    super("CONNECTION_LOST", `The connection to the database server was lost: ${reason}. ${what} Fix: ${fix}.`, { cause: fields.cause });
    this.version = fields.version ?? null;
    this.file = fields.file ?? null;
    this.direction = fields.direction ?? null;
    this.outcome = outcome;
    this.during = fields.during ?? null;
    this.reason = reason;
    this.fix = fix;
  }
}
