/**
 * How the CLI opens a database it reaches by URL: PostgreSQL through `pg`, libSQL through
 * `@libsql/client`. One session per command, read-only for commands that only read, and every failure
 * to connect a typed error that quotes neither the URL nor a token.
 */
import { existsSync } from "node:fs";
import type { Client, Config } from "@libsql/client";
import type pg from "pg";
import { classifyPostgresError, describeConnectionFailure, translatePostgresError } from "../core/dialects/postgres.js";
import { databaseUnusableError, usageError } from "../core/error-factories.js";
import { StepwiseError } from "../core/errors.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../core/options.js";
import { translateSqliteError } from "../core/sqlite-errors.js";
import type { MigrationRegistry } from "../core/types.js";
import type { LibsqlClientMigrationManagerProps, MigrationManager as LibsqlClientManager } from "../drivers/libsql-client.js";
import type { MigrationManager as PgManager, PgMigrationManagerProps } from "../drivers/pg.js";
import { LIBSQL_URL_EXAMPLE } from "./driver-names.js";
import type { CliManager, UrlDriverConnect } from "./open-database.js";

/** How long the CLI waits for a PostgreSQL server to accept a connection. */
const PG_CONNECT_TIMEOUT_MS = 10_000;

/** The parts of `pg` and of stepwise's pg driver that {@link connectPostgres} uses. */
export interface PostgresModules {
  readonly Client: new (config: pg.ClientConfig) => pg.Client;
  readonly MigrationManager: new <R extends MigrationRegistry>(db: pg.Client, migrations: R, props?: PgMigrationManagerProps) => PgManager<R>;
}

/**
 * The pg driver's connector for the CLI. An app's own CLI offers pg with its own static imports:
 *
 * ```ts
 * import pg from "pg";
 * import { MigrationManager } from "stepwise-migrate/pg";
 * import { connectPostgres, createCli } from "stepwise-migrate/cli";
 * createCli({ migrations, drivers: { pg: async () => connectPostgres({ Client: pg.Client, MigrationManager }) }, driver: "pg" });
 * ```
 */
export function connectPostgres(modules: PostgresModules): UrlDriverConnect {
  return {
    async openUrl(options, mode) {
      const client = new modules.Client({ connectionString: options.url, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS, application_name: "stepwise" });
      // A server that drops the session emits "error" on the client; the next query reports it.
      client.on("error", () => {});
      const end = () => client.end().catch(() => {});
      try {
        await client.connect();
      } catch (error) {
        await end();
        throw describeConnectionFailure(error);
      }
      let lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
      const translateError = (error: unknown) => translatePostgresError(error, options.busyTimeoutMs, classifyPostgresError(error), lockTimeoutMs);
      try {
        const manager = new modules.MigrationManager(client, options.migrations, {
          ...options.props,
          ...(options.schema === undefined ? {} : { schema: options.schema }),
          ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
        });
        lockTimeoutMs = manager.lockTimeoutMs;
        // The session's own reads wait for a lock no longer than a run's statements, and the server
        // enforces read mode, as SQLite's query_only does.
        const settings = [...(lockTimeoutMs > 0 ? [`SET lock_timeout = ${lockTimeoutMs}`] : []), ...(mode === "read" ? ["SET default_transaction_read_only = on"] : [])];
        if (settings.length > 0) await client.query(settings.join("; "));
        return { manager: manager as unknown as CliManager<typeof options.migrations>, close: end, translateError };
      } catch (error) {
        await end();
        throw error instanceof StepwiseError ? error : translateError(error);
      }
    },
  };
}

/** The parts of `@libsql/client` and of stepwise's libsql-client driver that {@link connectLibsqlClient} uses. */
export interface LibsqlClientModules {
  readonly createClient: (config: Config) => Client;
  readonly MigrationManager: new <R extends MigrationRegistry>(client: Client, migrations: R, props?: LibsqlClientMigrationManagerProps) => LibsqlClientManager<R>;
  /** Reads a `LibsqlError`'s SQLite code (`classifyLibsqlClientError` from `stepwise-migrate/libsql-client`). */
  readonly classifyError: (error: unknown) => { readonly nativeCode: string | null };
}

/**
 * The libsql-client driver's connector for the CLI, on a `file:` URL or a server's, with the auth
 * token from the environment; a read never creates a missing `file:` database. An app's own CLI
 * offers it with its own static imports:
 *
 * ```ts
 * import { createClient } from "@libsql/client";
 * import { MigrationManager, classifyLibsqlClientError } from "stepwise-migrate/libsql-client";
 * import { connectLibsqlClient, createCli } from "stepwise-migrate/cli";
 * createCli({ migrations, drivers: { "libsql-client": async () => connectLibsqlClient({ createClient, MigrationManager, classifyError: classifyLibsqlClientError }) }, driver: "libsql-client" });
 * ```
 */
export function connectLibsqlClient(modules: LibsqlClientModules): UrlDriverConnect {
  return {
    async openUrl(options, mode) {
      const file = options.url.startsWith("file:") ? options.url.slice("file:".length) : null;
      const exists = file === null || existsSync(file);
      const url = (mode === "read" || options.neverCreate === true) && !exists ? ":memory:" : options.url;
      const translateError = (error: unknown) => translateSqliteError(error, options.busyTimeoutMs, modules.classifyError(error).nativeCode);
      let client: Client;
      try {
        client = modules.createClient({ url, ...(options.authToken ? { authToken: options.authToken } : {}) });
        // A remote client connects lazily; this round trip turns an unreachable or refusing server into one typed error.
        await client.execute("SELECT 1");
      } catch (error) {
        throw libsqlConnectionError(error, translateError(error), file !== null);
      }
      try {
        // verify and baseline replay the migrations on an in-memory client of the same library.
        const manager = new modules.MigrationManager(client, options.migrations, { ...options.props, scratchClient: () => modules.createClient({ url: ":memory:" }) });
        return { manager: manager as unknown as CliManager<typeof options.migrations>, exists, close: () => client.close(), translateError };
      } catch (error) {
        client.close();
        throw translateError(error);
      }
    },
  };
}

/**
 * A failed first round trip as a typed error: SQLite's own refusal as every SQLite driver reports it;
 * a URL the client refuses (`URL_*`, whose message quotes the URL) as `USAGE` without that cause;
 * anything else as `DATABASE_UNUSABLE` naming the client's code only.
 */
function libsqlConnectionError(error: unknown, translated: unknown, local: boolean): unknown {
  if (translated instanceof StepwiseError) return translated;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("URL_")) {
    return usageError(`The libSQL client refused the URL's shape (${code}): write it as ${LIBSQL_URL_EXAMPLE}, with authToken and tls=0|1 its only query parameters. Nothing was changed.`);
  }
  const status = /\b(40[13])\b/.exec(error instanceof Error ? error.message : "")?.[1];
  const reason = status !== undefined ? `HTTP ${status}` : typeof code === "string" ? code : "no answer";
  const message = local
    ? `Cannot open the libSQL database file (${reason}): check the path in the URL and that this user may read it.`
    : status !== undefined
      ? `The libSQL server refused the connection (${reason}): set LIBSQL_AUTH_TOKEN to a valid token for this database.`
      : `Cannot reach the libSQL server (${reason}): check the host and port in the URL, and that the server is running and accepts connections from here.`;
  return databaseUnusableError(`${message} Nothing was changed.`, null, error);
}
