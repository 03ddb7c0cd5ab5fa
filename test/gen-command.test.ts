/**
 * Issue 13 item 8: a stale registry's message names a command that exists in this project: its
 * own script that runs `stepwise gen` (`npm run gen` once the README's guide is followed), else
 * `npx stepwise gen`, never a script the project lacks; the runtime's REGISTRY_STALE (its message and
 * its `--json` fix) names the same command as `gen --check`.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
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

type GenJson = { ok: boolean; status: string; fix: string | null };

/** The gen run `command` (as a message names it) stands for, in a project whose "gen" script is exactly `stepwise gen`: its arguments for the bin. */
function genArgsOf(command: string): string[] {
  const match = /^(?:npm run gen(?: -- (.+))?|npx stepwise gen(?: (.+))?)$/.exec(command);
  assert.ok(match, `not a gen command: ${command}`);
  return ["gen", ...(match[1] ?? match[2] ?? "").split(" ").filter(Boolean)];
}

test("the fix for a registry plain gen does not write names the --dialect, --dir and --out that write it, and running it makes the registry current", async (t) => {
  const project = createTestProject(t, {
    packageJson: {
      scripts: { gen: "stepwise gen" },
      stepwise: { dialects: { postgres: { migrationsDir: "migrations-pg", registryFile: "generated/registry.postgres.ts" } } },
    },
  });
  const cwd = project.root;
  const gen = async (args: readonly string[]) => {
    const result = await runCli([...args, "--no-replay", "--json"], { cwd });
    return { code: result.code, json: JSON.parse(result.stdout) as GenJson };
  };
  project.writeMigration("001_a.sql", FIRST);
  assert.equal((await gen(["gen"])).code, 0);
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(cwd, file)), { recursive: true });
    writeFileSync(path.join(cwd, file), text);
  };
  const pg = (name: string, text: string) => write(`migrations-pg/${name}`, text);
  pg("001_a.sql", FIRST);
  assert.equal((await gen(["gen", "--dialect", "postgres"])).code, 0);
  pg("002_b.sql", SECOND);

  // The runtime's REGISTRY_STALE, for the pg driver's registry.
  const pgArgs = ["status", "--driver", "pg", "--url", "postgres://u@127.0.0.1:1/db", "--json"];
  const stale = JSON.parse((await runCli(pgArgs, { cwd })).stdout) as { error: { code: string; fix: string; registryFile: string } };
  assert.deepEqual([stale.error.code, stale.error.registryFile], ["REGISTRY_STALE", "generated/registry.postgres.ts"]);
  const named = /"([^"]+)"/.exec(stale.error.fix)![1]!;
  assert.equal(named, "npm run gen -- --dialect postgres");
  // gen --check for that dialect names the same command.
  const check = await gen(["gen", "--check", "--dialect", "postgres"]);
  assert.deepEqual([check.code, check.json.status], [1, "stale"]);
  assert.ok(check.json.fix!.includes(`"${named}"`), check.json.fix!);
  assert.equal((await gen(genArgsOf(named))).code, 0);
  assert.deepEqual((await gen(["gen", "--check", "--dialect", "postgres"])).json.status, "unchanged");
  const after = JSON.parse((await runCli(pgArgs, { cwd })).stdout) as { error: { code: string } };
  assert.notEqual(after.error.code, "REGISTRY_STALE");

  // Paths no config names: --dir and --out, with the dialect plain gen uses left out.
  write("alt/001_a.sql", FIRST);
  assert.equal((await gen(["gen", "--dir", "alt", "--out", "gen-alt/registry.ts"])).code, 0);
  write("alt/002_b.sql", SECOND);
  const altCheck = await gen(["gen", "--check", "--dir", "alt", "--out", "gen-alt/registry.ts"]);
  assert.equal(altCheck.json.status, "stale");
  const altNamed = /"([^"]+)"/.exec(altCheck.json.fix!)![1]!;
  assert.equal(altNamed, "npm run gen -- --dir alt --out gen-alt/registry.ts");
  assert.equal((await gen(genArgsOf(altNamed))).code, 0);
  assert.equal((await gen(["gen", "--check", "--dir", "alt", "--out", "gen-alt/registry.ts"])).json.status, "unchanged");
  // Plain gen's registry is still what plain gen names.
  project.writeMigration("002_b.sql", SECOND);
  assert.match((await gen(["gen", "--check"])).json.fix!, /"npm run gen"/);
});
