/**
 * `stepwise fleet` and `migrateMany` against what a hostile fleet holds: links that make one file
 * two ids or a folder its own child, a `--concurrency` far above the number of databases, and a
 * migration that ends the worker thread it runs on, a Ctrl-C halfway. Each database is counted once,
 * the run costs what its databases cost, one database's crash is that database's failure, not the
 * run's, and an interrupted run reports what it finished.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, linkSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "../src/entries/better-sqlite3.js";
import { migrateMany } from "../src/index.js";
import { jsonError, jsonOutput, runInProcess } from "./support/in-process-cli.js";
import { binArgs } from "./support/compiled-bin.js";
import { cliNode, collectOutput, createTestProject, makeTempDir, runCli } from "./support/project.js";
import { namedSqlEntry, tsEntry } from "./support/registry-builders.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { maxFleetWorkers } from "../src/cli/fleet-run.js";
import { runFleetTarget } from "../src/cli/fleet-task.js";
import type { FleetWorkerProps } from "../src/cli/fleet-workers.js";
import { loadDriver } from "../src/cli/open-database.js";

const registry = [namedSqlEntry(1, "create_items", "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT);")];

type Json = Record<string, unknown> & { targets: Array<Record<string, unknown> & { id: string; error: { code: string } | null }> };
const ids = (report: Json) => report.targets.map((target) => target.id);

test("--db counts each file once, and none of stepwise's own: a link to a file, a hard link or a link to a folder above it adds no second id, an owner lock or a backup none, a link loop under ** ends, and a trailing ** matches every file below", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants", "eu"), { recursive: true });
  for (const file of ["tenants/a.db", "tenants/eu/b.db"]) writeFileSync(path.join(cwd, file), "");
  symlinkSync(path.join(cwd, "tenants", "a.db"), path.join(cwd, "tenants", "alias.db"));
  // SQLite keeps a journal per name: two runs through two names of one file could corrupt it.
  linkSync(path.join(cwd, "tenants", "a.db"), path.join(cwd, "tenants", "hard.db"));
  // stepwise's own files beside a database: an owner lock and an up --backup snapshot.
  mkdirSync(path.join(cwd, "tenants", "backups"));
  writeFileSync(path.join(cwd, "tenants", "a.db-stepwise-owner-schema_migrations"), "");
  writeFileSync(path.join(cwd, "tenants", "backups", "a.db.v1.2026-01-02T03-04-05-678Z.0123456789abcdef.bak"), "");
  // Tenants that are only named like a sidecar: no database of that name beside them.
  for (const name of ["audit-journal", "x-stepwise-owner-foo"]) writeFileSync(path.join(cwd, "tenants", name), "");
  symlinkSync(".", path.join(cwd, "tenants", "self"));
  symlinkSync("..", path.join(cwd, "tenants", "eu", "up"));
  const status = async (pattern: string) => jsonOutput<Json>(await runInProcess({ migrations: registry, cwd }, ["fleet", "status", "--db", pattern, "--json"]));
  assert.deepEqual(ids(await status("tenants/*.db")), ["tenants/a.db"]);
  assert.deepEqual(ids(await status("tenants/**/*.db")), ["tenants/a.db", "tenants/eu/b.db"]);
  assert.deepEqual(ids(await status("tenants/**")), ["tenants/a.db", "tenants/audit-journal", "tenants/eu/b.db", "tenants/x-stepwise-owner-foo"], "a trailing ** is every file below");
  assert.deepEqual(ids(await status("**/eu/**/*.db")), ["tenants/eu/b.db", "tenants/eu/up/a.db"], "a second ** still looks where the first one went");
  const up = jsonOutput<Json>(await runInProcess({ migrations: registry, cwd }, ["fleet", "up", "--db", "tenants/**/*.db", "--json"]));
  assert.deepEqual([up.total, up.migrated, up.applied], [2, 2, 2]);
});

test("--db lists a link to nothing (a database on a volume not mounted now) and reports it as up --db does (DATABASE_PATH_INVALID), rather than leaving that tenant out, and creates nothing through it", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  writeFileSync(path.join(cwd, "tenants", "a.db"), "");
  symlinkSync(path.join(cwd, "volume", "b.db"), path.join(cwd, "tenants", "b.db"));
  symlinkSync("loop.db", path.join(cwd, "tenants", "loop.db"));
  const up = await runInProcess({ migrations: registry, cwd }, ["fleet", "up", "--db", "tenants/*.db", "--json"]);
  assert.equal(up.code, 1, up.stdout + up.stderr);
  const report = JSON.parse(up.stdout) as Json;
  assert.deepEqual(
    report.targets.map((target) => [target.id, target.error?.code ?? null, (target.error as { problem?: string } | null)?.problem ?? null]),
    [
      ["tenants/a.db", null, null],
      ["tenants/b.db", "DATABASE_PATH_INVALID", "dangling-symlink"],
      ["tenants/loop.db", "DATABASE_PATH_INVALID", "symlink-loop"],
    ],
  );
  assert.equal(existsSync(path.join(cwd, "volume")), false, "no database was created through the link");
  const status = jsonOutput<Json & { failed: number }>(await runInProcess({ migrations: registry, cwd }, ["fleet", "status", "--db", "tenants/*.db", "--json"]), 1);
  assert.deepEqual([status.total, status.failed], [3, 2]);
  // Named alone too, not "no file matches".
  const alone = await runInProcess({ migrations: registry, cwd }, ["fleet", "up", "--db", "tenants/b.db", "--json"]);
  assert.deepEqual(
    (JSON.parse(alone.stdout) as Json).targets.map((target) => target.error?.code),
    ["DATABASE_PATH_INVALID"],
  );
});

test("--db refuses a matching file whose name is not UTF-8 (PATH_NOT_UTF8, exit 2) before opening any database, rather than leaving that tenant out in silence", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  writeFileSync(path.join(cwd, "tenants", "good.db"), "");
  writeFileSync(Buffer.concat([Buffer.from(path.join(cwd, "tenants", "bad")), Buffer.from([0xff]), Buffer.from(".db")]), "");
  const refused = await runInProcess({ migrations: registry, cwd }, ["fleet", "up", "--db", "tenants/*.db", "--json"]);
  assert.equal(refused.code, 2, refused.stdout + refused.stderr);
  assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, "PATH_NOT_UTF8");
  assert.equal(statSync(path.join(cwd, "tenants", "good.db")).size, 0, "no database was opened");
  // A name the pattern does not match is none of its business, under ** too, where folders are listed whole.
  writeFileSync(Buffer.concat([Buffer.from(path.join(cwd, "tenants", "notes")), Buffer.from([0xff]), Buffer.from(".txt")]), "");
  for (const pattern of ["tenants/good*", "**/good.db"])
    assert.deepEqual(ids(jsonOutput<Json>(await runInProcess({ migrations: registry, cwd }, ["fleet", "status", "--db", pattern, "--json"]))), ["tenants/good.db"], pattern);
});

test("--db ids do not depend on unrelated links: of a file's spellings the one through the fewest links wins, so a file reachable directly keeps its direct path", async (t) => {
  const cwd = makeTempDir(t);
  for (const folder of ["t1", "t2", "t3/deep"]) mkdirSync(path.join(cwd, "data", folder), { recursive: true });
  for (const file of ["data/t1/a.db", "data/t2/b.db", "data/t3/deep/c.db"]) writeFileSync(path.join(cwd, file), "");
  const status = async (pattern: string) => ids(jsonOutput<Json>(await runInProcess({ migrations: registry, cwd }, ["fleet", "status", "--db", pattern, "--json"])));
  const direct = ["data/t1/a.db", "data/t2/b.db", "data/t3/deep/c.db"];
  assert.deepEqual(await status("data/t*/**"), direct);
  // Links sorted before the real folders, a loop, a link to a file and one to a folder deeper down: none of them changes an id.
  symlinkSync("..", path.join(cwd, "data", "t1", "loop"));
  symlinkSync("t1", path.join(cwd, "data", "t0"));
  symlinkSync(path.join(cwd, "data", "t3", "deep"), path.join(cwd, "data", "t1", "0deep"));
  symlinkSync(path.join(cwd, "data", "t2", "b.db"), path.join(cwd, "data", "t1", "0b.db"));
  assert.deepEqual(await status("data/t*/**"), direct);
  assert.deepEqual(await status("data/**/*.db"), direct);
  // A file reachable only through links keeps the spelling through the fewest of them.
  assert.deepEqual(await status("data/t0/**/c.db"), ["data/t0/0deep/c.db"]);
});

test("a concurrency far above the number of databases costs no more than the databases do", async (t) => {
  const dir = makeTempDir(t);
  const opened = { now: 0, most: 0 };
  const report = await migrateMany(
    ["a", "b", "c"],
    (id) => {
      opened.most = Math.max(opened.most, ++opened.now);
      return new MigrationManager(new Database(path.join(dir, `${id}.db`)), registry);
    },
    { concurrency: 2 ** 40, close: (manager) => (opened.now--, manager.db.close()) },
  );
  assert.deepEqual([report.ok, report.targets.length, opened.most <= 3], [true, 3, true]);
  mkdirSync(path.join(dir, "tenants"));
  writeFileSync(path.join(dir, "tenants", "a.db"), "");
  const cli = jsonOutput<Json>(await runInProcess({ migrations: registry, cwd: dir }, ["fleet", "up", "--db", "tenants/*.db", "--concurrency", "1000000000", "--json"]));
  assert.deepEqual([cli.ok, cli.migrated], [true, 1]);
});

test("fleet up on a SQLite file driver starts at most four worker threads per core, however large --concurrency is, and runs no more databases at once than it started", async (t) => {
  // One thread per database of a huge --concurrency (tens of MB each) could exhaust memory over a fleet of thousands of files.
  const dir = makeTempDir(t);
  mkdirSync(path.join(dir, "tenants"));
  const count = maxFleetWorkers() + 5;
  for (let index = 0; index < count; index++) writeFileSync(path.join(dir, "tenants", `t${String(index).padStart(3, "0")}.db`), "");
  const connector = await loadDriver("better-sqlite3", "write", "fleet up", ALL_DRIVER_LOADERS, "--driver");
  const started: number[] = [];
  const running = { now: 0, most: 0 };
  // The bin's pool runs each target on an idle thread; this one records the pool's size and runs them here.
  const fleetWorker: NonNullable<FleetWorkerProps["fleetWorker"]> = () => (size, job, use) => {
    started.push(size);
    return use(async (spec) => {
      running.most = Math.max(running.most, ++running.now);
      try {
        return await runFleetTarget(connector, registry, spec, job);
      } finally {
        running.now--;
      }
    });
  };
  const props = { migrations: registry, cwd: dir, fleetWorker } as Parameters<typeof runInProcess>[0];
  const report = jsonOutput<Json>(await runInProcess(props, ["fleet", "up", "--db", "tenants/*.db", "--concurrency", "1000000000", "--json"]));
  assert.deepEqual([report.ok, report.venue, report.migrated], [true, "workers", count]);
  assert.deepEqual(started, [maxFleetWorkers()]);
  assert.ok(running.most <= maxFleetWorkers(), `${running.most} databases at once`);
});

test("a migration that ends its worker thread fails only its own database: the others are migrated on a fresh worker, and it is left at its last committed version", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  project.writeMigration(
    "002_exits.ts",
    'import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up(db: { name: string; exec(sql: string): void }) { if (db.name.includes("exits")) process.exit(3); db.exec("ALTER TABLE items ADD COLUMN tag TEXT"); } });\n',
  );
  await project.generateAsBin();
  mkdirSync(path.join(project.root, "tenants"));
  const names = ["a", "b", "exits-1", "exits-2", "x", "y"];
  for (const name of names) writeFileSync(path.join(project.root, "tenants", `${name}.db`), "");
  // One at a time too (a one-core machine's default): the bin runs every file database on a worker.
  for (const concurrency of ["2", "1"]) {
    for (const name of names) writeFileSync(path.join(project.root, "tenants", `${name}.db`), "");
    const run = await runCli(["fleet", "up", "--db", "tenants/*.db", "--concurrency", concurrency, "--json"], { cwd: project.root });
    assert.equal(run.code, 1, run.stderr);
    const first = JSON.parse(run.stdout) as Json & { targets: Array<{ id: string; ok: boolean; toVersion: number | null; error: { code: string } | null }> };
    assert.deepEqual([first.venue, first.failed, first.stopped], ["workers", 2, null]);
    assert.deepEqual(
      first.targets.map((target) => [target.id, target.ok, target.error?.code ?? target.toVersion]),
      names.map((name) => (name.startsWith("exits") ? [`tenants/${name}.db`, false, "UNEXPECTED"] : [`tenants/${name}.db`, true, 2])),
    );
    for (const name of ["exits-1", "exits-2"]) {
      const db = new Database(path.join(project.root, "tenants", `${name}.db`));
      assert.deepEqual(db.prepare("SELECT version FROM schema_migrations").all(), [{ version: 1 }], `${name}: its first migration kept, the second not applied`);
      db.close();
    }
  }
});

test("an error a migration leaves behind (a timer that throws) fails the database whose migration left it, its committed steps listed, not the one its thread runs next", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  // a's timer fires while b's migration (300 ms) runs on the same thread.
  project.writeMigration(
    "002_late.ts",
    'import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up(db: { name: string; exec(sql: string): void }) { db.exec("ALTER TABLE items ADD COLUMN tag TEXT"); if (db.name.endsWith("a.db")) setTimeout(() => { throw new Error("left behind by a"); }, 50); else for (const end = Date.now() + 300; Date.now() < end; ); } });\n',
  );
  project.writeMigration("003_more.sql", "-- migrate:up\nCREATE TABLE more (id INTEGER);\n");
  await project.generateAsBin();
  mkdirSync(path.join(project.root, "tenants"));
  for (const name of ["a", "b", "c"]) writeFileSync(path.join(project.root, "tenants", `${name}.db`), "");
  const run = await runCli(["fleet", "up", "--db", "tenants/*.db", "--concurrency", "1", "--json"], { cwd: project.root });
  assert.equal(run.code, 1, run.stderr);
  const report = JSON.parse(run.stdout) as { targets: { id: string; ok: boolean; toVersion: number | null; steps: { version: number }[]; error: { code: string; message: string } | null }[] };
  assert.deepEqual(
    report.targets.map((target) => [target.id, target.ok, target.error?.code ?? null, target.steps.map((step) => step.version)]),
    [
      ["tenants/a.db", false, "UNEXPECTED", [1, 2, 3]],
      ["tenants/b.db", true, null, [1, 2, 3]],
      ["tenants/c.db", true, null, [1, 2, 3]],
    ],
  );
  assert.match(report.targets[0]!.error!.message, /left behind by a/);
});

test("a database the pattern listed when fleet up began, deleted before its turn, is reported gone (DATABASE_PATH_INVALID) and not created anew", async (t) => {
  const project = createTestProject(t);
  // Tenant a's migration deletes tenant b, whose turn comes after it (one at a time).
  project.writeMigration(
    "001_items.ts",
    'import { rmSync } from "node:fs";\nimport { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up(db: { name: string; exec(sql: string): void }) { if (db.name.endsWith("a.db")) rmSync(db.name.slice(0, -4) + "b.db"); db.exec("CREATE TABLE items (id INTEGER)"); } });\n',
  );
  await project.generateAsBin();
  mkdirSync(path.join(project.root, "tenants"));
  for (const name of ["a", "b"]) writeFileSync(path.join(project.root, "tenants", `${name}.db`), "");
  const run = await runCli(["fleet", "up", "--db", "tenants/*.db", "--concurrency", "1", "--json"], { cwd: project.root });
  assert.equal(run.code, 1, run.stderr);
  const report = JSON.parse(run.stdout) as { targets: Array<{ id: string; ok: boolean; error: { code: string; problem?: string } | null }> };
  assert.deepEqual(
    report.targets.map((target) => [target.id, target.ok, target.error?.code ?? null, target.error?.problem ?? null]),
    [
      ["tenants/a.db", true, null, null],
      ["tenants/b.db", false, "DATABASE_PATH_INVALID", "gone"],
    ],
  );
  assert.equal(existsSync(path.join(project.root, "tenants", "b.db")), false);
});

for (const concurrency of ["2", "1"])
  test(`Ctrl-C during fleet up --concurrency ${concurrency} starts no other database, lets those running finish, and reports them; the next run does the rest`, async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT);\nCREATE TABLE ran (version INTEGER NOT NULL);\nINSERT INTO ran VALUES (1);\n");
    // A while per database, so that the signal lands halfway.
    project.writeMigration(
      "002_fill.sql",
      "-- migrate:up\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) INSERT INTO items (id, note) SELECT i, 'row ' || i FROM n;\nINSERT INTO ran VALUES (2);\n",
    );
    await project.generateAsBin();
    mkdirSync(path.join(project.root, "tenants"));
    // Enough that a signal the bin hears late, on a loaded machine, still finds databases not started.
    const files = Array.from({ length: 20 }, (_, index) => path.join(project.root, "tenants", `t${index}.db`));
    for (const file of files) writeFileSync(file, "");
    const child = spawn(cliNode(), [...binArgs(), "fleet", "up", "--db", "tenants/*.db", "--concurrency", concurrency, "--json"], {
      cwd: project.root,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const done = collectOutput(child);
    while (child.exitCode === null && files.every((file) => statSync(file).size === 0)) await new Promise((resolve) => setTimeout(resolve, 3));
    child.kill("SIGINT");
    const run = await done;
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as Json & { targets: Array<{ ok: boolean; toVersion: number }> };
    assert.equal(report.stopped, "aborted");
    assert.ok(report.targets.length > 0 && report.targets.length < files.length, `${report.targets.length} finished`);
    assert.ok(report.targets.every((target) => target.ok && target.toVersion === 2));
    const rest = JSON.parse((await runCli(["fleet", "up", "--db", "tenants/*.db", "--json"], { cwd: project.root })).stdout) as Json;
    assert.deepEqual([rest.ok, rest.migrated, rest.current], [true, files.length - report.targets.length, report.targets.length]);
    for (const file of files) {
      const db = new Database(file);
      assert.deepEqual(db.prepare("SELECT version FROM ran ORDER BY version").all(), [{ version: 1 }, { version: 2 }]);
      db.close();
    }
  });

test("fleet status's histogram counts each database once: one a newer app migrated (ahead) or refusing is on its state's line with its code, not also a version's bar", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  const newer = [...registry, namedSqlEntry(2, "add_tag", "ALTER TABLE items ADD COLUMN tag TEXT;")];
  for (const [name, migrations] of [
    ["ahead", newer],
    ["current", registry],
  ] as const) {
    const db = new Database(path.join(cwd, "tenants", `${name}.db`));
    new MigrationManager(db, migrations).up();
    db.close();
  }
  writeFileSync(path.join(cwd, "tenants", "unmanaged.db"), "");
  const unmanaged = new Database(path.join(cwd, "tenants", "unmanaged.db"));
  unmanaged.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
  unmanaged.close();
  const run = await runInProcess({ migrations: registry, cwd }, ["fleet", "status", "--db", "tenants/*.db"]);
  assert.equal(run.code, 1, run.stderr);
  const counted = [...run.stdout.matchAll(/^ {2}(version \d+|refusing|locked|failed) .*?(\d+)(?: {2}|$)/gm)].map(([, line, n]) => [line, Number(n)]);
  assert.deepEqual(counted, [
    ["version 1", 1],
    ["refusing", 2],
  ]);
  assert.match(run.stdout, /DATABASE_AHEAD 1/);
});

test("a canary as large as the fleet, or fail-fast on its last database, tried every database: the report says no stop", async (t) => {
  const dir = makeTempDir(t);
  writeFileSync(path.join(dir, "c.db"), "damaged ".repeat(600));
  const fleet = (options: { canary?: number; failFast?: boolean }) =>
    migrateMany(["a", "b", "c"], (id) => new MigrationManager(new Database(path.join(dir, `${id}.db`)), registry), { ...options, concurrency: 1, close: (manager) => manager.db.close() });
  for (const options of [{ canary: 3 }, { canary: 10 }, { failFast: true }]) {
    const report = await fleet(options);
    assert.deepEqual(
      [report.stopped, report.targets.map((target) => [target.id, target.ok])],
      [
        null,
        [
          ["a", true],
          ["b", true],
          ["c", false],
        ],
      ],
      JSON.stringify(options),
    );
  }
  mkdirSync(path.join(dir, "tenants"));
  for (const id of ["a", "b"]) writeFileSync(path.join(dir, "tenants", `${id}.db`), "");
  writeFileSync(path.join(dir, "tenants", "c.db"), "damaged ".repeat(600));
  const cli = jsonOutput<Json>(await runInProcess({ migrations: registry, cwd: dir }, ["fleet", "up", "--db", "tenants/*.db", "--canary", "5", "--json"]), 1);
  assert.deepEqual([cli.stopped, cli.migrated, cli.failed], [null, 2, 1]);
});

test("fleet up --to a version the registry lacks is refused once, as up refuses it, before any database is opened", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  const files = ["a", "b"].map((name) => path.join(cwd, "tenants", `${name}.db`));
  for (const file of files) writeFileSync(file, "");
  const run = await runInProcess({ migrations: registry, cwd }, ["fleet", "up", "--db", "tenants/*.db", "--to", "9", "--json"]);
  const [many, one] = [jsonError(run, 1), jsonError(await runInProcess({ migrations: registry, cwd }, ["up", "--db", files[0]!, "--to", "9", "--json"]), 1)];
  assert.deepEqual({ ...many, fix: null }, { ...one, fix: null });
  // One database's next step names it; the fleet's names none of its pattern's.
  assert.deepEqual([String(one.fix).includes(`"stepwise status --db ${files[0]}"`), String(many.fix).includes("--db")], [true, false]);
  assert.deepEqual(
    files.map((file) => statSync(file).size),
    [0, 0],
    "nothing was written",
  );
});

test("a file name with a newline or a terminal escape is printed quoted and escaped, so it cannot forge a line or drive the terminal", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  writeFileSync(path.join(cwd, "tenants", "evil\u001b[2J\n  version 9.db"), "damaged ".repeat(600));
  writeFileSync(path.join(cwd, "tenants", "plain\u009b.db"), "");
  for (const command of ["status", "up"]) {
    const run = await runInProcess({ migrations: registry, cwd }, ["fleet", command, "--db", "tenants/*.db"]);
    assert.equal(run.code, 1, run.stderr);
    assert.doesNotMatch(run.stdout, /[\u001b\u009b]|\n {2}version 9/, command);
    assert.ok(run.stdout.includes('"tenants/evil\\u001b[2J\\u000a  version 9.db"'), `${command}: ${run.stdout}`);
  }
});

test("a registry every database would refuse (the other dialect's, a gap in its versions) is refused once, as up refuses it, not once per database", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  const files = ["a", "b"].map((name) => path.join(cwd, "tenants", `${name}.db`));
  for (const file of files) writeFileSync(file, "");
  for (const migrations of [
    [namedSqlEntry(1, "create_items", "CREATE TABLE items (id bigint PRIMARY KEY);", null, { dialect: "postgres" })],
    [...registry, namedSqlEntry(3, "skips_two", "CREATE TABLE later (id INTEGER);")],
  ]) {
    for (const driver of ["better-sqlite3", "sql-js"]) {
      for (const command of ["status", "up"]) {
        const single = jsonError(await runInProcess({ migrations, cwd }, [command, "--db", files[0]!, "--driver", driver, "--json"]), 1);
        assert.deepEqual(jsonError(await runInProcess({ migrations, cwd }, ["fleet", command, "--db", "tenants/*.db", "--driver", driver, "--json"]), 1), single, `${driver} ${command}`);
      }
    }
  }
});

test("a file: URL of --url-file whose file is not there at its turn (deleted since the run began, or never there: a mistyped URL) is reported gone (DATABASE_PATH_INVALID) as a --db file is, and not created", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  for (const name of ["a", "b"]) writeFileSync(path.join(cwd, "tenants", `${name}.db`), "");
  writeFileSync(path.join(cwd, "urls.txt"), "file:tenants/a.db\nfile:tenants/b.db\nfile:tenants/new.db\n");
  // Tenant a's migration deletes tenant b, whose turn comes after it (one at a time).
  let deleted = false;
  const deletesB = tsEntry(1, {
    async up(db: { execute(sql: string): Promise<unknown> }) {
      if (!deleted) rmSync(path.join(cwd, "tenants", "b.db"));
      deleted = true;
      await db.execute("CREATE TABLE items (id INTEGER)");
    },
  });
  const run = await runInProcess({ migrations: [deletesB], cwd }, ["fleet", "up", "--driver", "libsql-client", "--url-file", "urls.txt", "--concurrency", "1", "--json"]);
  assert.equal(run.code, 1, run.stderr);
  const report = JSON.parse(run.stdout) as { targets: Array<{ ok: boolean; error: { code: string; problem?: string } | null }> };
  assert.deepEqual(
    report.targets.map((target) => [target.ok, target.error?.code ?? null, target.error?.problem ?? null]),
    [
      [true, null, null],
      [false, "DATABASE_PATH_INVALID", "gone"],
      [false, "DATABASE_PATH_INVALID", "gone"],
    ],
  );
  assert.equal(existsSync(path.join(cwd, "tenants", "b.db")), false);
  assert.equal(existsSync(path.join(cwd, "tenants", "new.db")), false);
});

test("fleet refuses --lock-timeout on a SQLite or libSQL driver as up does, rather than ignoring it", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  writeFileSync(path.join(cwd, "tenants", "a.db"), "");
  writeFileSync(path.join(cwd, "urls.txt"), "file:tenants/a.db\n");
  for (const [fleet, single] of [
    [
      ["--db", "tenants/*.db"],
      ["--db", "tenants/a.db"],
    ],
    [
      ["--driver", "libsql-client", "--url-file", "urls.txt"],
      ["--driver", "libsql-client", "--url", "file:tenants/a.db"],
    ],
  ] as const) {
    const expected = jsonError(await runInProcess({ migrations: registry, cwd }, ["up", ...single, "--lock-timeout", "100", "--json"]), 2);
    assert.deepEqual(jsonError(await runInProcess({ migrations: registry, cwd }, ["fleet", "up", ...fleet, "--lock-timeout", "100", "--json"]), 2), expected);
  }
  assert.equal(statSync(path.join(cwd, "tenants", "a.db")).size, 0);
});

test("a registry holding a null or non-object entry is refused once as REGISTRY_INVALID, as a manager refuses it, not with a TypeError", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  writeFileSync(path.join(cwd, "tenants", "a.db"), "");
  for (const hostile of [null, 7, "x"]) {
    const migrations = [...registry, hostile] as unknown as typeof registry;
    const error = jsonError(await runInProcess({ migrations, cwd }, ["fleet", "status", "--db", "tenants/*.db", "--json"]));
    assert.equal(error.code, "REGISTRY_INVALID", String(hostile));
    assert.throws(() => new MigrationManager(new Database(":memory:"), migrations), { code: "REGISTRY_INVALID" });
  }
  // Ahead of it, an entry for the other dialect is still the wrong file, whatever else is wrong.
  const foreign = [{ ...registry[0]!, dialect: "postgres" }, null] as unknown as typeof registry;
  const mismatch = jsonError(await runInProcess({ migrations: foreign, cwd }, ["fleet", "status", "--db", "tenants/*.db", "--json"]));
  assert.equal(mismatch.code, "REGISTRY_DIALECT_MISMATCH");
  assert.equal(mismatch.driverDialect, "sqlite");
});
