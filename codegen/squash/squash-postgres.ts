/**
 * PostgreSQL's schema as the DDL that rebuilds it, read from `pg_catalog` in one schema of a database the squashed migrations were replayed on, with the server's own deparsers
 * (`pg_get_*def`, `format_type`), so what it writes is what the server would print. Names are left unqualified by that schema, so the squash builds where the migrations built: the
 * connection's `search_path`.
 */
import { quoteIdentifier } from "../../src/core/batch-walk.js";
import { CONCAT, EQ, GT, literal, NE, TEXT } from "../../src/core/dialects/postgres.js";
import { query, type Step } from "../../src/core/step.js";
import { IN_SCHEMA, NOT_FROM_EXTENSION, readRelationSettings } from "../../src/safety/schema-reader.js";
import { orderViews, readSeeds, type DdlStatement, type SchemaDdl } from "./squash-ddl.js";

/** The statement that sets trigger `t` of table `tc` in its state: enabled, disabled, enabled always or on a replica only. */
const SET_TRIGGER_STATE = `'ALTER TABLE ' ${CONCAT} pg_catalog.quote_ident(tc.relname) ${CONCAT}
       CASE WHEN t.tgenabled ${EQ} 'O' THEN ' ENABLE' WHEN t.tgenabled ${EQ} 'D' THEN ' DISABLE' WHEN t.tgenabled ${EQ} 'A' THEN ' ENABLE ALWAYS' ELSE ' ENABLE REPLICA' END ${CONCAT}
       ' TRIGGER ' ${CONCAT} pg_catalog.quote_ident(t.tgname)`;

type Named = { name: string; sql: string };
type ExtensionRow = { name: string; schema: string; version: string; defaultVersion: string | null };
type TableRow = {
  name: string;
  oid: number;
  persistence: string;
  partitionKey: string | null;
  parent: string | null;
  bound: string | null;
  rowSecurity: boolean;
  inheritedChecks: { sql: string; valid: boolean }[] | null;
};
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
  /** Its NOT NULL constraint's name, on PostgreSQL 18 (which names them, and keeps the name through a rename); `null` before. */
  notNullName: string | null;
  notNullNoInherit: boolean | null;
  notNullValid: boolean | null;
};
type ConstraintRow = { table: string; name: string; type: string; definition: string };

/** Schemas an extension may be in that every database has: `pg_catalog` is where some extensions must be. */
const SURE_SCHEMAS = new Set(["public", "pg_catalog"]);

const QUERIES = {
  extensions: `SELECT x.extname::${TEXT} AS name, n.nspname::${TEXT} AS schema, x.extversion AS version, a.default_version AS "defaultVersion"
  FROM pg_catalog.pg_extension AS x JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} x.extnamespace LEFT JOIN pg_catalog.pg_available_extensions AS a ON a.name ${EQ} x.extname
  WHERE x.extname ${NE} 'plpgsql' ORDER BY x.oid`,
  types: `SELECT t.typname::${TEXT} AS name, CASE WHEN t.typtype ${EQ} 'e' THEN 'CREATE TYPE ' ${CONCAT} pg_catalog.quote_ident(t.typname) ${CONCAT} ' AS ENUM (' ${CONCAT}
         coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum AS e WHERE e.enumtypid ${EQ} t.oid), '') ${CONCAT} ')'
       ELSE 'CREATE DOMAIN ' ${CONCAT} pg_catalog.quote_ident(t.typname) ${CONCAT} ' AS ' ${CONCAT} pg_catalog.format_type(t.typbasetype, t.typtypmod) ${CONCAT}
         CASE WHEN t.typcollation ${NE} b.typcollation THEN ' COLLATE ' ${CONCAT} pg_catalog.quote_ident(co.collname) ELSE '' END ${CONCAT}
         CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END ${CONCAT} coalesce(' DEFAULT ' ${CONCAT} t.typdefault, '') ${CONCAT}
         coalesce((SELECT ' ' ${CONCAT} pg_catalog.string_agg('CONSTRAINT ' ${CONCAT} pg_catalog.quote_ident(k.conname) ${CONCAT} ' ' ${CONCAT} pg_catalog.pg_get_constraintdef(k.oid, true), ' ' ORDER BY k.oid)
           FROM pg_catalog.pg_constraint AS k WHERE k.contypid ${EQ} t.oid AND k.contype ${EQ} 'c' AND k.convalidated), '') END AS sql
  FROM pg_catalog.pg_type AS t LEFT JOIN pg_catalog.pg_type AS b ON b.oid ${EQ} t.typbasetype LEFT JOIN pg_catalog.pg_collation AS co ON co.oid ${EQ} t.typcollation
  ${IN_SCHEMA("t.typnamespace")} AND (t.typtype ${EQ} 'e' OR t.typtype ${EQ} 'd') AND ${NOT_FROM_EXTENSION("t.oid")} ORDER BY t.oid`,
  // CREATE DOMAIN takes no NOT VALID: the server checks those only on new values, so they are added after the rows, as they were added after the rows they spare.
  domainChecks: `SELECT k.conname::${TEXT} AS name, 'ALTER DOMAIN ' ${CONCAT} pg_catalog.quote_ident(t.typname) ${CONCAT} ' ADD CONSTRAINT ' ${CONCAT} pg_catalog.quote_ident(k.conname) ${CONCAT} ' ' ${CONCAT}
       pg_catalog.pg_get_constraintdef(k.oid, true) AS sql
  FROM pg_catalog.pg_constraint AS k JOIN pg_catalog.pg_type AS t ON t.oid ${EQ} k.contypid ${IN_SCHEMA("t.typnamespace")} AND k.contype ${EQ} 'c' AND NOT k.convalidated
   AND ${NOT_FROM_EXTENSION("t.oid")} ORDER BY k.oid`,
  // Sequences an identity column owns are made by that column.
  sequences: `SELECT c.relname::${TEXT} AS name, 'CREATE ' ${CONCAT} CASE WHEN c.relpersistence ${EQ} 'u' THEN 'UNLOGGED ' ELSE '' END ${CONCAT} 'SEQUENCE ' ${CONCAT} pg_catalog.quote_ident(c.relname) ${CONCAT} ' AS ' ${CONCAT} pg_catalog.format_type(s.seqtypid, NULL) ${CONCAT}
       ' INCREMENT ' ${CONCAT} s.seqincrement ${CONCAT} ' MINVALUE ' ${CONCAT} s.seqmin ${CONCAT} ' MAXVALUE ' ${CONCAT} s.seqmax ${CONCAT} ' START ' ${CONCAT} s.seqstart ${CONCAT}
       ' CACHE ' ${CONCAT} s.seqcache ${CONCAT} CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END AS sql
  FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_sequence AS s ON s.seqrelid ${EQ} c.oid ${IN_SCHEMA("c.relnamespace")} AND c.relkind ${EQ} 'S' AND ${NOT_FROM_EXTENSION("c.oid")}
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.objid ${EQ} c.oid AND d.deptype ${EQ} 'i') ORDER BY c.oid`,
  owners: `SELECT c.relname::${TEXT} AS name, 'ALTER SEQUENCE ' ${CONCAT} pg_catalog.quote_ident(c.relname) ${CONCAT} ' OWNED BY ' ${CONCAT} pg_catalog.quote_ident(tc.relname) ${CONCAT} '.' ${CONCAT} pg_catalog.quote_ident(a.attname) AS sql
  FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_depend AS d ON d.objid ${EQ} c.oid AND d.deptype ${EQ} 'a' AND d.classid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass
  JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} d.refobjid JOIN pg_catalog.pg_attribute AS a ON a.attrelid ${EQ} d.refobjid AND a.attnum ${EQ} d.refobjsubid
  ${IN_SCHEMA("c.relnamespace")} AND c.relkind ${EQ} 'S' ORDER BY c.oid`,
  // An identity column's sequence is made by its table, logged as the table is: one set otherwise (`ALTER SEQUENCE … SET UNLOGGED`) is set after it.
  identityPersistence: `SELECT c.relname::${TEXT} AS name, 'ALTER SEQUENCE ' ${CONCAT} pg_catalog.quote_ident(c.relname) ${CONCAT} ' SET ' ${CONCAT}
       CASE WHEN c.relpersistence ${EQ} 'u' THEN 'UNLOGGED' ELSE 'LOGGED' END AS sql, tc.relname::${TEXT} AS "table"
  FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_depend AS d ON d.objid ${EQ} c.oid AND d.deptype ${EQ} 'i' AND d.classid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass
  JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} d.refobjid ${IN_SCHEMA("c.relnamespace")} AND c.relkind ${EQ} 'S' AND c.relpersistence ${NE} tc.relpersistence ORDER BY c.oid`,
  // `rowTyped`: a table's row type is in its signature (`RETURNS SETOF contacts`), so it follows the tables. `readsRelations`: a SQL-standard body (`BEGIN ATOMIC`) is parsed when it is
  // made, whatever check_function_bodies says, and the server records the tables and views it reads: it follows them.
  functions: `SELECT p.proname::${TEXT} ${CONCAT} '(' ${CONCAT} pg_catalog.pg_get_function_identity_arguments(p.oid) ${CONCAT} ')' AS name, p.proname::${TEXT} AS proname,
       pg_catalog.pg_get_functiondef(p.oid) AS sql,
       EXISTS (SELECT 1 FROM pg_catalog.pg_type AS t WHERE t.typrelid ${NE} 0 AND (t.oid ${EQ} p.prorettype OR t.oid ${EQ} ANY (p.proargtypes::pg_catalog.oid[]))) AS "rowTyped",
       EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.classid ${EQ} 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid ${EQ} p.oid
         AND d.refclassid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype ${EQ} 'n') AS "readsRelations"
  FROM pg_catalog.pg_proc AS p ${IN_SCHEMA("p.pronamespace")} AND (p.prokind ${EQ} 'f' OR p.prokind ${EQ} 'p') AND ${NOT_FROM_EXTENSION("p.oid")} ORDER BY p.oid`,
  tables: `SELECT c.relname::${TEXT} AS name, c.oid::pg_catalog.int8 AS oid, c.relpersistence::${TEXT} AS persistence, pg_catalog.pg_get_partkeydef(c.oid) AS "partitionKey",
       CASE WHEN c.relispartition THEN (SELECT pc.relname::${TEXT} FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS pc ON pc.oid ${EQ} i.inhparent WHERE i.inhrelid ${EQ} c.oid LIMIT 1) END AS parent,
       CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS bound, c.relrowsecurity AS "rowSecurity",
       (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('sql', 'CONSTRAINT ' ${CONCAT} pg_catalog.quote_ident(k.conname) ${CONCAT} ' ' ${CONCAT} pg_catalog.pg_get_constraintdef(k.oid), 'valid', k.convalidated) ORDER BY k.conname) FROM pg_catalog.pg_constraint AS k
         WHERE c.relispartition AND k.conrelid ${EQ} c.oid AND (k.contype ${EQ} 'c' OR (k.contype ${EQ} 'n' AND NOT k.convalidated)) AND k.coninhcount ${GT} 0) AS "inheritedChecks"
  FROM pg_catalog.pg_class AS c ${IN_SCHEMA("c.relnamespace")} AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p') AND ${NOT_FROM_EXTENSION("c.oid")} ORDER BY c.oid`,
  columns: `SELECT c.relname::${TEXT} AS "table", a.attname::${TEXT} AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
       pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS expression, a.attidentity::${TEXT} AS identity, a.attgenerated::${TEXT} AS generated,
       CASE WHEN a.attcollation ${NE} t.typcollation THEN pg_catalog.quote_ident(co.collname) END AS collation,
       CASE WHEN a.attidentity ${NE} '' THEN (SELECT ' (SEQUENCE NAME ' ${CONCAT} pg_catalog.quote_ident(sc.relname) ${CONCAT} ' START WITH ' ${CONCAT} s.seqstart ${CONCAT} ' INCREMENT BY ' ${CONCAT} s.seqincrement ${CONCAT} ' MINVALUE ' ${CONCAT} s.seqmin ${CONCAT}
         ' MAXVALUE ' ${CONCAT} s.seqmax ${CONCAT} ' CACHE ' ${CONCAT} s.seqcache ${CONCAT} CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END ${CONCAT} ')'
         FROM pg_catalog.pg_sequence AS s JOIN pg_catalog.pg_class AS sc ON sc.oid ${EQ} s.seqrelid
         WHERE s.seqrelid ${EQ} pg_catalog.pg_get_serial_sequence(pg_catalog.quote_ident(n.nspname) ${CONCAT} '.' ${CONCAT} pg_catalog.quote_ident(c.relname), a.attname)::pg_catalog.regclass) END AS "identityOptions",
       k.conname::${TEXT} AS "notNullName", k.connoinherit AS "notNullNoInherit", k.convalidated AS "notNullValid"
  FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} a.attrelid JOIN pg_catalog.pg_type AS t ON t.oid ${EQ} a.atttypid
  LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid ${EQ} a.attrelid AND d.adnum ${EQ} a.attnum LEFT JOIN pg_catalog.pg_collation AS co ON co.oid ${EQ} a.attcollation
  LEFT JOIN pg_catalog.pg_constraint AS k ON k.conrelid ${EQ} a.attrelid AND k.contype ${EQ} 'n' AND k.conkey[1] ${EQ} a.attnum
  ${IN_SCHEMA("c.relnamespace")} AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.oid, a.attnum`,
  // A partition's constraints come from its parent (but for its own); a NOT NULL constraint (PostgreSQL 18) from its column, but a NOT VALID one, which no column definition can
  // say, is added here; a constraint trigger's (`t`) comes with its CREATE CONSTRAINT TRIGGER.
  constraints: `SELECT c.relname::${TEXT} AS "table", k.conname::${TEXT} AS name, k.contype::${TEXT} AS type, pg_catalog.pg_get_constraintdef(k.oid) AS definition
  FROM pg_catalog.pg_constraint AS k JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} k.conrelid ${IN_SCHEMA("c.relnamespace")} AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p')
   AND (k.contype ${NE} 'n' OR NOT k.convalidated) AND k.contype ${NE} 't' AND k.conislocal ORDER BY k.oid`,
  indexes: `SELECT ic.relname::${TEXT} AS name, pg_catalog.pg_get_indexdef(i.indexrelid) AS sql, tc.relname::${TEXT} AS "table", tc.relkind ${EQ} 'm' AS "onView"
  FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} i.indexrelid JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid
  ${IN_SCHEMA("ic.relnamespace")} AND ${NOT_FROM_EXTENSION("i.indexrelid")} AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k WHERE k.conindid ${EQ} i.indexrelid AND k.conrelid ${EQ} i.indrelid)
   ORDER BY ic.oid`,
  // The deparser prints a partitioned table's index ON ONLY it: each partition's index is made by name and attached to it, as pg_dump does, so every one keeps the name it has.
  attachedIndexes: `SELECT ic.relname::${TEXT} AS name, 'ALTER INDEX ' ${CONCAT} pg_catalog.quote_ident(pc.relname) ${CONCAT} ' ATTACH PARTITION ' ${CONCAT} pg_catalog.quote_ident(ic.relname) AS sql,
       tc.relname::${TEXT} AS "table"
  FROM pg_catalog.pg_inherits AS h JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} h.inhrelid JOIN pg_catalog.pg_class AS pc ON pc.oid ${EQ} h.inhparent
  JOIN pg_catalog.pg_index AS i ON i.indexrelid ${EQ} ic.oid JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid
  ${IN_SCHEMA("ic.relnamespace")} AND (ic.relkind ${EQ} 'i' OR ic.relkind ${EQ} 'I') ORDER BY ic.oid`,
  views: `SELECT c.relname::${TEXT} AS name, 'CREATE ' ${CONCAT} CASE WHEN c.relkind ${EQ} 'm' THEN 'MATERIALIZED VIEW ' ELSE 'VIEW ' END ${CONCAT} pg_catalog.quote_ident(c.relname) ${CONCAT}
       ' AS ' ${CONCAT} pg_catalog.rtrim(pg_catalog.pg_get_viewdef(c.oid), ';') ${CONCAT} CASE WHEN c.relispopulated THEN '' ELSE ' WITH NO DATA' END AS sql
  FROM pg_catalog.pg_class AS c ${IN_SCHEMA("c.relnamespace")} AND (c.relkind ${EQ} 'v' OR c.relkind ${EQ} 'm') AND ${NOT_FROM_EXTENSION("c.oid")} ORDER BY c.oid`,
  // A trigger's state (disabled, enabled always or on a replica) is no part of its definition: set after it, as the migrations did.
  triggers: `SELECT t.tgname::${TEXT} AS name, pg_catalog.pg_get_triggerdef(t.oid) ${CONCAT} CASE WHEN t.tgenabled ${EQ} 'O' THEN '' ELSE ';\n' ${CONCAT} ${SET_TRIGGER_STATE} END AS sql, tc.relname::${TEXT} AS "table"
  FROM pg_catalog.pg_trigger AS t JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} t.tgrelid ${IN_SCHEMA("tc.relnamespace")} AND NOT t.tgisinternal AND t.tgparentid ${EQ} 0 ORDER BY t.oid`,
  // A partition's copy of its parent's trigger, made by the server, in a state of its own.
  triggerStates: `SELECT t.tgname::${TEXT} AS name, ${SET_TRIGGER_STATE} AS sql, tc.relname::${TEXT} AS "table"
  FROM pg_catalog.pg_trigger AS t JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} t.tgrelid ${IN_SCHEMA("tc.relnamespace")} AND NOT t.tgisinternal AND t.tgparentid ${NE} 0
   AND t.tgenabled ${NE} (SELECT p.tgenabled FROM pg_catalog.pg_trigger AS p WHERE p.oid ${EQ} t.tgparentid) ORDER BY t.oid`,
  // Extended statistics, which the server deparses whole.
  statistics: `SELECT s.stxname::${TEXT} AS name, pg_catalog.pg_get_statisticsobjdef(s.oid) AS sql, tc.relname::${TEXT} AS "table"
  FROM pg_catalog.pg_statistic_ext AS s JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} s.stxrelid ${IN_SCHEMA("s.stxnamespace")} ORDER BY s.oid`,
  values: `SELECT c.relname::${TEXT} AS name, s.seqstart::${TEXT} AS start FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_sequence AS s ON s.seqrelid ${EQ} c.oid
  ${IN_SCHEMA("c.relnamespace")} AND c.relkind ${EQ} 'S' ORDER BY c.oid`,
} as const;

/** The schema `schema` holds, without stepwise's tables (`exclude`) and what is on them, as DDL in dependency order, with its rows and where its sequences stand. */
export function* readPostgresDdl(schema: string, exclude: readonly string[]): Step<SchemaDdl> {
  const excluded = new Set(exclude);
  const read = <T extends { name: string; table?: string }>(sql: string) => query<T>(sql, [schema]);
  const own = <T extends { name: string; table?: string }>(rows: T[]) => rows.filter((row) => !excluded.has(row.table ?? row.name));
  const statement = statementsIn(schema);

  const { uncarried, extensions } = yield* readExtensions(schema);
  const types = (yield* read<Named>(QUERIES.types)).map(statement("type"));
  const domainChecks = (yield* read<Named>(QUERIES.domainChecks)).map(statement("domain constraint"));
  const sequences = (yield* read<Named>(QUERIES.sequences)).map(statement("sequence"));
  const allFunctions = yield* read<Named & { proname: string; rowTyped: boolean; readsRelations: boolean }>(QUERIES.functions);
  const functions = allFunctions.filter((row) => !row.rowTyped && !row.readsRelations).map(statement("function"));
  const rowTypedFunctions = allFunctions.filter((row) => row.rowTyped && !row.readsRelations).map(statement("function"));
  // Named for orderViews by their bare name, which is how a view's text or another body calls them.
  const bodyFunctions = allFunctions.filter((row) => row.readsRelations).map((row) => ({ ...statement("function")(row), name: row.proname }));
  const tables = own(yield* read<TableRow>(QUERIES.tables));
  const columns = yield* read<ColumnRow & { name: string }>(QUERIES.columns);
  const constraints = own(yield* read<ConstraintRow>(QUERIES.constraints));
  const columnsOf = (table: TableRow) => columns.filter((column) => column.table === table.name);
  const tableStatements: DdlStatement[] = tables.map((table) => ({ kind: "table", name: table.name, sql: renderTable(table, columnsOf(table)) }));
  const identityPersistence = own(yield* read<Named & { table: string }>(QUERIES.identityPersistence)).map(statement("sequence setting"));
  const owners = own((yield* read<Named & { table: string }>(QUERIES.owners)).map((row) => ({ ...row, table: /OWNED BY (\S+)\./.exec(row.sql)?.[1]?.replace(/^"|"$/g, "") ?? "" }))).map(
    statement("sequence owner"),
  );
  // Foreign keys' triggers switched off one by one have no names to set on another database: left out, so the proof refuses them.
  const settings = own(yield* readRelationSettings(schema))
    .filter((row) => !/ SYSTEM TRIGGERS [A-Z]+$/.test(row.sql))
    .map((row) => ({ kind: `${row.keyword.replace(/ ONLY$/, "").toLowerCase()} setting`, name: row.name, sql: `${row.sql};` }));
  const allIndexes = own(yield* read<Named & { table: string; onView: boolean }>(QUERIES.indexes));
  const indexes = allIndexes.filter((row) => !row.onView).map(statement("index"));
  // Only those the squash makes: a partition's index that backs a constraint is made and attached by that constraint.
  const made = new Set(allIndexes.map((row) => row.name));
  const attachments = own(yield* read<Named & { table: string }>(QUERIES.attachedIndexes))
    .filter((row) => made.has(row.name))
    .map(statement("index attachment"));
  // A materialized view's indexes follow it: it is made after the tables' indexes.
  const viewIndexes = allIndexes.filter((row) => row.onView).map(statement("materialized view index"));
  // A view may call a function that reads tables, and such a function may read a view: one order for both.
  const views = orderViews([...(yield* read<Named>(QUERIES.views)).map(statement("view")), ...bodyFunctions], "postgres");
  const triggers = own(yield* read<Named & { table: string }>(QUERIES.triggers)).map(statement("trigger"));
  const triggerStates = own(yield* read<Named & { table: string }>(QUERIES.triggerStates)).map(statement("trigger state"));
  const statistics = own(yield* read<Named & { table: string }>(QUERIES.statistics)).map(statement("statistics", "STATISTICS|FROM"));

  // A partitioned table's rows are its partitions'.
  const seeds = yield* readSeeds(
    tables.filter((table) => table.partitionKey === null),
    (table) => readInserts(schema, table, columnsOf(table)),
  );
  const values = yield* readSequenceValues(schema);
  return {
    // Functions before tables: a default, check or generated column may call one; their bodies are not checked until they run.
    statements: [
      { kind: "setting", name: "check_function_bodies", sql: "SET LOCAL check_function_bodies = off;" },
      ...extensions,
      ...types,
      ...sequences,
      ...functions,
      ...tableStatements,
      ...rowTypedFunctions,
      ...owners,
      ...identityPersistence,
    ],
    seeds,
    after: afterTheRows({ tables, domainChecks, constraints, indexes, attachments, views, viewIndexes, settings, triggers, triggerStates, statistics, values }),
    uncarried,
  };
}

/** What {@link readPostgresDdl} read that runs once the rows are in. */
interface AfterTheRows {
  tables: TableRow[];
  domainChecks: DdlStatement[];
  constraints: ConstraintRow[];
  indexes: DdlStatement[];
  attachments: DdlStatement[];
  views: DdlStatement[];
  viewIndexes: DdlStatement[];
  settings: DdlStatement[];
  triggers: DdlStatement[];
  triggerStates: DdlStatement[];
  statistics: DdlStatement[];
  values: string[];
}

/**
 * The statements after the rows, in the order they can run: foreign keys after the rows, which then load in any order;
 * triggers after them too, so loading them fires none.
 */
function afterTheRows({ tables, domainChecks, constraints, indexes, attachments, views, viewIndexes, settings, triggers, triggerStates, statistics, values }: AfterTheRows): DdlStatement[] {
  return [
    ...domainChecks,
    ...constraints.filter((row) => row.type !== "f").map(addConstraint),
    // Before the foreign keys: a key may reference columns a unique index (not a constraint) makes unique.
    ...indexes,
    // Each partition made on its own joins its parent once its rows and indexes are in (attaching takes a partition's matching index as the parent index's).
    ...tables
      .filter((table) => table.parent !== null)
      .map((table) => ({
        kind: "partition",
        name: table.name,
        sql: [
          ...(table.inheritedChecks ?? []).filter((check) => !check.valid).map((check) => `ALTER TABLE ${quoteIdentifier(table.name)} ADD ${check.sql};`),
          `ALTER TABLE ${quoteIdentifier(table.parent!)} ATTACH PARTITION ${quoteIdentifier(table.name)} ${table.bound ?? "DEFAULT"};`,
        ].join("\n"),
      })),
    ...attachments,
    ...constraints.filter((row) => row.type === "f").map(addConstraint),
    ...views,
    ...viewIndexes,
    // After the rows (FORCE ROW LEVEL SECURITY would refuse them), the indexes (CLUSTER ON, REPLICA IDENTITY USING INDEX) and the views.
    ...tables.filter((table) => table.rowSecurity).map((table) => ({ kind: "table setting", name: table.name, sql: `ALTER TABLE ${quoteIdentifier(table.name)} ENABLE ROW LEVEL SECURITY;` })),
    ...settings,
    ...triggers,
    ...triggerStates,
    ...statistics,
    ...values.map((sql) => ({ kind: "sequence value", name: "", sql })),
  ];
}

function addConstraint(row: ConstraintRow): DdlStatement {
  return {
    kind: row.type === "f" ? "foreign key" : "constraint",
    name: row.name,
    sql: `ALTER TABLE ${quoteIdentifier(row.table)} ADD CONSTRAINT ${quoteIdentifier(row.name)} ${row.definition};`,
  };
}

/** A printed object as a statement of `kind`, its names left unqualified where the server qualified them by `schema`: the squash's are left to the search_path, as the migrations' were. */
function statementsIn(schema: string): (kind: string, alsoAfter?: string) => (row: Named) => DdlStatement {
  const prefix = `${quoteIdentifier(schema).replace(/^"([a-z_][a-z0-9_$]*)"$/, "$1")}.`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // `alsoAfter`: more words a name follows in one kind's text, where they cannot be read as one in a function's body (`FROM` in a statistics object's).
  const unqualify = (sql: string, alsoAfter: string) => sql.replace(new RegExp(`(\\b(?:ON ONLY|ON|FUNCTION|PROCEDURE|TABLE|REFERENCES|EXECUTE FUNCTION${alsoAfter})\\s+)${prefix}`, "g"), "$1");
  return (kind, alsoAfter = "") =>
    (row) => ({ kind, name: row.name, sql: `${unqualify(row.sql, alsoAfter ? `|${alsoAfter}` : "").trim()};` });
}

/** Each extension's CREATE EXTENSION, and what cannot be carried: an extension in a schema the squash does not build (what uses it names that schema, `extensions.citext`). */
function* readExtensions(schema: string): Step<{ uncarried: string[]; extensions: DdlStatement[] }> {
  const rows = yield* query<ExtensionRow>(QUERIES.extensions);
  const uncarried = rows.filter((row) => !SURE_SCHEMAS.has(row.schema) && row.schema !== schema).map((row) => `extension "${row.name}" is in schema "${row.schema}", which squash does not build`);
  // In public where it was installed there; in the migrations' own schema, where the session builds (another database's may have another name). At the version it is at, which
  // a fresh database's CREATE EXTENSION would not choose (the newest the server has) when an ALTER EXTENSION UPDATE never ran.
  const extensions = rows.map((row) => ({
    kind: "extension",
    name: row.name,
    sql: `CREATE EXTENSION IF NOT EXISTS ${quoteIdentifier(row.name)}${row.schema === "public" ? ` SCHEMA "public"` : ""}${
      row.version === row.defaultVersion ? "" : ` VERSION ${literal(row.version)}`
    };`,
  }));
  return { uncarried, extensions };
}

/** A setval for each sequence that does not stand where a fresh one would. */
function* readSequenceValues(schema: string): Step<string[]> {
  const values: string[] = [];
  for (const { name, start } of yield* query<{ name: string; start: string }>(QUERIES.values, [schema])) {
    const [row] = yield* query<{ last: string; called: boolean }>(`SELECT last_value::${TEXT} AS last, is_called AS called FROM ${quoteIdentifier(schema)}.${quoteIdentifier(name)}`);
    if (row?.called) values.push(`SELECT pg_catalog.setval(${literal(quoteIdentifier(name))}, ${row.last});`);
    // Restarted (ALTER SEQUENCE ... RESTART, setval(..., false)) and not used since: the next value is this one, not the start.
    else if (row !== undefined && row.last !== start) values.push(`SELECT pg_catalog.setval(${literal(quoteIdentifier(name))}, ${row.last}, false);`);
  }
  return values;
}

function renderTable(table: TableRow, columns: readonly ColumnRow[]): string {
  const name = quoteIdentifier(table.name);
  const unlogged = table.persistence === "u" ? "UNLOGGED " : "";
  const partitionBy = table.partitionKey ? ` PARTITION BY ${table.partitionKey}` : "";
  // A partition is made with its own columns (their order, defaults and NOT NULL names, whether it was made of its parent or attached to it), then attached, as pg_dump does.
  // Attaching wants the parent's CHECK constraints there, so they are made with it, and gives it the parent's identity, so it is left to that.
  const definitions = columns.map((column) => {
    const parts = [quoteIdentifier(column.name), column.type];
    if (column.collation) parts.push(`COLLATE ${column.collation}`);
    if (column.identity && table.parent === null) parts.push(`GENERATED ${column.identity === "a" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY${column.identityOptions ?? ""}`);
    else if (column.generated) parts.push(`GENERATED ALWAYS AS (${column.expression ?? ""}) ${column.generated === "v" ? "VIRTUAL" : "STORED"}`);
    else if (column.expression !== null) parts.push(`DEFAULT ${column.expression}`);
    // Named as it is: PostgreSQL 18 keeps a NOT NULL's name through renames, so the one it would choose may differ. A NOT VALID one is added after the rows.
    if (column.notNullName !== null && column.notNullValid) parts.push(`CONSTRAINT ${quoteIdentifier(column.notNullName)} NOT NULL${column.notNullNoInherit ? " NO INHERIT" : ""}`);
    else if (column.notNull && column.notNullName === null) parts.push("NOT NULL");
    return `  ${parts.join(" ")}`;
  });
  // A NOT VALID one is added with the attachment, after the rows, which it does not check.
  const checks = (table.inheritedChecks ?? []).filter((check) => check.valid).map((check) => `  ${check.sql}`);
  return `CREATE ${unlogged}TABLE ${name} (\n${[...definitions, ...checks].join(",\n")}\n)${partitionBy};`;
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
