/**
 * PostgreSQL's schema as the DDL that rebuilds it, read from `pg_catalog` in one schema of a database the squashed migrations were replayed on, with the server's own deparsers
 * (`pg_get_*def`, `format_type`), so what it writes is what the server would print. Names are left unqualified by that schema, so the squash builds where the migrations built: the
 * connection's `search_path`.
 */
import { quoteIdentifier } from "../../src/core/batch-walk.js";
import { CONCAT, EQ, literal, NE, TEXT } from "../../src/core/dialects/postgres.js";
import { query, type Step } from "../../src/core/step.js";
import { readRelationSettings } from "../../src/safety/schema-reader.js";
import { orderViews, type DdlStatement, type SchemaDdl } from "./squash-ddl.js";

/** A catalog row an extension did not create (the extension's own `CREATE EXTENSION` brings it back). */
export const NOT_FROM_EXTENSION = (oid: string) => `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS e WHERE e.objid ${EQ} ${oid} AND e.deptype ${EQ} 'e')`;
/** Restricts a catalog query to the schema passed as its `?`. */
export const IN_SCHEMA = (namespace: string) => `JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} ${namespace} WHERE n.nspname ${EQ} ?`;

type Named = { name: string; sql: string };
type TableRow = { name: string; oid: number; persistence: string; partitionKey: string | null; parent: string | null; bound: string | null; rowSecurity: boolean };
type ColumnRow = {
  table: string;
  name: string;
  type: string;
  notNull: boolean;
  expression: string | null;
  identity: string;
  generated: string;
  collation: string | null;
  identityOptions: string | null;
};
type ConstraintRow = { table: string; name: string; type: string; definition: string };

const QUERIES = {
  extensions: `SELECT x.extname::${TEXT} AS name, '' AS sql, n.nspname::${TEXT} AS schema FROM pg_catalog.pg_extension AS x JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} x.extnamespace
  WHERE x.extname ${NE} 'plpgsql' ORDER BY x.oid`,
  types: `SELECT t.typname::${TEXT} AS name, CASE WHEN t.typtype ${EQ} 'e' THEN 'CREATE TYPE ' ${CONCAT} pg_catalog.quote_ident(t.typname) ${CONCAT} ' AS ENUM (' ${CONCAT}
         coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum AS e WHERE e.enumtypid ${EQ} t.oid), '') ${CONCAT} ')'
       ELSE 'CREATE DOMAIN ' ${CONCAT} pg_catalog.quote_ident(t.typname) ${CONCAT} ' AS ' ${CONCAT} pg_catalog.format_type(t.typbasetype, t.typtypmod) ${CONCAT}
         CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END ${CONCAT} coalesce(' DEFAULT ' ${CONCAT} t.typdefault, '') ${CONCAT}
         coalesce((SELECT ' ' ${CONCAT} pg_catalog.string_agg('CONSTRAINT ' ${CONCAT} pg_catalog.quote_ident(k.conname) ${CONCAT} ' ' ${CONCAT} pg_catalog.pg_get_constraintdef(k.oid, true), ' ' ORDER BY k.oid)
           FROM pg_catalog.pg_constraint AS k WHERE k.contypid ${EQ} t.oid AND k.contype ${EQ} 'c'), '') END AS sql
  FROM pg_catalog.pg_type AS t ${IN_SCHEMA("t.typnamespace")} AND (t.typtype ${EQ} 'e' OR t.typtype ${EQ} 'd') AND ${NOT_FROM_EXTENSION("t.oid")} ORDER BY t.oid`,
  // Sequences an identity column owns are made by that column.
  sequences: `SELECT c.relname::${TEXT} AS name, 'CREATE SEQUENCE ' ${CONCAT} pg_catalog.quote_ident(c.relname) ${CONCAT} ' AS ' ${CONCAT} pg_catalog.format_type(s.seqtypid, NULL) ${CONCAT}
       ' INCREMENT ' ${CONCAT} s.seqincrement ${CONCAT} ' MINVALUE ' ${CONCAT} s.seqmin ${CONCAT} ' MAXVALUE ' ${CONCAT} s.seqmax ${CONCAT} ' START ' ${CONCAT} s.seqstart ${CONCAT}
       ' CACHE ' ${CONCAT} s.seqcache ${CONCAT} CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END AS sql
  FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_sequence AS s ON s.seqrelid ${EQ} c.oid ${IN_SCHEMA("c.relnamespace")} AND c.relkind ${EQ} 'S' AND ${NOT_FROM_EXTENSION("c.oid")}
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.objid ${EQ} c.oid AND d.deptype ${EQ} 'i') ORDER BY c.oid`,
  owners: `SELECT c.relname::${TEXT} AS name, 'ALTER SEQUENCE ' ${CONCAT} pg_catalog.quote_ident(c.relname) ${CONCAT} ' OWNED BY ' ${CONCAT} pg_catalog.quote_ident(tc.relname) ${CONCAT} '.' ${CONCAT} pg_catalog.quote_ident(a.attname) AS sql
  FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_depend AS d ON d.objid ${EQ} c.oid AND d.deptype ${EQ} 'a' AND d.classid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass
  JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} d.refobjid JOIN pg_catalog.pg_attribute AS a ON a.attrelid ${EQ} d.refobjid AND a.attnum ${EQ} d.refobjsubid
  ${IN_SCHEMA("c.relnamespace")} AND c.relkind ${EQ} 'S' ORDER BY c.oid`,
  // `rowTyped`: a table's row type is in its signature (`RETURNS SETOF contacts`), so it follows the tables.
  functions: `SELECT p.proname::${TEXT} ${CONCAT} '(' ${CONCAT} pg_catalog.pg_get_function_identity_arguments(p.oid) ${CONCAT} ')' AS name, pg_catalog.pg_get_functiondef(p.oid) AS sql,
       EXISTS (SELECT 1 FROM pg_catalog.pg_type AS t WHERE t.typrelid ${NE} 0 AND (t.oid ${EQ} p.prorettype OR t.oid ${EQ} ANY (p.proargtypes::pg_catalog.oid[]))) AS "rowTyped"
  FROM pg_catalog.pg_proc AS p ${IN_SCHEMA("p.pronamespace")} AND (p.prokind ${EQ} 'f' OR p.prokind ${EQ} 'p') AND ${NOT_FROM_EXTENSION("p.oid")} ORDER BY p.oid`,
  tables: `SELECT c.relname::${TEXT} AS name, c.oid::pg_catalog.int8 AS oid, c.relpersistence::${TEXT} AS persistence, pg_catalog.pg_get_partkeydef(c.oid) AS "partitionKey",
       CASE WHEN c.relispartition THEN (SELECT pc.relname::${TEXT} FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS pc ON pc.oid ${EQ} i.inhparent WHERE i.inhrelid ${EQ} c.oid LIMIT 1) END AS parent,
       CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS bound, c.relrowsecurity AS "rowSecurity"
  FROM pg_catalog.pg_class AS c ${IN_SCHEMA("c.relnamespace")} AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p') AND ${NOT_FROM_EXTENSION("c.oid")} ORDER BY c.oid`,
  columns: `SELECT c.relname::${TEXT} AS "table", a.attname::${TEXT} AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
       pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS expression, a.attidentity::${TEXT} AS identity, a.attgenerated::${TEXT} AS generated,
       CASE WHEN a.attcollation ${NE} t.typcollation THEN pg_catalog.quote_ident(co.collname) END AS collation,
       CASE WHEN a.attidentity ${NE} '' THEN (SELECT ' (START WITH ' ${CONCAT} s.seqstart ${CONCAT} ' INCREMENT BY ' ${CONCAT} s.seqincrement ${CONCAT} ' MINVALUE ' ${CONCAT} s.seqmin ${CONCAT}
         ' MAXVALUE ' ${CONCAT} s.seqmax ${CONCAT} ' CACHE ' ${CONCAT} s.seqcache ${CONCAT} CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END ${CONCAT} ')'
         FROM pg_catalog.pg_sequence AS s WHERE s.seqrelid ${EQ} pg_catalog.pg_get_serial_sequence(pg_catalog.quote_ident(n.nspname) ${CONCAT} '.' ${CONCAT} pg_catalog.quote_ident(c.relname), a.attname)::pg_catalog.regclass) END AS "identityOptions"
  FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} a.attrelid JOIN pg_catalog.pg_type AS t ON t.oid ${EQ} a.atttypid
  LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid ${EQ} a.attrelid AND d.adnum ${EQ} a.attnum LEFT JOIN pg_catalog.pg_collation AS co ON co.oid ${EQ} a.attcollation
  ${IN_SCHEMA("c.relnamespace")} AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.oid, a.attnum`,
  // A partition's constraints and NOT NULLs come from its parent; a NOT NULL constraint (PostgreSQL 18) from its column.
  constraints: `SELECT c.relname::${TEXT} AS "table", k.conname::${TEXT} AS name, k.contype::${TEXT} AS type, pg_catalog.pg_get_constraintdef(k.oid) AS definition
  FROM pg_catalog.pg_constraint AS k JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} k.conrelid ${IN_SCHEMA("c.relnamespace")} AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p')
   AND k.contype ${NE} 'n' AND k.conislocal ORDER BY k.oid`,
  indexes: `SELECT ic.relname::${TEXT} AS name, pg_catalog.pg_get_indexdef(i.indexrelid) AS sql, tc.relname::${TEXT} AS "table", tc.relkind ${EQ} 'm' AS "onView"
  FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} i.indexrelid JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid
  ${IN_SCHEMA("ic.relnamespace")} AND ${NOT_FROM_EXTENSION("i.indexrelid")} AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k WHERE k.conindid ${EQ} i.indexrelid AND k.conrelid ${EQ} i.indrelid)
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits AS h WHERE h.inhrelid ${EQ} i.indexrelid) ORDER BY ic.oid`,
  views: `SELECT c.relname::${TEXT} AS name, 'CREATE ' ${CONCAT} CASE WHEN c.relkind ${EQ} 'm' THEN 'MATERIALIZED VIEW ' ELSE 'VIEW ' END ${CONCAT} pg_catalog.quote_ident(c.relname) ${CONCAT}
       ' AS ' ${CONCAT} pg_catalog.rtrim(pg_catalog.pg_get_viewdef(c.oid), ';') AS sql
  FROM pg_catalog.pg_class AS c ${IN_SCHEMA("c.relnamespace")} AND (c.relkind ${EQ} 'v' OR c.relkind ${EQ} 'm') AND ${NOT_FROM_EXTENSION("c.oid")} ORDER BY c.oid`,
  triggers: `SELECT t.tgname::${TEXT} AS name, pg_catalog.pg_get_triggerdef(t.oid) AS sql, tc.relname::${TEXT} AS "table"
  FROM pg_catalog.pg_trigger AS t JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} t.tgrelid ${IN_SCHEMA("tc.relnamespace")} AND NOT t.tgisinternal AND t.tgparentid ${EQ} 0 ORDER BY t.oid`,
  values: `SELECT c.relname::${TEXT} AS name, '' AS sql FROM pg_catalog.pg_class AS c ${IN_SCHEMA("c.relnamespace")} AND c.relkind ${EQ} 'S' ORDER BY c.oid`,
} as const;

/** The schema `schema` holds, without stepwise's tables (`exclude`) and what is on them, as DDL in dependency order, with its rows and where its sequences stand. */
export function* readPostgresDdl(schema: string, exclude: readonly string[]): Step<SchemaDdl> {
  const excluded = new Set(exclude);
  const read = <T extends { name: string; table?: string }>(sql: string) => query<T>(sql, [schema]);
  const own = <T extends { name: string; table?: string }>(rows: T[]) => rows.filter((row) => !excluded.has(row.table ?? row.name));
  // The server qualifies names in what it prints where it must; the squash's are left to the search_path, as the migrations' were.
  const prefix = `${quoteIdentifier(schema).replace(/^"([a-z_][a-z0-9_$]*)"$/, "$1")}.`;
  const unqualify = (sql: string) => sql.replace(new RegExp(`(\\b(?:ON|FUNCTION|PROCEDURE|TABLE|REFERENCES|EXECUTE FUNCTION)\\s+)${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`, "g"), "$1");
  const statement = (kind: string) => (row: Named) => ({ kind, name: row.name, sql: `${unqualify(row.sql).trim()};` });

  // In the schema it was installed in where that one is sure to exist: the squash's search_path may start elsewhere than the migrations' did.
  const extensions = (yield* query<Named & { schema: string }>(QUERIES.extensions)).map((row) => ({
    kind: "extension",
    name: row.name,
    sql: `CREATE EXTENSION IF NOT EXISTS ${quoteIdentifier(row.name)}${row.schema === "public" || row.schema === schema ? ` SCHEMA ${quoteIdentifier(row.schema)}` : ""};`,
  }));
  const types = (yield* read<Named>(QUERIES.types)).map(statement("type"));
  const sequences = (yield* read<Named>(QUERIES.sequences)).map(statement("sequence"));
  const allFunctions = yield* read<Named & { rowTyped: boolean }>(QUERIES.functions);
  const functions = allFunctions.filter((row) => !row.rowTyped).map(statement("function"));
  const rowTypedFunctions = allFunctions.filter((row) => row.rowTyped).map(statement("function"));
  const tables = own(yield* read<TableRow>(QUERIES.tables));
  const columns = yield* read<ColumnRow & { name: string }>(QUERIES.columns);
  const constraints = own(yield* read<ConstraintRow>(QUERIES.constraints));
  const tableStatements: DdlStatement[] = tables.map((table) => ({
    kind: "table",
    name: table.name,
    sql: renderTable(
      table,
      columns.filter((column) => column.table === table.name),
    ),
  }));
  const owners = own((yield* read<Named & { table: string }>(QUERIES.owners)).map((row) => ({ ...row, table: /OWNED BY (\S+)\./.exec(row.sql)?.[1]?.replace(/^"|"$/g, "") ?? "" }))).map(
    statement("sequence owner"),
  );
  const constraint = (row: ConstraintRow) => ({
    kind: row.type === "f" ? "foreign key" : "constraint",
    name: row.name,
    sql: `ALTER TABLE ${quoteIdentifier(row.table)} ADD CONSTRAINT ${quoteIdentifier(row.name)} ${row.definition};`,
  });
  const security = tables
    .filter((table) => table.rowSecurity)
    .map((table) => ({ kind: "table setting", name: table.name, sql: `ALTER TABLE ${quoteIdentifier(table.name)} ENABLE ROW LEVEL SECURITY;` }));
  const settings = own(yield* readRelationSettings(schema)).map((row) => ({ kind: `${row.keyword.replace(/ ONLY$/, "").toLowerCase()} setting`, name: row.name, sql: `${row.sql};` }));
  const allIndexes = own(yield* read<Named & { table: string; onView: boolean }>(QUERIES.indexes));
  const indexes = allIndexes.filter((row) => !row.onView).map(statement("index"));
  // A materialized view's indexes follow it: it is made after the tables' indexes.
  const viewIndexes = allIndexes.filter((row) => row.onView).map(statement("materialized view index"));
  const views = orderViews((yield* read<Named>(QUERIES.views)).map(statement("view")), "postgres");
  const triggers = own(yield* read<Named & { table: string }>(QUERIES.triggers)).map(statement("trigger"));

  const seeds: SchemaDdl["seeds"][number][] = [];
  for (const table of tables) {
    if (table.partitionKey !== null) continue;
    const inserts = yield* readInserts(
      schema,
      table,
      columns.filter((column) => column.table === table.name),
    );
    if (inserts.length > 0) seeds.push({ table: table.name, statements: inserts });
  }
  const values: string[] = [];
  for (const { name } of yield* read<Named>(QUERIES.values)) {
    const [row] = yield* query<{ last: string; called: boolean }>(`SELECT last_value::${TEXT} AS last, is_called AS called FROM ${quoteIdentifier(schema)}.${quoteIdentifier(name)}`);
    if (row?.called) values.push(`SELECT pg_catalog.setval(${literal(quoteIdentifier(name))}, ${row.last});`);
  }
  return {
    // Functions before tables: a default, check or generated column may call one; their bodies are not checked until they run.
    statements: [
      { kind: "setting", name: "check_function_bodies", sql: "SET LOCAL check_function_bodies = off;" },
      // The names are unqualified, and the migrations built in the configured schema: the squash builds there too, whatever the connection's search_path (public after it, for what is there).
      ...(schema === "public" ? [] : [{ kind: "setting", name: "search_path", sql: `SET LOCAL search_path = ${quoteIdentifier(schema)}, public;` }]),
      ...extensions,
      ...types,
      ...sequences,
      ...functions,
      ...tableStatements,
      ...rowTypedFunctions,
      ...owners,
    ],
    seeds,
    // Foreign keys after the rows, which then load in any order; triggers after them too, so loading them fires none.
    after: [
      ...constraints.filter((row) => row.type !== "f").map(constraint),
      // Before the foreign keys: a key may reference columns a unique index (not a constraint) makes unique.
      ...indexes,
      ...constraints.filter((row) => row.type === "f").map(constraint),
      ...views,
      ...viewIndexes,
      // After the rows (FORCE ROW LEVEL SECURITY would refuse them), the indexes (CLUSTER ON, REPLICA IDENTITY USING INDEX) and the views.
      ...security,
      ...settings,
      ...triggers,
      ...values.map((sql) => ({ kind: "sequence value", name: "", sql })),
    ],
  };
}

function renderTable(table: TableRow, columns: readonly ColumnRow[]): string {
  const name = quoteIdentifier(table.name);
  const unlogged = table.persistence === "u" ? "UNLOGGED " : "";
  if (table.parent !== null) return `CREATE ${unlogged}TABLE ${name} PARTITION OF ${quoteIdentifier(table.parent)} ${table.bound ?? "DEFAULT"};`;
  const definitions = columns.map((column) => {
    const parts = [quoteIdentifier(column.name), column.type];
    if (column.collation) parts.push(`COLLATE ${column.collation}`);
    if (column.identity) parts.push(`GENERATED ${column.identity === "a" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY${column.identityOptions ?? ""}`);
    else if (column.generated) parts.push(`GENERATED ALWAYS AS (${column.expression ?? ""}) ${column.generated === "v" ? "VIRTUAL" : "STORED"}`);
    else if (column.expression !== null) parts.push(`DEFAULT ${column.expression}`);
    if (column.notNull) parts.push("NOT NULL");
    return `  ${parts.join(" ")}`;
  });
  return `CREATE ${unlogged}TABLE ${name} (\n${definitions.join(",\n")}\n)${table.partitionKey ? ` PARTITION BY ${table.partitionKey}` : ""};`;
}

/** The table's rows, one INSERT each, through JSON so every type comes back as the server reads it; generated columns are left to the server. */
function* readInserts(schema: string, table: TableRow, columns: readonly ColumnRow[]): Step<string[]> {
  const stored = columns.filter((column) => !column.generated).map((column) => quoteIdentifier(column.name));
  if (stored.length === 0) return [];
  const rows = yield* query<{ row: string }>(`SELECT pg_catalog.row_to_json(t.*)::${TEXT} AS row FROM ONLY ${quoteIdentifier(schema)}.${quoteIdentifier(table.name)} AS t`);
  const overriding = columns.some((column) => column.identity === "a") ? " OVERRIDING SYSTEM VALUE" : "";
  const name = quoteIdentifier(table.name);
  const list = stored.join(", ");
  return rows.map(({ row }) => `INSERT INTO ${name} (${list})${overriding} SELECT ${list} FROM pg_catalog.json_populate_record(NULL::${name}, ${literal(row)});`);
}
