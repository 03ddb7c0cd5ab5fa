/**
 * Everything observable in a PostgreSQL database's `public` schema, as plain data to compare with
 * `assert.deepEqual`: each table's columns, indexes and rows. The history table is reduced to what a
 * replay reproduces (version, name, checksum, state), since `applied_at` and `duration_ms` differ per run.
 */
import type pg from "pg";

/** What {@link digestPostgres} reads. */
export interface PostgresDigest {
  readonly tables: Readonly<Record<string, { readonly columns: readonly string[]; readonly indexes: readonly string[]; readonly rows: readonly unknown[] }>>;
}

const HISTORY_COLUMNS = "version, name, checksum, state";

/** Reads `client`'s public schema. */
export async function digestPostgres(client: pg.ClientBase, historyTable = "schema_migrations"): Promise<PostgresDigest> {
  const tables: Record<string, { columns: string[]; indexes: string[]; rows: unknown[] }> = {};
  const names = (await client.query<{ name: string }>("SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = 'public' ORDER BY tablename COLLATE \"C\"")).rows.map((row) => row.name);
  for (const name of names) {
    const columns = (
      await client.query<{ column: string }>(
        "SELECT a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END AS column FROM pg_catalog.pg_attribute AS a WHERE a.attrelid = ('public.' || quote_ident($1))::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        [name],
      )
    ).rows.map((row) => row.column);
    const indexes = (
      await client.query<{ def: string }>("SELECT indexdef AS def FROM pg_catalog.pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY indexname COLLATE \"C\"", [name])
    ).rows.map((row) => row.def);
    const select = name === historyTable ? HISTORY_COLUMNS : "*";
    const rows = (await client.query(`SELECT ${select} FROM "${name.replace(/"/g, '""')}" ORDER BY 1`)).rows;
    tables[name] = { columns: name === historyTable ? [] : columns, indexes, rows };
  }
  return { tables };
}
