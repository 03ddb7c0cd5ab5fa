/**
 * docs/bundling-and-edge.md's esbuild and `bun build --compile` recipes, followed in a fresh app made
 * from the packed package: the guide's entry file, then each line of its shell block in turn (installs
 * through the npm cache, the rest as the guide writes them), then the built app started twice: the
 * first start migrates, the second finds nothing to apply.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createFreshApp, type FreshApp } from "./support/fresh-app.js";
import { block, commandsOf, followInstall, guideBlocks, runCommand, type GuideBlock } from "./support/guide-blocks.js";
import { describeRun, run } from "./support/packed-app.js";
import { repoRoot, type RunResult } from "./support/project.js";

const guide = guideBlocks(readFileSync(path.join(repoRoot, "docs", "bundling-and-edge.md"), "utf8"));
const BUN = path.join(repoRoot, "node_modules", ".bin", "bun");
const MIGRATION = "-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n-- migrate:down\nDROP TABLE notes;\n";

/**
 * Runs one line of a guide's shell block in the app: an install through the npm cache, `bun` with
 * the Bun this repo installs, `./<file>` as the program the build wrote, anything else as
 * {@link runCommand} does.
 */
async function follow(app: FreshApp, words: readonly string[]): Promise<RunResult> {
  const [program, ...args] = words;
  if (program === "npm" && args[0] === "install") {
    await followInstall(app, { language: "sh", text: `${words.join(" ")}\n` } satisfies GuideBlock);
    return { code: 0, signal: null, stdout: "", stderr: "" };
  }
  if (program === "bun") return run(BUN, args, { cwd: app.dir, timeoutMs: 300_000 });
  if (program!.startsWith("./")) return run(path.join(app.dir, program!), args, { cwd: app.dir });
  return runCommand(app, words);
}

/** Writes the recipe's entry and one migration, then runs its shell block line by line; returns each line's run. */
async function followRecipe(app: FreshApp, main: string, build: string): Promise<Array<{ words: string[]; result: RunResult }>> {
  app.write("src/main.ts", block(guide, main).text);
  app.write("migrations/001_notes.sql", MIGRATION);
  const runs: Array<{ words: string[]; result: RunResult }> = [];
  for (const words of commandsOf(block(guide, build))) {
    const result = await follow(app, words);
    assert.equal(result.code, 0, `${words.join(" ")}:\n${describeRun(result)}`);
    runs.push({ words, result });
  }
  return runs;
}

/** The migrations applied to the app's database, as `version:state`. */
function history(app: FreshApp): string[] {
  const db = new Database(path.join(app.dir, "app.db"), { readonly: true });
  try {
    return (db.prepare("SELECT version, state FROM schema_migrations ORDER BY version").all() as Array<{ version: number; state: string }>).map((row) => `${row.version}:${row.state}`);
  } finally {
    db.close();
  }
}

test("the esbuild recipe: one CommonJS file that migrates at start and, given arguments, is the CLI", { timeout: 600_000 }, async (t) => {
  const app = await createFreshApp(t);
  const runs = await followRecipe(app, "esbuild-main", "esbuild-build");
  assert.deepEqual(
    runs.map(({ words }) => words.slice(0, 2).join(" ")),
    ["npm install", "npx stepwise", "npx esbuild", "node dist/app.cjs", "node dist/app.cjs"],
  );
  assert.ok(existsSync(path.join(app.dir, "dist", "app.cjs")));
  // The first start migrated (its logger says so); the embedded CLI then reads the same database.
  assert.match(runs[3]!.result.stdout, /^applied 001_notes in /m);
  const status = JSON.parse(runs[4]!.result.stdout) as { currentVersion: number; pendingCount: number; problem: unknown };
  assert.deepEqual([status.currentVersion, status.pendingCount, status.problem], [1, 0, null]);
  assert.deepEqual(history(app), ["1:applied"]);
  const again = await app.node(["dist/app.cjs"]);
  assert.equal(again.code, 0, describeRun(again));
  assert.deepEqual(history(app), ["1:applied"]);
});

test("the bun build --compile recipe: one executable, bun:sqlite inside it, that migrates at start", { timeout: 600_000 }, async (t) => {
  const app = await createFreshApp(t);
  const runs = await followRecipe(app, "bun-main", "bun-build");
  assert.deepEqual(
    runs.map(({ words }) => words[0]),
    ["npx", "bun", "./dist/app"],
  );
  assert.deepEqual(history(app), ["1:applied"]);
  const again = await run(path.join(app.dir, "dist", "app"), [], { cwd: app.dir });
  assert.equal(again.code, 0, describeRun(again));
  assert.match(again.stdout + again.stderr, /nothing to apply/i);
  assert.deepEqual(history(app), ["1:applied"]);
});
