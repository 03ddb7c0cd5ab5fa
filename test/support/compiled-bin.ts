/**
 * Test support: the `stepwise` bin compiled to plain JavaScript, so a test's child process starts it
 * with plain `node` instead of paying tsx's loader, TypeScript transform and hooks thread on every
 * run (about a second each, and the suite starts the bin thousands of times).
 *
 * `codegen/` and `src/` are transpiled file by file with esbuild, as tsx would, into a mirror tree
 * `node_modules/.cache/stepwise-test-bin/<digest>/{codegen,src}` keyed by the digest of their
 * contents: the same module graph, the same lazy `import()`s, only `.ts` became `.js`. The mirror
 * sits inside this repo's `node_modules`, so every package (ts-morph, prettier, tsx, the drivers)
 * resolves from it exactly as from the sources. The one thing that would differ, what a module
 * finds relative to its own file (`--version`'s package.json, the gen cache's toolchain
 * fingerprint over `codegen/` and `src/`, `createRequire`), is kept by compiling `import.meta.url`
 * to the source file's own URL. `test/bin-through-tsx.test.ts` runs the bin both ways and fails
 * when they disagree; `STEPWISE_TEST_BIN=tsx` runs the whole suite through tsx instead.
 *
 * Test processes run in parallel: each builds into a folder of its own and renames it into place,
 * so a reader never sees a half-written mirror, and the loser of a race drops its copy.
 * `scripts/test.mjs` builds it once before the runtimes start (`node --import tsx
 * test/support/compiled-bin.ts`).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { transformSync, version as esbuildVersion } from "esbuild";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The folders the bin's module graph lives in; everything else it loads is a package. */
const SOURCE_DIRS = ["codegen", "src"];
/** Where the mirrors live, one folder per digest. */
export const COMPILED_BIN_CACHE = path.join(repoRoot, "node_modules", ".cache", "stepwise-test-bin");
/** A mirror of other sources unused for this long is removed when a new one is built. */
const STALE_MIRROR_MS = 60 * 60_000;

/** Which way tests start the bin: `compiled` (the default) or `tsx` (`STEPWISE_TEST_BIN=tsx`). */
export type BinMode = "compiled" | "tsx";

/** The mode `STEPWISE_TEST_BIN` asks for; an unknown value is an error, not a silent default. */
export function binMode(): BinMode {
  const value = process.env.STEPWISE_TEST_BIN ?? "compiled";
  if (value !== "compiled" && value !== "tsx") throw new Error(`STEPWISE_TEST_BIN must be "compiled" or "tsx", not ${JSON.stringify(value)}`);
  return value;
}

function listSources(): string[] {
  const files: string[] = [];
  const visit = (relative: string) => {
    for (const entry of readdirSync(path.join(repoRoot, relative), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) visit(child);
      else if (entry.isFile()) files.push(child);
    }
  };
  for (const dir of SOURCE_DIRS) visit(dir);
  return files;
}

/**
 * The mirror's key: the checkout's folder, every source file's path and bytes, this file (how they
 * are compiled) and esbuild's version, so an edit anywhere gives a new mirror and a stale one is
 * never run. The folder counts because each module's `import.meta.url` is written into the mirror:
 * a second checkout sharing this `node_modules` (a git worktree with a linked one) would otherwise
 * run the first checkout's paths, and read its version and fingerprint there.
 */
function digestOf(files: readonly string[]): string {
  const hash = createHash("sha256");
  hash.update(`${repoRoot}\0esbuild ${esbuildVersion}\0`);
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  for (const file of files) {
    hash.update(`\0${file}\0`);
    hash.update(readFileSync(path.join(repoRoot, file)));
  }
  return hash.digest("hex").slice(0, 16);
}

/** Transpiles one module as tsx does, with `import.meta.url` fixed to the source file's URL. */
function compileModule(file: string): string {
  const absolute = path.join(repoRoot, file);
  return transformSync(readFileSync(absolute, "utf8"), {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcefile: absolute,
    sourcemap: "inline",
    define: { "import.meta.url": JSON.stringify(pathToFileURL(absolute).href) },
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
  }).code;
}

function buildMirror(files: readonly string[], target: string): void {
  const scratch = `${target}.tmp-${process.pid}-${Date.now()}`;
  rmSync(scratch, { recursive: true, force: true });
  // A package.json of its own: Node stops looking for a package scope at node_modules, so without
  // it the `.js` files here would be read as CommonJS.
  mkdirSync(scratch, { recursive: true });
  writeFileSync(path.join(scratch, "package.json"), `${JSON.stringify({ private: true, type: "module" })}\n`);
  for (const file of files) {
    const out = path.join(scratch, file.endsWith(".ts") ? `${file.slice(0, -".ts".length)}.js` : file);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, file.endsWith(".ts") ? compileModule(file) : readFileSync(path.join(repoRoot, file)));
  }
  writeFileSync(path.join(scratch, "ready"), "");
  try {
    renameSync(scratch, target);
  } catch (error) {
    // Another process renamed its identical copy into place first.
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(path.join(target, "ready"))) throw error;
  }
}

function removeOtherMirrors(keep: string): void {
  for (const entry of readdirSync(COMPILED_BIN_CACHE)) {
    if (entry === keep) continue;
    const absolute = path.join(COMPILED_BIN_CACHE, entry);
    try {
      if (Date.now() - statSync(absolute).mtimeMs > STALE_MIRROR_MS) rmSync(absolute, { recursive: true, force: true });
    } catch {
      // Another process removed it first.
    }
  }
}

let compiled: string | undefined;

/**
 * The compiled bin's path (`…/<digest>/codegen/bin.js`), built first when the sources have no
 * mirror yet. The digest is taken once per test process: the sources do not change under a run.
 */
export function compiledBinPath(): string {
  if (compiled !== undefined) return compiled;
  const files = listSources();
  const digest = digestOf(files);
  const mirror = path.join(COMPILED_BIN_CACHE, digest);
  if (!existsSync(path.join(mirror, "ready"))) {
    mkdirSync(COMPILED_BIN_CACHE, { recursive: true });
    buildMirror(files, mirror);
    removeOtherMirrors(digest);
  } else {
    // In use: another source digest's build must not take it for an abandoned one.
    const now = new Date();
    utimesSync(mirror, now, now);
  }
  compiled = path.join(mirror, "codegen", "bin.js");
  return compiled;
}

/** The tsx loader, for the arguments that run a TypeScript file through it. */
const tsxLoader = import.meta.resolve("tsx");

/**
 * The arguments after `node` that start the bin: the compiled one, or `codegen/bin.ts` through tsx
 * under `STEPWISE_TEST_BIN=tsx` (or `mode: "tsx"`).
 */
export function binArgs(mode: BinMode = binMode()): string[] {
  return mode === "tsx" ? ["--import", tsxLoader, path.join(repoRoot, "codegen", "bin.ts")] : [compiledBinPath()];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${compiledBinPath()}\n`);
}
