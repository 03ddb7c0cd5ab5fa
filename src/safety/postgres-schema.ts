/**
 * PostgreSQL's schema as the same plain data SQLite's reader returns, read from `pg_catalog`: one query per kind of object, in one schema (the history table's), leaving out what an extension owns.
 * The server's deparsers (`format_type`, `pg_get_*def`) print one canonical text per meaning, so a replay of the same migrations reads the same and nothing needs tokenising. A sequence is compared by
 * its definition, never its current value.
 */
import { COLLATE_C, CONCAT, EQ, GT, NE, TEXT } from "../core/dialects/postgres.js";
import { query, type Step } from "../core/step.js";
import type { ColumnSnapshot, ForeignKeySnapshot, SchemaSnapshot, SqlObjectSnapshot, TableSnapshot } from "./schema-snapshot.js";

/** `pg_depend` rows of kind `e`: the object belongs to an extension. */
const NOT_FROM_EXTENSION = (oid: string) => `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS e WHERE e.objid ${EQ} ${oid} AND e.deptype ${EQ} 'e')`;

/** `schema` as a {@link SchemaSnapshot}, sorted by name, without `excludeTables` and what belongs to them. Never writes. */
export function* readPostgresSchema(schema: string, excludeTables: readonly string[] = []): Step<SchemaSnapshot> {
  const read = <T>(sql: string) => query<T>(sql, [schema]);
  const excluded = new Set(excludeTables);
  const kept = <T extends { table: string }>(rows: readonly T[]) => rows.filter((row) => !excluded.has(row.table));
  const tables = (yield* read<TableRow>(TABLES_SQL)).filter((table) => !excluded.has(table.name));
  const columns = kept(yield* read<ColumnRow>(COLUMNS_SQL));
  const constraints = kept(yield* read<ConstraintRow>(CONSTRAINTS_SQL));
  return {
    tables: tables.map((table) =>
      assembleTable(
        table,
        columns.filter((column) => column.table === table.name),
        constraints.filter((constraint) => constraint.table === table.name),
      ),
    ),
    indexes: kept(yield* read<SqlObjectSnapshot>(INDEXES_SQL)),
    triggers: kept(yield* read<SqlObjectSnapshot>(TRIGGERS_SQL)),
    views: yield* read<SqlObjectSnapshot>(VIEWS_SQL),
    sequences: yield* read<SqlObjectSnapshot>(SEQUENCES_SQL),
    functions: yield* read<SqlObjectSnapshot>(FUNCTIONS_SQL),
    types: yield* read<SqlObjectSnapshot>(TYPES_SQL),
  };
}

/** `kind`: `r` ordinary, `p` partitioned; `persistence`: `p` permanent, `u` unlogged. */
type TableRow = { name: string; kind: string; persistence: string; rowSecurity: boolean; partitionKey: string | null };

/** The tables of `schema` (ordinary and partitioned). */
const TABLES_SQL = `SELECT c.relname::${TEXT} AS name, c.relkind::${TEXT} AS kind, c.relpersistence::${TEXT} AS persistence, c.relrowsecurity AS "rowSecurity",
            pg_catalog.pg_get_partkeydef(c.oid) AS "partitionKey"
       FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
      WHERE n.nspname ${EQ} ? AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p') AND ${NOT_FROM_EXTENSION("c.oid")}
      ORDER BY c.relname ${COLLATE_C}`;

/** `expression`: the default or a generated column's; `identity`: `a`, `d` or `""`; `generated`: `s`, `v` or `""`; `collation` when not the type's default. */
type ColumnRow = { table: string; name: string; type: string; notNull: boolean; expression: string | null; identity: string; generated: string; collation: string | null };

/** The live columns of every table in `schema`, in each table's column order. */
const COLUMNS_SQL = `SELECT c.relname::${TEXT} AS "table", a.attname::${TEXT} AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) AS expression,
            a.attidentity::${TEXT} AS identity, a.attgenerated::${TEXT} AS generated,
            CASE WHEN a.attcollation ${NE} t.typcollation THEN co.collname::${TEXT} END AS collation
       FROM pg_catalog.pg_attribute AS a
       JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} a.attrelid
       JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
       JOIN pg_catalog.pg_type AS t ON t.oid ${EQ} a.atttypid
       LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid ${EQ} a.attrelid AND d.adnum ${EQ} a.attnum
       LEFT JOIN pg_catalog.pg_collation AS co ON co.oid ${EQ} a.attcollation
      WHERE n.nspname ${EQ} ? AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p') AND a.attnum ${GT} 0 AND NOT a.attisdropped
      ORDER BY c.relname ${COLLATE_C}, a.attnum`;

/** `type`: `p`, `f`, `u`, `c`, `x`, `n` (NOT NULL, PostgreSQL 18), `t`; `onUpdate`/`onDelete`: `a`, `r`, `c`, `n`, `d`. */
type ConstraintRow = {
  table: string;
  name: string;
  type: string;
  definition: string;
  columns: readonly string[];
  referencedTable: string | null;
  referencedColumns: readonly string[];
  onUpdate: string;
  onDelete: string;
};

/** A constraint's column numbers as their names, in the constraint's order. */
const columnsOf = (relation: string, numbers: string) =>
  `pg_catalog.to_json(ARRAY(SELECT a.attname::${TEXT} FROM pg_catalog.unnest(${numbers}) WITH ORDINALITY AS u(num, i)
           JOIN pg_catalog.pg_attribute AS a ON a.attrelid ${EQ} ${relation} AND a.attnum ${EQ} u.num ORDER BY u.i))`;
/** The constraints of every table in `schema`, by table and name. */
const CONSTRAINTS_SQL = `SELECT c.relname::${TEXT} AS "table", k.conname::${TEXT} AS name, k.contype::${TEXT} AS type,
            pg_catalog.pg_get_constraintdef(k.oid, true) AS definition,
            ${columnsOf("k.conrelid", "k.conkey")} AS columns,
            fc.relname::${TEXT} AS "referencedTable", ${columnsOf("k.confrelid", "k.confkey")} AS "referencedColumns",
            k.confupdtype::${TEXT} AS "onUpdate", k.confdeltype::${TEXT} AS "onDelete"
       FROM pg_catalog.pg_constraint AS k
       JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} k.conrelid
       JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
       LEFT JOIN pg_catalog.pg_class AS fc ON fc.oid ${EQ} k.confrelid
      WHERE n.nspname ${EQ} ? AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p')
      ORDER BY c.relname ${COLLATE_C}, k.conname ${COLLATE_C}`;

/** The indexes of `schema` that back no constraint (a constraint's index is compared as the constraint). */
const INDEXES_SQL = `SELECT ic.relname::${TEXT} AS name, tc.relname::${TEXT} AS "table",
            pg_catalog.pg_get_indexdef(i.indexrelid) ${CONCAT} CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END AS sql
       FROM pg_catalog.pg_index AS i
       JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} i.indexrelid
       JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid
       JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} ic.relnamespace
      WHERE n.nspname ${EQ} ? AND ${NOT_FROM_EXTENSION("i.indexrelid")}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k WHERE k.conindid ${EQ} i.indexrelid AND k.conrelid ${EQ} i.indrelid)
      ORDER BY ic.relname ${COLLATE_C}`;

/** The user triggers of `schema`'s tables, named `<table>.<trigger>` (a trigger's name is only unique per table). */
const TRIGGERS_SQL = `SELECT tc.relname::${TEXT} ${CONCAT} '.' ${CONCAT} t.tgname::${TEXT} AS name, tc.relname::${TEXT} AS "table",
            pg_catalog.pg_get_triggerdef(t.oid, true) ${CONCAT} CASE WHEN t.tgenabled ${EQ} 'D' THEN ' (DISABLED)' WHEN t.tgenabled ${EQ} 'R' THEN ' (ENABLE REPLICA)' WHEN t.tgenabled ${EQ} 'A' THEN ' (ENABLE ALWAYS)' ELSE '' END AS sql
       FROM pg_catalog.pg_trigger AS t
       JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} t.tgrelid
       JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} tc.relnamespace
      WHERE n.nspname ${EQ} ? AND NOT t.tgisinternal
      ORDER BY tc.relname ${COLLATE_C}, t.tgname ${COLLATE_C}`;

/** The views and materialized views of `schema`. */
const VIEWS_SQL = `SELECT c.relname::${TEXT} AS name, c.relname::${TEXT} AS "table",
            CASE WHEN c.relkind ${EQ} 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END ${CONCAT} ' AS ' ${CONCAT} pg_catalog.pg_get_viewdef(c.oid, true) AS sql
       FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
      WHERE n.nspname ${EQ} ? AND (c.relkind ${EQ} 'v' OR c.relkind ${EQ} 'm') AND ${NOT_FROM_EXTENSION("c.oid")}
      ORDER BY c.relname ${COLLATE_C}`;

/** The sequences of `schema`: type, bounds, step, cache, cycling and owning column; never the current value. */
const SEQUENCES_SQL = `SELECT c.relname::${TEXT} AS name, coalesce(owner.tbl, c.relname::${TEXT}) AS "table",
            'SEQUENCE AS ' ${CONCAT} pg_catalog.format_type(s.seqtypid, NULL) ${CONCAT} ' INCREMENT ' ${CONCAT} s.seqincrement ${CONCAT} ' MINVALUE ' ${CONCAT} s.seqmin ${CONCAT}
            ' MAXVALUE ' ${CONCAT} s.seqmax ${CONCAT} ' START ' ${CONCAT} s.seqstart ${CONCAT} ' CACHE ' ${CONCAT} s.seqcache ${CONCAT} CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END ${CONCAT}
            coalesce(' OWNED BY ' ${CONCAT} owner.tbl ${CONCAT} '.' ${CONCAT} owner.col, '') AS sql
       FROM pg_catalog.pg_class AS c
       JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
       JOIN pg_catalog.pg_sequence AS s ON s.seqrelid ${EQ} c.oid
       LEFT JOIN LATERAL (
         SELECT tc.relname::${TEXT} AS tbl, a.attname::${TEXT} AS col
           FROM pg_catalog.pg_depend AS d
           JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} d.refobjid
           JOIN pg_catalog.pg_attribute AS a ON a.attrelid ${EQ} d.refobjid AND a.attnum ${EQ} d.refobjsubid
          WHERE d.classid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid ${EQ} c.oid AND (d.deptype ${EQ} 'a' OR d.deptype ${EQ} 'i')
          LIMIT 1
       ) AS owner ON true
      WHERE n.nspname ${EQ} ? AND c.relkind ${EQ} 'S' AND ${NOT_FROM_EXTENSION("c.oid")}
      ORDER BY c.relname ${COLLATE_C}`;

/** The functions and procedures of `schema`, named `name(argument types)` (overloads are distinct objects). */
const FUNCTIONS_SQL = `SELECT p.proname::${TEXT} ${CONCAT} '(' ${CONCAT} pg_catalog.pg_get_function_identity_arguments(p.oid) ${CONCAT} ')' AS name,
            p.proname::${TEXT} ${CONCAT} '(' ${CONCAT} pg_catalog.pg_get_function_identity_arguments(p.oid) ${CONCAT} ')' AS "table",
            pg_catalog.pg_get_functiondef(p.oid) AS sql
       FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} p.pronamespace
      WHERE n.nspname ${EQ} ? AND (p.prokind ${EQ} 'f' OR p.prokind ${EQ} 'p') AND ${NOT_FROM_EXTENSION("p.oid")}
      ORDER BY p.proname ${COLLATE_C}, pg_catalog.pg_get_function_identity_arguments(p.oid) ${COLLATE_C}`;

/** The enum types (labels in order) and domains (base type, NOT NULL, default, checks) of `schema`. */
const TYPES_SQL = `SELECT t.typname::${TEXT} AS name, t.typname::${TEXT} AS "table",
            CASE
              WHEN t.typtype ${EQ} 'e' THEN 'ENUM (' ${CONCAT} coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum AS e WHERE e.enumtypid ${EQ} t.oid), '') ${CONCAT} ')'
              ELSE 'DOMAIN AS ' ${CONCAT} pg_catalog.format_type(t.typbasetype, t.typtypmod) ${CONCAT} CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END ${CONCAT}
                   coalesce(' DEFAULT ' ${CONCAT} t.typdefault, '') ${CONCAT}
                   coalesce((SELECT ' ' ${CONCAT} pg_catalog.string_agg('CONSTRAINT ' ${CONCAT} k.conname ${CONCAT} ' ' ${CONCAT} pg_catalog.pg_get_constraintdef(k.oid, true), ' ' ORDER BY k.conname ${COLLATE_C})
                               FROM pg_catalog.pg_constraint AS k WHERE k.contypid ${EQ} t.oid AND k.contype ${EQ} 'c'), '')
            END AS sql
       FROM pg_catalog.pg_type AS t JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} t.typnamespace
      WHERE n.nspname ${EQ} ? AND (t.typtype ${EQ} 'e' OR t.typtype ${EQ} 'd') AND ${NOT_FROM_EXTENSION("t.oid")}
      ORDER BY t.typname ${COLLATE_C}`;

const REFERENTIAL_ACTIONS: Readonly<Record<string, string>> = { a: "NO ACTION", r: "RESTRICT", c: "CASCADE", n: "SET NULL", d: "SET DEFAULT" };

/** One table as SQLite's reader shapes it; `sql`, a canonical text of everything read, catches what the fields miss (a renamed constraint, DEFERRABLE). */
function assembleTable(table: TableRow, columns: readonly ColumnRow[], constraints: readonly ConstraintRow[]): TableSnapshot {
  const primaryKey = constraints.find((constraint) => constraint.type === "p")?.columns ?? [];
  const ofType = (...types: string[]) => constraints.filter((constraint) => types.includes(constraint.type));
  const snapshots = columns.map((column): ColumnSnapshot => ({
    name: column.name,
    type: column.type,
    notNull: column.notNull,
    defaultValue: column.identity ? `generated ${column.identity === "a" ? "always" : "by default"} as identity` : column.generated ? null : column.expression,
    primaryKeyPosition: primaryKey.indexOf(column.name) + 1,
    collation: column.collation,
    // A column's CHECK is a table constraint in PostgreSQL's catalog, compared there.
    checks: column.generated ? [`generated as ${column.expression ?? ""}`] : [],
    generated: column.generated === "s" ? "stored" : column.generated === "v" ? "virtual" : null,
  }));
  const action = (code: string) => REFERENTIAL_ACTIONS[code] ?? code;
  const foreignKeys = ofType("f")
    .map(({ columns, referencedTable, referencedColumns, onUpdate, onDelete }): ForeignKeySnapshot => ({
      columns,
      referencedTable: referencedTable ?? "",
      referencedColumns,
      onUpdate: action(onUpdate),
      onDelete: action(onDelete),
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const uniqueConstraints = ofType("u")
    .map((constraint) => constraint.columns)
    .sort((a, b) => a.join(",").localeCompare(b.join(",")));
  const checks = ofType("c", "x")
    .map((constraint) => constraint.definition)
    .sort();
  const header = `${table.persistence === "u" ? "UNLOGGED TABLE" : "TABLE"} ${table.name}${table.partitionKey ? ` PARTITION BY ${table.partitionKey}` : ""}${table.rowSecurity ? " ROW LEVEL SECURITY" : ""}`;
  const body = [
    ...columns.map((column) => `${column.name} ${column.type}${column.collation ? ` COLLATE ${column.collation}` : ""}${column.notNull ? " NOT NULL" : ""}`),
    ...constraints.map((constraint) => `CONSTRAINT ${constraint.name} ${constraint.definition}`),
  ];
  return { name: table.name, columns: snapshots, withoutRowid: false, strict: false, foreignKeys, uniqueConstraints, checks, sql: `${header} (${body.join(", ")})` };
}
