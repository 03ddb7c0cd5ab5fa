/**
 * How the runtime commands choose their settings. A flag always wins over the config, and a config
 * setting that cannot be resolved now (an unset `${NAME}` in its `url`) is "not configured" until a
 * command needs it, when the error names the variable and the config file. "No database given"
 * names every place the CLI looked and what each held (`searched` in `--json`). An option that takes
 * one value refuses two different ones: commander would keep the last silently, and a script that
 * appends `--db` or `--driver` would act on another database than the one it named first. The bin's
 * settings are read by `runtimeConfig` (codegen/config.ts), handed to the in-process CLI as
 * the bin does; `gen` runs through the bin itself.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { resolveSettings, runtimeConfig } from "../codegen/config.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { createCli, type CreateCliProps } from "../src/cli/index.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { jsonError, jsonOutput, runInProcess } from "./support/in-process-cli.js";
import { describeRun } from "./support/packed-app.js";
import { createTestProject, makeTempDir, runCli } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { caught, sqlEntry } from "./support/registry-builders.js";

const SQLITE_REGISTRY: MigrationRegistry = [sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY)")];
const PG_REGISTRY: MigrationRegistry = SQLITE_REGISTRY.map((entry) => ({ ...entry, dialect: "postgres" as const }));

/** A project folder whose package.json holds `stepwise` as its config. */
function projectWith(t: Parameters<typeof makeTempDir>[0], stepwise: object): string {
  const root = makeTempDir(t);
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "app", private: true, stepwise }));
  return root;
}

/** Runs the CLI in-process with the bin's settings for `root`, in `env`. */
function configuredRun(root: string, migrations: MigrationRegistry, args: readonly string[], env: Record<string, string | undefined> = {}) {
  return runInProcess({ migrations, cwd: root, ...runtimeConfig(root, env) }, args, env);
}

test('--url wins over the config\'s "url": "${DATABASE_URL}" with the variable unset; without it, the error names the variable and the config', async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const root = projectWith(t, { dialect: "postgres", driver: "pg", url: "${DATABASE_URL}" });
  const status = await configuredRun(root, PG_REGISTRY, ["--url", database.url, "status", "--json"]);
  assert.equal(jsonOutput<{ currentVersion: number }>(status).currentVersion, 0);

  const needed = jsonError(await configuredRun(root, PG_REGISTRY, ["status", "--json"]), 2);
  assert.deepEqual([needed.code, needed.variable, needed.configFile], ["USAGE", "DATABASE_URL", path.join(root, "package.json")]);
  assert.ok(needed.message.includes("DATABASE_URL") && needed.message.includes(path.join(root, "package.json")), needed.message);

  // Another variable, unset, with DATABASE_URL set: still the config's setting, never another database's.
  const other = projectWith(t, { dialect: "postgres", driver: "pg", url: "${APP_PG_URL}" });
  const elsewhere = jsonError(await configuredRun(other, PG_REGISTRY, ["status", "--json"], { DATABASE_URL: database.url }), 2);
  assert.deepEqual([elsewhere.code, elsewhere.variable], ["USAGE", "APP_PG_URL"]);

  // A password written into the config is the config's to fix, and --url wins over it all the same.
  const written = projectWith(t, { dialect: "postgres", driver: "pg", url: "postgres://app:Written-1n@127.0.0.1:1/db" });
  assert.equal(jsonOutput<{ currentVersion: number }>(await configuredRun(written, PG_REGISTRY, ["--url", database.url, "status", "--json"])).currentVersion, 0);
});

test("${NAME} in a config setting other than url is USAGE naming the setting, never a file of that name created and migrated", async (t) => {
  const root = projectWith(t, { database: "${DB_FILE}" });
  for (const command of ["up", "status"]) {
    const refused = jsonError(await configuredRun(root, SQLITE_REGISTRY, [command, "--json"], { DB_FILE: "data/app.db" }), 2);
    assert.deepEqual([refused.code, refused.setting, refused.configFile], ["USAGE", "database", path.join(root, "package.json")], command);
  }
  assert.deepEqual(readdirSync(root), ["package.json"]);
  const settings: Array<[object, string]> = [
    [{ tableName: "${TABLE}" }, "tableName"],
    [{ migrationsDir: "${DIR}" }, "migrationsDir"],
    [{ dialects: { postgres: { registryFile: "${OUT}" } } }, "registryFile"],
  ];
  for (const [stepwise, setting] of settings) {
    const root = projectWith(t, stepwise);
    assert.throws(() => resolveSettings(root), { code: "USAGE", details: { setting, configFile: path.join(root, "package.json") } });
  }
});

test("every flag wins over its config setting, even one that is wrong: --db, --driver, --table, --schema", async (t) => {
  const root = projectWith(t, { database: "from-config.db", driver: "not-a-driver", tableName: "config_history" });
  // The config's driver overridden, its other settings read: the one it got wrong is not checked.
  const withConfig = await configuredRun(root, SQLITE_REGISTRY, ["--driver", "better-sqlite3", "up", "--json"]);
  assert.equal(jsonOutput<{ toVersion: number }>(withConfig).toVersion, 1);
  const configured = new Database(path.join(root, "from-config.db"), { readonly: true });
  assert.deepEqual(configured.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all(), ["config_history", "items"]);
  configured.close();
  // Every setting flagged: the flags' database and table.
  const flagged = path.join(root, "from-flag.db");
  const up = await configuredRun(root, SQLITE_REGISTRY, ["--db", flagged, "--driver", "better-sqlite3", "--table", "flag_history", "up", "--json"]);
  assert.equal(jsonOutput<{ toVersion: number }>(up).toVersion, 1);
  const db = new Database(flagged, { readonly: true });
  t.after(() => db.close());
  assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all(), ["flag_history", "items"]);
  // Without the flag, the config's driver is read, and refused naming the file.
  const refused = jsonError(await configuredRun(root, SQLITE_REGISTRY, ["--db", flagged, "status", "--json"]), 2);
  assert.deepEqual([refused.code, refused.driver], ["DRIVER_UNKNOWN", "not-a-driver"]);

  const database = await createTestDatabase();
  t.after(() => database.drop());
  const pgRoot = projectWith(t, { dialect: "postgres", driver: "pg", url: "${APP_PG_URL}", schema: "config_schema" });
  const pgUp = await configuredRun(pgRoot, PG_REGISTRY, ["--url", database.url, "--schema", "flag_schema", "up", "--json"], {});
  assert.equal(jsonOutput<{ toVersion: number }>(pgUp).toVersion, 1);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname IN ('flag_schema', 'config_schema') ORDER BY 1");
    assert.deepEqual(rows, [{ nspname: "flag_schema" }]);
  } finally {
    await client.end();
  }
});

test('a config "url" naming a SQLite file (file:, sqlite:) is the database of the SQLite drivers: the config wins over DATABASE_URL, never silently passed over for it', async (t) => {
  for (const url of ["file:a.db", "sqlite:a.db"]) {
    const root = projectWith(t, { url });
    const env = { DATABASE_URL: "b.db" };
    assert.equal(jsonOutput<{ toVersion: number }>(await configuredRun(root, SQLITE_REGISTRY, ["up", "--json"], env)).toVersion, 1, url);
    assert.equal(jsonOutput<{ database: string }>(await configuredRun(root, SQLITE_REGISTRY, ["status", "--json"], env)).database, path.join(root, "a.db"), url);
    assert.deepEqual(readdirSync(root).sort(), ["a.db", "package.json"], url);
  }
  // A "database" setting still wins over the url, and a flag over both.
  const both = projectWith(t, { database: "db.db", url: "file:a.db" });
  assert.equal(jsonOutput<{ database: string }>(await configuredRun(both, SQLITE_REGISTRY, ["status", "--json"])).database, path.join(both, "db.db"));
  // A shape DATABASE_URL would be refused for is refused here too, naming the setting, not its text.
  const secret = projectWith(t, { url: "sqlite:user@host/app.db" });
  const refused = jsonError(await configuredRun(secret, SQLITE_REGISTRY, ["up", "--json"], { DATABASE_URL: "b.db" }), 2);
  assert.deepEqual([refused.code, refused.problem, refused.path], ["DATABASE_PATH_INVALID", "unsupported-url", "the url setting (a URL with credentials or a host)"]);
  assert.deepEqual(readdirSync(secret), ["package.json"]);
});

test("a DATABASE_URL the path check refuses is named as DATABASE_URL, never as a setting the project does not have", async (t) => {
  // A sqlite: URL wrapping a server's URL passes DATABASE_URL's own check and meets the path check, which names where the path came from.
  for (const stepwise of [{}, { url: "${UNSET_URL}" }]) {
    const root = projectWith(t, stepwise);
    const refused = jsonError(await configuredRun(root, SQLITE_REGISTRY, ["status", "--json"], { DATABASE_URL: "sqlite:postgres://h/db" }), 2);
    assert.deepEqual([refused.code, refused.problem, String(refused.path).split(" (")[0]], ["DATABASE_PATH_INVALID", "unsupported-url", "DATABASE_URL"], JSON.stringify(stepwise));
    assert.deepEqual(readdirSync(root), ["package.json"]);
  }
});

test('a config "url" naming a SQLite file by a relative path (a plain path too) is relative to the project root, as "database" is: run from a subfolder, the SQLite drivers and libsql-client open the same file', async (t) => {
  for (const url of ["file:data/a.db", "sqlite:data/a.db", "sqlite://data/a.db", "data/a.db"]) {
    const root = projectWith(t, { url });
    const sub = path.join(root, "sub");
    mkdirSync(sub);
    const run = (args: readonly string[]) => runInProcess({ migrations: SQLITE_REGISTRY, cwd: sub, ...runtimeConfig(root, {}), drivers: ALL_DRIVER_LOADERS }, args, {});
    mkdirSync(path.join(root, "data"));
    assert.equal(jsonOutput<{ toVersion: number }>(await run(["up", "--json"])).toVersion, 1, url);
    assert.equal(jsonOutput<{ database: string }>(await run(["status", "--json"])).database, path.join(root, "data", "a.db"), url);
    if (!url.startsWith("file:")) continue;
    const viaClient = jsonOutput<{ currentVersion: number; database: string }>(await run(["--driver", "libsql-client", "status", "--json"]));
    assert.deepEqual([viaClient.currentVersion, viaClient.database], [1, path.join(root, "data", "a.db")], url);
    assert.deepEqual(readdirSync(sub), [], url);
  }
});

test("a config \"url\" of a libSQL server picks no driver (only --url's does): create's template and gen --check's replay cannot tell it from the config, so the runtime keeps the SQLite default with them", async (t) => {
  for (const url of ["libsql://db.example", "http://127.0.0.1:1"]) {
    const root = projectWith(t, { url });
    assert.equal(jsonOutput<{ toVersion: number }>(await configuredRun(root, SQLITE_REGISTRY, ["up", "--json"], { DATABASE_URL: "app.db" })).toVersion, 1, url);
    assert.ok(existsSync(path.join(root, "app.db")), url);
  }
});

test('a config "url" naming an unset (or blank) variable leaves DATABASE_URL to name the database; with DATABASE_URL unset too, "No database given" names the variable', async (t) => {
  // A two-dialect app: PostgreSQL through ${PG_URL}, SQLite through DATABASE_URL.
  const root = projectWith(t, { url: "${PG_URL}" });
  assert.equal(jsonOutput<{ toVersion: number }>(await configuredRun(root, SQLITE_REGISTRY, ["up", "--json"], { DATABASE_URL: "app.db" })).toVersion, 1);
  assert.deepEqual(readdirSync(root).sort(), ["app.db", "package.json"]);
  for (const pgUrl of [undefined, "", "  "]) {
    // A blank variable stands for no database of its own, wherever it is read. No driver is named, so the SQLite default takes the url as not configured, as a named one does.
    for (const args of [
      ["up", "--json"],
      ["--driver", "better-sqlite3", "up", "--json"],
    ]) {
      const alone = jsonError(await configuredRun(root, SQLITE_REGISTRY, args, { PG_URL: pgUrl }), 2);
      const label = JSON.stringify([pgUrl, args]);
      assert.equal(alone.code, "USAGE", label);
      assert.match(alone.message, /^No database given: set PG_URL, which the url setting names \(a SQLite path, or a server's URL\); or pass --db <path>/, label);
      assert.match(String(alone.fix), /^set PG_URL, which the url setting names/, label);
      assert.deepEqual([alone.variable, alone.setting], ["PG_URL", "url"], label);
      const searched = alone.searched as { place: string; found: string }[];
      assert.deepEqual(searched.at(-2), { place: "the url setting", found: "names ${PG_URL}, and PG_URL is not set (or is blank)" }, label);
    }
    const pgRun = jsonError(await configuredRun(root, PG_REGISTRY, ["--driver", "pg", "status", "--json"], { PG_URL: pgUrl, DATABASE_URL: "postgres://app:Env-Pa55@127.0.0.1:1/other" }), 2);
    assert.deepEqual([pgRun.code, pgRun.variable], ["USAGE", "PG_URL"], JSON.stringify(pgUrl));
  }
  assert.deepEqual(readdirSync(root).sort(), ["app.db", "package.json"]);
});

test('a config "url" holding a "${" that starts no ${NAME} is USAGE naming it, never a file of that name created', async (t) => {
  for (const url of ["${DB_FILE", "data/${DB-FILE}.db", "${}"]) {
    const root = projectWith(t, { url });
    const refused = jsonError(await configuredRun(root, SQLITE_REGISTRY, ["up", "--json"], { DB_FILE: "data/app.db" }), 2);
    assert.equal(refused.code, "USAGE", url);
    assert.ok(refused.message.includes(JSON.stringify(url.slice(url.indexOf("${")).replace(/(\}).*$/, "$1"))), refused.message);
    assert.match(String(refused.fix), /^write the variable as \$\{NAME\}/, url);
    assert.deepEqual(readdirSync(root), ["package.json"], url);
  }
});

test("a registry of the other dialect is refused before the driver connects: the pg session is not opened for a SQLite registry, however pg was picked", async (t) => {
  const root = projectWith(t, {});
  // Nothing listens on port 1: a connection attempt would fail as DATABASE_UNUSABLE instead.
  const url = "postgres://app:Pa55@127.0.0.1:1/app";
  for (const args of [
    ["--url", url],
    ["--driver", "pg", "--url", url],
  ]) {
    for (const command of ["status", "up"]) {
      const refused = jsonError(await configuredRun(root, SQLITE_REGISTRY, [...args, command, "--json"]), 1);
      assert.deepEqual([refused.code, refused.driver, refused.registryDialect, refused.driverDialect], ["REGISTRY_DIALECT_MISMATCH", "pg", "sqlite", "postgres"], `${args.join(" ")} ${command}`);
    }
  }
  // And a PostgreSQL registry is refused before a SQLite file is opened, existing or not.
  const file = path.join(root, "app.db");
  new Database(file).close();
  const refused = jsonError(await configuredRun(root, PG_REGISTRY, ["--db", file, "status", "--json"]), 1);
  assert.deepEqual([refused.code, refused.driver, refused.registryDialect], ["REGISTRY_DIALECT_MISMATCH", "better-sqlite3", "postgres"]);
  assert.deepEqual(readdirSync(root).sort(), ["app.db", "package.json"]);
});

test("--dialect wins over the config's dialect, even one stepwise does not know", (t) => {
  const root = projectWith(t, { dialect: "mysql" });
  assert.equal(resolveSettings(root, { dialect: "sqlite" }).dialect, "sqlite");
  assert.throws(() => resolveSettings(root), { code: "USAGE" });
});

test("gen --check in CI with no database: the config's url naming an unset variable skips the replay, naming the variable, and passes", async (t) => {
  const project = createTestProject(t, { fixture: "dialect/postgres", packageJson: { stepwise: { dialect: "postgres", driver: "pg", url: "${DATABASE_URL}" } } });
  await project.generateAsBin();
  const check = await runCli(["gen", "--check"], { cwd: project.root, env: { DATABASE_URL: undefined } });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  // A skip is a REPLAY_SKIPPED warning naming the variable, never silent; --json says the same as data.
  assert.match(check.stderr, /REPLAY_SKIPPED.*\(no-server\).*\$\{DATABASE_URL\}, which is not set/);
  const json = await runCli(["gen", "--check", "--json"], { cwd: project.root, env: { DATABASE_URL: undefined } });
  assert.equal(json.code, 0, json.stdout + json.stderr);
  const replay = (JSON.parse(json.stdout) as { replay: { ran: boolean; code: string; reason: string } }).replay;
  assert.deepEqual([replay.ran, replay.code], [false, "no-server"]);
  assert.match(replay.reason, /\$\{DATABASE_URL\}, which is not set/);
  // The registry was only checked.
  assert.ok(readFileSync(project.registryFile, "utf8").length > 0);
});

interface JsonError {
  error: { code: string; name: string; message: string; searched: { place: string; found: string }[] };
}

async function statusJson(cwd: string, env: Record<string, string | undefined> = {}): Promise<JsonError> {
  const result = await runCli(["status", "--json"], { cwd, env: { DATABASE_URL: undefined, ...env } });
  assert.equal(result.code, 2, describeRun(result));
  return JSON.parse(result.stdout) as JsonError;
}

test("No database given lists --db, stepwise.config.json, package.json and DATABASE_URL with what each held, and creates nothing", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { migrationsDir: "db/migrations" } } });
  const before = readdirSync(project.root).sort();
  const { error } = await statusJson(project.root);
  assert.equal(error.code, "USAGE");
  assert.equal(error.name, "StepwiseError");
  assert.deepEqual(error.searched, [
    { place: "--db", found: "not given" },
    { place: path.join(project.root, "stepwise.config.json"), found: "not found" },
    { place: path.join(project.root, "package.json"), found: 'its "stepwise" key sets "migrationsDir", but no "database"' },
    { place: "DATABASE_URL", found: "not set" },
  ]);
  // The text says the same as the fields, a line each.
  for (const lookup of error.searched) assert.ok(error.message.includes(`${lookup.place}: ${lookup.found}`), error.message);
  assert.deepEqual(readdirSync(project.root).sort(), before);
});

test("No database given names a config file stepwise does not read, and a config file without the database", async (t) => {
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ tableName: "migrations_log" }));
  writeFileSync(path.join(project.root, "stepwise.config.ts"), 'export default { database: "data/app.db" };\n');
  writeFileSync(path.join(project.root, ".stepwiserc"), "{}");
  const { error } = await statusJson(project.root, { DATABASE_URL: "  " });
  const found = Object.fromEntries(error.searched.map((lookup) => [lookup.place, lookup.found]));
  assert.equal(found[path.join(project.root, "stepwise.config.json")], 'the file sets "tableName", but no "database"');
  assert.equal(found[path.join(project.root, "package.json")], 'no "stepwise" key');
  assert.match(found[path.join(project.root, "stepwise.config.ts")]!, /^exists, but is not read/);
  assert.match(found[path.join(project.root, ".stepwiserc")]!, /^exists, but is not read/);
  assert.equal(found.DATABASE_URL, "blank");
  assert.ok(!existsSync(path.join(project.root, "data")));
});

test("No database given with a config url naming a libSQL or PostgreSQL server names the driver that opens it, and that driver then runs", async (t) => {
  // No driver named: a libSQL server's url does not pick libsql-client (create's template and gen --check's replay could not tell), so better-sqlite3 finds no file.
  const libsql = createTestProject(t, { packageJson: { stepwise: { url: "http://127.0.0.1:1" } } });
  const { error } = (await statusJson(libsql.root)) as JsonError & { error: { urlDriver?: string } };
  assert.deepEqual([error.code, error.urlDriver], ["USAGE", "libsql-client"]);
  // A postgres:// url picks pg unless "database" is set; with a SQLite driver named, the same error names pg.
  const named = createTestProject(t, { packageJson: { stepwise: { driver: "better-sqlite3", url: "${APP_URL}" } } });
  const pgError = (await statusJson(named.root, { APP_URL: "postgres://app@127.0.0.1:1/app" })) as JsonError & { error: { urlDriver?: string } };
  assert.equal(pgError.error.urlDriver, "pg");
  // A url naming a SQLite file is the database; one naming an unset variable is not configured: neither has a driver to name.
  const unset = createTestProject(t, { packageJson: { stepwise: { url: "${APP_URL}" } } });
  assert.equal(((await statusJson(unset.root)) as JsonError & { error: { urlDriver?: string } }).error.urlDriver, undefined);
  // The named driver is the way out: it takes the url (and fails on it as that driver does, not for want of a database).
  libsql.writeMigration("001_first.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n");
  await libsql.generate();
  const followed = await runCli(["--driver", "libsql-client", "status", "--json"], { cwd: libsql.root, env: { DATABASE_URL: undefined } });
  assert.equal((JSON.parse(followed.stdout) as JsonError).error.code, "DATABASE_UNUSABLE", describeRun(followed));
});

test("--schema or --lock-timeout with DATABASE_URL naming a PostgreSQL server and no driver named: the refusal's fix names --driver pg, and following it works", async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const root = projectWith(t, { dialect: "postgres" });
  for (const flag of [
    ["--schema", "app"],
    ["--lock-timeout", "5000"],
  ]) {
    // DATABASE_URL picks no driver (it may be a SQLite path), so better-sqlite3 refuses the PostgreSQL-only flag.
    const refused = jsonError(await configuredRun(root, PG_REGISTRY, ["status", ...flag, "--json"], { DATABASE_URL: database.url }), 2);
    assert.equal(refused.code, "USAGE");
    assert.match(String(refused.fix), /--driver pg/);
    const followed = await configuredRun(root, PG_REGISTRY, ["--driver", "pg", "status", ...flag, "--json"], { DATABASE_URL: database.url });
    assert.equal(jsonOutput<{ currentVersion: number }>(followed).currentVersion, 0);
    // An app's own CLI that does not offer pg does not send its user there.
    const sqliteOnly = jsonError(
      await runInProcess({ migrations: SQLITE_REGISTRY, cwd: root, drivers: { "better-sqlite3": ALL_DRIVER_LOADERS["better-sqlite3"] } }, ["--db", "app.db", "status", ...flag, "--json"]),
      2,
    );
    assert.equal(sqliteOnly.code, "USAGE");
    assert.doesNotMatch(String(sqliteOnly.fix), /--driver pg/);
  }
});

test("No database given from a folder with no package.json above it says which folder was taken as the project root", async (t) => {
  // A folder of the system temp folder, outside any project.
  const lonely = makeTempDir(t, "stepwise-lonely-");
  const { error } = await statusJson(lonely);
  const packageLookup = error.searched.find((lookup) => lookup.place === path.join(lonely, "package.json"));
  assert.match(packageLookup?.found ?? "", /^not found \(no package\.json at or above the working folder/);
});

test("a database named in the config is used: the message's advice works", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "data/app.db" } } });
  project.writeMigration("001_first.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n");
  await project.generate();
  const up = await runCli(["up"], { cwd: project.root, env: { DATABASE_URL: undefined } });
  assert.equal(up.code, 0, describeRun(up));
  assert.ok(existsSync(path.join(project.root, "data", "app.db")));
});

test("an embedded CLI with no database setting lists --db, the app's setting and DATABASE_URL, and never reads a config file", async () => {
  const run = async (database: (() => string | null) | undefined) => {
    let stdout = "";
    const cli = createCli({ migrations: [], database, io: { stdout: (text) => (stdout += text), stderr: () => {}, env: {}, isTTY: false } });
    const code = await cli.run(["status", "--json"]);
    assert.equal(code, 2, stdout);
    return (JSON.parse(stdout) as JsonError).error;
  };
  const without = await run(undefined);
  assert.equal(without.name, "StepwiseError");
  assert.deepEqual(without.searched, [
    { place: "--db", found: "not given" },
    { place: "DATABASE_URL", found: "not set" },
  ]);
  assert.doesNotMatch(without.message, /stepwise config|package\.json/);
  const fromApp = await run(() => null);
  assert.deepEqual(
    fromApp.searched.map((lookup) => lookup.place),
    ["--db", "the app's database setting", "DATABASE_URL"],
  );
});

/** An embedded CLI on `props` whose output is collected; `run` returns the exit code with what it printed. */
function embedded(props: Partial<CreateCliProps>) {
  const out = { stdout: "", stderr: "" };
  const cli = createCli({ migrations: SQLITE_REGISTRY, ...props, io: { stdout: (text) => void (out.stdout += text), stderr: (text) => void (out.stderr += text), env: {}, isTTY: false } });
  return { out, run: async (args: unknown) => ({ code: await cli.run(args as string[]), ...out }) };
}

test("createCli refuses a prop it does not take (with the one meant) and a value of the wrong kind: USAGE naming the option, when the CLI is built", () => {
  const refusal = (props: object) => caught(() => createCli({ migrations: SQLITE_REGISTRY, ...props }));
  const misspelt = refusal({ databse: "x.db" });
  assert.deepEqual([misspelt.code, misspelt.option], ["USAGE", "databse"]);
  assert.match(String(misspelt.message), /did you mean "database"/);
  for (const [option, value] of [
    ["database", 5],
    ["busyTimeoutMs", "5"],
    ["migrations", 5],
    ["extend", true],
    ["signal", "stop"],
  ] as const) {
    const wrong = refusal({ [option]: value });
    assert.deepEqual([wrong.code, wrong.option], ["USAGE", option]);
  }
});

test("an embedded CLI reports what the app's own functions do wrong as the app's error, never as a bug of stepwise's to report", async (t) => {
  const cwd = makeTempDir(t);
  const up = async (props: Partial<CreateCliProps>) => {
    const run = await embedded({ cwd, database: "app.db", ...props }).run(["up", "--json"]);
    assert.doesNotMatch(run.stderr, /please report/);
    return { code: run.code, error: (JSON.parse(run.stdout) as { error: Record<string, unknown> }).error };
  };
  const notRegistry = await up({ migrations: async () => 5 as never });
  assert.deepEqual([notRegistry.code, notRegistry.error.code, notRegistry.error.option], [2, "USAGE", "migrations"]);
  const loaderThrew = await up({ migrations: () => Promise.reject(new Error("no registry")) });
  assert.deepEqual([loaderThrew.code, loaderThrew.error.code], [1, "REGISTRY_LOAD_FAILED"]);
  const settingThrew = await up({
    database: () => {
      throw new Error("vault down");
    },
  });
  assert.deepEqual([settingThrew.code, settingThrew.error.code, settingThrew.error.setting], [2, "USAGE", "database"]);
});

test("an embedded CLI's run resolves USAGE (exit 2) for arguments that are no array of strings, and for a run while another of the same CLI runs, which keeps its own output", async (t) => {
  const cwd = makeTempDir(t);
  const { out, run } = embedded({ cwd, database: "app.db" });
  for (const args of [[1, 2], "status", undefined]) {
    const refused = await run(args);
    assert.equal(refused.code, 2, String(args));
    assert.match(refused.stderr, /^error \[USAGE\]: run takes the command line as an array of strings/m);
  }
  out.stderr = "";
  const [first, second] = await Promise.all([run(["up"]), run(["status", "--json"])]);
  assert.deepEqual([first.code, second.code], [0, 2]);
  assert.match(out.stdout, /↑ 001/);
  assert.match(out.stderr, /^error \[USAGE\]: This CLI is already running a command/m);
  assert.equal((await run(["status", "--json"])).code, 0);
});

/** The runtime CLI in this process, on an empty registry, with every driver the bin offers. */
function cliIn(dir: string) {
  let stdout = "";
  const cli = createCli({
    migrations: [],
    database: path.join(dir, "default.db"),
    cwd: dir,
    drivers: ALL_DRIVER_LOADERS,
    io: { stdout: (text) => void (stdout += text), stderr: () => {}, env: {}, isTTY: false },
  });
  return {
    async run(args: readonly string[]) {
      stdout = "";
      const code = await cli.run([...args, "--json"]);
      return { code, stdout };
    },
  };
}

const TWICE: ReadonlyArray<{ args: readonly string[]; values: readonly [string, string] }> = [
  { args: ["--db", "a.db", "--db", "b.db", "status"], values: ["a.db", "b.db"] },
  { args: ["--db", "a.db", "status", "--db", "b.db"], values: ["a.db", "b.db"] },
  { args: ["--table", "history_one", "--table", "history_two", "status"], values: ["history_one", "history_two"] },
  { args: ["--busy-timeout", "10", "--busy-timeout", "20", "status"], values: ["10", "20"] },
  { args: ["--driver", "sql-js", "--driver", "libsql", "up"], values: ["sql-js", "libsql"] },
  { args: ["up", "--to", "1", "--to", "2"], values: ["1", "2"] },
  { args: ["up", "--backup", "one", "--backup", "two"], values: ["one", "two"] },
  { args: ["up", "--backup", "--backup", "two"], values: ["true", "two"] },
  { args: ["up", "--backup", "one", "--backup"], values: ["one", "the default"] },
  { args: ["up", "--backup", "--keep-backups", "1", "--keep-backups", "2"], values: ["1", "2"] },
  { args: ["down", "--steps", "1", "--steps", "2"], values: ["1", "2"] },
  { args: ["down", "--to", "0", "--to", "1"], values: ["0", "1"] },
  { args: ["repair", "--applied", "1", "--applied", "2", "--yes"], values: ["1", "2"] },
  { args: ["repair", "--forget", "1", "--forget", "2", "--yes"], values: ["1", "2"] },
];

test("every single-valued runtime option given twice with different values is USAGE (exit 2) naming both, and nothing is created", async (t) => {
  const dir = makeTempDir(t);
  const cli = cliIn(dir);
  for (const { args, values } of TWICE) {
    const { code, stdout } = await cli.run(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stdout}`);
    const { error } = JSON.parse(stdout) as { error: { code: string; message: string } };
    assert.equal(error.code, "USAGE", args.join(" "));
    const named = /given twice with different values \((.+) and (.+)\)/.exec(error.message);
    assert.deepEqual(
      named?.slice(1).map((value) => value.replaceAll('"', "")),
      values,
      `${args.join(" ")}: ${error.message}`,
    );
    for (const file of ["a.db", "b.db", "default.db", "one", "two"]) assert.equal(existsSync(path.join(dir, file)), false, `${args.join(" ")} created ${file}`);
  }
});

test("the same value twice, or two spellings of one driver, is accepted", async (t) => {
  const dir = makeTempDir(t);
  const cli = cliIn(dir);
  for (const args of [
    ["--db", "a.db", "--db", "a.db", "status"],
    ["--driver", "sql.js", "--driver", "sql-js", "status"],
    ["--table", "h", "--table", "h", "status"],
    ["--busy-timeout", "5", "--busy-timeout", "5", "status"],
  ]) {
    const { code, stdout } = await cli.run(args);
    assert.equal(code, 0, `${args.join(" ")}: ${stdout}`);
  }
});

test("the codegen commands refuse an option given twice with different values (USAGE, exit 2), writing nothing", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  for (const args of [
    ["gen", "--dir", "migrations", "--dir", "other"],
    ["gen", "--out", "a.ts", "--out", "b.ts"],
    ["create", "x", "--dir", "migrations", "--dir", "other"],
    ["import", "dbmate", "migrations", "--empty-down", "no-op", "--empty-down", "irreversible"],
    ["import", "umzug", "migrations", "--glob", "*.js", "--glob", "*.cjs"],
  ]) {
    const result = await runCli([...args, "--json"], { cwd: project.root });
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, "USAGE");
  }
  for (const file of ["generated", "other", "a.ts", "b.ts"]) assert.equal(existsSync(path.join(project.root, file)), false, `${file} was written`);
  // squash --yes deletes migrations 1..K: a script that appends a --to must not widen it silently.
  await project.generateAsBin();
  const squash = await runCli(["squash", "--to", "2", "--to", "3", "--yes", "--json"], { cwd: project.root });
  assert.deepEqual([squash.code, (JSON.parse(squash.stdout) as { error: { code: string } }).error.code], [2, "USAGE"], squash.stderr);
  assert.deepEqual(readdirSync(project.migrationsDir), ["001_create_log.sql", "002_add_items.sql", "003_bump_counter.ts"]);
});

test('a config "driver" is read case- and space-insensitively, stored by its canonical name; an unknown one is DRIVER_UNKNOWN naming the file', (t) => {
  const dir = makeTempDir(t);
  for (const [written, canonical] of [
    ["LibSQL", "libsql"],
    [" libsql ", "libsql"],
    ["SQL.JS", "sql-js"],
    ["Node:SQLite", "node-sqlite"],
  ] as const) {
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ stepwise: { driver: written } }));
    assert.equal(resolveSettings(dir).driver, canonical, written);
  }
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ stepwise: { driver: "lib sql" } }));
  assert.throws(
    () => resolveSettings(dir),
    (error: { code?: string; details?: { source?: string } }) => error.code === "DRIVER_UNKNOWN" && String(error.details?.source).includes("package.json"),
  );
});
