/**
 * stepwise-migrate/pg lists a schema's own objects (what `info` counts, `reset` drops and `up` reads to
 * refuse a database another tool made) from the catalog through its indexes, so the read does not grow
 * with the other schemas of a fleet. The list must stay exactly what the schema holds: every kind of
 * object, none of another schema's, and no index that a constraint owns or a foreign key depends on,
 * nor a partition's copy of its parent's index or trigger, which cannot be dropped alone.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import pg from "pg";
import { connectPostgres, createCli } from "../src/cli/index.js";
import { StepwiseError } from "../src/core/errors.js";
import { MigrationManager } from "../src/entries/pg.js";
import { connectFresh, connectFreshWithUrl, recordStatements } from "./support/pg-client.js";
import { namedSqlEntry } from "./support/registry-builders.js";

const SETUP = `
  CREATE SCHEMA a; CREATE SCHEMA b; SET search_path = a;
  CREATE TABLE t1 (id int PRIMARY KEY, u int UNIQUE, v int, w int, r int4range, EXCLUDE USING gist (r WITH &&));
  CREATE UNIQUE INDEX t1_v_uniq ON t1 (v);
  CREATE UNIQUE INDEX t1_w_uniq ON t1 (w);
  ALTER TABLE t1 ADD CONSTRAINT t1_w_key UNIQUE USING INDEX t1_w_uniq;
  CREATE TABLE t2 (id int PRIMARY KEY, t1u int REFERENCES t1 (u));
  CREATE TABLE b.other (x int REFERENCES a.t1 (v));
  CREATE INDEX t2_expr ON t2 ((id * 2)) WHERE id > 0;
  CREATE VIEW v1 AS SELECT id FROM t1;
  CREATE MATERIALIZED VIEW mv AS SELECT id FROM t1; CREATE INDEX mv_id ON mv (id);
  CREATE TABLE p (id int, k int, PRIMARY KEY (id, k)) PARTITION BY RANGE (k);
  CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
  CREATE INDEX p_k ON p (k);
  CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
  CREATE TRIGGER tr1 BEFORE INSERT ON t1 FOR EACH ROW EXECUTE FUNCTION f();
  CREATE TRIGGER tr_v INSTEAD OF INSERT ON v1 FOR EACH ROW EXECUTE FUNCTION f();
  CREATE CONSTRAINT TRIGGER ctr AFTER INSERT ON t2 FOR EACH ROW EXECUTE FUNCTION f();
  CREATE SEQUENCE s1; CREATE TYPE comp AS (x int);
  CREATE TABLE moved (id int PRIMARY KEY); CREATE INDEX moved_i ON moved (id); ALTER TABLE moved SET SCHEMA b;
  CREATE TABLE b.came (id int PRIMARY KEY); CREATE INDEX came_i ON b.came (id); ALTER TABLE b.came SET SCHEMA a;
  CREATE TABLE b.t1 (id int); CREATE INDEX t1_b ON b.t1 (id);
`;

test("a schema's objects are every table, view, free index and user trigger it holds, and none of another schema's", async (t) => {
  const client = await connectFresh(t);
  await client.query(SETUP);
  const registry = [namedSqlEntry(1, "first", "SELECT 1", null, { dialect: "postgres" })];
  const list = async (schema: string) => {
    const manager = new MigrationManager(client, registry, { schema });
    return (await manager.run(manager.executor.dialect.readSchemaObjects())).map((object) => `${object.type} ${object.name} on ${object.tblName}`);
  };

  assert.deepEqual(await list("a"), [
    "table came on came",
    "index came_i on came",
    "trigger ctr on t2",
    "index mv_id on mv",
    "table p on p",
    "table p1 on p1",
    // Not p1's copy of p_k, which goes with p_k.
    "index p_k on p",
    "table t1 on t1",
    "table t2 on t2",
    "index t2_expr on t2",
    "trigger tr1 on t1",
    "trigger tr_v on v1",
    "view v1 on v1",
  ]);
  assert.deepEqual(await list("b"), ["table moved on moved", "index moved_i on moved", "table other on other", "table t1 on t1", "index t1_b on t1"]);
  assert.deepEqual(await list("public"), []);
});

test("reset empties a schema of partitioned tables whose index and row trigger the partitions copied, made before and after them", async (t) => {
  const client = await connectFresh(t);
  const registry = [namedSqlEntry(1, "first", "CREATE TABLE kept (id int)", null, { dialect: "postgres" })];
  await client.query(`
    CREATE FUNCTION public.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    CREATE TABLE events (id int, at int) PARTITION BY RANGE (at);
    CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (10);
    CREATE TABLE events_0 PARTITION OF events FOR VALUES FROM (-10) TO (0);
    CREATE INDEX events_by_id ON events (id);
    CREATE TRIGGER events_noop AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION public.noop();
    CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (10) TO (20);
    CREATE TABLE events_3 (id int, at int); CREATE INDEX events_3_own ON events_3 (id);
    ALTER TABLE events ATTACH PARTITION events_3 FOR VALUES FROM (20) TO (30);
    CREATE TABLE schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at text NOT NULL, duration_ms bigint,
      state text NOT NULL DEFAULT 'applied' CHECK (state = 'applied' OR state = 'started'), owner text);`);
  const manager = new MigrationManager(client, registry);
  const result = await manager.reset({ dangerouslyDropAllData: true });
  assert.deepEqual(
    result.steps.map((step) => step.version),
    [1],
  );
  const { rows } = await client.query<{ name: string }>("SELECT relname AS name FROM pg_catalog.pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'i', 'I') ORDER BY 1");
  assert.deepEqual(
    rows.map((row) => row.name),
    ["kept", "schema_migrations", "schema_migrations_pkey"],
  );
});

test("reset drops the types, functions, sequences and other objects the migrations made, so they run again; an extension stays", async (t) => {
  const client = await connectFresh(t);
  await client.query("CREATE EXTENSION hstore");
  const registry = [
    namedSqlEntry(
      1,
      "kinds",
      `CREATE TYPE mood AS ENUM ('calm', 'busy'); CREATE DOMAIN positive AS int CHECK (VALUE > 0); CREATE TYPE point2 AS (x int, y int);
       CREATE FUNCTION mood_of(busy boolean) RETURNS mood LANGUAGE sql AS $$ SELECT CASE WHEN busy THEN 'busy'::mood ELSE 'calm'::mood END $$;
       CREATE AGGREGATE total(int) (sfunc = int4pl, stype = int); CREATE SEQUENCE tickets;
       CREATE TABLE people (id serial PRIMARY KEY, feeling mood DEFAULT mood_of(false), age positive, at point2, tags hstore, ticket int DEFAULT nextval('tickets'));
       CREATE STATISTICS people_stats ON id, age FROM people; CREATE MATERIALIZED VIEW moods AS SELECT DISTINCT feeling FROM people;
       CREATE TEXT SEARCH CONFIGURATION plain (COPY = pg_catalog.simple); CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq);`,
      null,
      { dialect: "postgres" },
    ),
  ];
  const manager = new MigrationManager(client, registry);
  await manager.up();
  await client.query("INSERT INTO people (age, tags) VALUES (3, 'a=>1')");
  const result = await manager.reset({ dangerouslyDropAllData: true });
  assert.deepEqual(
    result.steps.map((step) => step.version),
    [1],
  );
  assert.deepEqual((await client.query("SELECT count(*)::int AS n FROM people")).rows, [{ n: 0 }]);
  const { rows } = await client.query<{ name: string }>("SELECT extname AS name FROM pg_catalog.pg_extension WHERE extname = 'hstore'");
  assert.deepEqual(rows, [{ name: "hstore" }]);
});

test("reset refuses with RESET_FAILED, dropping nothing, when another schema's column needs a type of the schema it resets; the CLI reports it with its code", async (t) => {
  const { client, url } = await connectFreshWithUrl(t);
  const registry = [namedSqlEntry(1, "mood", "CREATE TYPE mood AS ENUM ('calm', 'busy'); CREATE TABLE people (id int PRIMARY KEY, feeling mood);", null, { dialect: "postgres" })];
  const manager = new MigrationManager(client, registry);
  await manager.up();
  await client.query("INSERT INTO people VALUES (1, 'busy'); CREATE SCHEMA other; CREATE TABLE other.visits (id int, feeling public.mood); INSERT INTO other.visits VALUES (1, 'calm')");
  const unchanged = async () => {
    assert.deepEqual((await client.query("SELECT id, feeling::text FROM people")).rows, [{ id: 1, feeling: "busy" }]);
    assert.deepEqual((await client.query("SELECT id, feeling::text FROM other.visits")).rows, [{ id: 1, feeling: "calm" }]);
    assert.deepEqual((await manager.status()).currentVersion, 1);
  };
  // The type is no listed object: the drop that fails is the pass over the rest, and the server's DETAIL names the column that needs it.
  const refusal = await manager.reset({ dangerouslyDropAllData: true }).then(
    () => assert.fail("reset dropped a type another schema needs"),
    (error: unknown) => error as StepwiseError<"RESET_FAILED">,
  );
  assert.ok(refusal instanceof StepwiseError && refusal.is("RESET_FAILED"), String(refusal));
  assert.equal(refusal.nativeCode, "2BP01");
  assert.deepEqual({ ...refusal.details, detail: null }, { table: "schema_migrations", object: null, detail: null, rolledBack: true });
  assert.match(refusal.details.detail ?? "", /other\.visits/);
  await unchanged();
  // The bin's reset says the same with its code and fix, not as an unexpected error.
  let stdout = "";
  let stderr = "";
  const cli = createCli({
    migrations: registry,
    driver: "pg",
    url,
    drivers: { pg: async () => connectPostgres({ Client: pg.Client, MigrationManager }) },
    io: { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env: {}, isTTY: false },
  });
  assert.equal(await cli.run(["reset", "--yes", "--json"]), 1, stderr);
  const { error } = JSON.parse(stdout) as { error: { code: string; nativeCode: string; object: string | null; rolledBack: boolean; fix: string } };
  assert.deepEqual([error.code, error.nativeCode, error.object, error.rolledBack], ["RESET_FAILED", "2BP01", null, true]);
  assert.match(error.fix, /stepwise reset --yes/);
  await unchanged();
});

test("reset refuses with RESET_FAILED, dropping nothing, when the session creates in another schema than the history table's: the migrations would run again beside what they built", async (t) => {
  const client = await connectFresh(t);
  const registry = [namedSqlEntry(1, "people", "CREATE TABLE people (id int PRIMARY KEY); INSERT INTO people VALUES (1);", null, { dialect: "postgres" })];
  // The history in app, the session's search_path left at public: the migrations built in public.
  const manager = new MigrationManager(client, registry, { schema: "app" });
  await manager.up();
  const refusal = await manager.reset({ dangerouslyDropAllData: true }).then(
    () => assert.fail("reset dropped the history's schema and applied the migrations again elsewhere"),
    (error: unknown) => error as StepwiseError<"RESET_FAILED">,
  );
  assert.ok(refusal instanceof StepwiseError && refusal.is("RESET_FAILED"), String(refusal));
  assert.deepEqual([refusal.nativeCode, refusal.details.rolledBack], ["3F000", true]);
  assert.deepEqual((await client.query("SELECT id FROM public.people")).rows, [{ id: 1 }]);
  assert.equal((await manager.status()).currentVersion, 1);
  // A session that creates nowhere (pg_dump's empty search_path) is refused too, before anything is dropped.
  await client.query("SELECT pg_catalog.set_config('search_path', '', false)");
  const nowhere = await manager.reset({ dangerouslyDropAllData: true }).then(
    () => assert.fail("reset dropped the history's schema for a session that creates nowhere"),
    (error: unknown) => error as StepwiseError<"RESET_FAILED">,
  );
  assert.deepEqual([nowhere.code, nowhere.nativeCode], ["RESET_FAILED", "3F000"]);
  assert.equal((await manager.status()).currentVersion, 1);
  // With the session creating in the history's schema, it resets there, and public is left as it was.
  await client.query("SET search_path = app");
  assert.deepEqual(
    (await manager.reset({ dangerouslyDropAllData: true })).steps.map((step) => step.version),
    [1],
  );
  assert.deepEqual((await client.query("SELECT (SELECT count(*)::int FROM app.people) AS app, (SELECT count(*)::int FROM public.people) AS public")).rows, [{ app: 1, public: 1 }]);
});

test("reset refuses, dropping nothing in either schema, whatever of another schema needs the schema's tables: a child or partition, a view, a foreign key, a column of a table's type", async (t) => {
  const client = await connectFresh(t);
  const registry = [
    namedSqlEntry(1, "people", "CREATE TABLE people (id int PRIMARY KEY); CREATE TABLE events (at int) PARTITION BY RANGE (at); CREATE VIEW adults AS SELECT id FROM people;", null, {
      dialect: "postgres",
    }),
  ];
  const manager = new MigrationManager(client, registry);
  await manager.up();
  await client.query("INSERT INTO people VALUES (1); CREATE SCHEMA other");
  const outside = [
    "CREATE TABLE other.kid () INHERITS (public.people)",
    "CREATE TABLE other.events_0 PARTITION OF public.events FOR VALUES FROM (0) TO (10)",
    "CREATE VIEW other.people_view AS SELECT id FROM public.people",
    "CREATE VIEW other.adults_view AS SELECT id FROM public.adults",
    "CREATE TABLE other.visits (person int REFERENCES public.people)",
    "CREATE TABLE other.snapshots (person public.people)",
  ];
  for (const statement of outside) {
    await client.query(statement);
    const before = (await client.query("SELECT c.oid::regclass::text AS name FROM pg_catalog.pg_class AS c WHERE c.relnamespace IN ('public'::regnamespace, 'other'::regnamespace) ORDER BY 1")).rows;
    await assert.rejects(manager.reset({ dangerouslyDropAllData: true }), (error: unknown) => {
      assert.ok(error instanceof StepwiseError && error.is("RESET_FAILED"), `${statement}: ${String(error)}`);
      assert.deepEqual([error.nativeCode, error.details.rolledBack], ["2BP01", true], statement);
      return true;
    });
    assert.deepEqual(
      (await client.query("SELECT c.oid::regclass::text AS name FROM pg_catalog.pg_class AS c WHERE c.relnamespace IN ('public'::regnamespace, 'other'::regnamespace) ORDER BY 1")).rows,
      before,
      statement,
    );
    assert.deepEqual((await client.query("SELECT id FROM people")).rows, [{ id: 1 }], statement);
    assert.equal((await manager.status()).currentVersion, 1, statement);
    await client.query("DROP SCHEMA other CASCADE; CREATE SCHEMA other");
  }
  // With nothing outside left, the reset goes through.
  assert.deepEqual(
    (await manager.reset({ dangerouslyDropAllData: true })).steps.map((step) => step.version),
    [1],
  );
});

test("reset empties a schema whose tables reference each other, views build on views and a sequence belongs to a column", async (t) => {
  const client = await connectFresh(t);
  const registry = [
    namedSqlEntry(
      1,
      "cycle",
      `CREATE TABLE a (id serial PRIMARY KEY, b_id int); CREATE TABLE b (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a_id int REFERENCES a);
       ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b; CREATE TABLE self (id int PRIMARY KEY, parent int REFERENCES self);
       CREATE VIEW v1 AS SELECT id FROM a; CREATE VIEW v2 AS SELECT id FROM v1; CREATE MATERIALIZED VIEW v3 AS SELECT id FROM v2;`,
      null,
      { dialect: "postgres" },
    ),
  ];
  const manager = new MigrationManager(client, registry);
  await manager.up();
  await client.query("INSERT INTO a (b_id) VALUES (NULL); INSERT INTO self VALUES (1, NULL), (2, 1)");
  assert.deepEqual(
    (await manager.reset({ dangerouslyDropAllData: true })).steps.map((step) => step.version),
    [1],
  );
  assert.deepEqual((await client.query("SELECT count(*)::int AS n FROM a")).rows, [{ n: 0 }]);
});

test("reset empties a schema whose objects need each other in a circle (a default or an index calling a function that reads the table), and leaves an extension's tables and their foreign key", async (t) => {
  const client = await connectFresh(t);
  const registry = [
    namedSqlEntry(
      1,
      "circle",
      `CREATE TABLE items (id int PRIMARY KEY, pos int); CREATE FUNCTION next_pos() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT coalesce(max(pos), 0) + 1 FROM items; END;
       ALTER TABLE items ALTER COLUMN pos SET DEFAULT next_pos(); CREATE FUNCTION weight(items) RETURNS int LANGUAGE sql IMMUTABLE RETURN $1.id * 2;
       CREATE INDEX items_weight ON items (weight(items)); ALTER TABLE items ENABLE ROW LEVEL SECURITY; CREATE POLICY mine ON items USING (pos <= next_pos());
       ${Array.from({ length: 150 }, (_, index) => `CREATE VIEW chain_${index + 1} AS SELECT id FROM ${index === 0 ? "items" : `chain_${index}`};`).join(" ")}`,
      null,
      { dialect: "postgres" },
    ),
  ];
  await client.query(
    "CREATE EXTENSION hstore; CREATE TABLE ext_parent (id int PRIMARY KEY); CREATE TABLE ext_child (parent int REFERENCES ext_parent); ALTER EXTENSION hstore ADD TABLE ext_parent; ALTER EXTENSION hstore ADD TABLE ext_child",
  );
  const manager = new MigrationManager(client, registry);
  await manager.up();
  await client.query("INSERT INTO items (id) VALUES (1)");
  assert.deepEqual(
    (await manager.reset({ dangerouslyDropAllData: true })).steps.map((step) => step.version),
    [1],
  );
  assert.deepEqual((await client.query("SELECT count(*)::int AS n FROM items")).rows, [{ n: 0 }]);
  const { rows } = await client.query<{ name: string }>("SELECT conname AS name FROM pg_catalog.pg_constraint WHERE conrelid = 'ext_child'::regclass AND contype = 'f'");
  assert.equal(rows.length, 1, "the extension's foreign key was dropped");
});

test("reset empties a schema holding what is part of another object (a range's constructors, an identity added later) and an operator class built from its own functions", async (t) => {
  const client = await connectFresh(t);
  const registry = [
    namedSqlEntry(1, "table", "CREATE TABLE t (x int); CREATE TYPE fr AS RANGE (subtype = float8);", null, { dialect: "postgres" }),
    namedSqlEntry(
      2,
      "identity",
      `ALTER TABLE t ADD COLUMN id int GENERATED ALWAYS AS IDENTITY; CREATE TYPE ver AS (major int, minor int);
       CREATE FUNCTION ver_cmp(ver, ver) RETURNS int LANGUAGE sql IMMUTABLE RETURN CASE WHEN $1 < $2 THEN -1 WHEN $1 > $2 THEN 1 ELSE 0 END;
       CREATE FUNCTION ver_lt(ver, ver) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN ver_cmp($1, $2) < 0;
       CREATE FUNCTION ver_eq(ver, ver) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN ver_cmp($1, $2) = 0;
       CREATE OPERATOR <<< (LEFTARG = ver, RIGHTARG = ver, FUNCTION = ver_lt); CREATE OPERATOR === (LEFTARG = ver, RIGHTARG = ver, FUNCTION = ver_eq);
       CREATE OPERATOR CLASS ver_ops FOR TYPE ver USING btree AS OPERATOR 1 <<<, OPERATOR 3 ===, FUNCTION 1 ver_cmp(ver, ver);`,
      null,
      { dialect: "postgres" },
    ),
  ];
  const manager = new MigrationManager(client, registry);
  await manager.up();
  await client.query("INSERT INTO t (x) VALUES (1)");
  assert.deepEqual(
    (await manager.reset({ dangerouslyDropAllData: true })).steps.map((step) => step.version),
    [1, 2],
  );
  assert.deepEqual((await client.query("SELECT count(*)::int AS n FROM t")).rows, [{ n: 0 }]);
});

test("reset refuses, dropping nothing, an extension's member that needs the schema's table: dropping it would take the extension and its columns elsewhere", async (t) => {
  const client = await connectFresh(t);
  const registry = [namedSqlEntry(1, "people", "CREATE TABLE people (id int PRIMARY KEY)", null, { dialect: "postgres" })];
  const manager = new MigrationManager(client, registry);
  await manager.up();
  await client.query(`CREATE SCHEMA ext; CREATE EXTENSION hstore SCHEMA ext; CREATE SCHEMA other; CREATE TABLE other.keep (id int, h ext.hstore); INSERT INTO other.keep VALUES (1, 'a=>1');
    CREATE FUNCTION ext.people_count() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM public.people; END; ALTER EXTENSION hstore ADD FUNCTION ext.people_count()`);
  await assert.rejects(manager.reset({ dangerouslyDropAllData: true }), (error: unknown) => {
    assert.ok(error instanceof StepwiseError && error.is("RESET_FAILED"), String(error));
    assert.deepEqual([error.nativeCode, error.details.rolledBack], ["2BP01", true]);
    return true;
  });
  assert.deepEqual((await client.query("SELECT id, h::text FROM other.keep")).rows, [{ id: 1, h: '"a"=>"1"' }]);
  assert.equal((await manager.status()).currentVersion, 1);
});

test("reset refuses, dropping nothing, a range whose parts straddle the schema's edge: its multirange named into another schema, or its constructors left behind by a move", async (t) => {
  const client = await connectFresh(t);
  const isRefusal = (error: unknown) => {
    assert.ok(error instanceof StepwiseError && error.is("RESET_FAILED"), String(error));
    assert.deepEqual([error.nativeCode, error.details.rolledBack], ["2BP01", true]);
    return true;
  };
  const out = [
    namedSqlEntry(1, "range", "CREATE SCHEMA IF NOT EXISTS b; CREATE TYPE r AS RANGE (subtype = int4, multirange_type_name = b.rm); CREATE TABLE t (x int);", null, { dialect: "postgres" }),
  ];
  const manager = new MigrationManager(client, out);
  await manager.up();
  await client.query("CREATE TABLE b.keep (m b.rm); INSERT INTO b.keep VALUES ('{[1,3)}'); INSERT INTO t VALUES (1)");
  await assert.rejects(manager.reset({ dangerouslyDropAllData: true }), isRefusal);
  assert.deepEqual((await client.query("SELECT m::text FROM b.keep")).rows, [{ m: "{[1,3)}" }]);
  assert.deepEqual((await client.query("SELECT x FROM t")).rows, [{ x: 1 }]);

  // The session creates in the history's schema, as reset asks.
  await client.query("CREATE SCHEMA app; SET search_path = app");
  const moved = new MigrationManager(client, [namedSqlEntry(1, "range", "CREATE TYPE app.r2 AS RANGE (subtype = int4); CREATE TABLE app.u (x int);", null, { dialect: "postgres" })], {
    schema: "app",
  });
  await moved.up();
  await client.query("CREATE SCHEMA lib; ALTER TYPE app.r2 SET SCHEMA lib; INSERT INTO app.u VALUES (2)");
  await assert.rejects(moved.reset({ dangerouslyDropAllData: true }), isRefusal);
  assert.deepEqual((await client.query("SELECT x FROM app.u")).rows, [{ x: 2 }]);
  assert.equal((await moved.status()).currentVersion, 1);
});

test("reset refuses, dropping nothing, a cast whose function is the schema's: casts belong to no schema", async (t) => {
  const client = await connectFresh(t);
  const registry = [
    namedSqlEntry(
      1,
      "cast",
      "CREATE TYPE mood AS ENUM ('calm', 'busy'); CREATE FUNCTION to_mood(int) RETURNS mood LANGUAGE sql IMMUTABLE RETURN (enum_range(NULL::mood))[$1]; CREATE TABLE people (feeling mood);",
      null,
      { dialect: "postgres" },
    ),
  ];
  const manager = new MigrationManager(client, registry);
  await manager.up();
  await client.query("CREATE CAST (int AS mood) WITH FUNCTION to_mood(int); INSERT INTO people VALUES ('busy')");
  await assert.rejects(manager.reset({ dangerouslyDropAllData: true }), (error: unknown) => {
    assert.ok(error instanceof StepwiseError && error.is("RESET_FAILED"), String(error));
    assert.deepEqual([error.nativeCode, error.details.rolledBack], ["2BP01", true]);
    assert.match(error.details.detail ?? "", /^cast from integer to mood depends on /);
    return true;
  });
  assert.deepEqual((await client.query("SELECT feeling::text FROM people")).rows, [{ feeling: "busy" }]);
});

test("reset refuses a table another role owns in the app's schema as a privilege it lacks, and drops nothing", async (t) => {
  const client = await connectFresh(t);
  const role = `worker_${process.pid}_${Date.now()}`;
  await client.query(`CREATE ROLE ${role}; CREATE SCHEMA w; GRANT USAGE, CREATE ON SCHEMA w TO ${role}`);
  const registry = [namedSqlEntry(1, "people", "CREATE TABLE people (id int PRIMARY KEY)", null, { dialect: "postgres" })];
  // The app's role makes its own tables in a schema it may create in; an administrator adds one of theirs beside them, which that role may not drop.
  await client.query(`SET ROLE ${role}; SET search_path = w`);
  const manager = new MigrationManager(client, registry, { schema: "w" });
  await manager.up();
  await client.query(`INSERT INTO w.people VALUES (7); RESET ROLE; CREATE TABLE w.zz_audit (at timestamptz); SET ROLE ${role}`);
  await assert.rejects(manager.reset({ dangerouslyDropAllData: true }), (error: unknown) => {
    // As every command reads a privilege the role lacks.
    assert.ok(error instanceof StepwiseError && error.is("DATABASE_UNUSABLE"), String(error));
    assert.equal(error.nativeCode, "42501");
    return true;
  });
  assert.deepEqual((await client.query("SELECT id FROM w.people")).rows, [{ id: 7 }]);
  assert.equal((await manager.status()).currentVersion, 1);
  // A role outlives the test's database.
  await client.query(`RESET ROLE; DROP SCHEMA w CASCADE; DROP ROLE ${role}`);
});

test("an extension's tables and views (a PostGIS-like one, pg_stat_statements) make no database unmanaged, and reset leaves them with the extension", async (t) => {
  const client = await connectFresh(t);
  // An extension of this test's own, found through PostgreSQL 18's extension_control_path: like PostGIS, it makes a table (with an index and a trigger), a view and a type in public.
  const share = mkdtempSync(path.join(tmpdir(), "stepwise-extension-"));
  t.after(() => rmSync(share, { recursive: true, force: true }));
  // The server may run as another user than this process.
  chmodSync(share, 0o755);
  mkdirSync(path.join(share, "extension"));
  writeFileSync(path.join(share, "extension", "fake_gis.control"), "default_version = '1.0'\nrelocatable = true\n");
  writeFileSync(
    path.join(share, "extension", "fake_gis--1.0.sql"),
    `CREATE TABLE spatial_ref_sys (srid int PRIMARY KEY); CREATE INDEX spatial_ref_sys_srid ON spatial_ref_sys (srid);
     CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
     CREATE TRIGGER spatial_ref_sys_keep BEFORE INSERT ON spatial_ref_sys FOR EACH ROW EXECUTE FUNCTION keep();
     CREATE VIEW geometry_columns AS SELECT srid FROM spatial_ref_sys; CREATE TYPE geometry AS (x float8, y float8);\n`,
  );
  await client.query(`SET extension_control_path = '${share}:$system'`);
  await client.query("CREATE EXTENSION fake_gis; CREATE EXTENSION pg_stat_statements; INSERT INTO spatial_ref_sys VALUES (4326)");
  const registry = [namedSqlEntry(1, "places", "CREATE TABLE places (id int PRIMARY KEY, at geometry)", null, { dialect: "postgres" })];
  const manager = new MigrationManager(client, registry);
  assert.deepEqual(await manager.run(manager.executor.dialect.readSchemaObjects()), []);
  assert.deepEqual(
    (await manager.up()).steps.map((step) => step.version),
    [1],
  );
  await client.query("INSERT INTO places VALUES (1, ROW(1, 2))");
  assert.deepEqual(
    (await manager.reset({ dangerouslyDropAllData: true })).steps.map((step) => step.version),
    [1],
  );
  assert.deepEqual((await client.query("SELECT count(*)::int AS n FROM places")).rows, [{ n: 0 }]);
  assert.deepEqual((await client.query("SELECT srid FROM spatial_ref_sys")).rows, [{ srid: 4326 }]);
  const { rows } = await client.query<{ name: string }>("SELECT extname AS name FROM pg_catalog.pg_extension WHERE extname IN ('fake_gis', 'pg_stat_statements') ORDER BY 1");
  assert.deepEqual(rows, [{ name: "fake_gis" }, { name: "pg_stat_statements" }]);
});

test("listing a tenant's objects reads about as many catalog pages beside 300 other tenants as beside none", async (t) => {
  const client = await connectFresh(t);
  const registry = [namedSqlEntry(1, "first", "SELECT 1", null, { dialect: "postgres" })];
  const tenant = (index: number) => `tenant_${index}`;
  const create = (index: number) =>
    `CREATE SCHEMA ${tenant(index)}; CREATE TABLE ${tenant(index)}.accounts (id int PRIMARY KEY, name text UNIQUE); CREATE INDEX ON ${tenant(index)}.accounts (lower(name));
     CREATE TABLE ${tenant(index)}.invoices (id int PRIMARY KEY, account int REFERENCES ${tenant(index)}.accounts (id));`;
  // The pages (shared buffers) the plan touches: a count, not a time.
  const pagesRead = async () => {
    const manager = new MigrationManager(client, registry, { schema: tenant(0) });
    const [sql] = await recordStatements(client, () => manager.run(manager.executor.dialect.readSchemaObjects()));
    const { rows } = await client.query<{ "QUERY PLAN": [{ Plan: { "Shared Hit Blocks": number; "Shared Read Blocks": number } }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`);
    const { Plan: plan } = rows[0]!["QUERY PLAN"][0];
    return plan["Shared Hit Blocks"] + plan["Shared Read Blocks"];
  };
  await client.query(create(0));
  const alone = await pagesRead();
  for (let index = 1; index <= 300; index++) await client.query(create(index));
  const beside = await pagesRead();
  // Index lookups grow only with the depth of the catalog's indexes; a scan grows with the tenants (a scan of pg_class read 417 pages here against 74 alone).
  assert.ok(beside <= 2 * alone, `${beside} pages beside 300 tenants against ${alone} alone`);
});

test("options that are no object are USAGE on pg too: its constructor and up read their own options first", async (t) => {
  const client = await connectFresh(t);
  const registry = [namedSqlEntry(1, "people", "CREATE TABLE people (id int PRIMARY KEY)", null, { dialect: "postgres" })];
  for (const bad of [null, 5, "public", [1]]) {
    assert.throws(
      () => new MigrationManager(client, registry, bad as never),
      (error: unknown) => error instanceof StepwiseError && error.is("USAGE"),
      JSON.stringify(bad),
    );
    await assert.rejects(new MigrationManager(client, registry).up(bad as never), (error: unknown) => error instanceof StepwiseError && error.is("USAGE"), JSON.stringify(bad));
  }
  assert.deepEqual((await client.query("SELECT to_regclass('people') AS found")).rows, [{ found: null }]);
});
