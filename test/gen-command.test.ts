/**
 * Issue 13 item 8: a stale registry's message names a command that exists in this project: its
 * own script that runs `stepwise gen` (`npm run gen` once the README's guide is followed), else
 * `npx stepwise gen`, never a script the project lacks; the runtime's REGISTRY_STALE (its message and
 * its `--json` fix) names the same command as `gen --check`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createTestProject, runCli } from "./support/project.js";
import { describeRun } from "./support/packed-app.js";

const FIRST = "-- migrate:up\nCREATE TABLE a (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n";
const SECOND = "-- migrate:up\nCREATE TABLE b (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE b;\n";

/** What `gen --check` prints for a stale registry, and the runtime's REGISTRY_STALE as `--json` gives it, in one project. */
async function staleMessage(t: { after(fn: () => void): void }, scripts: Record<string, string> | undefined): Promise<{ stderr: string; runtime: { code: string; message: string; fix: string } }> {
  const project = createTestProject(t, scripts === undefined ? {} : { packageJson: { scripts } });
  project.writeMigration("001_a.sql", FIRST);
  await project.generate();
  project.writeMigration("002_b.sql", SECOND);
  const check = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(check.code, 1, describeRun(check));
  assert.match(check.stderr, /REGISTRY_STALE|not in generated\/registry\.ts/);
  const status = await runCli(["status", "--json", "--db", "app.db"], { cwd: project.root });
  assert.equal(status.code, 1, describeRun(status));
  return { stderr: check.stderr, runtime: (JSON.parse(status.stdout) as { error: { code: string; message: string; fix: string } }).error };
}

const cases: [string, Record<string, string> | undefined, string][] = [
  ["no scripts at all", undefined, "npx stepwise gen"],
  ["the guide's script", { gen: "stepwise gen", prebuild: "npm run gen" }, "npm run gen"],
  ["a script of another name", { "db:gen": "stepwise gen" }, "npm run db:gen"],
  ["through npx", { generate: "npx stepwise gen" }, "npm run generate"],
  ["a gen script that runs something else", { gen: "prisma generate" }, "npx stepwise gen"],
  ["a script that adds flags", { gen: "stepwise gen --dir db" }, "npx stepwise gen"],
  ["both gen and another: gen first", { codegen: "stepwise gen", gen: "stepwise gen" }, "npm run gen"],
];

for (const [label, scripts, expected] of cases) {
  test(`a stale registry's fix names "${expected}", in gen --check and in the runtime's REGISTRY_STALE (${label})`, async (t) => {
    const { stderr, runtime } = await staleMessage(t, scripts);
    assert.ok(stderr.includes(`run "${expected}" and commit`), stderr);
    if (expected === "npx stepwise gen") assert.ok(!stderr.includes("npm run"), stderr);
    // The runtime names the same command, in its message and its --json fix.
    assert.equal(runtime.code, "REGISTRY_STALE");
    assert.ok(runtime.fix.includes(`"${expected}"`), runtime.fix);
    assert.ok(runtime.message.includes(`"${expected}"`), runtime.message);
    if (expected === "npx stepwise gen") assert.ok(!runtime.message.includes("npm run"), runtime.message);
  });
}
