/**
 * A second connection to the server of a session stepwise was given: the scratch database a replay
 * runs in, and the session that looks at `pg_locks` while a statement waits for a lock. It reuses the
 * session's host, port, role, password, TLS and startup options, read from the `pg` client.
 */
import pg from "pg";

/** What of the session's connection settings a second connection to the same server reuses. */
interface ConnectionParameters {
  readonly user?: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly ssl?: unknown;
  readonly options?: string;
  readonly client_encoding?: string;
}

/**
 * A new, unconnected client like `session`'s, to `database` (the session's own unless given), named
 * `applicationName` in `pg_stat_activity`, with `timeouts` if given. It ignores its own `error` events: the caller reads every
 * failure from its queries.
 */
export function clientLike(session: pg.ClientBase, applicationName: string, database?: string, timeouts: Pick<pg.ClientConfig, "connectionTimeoutMillis" | "query_timeout"> = {}): pg.Client {
  const source = session as pg.ClientBase & { connectionParameters?: ConnectionParameters; password?: unknown };
  const parameters = source.connectionParameters ?? {};
  const client = new pg.Client({
    user: parameters.user,
    host: parameters.host,
    port: parameters.port,
    password: source.password as pg.ClientConfig["password"],
    ssl: parameters.ssl as pg.ClientConfig["ssl"],
    options: parameters.options,
    client_encoding: parameters.client_encoding,
    database: database ?? parameters.database,
    application_name: applicationName,
    ...timeouts,
  });
  client.on("error", () => undefined);
  return client;
}
