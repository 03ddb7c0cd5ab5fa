/**
 * The candidate no-op starts `pg-noop-statements.ts` measures, each alone on a fresh connection:
 * stepwise's start and the hand loop's, the read stepwise sends with and without stepwise's code
 * around it, the floors (what any read of this table costs), and the other ways of proving "nothing
 * pending" that session 11 measured (the server comparing the checksums against the registry sent as
 * a parameter, aggregates in one row, a 64-bit digest). Every statement names `pg_catalog`'s
 * functions and operators, as stepwise's own statements must.
 */
import type pg from "pg";
import { MigrationManager } from "../src/entries/pg.js";
import { parsePostgresNoOpRead, postgresNoOpReadSql } from "../src/core/dialects/postgres-no-op-read.js";
import { planUp } from "../src/core/planner.js";
import { STEPWISE_QUERY_TYPES } from "../src/drivers/pg-query-types.js";
import type { PgWorkload } from "./pg-workload.js";

/** One candidate: what it sends on a connected client, and what it does with the answer. */
export type NoOpCandidate = (client: pg.Client) => Promise<unknown>;

/** The history table stepwise's side reads: the default one, in `public`. */
const TABLE = `"public"."schema_migrations"`;

/** The primary-key and column proof of the read (`postgres-no-op-read.ts`), never run. */
const PROOF = `WHERE true OR EXISTS (SELECT name, applied_at, duration_ms FROM ${TABLE} AS h GROUP BY version)`;

/** The columns' descriptions a one-row answer lacks, from a second statement that reads no row. */
const DESCRIPTIONS = `SELECT h.version, h.checksum, h.state, ARRAY[h.version] AS version_array FROM ${TABLE} AS h LIMIT 0`;

/** A state compared exactly ('APPLIED' in a case-insensitive column is not 'applied'). */
const STATE_APPLIED = `pg_catalog.texteq(h.state, 'applied' COLLATE pg_catalog."C")`;

/** Rows whose version lies in 1..n. */
const inRange = (n: number) => `pg_catalog.int8ge(h.version, '1') AND pg_catalog.int8le(h.version, '${n}')`;

/** `text` as one simple-query message, parsed by stepwise's parsers. */
const statement =
  (text: string): NoOpCandidate =>
  (client) =>
    client.query({ text, types: STEPWISE_QUERY_TYPES });

/** `text` with one parameter, sent with the extended protocol (a Buffer goes as binary). */
const withParameter =
  (text: string, value: Buffer): NoOpCandidate =>
  (client) =>
    client.query({ text, values: [value], types: STEPWISE_QUERY_TYPES });

/** The candidates by id, the hand loop's first: every comparison's baseline. */
export function noOpCandidates(workload: PgWorkload): Record<string, NoOpCandidate> {
  const { registry, migrations } = workload;
  const n = registry.length;
  const read = postgresNoOpReadSql(TABLE);
  const checksums = registry.map((entry) => entry.checksum).join("");
  // Slice v of a parameter holding every checksum end to end, `width` bytes each: O(1) on bytea, where
  // substr on text walks the characters from the start on every row.
  const slice = (width: number) => `pg_catalog.substr($1::pg_catalog.bytea, pg_catalog.int4mi(pg_catalog.int4mul(CAST(h.version AS pg_catalog.int4), ${width}), ${width - 1}), ${width})`;
  return {
    hand: async (client) => {
      await client.query("CREATE TABLE IF NOT EXISTS hand_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)");
      const { rows } = await client.query<{ version: string }>("SELECT version FROM hand_migrations");
      const applied = new Set(rows.map((row) => Number(row.version)));
      if (migrations.some((migration) => !applied.has(migration.version))) throw new Error("the hand loop found work");
    },
    stepwise: async (client) => {
      if ((await new MigrationManager(client, registry).up()).steps.length !== 0) throw new Error("stepwise found work");
    },
    // stepwise's start taken apart: the read alone, then with the parse and plan, then with the constructor.
    read: statement(read),
    "read, parse, plan": async (client) => {
      const { rows, fields } = await client.query({ text: read, types: STEPWISE_QUERY_TYPES });
      const keys = parsePostgresNoOpRead(rows, fields);
      if (keys === null || planUp(registry, keys).steps.length !== 0) throw new Error("the read proved nothing");
    },
    "constructor, read": async (client) => {
      new MigrationManager(client, registry);
      await client.query({ text: read, types: STEPWISE_QUERY_TYPES });
    },
    // Floors: what reading this table costs before any checksum is read.
    "count + proof": statement(`SELECT pg_catalog.count(*) AS n FROM ${TABLE} AS h ${PROOF}`),
    versions: statement(`SELECT h.version FROM ${TABLE} AS h`),
    "versions + proof": statement(`SELECT h.version FROM ${TABLE} AS h ${PROOF}`),
    // The read's parts: the rows without the proof and the version's array; without the state.
    "rows, no proof": statement(`SELECT h.version, h.checksum, h.state FROM ${TABLE} AS h`),
    "read without state": statement(`SELECT h.version, h.checksum, CASE WHEN false THEN ARRAY[h.version] END AS version_array FROM ${TABLE} AS h ${PROOF}`),
    // One row instead of a thousand: the three columns aggregated (session 8's shape), described by a second statement.
    "aggregates + descriptions": statement(
      `SELECT pg_catalog.string_agg(CAST(h.version AS pg_catalog.text), ',') AS versions, pg_catalog.string_agg(COALESCE(h.checksum, ''), ',') AS checksums, ` +
        `pg_catalog.string_agg(COALESCE(h.state, ''), ',') AS states FROM ${TABLE} AS h ${PROOF}; ${DESCRIPTIONS}`,
    ),
    // The server compares: the registry's checksums as one parameter, a count of the rows that match.
    // Not yet sound (no distinct versions, no descriptions): each addition only costs more.
    "server compares, 64 KB": withParameter(
      `SELECT pg_catalog.count(*) AS n, pg_catalog.count(*) FILTER (WHERE ${inRange(n)} AND ${STATE_APPLIED} AND ` +
        `pg_catalog.byteaeq(pg_catalog.textsend(h.checksum), ${slice(64)})) AS good FROM ${TABLE} AS h ${PROOF}`,
      Buffer.from(checksums, "latin1"),
    ),
    "server compares, 32 KB": withParameter(
      `SELECT pg_catalog.count(*) AS n, pg_catalog.count(*) FILTER (WHERE ${inRange(n)} AND ${STATE_APPLIED} AND ` +
        `pg_catalog.texteq(h.checksum, pg_catalog.encode(${slice(32)}, 'hex') COLLATE pg_catalog."C")) AS good FROM ${TABLE} AS h ${PROOF}`,
      Buffer.from(checksums, "hex"),
    ),
    "server compares, 32 KB, distinct": withParameter(
      `SELECT pg_catalog.count(*) AS n, pg_catalog.count(DISTINCT h.version) FILTER (WHERE ${inRange(n)} AND ${STATE_APPLIED} AND ` +
        `pg_catalog.texteq(h.checksum, pg_catalog.encode(${slice(32)}, 'hex') COLLATE pg_catalog."C")) AS good FROM ${TABLE} AS h ${PROOF}`,
      Buffer.from(checksums, "hex"),
    ),
    // Sound: rows from the table itself only (an inherited child's may repeat a version; a partition's
    // fall back too), and the columns' types from aggregates that read no row.
    "server compares, 32 KB, sound, constructor": async (client) => {
      new MigrationManager(client, registry);
      await client.query({
        text:
          `SELECT pg_catalog.count(*) AS n, pg_catalog.count(*) FILTER (WHERE ${inRange(n)} AND ${STATE_APPLIED} AND ` +
          `pg_catalog.texteq(h.checksum, pg_catalog.encode(${slice(32)}, 'hex') COLLATE pg_catalog."C") AND pg_catalog.oideq(h.tableoid, '${TABLE}'::pg_catalog.regclass)) AS good, ` +
          `pg_catalog.max(ARRAY[h.version]) FILTER (WHERE false) AS version_array, pg_catalog.max(h.checksum) FILTER (WHERE false) AS checksum_type, ` +
          `pg_catalog.max(h.state) FILTER (WHERE false) AS state_type FROM ${TABLE} AS h ${PROOF}`,
        values: [Buffer.from(checksums, "hex")],
        types: STEPWISE_QUERY_TYPES,
      });
    },
    // Not a proof: a 64-bit hash of each (version, checksum), XORed; what a digest would cost the server.
    "64-bit digest": statement(
      `SELECT pg_catalog.count(*) AS n, pg_catalog.bit_xor(pg_catalog.hashtextextended(h.checksum, h.version)) AS digest, ` +
        `pg_catalog.count(*) FILTER (WHERE ${STATE_APPLIED}) AS applied, pg_catalog.min(h.version) AS low, pg_catalog.max(h.version) AS high ` +
        `FROM ${TABLE} AS h ${PROOF}; ${DESCRIPTIONS}`,
    ),
  };
}
