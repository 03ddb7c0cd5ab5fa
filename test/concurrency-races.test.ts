/**
 * Six processes run `up` on one fresh file at the same moment. Each must exit 0, and each migration's
 * side effect must happen exactly once. The interleavings between two connections that real processes
 * rarely hit are forced, on every driver.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import type { SyncMigrationManager } from "../src/core/manager.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { describeEachDriver, type DriverHarness } from "./support/driver-matrix.js";
import { describeForDriver } from "./support/single-driver.js";
import Database from "better-sqlite3";
import { MigrationManager } from "./support/stepwise.js";
import { createTestProject, repoRoot, runNode } from "./support/project.js";

const PROCESSES = 6;
const childScript = path.join(repoRoot, "test", "support", "migrate-child.ts");

// The child processes open the file with better-sqlite3 (support/migrate-child.ts).
await describeForDriver("better-sqlite3", "processes racing on one fresh file", () => {
  test("six processes migrating one fresh file at once all succeed and apply each migration once", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const file = project.databasePath();
    const barrier = path.join(project.root, "barrier");
    mkdirSync(barrier);
    assert.equal(existsSync(file), false);

    const children = Array.from({ length: PROCESSES }, (_, i) =>
      runNode(childScript, [project.registryFile, file, barrier, String(i)], { cwd: project.root, timeoutMs: 120_000 }),
    );
    // Release them together once all have loaded, so start-up time does not serialize them.
    const releaseWhenReady = (async () => {
      const deadline = Date.now() + 90_000;
      while (readdirSync(barrier).filter((name) => name.startsWith("ready-")).length < PROCESSES && Date.now() < deadline) {
        await sleep(10);
      }
      writeFileSync(path.join(barrier, "go"), "");
    })();
    const results = await Promise.all(children);
    await releaseWhenReady;

    const applied: number[] = [];
    for (const result of results) {
      assert.equal(result.code, 0, `a child failed:\n${result.stderr}`);
      applied.push(...(JSON.parse(result.stdout) as number[]));
    }
    assert.deepEqual(applied.sort(), [1, 2, 3], "each migration must be applied by exactly one process");

    const db = new Database(file, { readonly: true });
    t.after(() => db.close());
    assert.deepEqual(db.prepare("SELECT version FROM side_effects ORDER BY version").pluck().all(), [1, 2, 3]);
    assert.equal(db.prepare("SELECT count(*) FROM counter").pluck().get(), 1);
    assert.equal(db.prepare("SELECT count(*) FROM items").pluck().get(), 3 + 2_000);
    const manager = new MigrationManager(db, migrations);
    assert.deepEqual(manager.history().map((row) => [row.version, row.state]), [[1, "applied"], [2, "applied"], [3, "applied"]]);
    assert.equal(manager.status().problem, null);
    assert.equal(db.pragma("user_version", { simple: true }), 3);
  });
});

/**
 * Runs `action` once, just before `manager` first asks for the write lock: the moment after a process
 * has read its plan and before it holds the lock, which is where another process's commit can land.
 * Anchored on the driver seam's boundary (`begin("immediate")`), not on how the manager reads its state.
 */
function interleaveBeforeFirstWriteLock(manager: SyncMigrationManager<unknown, MigrationRegistry>, action: () => void): () => boolean {
  let fired = false;
  const driver = manager.driver;
  const begin = driver.begin.bind(driver);
  driver.begin = (mode) => {
    if (mode === "immediate" && !fired) {
      fired = true;
      action();
    }
    return begin(mode);
  };
  return () => fired;
}

/** Two connections to one fresh file of the side-effects fixture: one that locks late, one early. */
async function openTwoConnections(t: Parameters<typeof createTestProject>[0], h: DriverHarness) {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const migrations = await project.load();
  const late = await h.open(project.databasePath());
  const early = await h.open(project.databasePath());
  t.after(() => {
    late.close();
    early.close();
  });
  return { migrations, late, early };
}

/** The interleavings below are rare between real processes, so they are forced. */
await describeEachDriver("two connections whose plans race", (h) => {
  test("a process that planned before another committed re-plans instead of applying twice", async (t) => {
    // Two connections sharing one file; sql.js has none to share (no fileLocking).
    if (h.lacks(t, "fileLocking")) return;
    const { migrations, late, early } = await openTwoConnections(t, h);

    // `late` reads its plan, then `early` applies everything before `late` takes the write lock.
    const manager = late.manager(migrations);
    const interleaved = interleaveBeforeFirstWriteLock(manager, () => early.manager(migrations).up());

    const result = manager.up();
    assert.ok(interleaved());
    assert.deepEqual(result.steps, []);
    assert.deepEqual(late.rows("SELECT version FROM side_effects ORDER BY version").map((row) => row.version), [1, 2, 3]);
  });

  test("a process that sees another's first migration land before it locks does not call the database unmanaged", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    const { migrations, late, early } = await openTwoConnections(t, h);

    // `late` planned on an empty file; by the time it locks, `early` has made tables and a history.
    const manager = late.manager(migrations);
    const interleaved = interleaveBeforeFirstWriteLock(manager, () => early.manager(migrations).up({ to: 1 }));

    const result = manager.up();
    assert.ok(interleaved());
    assert.deepEqual(result.steps.map((step) => step.version), [2, 3]);
    assert.deepEqual(late.rows("SELECT version FROM side_effects ORDER BY version").map((row) => row.version), [1, 2, 3]);
  });
});
