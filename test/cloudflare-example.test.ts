/**
 * The example Worker (`examples/cloudflare-worker/`) and docs/bundling-and-edge.md's Cloudflare recipe, which is
 * that Worker's source: its registry is current (`gen --check` through the real bin), and bundled by
 * esbuild it runs in workerd through Miniflare with one Durable Object and one D1 binding, both
 * migrated by stepwise before they serve.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { spawn } from "node:child_process";
import { collectOutput, makeTempDir, repoRoot, runCli, type RunResult } from "./support/project.js";
import { bundleWorker, startWorker } from "./support/cloudflare/workerd.js";

const exampleDir = path.join(repoRoot, "examples", "cloudflare-worker");
const workerSource = path.join(exampleDir, "src", "worker.ts");

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

/**
 * The docs import the published name (`stepwise-migrate/d1`) while the example may still import the
 * package by its old name until the rename reaches it; both spell the same entry.
 */
function onePackageName(source: string): string {
  return source.replaceAll(/(["'])stepwise-migrate(?=["'/])/g, "$1stepwise");
}

test("docs/bundling-and-edge.md's Cloudflare recipe is the example Worker's source, word for word", () => {
  assert.equal(onePackageName(guideRecipe()), onePackageName(readFileSync(workerSource, "utf8")));
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
  const worker = await startWorker(script, { className: "Counter", binding: "COUNTER" });
  t.after(() => worker.dispose());
  const visit = async (page: string): Promise<unknown> => (await (await worker.miniflare.dispatchFetch(`http://example${page}`)).json()) as unknown;
  // The visits table with its last_seen column exists only once both migrations ran.
  assert.deepEqual(await visit("/home"), { store: "durable-object", page: "/home", count: 1 });
  assert.deepEqual(await visit("/home"), { store: "durable-object", page: "/home", count: 2 });
  assert.deepEqual(await visit("/d1/home"), { store: "d1", page: "/d1/home", count: 1 });
  assert.deepEqual(await visit("/d1/home"), { store: "d1", page: "/d1/home", count: 2 });
  const db = await worker.miniflare.getD1Database("DB");
  const history = await db.prepare("SELECT version, state FROM schema_migrations ORDER BY version").all();
  assert.deepEqual(history.results, [
    { version: 1, state: "applied" },
    { version: 2, state: "applied" },
  ]);
});
