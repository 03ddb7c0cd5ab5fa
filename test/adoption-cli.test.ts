/**
 * Issue 13, item 9 (CLI conventions) as a user meets them: a fresh app made from the packed tarball,
 * the installed bin, and an app that bundles its own embedded CLI with esbuild. Asserts on exit
 * codes, JSON fields and error codes.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import { createFreshApp, type FreshApp } from "./support/fresh-app.js";
import { describeRun } from "./support/packed-app.js";

const TIMEOUT = { timeout: 600_000 };
const CREATE_T = "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT);\n-- migrate:down\nDROP TABLE t;\n";
/** Throws on line 7, after writing a row the rollback must remove. */
const THROWS_AT_LINE_7 = [
  'import { defineMigration } from "stepwise-migrate";',
  "",
  "export default defineMigration({",
  '  description: "backfill notes",',
  "  up(db) {",
  "    db.exec(\"INSERT INTO t (note) VALUES ('half done')\");",
  '    throw new Error("backfill found a row it cannot convert");',
  "  },",
  "});",
  "",
].join("\n");

interface JsonError {
  error: { code: string; message: string; location: { file: string; line: number; column: number } | null } & Record<string, unknown>;
}

function parseStdout<T>(result: { stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null }): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    return assert.fail(`stdout is not one JSON value\n${describeRun(result)}`);
  }
}

async function appWith(t: Parameters<typeof createFreshApp>[0], migrations: Record<string, string>): Promise<FreshApp> {
  const app = await createFreshApp(t);
  for (const [name, text] of Object.entries(migrations)) app.write(`migrations/${name}`, text);
  const gen = await app.stepwise(["gen"]);
  assert.equal(gen.code, 0, describeRun(gen));
  return app;
}

test("stepwise --version prints the installed package's version, also under a broken config", TIMEOUT, async (t) => {
  const app = await appWith(t, { "001_t.sql": CREATE_T });
  const installed = (JSON.parse(app.read("node_modules/stepwise-migrate/package.json")) as { version: string }).version;
  const version = await app.stepwise(["--version"]);
  assert.equal(version.code, 0, describeRun(version));
  assert.equal(version.stdout, `${installed}\n`);
  app.write("stepwise.config.json", "{ not json");
  const [broken, status] = await Promise.all([app.stepwise(["-V"]), app.stepwise(["status", "--json"])]);
  assert.equal(broken.stdout, `${installed}\n`, describeRun(broken));
  assert.equal(status.code, 2, describeRun(status));
  assert.equal(parseStdout<JsonError>(status).error.code, "USAGE");
});

test("up --json on a failed migration: one JSON error on stdout with its fields and the migration's line; the database unchanged", TIMEOUT, async (t) => {
  const app = await appWith(t, { "001_t.sql": CREATE_T, "002_backfill.ts": THROWS_AT_LINE_7 });
  const first = await app.stepwise(["up", "--to", "1", "--db", "app.db"]);
  assert.equal(first.code, 0, describeRun(first));
  const failed = await app.stepwise(["up", "--json", "--db", "app.db"]);
  assert.equal(failed.code, 1, describeRun(failed));
  const { error } = parseStdout<JsonError>(failed);
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.version, 2);
  assert.equal(error.rolledBack, true);
  assert.equal(error.location?.file, "migrations/002_backfill.ts");
  assert.equal(error.location?.line, 7);
  const rows = await app.node(["-e", "const D=require('better-sqlite3');const d=new D('app.db');console.log(d.prepare('SELECT count(*) n FROM t').get().n)"]);
  assert.equal(rows.stdout.trim(), "0", describeRun(rows));
  const text = await app.stepwise(["up", "--db", "app.db"]);
  assert.match(text.stderr, /^Thrown at migrations\/002_backfill\.ts:7:\d+$/m, describeRun(text));
  assert.doesNotMatch(text.stderr, /^\s+at /m, "a stack was printed without --verbose");
});

test("durations in up's output are rounded; gen --check --json reports a stale registry", TIMEOUT, async (t) => {
  const app = await appWith(t, { "001_t.sql": CREATE_T });
  const up = await app.stepwise(["up", "--db", "app.db"]);
  assert.equal(up.code, 0, describeRun(up));
  assert.match(up.stdout, /001_t (\d+ ms|\d\.\d s)$/m);
  assert.doesNotMatch(up.stdout, /\d\.\d+ ms/);
  app.write("migrations/002_index.sql", "-- migrate:up\nCREATE INDEX t_note ON t (note);\n");
  const check = await app.stepwise(["gen", "--check", "--json"]);
  assert.equal(check.code, 1, describeRun(check));
  const report = parseStdout<{ ok: boolean; status: string; migrationCount: number; problems: Array<{ code: string }> }>(check);
  assert.equal(report.ok, false);
  assert.equal(report.status, "stale");
});

/** An app's own CLI, bundled by esbuild with a source map, as a deployed service ships it. */
async function bundleEmbeddedCli(app: FreshApp): Promise<void> {
  app.write(
    "src/cli.ts",
    [
      'import { createCli } from "stepwise-migrate/cli";',
      'import { migrations } from "../generated/registry.js";',
      'const cli = createCli({ migrations, database: "app.db", programName: "myapp migrate", version: "2.0.0" });',
      "process.exitCode = await cli.run(process.argv.slice(2));",
      "",
    ].join("\n"),
  );
  // Enabled before the bundle loads: Node reads the source maps of files loaded after the call.
  app.write("launch.mjs", 'process.setSourceMapsEnabled(true);\nawait import("./dist/cli.mjs");\n');
  await build({
    absWorkingDir: app.dir,
    entryPoints: ["src/cli.ts"],
    outfile: "dist/cli.mjs",
    bundle: true,
    platform: "node",
    format: "esm",
    sourcemap: true,
    external: ["better-sqlite3"],
    // commander is CommonJS and requires Node's modules; an ESM bundle needs a require to give it.
    banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
    logLevel: "silent",
  });
}

test("a bundled app's embedded CLI names the migration's file:line through source maps, uses its programName and version", TIMEOUT, async (t) => {
  const app = await appWith(t, { "001_t.sql": CREATE_T, "002_backfill.ts": THROWS_AT_LINE_7 });
  await bundleEmbeddedCli(app);
  assert.ok(!app.read("dist/cli.mjs").includes("stepwise-migrate/cli"), "the app was not bundled");
  const [version, help] = await Promise.all([app.node(["dist/cli.mjs", "--version"]), app.node(["dist/cli.mjs", "--help"])]);
  assert.equal(version.stdout, "2.0.0\n", describeRun(version));
  assert.match(help.stdout, /^Usage: myapp migrate /m, describeRun(help));

  const flag = await app.node(["--enable-source-maps", "dist/cli.mjs", "up", "--json"]);
  assert.equal(flag.code, 1, describeRun(flag));
  const { error } = parseStdout<JsonError>(flag);
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.deepEqual({ file: error.location?.file, line: error.location?.line }, { file: "migrations/002_backfill.ts", line: 7 }, describeRun(flag));

  const launched = await app.node(["launch.mjs", "up"]);
  assert.equal(launched.code, 1, describeRun(launched));
  assert.match(launched.stderr, /^Thrown at migrations\/002_backfill\.ts:7:\d+$/m, describeRun(launched));

  const verbose = await app.node(["--enable-source-maps", "dist/cli.mjs", "up", "--verbose"]);
  assert.match(verbose.stderr, new RegExp(`^\\s+at .*${path.join("migrations", "002_backfill.ts").replace(/[/\\.]/g, "\\$&")}:7:\\d+\\)?$`, "m"), describeRun(verbose));
  assert.match(verbose.stderr, /^Caused by: Error: backfill found a row it cannot convert$/m);
});

test("the sync migrate() on a registry with an async migration says what to write instead", TIMEOUT, async (t) => {
  const asyncMigration = [
    'import { defineMigration } from "stepwise-migrate";',
    "export default defineMigration({",
    "  async up(db) {",
    "    await Promise.resolve();",
    "    db.exec(\"INSERT INTO t (note) VALUES ('async')\");",
    "  },",
    "});",
    "",
  ].join("\n");
  const app = await appWith(t, { "001_t.sql": CREATE_T, "002_async.ts": asyncMigration });
  app.write(
    "migrate.ts",
    [
      'import Database from "better-sqlite3";',
      'import { StepwiseError } from "stepwise-migrate";',
      'import { migrate } from "stepwise-migrate/better-sqlite3";',
      'import { migrations } from "./generated/registry.js";',
      'const db = new Database("app.db");',
      "try {",
      "  migrate(db, migrations);",
      "} catch (error) {",
      '  if (!(error instanceof StepwiseError) || !error.is("ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER")) throw error;',
      "  const { entry, fix } = error.details;",
      "  console.log(JSON.stringify({ code: error.code, entry, fix, message: error.message }));",
      "}",
      "",
    ].join("\n"),
  );
  const result = await app.node(["--import", "tsx", "migrate.ts"]);
  assert.equal(result.code, 0, describeRun(result));
  const refusal = parseStdout<{ code: string; entry: string; fix: string; message: string }>(result);
  assert.equal(refusal.code, "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER");
  assert.equal(refusal.entry, "stepwise-migrate/better-sqlite3");
  assert.match(refusal.fix, /import \{ migrateAsync \} from "stepwise-migrate\/better-sqlite3";\nawait migrateAsync\(db, migrations\);/);
  assert.ok(refusal.message.includes("await migrateAsync(db, migrations);"), refusal.message);

  // Following the hint works: the same app, the async call.
  app.write("migrate.ts", app.read("migrate.ts").replace("import { migrate }", "import { migrateAsync }").replace("  migrate(db, migrations);", "  await migrateAsync(db, migrations);"));
  const fixed = await app.node(["--import", "tsx", "migrate.ts"]);
  assert.equal(fixed.code, 0, describeRun(fixed));
  assert.equal(fixed.stdout, "", describeRun(fixed));
  const version = await app.stepwise(["version", "--db", "app.db"]);
  assert.equal(version.stdout.trim(), "2", describeRun(version));
});
