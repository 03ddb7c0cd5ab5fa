/**
 * How the CLI opens a PostgreSQL database: one `pg.Client` session per command (the pg manager holds
 * its run lock on it), read-only for commands that only read, and every failure to connect turned
 * into a typed error that says what to check, never one that quotes the URL.
 */
import type pg from "pg";
import { classifyPostgresError, translatePostgresError } from "../core/dialects/postgres-errors.js";
import { DatabaseUnusableError, StepwiseError } from "../core/errors.js";
import type { MigrationManagerProps } from "../core/options.js";
import type { MigrationRegistry } from "../core/types.js";
import type { MigrationManager, PgMigrationManagerProps } from "../drivers/pg.js";
import type { CliManager, OpenDatabaseOptions, OpenedDatabase, OpenMode, UrlDriverConnect } from "./open-database.js";

/** How long the CLI waits for the server to accept a connection before it gives up. */
export const DEFAULT_PG_CONNECT_TIMEOUT_MS = 10_000;

/** The parts of `pg` and of stepwise's pg driver that {@link connectPostgres} uses. */
export interface PostgresModules {
  readonly Client: new (config: pg.ClientConfig) => pg.Client;
  readonly MigrationManager: new <R extends MigrationRegistry>(db: pg.Client, migrations: R, props?: PgMigrationManagerProps) => MigrationManager<R>;
}

/**
 * The pg driver's connector for the CLI, over the modules the bin loaded. An app's own CLI offers pg
 * the same way, with its own static imports (which its bundler resolves):
 *
 * ```ts
 * import pg from "pg";
 * import { MigrationManager } from "stepwise/pg";
 * import { connectPostgres, createCli } from "stepwise/cli";
 * createCli({ migrations, drivers: { pg: async () => connectPostgres({ Client: pg.Client, MigrationManager }) }, driver: "pg" });
 * ```
 */
export function connectPostgres(modules: PostgresModules): UrlDriverConnect {
  return {
    async openUrl<R extends MigrationRegistry>(options: OpenDatabaseOptions<R> & { readonly url: string }, mode: OpenMode): Promise<OpenedDatabase<R>> {
      const client = new modules.Client({ connectionString: options.url, connectionTimeoutMillis: DEFAULT_PG_CONNECT_TIMEOUT_MS, application_name: "stepwise" });
      // A server that drops the session emits "error" on the client; the next query reports it.
      client.on("error", () => {});
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => {});
        throw connectionError(error, options.busyTimeoutMs);
      }
      try {
        // The server enforces it: status, history, version and info cannot write, as SQLite's query_only makes them.
        if (mode === "read") await client.query("SET default_transaction_read_only = on");
        const props: MigrationManagerProps & PgMigrationManagerProps = { ...options.props, ...(options.schema === undefined ? {} : { schema: options.schema }) };
        const manager = new modules.MigrationManager(client, options.migrations, props) as unknown as CliManager<R>;
        return {
          manager,
          close: () => client.end().catch(() => {}),
          translateError: (error) => translatePostgresError(error, options.busyTimeoutMs, classifyPostgresError(error)),
        };
      } catch (error) {
        await client.end().catch(() => {});
        throw error instanceof StepwiseError ? error : translatePostgresError(error, options.busyTimeoutMs, classifyPostgresError(error));
      }
    },
  };
}

/**
 * A failed connect as a typed error: the server's refusal (a SQLSTATE: bad password, no such
 * database) as the dialect translates it, and a socket's failure (refused, unknown host, timeout) as
 * {@link DatabaseUnusableError} naming its system code. Neither quotes the URL.
 */
function connectionError(error: unknown, busyTimeoutMs: number): unknown {
  const translated = translatePostgresError(error, busyTimeoutMs, classifyPostgresError(error));
  if (translated instanceof StepwiseError) return translated;
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === "string" ? code : /timeout/i.test(error instanceof Error ? error.message : "") ? "timed out" : "no answer";
  return new DatabaseUnusableError(
    `Cannot connect to the PostgreSQL server (${reason}): check the host and port in the URL, and that the server is running and accepts connections from here. Nothing was changed.`,
    null,
    error,
  );
}
