/**
 * `stepwise fleet up` killed and raced, on SQLite files and on PostgreSQL schemas, with the real bin
 * as a child process (its worker threads on SQLite). Every migration inserts its version into a
 * `ran` table in the same transaction, so a database shows what ran on it and how often.
 *
 * - SIGKILL at seeded random points after the run starts writing: each database's history is a
 *   prefix of the registry and `ran` holds exactly those versions once; the next run applies only
 *   the rest, and every database ends at the latest version with each migration run once.
 * - Two runs at once on one fleet: both finish, and each migration ran once per database (their
 *   reports' steps add up to the registry, once).
 * - Another tool's database and a damaged one sit in every fleet: reported with their reason while
 *   the run goes on.
 *
 * 2 seeded trials per series in the quick run, 20 in the full one (`test/support/tier.ts`); the seed is
 * printed, and STEPWISE_SEED=<seed> replays it. STEPWISE_FLEET_CRASH_TRIALS sets the count.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { binArgs } from "./support/compiled-bin.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { chooseSeed, createPrng } from "./support/prng.js";
import { cliNode, collectOutput, createTestProject, runCli, type RunResult, type TestProject } from "./support/project.js";
import { trialCount } from "./support/tier.js";

const trials = trialCount("STEPWISE_FLEET_CRASH_TRIALS", { quick: 2, full: 20, soak: 100 });
const LATEST = 5;
const TENANTS = 12;
const ALL_VERSIONS = Array.from({ length: LATEST }, (_, index) => index + 1);

/** Five migrations, each recording itself in `ran`; the third fills a table, so a database takes a while. */
function writeMigrations(project: TestProject, dialect: "sqlite" | "postgres"): void {
  const rows =
    dialect === "sqlite"
      ? "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO items (id, note) SELECT i, 'row ' || i FROM n"
      : "INSERT INTO items (id, note) SELECT g, 'row ' || g FROM generate_series(1, 5000) AS g";
  const steps = [
    `CREATE TABLE items (id ${dialect === "sqlite" ? "INTEGER" : "bigint"} PRIMARY KEY, note TEXT); CREATE TABLE ran (version INTEGER NOT NULL)`,
    "ALTER TABLE items ADD COLUMN tag TEXT",
    rows,
    "CREATE INDEX items_note ON items (note)",
    "UPDATE items SET tag = 'done' WHERE id % 7 = 0",
  ];
  steps.forEach((sql, index) => project.writeMigration(`00${index + 1}_step.sql`, `-- migrate:up\n${sql};\nINSERT INTO ran VALUES (${index + 1});\n`));
}

/** Spawns the real bin with `args` in `cwd`; `kill` SIGKILLs it. */
function startBin(cwd: string, args: readonly string[]) {
  const child = spawn(cliNode(), [...binArgs(), ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  return { done: collectOutput(child, 120_000), kill: () => child.kill("SIGKILL"), exited: () => child.exitCode !== null || child.signalCode !== null };
}

/** Waits until `started()` is true (polled every few ms), then `delayMs`, then kills the child if it still runs; whether it did. */
async function killWhenStarted(child: ReturnType<typeof startBin>, started: () => boolean | Promise<boolean>, delayMs: number): Promise<boolean> {
  while (!child.exited() && !(await started())) await new Promise((resolve) => setTimeout(resolve, 3));
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  if (child.exited()) return false;
  child.kill();
  return (await child.done).signal === "SIGKILL";
}

/** What a database's history and `ran` table hold: versions, ascending. */
interface Recorded {
  readonly history: number[];
  readonly ran: number[];
}

/** `versions` as `version×count`, for the trial's diagnostic line: where the kill left the fleet. */
function histogram(versions: Iterable<number>): string {
  const counts = new Map<number, number>();
  for (const version of versions) counts.set(version, (counts.get(version) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([version, n]) => `${version}×${n}`)
    .join(" ");
}

function checkRecorded(recorded: Recorded, context: string): number {
  const at = recorded.history.length;
  assert.deepEqual(recorded.history, ALL_VERSIONS.slice(0, at), `${context}: the history is a prefix of the registry`);
  assert.deepEqual(recorded.ran, recorded.history, `${context}: exactly the recorded migrations ran, each once`);
  return at;
}

/** A SQLite tenant's history and `ran`, read with better-sqlite3 (which also rolls back a killed writer's journal). */
function readSqlite(file: string): Recorded {
  const db = new Database(file);
  try {
    const has = (table: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").get(table) !== undefined;
    const versions = (sql: string) => (db.prepare(sql).all() as Array<{ version: number }>).map((row) => row.version);
    return { history: has("schema_migrations") ? versions("SELECT version FROM schema_migrations ORDER BY version") : [], ran: has("ran") ? versions("SELECT version FROM ran ORDER BY version") : [] };
  } finally {
    db.close();
  }
}

/** A SQLite project: the registry written, and `fleet()` making a fresh fleet of tenants plus another tool's database and a damaged one. */
async function sqliteFleet(t: TestContext) {
  const project = createTestProject(t);
  writeMigrations(project, "sqlite");
  await project.generateAsBin();
  const dir = path.join(project.root, "tenants");
  const tenants = Array.from({ length: TENANTS }, (_, index) => path.join(dir, `tenant-${String(index).padStart(2, "0")}.db`));
  const fresh = () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (const file of tenants) writeFileSync(file, "");
    const foreign = new Database(path.join(dir, "foreign.db"));
    foreign.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
    foreign.close();
    writeFileSync(path.join(dir, "damaged.db"), "not a database ".repeat(400));
  };
  return { project, tenants, fresh, args: ["fleet", "up", "--db", "tenants/*.db", "--json"] };
}

/** The run's report checked: every tenant at the latest version, the two exceptions reported with their reason; the steps each tenant took, by id. */
function checkFinalReport(run: RunResult, exceptions: Record<string, string>, context: string): Map<string, number> {
  assert.equal(run.code, 1, `${context}: exit 1 for the two databases that cannot be migrated\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as { targets: Array<{ id: string; ok: boolean; toVersion: number | null; steps: unknown[]; error: { code: string } | null }> };
  const steps = new Map<string, number>();
  for (const target of report.targets) {
    if (target.id in exceptions) assert.equal(target.error?.code, exceptions[target.id], `${context}: ${target.id} reported with its reason`);
    else {
      assert.deepEqual([target.ok, target.toVersion], [true, LATEST], `${context}: ${target.id} ends at the latest version`);
      steps.set(target.id, target.steps.length);
    }
  }
  assert.equal(steps.size, TENANTS, `${context}: every tenant is in the report`);
  return steps;
}

const SQLITE_EXCEPTIONS = { "tenants/foreign.db": "UNMANAGED_DATABASE", "tenants/damaged.db": "DATABASE_UNUSABLE" };

test(
  `SIGKILL of stepwise fleet up on SQLite files at random points, then a rerun: every database at the latest version, no migration twice (${trials} seeded trials)`,
  { timeout: 900_000 },
  async (t) => {
    const seed = chooseSeed();
    t.diagnostic(`seed ${seed}`);
    const random = createPrng(seed);
    const fleet = await sqliteFleet(t);
    let killed = 0;
    for (let trial = 0; trial < trials; trial++) {
      // A point in the run, not a time: on an idle machine the whole fleet can finish within 40 ms of its first write, so a
      // delay would mostly kill a run already done. Some tenants written, at least two not yet.
      const written = 1 + Math.floor(random() * (TENANTS - 2));
      const delayMs = Math.floor(random() * 3);
      const context = `seed ${seed}, trial ${trial} (killed ${delayMs} ms after ${written} of ${TENANTS} tenant files were written)`;
      fleet.fresh();
      const child = startBin(fleet.project.root, [...fleet.args, "--concurrency", "2"]);
      if (await killWhenStarted(child, () => fleet.tenants.filter((file) => statSync(file).size > 0).length >= written, delayMs)) killed++;
      const before = new Map(fleet.tenants.map((file) => [`tenants/${path.basename(file)}`, checkRecorded(readSqlite(file), `${context}, ${path.basename(file)}`)]));
      t.diagnostic(`${context}: versions at the kill ${histogram(before.values())}`);
      // The rerun in this thread (--concurrency 1): the kill is what is under test, not the workers again.
      const steps = checkFinalReport(await runCli([...fleet.args, "--concurrency", "1"], { cwd: fleet.project.root }), SQLITE_EXCEPTIONS, context);
      for (const [id, at] of before) assert.equal(steps.get(id), LATEST - at, `${context}: the rerun applied only what ${id} lacked`);
      for (const file of fleet.tenants) assert.deepEqual(readSqlite(file), { history: ALL_VERSIONS, ran: ALL_VERSIONS }, `${context}, ${path.basename(file)}`);
    }
    assert.ok(killed > 0, `seed ${seed}: at least one run was killed mid-way`);
    t.diagnostic(`seed ${seed}: ${killed} of ${trials} runs killed mid-way`);
  },
);

test("two stepwise fleet up runs at once on the same SQLite files: both finish, each migration ran once per database", { timeout: 300_000 }, async (t) => {
  const fleet = await sqliteFleet(t);
  for (let round = 0; round < Math.max(1, Math.ceil(trials / 4)); round++) {
    fleet.fresh();
    const runs = await Promise.all(
      [startBin(fleet.project.root, [...fleet.args, "--concurrency", "2"]), startBin(fleet.project.root, [...fleet.args, "--concurrency", "3"])].map((child) => child.done),
    );
    const [first, second] = runs.map((run, index) => checkFinalReport(run, SQLITE_EXCEPTIONS, `round ${round}, run ${index + 1}`));
    for (const [id, steps] of first!) assert.equal(steps + second!.get(id)!, LATEST, `round ${round}: ${id}'s migrations were applied once between the two runs`);
    for (const file of fleet.tenants) assert.deepEqual(readSqlite(file), { history: ALL_VERSIONS, ran: ALL_VERSIONS }, `round ${round}, ${path.basename(file)}`);
  }
});

/** A PostgreSQL project and a fresh database per `fleet()`: tenant schemas, another tool's schema, and one outside the pattern. */
async function postgresFleet(t: TestContext) {
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres" } } });
  writeMigrations(project, "postgres");
  await project.generateAsBin();
  const schemas = Array.from({ length: TENANTS }, (_, index) => `tenant_${String(index).padStart(2, "0")}`);
  const fresh = async () => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const client = new pg.Client({ connectionString: database.url });
    // The database may be dropped (its sessions ended) before this client's own end.
    client.on("error", () => undefined);
    await client.connect();
    t.after(() => client.end());
    await client.query([...schemas.map((schema) => `CREATE SCHEMA ${schema}`), "CREATE SCHEMA tenant_foreign", "CREATE TABLE tenant_foreign.accounts (id int)"].join("; "));
    const read = async (schema: string): Promise<Recorded> => {
      const has = async (table: string) => (await client.query("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2", [schema, table])).rowCount === 1;
      const versions = async (sql: string) => (await client.query<{ version: number }>(sql)).rows.map((row) => Number(row.version));
      return {
        history: (await has("schema_migrations")) ? await versions(`SELECT version FROM ${schema}.schema_migrations WHERE state = 'applied' ORDER BY version`) : [],
        ran: (await has("ran")) ? await versions(`SELECT version FROM ${schema}.ran ORDER BY version`) : [],
      };
    };
    // A COMMIT the killed child sent may still be on its way: read only once its sessions have ended.
    const othersGone = async () => {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
        const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
        if (rows[0]!.n === 0) return;
      }
      assert.fail("the killed run's sessions ended within 30 s");
    };
    const started = async () => (await client.query("SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = 'ran'")).rowCount! > 0;
    return { read, othersGone, started, args: ["fleet", "up", "--driver", "pg", "--url", database.url, "--schema", "tenant_*", "--busy-timeout", "60000", "--json"] };
  };
  return { project, schemas, fresh };
}

test(
  `SIGKILL of stepwise fleet up on PostgreSQL schemas at random points, then a rerun: every schema at the latest version, no migration twice (${trials} seeded trials)`,
  { timeout: 900_000 },
  async (t) => {
    const seed = chooseSeed();
    t.diagnostic(`seed ${seed}`);
    const random = createPrng(seed);
    const fleet = await postgresFleet(t);
    let killed = 0;
    for (let trial = 0; trial < trials; trial++) {
      const delayMs = Math.floor(random() * 600);
      const context = `seed ${seed}, trial ${trial} (killed ${delayMs} ms after the first migration began)`;
      const database = await fleet.fresh();
      const child = startBin(fleet.project.root, [...database.args, "--concurrency", "3"]);
      if (await killWhenStarted(child, database.started, delayMs)) killed++;
      await database.othersGone();
      const before = new Map<string, number>();
      for (const schema of fleet.schemas) before.set(schema, checkRecorded(await database.read(schema), `${context}, ${schema}`));
      t.diagnostic(`${context}: versions at the kill ${histogram(before.values())}`);
      const steps = checkFinalReport(await runCli(database.args, { cwd: fleet.project.root }), { tenant_foreign: "UNMANAGED_DATABASE" }, context);
      for (const [schema, at] of before) assert.equal(steps.get(schema), LATEST - at, `${context}: the rerun applied only what ${schema} lacked`);
      for (const schema of fleet.schemas) assert.deepEqual(await database.read(schema), { history: ALL_VERSIONS, ran: ALL_VERSIONS }, `${context}, ${schema}`);
    }
    assert.ok(killed > 0, `seed ${seed}: at least one run was killed mid-way`);
    t.diagnostic(`seed ${seed}: ${killed} of ${trials} runs killed mid-way`);
  },
);

test("two stepwise fleet up runs at once on the same PostgreSQL schemas: both finish, each migration ran once per schema", { timeout: 300_000 }, async (t) => {
  const fleet = await postgresFleet(t);
  for (let round = 0; round < Math.max(1, Math.ceil(trials / 4)); round++) {
    const database = await fleet.fresh();
    const runs = await Promise.all(
      [startBin(fleet.project.root, [...database.args, "--concurrency", "3"]), startBin(fleet.project.root, [...database.args, "--concurrency", "4"])].map((child) => child.done),
    );
    const [first, second] = runs.map((run, index) => checkFinalReport(run, { tenant_foreign: "UNMANAGED_DATABASE" }, `round ${round}, run ${index + 1}`));
    for (const [schema, steps] of first!) assert.equal(steps + second!.get(schema)!, LATEST, `round ${round}: ${schema}'s migrations were applied once between the two runs`);
    for (const schema of fleet.schemas) assert.deepEqual(await database.read(schema), { history: ALL_VERSIONS, ran: ALL_VERSIONS }, `round ${round}, ${schema}`);
  }
});
