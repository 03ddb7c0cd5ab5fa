/**
 * Issue 13 item 8: the README's "Use stepwise in your own app" section, followed block by block in a
 * fresh app made from the packed tarball. The blocks are read out of README.md (each is marked
 * `<!-- guide: <what> -->`), so the guide cannot drift from what this test runs: install, config and
 * scripts, a `rootDir: "src"` tsconfig, the first migration, the start file, then the commands, which
 * must all succeed and leave a migrated database.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createFreshApp, type FreshApp } from "./support/fresh-app.js";
import { describeRun, runNpm } from "./support/packed-app.js";
import { repoRoot, type RunResult } from "./support/project.js";

const TIMEOUT_MS = 900_000;
const NPM_QUIET = ["--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"];
const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");

interface GuideBlock {
  readonly language: string;
  readonly text: string;
}

/** The README's second section, from its heading to the next `## ` heading. */
function guideSection(): string {
  const sections = readme.split(/^(?=## )/m);
  const index = sections.findIndex((section) => section.startsWith("## Use stepwise in your own app\n"));
  assert.equal(index, 2, "the guide is the README's second section (after the intro and Quick start)");
  return sections[index]!;
}

/** The guide's marked blocks, by their marker, in order. */
function guideBlocks(): Map<string, GuideBlock> {
  const blocks = new Map<string, GuideBlock>();
  for (const match of guideSection().matchAll(/<!-- guide: (\S+) -->\n```(\w+)\n([\s\S]*?)\n```/g)) {
    assert.ok(!blocks.has(match[1]!), `one block marked ${match[1]}`);
    blocks.set(match[1]!, { language: match[2]!, text: `${match[3]!}\n` });
  }
  return blocks;
}

function block(blocks: Map<string, GuideBlock>, name: string): GuideBlock {
  const found = blocks.get(name);
  assert.ok(found, `the guide has a block marked ${name}`);
  return found;
}

/** A shell block's commands: one a line, comments dropped. */
function commandsOf(shell: GuideBlock): string[][] {
  return shell.text
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "")
    .map((line) => line.match(/"[^"]*"|\S+/g)!.map((word) => word.replace(/^"(.*)"$/, "$1")));
}

/** Runs a guide command in the app as npm would: `npm …` as is, `npx …` as `npm exec`. */
function runCommand(app: FreshApp, words: readonly string[]): Promise<RunResult> {
  const [program, ...args] = words;
  if (program === "npm") return runNpm(args, { cwd: app.dir, timeoutMs: 300_000 });
  if (program === "npx") return runNpm(["exec", "--no", "--", ...args], { cwd: app.dir, timeoutMs: 300_000 });
  throw new Error(`the guide runs ${program}, which this test does not know how to follow`);
}

type Json = Record<string, unknown>;

/** `patch` merged into `base`, objects key by key, as "next to what is there" says. */
function merge(base: Json, patch: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    const bothObjects = [current, value].every((item) => item !== null && typeof item === "object" && !Array.isArray(item));
    out[key] = bothObjects ? merge(current as Json, value as Json) : value;
  }
  return out;
}

/**
 * Step 1: every package the install lines name ends up in the section they put it in. The fresh app
 * already holds stepwise (the packed tarball, which the README says to install in its place) and a
 * built better-sqlite3; the rest are installed as the line says.
 */
async function followInstall(app: FreshApp, install: GuideBlock): Promise<void> {
  for (const words of commandsOf(install)) {
    assert.deepEqual(words.slice(0, 2), ["npm", "install"], words.join(" "));
    const dev = words.includes("--save-dev");
    const specs = words.slice(2).filter((word) => !word.startsWith("-"));
    const nameOf = (spec: string) => spec.replace(/(.)@.*$/, "$1");
    const manifest = JSON.parse(app.read("package.json")) as { dependencies: Json; devDependencies: Json };
    const missing = specs.filter((spec) => (dev ? manifest.devDependencies : manifest.dependencies)[nameOf(spec)] === undefined);
    if (missing.length > 0) {
      const installed = await runNpm(["install", ...(dev ? ["--save-dev"] : []), ...missing, ...NPM_QUIET], { cwd: app.dir, timeoutMs: 300_000 });
      assert.equal(installed.code, 0, describeRun(installed));
    }
    const after = JSON.parse(app.read("package.json")) as { dependencies: Json; devDependencies: Json };
    for (const spec of specs) {
      const name = nameOf(spec);
      assert.ok((dev ? after.devDependencies : after.dependencies)[name] !== undefined, `${name} is in ${dev ? "devDependencies" : "dependencies"}`);
      assert.ok(existsSync(path.join(app.dir, "node_modules", name, "package.json")), `${name} is installed`);
    }
  }
}

/** The string literal a line of `source` matching `pattern` quotes. */
function quoted(source: string, pattern: RegExp): string {
  const match = pattern.exec(source);
  assert.ok(match, `${pattern} in\n${source}`);
  return match[1]!;
}

test(
  "the README's 'Use stepwise in your own app', followed block by block in a fresh app: tsc with rootDir src passes, the scripts run, the app migrates at start",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const blocks = guideBlocks();
    const app = await createFreshApp(t);

    await followInstall(app, block(blocks, "install"));

    const config = block(blocks, "package.json");
    assert.equal(config.language, "json");
    const guideManifest = JSON.parse(config.text) as Json & { stepwise: { database: string; migrationsDir: string; registryFile: string } };
    app.write("package.json", `${JSON.stringify(merge(JSON.parse(app.read("package.json")) as Json, guideManifest), null, 2)}\n`);

    const tsconfig = block(blocks, "tsconfig.json");
    const compilerOptions = (JSON.parse(tsconfig.text) as { compilerOptions: { rootDir: string } }).compilerOptions;
    assert.equal(compilerOptions.rootDir, "src");
    app.write("tsconfig.json", tsconfig.text);

    // The files the guide writes are named by their markers; each must sit where the config says.
    const migrationFiles = [...blocks.keys()].filter((name) => name.startsWith(`${guideManifest.stepwise.migrationsDir}/`));
    assert.equal(migrationFiles.length, 1, [...blocks.keys()].join(", "));
    const migrationFile = migrationFiles[0]!;
    // `create` (named in step 4) starts the file where the guide then fills it in.
    const created = await app.stepwise(["create", "create notes", "--sql"]);
    assert.ok(app.exists(migrationFile), `create wrote ${migrationFile}\n${describeRun(created)}`);
    app.write(migrationFile, block(blocks, migrationFile).text);
    const main = block(blocks, "src/main.ts");
    app.write("src/main.ts", main.text);

    for (const words of commandsOf(block(blocks, "run"))) {
      const result = await runCommand(app, words);
      assert.equal(result.code, 0, `${words.join(" ")}\n${describeRun(result)}`);
      assert.doesNotMatch(result.stdout + result.stderr, /TS6059/);
    }

    assert.ok(app.exists(guideManifest.stepwise.registryFile), "gen wrote the configured registry");
    // rootDir src: src/main.ts compiles to dist/main.js, the registry next to it, nothing outside src.
    for (const file of ["dist/main.js", "dist/generated/registry.js"]) assert.ok(app.exists(file), file);
    assert.ok(!app.exists("dist/src"), "rootDir src puts src/ at dist/, not dist/src/");
    const db = new Database(path.join(app.dir, guideManifest.stepwise.database), { readonly: true });
    try {
      const versions = db.prepare("SELECT version, name FROM schema_migrations").all();
      assert.deepEqual(versions, [{ version: 1, name: "create_notes" }]);
      assert.ok(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'notes'").get());
    } finally {
      db.close();
    }
    // The bin reads the same database through the config, and finds nothing pending.
    const status = await runCommand(app, ["npx", "stepwise", "status", "--json"]);
    assert.equal(status.code, 0, describeRun(status));
    const parsed = JSON.parse(status.stdout) as { database: string; currentVersion: number; pendingCount: number };
    assert.equal(path.resolve(parsed.database), path.join(app.dir, guideManifest.stepwise.database));
    assert.deepEqual([parsed.currentVersion, parsed.pendingCount], [1, 0]);
    // The start file migrates every time it starts, applying nothing the second time.
    const again = await runNpm(["start"], { cwd: app.dir });
    assert.equal(again.code, 0, describeRun(again));
  },
);

test("the README's wiring examples agree with the guide: the same registry import and the same database path", () => {
  const blocks = guideBlocks();
  const main = block(blocks, "src/main.ts").text;
  const guideManifest = JSON.parse(block(blocks, "package.json").text) as { stepwise: { database: string; registryFile: string } };
  const registryImport = quoted(main, /import \{ migrations \} from "([^"]+)"/);
  const databasePath = quoted(main, /new Database\("([^"]+)"\)/);
  assert.equal(databasePath, guideManifest.stepwise.database);
  // The import names the configured registry, relative to src/main.ts.
  const importedFile = path.posix.join("src", registryImport.replace(/\.js$/, ".ts"));
  assert.equal(importedFile, guideManifest.stepwise.registryFile);

  // Every TypeScript block elsewhere in the README that imports the SQLite registry imports it the same way.
  const tsBlocks = [...readme.matchAll(/```ts\n([\s\S]*?)\n```/g)].map((match) => match[1]!);
  // The Worker recipe is another app's file (examples/cloudflare-worker/src/worker.ts, kept equal to
  // it by test/cloudflare-example.test.ts), with that app's own layout.
  const importing = tsBlocks.filter((text) => /from "[^"]*generated\/registry\.js"/.test(text) && !text.includes('from "cloudflare:workers"'));
  assert.ok(importing.length >= 3, `${importing.length} blocks import the registry`);
  for (const text of importing) assert.equal(quoted(text, /import \{ migrations \} from "([^"]*generated\/registry\.js)"/), registryImport, text);
  // The start-up recipe is the guide's start file in paths: registry and database.
  const recipe = readme.split(/^(?=### )/m).find((section) => section.startsWith("### Run migrations at app start-up\n"));
  assert.ok(recipe, "the README has the start-up recipe");
  assert.equal(quoted(recipe, /new Database\("([^"]+)"\)/), databasePath);
  assert.equal(quoted(recipe, /import \{ migrations \} from "([^"]+)"/), registryImport);
});

test(
  "with the default folders (migrations/ and generated/ at the project root), a rootDir src tsconfig fails with TS6059, which is why the guide moves them under src/",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const blocks = guideBlocks();
    const app = await createFreshApp(t);
    app.write("tsconfig.json", block(blocks, "tsconfig.json").text.replace('"include": ["src"]', '"include": ["src", "generated", "migrations"]'));
    app.write("migrations/001_create_notes.sql", block(blocks, "src/migrations/001_create_notes.sql").text);
    app.write("migrations/002_touch.ts", 'import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({ up() {} });\n');
    app.write("src/main.ts", block(blocks, "src/main.ts").text.replace('"./generated/registry.js"', '"../generated/registry.js"'));
    const gen = await app.stepwise(["gen"]);
    assert.equal(gen.code, 0, describeRun(gen));
    const build = await app.node([path.join("node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);
    assert.equal(build.code, 2, describeRun(build));
    assert.match(build.stdout, /error TS6059/);
  },
);
