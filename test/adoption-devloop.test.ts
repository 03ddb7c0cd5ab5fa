/**
 * Issue 13, items 1, 2 and 6, through the real bin of a fresh app installed from the packed tarball:
 * the traps as a new user meets them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { spawn } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createFreshApp, type FreshApp } from "./support/fresh-app.js";
import { describeRun } from "./support/packed-app.js";
import { collectOutput } from "./support/project.js";

const TIMEOUT = { timeout: 600_000 };

async function appWithItems(t: { after(fn: () => void): void }): Promise<FreshApp> {
  const app = await createFreshApp(t);
  app.write("migrations/001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT);\n-- migrate:down\nDROP TABLE items;\n");
  const gen = await app.stepwise(["gen"]);
  assert.equal(gen.code, 0, describeRun(gen));
  const up = await app.stepwise(["up", "--db", "app.db"]);
  assert.equal(up.code, 0, describeRun(up));
  return app;
}

async function waitFor(condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(100);
  }
}

function staleError(run: { code: number | null; stdout: string }): { code: string; changes: Array<{ file: string; change: string }> } {
  assert.equal(run.code, 1, JSON.stringify(run));
  return (JSON.parse(run.stdout) as { error: { code: string; changes: Array<{ file: string; change: string }> } }).error;
}

test("13.1: create, edit, up without gen is refused (REGISTRY_STALE), as is a new SQL file at status; gen then applies the edited code with its own checksum", TIMEOUT, async (t) => {
  const app = await appWithItems(t);
  const created = await app.stepwise(["create", "add color", "--sql"]);
  assert.equal(created.code, 0, describeRun(created));
  const file = created.stdout.trim();
  app.write(file, "-- migrate:up\nALTER TABLE items ADD COLUMN color TEXT;\n-- migrate:down\nALTER TABLE items DROP COLUMN color;\n");

  const up = staleError(await app.stepwise(["up", "--db", "app.db", "--json"]));
  assert.equal(up.code, "REGISTRY_STALE");
  assert.deepEqual(up.changes, [{ file: "migrations/002_add_color.sql", change: "added" }]);
  const version = await app.stepwise(["version", "--db", "app.db"]);
  assert.equal(version.code, 1, describeRun(version));

  app.write("migrations/003_add_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag INTEGER;\n-- migrate:down\nALTER TABLE items DROP COLUMN flag;\n");
  const status = staleError(await app.stepwise(["status", "--db", "app.db", "--json"]));
  assert.deepEqual(status.changes, [
    { file: "migrations/002_add_color.sql", change: "added" },
    { file: "migrations/003_add_flag.sql", change: "added" },
  ]);

  assert.equal((await app.stepwise(["gen"])).code, 0);
  const applied = await app.stepwise(["up", "--db", "app.db"]);
  assert.equal(applied.code, 0, describeRun(applied));
  const after = await app.stepwise(["status", "--db", "app.db", "--json"]);
  assert.equal(after.code, 0, describeRun(after));
  const parsed = JSON.parse(after.stdout) as { currentVersion: number; problem: unknown };
  assert.deepEqual([parsed.currentVersion, parsed.problem], [3, null]);
  // down works too: the recorded checksum is the edited file's, so nothing reads as tampered with.
  const down = await app.stepwise(["down", "--to", "1", "--db", "app.db"]);
  assert.equal(down.code, 0, describeRun(down));
});

test("13.1: gen --watch in the fresh app keeps the registry current, and stops with exit 0 on SIGINT", TIMEOUT, async (t) => {
  const app = await appWithItems(t);
  const child = spawn(process.execPath, [path.join(app.dir, "node_modules", "stepwise-migrate", "dist", "codegen", "bin.js"), "gen", "--watch"], { cwd: app.dir, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let seen = "";
  child.stderr.on("data", (chunk: Buffer) => (seen += chunk.toString()));
  const done = collectOutput(child, 300_000);
  await waitFor(() => seen.includes("Watching migrations for changes"));
  app.write("migrations/002_add_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag INTEGER;\n");
  await waitFor(() => app.read("generated/registry.ts").includes("002_add_flag.sql"));
  child.kill("SIGINT");
  const result = await done;
  assert.equal(result.code, 0, describeRun(result));
  assert.match(result.stdout, /Wrote generated\/registry\.ts \(2 migrations/);
  const status = await app.stepwise(["status", "--db", "app.db", "--json"]);
  assert.equal((JSON.parse(status.stdout) as { pendingCount: number }).pendingCount, 1, describeRun(status));
});

test("13.2: an unedited template of either kind fails gen with TEMPLATE_UNEDITED and is never applied", TIMEOUT, async (t) => {
  const app = await appWithItems(t);
  const registry = app.read("generated/registry.ts");
  for (const args of [
    ["create", "add color", "--sql"],
    ["create", "seed colors"],
  ]) {
    const created = await app.stepwise(args);
    assert.equal(created.code, 0, describeRun(created));
    assert.match(created.stderr, /stepwise gen/);
  }
  assert.equal(app.read("generated/registry.ts"), registry, "create rewrote the registry");
  const gen = await app.stepwise(["gen"]);
  assert.equal(gen.code, 1, describeRun(gen));
  const problems = gen.stderr.split("\n").filter((line) => line.endsWith("[TEMPLATE_UNEDITED]"));
  assert.deepEqual(
    problems.map((line) => line.split(":")[0]),
    ["migrations/002_add_color.sql", "migrations/002_add_color.sql", "migrations/003_seed_colors.ts", "migrations/003_seed_colors.ts"],
  );
  assert.equal(app.read("generated/registry.ts"), registry, "a failed gen changed the registry");
  const up = await app.stepwise(["up", "--db", "app.db"]);
  assert.equal(up.code, 1, describeRun(up));
  assert.match(up.stderr, /\[REGISTRY_STALE\]/);
  const version = await app.stepwise(["version", "--db", "app.db"]);
  assert.match(version.stderr, /\[TEMPLATE_UNEDITED\]/);
});

test("13.6: -- migrate:empty <reason> is accepted, applied and recorded; an up of only comments or ';' is still SQL_EMPTY_UP", TIMEOUT, async (t) => {
  const app = await appWithItems(t);
  app.write("migrations/002_bigint_ids.sql", "-- migrate:up\n-- migrate:empty SQLite integers are already 64-bit\n-- migrate:down\n-- migrate:empty nothing to undo\n");
  const gen = await app.stepwise(["gen"]);
  assert.equal(gen.code, 0, describeRun(gen));
  const up = await app.stepwise(["up", "--db", "app.db"]);
  assert.equal(up.code, 0, describeRun(up));
  const history = await app.stepwise(["history", "--db", "app.db", "--json"]);
  assert.deepEqual(
    (JSON.parse(history.stdout) as Array<{ version: number }>).map((row) => row.version),
    [1, 2],
  );
  const status = await app.stepwise(["status", "--db", "app.db", "--json"]);
  const rows = (JSON.parse(status.stdout) as { migrations: Array<{ version: number; description: string | null; state: string }> }).migrations;
  assert.deepEqual(rows[1], { ...rows[1], version: 2, description: "SQLite integers are already 64-bit", state: "applied" });

  for (const body of ["-- nothing yet\n", ";\n"]) {
    app.write("migrations/003_accident.sql", `-- migrate:up\n${body}`);
    const refused = await app.stepwise(["gen"]);
    assert.equal(refused.code, 1, describeRun(refused));
    assert.match(refused.stderr, /^migrations\/003_accident\.sql:1:1: .*\[SQL_EMPTY_UP\]$/m);
  }
});
