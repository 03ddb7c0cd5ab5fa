/**
 * The bin loads a registry that imports nothing at run time (every migration a `.sql` file) as plain
 * JavaScript, transpiled once into the gen cache folder, instead of through tsx's loader; anything
 * else still goes through tsx, and so does every failure. Proven on the real bin as a child process
 * whose module loader refuses to load tsx: an import-free registry runs `status`, `up` and `down`
 * under it; a registry with a TypeScript migration fails on the refused load, so the refusal is
 * known to work. On a production install (tsx, ts-morph and prettier not resolvable) a registry that
 * needs tsx is MISSING_DEPENDENCY before any database is opened. Real projects, real SQLite files.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createTestProject, runCli, runCliWithFileSizeLimit, type RunResult, type TestProject } from "./support/project.js";

const sql = (table: string) => `-- migrate:up\nCREATE TABLE ${table} (id INTEGER PRIMARY KEY, label TEXT);\n-- migrate:down\nDROP TABLE ${table};\n`;
const TS_MIGRATION = [
  'import { defineMigration } from "stepwise-migrate";',
  "",
  "export default defineMigration({",
  "  up(db) {",
  "    db.exec(\"INSERT INTO items (label) VALUES ('from ts')\");",
  "  },",
  "  down(db) {",
  "    db.exec(\"DELETE FROM items WHERE label = 'from ts'\");",
  "  },",
  "});",
  "",
].join("\n");

/** Writes a module for `node --import` that makes loading any file of tsx throw. */
function writeTsxRefusal(project: TestProject): string {
  return writeHooks(project, "refuse-tsx", [
    "export async function load(url, context, nextLoad) {",
    '  if (url.includes("/node_modules/tsx/")) throw new Error(`TSX_LOADED: ${url}`);',
    "  return nextLoad(url, context);",
    "}",
  ]);
}

/** Writes a module for `node --import` under which tsx, ts-morph and prettier do not resolve, as on a production install. */
function writeProductionResolver(project: TestProject): string {
  return writeHooks(project, "production", [
    "export async function resolve(specifier, context, nextResolve) {",
    '  if (/^(?:tsx|ts-morph|prettier)(?:\\/|$)/.test(specifier)) throw Object.assign(new Error(`Cannot find package ${specifier}`), { code: "ERR_MODULE_NOT_FOUND" });',
    "  return nextResolve(specifier, context);",
    "}",
  ]);
}

/** Writes module hooks (`lines`) and the module that registers them, for `node --import`; returns the latter's path. */
function writeHooks(project: TestProject, name: string, lines: readonly string[]): string {
  const hooks = path.join(project.root, `${name}-hooks.mjs`);
  writeFileSync(hooks, [...lines, ""].join("\n"));
  const register = path.join(project.root, `${name}.mjs`);
  writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return register;
}

function ok(result: RunResult): RunResult {
  assert.equal(result.code, 0, `exit ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

const cacheDir = (project: TestProject) => path.join(project.root, "node_modules", ".cache", "stepwise");
/** The registry's transpiled outputs (`.mjs`) and its kept "needs tsx" verdicts (`.needs-tsx`) in the cache folder. */
const outputs = (project: TestProject, extension: ".mjs" | ".needs-tsx") =>
  existsSync(cacheDir(project)) ? readdirSync(cacheDir(project)).filter((name) => name.startsWith("registry-") && name.endsWith(extension)) : [];

function appliedVersions(project: TestProject): number[] {
  const db = new Database(project.databasePath(), { readonly: true });
  try {
    return db.prepare("SELECT version FROM schema_migrations WHERE state = 'applied' ORDER BY version").pluck().all() as number[];
  } finally {
    db.close();
  }
}

test("an import-free registry runs status, up and down without loading tsx, from one transpiled file that a new registry replaces", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
  project.writeMigration("001_items.sql", sql("items"));
  project.writeMigration("002_notes.sql", sql("notes"));
  ok(await runCli(["gen"], { cwd: project.root }));
  const refusing = { cwd: project.root, env: { NODE_OPTIONS: `--import ${pathToFileURL(writeTsxRefusal(project)).href}` } };

  assert.equal((JSON.parse(ok(await runCli(["status", "--json"], refusing)).stdout) as { pendingCount: number }).pendingCount, 2);
  const [first] = outputs(project, ".mjs");
  assert.ok(first, "the transpiled registry is in the gen cache folder");
  const written = statSync(path.join(cacheDir(project), first)).mtimeMs;
  assert.equal((JSON.parse(ok(await runCli(["up", "--json"], refusing)).stdout) as { toVersion: number }).toVersion, 2);
  assert.deepEqual(appliedVersions(project), [1, 2]);
  // Reused, not rewritten.
  assert.deepEqual(outputs(project, ".mjs"), [first]);
  assert.equal(statSync(path.join(cacheDir(project), first)).mtimeMs, written);

  // A new migration: a new registry, so a new file; the old one is never run for it.
  project.writeMigration("003_tags.sql", sql("tags"));
  ok(await runCli(["gen"], { cwd: project.root }));
  assert.equal((JSON.parse(ok(await runCli(["up", "--json"], refusing)).stdout) as { toVersion: number }).toVersion, 3);
  assert.deepEqual(appliedVersions(project), [1, 2, 3]);
  assert.equal(outputs(project, ".mjs").length, 2);
  assert.equal((JSON.parse(ok(await runCli(["down", "--json"], refusing)).stdout) as { toVersion: number }).toVersion, 2);
  assert.deepEqual(appliedVersions(project), [1, 2]);
  assert.deepEqual(outputs(project, ".needs-tsx"), []);
});

test("a registry with a TypeScript migration still loads through tsx (the refusal bites), and that verdict is kept for the next run", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
  project.writeMigration("001_items.sql", sql("items"));
  project.writeMigration("002_add_row.ts", TS_MIGRATION);
  ok(await runCli(["gen"], { cwd: project.root }));
  const refusing = { cwd: project.root, env: { NODE_OPTIONS: `--import ${pathToFileURL(writeTsxRefusal(project)).href}` } };

  const refused = await runCli(["status", "--json"], refusing);
  assert.notEqual(refused.code, 0, refused.stdout);
  assert.match(refused.stdout + refused.stderr, /TSX_LOADED/);
  assert.deepEqual(outputs(project, ".mjs"), []);
  assert.equal(outputs(project, ".needs-tsx").length, 1);

  assert.equal((JSON.parse(ok(await runCli(["up", "--json"], { cwd: project.root })).stdout) as { toVersion: number }).toVersion, 2);
  const db = new Database(project.databasePath(), { readonly: true });
  t.after(() => db.close());
  assert.deepEqual(db.prepare("SELECT label FROM items").pluck().all(), ["from ts"]);
  assert.deepEqual(outputs(project, ".mjs"), []);
});

test("a registry that imports a value, re-exports, or reads import.meta goes through tsx and behaves as before", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
  project.writeMigration("001_items.sql", sql("items"));
  ok(await runCli(["gen"], { cwd: project.root }));
  const original = readFileSync(project.registryFile, "utf8");
  const refusing = { cwd: project.root, env: { NODE_OPTIONS: `--import ${pathToFileURL(writeTsxRefusal(project)).href}`, STEPWISE_SKIP_REGISTRY_CHECK: "1" } };
  const plain = { cwd: project.root, env: { STEPWISE_SKIP_REGISTRY_CHECK: "1" } };
  const edits = [
    // A value import whose side effects tsx would run (verbatimModuleSyntax keeps it).
    `import { defineMigration } from "stepwise-migrate";\nvoid defineMigration;\n${original}`,
    `${original}\nexport * from "stepwise-migrate";\n`,
    `${original}\nexport const where = import.meta.url;\n`,
  ];
  for (const edited of edits) {
    writeFileSync(project.registryFile, edited);
    const refused = await runCli(["status", "--json"], refusing);
    assert.notEqual(refused.code, 0, `${edited.slice(-60)}: ${refused.stdout}`);
    assert.match(refused.stdout + refused.stderr, /TSX_LOADED/);
    assert.equal((JSON.parse(ok(await runCli(["status", "--json"], plain)).stdout) as { latestVersion: number }).latestVersion, 1);
  }
  assert.equal(outputs(project, ".needs-tsx").length, edits.length);
});

test("an import-free registry that throws when loaded is REGISTRY_LOAD_FAILED at its own line, as through tsx", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
  project.writeMigration("001_items.sql", sql("items"));
  ok(await runCli(["gen"], { cwd: project.root }));
  const lines = readFileSync(project.registryFile, "utf8").split("\n");
  const throwAt = lines.length + 1;
  writeFileSync(project.registryFile, `${lines.join("\n")}\nif (process.env.NODE_ENV !== "x") throw new Error("registry refuses to load");\n`);
  // A deployed app's shape: no folder to compare with, so loading is what fails.
  const loaded = await runCli(["status"], { cwd: project.root, env: { STEPWISE_SKIP_REGISTRY_CHECK: "1" } });
  assert.equal(loaded.code, 1, loaded.stderr);
  assert.match(loaded.stderr, /error \[REGISTRY_LOAD_FAILED\]/);
  assert.match(loaded.stderr, new RegExp(`generated/registry\\.ts:${throwAt}:\\d+`));
  assert.equal(existsSync(project.databasePath()), false);
});

test("where the cache folder cannot be written an import-free registry loads through tsx, and the run is the same", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
  project.writeMigration("001_items.sql", sql("items"));
  ok(await runCli(["gen"], { cwd: project.root }));
  // A file where the folder would go: nothing can be written under it, even by root.
  rmSync(path.join(project.root, "node_modules", ".cache"), { recursive: true, force: true });
  writeFileSync(path.join(project.root, "node_modules", ".cache"), "");
  ok(await runCli(["up"], { cwd: project.root }));
  assert.deepEqual(appliedVersions(project), [1]);
  assert.ok(statSync(path.join(project.root, "node_modules", ".cache")).isFile());
});

test("under a file size limit the transpiled registry that cannot be written in full leaves no file in the cache folder, and the run goes through tsx", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
  // Six migrations: a registry bigger than the limit's 1 KiB.
  ["items", "notes", "tags", "users", "posts", "likes"].forEach((table, index) => project.writeMigration(`00${index + 1}_${table}.sql`, sql(table)));
  ok(await runCli(["gen"], { cwd: project.root }));
  const before = existsSync(cacheDir(project)) ? readdirSync(cacheDir(project)).sort() : [];
  const limited = ok(await runCliWithFileSizeLimit(["status", "--json"], project.root, 1));
  assert.equal((JSON.parse(limited.stdout) as { latestVersion: number }).latestVersion, 6);
  assert.deepEqual(readdirSync(cacheDir(project)).sort(), before);
});

test("on a production install the bin's runtime commands refuse the TypeScript registry with MISSING_DEPENDENCY naming tsx, and create no database", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", sql("items"));
  project.writeMigration("002_add_row.ts", TS_MIGRATION);
  assert.equal((await project.generate()).ok, true);
  const production = { NODE_OPTIONS: `--import ${pathToFileURL(writeProductionResolver(project)).href}` };
  const refused = await runCli(["status", "--json", "--db", "app.db"], { cwd: project.root, env: production });
  assert.equal(refused.code, 1, refused.stderr);
  const error = (JSON.parse(refused.stdout) as { error: Record<string, unknown> }).error;
  assert.equal(error.code, "MISSING_DEPENDENCY");
  assert.deepEqual(error.packages, ["tsx"]);
  assert.equal(existsSync(path.join(project.root, "app.db")), false);
});
