/**
 * The gen cache: "these exact inputs give a registry with this SHA-256", so `gen` and the runtime commands' freshness check skip the scan (and loading ts-morph and prettier) when nothing changed, and
 * the registry on disk still hashes to what gen rendered. An input that cannot be hashed as bytes (a JavaScript prettier config, plugins, a tsconfig extending a package) means no cache: a miss costs
 * time, a wrong hit would pass a stale registry. Nothing here throws; a broken cache is a miss.
 */
import { parseJson } from "../src/shared/source-text.js";
import { createHash, type Hash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PACKAGE_NAME } from "../src/shared/package-name.js";
import { NESTED_SCAN_DEPTH } from "./foreign-migrations.js";
import { findInstalledPeer } from "./optional-dependencies.js";
import { compareText, tryOr } from "./problems.js";
import { writeFileAtomic } from "../src/safety/write-file.js";

/** Bumped when the entry format or the set of inputs changes. */
const CACHE_FORMAT = 7;

/** The inputs of one `gen` run that are not files; `dialect` is named only when not sqlite, as the same folder gives another registry per dialect. */
export type GenCacheKey = { readonly [key in "projectRoot" | "migrationsDir" | "registryFile" | "runtimeModule"]: string } & { readonly dialect?: string; readonly target?: string };

/** What a cache entry records about a registry known to be current; `dependencies`: files outside the folder the scan read or looked for, with {@link hashDependency} of them then. */
export interface GenCacheEntry {
  readonly fingerprint: string;
  readonly registrySha256: string;
  readonly migrationCount: number;
  readonly latestVersion: number;
  readonly dependencies: readonly { readonly file: string; readonly sha256: string | null }[];
}

/** The key `gen` and the freshness check build for these options, so either recognises what the other vouched for. */
export function genCacheKeyFor(options: { projectRoot: string; migrationsDir: string; registryFile: string; runtimeModule?: string; dialect?: string; target?: string | null }): GenCacheKey {
  const { projectRoot, migrationsDir, registryFile, runtimeModule = PACKAGE_NAME, dialect, target } = options;
  return { projectRoot, migrationsDir, registryFile, runtimeModule, ...(dialect !== undefined && dialect !== "sqlite" ? { dialect } : {}), ...(target ? { target } : {}) };
}

/** The project's cache folder, `node_modules/.cache/stepwise`: ignored by VCS setups and wiped by `npm ci`. */
export function defaultGenCacheDir(projectRoot: string): string | null {
  const modules = path.join(projectRoot, "node_modules");
  return existsSync(modules) ? path.join(modules, ".cache", "stepwise") : null;
}

/** Hashes every input of a `gen` run, or returns `null` when some input cannot be captured safely (or read: it cannot be vouched for). */
export function fingerprintGenInputs(key: GenCacheKey): string | null {
  return tryOr(() => {
    const hash = createHash("sha256").update(`stepwise-gen-cache:${CACHE_FORMAT}\0${JSON.stringify(key)}\0`);
    const codegenDir = path.dirname(fileURLToPath(import.meta.url));
    for (const dir of [codegenDir, path.join(codegenDir, "..", "src", "shared")]) hashFolder(hash, dir, false);
    for (const name of ["prettier", "ts-morph"] as const) {
      const installed = findInstalledPeer(name);
      hash.update(`package:${name}\0${installed && existsSync(installed.file) ? readFileSync(installed.file, "utf8") : "missing"}\0`);
    }
    if (!existsSync(key.migrationsDir)) return null;
    // Imports resolve from where the folders really are: a repointed link to a copy of the same files is other inputs.
    hash.update(`real:${realpathSync(key.migrationsDir)}\0${realPathOfFolder(path.dirname(key.registryFile))}\0`);
    hashFolder(hash, key.migrationsDir, true);
    // The folders above the project are looked in too, as tsx looks: a tsconfig.json appearing in one is another input.
    const tsconfig = nearestTsconfig(key.projectRoot);
    hash.update(`tsconfig-at:${tsconfig}\0`);
    if (tsconfig !== null && !hashTsconfigChain(hash, tsconfig, new Set())) return null;
    return hashFormatterConfig(hash, path.dirname(key.registryFile)) ? hash.digest("hex") : null;
  }, null);
}

/** The tsconfig.json tsx uses for a project run from its root: the nearest at or above it (a monorepo's root config when the project has none); `null`: none. */
export function nearestTsconfig(projectRoot: string): string | null {
  for (let dir = path.resolve(projectRoot); ; dir = path.dirname(dir)) {
    const file = path.join(dir, "tsconfig.json");
    if (tryOr(() => statSync(file).isFile(), false)) return file;
    if (path.dirname(dir) === dir) return null;
  }
}

/** A folder's real path, the part not created yet joined as written onto its nearest existing ancestor's. */
export function realPathOfFolder(dir: string): string {
  const real = tryOr(() => realpathSync(dir), null);
  if (real !== null) return real;
  const parent = path.dirname(dir);
  return parent === dir ? dir : path.join(realPathOfFolder(parent), path.basename(dir));
}

/** A dependency's SHA-256 (`null`: absent), with its real path when reached through a symlink, so a repointed link with the same bytes misses. */
export function hashDependency(file: string): string | null {
  return tryOr(() => {
    const hash = createHash("sha256").update(readFileSync(file));
    const real = realpathSync(file);
    return (real === path.resolve(file) ? hash : hash.update(`\0realpath:${real}`)).digest("hex");
  }, null);
}

/** The SHA-256 of a registry's text, as recorded in an entry. */
export function hashRegistryText(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The entry for these inputs when its dependencies are unchanged and the registry on disk is byte for byte the one it recorded; an entry that does not parse is a miss. */
export function findCurrentRegistry(cacheDir: string, key: GenCacheKey, fingerprint: string): GenCacheEntry | null {
  const entry = tryOr(() => JSON.parse(readFileSync(entryFile(cacheDir, key), "utf8")) as GenCacheEntry, null);
  if (entry?.fingerprint !== fingerprint || !Array.isArray(entry.dependencies)) return null;
  if (entry.dependencies.some((dependency) => hashDependency(dependency.file) !== dependency.sha256)) return null;
  return hashFileIfPresent(key.registryFile) === entry.registrySha256 ? entry : null;
}

/**
 * Records that these inputs give `source`, when they did not move while it was computed and the registry on disk holds its bytes;
 * otherwise, or when writing fails, drops the entry.
 */
export function rememberCurrentRegistry(
  cacheDir: string,
  key: GenCacheKey,
  fingerprint: string,
  source: string,
  migrations: readonly { version: number; dependencies?: GenCacheEntry["dependencies"] }[],
): void {
  const byFile = new Map(migrations.flatMap((migration) => (migration.dependencies ?? []).map((dependency) => [dependency.file, dependency.sha256] as const)));
  const dependencies = [...byFile.keys()].sort().map((file) => ({ file, sha256: byFile.get(file)! }));
  const entry: GenCacheEntry = { fingerprint, registrySha256: hashRegistryText(source), migrationCount: migrations.length, latestVersion: migrations.at(-1)?.version ?? 0, dependencies };
  const written = tryOr(() => {
    if (fingerprintGenInputs(key) !== fingerprint || hashFileIfPresent(key.registryFile) !== entry.registrySha256) return false;
    mkdirSync(cacheDir, { recursive: true });
    writeFileAtomic(entryFile(cacheDir, key), `${JSON.stringify(entry)}\n`);
    return true;
  }, false);
  if (!written) forgetRegistry(cacheDir, key);
}

/** Drops the entry for these inputs, so a failed or stale run can never be mistaken for a current one (one that cannot be removed names the old registry bytes, so it cannot give a false hit either). */
export function forgetRegistry(cacheDir: string, key: GenCacheKey): void {
  tryOr(() => rmSync(entryFile(cacheDir, key), { force: true }), undefined);
}

function hashFileIfPresent(file: string): string | null {
  return tryOr(() => hashRegistryText(readFileSync(file)), null);
}

function entryFile(cacheDir: string, key: GenCacheKey): string {
  return path.join(cacheDir, `gen-${createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 16)}.json`);
}

/** Each entry's name and kind and each file's bytes; with `nested`, subfolders' names as deep as the scan looks for misplaced migrations. */
function hashFolder(hash: Hash, dir: string, nested: boolean, depth = 0): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name))) {
    hash.update(`${entry.isFile() ? "file" : entry.isDirectory() ? "dir" : "other"}:${entry.name}\0`);
    if (entry.isFile() && depth === 0) hash.update(readFileSync(path.join(dir, entry.name))).update("\0");
    if (nested && entry.isDirectory() && depth < NESTED_SCAN_DEPTH && entry.name !== "node_modules") {
      hash.update("{\0");
      hashFolder(hash, path.join(dir, entry.name), nested, depth + 1);
      hash.update("}\0");
    }
  }
}

/** The tsconfig decides the import ending: follow relative `extends`, give up on packages. */
function hashTsconfigChain(hash: Hash, file: string, seen: Set<string>): boolean {
  if (seen.has(file)) return true;
  seen.add(file);
  if (!existsSync(file)) {
    hash.update(`tsconfig:${file}:absent\0`);
    return true;
  }
  const text = readFileSync(file, "utf8");
  hash.update(`tsconfig:${file}\0${text}\0`);
  const match = /"extends"\s*:\s*(\[[^\]]*\]|"[^"]*")/.exec(text);
  if (!match) return !/"extends"/.test(text);
  return [...match[1]!.matchAll(/"([^"]*)"/g)].every(([, target]) => {
    const resolved = path.resolve(path.dirname(file), target!);
    return (target!.startsWith(".") || path.isAbsolute(target!)) && hashTsconfigChain(hash, resolved.endsWith(".json") || existsSync(resolved) ? resolved : `${resolved}.json`, seen);
  });
}

const PRETTIER_DATA_FILES = [".prettierrc", ".prettierrc.json", ".prettierrc.yaml", ".prettierrc.yml", ".prettierrc.json5", ".prettierrc.toml", ".editorconfig", "package.json", "package.yaml"];
const PRETTIER_CODE_FILES = ["js", "cjs", "mjs", "ts", "cts", "mts"].flatMap((extension) => [`.prettierrc.${extension}`, `prettier.config.${extension}`]);

/** Every file prettier's config resolution could read, from the registry's folder up to the root (more folders only cost a miss). */
function hashFormatterConfig(hash: Hash, startDir: string): boolean {
  for (let dir = path.resolve(startDir); ; dir = path.dirname(dir)) {
    if (PRETTIER_CODE_FILES.some((name) => existsSync(path.join(dir, name)))) return false;
    for (const name of PRETTIER_DATA_FILES) {
      const file = path.join(dir, name);
      if (!existsSync(file)) continue;
      const text = readFileSync(file, "utf8");
      if (!isSelfContained(name, text)) return false;
      hash.update(`config:${file}\0${text}\0`);
    }
    if (path.dirname(dir) === dir) return true;
  }
}

/** A config that loads plugins or names a shared config package depends on code that cannot be hashed. */
function isSelfContained(name: string, text: string): boolean {
  if (name === "package.yaml") return !/^prettier\s*:/m.test(text);
  if (name === "package.json") {
    const prettier = tryOr(() => (parseJson(text) as { prettier?: unknown }).prettier, null);
    return prettier === undefined || (typeof prettier === "object" && prettier !== null && !("plugins" in prettier));
  }
  const trimmed = text.trim();
  return !name.startsWith(".prettierrc") || (!/plugins/.test(text) && (trimmed === "" || trimmed.startsWith("{") || trimmed.includes(":")));
}
