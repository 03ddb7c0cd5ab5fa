/**
 * `stepwise fleet status|up|verify` on SQLite files. On every file driver available here, in-process
 * through the embeddable CLI: a fleet with fresh, foreign, damaged and locked databases gets its
 * histogram, its migration where possible and each exception's reason, and a second `up` applies
 * nothing. Through the bin (in-process, so on its worker threads): the registry loaded by each
 * worker, `--shard` splitting the fleet by id, the canary, the usage errors. A few real bin runs:
 * the exit codes and the progress bar on a pseudo-terminal.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createCli } from "../src/cli/create-cli.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { CLI_DRIVER_NAMES, type CliDriverName } from "../src/cli/driver-names.js";
import { inShard, parseShard } from "../src/cli/fleet-targets.js";
import { binArgs } from "./support/compiled-bin.js";
import { binUnderRuntime, cliDriverName } from "./support/bin-under-runtime.js";
import { describeEachDriver, DRIVERS } from "./support/driver-matrix.js";
import { jsonOutput, runInProcess } from "./support/in-process-cli.js";
import { cliNode, createTestProject, makeTempDir, runCli } from "./support/project.js";
import { namedSqlEntry } from "./support/registry-builders.js";

const registry = [
  namedSqlEntry(1, "create_items", "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT); CREATE TABLE ran (version INTEGER NOT NULL); INSERT INTO ran VALUES (1);"),
  namedSqlEntry(2, "add_tag", "ALTER TABLE items ADD COLUMN tag TEXT; INSERT INTO ran VALUES (2);"),
];

type Json = Record<string, unknown> & { targets: Array<Record<string, unknown> & { id: string; error: { code: string } | null }> };
const byId = (report: Json) => Object.fromEntries(report.targets.map((target) => [target.id, target]));

await describeEachDriver("stepwise fleet", (h) => {
  const driver = (h.name === "sql.js" ? "sql-js" : h.name) as CliDriverName;
  test("status shows the histogram and each exception; up migrates what it can and reports the rest; verify checks each", async (t) => {
    if (!CLI_DRIVER_NAMES.includes(driver)) return t.skip(`${h.name} is no driver of the CLI`);
    const cwd = makeTempDir(t);
    mkdirSync(path.join(cwd, "tenants"));
    const file = (name: string) => path.join(cwd, "tenants", `${name}.db`);
    for (const name of ["a", "b"]) (await h.open(file(name))).close();
    const foreign = await h.open(file("foreign"));
    foreign.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
    foreign.close();
    writeFileSync(file("damaged"), "no database here\n".repeat(300));
    writeFileSync(path.join(cwd, "tenants", "notes.txt"), "not matched");
    const locking = h.capabilities.fileLocking;
    if (locking) {
      const holder = await h.open(file("locked"));
      holder.exec("BEGIN EXCLUSIVE");
      t.after(() => holder.close());
    }
    const fleet = (...args: string[]) => runInProcess({ migrations: registry, cwd }, ["fleet", ...args, "--db", "tenants/*.db", "--driver", driver, "--busy-timeout", "50", "--json"]);

    const status = jsonOutput<Json>(await fleet("status"), 1);
    assert.deepEqual(
      { ...status, targets: undefined, venue: undefined },
      {
        ok: false,
        latestVersion: 2,
        total: locking ? 5 : 4,
        versions: { "0": 3 },
        current: 0,
        pending: 2,
        refusing: 1,
        locked: locking ? 1 : 0,
        failed: 1,
        reasons: { UNMANAGED_DATABASE: 1, DATABASE_UNUSABLE: 1, ...(locking && { DATABASE_LOCKED: 1 }) },
        targets: undefined,
        venue: undefined,
      },
    );
    assert.deepEqual(
      status.targets.map((target) => [target.id, target.state]),
      [["tenants/a.db", "pending"], ["tenants/b.db", "pending"], ["tenants/damaged.db", "failed"], ["tenants/foreign.db", "refusing"], ...(locking ? [["tenants/locked.db", "locked"]] : [])],
    );
    if (driver === "sql-js") {
      const refused = await fleet("up");
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /DRIVER_CAPABILITY_MISSING/);
      return;
    }

    const up = jsonOutput<Json>(await fleet("up"), 1);
    const ups = byId(up);
    assert.deepEqual([up.migrated, up.applied, up.current, up.failed, up.stopped], [2, 4, 0, locking ? 3 : 2, null]);
    assert.deepEqual([ups["tenants/a.db"]!.fromVersion, ups["tenants/a.db"]!.toVersion, ups["tenants/a.db"]!.error], [0, 2, null]);
    assert.equal(ups["tenants/foreign.db"]!.error!.code, "UNMANAGED_DATABASE");
    // Each database's refusal carries the next step a thrown one gets, in status as in up.
    const foreignFix = (status.targets.find((target) => target.id === "tenants/foreign.db")!.error as { fix?: unknown }).fix;
    assert.match(String(foreignFix), /stepwise baseline --db tenants\/foreign\.db /);
    assert.equal((ups["tenants/foreign.db"]!.error as { fix?: unknown }).fix, foreignFix);
    assert.equal(ups["tenants/damaged.db"]!.error!.code, "DATABASE_UNUSABLE");
    if (locking) assert.equal(ups["tenants/locked.db"]!.error!.code, "DATABASE_LOCKED");

    const again = jsonOutput<Json>(await fleet("up"), 1);
    assert.deepEqual([again.migrated, again.applied, again.current], [0, 0, 2]);
    const db = await h.open(file("a"));
    assert.deepEqual(db.rows("SELECT version FROM ran ORDER BY version"), [{ version: 1 }, { version: 2 }]);
    db.close();

    if (h.capabilities.snapshot) {
      const drifted = await h.open(file("b"));
      drifted.exec("CREATE INDEX outside ON items (note)");
      drifted.close();
      const verify = jsonOutput<Json>(await runInProcess({ migrations: registry, cwd }, ["fleet", "verify", "--db", "tenants/[ab].db", "--driver", driver, "--json"]), 1);
      assert.deepEqual([verify.matching, verify.drifted, verify.failed], [1, 1, 0]);
      assert.match(String((byId(verify)["tenants/b.db"]!.drift as string[])[0]), /outside/);
    }
  });
});

/** A project whose migrations record themselves in `ran`, its registry written, and `count` empty tenant files. */
async function tenantProject(t: { after(fn: () => void): void }, count: number) {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\nCREATE TABLE ran (version INTEGER NOT NULL);\nINSERT INTO ran VALUES (1);\n");
  project.writeMigration("002_tag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN tag TEXT;\nINSERT INTO ran VALUES (2);\n");
  project.writeMigration(
    "003_index.ts",
    'import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up(db) { db.exec("CREATE INDEX items_tag ON items (tag); INSERT INTO ran VALUES (3);"); } });\n',
  );
  await project.generateAsBin();
  mkdirSync(path.join(project.root, "tenants"));
  for (let index = 0; index < count; index++) writeFileSync(path.join(project.root, "tenants", `tenant-${String(index).padStart(2, "0")}.db`), "");
  return project;
}

test("through the bin, the fleet runs on worker threads that load the registry as the bin does; --shard splits it by id", async (t) => {
  const project = await tenantProject(t, 8);
  const cli = (...args: string[]) => runCli(["fleet", ...args, "--db", "tenants/*.db", "--json"], { cwd: project.root });
  const shards = await Promise.all(["1/2", "2/2"].map(async (shard) => JSON.parse((await cli("up", "--concurrency", "2", "--shard", shard)).stdout) as Json));
  for (const shard of shards) assert.deepEqual([shard.ok, shard.venue, shard.failed], [true, "workers", 0]);
  const ids = shards.flatMap((shard) => shard.targets.map((target) => target.id));
  assert.equal(ids.length, 8);
  assert.equal(new Set(ids).size, 8);
  assert.ok(shards.every((shard, index) => shard.targets.every((target) => inShard(target.id, parseShard(`${index + 1}/2`)))));
  assert.ok(
    shards.every((shard) => shard.targets.every((target) => target.toVersion === 3)),
    "each database of each shard is migrated",
  );
  const status = JSON.parse((await cli("status", "--concurrency", "3")).stdout) as Json;
  assert.deepEqual([status.ok, status.versions, status.venue], [true, { "3": 8 }, "workers"]);
});

test("the bin's worker threads run every file driver in its own runtime: libsql, node:sqlite under Node 24, bun:sqlite under Bun", async (t) => {
  const project = await tenantProject(t, 4);
  for (const underTest of DRIVERS.filter((driver) => ["libsql", "node-sqlite", "bun-sqlite"].includes(driver.name))) {
    const runner = binUnderRuntime(underTest);
    if ("skip" in runner) {
      t.diagnostic(`${underTest.name}: ${runner.skip}`);
      continue;
    }
    for (const name of ["tenant-00", "tenant-01", "tenant-02", "tenant-03"]) writeFileSync(path.join(project.root, "tenants", `${name}.db`), "");
    const result = await runner.run(project.root, ["fleet", "up", "--db", "tenants/*.db", "--driver", cliDriverName(underTest), "--concurrency", "2", "--json"]);
    const report = JSON.parse(result.stdout) as Json;
    assert.deepEqual([result.code, report.venue, report.migrated, report.applied], [0, "workers", 4, 12], `${underTest.name}: ${result.stderr}`);
  }
});

test("--shard takes the same databases whatever order the fleet is listed in", () => {
  const ids = Array.from({ length: 200 }, (_, index) => `tenants/tenant-${index}.db`);
  const parts = [1, 2, 3].map((index) => ids.filter((id) => inShard(id, { index, count: 3 })));
  assert.deepEqual(parts.flat().sort(), [...ids].sort());
  assert.ok(
    parts.every((part) => part.length > 40),
    "a hash spreads them",
  );
  assert.deepEqual(
    [...ids].reverse().filter((id) => inShard(id, { index: 2, count: 3 })),
    [...parts[1]!].reverse(),
  );
});

test("a failing canary starts no other database, and the next run goes on where it stopped", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  for (const name of ["a", "c", "d", "e"]) writeFileSync(path.join(cwd, "tenants", `${name}.db`), "");
  writeFileSync(path.join(cwd, "tenants", "b.db"), "damaged ".repeat(600));
  const fleet = (...args: string[]) => runInProcess({ migrations: registry, cwd }, ["fleet", "up", "--db", "tenants/*.db", ...args]);
  const canary = jsonOutput<Json>(await fleet("--canary", "2", "--concurrency", "1", "--json"), 1);
  assert.deepEqual([canary.stopped, canary.targets.length, canary.migrated], ["canary", 2, 1]);
  // Those never started are counted, so the counts add up to the total, as after Ctrl-C or --fail-fast.
  assert.deepEqual([canary.total, canary.migrated, canary.current, canary.failed, canary.notStarted], [5, 1, 0, 1, 3]);
  const text = await fleet("--canary", "2", "--concurrency", "1");
  assert.match(text.stdout, /5 databases in .*: 0 migrated, 1 already current, 1 failed, 3 not started;/);
  assert.match(text.stdout, /Stopped: a database of the canary batch failed, so no other was started; 3 databases not started/);
  const rest = jsonOutput<Json>(await fleet("--json"), 1);
  assert.deepEqual([rest.stopped, rest.migrated, rest.current, rest.failed, rest.notStarted], [null, 3, 1, 1, 0]);
});

test("an embedded CLI's fleet stops on the app's own signal (it listens to no process signal): aborted, no database is started", async (t) => {
  const cwd = makeTempDir(t);
  for (const name of ["a", "b"]) writeFileSync(path.join(cwd, `${name}.db`), "");
  const report = jsonOutput<Json & { stopped: string | null; notStarted: number }>(
    await runInProcess({ migrations: registry, cwd, signal: AbortSignal.abort() }, ["fleet", "up", "--db", "*.db", "--json"]),
    1,
  );
  assert.deepEqual([report.stopped, report.notStarted], ["aborted", 2]);
});

test("a database's fix in a fleet report names the fleet's command to run again, and a one-database command with that database", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  for (const name of ["a", "b c"]) writeFileSync(path.join(cwd, "tenants", `${name}.db`), "");
  const failing = [namedSqlEntry(1, "create_items", "CREATE TABLE items (id INTEGER);"), namedSqlEntry(2, "again", "CREATE TABLE items (id INTEGER);")];
  const fixesOf = async (migrations: typeof registry, options: readonly string[] = []) => {
    const report = jsonOutput<Json>(await runInProcess({ migrations, cwd }, ["fleet", "up", "--db", "tenants/*.db", ...options, "--json"]), 1);
    return report.targets.map((target) => (target.error as { fix?: unknown }).fix);
  };
  const [rolledBack] = await fixesOf(failing);
  assert.match(String(rolledBack), /"stepwise gen" and "stepwise fleet up --db 'tenants\/\*\.db'" again/);
  // A fleet up that was to stop at a version is run again to that version, not past it.
  assert.match(String((await fixesOf(failing, ["--to", "2", "--transaction", "all"]))[0]), /"stepwise gen" and "stepwise fleet up --db 'tenants\/\*\.db' --to 2 --transaction all" again/);
  // A migration outside a transaction that failed part way: resolved one database at a time.
  const partial = [failing[0]!, namedSqlEntry(2, "again", "CREATE TABLE items (id INTEGER);", null, { transaction: false })];
  const [a, bc] = await fixesOf(partial);
  assert.match(String(a), /"stepwise repair --db tenants\/a\.db --applied 2 --yes"/);
  assert.match(String(bc), /"stepwise repair --db 'tenants\/b c\.db' --forget 2 --yes"/);
  // The message's commands too, which the text report prints: a command with no database would name none of the fleet's.
  const reversible = [namedSqlEntry(1, "create_items", "CREATE TABLE items (id INTEGER);", "DROP TABLE items;"), namedSqlEntry(2, "tags", "CREATE TABLE tags (id INTEGER);", "DROP TABLE tags;")];
  for (const name of ["a", "b c"]) writeFileSync(path.join(cwd, "tenants", `${name}.db`), "");
  jsonOutput<Json>(await runInProcess({ migrations: reversible, cwd }, ["fleet", "up", "--db", "tenants/*.db", "--json"]));
  const below = jsonOutput<Json>(await runInProcess({ migrations: reversible, cwd }, ["fleet", "up", "--db", "tenants/*.db", "--to", "1", "--json"]), 1);
  assert.deepEqual(
    below.targets.map((target) => [target.error?.code, /"stepwise down --db ('[^']*'|\S+) [^"]*--to 1"/.exec((target.error as unknown as { message: string }).message)?.[1]]),
    [
      ["INVALID_TARGET", "tenants/a.db"],
      ["INVALID_TARGET", "'tenants/b c.db'"],
    ],
  );
});

test("a one-database command given a fleet's pattern (--db or the database setting) refuses it (USAGE, exit 2) and creates no database of that name, which every fleet run would then count", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  writeFileSync(path.join(cwd, "tenants", "a.db"), "");
  for (const [props, args] of [
    [{}, ["up", "--db", "tenants/*.db", "--json"]],
    [{}, ["status", "--db", "tenants/[ab].db", "--json"]],
    [{ database: "tenants/*.db" }, ["up", "--json"]],
    [{ database: "tenants/?.db" }, ["baseline", "1", "--json"]],
  ] as const) {
    const run = await runInProcess({ migrations: registry, cwd, ...props }, args);
    assert.equal(run.code, 2, run.stdout);
    const error = (JSON.parse(run.stdout) as { error: { code: string; fix: string } }).error;
    assert.equal(error.code, "USAGE", args.join(" "));
    assert.equal(/"stepwise fleet /.test(error.fix), args[0] !== "baseline", error.fix);
  }
  const fromEnv = await runInProcess({ migrations: registry, cwd }, ["status", "--json"], { DATABASE_URL: "tenants/*.db" });
  const envError = (JSON.parse(fromEnv.stdout) as { error: { message: string; fix: string } }).error;
  assert.match(envError.message, /^DATABASE_URL is a pattern/);
  // stepwise fleet reads no DATABASE_URL: the command the fix names carries the pattern, and runs.
  const fleetCommand = /"stepwise (fleet status --db '[^']+')"/.exec(envError.fix)?.[1];
  assert.equal(fleetCommand, "fleet status --db 'tenants/*.db'", envError.fix);
  assert.equal(jsonOutput<Json>(await runInProcess({ migrations: registry, cwd }, [...fleetCommand.split(" ").map((word) => word.replace(/'/g, "")), "--json"])).total, 1);
  assert.deepEqual(readdirSync(path.join(cwd, "tenants")), ["a.db"]);
  // A ? or [...] that matches no file is a new database's name, such as app[v2].db; a * never is.
  assert.equal((await runInProcess({ migrations: registry, cwd }, ["up", "--db", "app[v2].db"])).code, 0);
  assert.deepEqual(readdirSync(cwd).sort(), ["app[v2].db", "tenants"]);
  // The fleet itself takes the pattern from the setting, and a file of that very name is one database.
  assert.equal(jsonOutput<Json>(await runInProcess({ migrations: registry, cwd, database: "tenants/*.db" }, ["fleet", "up", "--json"])).total, 1);
  writeFileSync(path.join(cwd, "tenants", "[ab].db"), "");
  assert.equal((await runInProcess({ migrations: registry, cwd }, ["up", "--db", "tenants/[ab].db"])).code, 0);
});

test("fleet's usage errors exit 2 and change nothing", async (t) => {
  const cwd = makeTempDir(t);
  const run = (...args: string[]) => runInProcess({ migrations: registry, cwd }, ["fleet", ...args]);
  for (const [args, pattern] of [
    [["status", "--db", "tenants/*.db"], /No file matches "tenants\/\*\.db"/],
    [["status"], /No databases given: pass --db '<glob>'/],
    [["up", "--db", "x/*.db", "--url-file", "urls.txt"], /--url and --url-file are for --driver pg or libsql-client/],
    [["up", "--db", "x/*.db", "--shard", "3/2"], /expected i\/n with 1 <= i <= n/],
    [["up", "--db", "x/*.db", "--concurrency", "0"], /expected a whole number of at least 1/],
    [["status", "--driver", "pg", "--url-file", "missing.txt"], /Cannot read --url-file missing\.txt \(ENOENT\)/],
  ] as const) {
    const result = await run(...args);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
  }
});

test("fleet --help lists its commands, and each command's help its options and the global flags that name the databases", async (t) => {
  const cwd = makeTempDir(t);
  const help = async (...args: string[]) => {
    const result = await runInProcess({ migrations: registry, cwd }, ["fleet", ...args, "--help"]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };
  assert.match(await help(), /status \[options\][\s\S]*up \[options\][\s\S]*verify \[options\]/);
  const targets = ["--db '<glob>'", "--driver pg --schema '<glob>'", "--url-file <file>", "LIBSQL_AUTH_TOKEN", "--busy-timeout", "--lock-timeout", "--table"];
  const shared = ["--concurrency <n>", "--shard <i/n>", "--url-file <file>", "--json"];
  for (const [command, own] of [
    ["status", []],
    ["verify", []],
    ["up", ["--to <version>", "--transaction <mode>", "--canary <n>", "--fail-fast"]],
  ] as const) {
    const text = await help(command);
    for (const option of [...shared, ...own, ...targets]) assert.ok(text.includes(option), `fleet ${command} --help lacks ${option}`);
  }
});

test("on a terminal, a fleet run draws a bar with done, failed, rate and time left, redrawn in place", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  for (let index = 0; index < 3; index++) writeFileSync(path.join(cwd, "tenants", `t${index}.db`), "");
  writeFileSync(path.join(cwd, "tenants", "t9.db"), "damaged ".repeat(600));
  let stdout = "";
  const cli = createCli({ migrations: registry, cwd, drivers: ALL_DRIVER_LOADERS, io: { stdout: (text) => void (stdout += text), stderr: () => {}, env: { NO_COLOR: "1" }, isTTY: true } });
  assert.equal(await cli.run(["fleet", "up", "--db", "tenants/*.db"]), 1);
  assert.match(stdout, /\r\u001b\[2K {2}fleet up \[█+░*\] 4\/4 {2}1 failed {2}\d[\d,]*\/s/);
  assert.match(stdout, / {2}✗ tenants\/t9\.db {2}DATABASE_UNUSABLE/);
  assert.match(stdout, /4 databases in \d+ ms: 3 migrated, 0 already current, 1 failed; 6 migrations applied/);
});

test("fleet up's summary counts the migrations a database committed before it failed, as --json's applied does, rather than only those of the databases migrated", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants"));
  for (const name of ["a", "bad"]) writeFileSync(path.join(cwd, "tenants", `${name}.db`), "");
  // Fails only in a database whose file is named bad: migration 1 is committed there first.
  const failing = [registry[0]!, namedSqlEntry(2, "check_name", "CREATE TABLE named (n INTEGER CHECK (n = 0)); INSERT INTO named SELECT count(*) FROM pragma_database_list WHERE file LIKE '%bad%';")];
  const run = await runInProcess({ migrations: failing, cwd }, ["fleet", "up", "--db", "tenants/*.db", "--concurrency", "1"], { NO_COLOR: "1" });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stdout, /2 databases in \d+ ms: 1 migrated, 0 already current, 1 failed; 3 migrations applied\n/);
  const status = jsonOutput<Json>(await runInProcess({ migrations: failing, cwd }, ["fleet", "status", "--db", "tenants/*.db", "--json"]));
  assert.deepEqual(status.versions, { "1": 1, "2": 1 });
});

test("the real bin: a bar on a pseudo-terminal and exit 0 when every database is migrated, 1 when one fails, 2 on a usage error", async (t) => {
  const project = await tenantProject(t, 3);
  const command = [cliNode(), ...binArgs(), "fleet", "up", "--db", "tenants/*.db"].map((word) => `'${word}'`).join(" ");
  const tty = spawnSync("script", ["-qec", command, "/dev/null"], { cwd: project.root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  if (tty.error) t.diagnostic(`no pseudo-terminal here (${tty.error.message}): the bar is checked in-process only`);
  else {
    assert.equal(tty.status, 0, tty.stdout);
    assert.match(tty.stdout, /\r\u001b\[2K {2}fleet up \[█{24}\] 3\/3 {2}0 failed/);
  }
  writeFileSync(path.join(project.root, "tenants", "zz.db"), "damaged ".repeat(600));
  const bin = (...args: string[]) => spawnSync(cliNode(), [...binArgs(), "fleet", ...args], { cwd: project.root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const failed = bin("status", "--db", "tenants/*.db");
  assert.equal(failed.status, 1, failed.stderr);
  assert.match(failed.stdout, tty.error ? /failed +1 {2}DATABASE_UNUSABLE 1/ : /version 3 +█+ +3\n {2}failed +1 {2}DATABASE_UNUSABLE 1/);
  assert.equal(bin("up", "--db", "nowhere/*.db").status, 2);
});
