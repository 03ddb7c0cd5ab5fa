/**
 * A flag always wins over the config, and a config setting that cannot be resolved now (an unset
 * `${NAME}` in its `url`, a value only a flag it is overridden by would have replaced) is "not
 * configured" rather than an error until a command needs it: then the error names the variable and
 * the config file. The bin's settings are read by `runtimeConfig` (codegen/runtime-config.ts), which
 * these tests hand to the in-process CLI, as the bin does; `gen --check` runs through the bin itself,
 * since it is the bin's own command.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { resolveSettings } from "../codegen/config.js";
import { runtimeConfig } from "../codegen/runtime-config.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { jsonError, jsonOutput, runInProcess } from "./support/in-process-cli.js";
import { createTestProject, makeTempDir, runCli } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { sqlEntry } from "./support/registry-builders.js";

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
