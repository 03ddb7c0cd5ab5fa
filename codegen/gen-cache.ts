/**
 * The gen cache: "these exact inputs give a registry with this SHA-256", so `gen` and the runtime
 * commands' freshness check skip the scan (and loading ts-morph and prettier) when nothing changed,
 * and the registry on disk still hashes to what gen rendered. An input that cannot be hashed as bytes
 * (a JavaScript prettier config, plugins, a tsconfig extending a package) means no cache: a miss
 * costs time, a wrong hit would pass a stale registry. Nothing here throws; a broken cache is a miss.
 */
import { createHash, type Hash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PACKAGE_NAME } from "../src/shared/package-name.js";
import { NESTED_SCAN_DEPTH } from "./foreign-migrations.js";
import { findInstalledPeer } from "./optional-dependencies.js";
import { compareText } from "./problems.js";
import { writeFileAtomic } from "./write-file.js";

/** Bumped when the entry format or the set of inputs changes. */
const CACHE_FORMAT = 6;

/** The inputs of one `gen` run that are not files. */
export interface GenCacheKey {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  readonly runtimeModule: string;
  /** Named only when not sqlite: the same folder gives another registry per dialect. */
  readonly dialect?: string;
  readonly target?: string;
}

/** What a cache entry records about a registry known to be current. */
export interface GenCacheEntry {
  readonly fingerprint: string;
  readonly registrySha256: string;
  readonly migrationCount: number;
  readonly latestVersion: number;
  /** Files outside the migrations folder that the scan read or looked for, with {@link hashDependency} of them then. */
  readonly dependencies: readonly { readonly file: string; readonly sha256: string | null }[];
}

/** The key `gen` and the freshness check build for these options, so either recognises what the other vouched for. */
export function genCacheKeyFor(options: { projectRoot: string; migrationsDir: string; registryFile: string; runtimeModule?: string; dialect?: string; target?: string | null }): GenCacheKey {
  return {
    projectRoot: options.projectRoot,
    migrationsDir: options.migrationsDir,
    registryFile: options.registryFile,
    runtimeModule: options.runtimeModule ?? PACKAGE_NAME,
    ...(options.dialect !== undefined && options.dialect !== "sqlite" ? { dialect: options.dialect } : {}),
    ...(options.target ? { target: options.target } : {}),
  };
}

/** The project's cache folder, `node_modules/.cache/stepwise`: ignored by VCS setups and wiped by `npm ci`. */
export function defaultGenCacheDir(projectRoot: string): string | null {
  const modules = path.join(projectRoot, "node_modules");
  return existsSync(modules) ? path.join(modules, ".cache", "stepwise") : null;
}

/** Hashes every input of a `gen` run, or returns `null` when some input cannot be captured safely. */
export function fingerprintGenInputs(key: GenCacheKey): string | null {
  try {
    const hash = createHash("sha256").update(`stepwise-gen-cache:${CACHE_FORMAT}\0${JSON.stringify(key)}\0`);
    const codegenDir = path.dirname(fileURLToPath(import.meta.url));
    for (const dir of [codegenDir, path.join(codegenDir, "..", "src", "shared")]) hashFolder(hash, dir, false);
    for (const name of ["prettier", "ts-morph"] as const) {
      const installed = findInstalledPeer(name);
      hash.update(`package:${name}\0${installed && existsSync(installed.file) ? readFileSync(installed.file, "utf8") : "missing"}\0`);
    }
    if (!existsSync(key.migrationsDir)) return null;
    hashFolder(hash, key.migrationsDir, true);
    if (!hashTsconfigChain(hash, path.join(key.projectRoot, "tsconfig.json"), new Set())) return null;
    return hashFormatterConfig(hash, path.dirname(key.registryFile)) ? hash.digest("hex") : null;
  } catch {
    // An input that cannot be read (permissions, a file replaced mid-read) cannot be vouched for.
    return null;
  }
}

/**
 * A file the scan read, as a dependency: the SHA-256 of its bytes and, when reached through a symlink,
 * of its real path, so a link pointed at another file with the same bytes still misses. `null`: absent.
 */
export function hashDependency(file: string): string | null {
  try {
    const hash = createHash("sha256").update(readFileSync(file));
    const real = realpathSync(file);
    if (real !== path.resolve(file)) hash.update(`\0realpath:${real}`);
    return hash.digest("hex");
  } catch {
    return null;
  }
}

/** The SHA-256 of a registry's text, as recorded in an entry. */
export function hashRegistryText(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The entry for these inputs when its dependencies are unchanged and the registry on disk is byte for byte the one it recorded. */
export function findCurrentRegistry(cacheDir: string, key: GenCacheKey, fingerprint: string): GenCacheEntry | null {
  const entry = readEntry(entryFile(cacheDir, key));
  if (!entry || entry.fingerprint !== fingerprint) return null;
  if (entry.dependencies.some((dependency) => hashDependency(dependency.file) !== dependency.sha256)) return null;
  return hashFileIfPresent(key.registryFile) === entry.registrySha256 ? entry : null;
}

/** Records the entry when the registry on disk really holds its bytes; otherwise, or when writing fails, drops it. */
export function rememberCurrentRegistry(cacheDir: string, key: GenCacheKey, entry: GenCacheEntry): void {
  try {
    if (hashFileIfPresent(key.registryFile) !== entry.registrySha256) throw new Error("the registry on disk is not the one rendered");
    mkdirSync(cacheDir, { recursive: true });
    writeFileAtomic(entryFile(cacheDir, key), `${JSON.stringify(entry)}\n`);
  } catch {
    forgetRegistry(cacheDir, key);
  }
}

/** Drops the entry for these inputs, so a failed or stale run can never be mistaken for a current one. */
export function forgetRegistry(cacheDir: string, key: GenCacheKey): void {
  try {
    rmSync(entryFile(cacheDir, key), { force: true });
  } catch {
    // An entry that cannot be removed names the old registry bytes, so it still cannot give a false hit.
  }
}

function hashFileIfPresent(file: string): string | null {
  try {
    return hashRegistryText(readFileSync(file));
  } catch {
    return null;
  }
}

function entryFile(cacheDir: string, key: GenCacheKey): string {
  return path.join(cacheDir, `gen-${createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 16)}.json`);
}

function readEntry(file: string): GenCacheEntry | null {
  const digest = /^[0-9a-f]{64}$/;
  try {
    const entry = JSON.parse(readFileSync(file, "utf8")) as GenCacheEntry;
    const valid =
      typeof entry.fingerprint === "string" &&
      digest.test(entry.registrySha256) &&
      typeof entry.migrationCount === "number" &&
      typeof entry.latestVersion === "number" &&
      Array.isArray(entry.dependencies) &&
      entry.dependencies.every((dependency) => typeof dependency?.file === "string" && (dependency.sha256 === null || digest.test(dependency.sha256)));
    return valid ? entry : null;
  } catch {
    return null;
  }
}

/**
 * Each entry's name and kind and each file's bytes; with `nested`, subfolders' names down to the depth
 * the scan looks for misplaced migrations (foreign-migrations.ts), whose bytes never matter there.
 */
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
  for (const [, target] of match[1]!.matchAll(/"([^"]*)"/g)) {
    if (!target!.startsWith(".") && !path.isAbsolute(target!)) return false;
    const resolved = path.resolve(path.dirname(file), target!);
    if (!hashTsconfigChain(hash, resolved.endsWith(".json") || existsSync(resolved) ? resolved : `${resolved}.json`, seen)) return false;
  }
  return true;
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
    try {
      const prettier = (JSON.parse(text) as { prettier?: unknown }).prettier;
      return prettier === undefined || (typeof prettier === "object" && prettier !== null && !("plugins" in prettier));
    } catch {
      return false;
    }
  }
  if (!name.startsWith(".prettierrc")) return true;
  const trimmed = text.trim();
  return !/plugins/.test(text) && (trimmed === "" || trimmed.startsWith("{") || trimmed.includes(":"));
}
