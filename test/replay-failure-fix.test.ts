/**
 * adopt, baseline and verify run the migrations in a scratch database; a migration that fails there is fixed, then that command is run
 * again, never `up` on the database it checked. The fix names the command as commander parsed it: its operands (baseline's version)
 * wherever they sit among the options, and with the global options given before the command; under `fleet verify`, the fleet's verify.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { jsonError, jsonOutput, runInProcess } from "./support/in-process-cli.js";
import { makeTempDir } from "./support/project.js";
import { sqlEntry, tsEntry } from "./support/registry-builders.js";
import type { MigrationDefinition } from "../src/core/types.js";

test("baseline whose replay fails names baseline with its version to run again, whatever the order of its options", async (t) => {
  const cwd = makeTempDir(t);
  const file = path.join(cwd, "app.db");
  const db = new Database(file);
  db.exec("CREATE TABLE t (id INTEGER)");
  db.close();
  const migrations = [sqlEntry(1, "CREATE TABLE t (id INTEGER); INSERT INTO no_such_table VALUES (1);")];
  for (const args of [
    ["baseline", "1", "--db", "app.db", "--json"],
    ["baseline", "--json", "1", "--db", "app.db"],
    ["baseline", "--force", "1", "--db", "app.db", "--json"],
    ["--db", "app.db", "baseline", "1", "--json"],
  ]) {
    const error = jsonError(await runInProcess({ migrations, cwd }, args));
    assert.deepEqual([error.code, error.version, error.rolledBack, error.replayed], ["MIGRATION_FAILED", 1, true, true], args.join(" "));
    // The options typed (--force here) are repeated with it, as the run needs them again.
    const again = args.includes("--force") ? '"stepwise baseline 1 --force --db app.db" again' : '"stepwise baseline 1 --db app.db" again';
    assert.ok(String(error.fix).includes(again), `${args.join(" ")}: ${String(error.fix)}`);
    assert.doesNotMatch(String(error.fix), /stepwise up/);
  }
});

test("verify and fleet verify whose replay fails name verify to run again, not up", async (t) => {
  const cwd = makeTempDir(t);
  let replayFails = false;
  const flaky = tsEntry(2, {
    up(connection) {
      if (replayFails) throw new Error("fails in the replay");
      connection.exec("CREATE TABLE u (id INTEGER)");
    },
  } as MigrationDefinition);
  const migrations = [sqlEntry(1, "CREATE TABLE t (id INTEGER);"), flaky];
  assert.equal((await runInProcess({ migrations, cwd }, ["up", "--db", "a.db"])).code, 0);
  replayFails = true;
  const verify = jsonError(await runInProcess({ migrations, cwd }, ["verify", "--db", "a.db", "--json"]));
  assert.deepEqual([verify.code, verify.version, verify.replayed], ["MIGRATION_FAILED", 2, true]);
  assert.ok(String(verify.fix).includes('"stepwise verify --db a.db" again'), String(verify.fix));
  const fleet = jsonOutput<{ targets: { error: { code: string; fix: string } | null }[] }>(await runInProcess({ migrations, cwd }, ["fleet", "verify", "--db", "*.db", "--json"]), 1);
  assert.equal(fleet.targets[0]!.error?.code, "MIGRATION_FAILED");
  assert.ok(fleet.targets[0]!.error!.fix.includes(`"stepwise fleet verify --db '*.db'"`), fleet.targets[0]!.error!.fix);
  assert.doesNotMatch(fleet.targets[0]!.error!.fix, /stepwise fleet up/);
});
