/**
 * Opening the database for one command, running it, and closing it: a SQLite file (created only by
 * a command that writes, after whatever it refuses was refused on an in-memory database) or a
 * database reached by URL (its password hidden in anything that fails).
 */
import { existsSync } from "node:fs";
import { DEFAULT_BUSY_TIMEOUT_MS } from "../core/options.js";
import { StepwiseError } from "../core/errors.js";
import type { AppliedMigration } from "../core/planner.js";
import type { MigrationRegistry } from "../core/types.js";
import { createDatabaseFolder, databasePathFromUrl } from "./database-path.js";
import { connectorFor, driverOf, loadMigrations, resolveDatabasePath, resolveUrl, setting, type CommandScope } from "./database-target.js";
import { connectsByUrl } from "./driver-names.js";
import type { CliManager, CommandMode, OpenDatabaseOptions } from "./open-database.js";
import { hideUrlIn } from "./secrets.js";
import { LIBSQL_AUTH_TOKEN_ENV } from "./server-url.js";

/** What a command does with the opened database: the manager, the database's path (or redacted URL), and whether it existed. */
export type ManagerAction<R extends MigrationRegistry, T> = (manager: CliManager<R>, database: string, exists: boolean) => T;

/**
 * Opens the database for one command and runs `action` on it. A read never creates a file: a missing
 * one reads as an empty database. A write on a database that does not exist yet first runs
 * `preflight` on an in-memory database of the same library and registry, so whatever it refuses
 * (the registry, `--to`, a capability the library lacks) is refused before a folder or file is made;
 * on a database reached by URL, `preflight` runs on the real session, before the action.
 * `registry` stands for the app's, for a command that must read whatever the registry holds.
 */
export async function withManager<R extends MigrationRegistry, T>(
  scope: CommandScope<R>,
  mode: CommandMode,
  action: ManagerAction<R, T>,
  preflight?: (manager: CliManager<R>) => unknown,
  registry?: R,
): Promise<Awaited<T>> {
  const { session, flags } = scope;
  const { props } = session;
  const driver = driverOf(scope);
  const byUrl = connectsByUrl(driver);
  const server = byUrl ? resolveUrl(scope) : null;
  const databasePath = server?.label ?? resolveDatabasePath(scope);
  // Before the folder is made: a driver that cannot write, or cannot load here, refuses with nothing touched.
  const connector = await connectorFor(scope, mode);
  const file = server ? server.file : databasePath;
  const migrations = registry ?? (await loadMigrations(scope));
  const busyTimeoutMs = setting(flags.busyTimeout, props.busyTimeoutMs) ?? DEFAULT_BUSY_TIMEOUT_MS;
  const managerProps = { tableName: setting(flags.table, props.tableName), busyTimeoutMs, onEvent: session.output.printEvent };
  const exists = file === null || file === ":memory:" || existsSync(file);
  if (mode === "write" && !byUrl && !exists) {
    // Opening the real path creates the file, and a refusal after that would leave an empty database behind.
    const scratch = await connector.open({ databasePath: ":memory:", busyTimeoutMs, migrations, props: { tableName: managerProps.tableName, busyTimeoutMs } });
    try {
      await preflight?.(scratch.manager);
    } finally {
      await scratch.close();
    }
  }
  if (mode === "write" && file !== null && file !== ":memory:") createDatabaseFolder(file);
  const lockTimeoutMs = setting(flags.lockTimeout, props.lockTimeoutMs);
  const authToken = driver === "libsql-client" ? session.output.io.env[LIBSQL_AUTH_TOKEN_ENV] : undefined;
  const options: OpenDatabaseOptions<R> = {
    databasePath,
    busyTimeoutMs,
    migrations,
    props: managerProps,
    ...(server && { url: server.url, schema: setting(flags.schema, props.schema) }),
    ...(authToken !== undefined && { authToken }),
    ...(server && lockTimeoutMs !== undefined && { lockTimeoutMs }),
  };
  try {
    const opened = await connector.open(options);
    try {
      if (byUrl) await preflight?.(opened.manager);
      return await action(opened.manager, databasePath, opened.exists ?? exists);
    } catch (error) {
      // Reads outside the manager (info's counts) fail in the database's own words; translated here with the busy timeout in force.
      throw opened.translateError(error);
    } finally {
      await opened.close();
    }
  } catch (error) {
    // A driver's error may quote the URL it was given (its own, or a cause's): shown redacted.
    throw server ? hideUrlIn(error, server.url) : error;
  }
}

/**
 * The history rows of the database the flags and settings point at, read whatever the registry
 * holds (even one a merge broke) and without creating a missing file; `null` when no database is
 * configured, or a setting names an environment variable that is not set.
 */
export async function readAppliedHistory(scope: CommandScope): Promise<{ readonly database: string; readonly rows: readonly AppliedMigration[] } | null> {
  const { flags, session } = scope;
  const { props } = session;
  const env = session.output.io.env;
  const byUrl = connectsByUrl(driverOf(scope));
  let configured: string | null | undefined;
  try {
    configured = byUrl ? (setting(flags.url, props.url) ?? env.DATABASE_URL) : (setting(flags.db, props.database) ?? databasePathFromUrl(env.DATABASE_URL));
  } catch (error) {
    if (error instanceof StepwiseError && error.is("USAGE") && error.details.variable !== undefined) return null;
    throw error;
  }
  if (configured == null || configured.trim() === "") return null;
  if (!byUrl) {
    const database = resolveDatabasePath(scope);
    if (database !== ":memory:" && !existsSync(database)) return { database, rows: [] };
  }
  return withManager(scope, "read", async (manager, database) => ({ database, rows: await manager.history() }), undefined, [] as MigrationRegistry);
}
