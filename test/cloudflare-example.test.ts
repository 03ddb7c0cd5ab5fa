/**
 * The example Worker (`examples/cloudflare-worker/`) and docs/bundling-and-edge.md's Cloudflare recipe, whose
 * blocks are that Worker's files: its registry is current (`gen --check` through the real bin), and
 * bundled by esbuild it runs in workerd through Miniflare with the Durable Object and the D1 binding
 * its `wrangler.toml` declares, both migrated by stepwise before they serve. The recipe is also
 * followed in a fresh app made from the packed package: its install lines, its files, `stepwise gen`,
 * and a bundle of what the app installed, run the same way.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { spawn } from "node:child_process";
import { build } from "esbuild";
import { collectOutput, makeTempDir, repoRoot, runCli, type RunResult } from "./support/project.js";
import { bundleWorker, startWorker } from "./support/cloudflare/workerd.js";
import { createFreshApp } from "./support/fresh-app.js";
import { block, commandsOf, followInstall, guideBlocks, runCommand, type GuideBlock } from "./support/guide-blocks.js";

const exampleDir = path.join(repoRoot, "examples", "cloudflare-worker");
const workerSource = path.join(exampleDir, "src", "worker.ts");
const wranglerToml = path.join(exampleDir, "wrangler.toml");
const guide = () => readFileSync(path.join(repoRoot, "docs", "bundling-and-edge.md"), "utf8");

/** Runs this repo's TypeScript compiler with `args`. */
function runTsc(args: readonly string[]): Promise<RunResult> {
  const child = spawn(process.execPath, [path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"), ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  return collectOutput(child, 110_000);
}

/** The TypeScript block of docs/bundling-and-edge.md's Cloudflare section. */
function guideRecipe(): string {
  const page = guide();
  const start = page.indexOf("\n## Cloudflare Workers");
  assert.ok(start >= 0, "docs/bundling-and-edge.md has a Cloudflare Workers section");
  const block = /```ts\n([\s\S]*?)```/.exec(page.slice(start));
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

/** The packages an install block names, without versions: its dependencies, or (`dev`) its devDependencies. */
function packagesNamed(install: GuideBlock, dev: boolean): string[] {
  return commandsOf(install)
    .filter((words) => words.includes("--save-dev") === dev)
    .flatMap((words) => words.slice(2).filter((word) => !word.startsWith("-")))
    .map((spec) => spec.replace(/(.)@.*$/, "$1"))
    .sort();
}

test("docs/bundling-and-edge.md's Cloudflare recipe is the example Worker's source, config, wrangler.toml and dependencies, word for word", () => {
  const blocks = guideBlocks(guide());
  assert.equal(guideRecipe(), readFileSync(workerSource, "utf8"));
  assert.equal(block(blocks, "workers-config").text, readFileSync(path.join(exampleDir, "stepwise.config.json"), "utf8"));
  assert.deepEqual(settingsOf(block(blocks, "wrangler-toml").text), settingsOf(readFileSync(wranglerToml, "utf8")));
  const manifest = JSON.parse(readFileSync(path.join(exampleDir, "package.json"), "utf8")) as { dependencies: object; devDependencies: object };
  assert.deepEqual(packagesNamed(block(blocks, "workers-install"), false), Object.keys(manifest.dependencies).sort());
  assert.deepEqual(packagesNamed(block(blocks, "workers-install"), true), Object.keys(manifest.devDependencies).sort());
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
  const script = await bundleWorker(workerSource, makeTempDir(t, "stepwise-cf-example-"));
  await assertMigratesBeforeServing(t, script, readFileSync(wranglerToml, "utf8"));
});

test("the Workers section, followed in a fresh app from the packed package, gives a Worker that migrates before serving", { timeout: 600_000 }, async (t) => {
  const blocks = guideBlocks(guide());
  const app = await createFreshApp(t);
  // Every package the install lines name but wrangler, which the test replaces by Miniflare (what `wrangler dev` runs).
  const install = block(blocks, "workers-install");
  assert.match(install.text, / wrangler /);
  await followInstall(app, { ...install, text: install.text.replace(/ wrangler /, " ") });
  app.write("stepwise.config.json", block(blocks, "workers-config").text);
  app.write("src/worker.ts", guideRecipe());
  app.write("wrangler.toml", block(blocks, "wrangler-toml").text);
  cpSync(path.join(exampleDir, "migrations"), path.join(app.dir, "migrations"), { recursive: true });
  const [gen, deploy, ...more] = commandsOf(block(blocks, "workers-build"));
  assert.deepEqual([gen?.slice(0, 3), deploy?.slice(0, 3), more], [["npx", "stepwise", "gen"], ["npx", "wrangler", "deploy"], []]);
  const generated = await runCommand(app, gen!);
  assert.equal(generated.code, 0, generated.stdout + generated.stderr);
  // In place of `wrangler deploy`: esbuild bundles src/worker.ts, stepwise-migrate resolved from the app's node_modules.
  const script = path.join(makeTempDir(t, "stepwise-cf-fresh-"), "worker.js");
  await build({
    entryPoints: [path.join(app.dir, "src", "worker.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile: script,
    external: ["cloudflare:*"],
    logLevel: "error",
  });
  assert.match(readFileSync(script, "utf8"), /node_modules\/stepwise-migrate\/dist\//, "the bundle holds the installed package");
  await assertMigratesBeforeServing(t, script, app.read("wrangler.toml"));
});

/** Runs `script` in workerd with the bindings `toml` declares, and checks both stores are migrated before the first answer. */
async function assertMigratesBeforeServing(t: { after(fn: () => unknown): void }, script: string, toml: string): Promise<void> {
  const bindings = bindingsOf(toml);
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
}
