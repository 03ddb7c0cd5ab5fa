/**
 * Test support: a fresh app made from the packed tarball, as a user meets stepwise.
 *
 * Packing (which builds) and installing take tens of seconds, so they happen once per content of the
 * package's sources, shared by every test process: the first process to need them packs the repo and
 * installs a template app into a cache folder under the system temp folder, holding a lock folder
 * while it does; the others wait for it. Each test then gets its own copy of that template.
 *
 * The template has the tarball as a dependency, better-sqlite3 copied from this repo (never
 * compiled), and the development tools a project would add for codegen (typescript, ts-morph,
 * prettier, tsx, @types/node, @types/better-sqlite3).
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { makeTempDir, repoRoot, type RunResult } from "./project.js";
import { copyInstalledPackage, describeRun, PACK_TIMEOUT_MS, run, runNpm, stageRepo } from "./packed-app.js";

/** What goes into the tarball, so what its cache is keyed by. */
const PACKAGE_SOURCES = ["src", "codegen", "package.json", "package-lock.json", "tsconfig.build.json", "README.md", "LICENSE"];
/** The development tools a fresh app installs next to stepwise: what the getting-started guide's install lines name. */
const DEV_TOOLS = ["typescript", "ts-morph", "prettier", "tsx", "@types/node", "@types/better-sqlite3"];
const CACHE_PREFIX = "stepwise-fresh-app-";
/** A lock older than this was left by a killed process. */
const STALE_LOCK_MS = 10 * 60_000;
const repoManifest = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { devDependencies: Record<string, string> };

/** A fresh app folder and the ways to use it. */
export interface FreshApp {
  /** The app's folder. */
  readonly dir: string;
  /** The packed tarball the app installed. */
  readonly tarball: string;
  /** Runs the installed bin (`node node_modules/stepwise-migrate/dist/codegen/bin.js …`) in the app's folder. */
  stepwise(args: readonly string[], options?: { env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<RunResult>;
  /** Runs plain node in the app's folder. */
  node(args: readonly string[], options?: { env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<RunResult>;
  /** Writes a file relative to the app's folder, creating its folders. */
  write(relativePath: string, text: string): string;
  /** Reads a file relative to the app's folder. */
  read(relativePath: string): string;
  /** Whether a file relative to the app's folder exists. */
  exists(relativePath: string): boolean;
}

function digestOfSources(): string {
  const hash = createHash("sha256");
  const visit = (relative: string) => {
    const absolute = path.join(repoRoot, relative);
    if (!existsSync(absolute)) return;
    if (statSync(absolute).isDirectory()) {
      for (const entry of readdirSync(absolute).sort()) visit(path.join(relative, entry));
      return;
    }
    hash.update(`${relative}\0`);
    hash.update(readFileSync(absolute));
    hash.update("\0");
  };
  for (const source of PACKAGE_SOURCES) visit(source);
  // The template app is shaped here (the name it installs the tarball under, its tools): a change to
  // this file must not reuse a template built by the one before.
  visit(path.join("test", "support", "fresh-app.ts"));
  return hash.digest("hex").slice(0, 16);
}

/** Removes caches of older sources, so the temp folder does not fill up across edits. */
function removeOtherCaches(keep: string): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(CACHE_PREFIX) || entry === keep || entry === `${keep}.lock`) continue;
    const absolute = path.join(tmpdir(), entry);
    try {
      if (Date.now() - statSync(absolute).mtimeMs > 60 * 60_000) rmSync(absolute, { recursive: true, force: true });
    } catch {
      // Another process removed it first.
    }
  }
}

async function buildCache(cacheDir: string): Promise<void> {
  rmSync(cacheDir, { recursive: true, force: true });
  const stage = path.join(cacheDir, "stage");
  const template = path.join(cacheDir, "template");
  mkdirSync(stage, { recursive: true });
  mkdirSync(path.join(template, "node_modules"), { recursive: true });
  stageRepo(stage);
  const packed = await runNpm(["pack", "--json", "--pack-destination", cacheDir], { cwd: stage, timeoutMs: PACK_TIMEOUT_MS });
  if (packed.code !== 0) throw new Error(`npm pack failed\n${describeRun(packed)}`);
  const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as [{ filename: string }];
  rmSync(stage, { recursive: true, force: true });
  const tarball = path.join(cacheDir, report.filename);
  const pick = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, repoManifest.devDependencies[name]!]));
  const manifest = {
    name: "fresh-app",
    version: "1.0.0",
    private: true,
    type: "module",
    dependencies: { "stepwise-migrate": `file:${tarball}`, ...pick(["better-sqlite3"]) },
    devDependencies: pick(DEV_TOOLS),
  };
  writeFileSync(path.join(template, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  copyInstalledPackage("better-sqlite3", path.join(repoRoot, "node_modules"), path.join(template, "node_modules"), { dependencies: true });
  const installed = await runNpm(["install", "--prefer-offline", "--include=dev", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: template, timeoutMs: 300_000 });
  if (installed.code !== 0) throw new Error(`npm install of the tarball failed\n${describeRun(installed)}`);
  writeFileSync(path.join(cacheDir, "tarball-name"), report.filename);
  writeFileSync(path.join(cacheDir, "ready"), "");
}

/** The cache folder holding the tarball and the installed template, built by whichever process comes first. */
async function readyCache(): Promise<string> {
  const name = `${CACHE_PREFIX}${digestOfSources()}`;
  const cacheDir = path.join(tmpdir(), name);
  const lock = `${cacheDir}.lock`;
  const deadline = Date.now() + 2 * STALE_LOCK_MS;
  while (!existsSync(path.join(cacheDir, "ready"))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
    try {
      mkdirSync(lock);
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      } catch {
        // The holder finished between the two calls.
      }
      await sleep(500);
      continue;
    }
    try {
      if (!existsSync(path.join(cacheDir, "ready"))) await buildCache(cacheDir);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  removeOtherCaches(name);
  return cacheDir;
}

/**
 * Makes a fresh app from the packed tarball in a temp folder removed when the test ends: package.json
 * (ESM, stepwise and better-sqlite3 as dependencies, the codegen tools as devDependencies) and its
 * node_modules. It has no tsconfig, migrations, scripts or config: tests write what their case needs.
 */
export async function createFreshApp(t: { after(fn: () => void): void }): Promise<FreshApp> {
  const cacheDir = await readyCache();
  const tarball = path.join(cacheDir, readFileSync(path.join(cacheDir, "tarball-name"), "utf8"));
  const dir = makeTempDir(t, "stepwise-fresh-");
  cpSync(path.join(cacheDir, "template"), dir, { recursive: true, verbatimSymlinks: true });
  const bin = path.join(dir, "node_modules", "stepwise-migrate", "dist", "codegen", "bin.js");
  const resolveIn = (relativePath: string) => path.join(dir, relativePath);
  return {
    dir,
    tarball,
    stepwise: (args, options = {}) => run(process.execPath, [bin, ...args], { cwd: dir, ...options }),
    node: (args, options = {}) => run(process.execPath, args, { cwd: dir, ...options }),
    write(relativePath, text) {
      const file = resolveIn(relativePath);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    read: (relativePath) => readFileSync(resolveIn(relativePath), "utf8"),
    exists: (relativePath) => existsSync(resolveIn(relativePath)),
  };
}
