/**
 * The bin as `npm run gen` runs it (codegen/bin.ts through tsx) and as the other tests start it (the
 * compiled mirror of test/support/compiled-bin.ts, with plain node) behave the same: the version, the
 * help, the registry bytes, the gen cache's toolchain fingerprint (which hashes stepwise's own
 * sources, found relative to the running file), the state a run leaves, and where a failed migration
 * is located. Should the mirror find anything relative to itself that the sources find elsewhere,
 * these fail, rather than the rest of the suite quietly testing another program.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { compiledBinPath } from "./support/compiled-bin.js";
import { createTestProject, repoRoot, runCli, type RunResult, type TestProject } from "./support/project.js";

const stepwiseVersion = (JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string }).version;
const CREATE_T = "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT);\n-- migrate:down\nDROP TABLE t;\n";
const ADD_ROW = [
  'import { defineMigration } from "stepwise-migrate";',
  "",
  "export default defineMigration({",
  '  description: "One row",',
  "  up(db) {",
  "    db.exec(\"INSERT INTO t (note) VALUES ('one')\");",
  "  },",
  "  down(db) {",
  '    db.exec("DELETE FROM t");',
  "  },",
  "});",
  "",
].join("\n");
/** Line 5 throws. */
const THROWS_AT_LINE_5 = ['import { defineMigration } from "stepwise-migrate";', "", "export default defineMigration({", "  up() {", '    throw new Error("gave up");', "  },", "});", ""].join("\n");

function ok(result: RunResult): RunResult {
  assert.equal(result.code, 0, `exit ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** The gen cache's entries in a project: file name to the fingerprint it records. */
function genCacheFingerprints(project: TestProject): Record<string, string> {
  const dir = path.join(project.root, "node_modules", ".cache", "stepwise");
  return Object.fromEntries(readdirSync(dir).map((name) => [name, (JSON.parse(readFileSync(path.join(dir, name), "utf8")) as { fingerprint: string }).fingerprint]));
}

test("the compiled bin is a mirror of codegen/bin.ts, not the source itself", () => {
  const compiled = compiledBinPath();
  assert.match(compiled, /node_modules\/\.cache\/stepwise-test-bin\/[0-9a-f]{16}\/codegen\/bin\.js$/);
  assert.doesNotMatch(readFileSync(compiled, "utf8"), /^import type /m, "the mirror still holds TypeScript");
});

test("--version and --help read the same through tsx and compiled, the version from stepwise's package.json", async (t) => {
  const project = createTestProject(t);
  for (const args of [["--version"], ["--help"], ["gen", "--help"], ["up", "--help"]]) {
    const [viaTsx, compiled] = await Promise.all([runCli(args, { cwd: project.root, bin: "tsx" }), runCli(args, { cwd: project.root, bin: "compiled" })]);
    ok(viaTsx);
    assert.deepEqual({ code: compiled.code, stdout: compiled.stdout, stderr: compiled.stderr }, { code: viaTsx.code, stdout: viaTsx.stdout, stderr: viaTsx.stderr }, args.join(" "));
  }
  assert.equal(ok(await runCli(["--version"], { cwd: project.root, bin: "compiled" })).stdout.trim(), stepwiseVersion);
});

test("gen through tsx and compiled writes the same bytes and the same gen cache fingerprint, so each vouches for the other's registry", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_t.sql", CREATE_T);
  project.writeMigration("002_add_row.ts", ADD_ROW);

  assert.equal(JSON.parse(ok(await runCli(["gen", "--json"], { cwd: project.root, bin: "tsx" })).stdout).status, "written");
  const registryViaTsx = readFileSync(project.registryFile, "utf8");
  const viaTsx = genCacheFingerprints(project);
  assert.equal(Object.keys(viaTsx).length, 1, "gen through tsx left no cache entry");

  // The compiled bin finds the registry current, and its fingerprint of the same inputs is the same.
  assert.equal(JSON.parse(ok(await runCli(["gen", "--check", "--json"], { cwd: project.root, bin: "compiled" })).stdout).status, "unchanged");
  rmSync(path.join(project.root, "node_modules", ".cache"), { recursive: true, force: true });
  rmSync(project.registryFile);
  assert.equal(JSON.parse(ok(await runCli(["gen", "--json"], { cwd: project.root, bin: "compiled" })).stdout).status, "written");
  assert.equal(readFileSync(project.registryFile, "utf8"), registryViaTsx);
  assert.deepEqual(genCacheFingerprints(project), viaTsx, "the compiled bin fingerprints stepwise's sources differently");
  assert.equal(JSON.parse(ok(await runCli(["gen", "--check", "--json"], { cwd: project.root, bin: "tsx" })).stdout).status, "unchanged");
});

test("up through one and status through the other agree; a failed migration is located at the same line by both", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
  project.writeMigration("001_t.sql", CREATE_T);
  project.writeMigration("002_add_row.ts", ADD_ROW);
  ok(await runCli(["gen"], { cwd: project.root, bin: "compiled" }));
  ok(await runCli(["up"], { cwd: project.root, bin: "tsx" }));
  const [statusViaTsx, statusCompiled] = await Promise.all([runCli(["status", "--json"], { cwd: project.root, bin: "tsx" }), runCli(["status", "--json"], { cwd: project.root, bin: "compiled" })]);
  assert.deepEqual(JSON.parse(ok(statusCompiled).stdout), JSON.parse(ok(statusViaTsx).stdout));
  assert.equal((JSON.parse(statusCompiled.stdout) as { currentVersion: number }).currentVersion, 2);

  project.writeMigration("003_gives_up.ts", THROWS_AT_LINE_5);
  ok(await runCli(["gen"], { cwd: project.root, bin: "tsx" }));
  // One after the other: two runs at once could meet each other's lock instead of the failure.
  const failedViaTsx = await runCli(["up", "--json"], { cwd: project.root, bin: "tsx" });
  const failedCompiled = await runCli(["up", "--json"], { cwd: project.root, bin: "compiled" });
  for (const failed of [failedViaTsx, failedCompiled]) assert.equal(failed.code, 1, failed.stderr);
  const errorOf = (result: RunResult) => (JSON.parse(result.stdout) as { error: { code: string; location?: { file: string; line: number } } }).error;
  assert.equal(errorOf(failedCompiled).code, "MIGRATION_FAILED");
  assert.deepEqual(errorOf(failedCompiled).location, errorOf(failedViaTsx).location);
  assert.equal(errorOf(failedCompiled).location?.line, 5);
});
