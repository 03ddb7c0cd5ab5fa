/**
 * The example Worker (`examples/cloudflare-worker/`) and docs/bundling-and-edge.md's Cloudflare recipe, which is
 * that Worker's source and `wrangler.toml`: its registry is current (`gen --check` through the real
 * bin), and bundled by esbuild it runs in workerd through Miniflare with the Durable Object and the D1
 * binding its `wrangler.toml` declares, both migrated by stepwise before they serve.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { spawn } from "node:child_process";
import { collectOutput, makeTempDir, repoRoot, runCli, type RunResult } from "./support/project.js";
import { bundleWorker, startWorker } from "./support/cloudflare/workerd.js";
import { block, guideBlocks } from "./support/guide-blocks.js";

const exampleDir = path.join(repoRoot, "examples", "cloudflare-worker");
const workerSource = path.join(exampleDir, "src", "worker.ts");
const wranglerToml = path.join(exampleDir, "wrangler.toml");

/** Runs this repo's TypeScript compiler with `args`. */
function runTsc(args: readonly string[]): Promise<RunResult> {
  const child = spawn(process.execPath, [path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"), ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  return collectOutput(child, 110_000);
}

/** The TypeScript block of docs/bundling-and-edge.md's Cloudflare section. */
function guideRecipe(): string {
  const guide = readFileSync(path.join(repoRoot, "docs", "bundling-and-edge.md"), "utf8");
  const start = guide.indexOf("\n## Cloudflare Workers");
  assert.ok(start >= 0, "docs/bundling-and-edge.md has a Cloudflare Workers section");
  const block = /```ts\n([\s\S]*?)```/.exec(guide.slice(start));
  assert.ok(block, "the Cloudflare section has a ts block");
  return block[1]!;
}

/** TOML without its comments and blank lines: the settings, one a line. */
function settingsOf(toml: string): string[] {
  return toml
    .split("\n")
    .map((line) => line.replace(/\s*#.*$/, "").trim())
    .filter((line) => line !== "");
}

/** The bindings a `wrangler.toml` declares: the Durable Object's name and class, and the D1 database's name. */
function bindingsOf(toml: string): { binding: string; className: string; d1Binding: string } {
  const object = /\[\[durable_objects\.bindings\]\]\s*name = "(\w+)"\s*class_name = "(\w+)"/.exec(toml);
  const d1 = /\[\[d1_databases\]\]\s*binding = "(\w+)"/.exec(toml);
  assert.ok(object && d1, `wrangler.toml declares a Durable Object and a D1 binding:\n${toml}`);
  return { binding: object[1]!, className: object[2]!, d1Binding: d1[1]! };
}

test("docs/bundling-and-edge.md's Cloudflare recipe is the example Worker's source and wrangler.toml, word for word", () => {
  assert.equal(guideRecipe(), readFileSync(workerSource, "utf8"));
  const guideToml = block(guideBlocks(readFileSync(path.join(repoRoot, "docs", "bundling-and-edge.md"), "utf8")), "wrangler-toml");
  assert.deepEqual(settingsOf(guideToml.text), settingsOf(readFileSync(wranglerToml, "utf8")));
});

test("the example Worker type-checks against the Workers types (its own tsconfig)", { timeout: 120_000 }, async () => {
  const result = await runTsc(["-p", path.join(exampleDir, "tsconfig.json")]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
});

test("the example Worker's registry is current: gen --check through the real bin", { timeout: 120_000 }, async () => {
  const result = await runCli(["gen", "--check"], { cwd: exampleDir });
  assert.equal(result.code, 0, result.stdout + result.stderr);
});

test("the example Worker migrates its Durable Object and its D1 database before serving, in workerd", { timeout: 120_000 }, async (t) => {
  const dir = makeTempDir(t, "stepwise-cf-example-");
  const script = await bundleWorker(workerSource, dir);
  const bindings = bindingsOf(readFileSync(wranglerToml, "utf8"));
  const worker = await startWorker(script, bindings);
  t.after(() => worker.dispose());
  const visit = async (page: string): Promise<unknown> => (await (await worker.miniflare.dispatchFetch(`http://example${page}`)).json()) as unknown;
  // The visits table with its last_seen column exists only once both migrations ran.
  assert.deepEqual(await visit("/home"), { store: "durable-object", page: "/home", count: 1 });
  assert.deepEqual(await visit("/home"), { store: "durable-object", page: "/home", count: 2 });
  assert.deepEqual(await visit("/d1/home"), { store: "d1", page: "/d1/home", count: 1 });
  assert.deepEqual(await visit("/d1/home"), { store: "d1", page: "/d1/home", count: 2 });
  const db = await worker.miniflare.getD1Database(bindings.d1Binding);
  const history = await db.prepare("SELECT version, state FROM schema_migrations ORDER BY version").all();
  assert.deepEqual(history.results, [
    { version: 1, state: "applied" },
    { version: 2, state: "applied" },
  ]);
});
