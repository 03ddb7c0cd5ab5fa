/**
 * Issue 13 item 7: a production install is small in fact. A fresh app from the packed tarball keeps
 * the codegen tools (ts-morph, prettier, tsx, typescript, @types/*) in its devDependencies, as the
 * README says; then every way of asking "what is production?" must leave them out: `npm ci
 * --omit=dev`, `npm prune --omit=dev`, `npm ls --omit=dev --all --parseable`, electron-builder's
 * npm query and walk, and @electron/packager's walk of package.json files (flora-colossus). Before
 * the fix the tools were optional peers of stepwise, which npm flags `devOptional` in the app's
 * lockfile, so the first two kept 40 MB of build tools.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createFreshApp, type FreshApp } from "./support/fresh-app.js";
import { describeRun, runNpm } from "./support/packed-app.js";
import { makeTempDir, repoRoot } from "./support/project.js";

const TIMEOUT_MS = 900_000;
/** Build-time packages that must never reach a production install. */
const BUILD_TOOLS = ["ts-morph", "@ts-morph/common", "typescript", "prettier", "tsx", "esbuild", "@esbuild/linux-x64", "@types/better-sqlite3", "@types/node"];
const NPM_QUIET = ["--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"];
const repoManifest = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { devDependencies: Record<string, string> };

interface Manifest {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readManifest = (dir: string) => JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as Manifest;

/** Every installed package under `nodeModules`, by name, nested ones included. */
function installedPackages(nodeModules: string): Set<string> {
  const names = new Set<string>();
  const visit = (folder: string) => {
    if (!existsSync(folder)) return;
    for (const entry of readdirSync(folder)) {
      if (entry.startsWith(".")) continue;
      if (entry.startsWith("@")) {
        for (const scoped of readdirSync(path.join(folder, entry))) visitPackage(path.join(folder, entry, scoped), `${entry}/${scoped}`);
        continue;
      }
      visitPackage(path.join(folder, entry), entry);
    }
  };
  const visitPackage = (dir: string, name: string) => {
    if (!existsSync(path.join(dir, "package.json"))) return;
    names.add(name);
    visit(path.join(dir, "node_modules"));
  };
  visit(nodeModules);
  return names;
}

function folderBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const absolute = path.join(folder, entry.name);
    if (entry.isDirectory()) total += folderBytes(absolute);
    else if (entry.isFile()) total += statSync(absolute).size;
  }
  return total;
}

/** Node's lookup of a package from a folder: its own node_modules, then each parent's. */
function resolvePackageDir(name: string, fromDir: string, appDir: string): string | null {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    if (dir === appDir || path.dirname(dir) === dir) return null;
  }
}

/**
 * @electron/packager's prune, as flora-colossus walks it: from the app, `dependencies` and
 * `optionalDependencies` of every package (a name in both counts as optional), `devDependencies`
 * of the app only; a package reached by any production path is production. Peers are not walked.
 */
function electronPackagerProduction(appDir: string): Set<string> {
  const kinds = new Map<string, "prod" | "dev">();
  const walk = (dir: string, kind: "root" | "prod" | "dev") => {
    const manifest = readManifest(dir);
    if (kind !== "root") {
      const seen = kinds.get(dir);
      if (seen === "prod" || seen === kind) return;
      kinds.set(dir, kind);
    }
    const child = kind === "dev" ? "dev" : "prod";
    const optional = manifest.optionalDependencies ?? {};
    const production = [...Object.keys(manifest.dependencies ?? {}).filter((name) => !(name in optional)), ...Object.keys(optional)];
    for (const name of production) {
      const found = resolvePackageDir(name, dir, appDir);
      if (found) walk(found, child);
    }
    if (kind === "root") {
      for (const name of Object.keys(manifest.devDependencies ?? {})) {
        const found = resolvePackageDir(name, dir, appDir);
        if (found) walk(found, "dev");
      }
    }
  };
  walk(appDir, "root");
  return new Set([...kinds].filter(([, kind]) => kind === "prod").map(([dir]) => readManifest(dir).name!));
}

interface NpmListNode {
  name?: string;
  version?: string;
  _dependencies?: Record<string, string>;
  dependencies?: Record<string, NpmListNode>;
}

/**
 * electron-builder's npm collector: the tree from `npm list -a --include prod --include optional
 * --omit dev --json --long`, then from the app down, only the children each package declares in
 * `_dependencies` (its own dependencies and optionalDependencies). npm prints a package it already
 * printed elsewhere without its children, so, as electron-builder does, such an entry is expanded
 * from the printed one of the same name and version.
 */
async function electronBuilderProduction(app: FreshApp): Promise<Set<string>> {
  const listed = await runNpm(["list", "-a", "--include", "prod", "--include", "optional", "--omit", "dev", "--json", "--long", "--silent"], { cwd: app.dir });
  assert.equal(listed.code, 0, describeRun(listed));
  const tree = JSON.parse(listed.stdout) as NpmListNode;
  const idOf = (name: string, node: NpmListNode) => `${name}@${node.version}`;
  const isDeduped = (node: NpmListNode) => Object.keys(node._dependencies ?? {}).length > 0 && Object.keys(node.dependencies ?? {}).length === 0;
  const printed = new Map<string, NpmListNode>();
  const collect = (node: NpmListNode) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      if (isDeduped(child) || printed.has(idOf(name, child))) continue;
      printed.set(idOf(name, child), child);
      collect(child);
    }
  };
  collect(tree);
  const names = new Set<string>();
  const walked = new Set<string>();
  const walk = (node: NpmListNode) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      if (node._dependencies?.[name] === undefined) continue;
      names.add(name);
      const id = idOf(name, child);
      if (walked.has(id)) continue;
      walked.add(id);
      walk(isDeduped(child) ? (printed.get(id) ?? child) : child);
    }
  };
  walk(tree);
  return names;
}

/** `npm ls --omit=dev --all --parseable`: one installed folder a line, the app's own first. */
async function npmLsProduction(app: FreshApp): Promise<Set<string>> {
  const listed = await runNpm(["ls", "--omit=dev", "--all", "--parseable"], { cwd: app.dir });
  assert.equal(listed.code, 0, describeRun(listed));
  const folders = listed.stdout.split("\n").filter((line) => line.trim() !== "" && path.resolve(line) !== path.resolve(app.dir));
  return new Set(folders.map((folder) => readManifest(folder).name!));
}

/**
 * A fresh app that generates: the README's devDependencies (ts-morph, prettier, tsx, typescript,
 * @types/better-sqlite3, @types/node), a migration, its registry written by `stepwise gen`, and
 * a start file compiled by tsc into dist/.
 */
async function createGeneratingApp(t: { after(fn: () => void): void }): Promise<FreshApp> {
  const app = await createFreshApp(t);
  const addTypes = await runNpm(["install", "--save-dev", `@types/better-sqlite3@${repoManifest.devDependencies["@types/better-sqlite3"]}`, ...NPM_QUIET], { cwd: app.dir, timeoutMs: 300_000 });
  assert.equal(addTypes.code, 0, describeRun(addTypes));
  app.write("migrations/001_create_notes.sql", "-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n-- migrate:down\nDROP TABLE notes;\n");
  app.write(
    "migrations/002_seed_notes.ts",
    'import { defineMigration } from "stepwise-migrate";\nimport type Database from "better-sqlite3";\n\nexport default defineMigration({\n  up(db: Database.Database) {\n    db.prepare("INSERT INTO notes (body) VALUES (?)").run("hello");\n  },\n});\n',
  );
  app.write(
    "src/main.ts",
    'import { mkdirSync } from "node:fs";\nimport Database from "better-sqlite3";\nimport { migrate } from "stepwise-migrate/better-sqlite3";\nimport { migrations } from "../generated/registry.js";\n\nmkdirSync("data", { recursive: true });\nconst result = migrate(new Database("data/app.db"), migrations);\nconsole.log(JSON.stringify(result.steps.map((step) => step.version)));\n',
  );
  app.write(
    "tsconfig.json",
    JSON.stringify({
      compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, outDir: "dist", rootDir: ".", skipLibCheck: true, types: ["node"] },
      include: ["src", "migrations", "generated"],
    }),
  );
  const gen = await app.stepwise(["gen"]);
  assert.equal(gen.code, 0, describeRun(gen));
  const build = await app.node([path.join("node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);
  assert.equal(build.code, 0, describeRun(build));
  return app;
}

/**
 * better-sqlite3's install script compiles or downloads its addon; every install here runs with
 * --ignore-scripts (no network, no compiler), so the addon this repo built stands in for that step.
 */
function supplyBetterSqliteAddon(app: FreshApp): void {
  const release = path.join("node_modules", "better-sqlite3", "build", "Release");
  mkdirSync(path.join(app.dir, release), { recursive: true });
  cpSync(path.join(repoRoot, release, "better_sqlite3.node"), path.join(app.dir, release, "better_sqlite3.node"));
}

/**
 * What a production install needs: the app's dependencies and theirs, read from the full install's
 * package.json files (peers not followed), which is also @electron/packager's view.
 */
function expectedProduction(app: FreshApp): Set<string> {
  return electronPackagerProduction(app.dir);
}

test("npm ci --omit=dev in an app that generates installs stepwise's runtime and no codegen tool, and the app still migrates", { timeout: TIMEOUT_MS }, async (t) => {
  const app = await createGeneratingApp(t);
  const fullBytes = folderBytes(path.join(app.dir, "node_modules"));
  const expected = expectedProduction(app);
  for (const name of ["stepwise-migrate", "commander", "better-sqlite3"]) assert.ok(expected.has(name), `${name} is production`);

  rmSync(path.join(app.dir, "node_modules"), { recursive: true, force: true });
  const ci = await runNpm(["ci", "--omit=dev", ...NPM_QUIET], { cwd: app.dir, timeoutMs: 300_000 });
  assert.equal(ci.code, 0, describeRun(ci));
  const installed = installedPackages(path.join(app.dir, "node_modules"));
  for (const name of BUILD_TOOLS) assert.ok(!installed.has(name), `${name} is in the production install: ${[...installed].sort().join(", ")}`);
  assert.deepEqual([...installed].sort(), [...expected].sort());
  const productionBytes = folderBytes(path.join(app.dir, "node_modules"));
  const ownBytes = folderBytes(path.join(app.dir, "node_modules", "stepwise-migrate")) + folderBytes(path.join(app.dir, "node_modules", "commander"));
  t.diagnostic(
    `node_modules: ${(fullBytes / 1e6).toFixed(1)} MB with the tools, ${(productionBytes / 1e6).toFixed(1)} MB after npm ci --omit=dev; stepwise and commander ${(ownBytes / 1e6).toFixed(1)} MB`,
  );
  assert.ok(productionBytes * 2 < fullBytes, `production ${productionBytes} bytes against ${fullBytes} with the tools`);

  supplyBetterSqliteAddon(app);
  const start = await app.node(["dist/src/main.js"]);
  assert.equal(start.code, 0, describeRun(start));
  assert.deepEqual(JSON.parse(start.stdout), [1, 2]);
  const db = new Database(path.join(app.dir, "data", "app.db"), { readonly: true });
  try {
    assert.deepEqual(db.prepare("SELECT body FROM notes").all(), [{ body: "hello" }]);
    assert.deepEqual(
      db
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .all()
        .map((row) => (row as { version: number }).version),
      [1, 2],
    );
  } finally {
    db.close();
  }
  const again = await app.node(["dist/src/main.js"]);
  assert.deepEqual(JSON.parse(again.stdout), [], describeRun(again));

  // Without the tools the bin's commands that need them refuse with the install line, not a stack trace.
  const gen = await app.stepwise(["gen", "--check"]);
  assert.equal(gen.code, 1, describeRun(gen));
  assert.match(gen.stderr, /MISSING_DEPENDENCY/);
  assert.match(gen.stderr, /npm install --save-dev ts-morph@28 prettier@3/);
  const status = await app.stepwise(["status", "--db", "data/app.db"]);
  assert.equal(status.code, 1, describeRun(status));
  assert.match(status.stderr, /MISSING_DEPENDENCY/);
  assert.match(status.stderr, /tsx@4/);
});

test(
  "every Electron packager's view of production agrees: npm prune, npm ls --omit=dev, electron-builder's and @electron/packager's walks leave out the codegen tools",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const app = await createGeneratingApp(t);
    const expected = expectedProduction(app);
    for (const name of BUILD_TOOLS) assert.ok(installedPackages(path.join(app.dir, "node_modules")).has(name) || name.startsWith("@esbuild/"), `${name} is installed for development`);

    // @electron/packager's walk is the expectation the others are held to; it must itself be clean.
    for (const name of BUILD_TOOLS) assert.ok(!expected.has(name), `@electron/packager's walk ships ${name}`);
    for (const name of ["stepwise-migrate", "commander", "better-sqlite3"]) assert.ok(expected.has(name), `${name} is production`);
    const views: Record<string, Set<string>> = {
      "npm ls --omit=dev --all --parseable": await npmLsProduction(app),
      "electron-builder (npm list --omit dev --long, walked by _dependencies)": await electronBuilderProduction(app),
    };
    // npm prune runs last: it deletes what it judges to be development.
    const pruned = makeTempDir(t, "stepwise-prune-");
    cpSync(app.dir, pruned, { recursive: true, verbatimSymlinks: true });
    const prune = await runNpm(["prune", "--omit=dev", ...NPM_QUIET], { cwd: pruned, timeoutMs: 300_000 });
    assert.equal(prune.code, 0, describeRun(prune));
    views["npm prune --omit=dev"] = installedPackages(path.join(pruned, "node_modules"));

    for (const [view, names] of Object.entries(views)) {
      for (const name of BUILD_TOOLS) assert.ok(!names.has(name), `${view} ships ${name}`);
      assert.deepEqual([...names].sort(), [...expected].sort(), view);
    }
  },
);

test("a codegen tool of an unsupported major version is refused before it loads, with DEPENDENCY_VERSION_UNSUPPORTED and the install line", { timeout: TIMEOUT_MS }, async (t) => {
  const app = await createFreshApp(t);
  app.write("migrations/001_first.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n");
  // npm no longer checks the tools' ranges, so an old project's prettier 2 or tsx 3 reaches the bin.
  const setVersion = (name: string, version: string) => {
    const file = path.join("node_modules", name, "package.json");
    const manifest = JSON.parse(app.read(file)) as { version: string };
    app.write(file, JSON.stringify({ ...manifest, version }));
    return path.join(app.dir, file);
  };
  const prettierManifest = setVersion("prettier", "2.8.8");
  const gen = await app.stepwise(["gen"]);
  assert.equal(gen.code, 1, describeRun(gen));
  assert.match(gen.stderr, /DEPENDENCY_VERSION_UNSUPPORTED/);
  assert.ok(gen.stderr.includes("prettier 2.8.8"), gen.stderr);
  assert.ok(gen.stderr.includes(prettierManifest), gen.stderr);
  assert.ok(gen.stderr.includes("npm install --save-dev prettier@3"), gen.stderr);
  assert.ok(!app.exists("generated/registry.ts"), "nothing was written");

  setVersion("prettier", "3.0.0");
  const regenerated = await app.stepwise(["gen"]);
  assert.equal(regenerated.code, 0, describeRun(regenerated));
  setVersion("tsx", "3.14.0");
  const status = await app.stepwise(["status", "--db", "app.db"]);
  assert.equal(status.code, 1, describeRun(status));
  assert.match(status.stderr, /DEPENDENCY_VERSION_UNSUPPORTED/);
  assert.ok(status.stderr.includes("npm install --save-dev tsx@4"), status.stderr);
  assert.ok(!app.exists("app.db"), "no database was created");
});
