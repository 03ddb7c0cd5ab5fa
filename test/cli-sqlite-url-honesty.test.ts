/**
 * The CLI opens the SQLite file a URL names, read-write, and ends with its command: a URL's query
 * (`?mode=ro`, `?mode=memory`) it would ignore, and an in-memory database it would report on and then
 * lose, are refused (USAGE with a `fix`) before anything is opened or created.
 */
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runtimeConfig } from "../codegen/config.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { jsonError, runInProcess } from "./support/in-process-cli.js";
import { makeTempDir } from "./support/project.js";
import { sqlEntry } from "./support/registry-builders.js";

const REGISTRY: MigrationRegistry = [sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY)")];

/** A project whose package.json sets `stepwise`, run in-process with the bin's settings. */
function project(t: Parameters<typeof makeTempDir>[0], stepwise: object = {}) {
  const root = makeTempDir(t);
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "app", private: true, stepwise }));
  const run = (args: readonly string[], env: Record<string, string | undefined> = {}) =>
    runInProcess({ migrations: REGISTRY, cwd: root, ...runtimeConfig(root, env), drivers: ALL_DRIVER_LOADERS }, args, env);
  return { root, run };
}

test("a SQLite URL's query or fragment is refused, naming the parameters (never their values) and the fix, and nothing is created", async (t) => {
  const { root, run } = project(t);
  const cases: [Record<string, string>, string[], string][] = [
    [{ DATABASE_URL: "file:data/r.db?mode=ro" }, ["up", "--json"], "(mode)"],
    [{ DATABASE_URL: "file:data/m.db?mode=memory" }, ["up", "--json"], "(mode)"],
    [{ DATABASE_URL: "sqlite:data/s.db?cache=shared&key=Secret-Key-1" }, ["status", "--json"], "(cache, key)"],
    [{ DATABASE_URL: "file:data/f.db#part" }, ["up", "--json"], "a fragment"],
    [{ DATABASE_URL: "file:data/t.db?Bare-Token-2&auth%54oken=x" }, ["up", "--json"], "(a parameter, a parameter)"],
    [{}, ["--driver", "libsql-client", "--url", "file:data/c.db?mode=ro", "up", "--json"], "(mode)"],
  ];
  for (const [env, args, named] of cases) {
    const refused = jsonError(await run(args, env), 2);
    const label = JSON.stringify([env, args]);
    assert.equal(refused.code, "USAGE", label);
    assert.ok(refused.message.includes(named) && !/Secret-Key-1|Bare-Token-2/.test(refused.message), refused.message);
    assert.match(String(refused.fix), /remove everything from the \? or #/, label);
  }
  const configured = project(t, { url: "file:data/app.db?mode=ro" });
  const fromConfig = jsonError(await configured.run(["up", "--json"]), 2);
  assert.match(fromConfig.message, /^the url setting is a SQLite URL with query parameters \(mode\)/);
  assert.deepEqual(readdirSync(root), ["package.json"]);
  assert.deepEqual(readdirSync(configured.root), ["package.json"]);
});

test("an in-memory database is refused for every command (up, reset, status), however it is named, rather than reported on and lost", async (t) => {
  const { root, run } = project(t);
  const cases: [Record<string, string>, string[]][] = [
    [{}, ["--db", ":memory:", "up", "--json"]],
    [{}, ["--db", ":memory:", "reset", "--yes", "--json"]],
    [{}, ["--db", ":memory:", "status", "--json"]],
    [{ DATABASE_URL: "sqlite::memory:" }, ["up", "--json"]],
    [{ DATABASE_URL: "file::memory:" }, ["up", "--json"]],
    [{ DATABASE_URL: ":memory:" }, ["history", "--json"]],
  ];
  for (const [env, args] of cases) {
    const refused = jsonError(await run(args, env), 2);
    const label = JSON.stringify([env, args]);
    assert.equal(refused.code, "USAGE", label);
    assert.match(refused.message, /in-memory database \(:memory:\), which keeps nothing/, label);
    assert.match(String(refused.fix), /^pass --db <path> naming a database file/, label);
  }
  const configured = project(t, { database: ":memory:" });
  assert.match(jsonError(await configured.run(["up", "--json"]), 2).message, /^the database setting names an in-memory database/);
  assert.deepEqual(readdirSync(root), ["package.json"]);
});
