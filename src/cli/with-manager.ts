/**
 * Opening the database for one command, running it, and closing it: a SQLite file (created only by a
 * command that writes, after whatever it refuses was refused on an in-memory database) or a server
 * reached by URL (its password hidden in anything that fails).
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import type { MigrationRegistry } from "../core/types.js";
import { createDatabaseFolder, translateFolderError } from "./database-path.js";
import {
  busyTimeoutOf,
  connectorFor,
  driverOf,
  flagsOf,
  loadMigrations,
  lockTimeoutOf,
  resolveDatabasePath,
  resolveUrl,
  schemaOf,
  tableNameOf,
  type CliSession,
  type GlobalFlags,
} from "./database-target.js";
import { connectsByUrl } from "./driver-names.js";
import { LIBSQL_AUTH_TOKEN_ENV } from "./libsql-url.js";
import type { CliManager, CommandMode, OpenedDatabase } from "./open-database.js";
import { hideUrlIn, redactConnectionString } from "./secrets.js";

/** What a command does with the opened database: the manager, the database's path (or redacted URL), and whether it existed. */
export type ManagerAction<R extends MigrationRegistry, T> = (manager: CliManager<R>, database: string, exists: boolean) => T;

/**
 * Opens the database for one command. Read-only commands never create a file: a missing one reads
 * as an empty database. A write command on a database that does not exist yet first runs
 * `preflight` on an in-memory database of the same library and registry, so whatever it refuses
 * (the registry, `--to`, a capability the library lacks) is refused before a folder or file is made.
 */
export async function withManager<R extends MigrationRegistry, T>(
  session: CliSession<R>,
  command: Command,
  mode: CommandMode,
  action: ManagerAction<R, T>,
  preflight?: (manager: CliManager<R>) => unknown,
  registry?: R,
): Promise<Awaited<T>> {
  const flags = flagsOf(command);
  if (connectsByUrl(driverOf(session, flags))) return withServerManager(session, command, mode, action, preflight, registry);
  const databasePath = resolveDatabasePath(session, flags);
  // Before the folder is made: a driver that cannot write, or cannot load here, refuses with nothing touched.
  const connector = await connectorFor(session, command, mode);
  const migrations = registry ?? (await loadMigrations(session, driverOf(session, flags)));
  const exists = databasePath === ":memory:" || existsSync(databasePath);
  const busyTimeoutMs = busyTimeoutOf(session, flags);
  if (mode === "write" && !exists) {
    // Opening the real path creates the file, and a refusal after that would leave an empty
    // database behind that `status` then reports as existing.
    const scratch = await connector.open({ databasePath: ":memory:", busyTimeoutMs, migrations, props: { tableName: tableNameOf(session, flags), busyTimeoutMs } });
    try {
      await preflight?.(scratch.manager);
    } finally {
      await scratch.close();
    }
  }
  if (mode === "write" && databasePath !== ":memory:") {
    try {
      createDatabaseFolder(databasePath);
    } catch (error) {
      throw translateFolderError(error, databasePath);
    }
  }
  const opened = await connector.open({ databasePath, busyTimeoutMs, migrations, props: managerProps(session, flags) });
  return runAndClose(opened, () => action(opened.manager, databasePath, exists));
}

/**
 * {@link withManager} for a driver that connects by URL. There is no file to create, so there is no
 * scratch preflight: `preflight` (whatever the command refuses before it writes) runs on the real
 * session, before the action, and reads only. The action sees the URL with its password hidden.
 */
async function withServerManager<R extends MigrationRegistry, T>(
  session: CliSession<R>,
  command: Command,
  mode: CommandMode,
  action: ManagerAction<R, T>,
  preflight?: (manager: CliManager<R>) => unknown,
  registry?: R,
): Promise<Awaited<T>> {
  const flags = flagsOf(command);
  const { url, label, file } = resolveUrl(session, flags);
  const connector = await connectorFor(session, command, mode);
  if (mode === "write" && file !== null) {
    try {
      createDatabaseFolder(file);
    } catch (error) {
      throw translateFolderError(error, file);
    }
  }
  const driver = driverOf(session, flags);
  const migrations = registry ?? (await loadMigrations(session, driver));
  const authToken = driver === "libsql-client" ? session.io.env[LIBSQL_AUTH_TOKEN_ENV] : undefined;
  const lockTimeoutMs = lockTimeoutOf(session, flags);
  // A driver's error may quote the URL it was given (its own, or a cause's): here, where the URL
  // is known, it is shown redacted.
  try {
    const opened = await connector.open({
      databasePath: label,
      url,
      schema: schemaOf(session, flags),
      ...(authToken === undefined ? {} : { authToken }),
      ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
      busyTimeoutMs: busyTimeoutOf(session, flags),
      migrations,
      props: managerProps(session, flags),
    });
    return await runAndClose(opened, async () => {
      await preflight?.(opened.manager);
      return action(opened.manager, label, opened.exists ?? true);
    });
  } catch (error) {
    throw hideUrlIn(error, url, redactConnectionString(url));
  }
}

function managerProps(session: CliSession<MigrationRegistry>, flags: GlobalFlags) {
  return {
    tableName: tableNameOf(session, flags),
    busyTimeoutMs: busyTimeoutOf(session, flags),
    // Read-only commands emit only progress (a dry run) and verification events.
    onEvent: session.onEvent,
  };
}

/**
 * Runs `action` on an opened database and closes it. Reads outside the manager (info's object
 * counts, say) fail with the database's own codes; translated here, they report the busy timeout
 * that was really in force, not reportError's unknown 0.
 */
async function runAndClose<R extends MigrationRegistry, T>(opened: OpenedDatabase<R>, action: () => T): Promise<Awaited<T>> {
  try {
    return await action();
  } catch (error) {
    throw opened.translateError(error);
  } finally {
    await opened.close();
  }
}
