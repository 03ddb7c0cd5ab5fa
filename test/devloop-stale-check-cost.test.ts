/**
 * The bin's stale-registry check is cheap when the gen cache vouches for the registry: a runtime
 * command then loads neither ts-morph (with TypeScript) nor prettier, which cost more than the
 * command itself; only a miss, which must scan, loads them. Proven on the real bin as a child process
 * whose module loader refuses to load either package: on a hit `status` and `up` succeed; the same
 * command after the cache is removed fails on the refused load, so the refusal is known to work.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { createTestProject, runCli, type RunResult, type TestProject } from "./support/project.js";

const CREATE_ITEMS = "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT);\n-- migrate:down\nDROP TABLE items;\n";
const ADD_ROW = [
  'import { defineMigration } from "stepwise-migrate";',
  "",
  "export default defineMigration({",
  "  up(db) {",
  "    db.exec(\"INSERT INTO items (label) VALUES ('one')\");",
  "  },",
  "});",
  "",
].join("\n");
/** The packages only a scan needs. */
const SCAN_PACKAGES = ["ts-morph", "@ts-morph/common", "typescript", "prettier"];

/**
 * Writes a module for `node --import` that makes loading any of {@link SCAN_PACKAGES} throw. The hook
 * is on load, not resolve: the bin resolves them (without loading) to tell whether they are installed.
 */
function writeLoadRefusal(project: TestProject): string {
  const hooks = path.join(project.root, "refuse-scan-packages-hooks.mjs");
  writeFileSync(
    hooks,
    [
      `const packages = ${JSON.stringify(SCAN_PACKAGES)};`,
      "export async function load(url, context, nextLoad) {",
      "  const hit = packages.find((name) => url.includes(`/node_modules/${name}/`));",
      "  if (hit) throw new Error(`SCAN_PACKAGE_LOADED: ${hit} (${url})`);",
      "  return nextLoad(url, context);",
      "}",
      "",
    ].join("\n"),
  );
  const register = path.join(project.root, "refuse-scan-packages.mjs");
  writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return register;
}

function ok(result: RunResult): RunResult {
  assert.equal(result.code, 0, `exit ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

test("on a gen-cache hit, status and up load neither ts-morph nor prettier; after the cache is gone the check scans and loads them", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
  project.writeMigration("001_create_items.sql", CREATE_ITEMS);
  project.writeMigration("002_add_row.ts", ADD_ROW);
  ok(await runCli(["gen"], { cwd: project.root }));
  const refusal = writeLoadRefusal(project);
  const refusing = { cwd: project.root, env: { NODE_OPTIONS: `--import ${pathToFileURL(refusal).href}` } };

  assert.equal((JSON.parse(ok(await runCli(["status", "--json"], refusing)).stdout) as { currentVersion: number }).currentVersion, 0);
  assert.equal((JSON.parse(ok(await runCli(["up", "--json"], refusing)).stdout) as { toVersion: number }).toVersion, 2);
  assert.equal((JSON.parse(ok(await runCli(["status", "--json"], refusing)).stdout) as { currentVersion: number }).currentVersion, 2);

  // A miss has to scan: the refusal bites, so the runs above really did not load them.
  rmSync(path.join(project.root, "node_modules", ".cache"), { recursive: true, force: true });
  const scanned = await runCli(["status", "--json"], refusing);
  assert.notEqual(scanned.code, 0, scanned.stdout);
  assert.match(scanned.stdout + scanned.stderr, /SCAN_PACKAGE_LOADED/);
  // And without the refusal the same miss scans, passes, and records the hit again.
  ok(await runCli(["status", "--json"], { cwd: project.root }));
  ok(await runCli(["status", "--json"], refusing));
});
