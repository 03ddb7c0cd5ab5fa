/**
 * A scratch database on the app's PostgreSQL server: `CREATE DATABASE` with a random name, a
 * connection of its own to it, and `DROP DATABASE ... WITH (FORCE)` when the safety net is done. Verify
 * and baseline replay the migrations there, through the same executor a real run uses, so even a
 * `transaction: false` migration replays as it ran; nothing of the replay touches the app's database.
 *
 * stepwise drops only what it can prove it created. Right after `CREATE DATABASE` it writes a marker
 * on the database (`COMMENT ON DATABASE`) naming the creating session: its backend pid and start time.
 * Its own database is dropped by the oid it read when it made it; every new replay first drops the
 * marked databases whose creating session is gone (a process killed during a replay), without
 * `FORCE`, so one somebody is connected to stays. A database merely named like one (the prefix, then
 * anything) is never touched, nor is one killed between its `CREATE` and its marker: that one is left
 * for a person to drop.
 *
 * Created from `template0`, the server's pristine template: nobody can connect to it (so `CREATE
 * DATABASE` never waits for another session to leave `template1`), and what an administrator added to
 * `template1` cannot read as drift on one side only (the catalog reader leaves extensions' objects out).
 */
import type pg from "pg";
import { StepwiseError } from "../core/errors.js";
import type { AsyncDriver, ScratchDatabase } from "../core/driver.js";
import { sqlstateOf } from "../core/dialects/postgres-errors.js";
import { describeConnectionFailure } from "../core/dialects/postgres-connection-errors.js";
import { EQ, TEXT } from "../core/dialects/postgres-operators.js";
import { STEPWISE_QUERY_TYPES } from "./pg-query-types.js";
import { clientLike } from "./pg-second-connection.js";
import { transactionOpenError } from "../core/error-factories.js";

/**
 * The prefix of every scratch database's name, so a person recognises one a killed process left. The
 * name proves nothing: stepwise drops only a database that carries its marker (see the module note).
 */
export const SCRATCH_DATABASE_PREFIX = "stepwise_scratch_";

/**
 * The server would not create the scratch database a replay needs (verify, baseline): typically the
 * role lacks `CREATEDB`. Nothing was changed.
 */
export function scratchDatabaseUnavailableError(fields: { driver: string; database: string; cause: unknown }): StepwiseError<"SCRATCH_DATABASE_UNAVAILABLE"> {
  const sqlstate = sqlstateOf(fields.cause);
  return new StepwiseError(
    "SCRATCH_DATABASE_UNAVAILABLE",
    `Could not create the scratch database "${fields.database}" that verify and baseline replay the migrations in` +
      (sqlstate === "42501" ? ": the role lacks the CREATEDB privilege (ALTER ROLE <role> CREATEDB). " : ` (SQLSTATE ${sqlstate ?? "unknown"}). `) +
      `Nothing was changed.`,
    { driver: fields.driver, database: fields.database, sqlstate },
    { cause: fields.cause },
  );
}

/**
 * The marker's text: the creating session, by backend pid and start time (seconds since 1970, so no
 * session's time zone changes it; a pid alone is reused).
 */
function scratchMarker(pid: number, backendStart: string): string {
  return `${SCRATCH_MARKER_PREFIX}${pid} started ${backendStart}; dropped when its replay ends`;
}

/** How every marker starts, so one is told from any other comment. */
const SCRATCH_MARKER_PREFIX = "stepwise scratch database, created by backend ";

/**
 * Drops the databases stepwise's own marker names as scratch databases whose creating session is
 * gone (a process killed during a replay): the marker names a pid that no backend has now, or one
 * that a later session got. One whose creator still runs, one somebody is connected to (no `FORCE`),
 * or one this role may not drop, is left alone; so is every database without the marker.
 */
async function dropLeftovers(session: pg.ClientBase): Promise<void> {
  const { rows } = await session.query<{ name: string }>({
    text: `SELECT d.datname::${TEXT} AS name FROM pg_catalog.pg_database AS d
      JOIN pg_catalog.pg_shdescription AS c ON c.objoid ${EQ} d.oid AND c.classoid ${EQ} 'pg_catalog.pg_database'::pg_catalog.regclass,
      LATERAL pg_catalog.regexp_match(c.description, $2) AS m
      WHERE pg_catalog.starts_with(d.datname::${TEXT}, $1)
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity AS a
          WHERE a.pid::${TEXT} ${EQ} m[1] AND (a.backend_start IS NULL OR EXTRACT(epoch FROM a.backend_start)::${TEXT} ${EQ} m[2]))`,
    values: [SCRATCH_DATABASE_PREFIX, `^${SCRATCH_MARKER_PREFIX}(\\d+) started ([0-9.]+); dropped when its replay ends$`],
    types: STEPWISE_QUERY_TYPES,
  });
  for (const { name } of rows) {
    try {
      await session.query(`DROP DATABASE IF EXISTS ${quote(name)}`);
    } catch {
      // Somebody is connected to it, it is another role's, or it is already gone: not ours to insist on.
    }
  }
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `text` as a string literal: the name and the marker hold no quote, but nothing relies on it. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Creates a scratch database through `session` (the app's session, outside any transaction) and
 * connects to it with the session's own host, port, role, password and TLS settings. `createDriver`
 * makes the driver of that connection (the pg driver's primitives).
 *
 * @throws `SCRATCH_DATABASE_UNAVAILABLE` when the server refuses `CREATE DATABASE`.
 */
export async function openPgScratchDatabase(session: pg.ClientBase, createDriver: (client: pg.ClientBase) => AsyncDriver<pg.ClientBase>): Promise<ScratchDatabase<pg.ClientBase>> {
  // CREATE DATABASE cannot run inside a transaction block, and trying would abort the app's.
  const status = (session as pg.ClientBase & { getTransactionStatus?(): string | null }).getTransactionStatus?.();
  if (status === "T" || status === "E") throw transactionOpenError({ driver: "pg", operation: "verifySchema or baselineDatabase" });
  // The creating session's backend pid is in the name, for a person reading the list; the marker
  // written next is what proves the database stepwise's.
  const { pid, backendStart } = (
    await session.query<{ pid: number; backendStart: string }>({
      text: `SELECT a.pid, EXTRACT(epoch FROM a.backend_start)::${TEXT} AS "backendStart" FROM pg_catalog.pg_stat_activity AS a WHERE a.pid ${EQ} pg_catalog.pg_backend_pid()`,
      types: STEPWISE_QUERY_TYPES,
    })
  ).rows[0]!;
  await dropLeftovers(session);
  const name = `${SCRATCH_DATABASE_PREFIX}${pid}_${globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  try {
    await session.query(`CREATE DATABASE ${quote(name)} TEMPLATE template0`);
  } catch (cause) {
    throw scratchDatabaseUnavailableError({ driver: "pg", database: name, cause });
  }
  // One message: the marker, and the oid that the drop checks, so it drops this database and no other of the name.
  let oid: string;
  try {
    const marked = (await session.query(
      `COMMENT ON DATABASE ${quote(name)} IS ${literal(scratchMarker(pid, backendStart))}; SELECT d.oid::${TEXT} AS oid FROM pg_catalog.pg_database AS d WHERE d.datname ${EQ} ${literal(name)}`,
    )) as unknown as pg.QueryResult<{ oid: string }>[];
    oid = marked[1]!.rows[0]!.oid;
  } catch (error) {
    // Made a moment ago by this session and not yet connected to: ours, and nobody else's to end.
    await session.query(`DROP DATABASE IF EXISTS ${quote(name)}`).catch(() => undefined);
    throw error;
  }
  let client: pg.Client | null = null;
  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    dropped = true;
    await client?.end().catch(() => undefined);
    // Still the database made above, by its oid: FORCE ends every session on it, so it must be ours.
    const same = await session.query({ text: `SELECT 1 FROM pg_catalog.pg_database AS d WHERE d.datname ${EQ} $1 AND d.oid::${TEXT} ${EQ} $2`, values: [name, oid], types: STEPWISE_QUERY_TYPES });
    if (same.rowCount === 0) return;
    // FORCE ends any session a migration body opened on it and left behind.
    await session.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`);
  };
  try {
    // Dropped WITH (FORCE) at the end: the server may end this session before it is closed (its errors are ignored).
    client = clientLike(session, "stepwise scratch database", name);
    try {
      await client.connect();
    } catch (error) {
      throw describeConnectionFailure(error);
    }
    return { name, driver: createDriver(client), drop };
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
}
