/**
 * How the CLI reaches a database server: PostgreSQL through `pg`, libSQL through `@libsql/client`. Its
 * URL is checked by that driver's rules before the client sees it (the clients' parse errors quote
 * it, password and all); then one session per command, read-only for commands that only read, and
 * every failure a typed error that quotes neither the URL nor a token.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Client, Config } from "@libsql/client";
import type pg from "pg";
import { classifyPostgresError, describeConnectionFailure, translatePostgresError } from "../core/dialects/postgres.js";
import { databaseUnusableError, usageError } from "../core/error-factories.js";
import { StepwiseError } from "../core/errors.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../core/options.js";
import { translateSqliteError } from "../core/error-factories.js";
import type { MigrationRegistry } from "../core/types.js";
import type { LibsqlClientMigrationManagerProps, MigrationManager as LibsqlClientManager } from "../drivers/libsql-client.js";
import type { MigrationManager as PgManager, PgMigrationManagerProps } from "../drivers/pg.js";
import { usableDatabasePathOrThrow } from "./database-path.js";
import type { CliDriverName } from "./driver-names.js";
import type { CliManager, UrlDriverConnect } from "./open-database.js";
import { redactConnectionString } from "./secrets.js";

/** How a libSQL URL is written, for the refusals. */
const LIBSQL_URL_EXAMPLE = "file:data/app.db or libsql://your-db.turso.io";

/** The environment variable the CLI reads a libSQL server's auth token from; never printed. */
export const LIBSQL_AUTH_TOKEN_ENV = "LIBSQL_AUTH_TOKEN";

const refuse = (problem: string) => usageError(`${problem}. Nothing was changed.`);

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

/** An example URL for a driver that connects by URL, for messages that ask for one. */
export function exampleUrlOf(driver: CliDriverName): string {
  return driver === "libsql-client" ? LIBSQL_URL_EXAMPLE : "postgres://user@host:5432/database";
}

/** A checked connection URL. */
export interface ServerUrl {
  /** What the driver's client takes; it may hold a password. */
  readonly url: string;
  /** How the CLI shows it: the password hidden, a server's URL without its query, or a `file:` URL's absolute path. */
  readonly label: string;
  /** The local database file a `file:` URL names, else `null`. */
  readonly file: string | null;
}

/**
 * `url` checked for `driver`; `resolvePath` resolves a `file:` URL's relative path against the CLI's
 * working folder, so the client opens the file the messages name.
 *
 * @throws `USAGE` naming `source` and what is wrong, never the URL's text; for a `file:` URL, what `usableDatabasePathOrThrow` throws.
 */
export function parseServerUrl(driver: CliDriverName, url: string, source: string, resolvePath: (file: string) => string): ServerUrl {
  const trimmed = url.trim();
  if (driver !== "libsql-client") return { url: checkPostgresUrl(trimmed, source), label: redactConnectionString(trimmed), file: null };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)/.exec(trimmed)?.[1]?.toLowerCase() ?? null;
  if (scheme === "file:") {
    const named = trimmed.replace(/[?#].*$/, "");
    let file: string;
    try {
      file = named.startsWith("file://") ? fileURLToPath(named) : decodeURIComponent(named.slice("file:".length));
    } catch {
      throw refuse(`${source} is a file: URL that names no local file (write it as file:data/app.db or file:///absolute/path.db)`);
    }
    if (file === "" || file === ":memory:") throw refuse(`${source} names no database file; write it as file:data/app.db`);
    // As --db: resolved through links, and refused when it is a folder, a FIFO or a device.
    const absolute = usableDatabasePathOrThrow(resolvePath(file));
    // The client takes file:<path>; a character a URL reserves would start a query.
    if (/[?#%]/.test(absolute)) throw refuse(`The database path in ${source} holds ?, # or %, which a file: URL cannot carry; rename the file or its folder`);
    return { url: `file:${absolute}`, file: absolute, label: absolute };
  }
  if (scheme === null || !["libsql:", "http:", "https:", "ws:", "wss:"].includes(scheme)) {
    throw refuse(`${source} is not a libSQL URL (${scheme === null ? "it has no scheme" : `its scheme is ${scheme}`}); the libsql-client driver needs one such as ${LIBSQL_URL_EXAMPLE}`);
  }
  checkLibsqlQuery(trimmed, source);
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    throw refuse(`${source} is not a valid URL; write it as libsql://host (set ${LIBSQL_AUTH_TOKEN_ENV} for the token)`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw refuse(`${source} carries a user name or password; a libSQL server takes a token instead: leave them out and set ${LIBSQL_AUTH_TOKEN_ENV}`);
  }
  return { url: trimmed, file: null, label: `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}` };
}

/** Refuses what `@libsql/client` would refuse quoting the URL: a fragment, and any query parameter but `authToken` and `tls=0|1`, decoded as the client decodes them. */
function checkLibsqlQuery(url: string, source: string): void {
  if (url.includes("#")) throw refuse(`${source} has a fragment (#…), which a libSQL URL cannot carry; remove it`);
  const start = url.indexOf("?");
  if (start === -1) return;
  for (const pair of url.slice(start + 1).split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent((equals === -1 ? pair : pair.slice(0, equals)).replaceAll("+", " "));
      value = decodeURIComponent((equals === -1 ? "" : pair.slice(equals + 1)).replaceAll("+", " "));
    } catch {
      throw refuse(`${source} has a query parameter with a % that does not start an escape such as %25 (for % itself)`);
    }
    if (key === "authToken" || (key === "tls" && (value === "0" || value === "1"))) continue;
    if (key === "tls") throw refuse(`${source} has a tls parameter other than tls=0 or tls=1`);
    throw refuse(`${source} has a query parameter a libSQL URL does not take (only authToken and tls=0|1); remove it, and set ${LIBSQL_AUTH_TOKEN_ENV} for the token`);
  }
}

/** A `postgres://` or `postgresql://` URL that parses, whose user and password decode: pg hands a URL it cannot parse to WHATWG `URL`, whose error quotes it whole. */
function checkPostgresUrl(url: string, source: string): string {
  const example = exampleUrlOf("pg");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\//.exec(url)?.[1]?.toLowerCase() ?? null;
  if (scheme !== "postgres:" && scheme !== "postgresql:") {
    throw refuse(`${source} is not a PostgreSQL URL (${scheme === null ? "it has no scheme://" : `its scheme is ${scheme}//`}); the pg driver needs one such as ${example}`);
  }
  // pg ignores a fragment, and a # in the user or password ends the authority early: either way what
  // follows it (maybe the password) would reach the labels the CLI prints.
  if (url.includes("#")) throw refuse(`${source} holds a #, which starts a URL fragment: percent-encode a # in the user name or password as %23, and remove any fragment`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse(
      `${source} is not a valid URL. Write it as ${example}, and percent-encode any @, :, / or ? in the user name or password (%40, %3A, %2F, %3F), or leave the password out of the URL and set PGPASSWORD`,
    );
  }
  for (const [part, value] of [
    ["user name", parsed.username],
    ["password", parsed.password],
  ] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      throw refuse(`The ${part} in ${source} has a % that does not start an escape such as %25 (for % itself)`);
    }
  }
  return url;
}
