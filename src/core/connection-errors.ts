/**
 * The two ways a database server's connection fails stepwise: it cannot be opened
 * (`DATABASE_UNUSABLE`, with the server's own reason and what to change), or it is lost
 * while stepwise uses it (`CONNECTION_LOST`, saying what became of the migration that was
 * running). Neither quotes a connection URL, so neither can print a password.
 */
import { StepwiseError } from "./errors.js";
import type { MigrationDirection } from "./types.js";
import type { ConnectionProblem, ConnectionLossOutcome } from "./errors.js";

/**
 * The server could not be connected to, or refused the session: a wrong password, a database or role
 * that does not exist, TLS required or refused, too many connections, nothing listening, a host name
 * that does not resolve. Its code stays `DATABASE_UNUSABLE`, as every database that cannot be opened
 * has; `problem` tells the cases apart. Nothing was changed.
 */
export function connectionFailedError(fields: {
  problem: ConnectionProblem;
  reason: string;
  fix: string | null;
  sqlstate: string | null;
  systemCode: string | null;
  cause: unknown;
}): StepwiseError<"DATABASE_UNUSABLE"> {
  const code = fields.sqlstate ?? fields.systemCode;
  return new StepwiseError(
    "DATABASE_UNUSABLE",
    `Cannot connect to the PostgreSQL server: ${fields.reason}${code && !fields.reason.includes(code) ? ` (${code})` : ""}. Nothing was changed.` + (fields.fix ? ` Fix: ${fields.fix}.` : ""),
    { sqliteCode: fields.sqlstate, problem: fields.problem, reason: fields.reason, fix: fields.fix, reasonCode: code },
    { cause: fields.cause },
  );
}

/**
 * The connection to the database server was lost while stepwise used it: the server ended the session
 * (`pg_terminate_backend`, a restart, an idle timeout) or the network dropped it. Not a fault of any
 * migration: {@link outcome} says whether the one running can have been kept.
 */
export function connectionLostError(fields: {
  version?: number;
  file?: string;
  direction?: MigrationDirection;
  outcome: ConnectionLossOutcome;
  during?: string;
  reason: string;
  cause: unknown;
}): StepwiseError<"CONNECTION_LOST"> {
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
  return new StepwiseError(
    "CONNECTION_LOST",
    `The connection to the database server was lost: ${reason}. ${what} Fix: ${fix}.`,
    { version: fields.version ?? null, file: fields.file ?? null, direction: fields.direction ?? null, outcome, during: fields.during ?? null, reason, fix },
    { cause: fields.cause },
  );
}

export type { ConnectionProblem, ConnectionLossOutcome } from "./errors.js";
