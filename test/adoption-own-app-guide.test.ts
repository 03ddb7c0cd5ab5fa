/**
 * Issue 13 item 8, issue 27: docs/getting-started.md ("Use stepwise in your own app"), followed block
 * by block in a fresh app made from the packed tarball. The blocks are read out of the page (each is
 * marked `<!-- guide: <what> -->`), so the guide cannot drift from what this test runs: install,
 * config and scripts, a `rootDir: "src"` tsconfig, the first migration, the start file, then the
 * commands, which must all succeed and leave a migrated database.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createFreshApp } from "./support/fresh-app.js";
import { block, commandsOf, followInstall, guideBlocks as readGuideBlocks, merge, PUBLISHED_NAME, runCommand, type Json } from "./support/guide-blocks.js";
import { describeRun, runNpm } from "./support/packed-app.js";
import { repoRoot } from "./support/project.js";

const TIMEOUT_MS = 900_000;
const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");
const guide = readFileSync(path.join(repoRoot, "docs", "getting-started.md"), "utf8");
const guideBlocks = () => readGuideBlocks(guide);

/** The string literal a line of `source` matching `pattern` quotes. */
function quoted(source: string, pattern: RegExp): string {
  const match = pattern.exec(source);
  assert.ok(match, `${pattern} in\n${source}`);
  return match[1]!;
}

test("the guide installs the package by its published name and imports its driver entry by that name", () => {
  const blocks = guideBlocks();
  assert.match(block(blocks, "install").text, new RegExp(`^npm install ${PUBLISHED_NAME} better-sqlite3$`, "m"));
  assert.match(block(blocks, "src/main.ts").text, new RegExp(`from "${PUBLISHED_NAME}/better-sqlite3"`));
});

test(
  "docs/getting-started.md's 'Use stepwise in your own app', followed block by block in a fresh app: tsc with rootDir src passes, the scripts run, the app migrates at start",
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
    app.write("src/main.ts", block(blocks, "src/main.ts").text);

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

  // Every TypeScript block of the README and the guide that imports the SQLite registry imports it the same way.
  const tsBlocks = [readme, guide].flatMap((text) => [...text.matchAll(/```ts\n([\s\S]*?)\n```/g)].map((match) => match[1]!));
  const importing = tsBlocks.filter((text) => /from "[^"]*generated\/registry\.js"/.test(text));
  assert.ok(importing.length >= 2, `${importing.length} blocks import the registry`);
  for (const text of importing) assert.equal(quoted(text, /import \{ migrations \} from "([^"]*generated\/registry\.js)"/), registryImport, text);
  // The README's SQLite start opens the guide's database.
  const sqliteStart = readme.split(/^(?=## )/m).find((section) => section.startsWith("## Two minutes on SQLite\n"));
  assert.ok(sqliteStart, "the README has its SQLite start");
  assert.equal(quoted(sqliteStart, /new Database\("([^"]+)"\)/), databasePath);
});

test(
  "with the default folders (migrations/ and generated/ at the project root), a rootDir src tsconfig fails with TS6059, which is why the guide moves them under src/",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const blocks = guideBlocks();
    const app = await createFreshApp(t);
    app.write("tsconfig.json", block(blocks, "tsconfig.json").text.replace('"include": ["src"]', '"include": ["src", "generated", "migrations"]'));
    app.write("migrations/001_create_notes.sql", block(blocks, "src/migrations/001_create_notes.sql").text);
    app.write("migrations/002_touch.ts", `import { defineMigration } from "${PUBLISHED_NAME}";\n\nexport default defineMigration({ up() {} });\n`);
    app.write("src/main.ts", block(blocks, "src/main.ts").text.replace('"./generated/registry.js"', '"../generated/registry.js"'));
    const gen = await app.stepwise(["gen"]);
    assert.equal(gen.code, 0, describeRun(gen));
    const build = await app.node([path.join("node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);
    assert.equal(build.code, 2, describeRun(build));
    assert.match(build.stdout, /error TS6059/);
  },
);
