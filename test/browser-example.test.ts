/**
 * The browser example (`examples/browser/`) in headless Chromium, made by following
 * docs/bundling-and-edge.md's browser section in a fresh app that installed the packed tarball: its
 * install lines, the files it shows whole, the example's other files, then its build lines (the
 * installed bin's `gen`, vite's `build`). The pages are served over HTTP on one origin and driven
 * through playwright-core. v1 is the example as committed; v2 adds one migration; a broken v3 adds
 * one that fails. Skips, saying why, only when no Chromium is installed (`.ci/run` installs Debian's
 * `chromium`).
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { build, createLogger } from "vite";
import { chromiumArgs, findChromium } from "./support/chromium.js";
import { createFreshApp, type FreshApp } from "./support/fresh-app.js";
import { block, commandsOf, followInstall, guideBlocks, runCommand } from "./support/guide-blocks.js";
import { makeTempDir, repoRoot } from "./support/project.js";
import { startStaticServer } from "./support/static-server.js";

const exampleDir = path.join(repoRoot, "examples", "browser");
/** Screenshots land here (gitignored), and the test prints where. */
const artifactsDir = path.join(repoRoot, "test-artifacts", "browser");
const EXAMPLE_FILES = ["index.html", ".prettierrc.json", "stepwise.config.json", "tsconfig.json", "src/main.ts", "src/storage.ts", "migrations"];
const chromiumPath = findChromium();
const skip = chromiumPath === null ? "no Chromium found (set CHROMIUM_PATH, or apt-get install -y chromium; .ci/run does)" : false;
if (skip) process.stderr.write(`browser-example.test.ts skipped: ${skip}\n`);

const guide = readFileSync(path.join(repoRoot, "docs", "bundling-and-edge.md"), "utf8");

/** The guide's browser section. */
function browserSection(): string {
  const heading = "\n## The browser: sql.js\n";
  const start = guide.indexOf(heading);
  assert.ok(start >= 0, `docs/bundling-and-edge.md has the heading ${heading.trim()}`);
  return guide.slice(start, guide.indexOf("\n## ", start + 1));
}

/** The section's blocks marked `<!-- example: file -->`, as [file, code]. */
function exampleBlocks(): Array<[string, string]> {
  return [...browserSection().matchAll(/<!-- example: (\S+) -->\n```\w+\n([\s\S]*?)```/g)].map(([, file, code]) => [file!, code!]);
}

/**
 * Sets the app up as the guide says: its install lines, then the files it shows whole written from
 * its blocks, then the example's other files (the page, and `src/main.ts`, which the guide shows in
 * parts). The example's generated registry stays out: the build lines write it.
 */
async function followGuide(app: FreshApp): Promise<void> {
  await followInstall(app, block(guideBlocks(guide), "browser-install"));
  const wholeFiles = exampleBlocks().filter(([file, code]) => code === readFileSync(path.join(exampleDir, file), "utf8"));
  assert.deepEqual(
    wholeFiles.map(([file]) => file),
    ["stepwise.config.json", "src/storage.ts"],
  );
  for (const [file, code] of wholeFiles) app.write(file, code);
  for (const file of EXAMPLE_FILES) if (!app.exists(file)) cpSync(path.join(exampleDir, file), path.join(app.dir, file), { recursive: true });
}

async function gen(app: FreshApp): Promise<void> {
  const result = await app.stepwise(["gen"]);
  assert.equal(result.code, 0, result.stderr);
}

async function buildPage(app: FreshApp, outDir: string): Promise<void> {
  // Vite warns when a module the page reaches imports a Node built-in ("externalized for browser
  // compatibility"); the entry must need no such shim.
  const warnings: string[] = [];
  const logger = createLogger("warn", { allowClearScreen: false });
  logger.warn = (message) => void warnings.push(message);
  logger.warnOnce = (message) => void warnings.push(message);
  logger.info = () => {};
  await build({ root: app.dir, configFile: false, logLevel: "warn", customLogger: logger, build: { outDir, emptyOutDir: true } });
  assert.deepEqual(warnings, []);
  const assets = readdirSync(path.join(outDir, "assets"));
  assert.ok(
    assets.some((file) => file.endsWith(".wasm")),
    `the sql.js wasm is served with the page: ${assets.join(", ")}`,
  );
}

/** Loads (or reloads) the page and waits until it has migrated, or failed. */
async function open(page: Page, url: string): Promise<{ state: string; version: string; ranSteps: string }> {
  await page.goto(url);
  await page.waitForSelector('#app:is([data-state="ready"], [data-state="error"])');
  const app = await page.$eval("#app", (element) => ({ state: element.dataset.state!, ranSteps: element.dataset.ranSteps ?? "" }));
  return { state: app.state, version: (await page.textContent("#schema-version"))!, ranSteps: app.ranSteps };
}

/**
 * A script for `page.evaluate` on the example's IndexedDB store (`src/storage.ts`): `put` stores
 * `value` (a JavaScript expression) as the database's bytes; `get` describes what is stored.
 */
function idbScript(action: "put" | "get", value = "undefined"): string {
  return `new Promise((resolve, reject) => {
    const request = indexedDB.open("stepwise-example", 1);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const transaction = request.result.transaction("sqlite", "readwrite");
      const store = transaction.objectStore("sqlite");
      const read = ${action === "put" ? `store.put(${value}, "app.db")` : `store.get("app.db")`};
      transaction.oncomplete = () => {
        const bytes = read.result;
        request.result.close();
        resolve(bytes instanceof Uint8Array ? bytes.length + " bytes, all " + (bytes.every((byte) => byte === bytes[0]) ? bytes[0] : "different") : String(bytes));
      };
      transaction.onerror = () => reject(transaction.error);
    };
  })`;
}

const migrationStates = (page: Page) => page.$$eval("#migrations li", (items) => items.map((item) => `${item.dataset.version}:${item.dataset.state}`));
/** Each table the page shows, with its columns: `notes:id body created_at`. */
const tables = (page: Page) => page.$$eval("#tables li", (items) => items.map((item) => `${item.dataset.table}:${item.dataset.columns}`));
const notes = (page: Page) => page.$$eval("#notes li", (items) => items.map((item) => item.textContent));

async function addNote(page: Page, body: string): Promise<void> {
  await page.fill("#note-body", body);
  await page.click("#note-add");
  await page.waitForSelector('#app[data-state="ready"]');
}

test("the browser example migrates sql.js in Chromium, keeps its data across reloads, and a newer build migrates the older page's database", { skip, timeout: 600_000 }, async (t) => {
  const app = await createFreshApp(t);
  await followGuide(app);
  // v1 is built by the guide's own lines; a module the page reaches that imports a Node built-in would make vite warn.
  for (const words of commandsOf(block(guideBlocks(guide), "browser-build"))) {
    const result = await runCommand(app, words);
    assert.equal(result.code, 0, `${words.join(" ")}:\n${result.stdout}\n${result.stderr}`);
    assert.doesNotMatch(result.stdout + result.stderr, /externalized for browser compatibility/, words.join(" "));
  }
  // The committed registry is the one the installed bin writes from the example's migrations.
  assert.equal(app.read("src/generated/registry.ts"), readFileSync(path.join(exampleDir, "src/generated/registry.ts"), "utf8"));
  const builds = makeTempDir(t, "stepwise-browser-builds-");
  cpSync(path.join(app.dir, "dist"), path.join(builds, "v1"), { recursive: true });
  assert.ok(
    readdirSync(path.join(builds, "v1", "assets")).some((file) => file.endsWith(".wasm")),
    "the sql.js wasm is served with the page",
  );

  app.write("migrations/003_note_pinned.sql", "-- migrate:up\nALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;\n-- migrate:down\nALTER TABLE notes DROP COLUMN pinned;\n");
  await gen(app);
  await buildPage(app, path.join(builds, "v2"));

  // v3's migration creates a table, then fails: the page must report it and keep v2's database.
  app.write("migrations/004_broken.sql", "-- migrate:up\nCREATE TABLE half_done (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n");
  await gen(app);
  await buildPage(app, path.join(builds, "v3-broken"));

  const server = await startStaticServer(path.join(builds, "v1"));
  t.after(() => server.close());
  const browser: Browser = await chromium.launch({ executablePath: chromiumPath!, args: chromiumArgs() });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const consoleErrors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(error.message));

  // v1, first visit: an empty database migrated to 2.
  assert.deepEqual(await open(page, server.url), { state: "ready", version: "2", ranSteps: "1 2" });
  assert.deepEqual(await migrationStates(page), ["1:applied", "2:applied"]);
  assert.deepEqual(
    (await tables(page)).filter((table) => !table.startsWith("schema_migrations:")),
    ["note_tags:note_id tag", "notes:id body created_at"],
  );
  await addNote(page, "written by v1");

  // Reload: the stored database comes back, nothing to apply, the note is there.
  assert.deepEqual(await open(page, server.url), { state: "ready", version: "2", ranSteps: "" });
  assert.deepEqual(await notes(page), ["written by v1"]);

  // v2 on the same origin: it finds v1's database and applies only migration 3.
  server.serve(path.join(builds, "v2"));
  assert.deepEqual(await open(page, server.url), { state: "ready", version: "3", ranSteps: "3" });
  assert.deepEqual(await migrationStates(page), ["1:applied", "2:applied", "3:applied"]);
  assert.ok((await tables(page)).includes("notes:id body created_at pinned"));
  assert.deepEqual(await notes(page), ["written by v1"]);
  await addNote(page, "written by v2");
  mkdirSync(artifactsDir, { recursive: true });
  const screenshot = path.join(artifactsDir, "browser-example-v2.png");
  await page.screenshot({ path: screenshot, fullPage: true });
  t.diagnostic(`screenshot: ${screenshot}`);
  assert.deepEqual(consoleErrors, []);

  // v3: its migration fails; the page shows the typed error and the database as v2 left it.
  server.serve(path.join(builds, "v3-broken"));
  assert.deepEqual(await open(page, server.url), { state: "error", version: "3", ranSteps: "" });
  assert.equal(await page.getAttribute("#error", "data-code"), "MIGRATION_FAILED");
  assert.deepEqual(await migrationStates(page), ["1:applied", "2:applied", "3:applied", "4:pending"]);
  assert.ok(!(await tables(page)).some((table) => table.startsWith("half_done:")), "the failed migration's table was rolled back");
  await page.screenshot({ path: path.join(artifactsDir, "browser-example-v3-broken.png"), fullPage: true });

  // An older page (a cached tab, a rolled-back deploy) meets the newer database: refused, nothing changed.
  server.serve(path.join(builds, "v1"));
  assert.deepEqual(await open(page, server.url), { state: "error", version: "3", ranSteps: "" });
  assert.equal(await page.getAttribute("#error", "data-code"), "DATABASE_AHEAD");

  // Back to v2: the stored database is as v2 left it, both notes kept, no trace of migration 4.
  server.serve(path.join(builds, "v2"));
  consoleErrors.length = 0;
  assert.deepEqual(await open(page, server.url), { state: "ready", version: "3", ranSteps: "" });
  assert.deepEqual(await notes(page), ["written by v1", "written by v2"]);
  assert.deepEqual(await migrationStates(page), ["1:applied", "2:applied", "3:applied"]);
  assert.deepEqual(consoleErrors, []);

  // Stored bytes that are not a database: a typed refusal, and the page stores nothing over them.
  await page.evaluate(idbScript("put", "new Uint8Array(4096).fill(7)"));
  assert.deepEqual(await open(page, server.url), { state: "error", version: "…", ranSteps: "" });
  assert.equal(await page.getAttribute("#error", "data-code"), "DATABASE_UNUSABLE");
  assert.equal(await page.evaluate(idbScript("get")), "4096 bytes, all 7");
  writeFileSync(path.join(artifactsDir, "README.txt"), "Screenshots written by test/browser-example.test.ts; not kept in git.\n");
});

test("docs/bundling-and-edge.md's browser section is the example's code, block for block", () => {
  const blocks = exampleBlocks();
  assert.ok(blocks.length >= 4, `the section marks its blocks with <!-- example: file --> (found ${blocks.length})`);
  for (const [file, code] of blocks) {
    const source = readFileSync(path.join(exampleDir, file), "utf8");
    assert.ok(source.includes(code), `the guide's block for ${file} is not in examples/browser/${file}:\n${code}`);
  }
  // The install lines name every package the example depends on, each in the section it is in.
  const install = commandsOf(block(guideBlocks(guide), "browser-install"));
  const named = (dev: boolean) =>
    install
      .filter((words) => words.includes("--save-dev") === dev)
      .flatMap((words) => words.slice(2).filter((word) => !word.startsWith("-")))
      .map((spec) => spec.replace(/(.)@.*$/, "$1"))
      .sort();
  const manifest = JSON.parse(readFileSync(path.join(exampleDir, "package.json"), "utf8")) as { dependencies: object; devDependencies: object };
  assert.deepEqual(named(false), Object.keys(manifest.dependencies).sort());
  assert.deepEqual(named(true), Object.keys(manifest.devDependencies).sort());
});
