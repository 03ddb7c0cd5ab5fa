/**
 * `adopt --write-sql`: the SQL that carries an adoption made on a copy (a D1 database exported with `wrangler d1 export`, loaded into a file) to the database it was copied from, where no
 * migration can be replayed to check a schema. It creates stepwise's tables with the copy's rows, behind a guard that fails the whole file, changing nothing, when the old tool's table there no
 * longer holds what the copy's held: what `adopt` checked would then be out of date.
 */
import { StepwiseError, type StepwiseErrorDetails } from "../core/errors.js";
import { quoteIdentifier } from "../core/batch-walk.js";
import { ADOPTED_SUFFIX } from "../core/error-factories.js";
import { query, type Step } from "../core/step.js";
import { stepwiseTableNames } from "./checksum-repair-log.js";

/** The constraint whose name a run on a database whose old tool's table changed since the copy fails with. */
export const ADOPT_GUARD_CONSTRAINT = "old_history_changed_since_the_copy";

/** The constraint whose name a run on a database whose schema changed since the copy (a hand-run `ALTER TABLE`) fails with. */
export const ADOPT_SCHEMA_GUARD_CONSTRAINT = "schema_changed_since_the_copy";

/** The SQL text for the copy's adoption into `tableName`; `ADOPT_SQL_REFUSED` when the copy holds no adoption to carry, or more than it. */
export function* adoptionSql(tableName: string, copy: string): Step<string> {
  const refuse = (reason: StepwiseErrorDetails["ADOPT_SQL_REFUSED"]["reason"], why: string, adoptedVersion: number | null = null, versions: readonly number[] = []) =>
    new StepwiseError("ADOPT_SQL_REFUSED", `No SQL was written for ${copy}: ${why}.`, { reason, adoptedVersion, versions });
  const names = stepwiseTableNames(tableName).map((name) => name.toLowerCase());
  const objects = yield* query<{ type: string; name: string; tbl_name: string; sql: string | null }>(
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid",
  );
  const own = objects.filter((object) => names.includes(object.tbl_name.toLowerCase()));
  const record = `${tableName}_${ADOPTED_SUFFIX}`;
  const [adoption] = own.some((object) => object.name.toLowerCase() === record.toLowerCase())
    ? yield* query<{ tool: string; old_table: string; version: number | string; dropped: number }>(`SELECT tool, old_table, version, dropped FROM ${quoteIdentifier(record)}`)
    : [];
  if (adoption === undefined) throw refuse("no-adoption", `it holds no adoption in ${tableName} ("stepwise adopt" records one first)`);
  if (Number(adoption.dropped))
    throw refuse(
      "old-table-dropped",
      `${adoption.old_table} was dropped in the copy, so nothing can check the database still holds what was adopted; adopt a new copy without --drop-old-table`,
      Number(adoption.version),
    );
  const version = Number(adoption.version);
  const versions = (yield* query<{ version: number | string }>(`SELECT version FROM ${quoteIdentifier(tableName)} ORDER BY version`)).map((row) => Number(row.version));
  if (versions.length !== version || versions.some((value, index) => value !== index + 1)) {
    throw refuse(
      "migrated-after-adoption",
      `its history holds versions ${versions.join(", ") || "none"}, not the 1..${version} adopted: the copy was migrated after the adoption, and its rows would claim migrations the database did not run; export a new copy and adopt it`,
      version,
      versions,
    );
  }
  const columns = (yield* query<{ name: string }>(`SELECT name FROM pragma_table_info(?)`, [adoption.old_table])).map((row) => quoteIdentifier(row.name));
  // Each value as its SQL literal: JSON holds no BLOB (sqlx's checksum is one), and a literal still tells a text from a number or a blob.
  const oldRows = `SELECT json_group_array(json_array(${columns.map((column) => `quote(${column})`).join(", ")})) FROM (SELECT * FROM ${quoteIdentifier(adoption.old_table)} ORDER BY ${columns.join(", ")})`;
  const expected = String((yield* query<{ value: string }>(`SELECT (${oldRows}) AS value`))[0]!.value);
  const guardName = `${tableName}_adopt_guard`;
  // The schema the copy was checked with, as the database holds it before the file writes: stepwise's tables and the guard are left out, and so are SQLite's and Cloudflare's own.
  const left = [...names, guardName.toLowerCase()].map(literal).join(", ");
  const schema = `SELECT json_group_array(json_array(type, name, sql)) FROM (SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND lower(tbl_name) NOT IN (${left}) ORDER BY type, name)`;
  const expectedSchema = String((yield* query<{ value: string }>(`SELECT (${schema}) AS value`))[0]!.value);
  const guard = quoteIdentifier(guardName);
  // A name may hold a line break (wrangler quotes any migrations_table), which would end a -- comment and run the rest of the name as SQL.
  const [copyName, tool, oldTable, table] = [copy, adoption.tool, adoption.old_table, tableName].map((text) => text.replace(/\r/g, "\\r").replace(/\n/g, "\\n"));
  const lines = [
    `-- The adoption "stepwise adopt" recorded in ${copyName}: ${tool}'s ${oldTable} mapped to versions 1..${version} of ${table}.`,
    `-- Run it on the database the copy was made from, all or nothing (D1: wrangler d1 execute <database> --remote --file <this file>; a Durable Object: in one transactionSync). It fails, changing nothing,`,
    `-- with "CHECK constraint failed: ${ADOPT_GUARD_CONSTRAINT}" when ${oldTable} there holds other rows than the copy's, with "CHECK constraint failed: ${ADOPT_SCHEMA_GUARD_CONSTRAINT}"`,
    `-- when its schema is not the copy's, and with "table ... already exists" when stepwise's tables are there.`,
    `CREATE TABLE ${guard} (history INTEGER NOT NULL CONSTRAINT ${ADOPT_GUARD_CONSTRAINT} CHECK (history = 1), ` +
      `schema INTEGER NOT NULL CONSTRAINT ${ADOPT_SCHEMA_GUARD_CONSTRAINT} CHECK (schema = 1));`,
    `INSERT INTO ${guard} (history, schema) SELECT (${oldRows}) = ${literal(expected)}, (${schema}) = ${literal(expectedSchema)};`,
    `DROP TABLE ${guard};`,
    ...own.map((object) => `${object.sql};`),
  ];
  for (const table of own.filter((object) => object.type === "table")) {
    const rows = yield* query<Record<string, unknown>>(`SELECT * FROM ${quoteIdentifier(table.name)} ORDER BY rowid`);
    for (const row of rows) lines.push(`INSERT INTO ${quoteIdentifier(table.name)} (${Object.keys(row).map(quoteIdentifier).join(", ")}) VALUES (${Object.values(row).map(literal).join(", ")});`);
  }
  return `${lines.join("\n")}\n`;
}

/** `value` as an SQLite literal. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (value instanceof Uint8Array) return `X'${Buffer.from(value).toString("hex")}'`;
  return `'${String(value).replaceAll("'", "''")}'`;
}
