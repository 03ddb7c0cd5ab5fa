/**
 * How the CLI opens a libSQL database through `@libsql/client`: one `Client` per command on a
 * `file:` URL or a server's URL, with the auth token from the environment, never from the command
 * line. A read command never creates a missing `file:` database (it reads an empty in-memory one,
 * as the SQLite drivers do). verify and baseline replay the migrations on an in-memory client of
 * the same library. Every failure to reach the database is typed and quotes neither URL nor token.
 */
import { existsSync } from "node:fs";
import type { Client, Config } from "@libsql/client";
import { StepwiseError } from "../core/errors.js";
import { translateSqliteError } from "../core/sqlite-errors.js";
import type { MigrationRegistry } from "../core/types.js";
import type { LibsqlClientMigrationManagerProps, MigrationManager } from "../drivers/libsql-client.js";
import { LIBSQL_URL_EXAMPLE } from "./libsql-url.js";
import type { CliManager, OpenDatabaseOptions, OpenedDatabase, OpenMode, UrlDriverConnect } from "./open-database.js";
import { databaseUnusableError, usageError } from "../core/error-factories.js";

/** The parts of `@libsql/client` and of stepwise's libsql-client driver that {@link connectLibsqlClient} uses. */
export interface LibsqlClientModules {
  readonly createClient: (config: Config) => Client;
  readonly MigrationManager: new <R extends MigrationRegistry>(client: Client, migrations: R, props?: LibsqlClientMigrationManagerProps) => MigrationManager<R>;
  /** Reads a `LibsqlError`'s SQLite code (`classifyLibsqlClientError` from `stepwise-migrate/libsql-client`). */
  readonly classifyError: (error: unknown) => { readonly nativeCode: string | null };
}

/**
 * The libsql-client driver's connector for the CLI, over the modules the bin loaded. An app's own CLI
 * offers it the same way, with its own static imports:
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
    async openUrl<R extends MigrationRegistry>(options: OpenDatabaseOptions<R> & { readonly url: string }, mode: OpenMode): Promise<OpenedDatabase<R>> {
      const file = options.url.startsWith("file:") ? options.url.slice("file:".length) : null;
      const exists = file === null || existsSync(file);
      // A read never creates the file: a missing one reads as an empty database, as on every SQLite driver.
      const url = (mode === "read" || options.neverCreate === true) && !exists ? ":memory:" : options.url;
      const translate = (error: unknown) => translateSqliteError(error, options.busyTimeoutMs, modules.classifyError(error).nativeCode);
      let client: Client;
      try {
        client = modules.createClient({ url, ...(options.authToken === undefined || options.authToken === "" ? {} : { authToken: options.authToken }) });
        // A remote client connects lazily; this first round trip turns an unreachable or refusing server into one typed error.
        await client.execute("SELECT 1");
      } catch (error) {
        throw connectionError(error, translate, file !== null);
      }
      try {
        const props: LibsqlClientMigrationManagerProps = { ...options.props, scratchClient: () => modules.createClient({ url: ":memory:" }) };
        const manager = new modules.MigrationManager(client, options.migrations, props) as unknown as CliManager<R>;
        return { manager, exists, close: () => client.close(), translateError: translate };
      } catch (error) {
        client.close();
        throw translate(error);
      }
    },
  };
}

/**
 * A failed first round trip as a typed error: SQLite's own refusal (not a database, cannot open) as
 * every SQLite driver reports it, and anything else (a refused connection, an unknown host, a
 * rejected token) as `DATABASE_UNUSABLE` naming the client's error code only; a URL the
 * client refuses (`URL_*`) as `USAGE` without the client's error, whose message quotes the URL.
 */
function connectionError(error: unknown, translate: (error: unknown) => unknown, local: boolean): unknown {
  const translated = translate(error);
  if (translated instanceof StepwiseError) return translated;
  const code = (error as { code?: unknown } | null)?.code;
  // The client's URL refusals quote the URL (a token, a fragment); so no cause, which --verbose would print.
  if (typeof code === "string" && code.startsWith("URL_")) {
    return usageError(`The libSQL client refused the URL's shape (${code}): write it as ${LIBSQL_URL_EXAMPLE}, with authToken and tls=0|1 its only query parameters. Nothing was changed.`);
  }
  const status = /\b(40[13])\b/.exec(error instanceof Error ? error.message : "")?.[1];
  const reason = status !== undefined ? `HTTP ${status}` : typeof code === "string" ? code : "no answer";
  return databaseUnusableError(
    local
      ? `Cannot open the libSQL database file (${reason}): check the path in the URL and that this user may read it. Nothing was changed.`
      : status !== undefined
        ? `The libSQL server refused the connection (${reason}): set LIBSQL_AUTH_TOKEN to a valid token for this database. Nothing was changed.`
        : `Cannot reach the libSQL server (${reason}): check the host and port in the URL, and that the server is running and accepts connections from here. Nothing was changed.`,
    null,
    error,
  );
}
