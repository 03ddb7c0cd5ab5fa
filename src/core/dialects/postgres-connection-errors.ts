/**
 * How the `pg` package reports a connection that cannot be opened, or that was lost, read as
 * stepwise's errors: the server's refusal at start-up (a SQLSTATE with the server's message), the
 * socket's failure (a system code such as `ECONNREFUSED`), and the client's own words once its socket
 * is gone (`Connection terminated unexpectedly`, `... is not queryable`).
 */
import { type ConnectionProblem, connectionFailedError } from "../connection-errors.js";
import { describeThrownValue } from "../thrown-value.js";
import { recordNativeError } from "../native-error.js";
import type { StepwiseError } from "../errors.js";

/**
 * SQLSTATEs that end the session: `57P01` (`pg_terminate_backend`, a fast shutdown), `57P02` (a crash
 * of another backend), `57P05` (idle session timeout), `25P03` (idle in transaction timeout), and the
 * connection exceptions of a session that existed (`08000`, `08003`, `08006`, `08007`).
 */
const SESSION_ENDING_SQLSTATES = new Set(["57P01", "57P02", "57P05", "25P03", "08000", "08003", "08006", "08007"]);

/** System codes of a socket that died under an open session. */
const SOCKET_GONE_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN"]);

/** What `pg`'s client says when its socket closed under a query, or is used after it did. */
const CLIENT_GONE_MESSAGE = /^(Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/;

/**
 * The error down `error`'s `cause` chain (itself first) that says the session ended under stepwise
 * (see the module note), or `undefined`: a migration may wrap the client's error in its own.
 */
export function lostConnectionIn(error: unknown): unknown {
  let current = error;
  // Bounded: a cause chain is data, and a cyclic one must not hang error handling.
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    try {
      const code = (current as { code?: unknown }).code;
      if (typeof code === "string" && (SESSION_ENDING_SQLSTATES.has(code) || SOCKET_GONE_CODES.has(code))) return current;
      if (current instanceof Error && CLIENT_GONE_MESSAGE.test(current.message)) return current;
      current = (current as { cause?: unknown }).cause;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Whether `error`, or one down its `cause` chain, says the session ended under stepwise. */
export function isConnectionLost(error: unknown): boolean {
  return lostConnectionIn(error) !== undefined;
}

/** The first line of what `error` says, for a message. */
export function firstLineOf(error: unknown): string {
  return describeThrownValue(error).split("\n")[0]!.trim();
}

/** The case, and what to change, per SQLSTATE of a refused start-up. */
function caseOfSqlstate(code: string, message: string): [ConnectionProblem, string | null] {
  if (code === "28P01") return ["wrong-password", "check the password, in the URL (percent-encode @ : / ? #) or in PGPASSWORD, against the role's (ALTER ROLE <role> PASSWORD '...')"];
  if (code === "3D000") return ["missing-database", "create the database (CREATE DATABASE <name>, or createdb <name>) or correct its name at the end of the URL"];
  if (code === "53300")
    return ["too-many-connections", "wait for other sessions to end, lower the pool size of the apps on this server, or raise max_connections (or the role's or database's CONNECTION LIMIT)"];
  if (code === "57P03") return ["server-starting", "wait until the server has started (or finished its recovery), then run it again"];
  if (code.startsWith("28")) {
    if (/^role ".*" does not exist$/.test(message)) return ["missing-role", "create the role (CREATE ROLE <name> LOGIN PASSWORD '...') or correct the user name in the URL"];
    // pg_hba.conf refused a connection without TLS (no line for it, or a reject line): the usual way a
    // server that takes a role only over TLS says so.
    if (/pg_hba\.conf.*, no encryption$/.test(message))
      return [
        "tls-required",
        "connect over TLS: add sslmode=verify-full (or sslmode=require) to the URL; if the server refuses this role over TLS too, ask its administrator to allow it in pg_hba.conf",
      ];
    if (/not permitted to log in/.test(message)) return ["not-allowed", "let the role log in (ALTER ROLE <name> LOGIN) or connect as one that may"];
    return ["not-allowed", "the server's pg_hba.conf does not let this role reach this database from here: connect as a role it allows, or ask its administrator to allow this one"];
  }
  return ["unknown", null];
}

/** The case, and what to change, for a failure with no SQLSTATE: the socket's, TLS's or the client's. */
function caseOfClientError(systemCode: string | null, message: string): [ConnectionProblem, string | null] {
  if (systemCode === "ECONNREFUSED") return ["refused", "check the host and port in the URL, and that the server is running and listens there (listen_addresses, port)"];
  if (systemCode === "ENOENT") return ["refused", "no server listens on that socket: check the socket folder (host=) and port in the URL, and that the server is running"];
  if (systemCode === "ENOTFOUND" || systemCode === "EAI_AGAIN" || systemCode === "EAI_NONAME") return ["host-not-found", "check the host name in the URL: it does not resolve from here"];
  if (systemCode === "ETIMEDOUT" || /timeout/i.test(message))
    return ["timed-out", "check that the host is reachable from here (a firewall, a VPN, a private network) and that the port is the server's"];
  if (/does not support SSL/i.test(message)) return ["tls-refused", "the server has no TLS: remove sslmode (or ssl) from the URL, or turn ssl on in the server's configuration"];
  if (/certificate|CERT_|self[- ]signed/i.test(`${systemCode ?? ""} ${message}`))
    return ["tls-certificate", "the server's certificate is not trusted here: give its CA (sslrootcert=<file> in the URL, or NODE_EXTRA_CA_CERTS), or check the host name it was issued for"];
  if (/client password must be a string|password must be a string/i.test(message)) return ["password-missing", "give the role's password, in the URL or in PGPASSWORD"];
  if (systemCode === "ECONNRESET" || /^Connection terminated/.test(message))
    return [
      "closed-at-start",
      "what answers at that host and port closed the connection before the session began: check that the port is PostgreSQL's, that sslmode suits the server, and the server's log",
    ];
  return ["unknown", null];
}

/**
 * A failure to open a session as `DATABASE_UNUSABLE`: the server's reason and what to change
 * for each common case. Its message is the server's (or the socket's), which names the role, database
 * or host, never the URL or a password.
 */
export function describeConnectionFailure(error: unknown): StepwiseError<"DATABASE_UNUSABLE"> {
  const code = (error as { code?: unknown } | null)?.code;
  const codeText = typeof code === "string" ? code : null;
  const sqlstate = codeText !== null && /^[0-9A-Z]{5}$/.test(codeText) && !/^E[A-Z]+$/.test(codeText) ? codeText : null;
  const systemCode = sqlstate === null ? codeText : null;
  const reason = firstLineOf(error) || "no answer";
  const [problem, fix] = sqlstate !== null ? caseOfSqlstate(sqlstate, reason) : caseOfClientError(systemCode, reason);
  const failure = connectionFailedError({ problem, reason, fix, sqlstate, systemCode, cause: error });
  return sqlstate === null ? failure : recordNativeError(failure, { kind: "cantopen", nativeCode: sqlstate });
}
