/**
 * The package as a user meets it: `npm pack`, install the tarball into a fresh TypeScript app, create
 * and generate migrations with the bin, bundle the app into one file, and run that file where there is
 * no stepwise, no migrations/ and no generated/, only better-sqlite3. An app that only runs migrations
 * installs no codegen tool. In the full run (`STEPWISE_FULL=1`, `scripts/test.mjs`).
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { nodeResolve } from "@rollup/plugin-node-resolve";
import Database from "better-sqlite3";
import { transform as transformWithEsbuild } from "esbuild";
import { rollup, type Plugin } from "rollup";
import { makeTempDir, repoRoot } from "./support/project.js";
import { copyInstalledPackage, describeRun, PACK_TIMEOUT_MS, runNpm, runPlainNode, stageRepo } from "./support/packed-app.js";

const repoManifest = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
};
const repoNodeModules = path.join(repoRoot, "node_modules");
const tscPath = path.join(repoNodeModules, "typescript", "bin", "tsc");
const CODEGEN_MODULES = /[\\/]node_modules[\\/](ts-morph|@ts-morph|prettier|typescript)[\\/]/;
/** Everything better-sqlite3 loads at run time. */
const SQLITE_RUNTIME = ["better-sqlite3", "bindings", "file-uri-to-path"];
const TEST_TIMEOUT_MS = 240_000;

let tarball = "";

/** Folders of the shared pack step, removed after the last test (kept with STEPWISE_KEEP_TMP). */
const packFolders: (() => void)[] = [];
const suiteScope = { after: (cleanup: () => void) => packFolders.push(cleanup) };
after(() => {
  for (const cleanup of packFolders) cleanup();
});

before(async () => {
  const stage = makeTempDir(suiteScope, "stepwise-stage-");
  const packDir = makeTempDir(suiteScope, "stepwise-pack-");
  stageRepo(stage);
  const packed = await runNpm(["pack", "--json", "--pack-destination", packDir], { cwd: stage, timeoutMs: PACK_TIMEOUT_MS });
  assert.equal(packed.code, 0, describeRun(packed));
  const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as [{ filename: string }];
  tarball = path.join(packDir, report.filename);
});

/** A new app folder with package.json and a NodeNext tsconfig, and better-sqlite3 copied in. */
function createApp(t: { after(fn: () => void): void }, devDependencies: readonly string[]): string {
  const app = makeTempDir(t, "stepwise-app-");
  const pick = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, repoManifest.devDependencies[name]!]));
  const manifest = {
    name: "packed-consumer",
    private: true,
    type: "module",
    dependencies: { "stepwise-migrate": `file:${tarball}`, ...pick(["better-sqlite3"]) },
    devDependencies: pick(devDependencies),
  };
  writeFileSync(path.join(app, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(
    path.join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, types: ["node"] },
      include: ["src", "migrations", "generated"],
    }),
  );
  mkdirSync(path.join(app, "node_modules"));
  copyInstalledPackage("better-sqlite3", repoNodeModules, path.join(app, "node_modules"), { dependencies: true });
  return app;
}

async function npmInstall(app: string): Promise<void> {
  const installed = await runNpm(["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: app });
  assert.equal(installed.code, 0, describeRun(installed));
}

/** `npx stepwise …`: npm runs the bin the tarball installed. */
function stepwise(app: string, args: readonly string[]) {
  return runNpm(["exec", "--", "stepwise", ...args], { cwd: app });
}

/** The modules that importing `specifiers` loads: ESM resolutions (through a hook) and the CJS cache. */
async function modulesLoadedBy(app: string, specifiers: readonly string[]): Promise<string[]> {
  const log = path.join(app, "resolved.log");
  writeFileSync(log, "");
  writeFileSync(
    path.join(app, "resolve-log-hooks.mjs"),
    `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(process.env.RESOLVE_LOG, resolved.url + "\\n");
  return resolved;
}
`,
  );
  writeFileSync(path.join(app, "register-resolve-log.mjs"), `import { register } from "node:module";\nregister("./resolve-log-hooks.mjs", import.meta.url);\n`);
  const script = `const { createRequire } = await import("node:module");
for (const specifier of ${JSON.stringify(specifiers)}) await import(specifier);
console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
  const result = await runPlainNode(["--import", "./register-resolve-log.mjs", "--input-type=module", "-e", script], { cwd: app, env: { RESOLVE_LOG: log } });
  assert.equal(result.code, 0, describeRun(result));
  const resolved = readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((url) => (url.startsWith("file:") ? fileURLToPath(url) : url));
  return [...resolved, ...(JSON.parse(result.stdout) as string[])];
}

test("a TypeScript app creates, generates and migrates with the packed bin, then bundles into one file that migrates on its own", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const app = createApp(t, ["ts-morph", "prettier", "tsx", "esbuild", "@types/better-sqlite3", "@types/node"]);
  await npmInstall(app);

  // Importing the runtime and the embeddable CLI loads no codegen module, even with them installed.
  const runtimeModules = await modulesLoadedBy(app, ["stepwise-migrate", "stepwise-migrate/better-sqlite3", "stepwise-migrate/cli"]);
  assert.ok(
    runtimeModules.some((file) => /node_modules[\\/]stepwise-migrate[\\/]dist[\\/]src[\\/]index\.js$/.test(file)),
    runtimeModules.join("\n"),
  );
  assert.deepEqual(
    runtimeModules.filter((file) => CODEGEN_MODULES.test(file)),
    [],
  );
  const codegenModules = await modulesLoadedBy(app, ["stepwise-migrate/codegen"]);
  assert.ok(
    codegenModules.some((file) => /[\\/]ts-morph[\\/]/.test(file)),
    "the module log must see ts-morph when codegen loads it",
  );
  // prettier is not checked here: codegen imports it only when a registry is formatted, not on import.

  // Three migrations from `create`, each edited into a real change.
  const edits: Record<string, string> = {
    "001_create_notes.sql": `-- description: Notes
-- migrate:up
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
-- migrate:down
DROP TABLE notes;
`,
    "002_add_tags.ts": `import { defineMigration } from "stepwise-migrate";

export default defineMigration({
  description: "Tags on notes",
  up(db) {
    db.exec(\`CREATE TABLE tags (id INTEGER PRIMARY KEY, note_id INTEGER NOT NULL REFERENCES notes (id), label TEXT NOT NULL)\`);
  },
  down(db) {
    db.exec(\`DROP TABLE tags\`);
  },
});
`,
    "003_seed_notes.ts": `import { defineMigration } from "stepwise-migrate";

export default defineMigration({
  description: "Seed notes",
  up(db) {
    const insert = db.prepare("INSERT INTO notes (body) VALUES (?)");
    for (const body of ["seeded from the bundle", "second seed"]) insert.run(body);
  },
  down(db) {
    db.exec("DELETE FROM notes");
  },
});
`,
  };
  const descriptions = [["create notes", "--sql"], ["add tags"], ["seed notes"]];
  for (const [index, fileName] of Object.keys(edits).entries()) {
    const created = await stepwise(app, ["create", ...descriptions[index]!]);
    assert.equal(created.code, 0, describeRun(created));
    assert.equal(created.stdout.trim(), `migrations/${fileName}`);
    writeFileSync(path.join(app, "migrations", fileName), edits[fileName]!);
  }
  const stale = await stepwise(app, ["gen", "--check"]);
  assert.equal(stale.code, 1, describeRun(stale));
  const generated = await stepwise(app, ["gen"]);
  assert.equal(generated.code, 0, describeRun(generated));
  const checked = await stepwise(app, ["gen", "--check"]);
  assert.equal(checked.code, 0, describeRun(checked));

  // The runtime commands load the TypeScript registry with no build step.
  const devDb = path.join(app, "dev.db");
  const up = await stepwise(app, ["up", "--db", devDb]);
  assert.equal(up.code, 0, describeRun(up));
  const down = await stepwise(app, ["down", "--steps", "1", "--db", devDb]);
  assert.equal(down.code, 0, describeRun(down));
  const version = await stepwise(app, ["version", "--db", devDb]);
  assert.equal(version.stdout.trim(), "2", describeRun(version));

  // The app's entry: migrate at start-up, or act as the migration CLI when given arguments.
  mkdirSync(path.join(app, "src"));
  writeFileSync(
    path.join(app, "src", "main.ts"),
    `import Database from "better-sqlite3";
import { migrate } from "stepwise-migrate/better-sqlite3";
import { createCli } from "stepwise-migrate/cli";
import { latestVersion, migrations } from "../generated/registry.js";

const databasePath = process.env.APP_DATABASE ?? "app.db";
if (process.argv.length > 2) {
  createCli({ migrations, database: databasePath })
    .run(process.argv.slice(2))
    .then((code) => {
      process.exitCode = code;
    });
} else {
  const db = new Database(databasePath);
  migrate(db, migrations);
  console.log(JSON.stringify({ version: db.pragma("user_version", { simple: true }), latestVersion }));
  db.close();
}
`,
  );
  const typecheck = await runPlainNode([tscPath, "-p", "tsconfig.json"], { cwd: app });
  assert.equal(typecheck.code, 0, describeRun(typecheck));

  const bundled = await runNpm(
    [
      "exec",
      "--",
      "esbuild",
      "src/main.ts",
      "--bundle",
      "--platform=node",
      "--target=node20",
      "--format=cjs",
      "--external:better-sqlite3",
      "--outfile=dist/app.cjs",
      "--metafile=dist/meta.json",
      "--log-level=warning",
    ],
    { cwd: app },
  );
  assert.equal(bundled.code, 0, describeRun(bundled));
  const bundle = readFileSync(path.join(app, "dist", "app.cjs"), "utf8");
  assert.ok(!bundle.includes("import("), "the bundle must not import anything at run time");
  assert.doesNotMatch(bundle, /require\(\s*["'`][^"'`]*(migrations|generated)[\\/]/);
  assert.match(bundle, /CREATE TABLE notes/, "the SQL migration is inlined");
  assert.match(bundle, /seeded from the bundle/, "the TypeScript migrations are bundled");
  const meta = JSON.parse(readFileSync(path.join(app, "dist", "meta.json"), "utf8")) as { inputs: Record<string, unknown> };
  const inputs = Object.keys(meta.inputs);
  assert.ok(
    inputs.some((input) => input.includes("node_modules/stepwise-migrate/dist/src/")),
    inputs.join("\n"),
  );
  assert.deepEqual(
    inputs.filter((input) => CODEGEN_MODULES.test(input) || input.includes("stepwise-migrate/dist/codegen/")),
    [],
  );

  // Only the bundle and better-sqlite3: no migrations/, no generated/, no stepwise.
  const deploy = makeTempDir(t, "stepwise-deploy-");
  copyFileSync(path.join(app, "dist", "app.cjs"), path.join(deploy, "app.cjs"));
  mkdirSync(path.join(deploy, "node_modules"));
  for (const name of SQLITE_RUNTIME) copyInstalledPackage(name, path.join(app, "node_modules"), path.join(deploy, "node_modules"), { dependencies: false });
  assert.deepEqual(readdirSync(deploy).sort(), ["app.cjs", "node_modules"]);
  assert.deepEqual(readdirSync(path.join(deploy, "node_modules")).sort(), [...SQLITE_RUNTIME].sort());

  const databasePath = path.join(deploy, "app.db");
  const started = await runPlainNode(["app.cjs"], { cwd: deploy, env: { APP_DATABASE: databasePath } });
  assert.equal(started.code, 0, describeRun(started));
  assert.deepEqual(JSON.parse(started.stdout), { version: 3, latestVersion: 3 });
  const db = new Database(databasePath, { readonly: true });
  try {
    assert.equal(db.pragma("user_version", { simple: true }), 3);
    assert.deepEqual(db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all(), [1, 2, 3]);
    assert.equal(db.prepare("SELECT count(*) FROM notes").pluck().get(), 2);
  } finally {
    db.close();
  }

  const status = await runPlainNode(["app.cjs", "status", "--json"], { cwd: deploy, env: { APP_DATABASE: databasePath } });
  assert.equal(status.code, 0, describeRun(status));
  const parsed = JSON.parse(status.stdout) as { currentVersion: number; latestVersion: number; pendingCount: number; problem: unknown };
  assert.equal(parsed.currentVersion, 3);
  assert.equal(parsed.latestVersion, 3);
  assert.equal(parsed.pendingCount, 0);
  assert.equal(parsed.problem, null);

  // A second bundler, to show nothing above depends on esbuild's resolution.
  const rollupDeploy = makeTempDir(t, "stepwise-deploy-rollup-");
  await bundleWithRollup(app, path.join(rollupDeploy, "app.mjs"));
  mkdirSync(path.join(rollupDeploy, "node_modules"));
  for (const name of SQLITE_RUNTIME) copyInstalledPackage(name, path.join(app, "node_modules"), path.join(rollupDeploy, "node_modules"), { dependencies: false });
  assert.deepEqual(readdirSync(rollupDeploy).sort(), ["app.mjs", "node_modules"]);
  const rollupStarted = await runPlainNode(["app.mjs"], { cwd: rollupDeploy, env: { APP_DATABASE: path.join(rollupDeploy, "app.db") } });
  assert.equal(rollupStarted.code, 0, describeRun(rollupStarted));
  assert.deepEqual(JSON.parse(rollupStarted.stdout), { version: 3, latestVersion: 3 });
});

/**
 * Rollup has no TypeScript of its own: esbuild strips the types, and an import written `./x.js` in a
 * `.ts` file (NodeNext style, as the registry writes them) resolves to `./x.ts`.
 */
function typescriptForRollup(): Plugin {
  return {
    name: "strip-typescript",
    resolveId(source, importer) {
      if (!importer?.endsWith(".ts") || !source.startsWith(".") || !source.endsWith(".js")) return null;
      const candidate = path.resolve(path.dirname(importer), source.replace(/\.js$/, ".ts"));
      return existsSync(candidate) ? candidate : null;
    },
    async transform(code, id) {
      if (!id.endsWith(".ts")) return null;
      const result = await transformWithEsbuild(code, { loader: "ts", format: "esm", target: "node20", sourcefile: id });
      return { code: result.code, map: null };
    },
  };
}

/** Bundles `src/start.ts` of `app` with Rollup into one ESM file and checks what went in. */
async function bundleWithRollup(app: string, outputFile: string): Promise<void> {
  writeFileSync(
    path.join(app, "src", "start.ts"),
    `import Database from "better-sqlite3";
import { migrate } from "stepwise-migrate/better-sqlite3";
import { latestVersion, migrations } from "../generated/registry.js";

const db = new Database(process.env.APP_DATABASE ?? "app.db");
migrate(db, migrations);
console.log(JSON.stringify({ version: db.pragma("user_version", { simple: true }), latestVersion }));
db.close();
`,
  );
  const build = await rollup({
    input: path.join(app, "src", "start.ts"),
    external: (id) => id === "better-sqlite3" || id.startsWith("node:"),
    plugins: [typescriptForRollup(), nodeResolve({ preferBuiltins: true })],
    onwarn(warning) {
      throw new Error(`rollup: ${warning.message}`);
    },
  });
  try {
    const { output } = await build.write({ file: outputFile, format: "esm" });
    const chunk = output[0];
    const modules = Object.keys(chunk.modules);
    assert.ok(
      modules.some((id) => id.includes(`node_modules${path.sep}stepwise-migrate${path.sep}dist${path.sep}src`)),
      modules.join("\n"),
    );
    assert.deepEqual(
      modules.filter((id) => CODEGEN_MODULES.test(id) || id.includes(`stepwise-migrate${path.sep}dist${path.sep}codegen`)),
      [],
    );
    assert.deepEqual(chunk.dynamicImports, []);
    assert.ok(!chunk.code.includes("import("), "the Rollup bundle must not import anything at run time");
    assert.doesNotMatch(chunk.code, /require\(\s*["'`][^"'`]*(migrations|generated)[\\/]/);
  } finally {
    await build.close();
  }
}

test("an app that only runs migrations installs no codegen tools, and the bin names what to install", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const app = createApp(t, []);
  await npmInstall(app);
  for (const name of ["ts-morph", "@ts-morph", "prettier", "tsx", "typescript"]) {
    assert.ok(!existsSync(path.join(app, "node_modules", name)), `${name} should not be installed`);
  }

  const imported = await runPlainNode(
    [
      "--input-type=module",
      "-e",
      `const runtime = await import("stepwise-migrate/better-sqlite3"); const cli = await import("stepwise-migrate/cli"); console.log(typeof runtime.migrate, typeof cli.createCli);`,
    ],
    { cwd: app },
  );
  assert.equal(imported.code, 0, describeRun(imported));
  assert.equal(imported.stdout.trim(), "function function");

  const gen = await stepwise(app, ["gen"]);
  assert.equal(gen.code, 1, describeRun(gen));
  assert.match(gen.stderr, /\[MISSING_DEPENDENCY\]/);
  assert.match(gen.stderr, /npm install --save-dev ts-morph@\d+ prettier@\d+/);
  assert.doesNotMatch(gen.stderr, /\n\s+at /, "no stack trace");

  const status = await stepwise(app, ["status", "--db", path.join(app, "app.db")]);
  assert.equal(status.code, 1, describeRun(status));
  assert.match(status.stderr, /\[MISSING_DEPENDENCY\]/);
  assert.match(status.stderr, /npm install --save-dev tsx@\d+/);
});
