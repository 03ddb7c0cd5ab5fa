/**
 * PostgreSQL's schema as the same plain data SQLite's reader returns (`schema-snapshot.ts`), read from
 * `pg_catalog` as executor steps, so verify, baseline and rehearsal compare it with `diffSchemas` and
 * report it with the same `SchemaDifference`s. One reader per kind of object; each reads one schema
 * (the history table's: the scope `reset` and the unmanaged-database check use too) and leaves out
 * what an extension owns, which no migration's replay would build.
 *
 * Definitions come from the server's own deparsers (`format_type`, `pg_get_expr`,
 * `pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_triggerdef`,
 * `pg_get_functiondef`), which print one canonical text for one meaning, so a replay of the same
 * migrations reads exactly the same and no tokenising is needed. A sequence is compared by its
 * definition, never by its current value.
 */
import { query, queryValue, type Step } from "../core/step.js";
import type { ColumnSnapshot, ForeignKeySnapshot, SchemaSnapshot, SqlObjectSnapshot, TableSnapshot } from "./schema-snapshot.js";

/** Options for {@link readPostgresSchema}. */
export interface ReadPostgresSchemaOptions {
  /** The schema to read. */
  readonly schema: string;
  /** Tables left out with their columns, constraints, indexes and triggers: the history table, typically. */
  readonly excludeTables?: readonly string[];
}

/** `pg_depend` rows of kind `e`: the object belongs to an extension. */
const NOT_FROM_EXTENSION = (oid: string) => `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS e WHERE e.objid = ${oid} AND e.deptype = 'e')`;

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The schema `options.schema` as a {@link SchemaSnapshot}, sorted by name. Never writes. */
export function* readPostgresSchema(options: ReadPostgresSchemaOptions): Step<SchemaSnapshot> {
  const excluded = new Set(options.excludeTables ?? []);
  const kept = <T extends { table: string }>(rows: readonly T[]) => rows.filter((row) => !excluded.has(row.table));
  const tables = (yield* readPostgresTables(options.schema)).filter((table) => !excluded.has(table.name));
  const columns = kept(yield* readPostgresColumns(options.schema));
  const constraints = kept(yield* readPostgresConstraints(options.schema));
  return {
    tables: tables.map((table) =>
      assembleTable(
        table,
        columns.filter((column) => column.table === table.name),
        constraints.filter((constraint) => constraint.table === table.name),
      ),
    ),
    indexes: kept(yield* readPostgresIndexes(options.schema)),
    triggers: kept(yield* readPostgresTriggers(options.schema)),
    views: yield* readPostgresViews(options.schema),
    sequences: yield* readPostgresSequences(options.schema),
    functions: yield* readPostgresFunctions(options.schema),
    types: yield* readPostgresTypes(options.schema),
  };
}

/** Rows per table of `snapshot`, in `schema`. Never writes. */
export function* countPostgresRows(schema: string, snapshot: SchemaSnapshot): Step<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of snapshot.tables) {
    counts[table.name] = Number(yield* queryValue(`SELECT count(*) AS n FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table.name)}`));
  }
  return counts;
}

/** A table as the catalog describes it, before its columns and constraints join it. */
export interface PostgresTableRow {
  readonly name: string;
  /** `r` ordinary, `p` partitioned. */
  readonly kind: string;
  /** `p` permanent, `u` unlogged. */
  readonly persistence: string;
  readonly rowSecurity: boolean;
  readonly partitionKey: string | null;
}

/** The tables of `schema` (ordinary and partitioned). */
export function* readPostgresTables(schema: string): Step<PostgresTableRow[]> {
  return yield* query<PostgresTableRow>(
    `SELECT c.relname::text AS name, c.relkind::text AS kind, c.relpersistence::text AS persistence, c.relrowsecurity AS "rowSecurity",
            pg_catalog.pg_get_partkeydef(c.oid) AS "partitionKey"
       FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND c.relkind IN ('r', 'p') AND ${NOT_FROM_EXTENSION("c.oid")}
      ORDER BY c.relname COLLATE "C"`,
    [schema],
  );
}

/** A column as the catalog describes it. */
export interface PostgresColumnRow {
  readonly table: string;
  readonly name: string;
  /** `format_type`: `character varying(20)`, `timestamp with time zone`… */
  readonly type: string;
  readonly notNull: boolean;
  /** The default, or a generated column's expression, deparsed. */
  readonly expression: string | null;
  /** `a` always, `d` by default, `""` not an identity column. */
  readonly identity: string;
  /** `s` stored, `v` virtual, `""` not generated. */
  readonly generated: string;
  /** The column's collation when it is not its type's default. */
  readonly collation: string | null;
}

/** The live columns of every table in `schema`, in each table's column order. */
export function* readPostgresColumns(schema: string): Step<PostgresColumnRow[]> {
  return yield* query<PostgresColumnRow>(
    `SELECT c.relname::text AS "table", a.attname::text AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) AS expression,
            a.attidentity::text AS identity, a.attgenerated::text AS generated,
            CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END AS collation
       FROM pg_catalog.pg_attribute AS a
       JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
       LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_catalog.pg_collation AS co ON co.oid = a.attcollation
      WHERE n.nspname = ? AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname COLLATE "C", a.attnum`,
    [schema],
  );
}

/** A table constraint (primary key, foreign key, unique, check, exclusion, not null). */
export interface PostgresConstraintRow {
  readonly table: string;
  readonly name: string;
  /** `p`, `f`, `u`, `c`, `x`, `n` (PostgreSQL 18 records NOT NULL as a constraint too), `t`. */
  readonly type: string;
  readonly definition: string;
  readonly columns: readonly string[];
  readonly referencedTable: string | null;
  readonly referencedColumns: readonly string[];
  /** `a` no action, `r` restrict, `c` cascade, `n` set null, `d` set default. */
  readonly onUpdate: string;
  readonly onDelete: string;
}

/** The constraints of every table in `schema`, by table and name. */
export function* readPostgresConstraints(schema: string): Step<PostgresConstraintRow[]> {
  const columnsOf = (relation: string, numbers: string) =>
    `ARRAY(SELECT a.attname::text FROM unnest(${numbers}) WITH ORDINALITY AS u(num, i)
             JOIN pg_catalog.pg_attribute AS a ON a.attrelid = ${relation} AND a.attnum = u.num ORDER BY u.i)`;
  return yield* query<PostgresConstraintRow>(
    `SELECT c.relname::text AS "table", k.conname::text AS name, k.contype::text AS type,
            pg_catalog.pg_get_constraintdef(k.oid, true) AS definition,
            ${columnsOf("k.conrelid", "k.conkey")} AS columns,
            fc.relname::text AS "referencedTable", ${columnsOf("k.confrelid", "k.confkey")} AS "referencedColumns",
            k.confupdtype::text AS "onUpdate", k.confdeltype::text AS "onDelete"
       FROM pg_catalog.pg_constraint AS k
       JOIN pg_catalog.pg_class AS c ON c.oid = k.conrelid
       JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_class AS fc ON fc.oid = k.confrelid
      WHERE n.nspname = ? AND c.relkind IN ('r', 'p')
      ORDER BY c.relname COLLATE "C", k.conname COLLATE "C"`,
    [schema],
  );
}

/** The indexes of `schema` that back no constraint (a constraint's index is compared as the constraint). */
export function* readPostgresIndexes(schema: string): Step<SqlObjectSnapshot[]> {
  return yield* query<SqlObjectSnapshot>(
    `SELECT ic.relname::text AS name, tc.relname::text AS "table",
            pg_catalog.pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END AS sql
       FROM pg_catalog.pg_index AS i
       JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
       JOIN pg_catalog.pg_class AS tc ON tc.oid = i.indrelid
       JOIN pg_catalog.pg_namespace AS n ON n.oid = ic.relnamespace
      WHERE n.nspname = ? AND ${NOT_FROM_EXTENSION("i.indexrelid")}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)
      ORDER BY ic.relname COLLATE "C"`,
    [schema],
  );
}

/** The user triggers of `schema`'s tables, named `<table>.<trigger>` (a trigger's name is only unique per table). */
export function* readPostgresTriggers(schema: string): Step<SqlObjectSnapshot[]> {
  return yield* query<SqlObjectSnapshot>(
    `SELECT tc.relname::text || '.' || t.tgname::text AS name, tc.relname::text AS "table",
            pg_catalog.pg_get_triggerdef(t.oid, true) || CASE t.tgenabled WHEN 'D' THEN ' (DISABLED)' WHEN 'R' THEN ' (ENABLE REPLICA)' WHEN 'A' THEN ' (ENABLE ALWAYS)' ELSE '' END AS sql
       FROM pg_catalog.pg_trigger AS t
       JOIN pg_catalog.pg_class AS tc ON tc.oid = t.tgrelid
       JOIN pg_catalog.pg_namespace AS n ON n.oid = tc.relnamespace
      WHERE n.nspname = ? AND NOT t.tgisinternal
      ORDER BY tc.relname COLLATE "C", t.tgname COLLATE "C"`,
    [schema],
  );
}

/** The views and materialized views of `schema`. */
export function* readPostgresViews(schema: string): Step<SqlObjectSnapshot[]> {
  return yield* query<SqlObjectSnapshot>(
    `SELECT c.relname::text AS name, c.relname::text AS "table",
            CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END || ' AS ' || pg_catalog.pg_get_viewdef(c.oid, true) AS sql
       FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND c.relkind IN ('v', 'm') AND ${NOT_FROM_EXTENSION("c.oid")}
      ORDER BY c.relname COLLATE "C"`,
    [schema],
  );
}

/** The sequences of `schema`: type, bounds, step, cache, cycling and owning column; never the current value. */
export function* readPostgresSequences(schema: string): Step<SqlObjectSnapshot[]> {
  return yield* query<SqlObjectSnapshot>(
    `SELECT c.relname::text AS name, coalesce(owner.tbl, c.relname::text) AS "table",
            'SEQUENCE AS ' || pg_catalog.format_type(s.seqtypid, NULL) || ' INCREMENT ' || s.seqincrement || ' MINVALUE ' || s.seqmin ||
            ' MAXVALUE ' || s.seqmax || ' START ' || s.seqstart || ' CACHE ' || s.seqcache || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END ||
            coalesce(' OWNED BY ' || owner.tbl || '.' || owner.col, '') AS sql
       FROM pg_catalog.pg_class AS c
       JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = c.oid
       LEFT JOIN LATERAL (
         SELECT tc.relname::text AS tbl, a.attname::text AS col
           FROM pg_catalog.pg_depend AS d
           JOIN pg_catalog.pg_class AS tc ON tc.oid = d.refobjid
           JOIN pg_catalog.pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
          LIMIT 1
       ) AS owner ON true
      WHERE n.nspname = ? AND c.relkind = 'S' AND ${NOT_FROM_EXTENSION("c.oid")}
      ORDER BY c.relname COLLATE "C"`,
    [schema],
  );
}

/** The functions and procedures of `schema`, named `name(argument types)` (overloads are distinct objects). */
export function* readPostgresFunctions(schema: string): Step<SqlObjectSnapshot[]> {
  return yield* query<SqlObjectSnapshot>(
    `SELECT p.proname::text || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS name,
            p.proname::text || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS "table",
            pg_catalog.pg_get_functiondef(p.oid) AS sql
       FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
      WHERE n.nspname = ? AND p.prokind IN ('f', 'p') AND ${NOT_FROM_EXTENSION("p.oid")}
      ORDER BY p.proname COLLATE "C", pg_catalog.pg_get_function_identity_arguments(p.oid) COLLATE "C"`,
    [schema],
  );
}

/** The enum types (labels in order) and domains (base type, NOT NULL, default, checks) of `schema`. */
export function* readPostgresTypes(schema: string): Step<SqlObjectSnapshot[]> {
  return yield* query<SqlObjectSnapshot>(
    `SELECT t.typname::text AS name, t.typname::text AS "table",
            CASE t.typtype
              WHEN 'e' THEN 'ENUM (' || coalesce((SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum AS e WHERE e.enumtypid = t.oid), '') || ')'
              ELSE 'DOMAIN AS ' || pg_catalog.format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END ||
                   coalesce(' DEFAULT ' || t.typdefault, '') ||
                   coalesce((SELECT ' ' || string_agg('CONSTRAINT ' || k.conname || ' ' || pg_catalog.pg_get_constraintdef(k.oid, true), ' ' ORDER BY k.conname COLLATE "C")
                               FROM pg_catalog.pg_constraint AS k WHERE k.contypid = t.oid AND k.contype = 'c'), '')
            END AS sql
       FROM pg_catalog.pg_type AS t JOIN pg_catalog.pg_namespace AS n ON n.oid = t.typnamespace
      WHERE n.nspname = ? AND t.typtype IN ('e', 'd') AND ${NOT_FROM_EXTENSION("t.oid")}
      ORDER BY t.typname COLLATE "C"`,
    [schema],
  );
}

const REFERENTIAL_ACTIONS: Readonly<Record<string, string>> = { a: "NO ACTION", r: "RESTRICT", c: "CASCADE", n: "SET NULL", d: "SET DEFAULT" };

/**
 * One table as SQLite's reader shapes it. `sql` is a canonical text of everything read (persistence,
 * partitioning, row security, every column and every named constraint), so what the fields do not
 * show (a renamed constraint, a DEFERRABLE clause) still counts as a difference.
 */
function assembleTable(table: PostgresTableRow, columns: readonly PostgresColumnRow[], constraints: readonly PostgresConstraintRow[]): TableSnapshot {
  const primaryKey = constraints.find((constraint) => constraint.type === "p")?.columns ?? [];
  const snapshots = columns.map((column): ColumnSnapshot => ({
    name: column.name,
    type: column.type,
    notNull: column.notNull,
    defaultValue: column.identity ? `generated ${column.identity === "a" ? "always" : "by default"} as identity` : column.generated ? null : column.expression,
    primaryKeyPosition: primaryKey.indexOf(column.name) + 1,
    collation: column.collation,
    // A column's CHECK is a table constraint in PostgreSQL's catalog; it is compared there.
    checks: column.generated ? [`generated as ${column.expression ?? ""}`] : [],
    generated: column.generated === "s" ? "stored" : column.generated === "v" ? "virtual" : null,
  }));
  const foreignKeys = constraints
    .filter((constraint) => constraint.type === "f")
    .map((constraint): ForeignKeySnapshot => ({
      columns: constraint.columns,
      referencedTable: constraint.referencedTable ?? "",
      referencedColumns: constraint.referencedColumns,
      onUpdate: REFERENTIAL_ACTIONS[constraint.onUpdate] ?? constraint.onUpdate,
      onDelete: REFERENTIAL_ACTIONS[constraint.onDelete] ?? constraint.onDelete,
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const uniqueConstraints = constraints
    .filter((constraint) => constraint.type === "u")
    .map((constraint) => constraint.columns)
    .sort((a, b) => a.join(",").localeCompare(b.join(",")));
  const checks = constraints
    .filter((constraint) => constraint.type === "c" || constraint.type === "x")
    .map((constraint) => constraint.definition)
    .sort();
  const header = [
    table.persistence === "u" ? "UNLOGGED TABLE" : "TABLE",
    table.name,
    ...(table.partitionKey ? [`PARTITION BY ${table.partitionKey}`] : []),
    ...(table.rowSecurity ? ["ROW LEVEL SECURITY"] : []),
  ].join(" ");
  const body = [
    ...columns.map((column) => `${column.name} ${column.type}${column.collation ? ` COLLATE ${column.collation}` : ""}${column.notNull ? " NOT NULL" : ""}`),
    ...constraints.map((constraint) => `CONSTRAINT ${constraint.name} ${constraint.definition}`),
  ];
  return { name: table.name, columns: snapshots, withoutRowid: false, strict: false, foreignKeys, uniqueConstraints, checks, sql: `${header} (${body.join(", ")})` };
}
