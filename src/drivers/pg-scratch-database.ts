/**
 * A scratch database on the app's PostgreSQL server: `CREATE DATABASE` with a random name, a
 * connection of its own to it, and `DROP DATABASE ... WITH (FORCE)` when the safety net is done. Verify
 * and baseline replay the migrations there, through the same executor a real run uses, so even a
 * `transaction: false` migration replays as it ran; nothing of the replay touches the app's database.
 *
 * Its name holds the creating session's backend pid (`stepwise_scratch_<pid>_<random>`), and every
 * new replay first drops the scratch databases whose creating session is gone, so even a process
 * killed during a replay leaves its scratch database only until the next one.
 *
 * Created from `template0`, the server's pristine template: nobody can connect to it (so `CREATE
 * DATABASE` never waits for another session to leave `template1`), and what an administrator added to
 * `template1` cannot read as drift on one side only (the catalog reader leaves extensions' objects out).
 */
import pg from "pg";
import { StepwiseError, TransactionOpenError } from "../core/errors.js";
import type { AsyncDriver, ScratchDatabase } from "../core/driver.js";
import { sqlstateOf } from "../core/dialects/postgres-errors.js";
import { EQ, TEXT } from "../core/dialects/postgres-operators.js";
import { STEPWISE_QUERY_TYPES } from "./pg-query-types.js";

/** The prefix of every scratch database's name, so one left by a killed process is recognisable. */
export const SCRATCH_DATABASE_PREFIX = "stepwise_scratch_";

/**
 * The server would not create the scratch database a replay needs (verify, baseline): typically the
 * role lacks `CREATEDB`. Nothing was changed.
 */
export class ScratchDatabaseUnavailableError extends StepwiseError {
  override readonly name: string = "ScratchDatabaseUnavailableError";
  /** The driver's name, `"pg"`. */
  readonly driver: string;
  /** The name the scratch database would have had. */
  readonly database: string;
  /** PostgreSQL's SQLSTATE for the refusal (`42501` for a missing privilege), or `null`. */
  readonly sqlstate: string | null;

  constructor(fields: { driver: string; database: string; cause: unknown }) {
    const sqlstate = sqlstateOf(fields.cause);
    super(
      "SCRATCH_DATABASE_UNAVAILABLE",
      `Could not create the scratch database "${fields.database}" that verify and baseline replay the migrations in` +
        (sqlstate === "42501" ? ": the role lacks the CREATEDB privilege (ALTER ROLE <role> CREATEDB). " : ` (SQLSTATE ${sqlstate ?? "unknown"}). `) +
        `Nothing was changed.`,
      { cause: fields.cause },
    );
    this.driver = fields.driver;
    this.database = fields.database;
    this.sqlstate = sqlstate;
  }
}

/**
 * Drops the scratch databases whose creating session is gone (a process killed during a replay),
 * read from the pid in their names. One whose creator still runs, or that this role may not drop,
 * is left alone.
 */
async function dropLeftovers(session: pg.ClientBase): Promise<void> {
  const { rows } = await session.query<{ name: string }>({
    text: `SELECT d.datname::${TEXT} AS name FROM pg_catalog.pg_database AS d
      WHERE pg_catalog.starts_with(d.datname::${TEXT}, $1)
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity AS a
          WHERE a.pid::${TEXT} ${EQ} pg_catalog.split_part(pg_catalog.substr(d.datname::${TEXT}, pg_catalog.length($1) OPERATOR(pg_catalog.+) 1), '_', 1))`,
    values: [SCRATCH_DATABASE_PREFIX],
    types: STEPWISE_QUERY_TYPES,
  });
  for (const { name } of rows) {
    try {
      await session.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`);
    } catch {
      // Another role's, or already gone: not ours to insist on.
    }
  }
}

/** What of the session's connection settings a second connection to the same server reuses. */
interface ConnectionParameters {
  readonly user?: string;
  readonly host?: string;
  readonly port?: number;
  readonly ssl?: unknown;
  readonly options?: string;
  readonly client_encoding?: string;
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Creates a scratch database through `session` (the app's session, outside any transaction) and
 * connects to it with the session's own host, port, role, password and TLS settings. `createDriver`
 * makes the driver of that connection (the pg driver's primitives).
 *
 * @throws ScratchDatabaseUnavailableError when the server refuses `CREATE DATABASE`.
 */
export async function openPgScratchDatabase(session: pg.ClientBase, createDriver: (client: pg.ClientBase) => AsyncDriver<pg.ClientBase>): Promise<ScratchDatabase<pg.ClientBase>> {
  // CREATE DATABASE cannot run inside a transaction block, and trying would abort the app's.
  const status = (session as pg.ClientBase & { getTransactionStatus?(): string | null }).getTransactionStatus?.();
  if (status === "T" || status === "E") throw new TransactionOpenError({ driver: "pg", operation: "verifySchema or baselineDatabase" });
  // The creating session's backend pid is in the name: the session stays connected for the whole
  // replay, so once no backend has that pid the database is a killed process's leftover.
  const pid = Number((await session.query<{ pid: number }>({ text: "SELECT pg_catalog.pg_backend_pid() AS pid", types: STEPWISE_QUERY_TYPES })).rows[0]?.pid);
  await dropLeftovers(session);
  const name = `${SCRATCH_DATABASE_PREFIX}${pid}_${globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  try {
    await session.query(`CREATE DATABASE ${quote(name)} TEMPLATE template0`);
  } catch (cause) {
    throw new ScratchDatabaseUnavailableError({ driver: "pg", database: name, cause });
  }
  let client: pg.Client | null = null;
  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    dropped = true;
    await client?.end().catch(() => undefined);
    // FORCE ends any session a migration body opened on it and left behind.
    await session.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`);
  };
  try {
    const source = session as pg.ClientBase & { connectionParameters?: ConnectionParameters; password?: unknown };
    const parameters = source.connectionParameters ?? {};
    client = new pg.Client({
      user: parameters.user,
      host: parameters.host,
      port: parameters.port,
      password: source.password as pg.ClientConfig["password"],
      ssl: parameters.ssl as pg.ClientConfig["ssl"],
      options: parameters.options,
      client_encoding: parameters.client_encoding,
      database: name,
      application_name: "stepwise scratch database",
    });
    // Dropped WITH (FORCE) at the end: the server may end this session before it is closed.
    client.on("error", () => undefined);
    await client.connect();
    return { name, driver: createDriver(client), drop };
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
}
