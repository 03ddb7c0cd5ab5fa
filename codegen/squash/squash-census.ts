/**
 * Every named object PostgreSQL keeps in one schema, by catalog, which `stepwise squash` compares between the replay of the migrations it replaces and the squash it wrote: an object of a kind
 * squash does not carry (a composite or range type, an aggregate, an operator, a rule, a row-level security policy, an event trigger, a cast, a foreign server, a large object...) shows as missing, and the squash is refused, rather than left out of every fresh database unseen.
 */
import { createHash } from "node:crypto";
import { CONCAT, EQ, GT, NE, TEXT } from "../../src/core/dialects/postgres.js";
import { query, type Step } from "../../src/core/step.js";
import type { SqlDialect } from "../../src/core/types.js";
import { IN_SCHEMA, NOT_FROM_EXTENSION } from "../../src/safety/schema-reader.js";
import type { ObjectPrint } from "./squash-record.js";

/** Whether the object `oid` was made after the catalog's own (FirstNormalObjectId, 16384). */
const MADE_AFTER_INITDB = (oid: string) => `${oid} ${GT} '16383'::pg_catalog.oid`;

/** One query per catalog: `kind` and `name` of each object in the schema (`?`, where the query has one), and `owner`, the relation it hangs on (to leave stepwise's own out). */
const CENSUS = [
  // A table's, view's or sequence's row type, and each type's array type, come with it.
  `SELECT 'type' AS kind, t.typname::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_type AS t ${IN_SCHEMA("t.typnamespace")} AND ${NOT_FROM_EXTENSION("t.oid")}
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c WHERE c.oid ${EQ} t.typrelid AND c.relkind ${NE} 'c') AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type AS a WHERE a.typarray ${EQ} t.oid)`,
  `SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table'
     WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' ELSE 'relation' END AS kind, c.relname::${TEXT} AS name, coalesce((SELECT tc.relname::${TEXT} FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid WHERE i.indexrelid ${EQ} c.oid), c.relname::${TEXT}) AS owner
   FROM pg_catalog.pg_class AS c ${IN_SCHEMA("c.relnamespace")} AND c.relkind ${NE} 'c' AND ${NOT_FROM_EXTENSION("c.oid")}`,
  `SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind, p.proname::${TEXT} ${CONCAT} '(' ${CONCAT} pg_catalog.pg_get_function_identity_arguments(p.oid) ${CONCAT} ')' AS name, NULL AS owner
   FROM pg_catalog.pg_proc AS p ${IN_SCHEMA("p.pronamespace")} AND ${NOT_FROM_EXTENSION("p.oid")}`,
  `SELECT 'operator' AS kind, o.oprname::${TEXT} ${CONCAT} '(' ${CONCAT} o.oprleft::pg_catalog.regtype::${TEXT} ${CONCAT} ',' ${CONCAT} o.oprright::pg_catalog.regtype::${TEXT} ${CONCAT} ')' AS name, NULL AS owner
   FROM pg_catalog.pg_operator AS o ${IN_SCHEMA("o.oprnamespace")} AND ${NOT_FROM_EXTENSION("o.oid")}`,
  `SELECT 'rule' AS kind, c.relname::${TEXT} ${CONCAT} '.' ${CONCAT} r.rulename::${TEXT} AS name, c.relname::${TEXT} AS owner FROM pg_catalog.pg_rewrite AS r JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} r.ev_class
   ${IN_SCHEMA("c.relnamespace")} AND r.rulename ${NE} '_RETURN'`,
  `SELECT 'policy' AS kind, c.relname::${TEXT} ${CONCAT} '.' ${CONCAT} p.polname::${TEXT} AS name, c.relname::${TEXT} AS owner FROM pg_catalog.pg_policy AS p JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} p.polrelid
   ${IN_SCHEMA("c.relnamespace")}`,
  `SELECT 'statistics' AS kind, s.stxname::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_statistic_ext AS s ${IN_SCHEMA("s.stxnamespace")}`,
  `SELECT 'collation' AS kind, c.collname::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_collation AS c ${IN_SCHEMA("c.collnamespace")} AND ${NOT_FROM_EXTENSION("c.oid")}`,
  `SELECT 'operator family' AS kind, f.opfname::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_opfamily AS f ${IN_SCHEMA("f.opfnamespace")} AND ${NOT_FROM_EXTENSION("f.oid")}`,
  `SELECT 'text search configuration' AS kind, c.cfgname::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_ts_config AS c ${IN_SCHEMA("c.cfgnamespace")} AND ${NOT_FROM_EXTENSION("c.oid")}`,
  `SELECT 'text search dictionary' AS kind, d.dictname::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_ts_dict AS d ${IN_SCHEMA("d.dictnamespace")} AND ${NOT_FROM_EXTENSION("d.oid")}`,
  // An event trigger and a cast belong to no schema: on a scratch database made from template0, each one past the catalog's own oids (FirstNormalObjectId) that no extension made is the migrations'.
  `SELECT 'event trigger' AS kind, et.evtname::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_event_trigger AS et WHERE ${MADE_AFTER_INITDB("et.oid")} AND ${NOT_FROM_EXTENSION("et.oid")}`,
  `SELECT 'cast' AS kind, c.castsource::pg_catalog.regtype::${TEXT} ${CONCAT} ' AS ' ${CONCAT} c.casttarget::pg_catalog.regtype::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_cast AS c
   WHERE ${MADE_AFTER_INITDB("c.oid")} AND ${NOT_FROM_EXTENSION("c.oid")}`,
  // Neither is in a schema either: a foreign server no foreign table uses (with its wrapper when no extension made it) shows nowhere else, nor does a large object.
  `SELECT 'foreign data wrapper' AS kind, w.fdwname::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_foreign_data_wrapper AS w WHERE ${MADE_AFTER_INITDB("w.oid")} AND ${NOT_FROM_EXTENSION("w.oid")}`,
  `SELECT 'foreign server' AS kind, s.srvname::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_foreign_server AS s WHERE ${MADE_AFTER_INITDB("s.oid")} AND ${NOT_FROM_EXTENSION("s.oid")}`,
  `SELECT 'large object' AS kind, l.oid::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_largeobject_metadata AS l`,
  `SELECT 'conversion' AS kind, c.conname::${TEXT} AS name, NULL AS owner FROM pg_catalog.pg_conversion AS c ${IN_SCHEMA("c.connamespace")} AND ${NOT_FROM_EXTENSION("c.oid")}`,
];

/** On PostgreSQL, one print per object of `schema` (by its kind, such as `aggregate` or `policy`), stepwise's own tables (`exclude`) and what hangs on them left out; on SQLite none (`sqlite_master` holds all, and squash reads it whole). */
export function* readCatalogCensus(dialect: SqlDialect, schema: string, exclude: readonly string[]): Step<ObjectPrint[]> {
  if (dialect !== "postgres") return [];
  const excluded = new Set(exclude);
  const prints: ObjectPrint[] = [];
  for (const sql of CENSUS) {
    for (const row of yield* query<{ kind: string; name: string; owner: string | null }>(sql, sql.includes("?") ? [schema] : [])) {
      if (row.owner !== null && excluded.has(row.owner)) continue;
      prints.push({ kind: row.kind, name: row.name, hash: createHash("sha256").update(row.name).digest("hex").slice(0, 12) });
    }
  }
  return prints;
}

/** Schemas PostgreSQL itself keeps, which no migration's objects are in. */
const SYSTEM_SCHEMA = (column: string) => `(${column} LIKE 'pg\\_%' OR ${column} ${EQ} 'information_schema')`;

/**
 * What the replayed migrations built outside `schema` (`?`), which squash does not carry: each schema they made but `public`, and each table, view, sequence, function and type in another
 * schema, as `schema.name (kind)`; what an extension owns is left out. Read on PostgreSQL only.
 */
const ELSEWHERE_SQL = `WITH target AS (SELECT ?::${TEXT} AS schema)
SELECT n.nspname::${TEXT} ${CONCAT} ' (schema)' AS name FROM pg_catalog.pg_namespace AS n, target
  WHERE n.nspname::${TEXT} ${NE} target.schema AND n.nspname ${NE} 'public' AND NOT ${SYSTEM_SCHEMA("n.nspname")} AND ${NOT_FROM_EXTENSION("n.oid")}
UNION ALL
SELECT n.nspname::${TEXT} ${CONCAT} '.' ${CONCAT} c.relname::${TEXT} ${CONCAT} CASE c.relkind WHEN 'v' THEN ' (view)' WHEN 'm' THEN ' (materialized view)' WHEN 'S' THEN ' (sequence)' ELSE ' (table)' END
  FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace, target
 WHERE n.nspname::${TEXT} ${NE} target.schema AND NOT ${SYSTEM_SCHEMA("n.nspname")} AND c.relkind ${EQ} ANY ('{r,p,v,m,S,f}'::pg_catalog."char"[]) AND ${NOT_FROM_EXTENSION("c.oid")}
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.objid ${EQ} c.oid AND (d.deptype ${EQ} 'a' OR d.deptype ${EQ} 'i') AND d.classid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass AND c.relkind ${EQ} 'S')
UNION ALL
SELECT n.nspname::${TEXT} ${CONCAT} '.' ${CONCAT} p.proname::${TEXT} ${CONCAT} '(' ${CONCAT} pg_catalog.pg_get_function_identity_arguments(p.oid) ${CONCAT} ') (function)'
  FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} p.pronamespace, target WHERE n.nspname::${TEXT} ${NE} target.schema AND NOT ${SYSTEM_SCHEMA("n.nspname")} AND ${NOT_FROM_EXTENSION("p.oid")}
UNION ALL
SELECT n.nspname::${TEXT} ${CONCAT} '.' ${CONCAT} t.typname::${TEXT} ${CONCAT} ' (type)' FROM pg_catalog.pg_type AS t JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} t.typnamespace, target
 WHERE n.nspname::${TEXT} ${NE} target.schema AND NOT ${SYSTEM_SCHEMA("n.nspname")} AND ${NOT_FROM_EXTENSION("t.oid")} AND t.typtype ${EQ} ANY ('{e,d,r}'::pg_catalog."char"[])
ORDER BY 1`;

/** On PostgreSQL, what the migrations built outside `schema` (see {@link ELSEWHERE_SQL}), which the squash does not build; none on SQLite (one file, one schema). */
export function* readObjectsElsewhere(dialect: SqlDialect, schema: string): Step<string[]> {
  if (dialect !== "postgres") return [];
  return (yield* query<{ name: string }>(ELSEWHERE_SQL, [schema])).map((row) => row.name);
}
