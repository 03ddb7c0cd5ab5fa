/**
 * `gen --check`'s replay never goes missing silently. A project whose SQLite driver is not installed
 * (a Cloudflare project has no better-sqlite3) replays on the first driver that loads, sql.js
 * included, and says which stood in; a D1 or Durable Objects project's TypeScript migrations get that
 * binding's API over it. When nothing can replay, the skip carries its code and its reason whole (the
 * install command included), in text and in `--json`, and `--require-replay` makes it fail.
 * In-process through `runReplayCheck` (the drivers that "are installed" are the one thing a test
 * chooses), and the bin for what only a process shows: exit codes and streams.
 *
 *   node --import tsx --test test/gen-replay-skips.test.ts
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { importTypeScript } from "../codegen/ts-import.js";
import { replayDriverInstall, runReplayCheck, type ReplayCheckOptions } from "../codegen/replay.js";
import { resolveSettings } from "../codegen/config.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { connectBetterSqlite3 } from "../src/cli/open-database.js";
import { MigrationManager as BetterSqlite3Manager } from "../src/drivers/better-sqlite3.js";
import type { DriverLoaders } from "../src/cli/open-database.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { parseProblemLines } from "./support/problem-lines.js";
import { createTestProject, runCli, type TestProject } from "./support/project.js";
import { missingDependencyError } from "../codegen/optional-dependencies.js";
import { driverNotInstalledError } from "../src/cli/errors.js";

const loadRegistry = async (file: string) => ((await importTypeScript(pathToFileURL(file).href, import.meta.url)) as { migrations: MigrationRegistry }).migrations;

/** A driver whose package this project has not installed, as the loader reports it. */
const notInstalled = (driver: string, packageName: string) => async () => {
  throw driverNotInstalledError({ driver, packageName, installCommand: `npm install ${packageName}`, reason: "missing" });
};

/** The bin's drivers, less better-sqlite3 and libsql: a Cloudflare project's node_modules. */
const WITHOUT_NATIVE: DriverLoaders = { ...ALL_DRIVER_LOADERS, "better-sqlite3": notInstalled("better-sqlite3", "better-sqlite3"), libsql: notInstalled("libsql", "libsql") };
/** And without sql.js either: nothing here can replay. */
const WITHOUT_ANY: DriverLoaders = { ...WITHOUT_NATIVE, "sql-js": notInstalled("sql-js", "sql.js") };

async function check(project: TestProject, extra: Partial<ReplayCheckOptions> = {}) {
  const settings = resolveSettings(project.root);
  await project.generateAsBin();
  return runReplayCheck({ ...settings, url: null, registryFile: settings.registryFile, loadRegistry, ...extra });
}

test("better-sqlite3 whose native addon was built for another Node (it fails on its first open, not on import) gives way to the next driver, named with the rebuild command", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_visits.sql", "-- migrate:up\nCREATE TABLE visits (page TEXT PRIMARY KEY);\n-- migrate:down\nDROP TABLE visits;\n");
  class BuiltForAnotherNode {
    constructor() {
      throw Object.assign(new Error("The module was compiled against a different Node.js version using NODE_MODULE_VERSION 137."), { code: "ERR_DLOPEN_FAILED" });
    }
  }
  const drivers: DriverLoaders = {
    ...ALL_DRIVER_LOADERS,
    "better-sqlite3": async () => connectBetterSqlite3({ Database: BuiltForAnotherNode as never, MigrationManager: BetterSqlite3Manager }),
  };
  const ran = await check(project, { drivers });
  assert.deepEqual(ran.problems, []);
  assert.ok(ran.replay.ran);
  assert.notEqual(ran.replay.driver, "better-sqlite3");
  assert.deepEqual([ran.replay.applied, ran.replay.rolledBack], [1, 1]);
  assert.deepEqual(
    ran.replay.unavailable.map((each) => each.driver),
    ["better-sqlite3"],
  );
  assert.match(ran.replay.unavailable[0]!.reason, /npm rebuild better-sqlite3/);
});

test("without better-sqlite3 (a Cloudflare project) the replay runs on sql.js, naming why; with no driver at all it is skipped, its reason whole with the install commands", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { target: "d1" } } });
  project.writeMigration("001_visits.sql", "-- migrate:up\nCREATE TABLE visits (page TEXT PRIMARY KEY);\n-- migrate:down\nDROP TABLE visits;\n");
  const ran = await check(project, { drivers: WITHOUT_NATIVE });
  assert.deepEqual(ran.problems, []);
  assert.ok(ran.replay.ran);
  assert.deepEqual([ran.replay.driver, ran.replay.applied, ran.replay.rolledBack], ["sql-js", 1, 1]);
  assert.deepEqual(
    ran.replay.unavailable.map((each) => each.driver),
    ["better-sqlite3"],
  );
  assert.match(ran.replay.unavailable[0]!.reason, /\n {2}npm install better-sqlite3\n/);

  // A fault is still found there.
  project.writeMigration("002_typo.sql", "-- migrate:up\nCREAT TABLE x (id INTEGER);\n");
  const broken = await check(project, { drivers: WITHOUT_NATIVE });
  assert.deepEqual(
    broken.problems.map((problem) => [problem.code, problem.file, problem.line]),
    [["REPLAY_FAILED", "migrations/002_typo.sql", 2]],
  );

  const none = await check(project, { drivers: WITHOUT_ANY });
  assert.deepEqual(none.problems, []);
  assert.equal(none.replay.ran, false);
  assert.ok(!none.replay.ran && none.replay.code === "no-driver");
  assert.ok(none.replay.reason.includes(`\n  ${replayDriverInstall()}`), none.replay.reason);
  assert.ok(none.replay.reason.includes("\n  npm install better-sqlite3\n"), none.replay.reason);
});

test("a project's own driver that does not load hands over to the next, naming only that one (not the default it does not use); the project's driver is tried first", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { driver: "libsql" } } });
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id INTEGER);\n");
  const own = await check(project);
  assert.ok(own.replay.ran);
  assert.deepEqual([own.replay.driver, own.replay.unavailable], ["libsql", []]);
  const handedOver = await check(project, { drivers: WITHOUT_NATIVE });
  assert.ok(handedOver.replay.ran);
  assert.equal(handedOver.replay.driver, "sql-js");
  assert.deepEqual(
    handedOver.replay.unavailable.map((each) => each.driver),
    ["libsql"],
  );
});

const d1Migration = (body: string) => `import { defineMigration } from "stepwise-migrate/d1";

export default defineMigration({
  transaction: false,
  async up(db) {
${body}
  },
});
`;

test("a D1 project's TypeScript migration replays with a D1 binding's API (prepare, bind, first, all, run, raw, batch, exec), and its fault is found at its line", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { target: "d1" } } });
  project.writeMigration("001_visits.sql", "-- migrate:up\nCREATE TABLE visits (page TEXT PRIMARY KEY, count INTEGER NOT NULL);\n");
  project.writeMigration(
    "002_seed.ts",
    d1Migration(`    await db.exec("CREATE TABLE seen (page TEXT)");
    await db.batch([db.prepare("INSERT INTO visits VALUES (?, ?)").bind("/", 1), db.prepare("INSERT INTO visits VALUES (?, ?)").bind("/a", 2)]);
    const row = await db.prepare("SELECT count FROM visits WHERE page = ?").bind("/a").first<{ count: number }>();
    if (row?.count !== 2) throw new Error("first() read " + JSON.stringify(row));
    if ((await db.prepare("SELECT count FROM visits WHERE page = ?").bind("/a").first("count")) !== 2) throw new Error("first(column)");
    const { results } = await db.prepare("SELECT page FROM visits ORDER BY page").all();
    if (results.length !== 2) throw new Error("all() read " + results.length);
    const raw = await db.prepare("SELECT page, count FROM visits ORDER BY page").raw();
    if (JSON.stringify(raw) !== '[["/",1],["/a",2]]') throw new Error("raw() read " + JSON.stringify(raw));
    const { meta } = await db.prepare("UPDATE visits SET count = count + 1").run();
    if (meta.changes !== 2) throw new Error("run() changed " + meta.changes);
    await db.batch([db.prepare("INSERT INTO seen VALUES ('x')"), db.prepare("INSERT INTO nowhere VALUES (1)")]).catch(() => undefined);
    const seen = await db.prepare("SELECT count(*) AS n FROM seen").first("n");
    if (seen !== 0) throw new Error("a failed batch kept " + seen + " rows");`),
  );
  for (const drivers of [ALL_DRIVER_LOADERS, WITHOUT_NATIVE]) {
    const result = await check(project, { drivers });
    assert.deepEqual(result.problems, []);
    assert.ok(result.replay.ran);
    assert.equal(result.replay.connection, "d1");
  }
  project.writeMigration("003_typo.ts", d1Migration(`    await db.prepare("UPDAT visits SET count = 0").run();`));
  const broken = await check(project);
  assert.deepEqual(
    broken.problems.map((problem) => [problem.code, problem.file, problem.line]),
    [["REPLAY_FAILED", "migrations/003_typo.ts", 6]],
  );
});

test("a Durable Objects project's TypeScript migration replays with ctx.storage.sql's exec and its cursor, by its import alone (no driver in the config)", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_counters.sql", "-- migrate:up\nCREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);\n");
  project.writeMigration(
    "002_seed.ts",
    `import { defineMigration } from "stepwise-migrate/durable-objects";

export default defineMigration({
  up(sql) {
    sql.exec("INSERT INTO counters VALUES (?, ?)", "a", 1);
    const cursor = sql.exec("INSERT INTO counters VALUES ('b', 2); SELECT name, value FROM counters ORDER BY name");
    const rows = cursor.toArray();
    if (rows.length !== 2 || cursor.columnNames.join() !== "name,value") throw new Error("exec read " + JSON.stringify(rows));
    const one = sql.exec("SELECT value FROM counters WHERE name = ?", "b").one() as { value: number };
    if (one.value !== 2) throw new Error("one() read " + JSON.stringify(one));
    if (sql.exec("UPDATE counters SET value = value + 1").rowsWritten !== 2) throw new Error("rowsWritten");
  },
  down(sql) {
    sql.exec("DELETE FROM counters");
  },
});
`,
  );
  const result = await check(project, { drivers: WITHOUT_NATIVE });
  assert.deepEqual(result.problems, []);
  assert.ok(result.replay.ran);
  assert.deepEqual([result.replay.connection, result.replay.applied, result.replay.rolledBack], ["durable-objects", 2, 2]);
});

test("every other skip keeps its reason whole: tsx missing (no-registry-loader), a server that refuses the scratch database (no-scratch-database), no server (no-server)", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_a.ts", `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db) {\n    void db;\n  },\n});\n`);
  const missing = missingDependencyError("Loading generated/registry.ts", ["tsx"]);
  const noLoader = await check(project, {
    loadRegistry: async () => {
      throw missing;
    },
  });
  assert.ok(!noLoader.replay.ran);
  assert.equal(noLoader.replay.code, "no-registry-loader");
  assert.ok(noLoader.replay.reason.includes(missing.details.installCommand));

  const postgres = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres" } } });
  postgres.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id bigint);\n");
  const noServer = await check(postgres);
  assert.ok(!noServer.replay.ran);
  assert.equal(noServer.replay.code, "no-server");
  const refused = await check(postgres, { url: "postgres://nobody@127.0.0.1:1/none" });
  assert.ok(!refused.replay.ran);
  assert.equal(refused.replay.code, "no-scratch-database");
  assert.match(refused.replay.reason, /127\.0\.0\.1|ECONNREFUSED|connect/i);
});

test(
  "the bin: a skipped replay is a warning in text and replay.ran false in --json (exit 0); --require-replay fails it with REPLAY_SKIPPED (exit 1); with --no-replay it is a usage error",
  { timeout: 120_000 },
  async (t) => {
    const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres" } } });
    project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id bigint);\n");
    await project.generateAsBin();
    const env = { DATABASE_URL: undefined };
    const text = await runCli(["gen", "--check"], { cwd: project.root, env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, /^warning \[REPLAY_SKIPPED\]: the replay did not run \(no-server\)/m);

    const json = await runCli(["gen", "--check", "--json"], { cwd: project.root, env });
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { ok: boolean; replay: { ran: boolean; code: string; reason: string } };
    assert.equal(report.ok, true);
    assert.deepEqual([report.replay.ran, report.replay.code], [false, "no-server"]);
    assert.match(report.replay.reason, /DATABASE_URL/);

    for (const args of [
      ["gen", "--check", "--require-replay"],
      ["gen", "--check", "--require-replay", "--json"],
    ]) {
      const required = await runCli(args, { cwd: project.root, env });
      assert.equal(required.code, 1, required.stdout + required.stderr);
      if (args.includes("--json")) {
        const failed = JSON.parse(required.stdout) as { ok: boolean; problems: { code: string; file: string }[]; replay: { ran: boolean } };
        assert.deepEqual([failed.ok, failed.replay.ran, failed.problems.map((problem) => [problem.code, problem.file])], [false, false, [["REPLAY_SKIPPED", "generated/registry.ts"]]]);
      } else {
        assert.deepEqual(parseProblemLines(required.stderr), [{ file: "generated/registry.ts", line: 1, column: 1, code: "REPLAY_SKIPPED" }]);
      }
    }
    // --url names the server as it does for every other command: the replay goes there (refused here), no longer skipped for want of one.
    const toUrl = await runCli(["gen", "--check", "--require-replay", "--json", "--url", "postgres://nobody@127.0.0.1:1/none"], { cwd: project.root, env });
    assert.equal(toUrl.code, 1, toUrl.stdout + toUrl.stderr);
    assert.deepEqual((JSON.parse(toUrl.stdout) as { replay: { code: string } }).replay.code, "no-scratch-database");
    const contradiction = await runCli(["gen", "--check", "--require-replay", "--no-replay"], { cwd: project.root, env });
    assert.equal(contradiction.code, 2);
    const withoutCheck = await runCli(["gen", "--require-replay"], { cwd: project.root, env });
    assert.equal(withoutCheck.code, 2);

    // A replay that ran is in --json too.
    const sqlite = createTestProject(t);
    sqlite.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id INTEGER);\n-- migrate:down\nDROP TABLE a;\n");
    await sqlite.generateAsBin();
    const ran = await runCli(["gen", "--check", "--json", "--require-replay"], { cwd: sqlite.root });
    assert.equal(ran.code, 0, ran.stderr);
    const ranReport = JSON.parse(ran.stdout) as { replay: { ran: boolean; driver: string; applied: number; rolledBack: number } };
    assert.deepEqual([ranReport.replay.ran, ranReport.replay.driver, ranReport.replay.applied, ranReport.replay.rolledBack], [true, "better-sqlite3", 1, 1]);
  },
);

test("the replay changes nothing outside its in-memory database: a SQL migration reaching another file, or a TypeScript body's ATTACH, is a not-contained skip naming its file, not a failure; the other file is never made", async (t) => {
  for (const [name, reach] of [
    ["ATTACH", (file: string) => `-- migrate:up\nATTACH DATABASE '${file}' AS side;\nCREATE TABLE side.log (x);`],
    ["VACUUM INTO", (file: string) => `-- migrate:up transaction:false\nVACUUM INTO '${file}';`],
  ] as const) {
    const project = createTestProject(t);
    const other = path.join(project.root, "other.db");
    project.writeMigration("001_t.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER);\n-- migrate:down\nDROP TABLE t;\n");
    project.writeMigration("002_reach.sql", `${reach(other)}\n`);
    const result = await check(project);
    assert.deepEqual(result.problems, [], name);
    assert.ok(!result.replay.ran, name);
    assert.equal(result.replay.code, "not-contained", name);
    assert.match(result.replay.reason, /002_reach\.sql/, name);
    assert.equal(existsSync(other), false, `${name}: the replay made ${other}`);
  }
  const project = createTestProject(t);
  const other = path.join(project.root, "other.db");
  project.writeMigration(
    "001_reach.ts",
    `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db) {\n    db.exec(${JSON.stringify(`ATTACH DATABASE '${other}' AS side; CREATE TABLE side.log (x);`)});\n  },\n});\n`,
  );
  // Found only when the body calls it: the replay stops there, skipped as SQL's is, since the real run may well pass.
  const result = await check(project);
  assert.deepEqual(result.problems, []);
  assert.ok(!result.replay.ran);
  assert.equal(result.replay.code, "not-contained");
  assert.match(result.replay.reason, /001_reach\.ts/);
  assert.equal(existsSync(other), false, "the replay made the attached file");

  // In its down, which the replay runs for the newest migration: skipped too, and the other file is never made.
  const downProject = createTestProject(t);
  const downOther = path.join(downProject.root, "other.db");
  downProject.writeMigration(
    "001_reach.ts",
    `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up() {},\n  down(db) {\n    db.exec(${JSON.stringify(`ATTACH DATABASE '${downOther}' AS side; CREATE TABLE side.log (x);`)});\n  },\n});\n`,
  );
  const down = await check(downProject);
  assert.deepEqual(down.problems, []);
  assert.ok(!down.replay.ran);
  assert.equal(down.replay.code, "not-contained");
  assert.equal(existsSync(downOther), false, "the replay made the attached file");
});

test("the program's --driver picks the replay's driver over the config's and the default, as it picks every command's", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { driver: "better-sqlite3" } } });
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id INTEGER);\n-- migrate:down\nDROP TABLE a;\n");
  await project.generateAsBin();
  for (const driver of ["libsql", "sql-js"]) {
    const run = await runCli(["--driver", driver, "gen", "--check", "--json"], { cwd: project.root });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { replay: { ran: boolean; driver?: string } };
    assert.deepEqual([report.replay.ran, report.replay.driver], [true, driver]);
  }
});
