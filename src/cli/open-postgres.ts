/**
 * How the CLI opens a PostgreSQL database: one `pg.Client` session per command (the pg manager holds
 * its run lock on it), read-only for commands that only read, under the run's `lock_timeout`, and
 * every failure to connect turned into a typed error with the server's reason and what to change
 * (`describeConnectionFailure`), never one that quotes the URL.
 */
import type pg from "pg";
import { classifyPostgresError, translatePostgresError } from "../core/dialects/postgres-errors.js";
import { StepwiseError } from "../core/errors.js";
import { describeConnectionFailure } from "../core/dialects/postgres-connection-errors.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../core/options.js";
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
 * import { MigrationManager } from "stepwise-migrate/pg";
 * import { connectPostgres, createCli } from "stepwise-migrate/cli";
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
        throw describeConnectionFailure(error);
      }
      const props: MigrationManagerProps & PgMigrationManagerProps = {
        ...options.props,
        ...(options.schema === undefined ? {} : { schema: options.schema }),
        ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
      };
      let lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
      const translate = (error: unknown) => translatePostgresError(error, options.busyTimeoutMs, classifyPostgresError(error), lockTimeoutMs);
      try {
        const manager = new modules.MigrationManager(client, options.migrations, props);
        lockTimeoutMs = manager.lockTimeoutMs;
        // The session is the CLI's own: its reads (status, the history before a run) wait for a lock
        // no longer than a run's statements do. The server enforces read mode: status, history,
        // version and info cannot write, as SQLite's query_only makes them.
        const settings = [...(lockTimeoutMs > 0 ? [`SET lock_timeout = ${lockTimeoutMs}`] : []), ...(mode === "read" ? ["SET default_transaction_read_only = on"] : [])];
        if (settings.length > 0) await client.query(settings.join("; "));
        return { manager: manager as unknown as CliManager<R>, close: () => client.end().catch(() => {}), translateError: translate };
      } catch (error) {
        await client.end().catch(() => {});
        throw error instanceof StepwiseError ? error : translate(error);
      }
    },
  };
}
