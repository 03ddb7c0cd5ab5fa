/**
 * A content-hash cache that lets `gen` and `gen --check` skip scanning and formatting when nothing that
 * could change the registry has changed.
 *
 * An entry says: "these exact inputs produce a registry with this SHA-256". The inputs are the bytes
 * of every file in the migrations folder and its file names, the options, the tsconfig chain, every
 * prettier and editorconfig file from the registry's folder up to the root, and the bytes of
 * stepwise's own codegen and shared source plus the prettier and ts-morph versions. Files outside the
 * folder that a migration imports (`migrations/lib/*.ts`, `src/shared.ts`) are found only by scanning,
 * so the entry records each one the scan read, with the SHA-256 of the bytes it read (or that it was
 * absent), and a hit requires every one to be unchanged. A hit also requires the registry on disk to
 * hash to the recorded value, which is the hash of the text `gen` rendered, not of what it believes it
 * wrote: a truncated write or a hand edit is still caught.
 *
 * The cache can only ever cost a scan: an entry that is missing, truncated, corrupt, unreadable or
 * unwritable is a miss, and no function here throws.
 *
 * Whenever an input cannot be captured by bytes (a JavaScript prettier config, plugins, a shared
 * config named by package, a tsconfig that extends a package), there is no fingerprint and the cache
 * is not used: a miss costs time, a wrong hit would let a stale registry pass CI.
 *
 * Nothing here loads ts-morph or prettier; that is the point.
 */
import { createHash, type Hash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "./write-file.js";
import { NESTED_SCAN_DEPTH } from "./foreign-migrations.js";
import { PACKAGE_NAME } from "../src/shared/package-name.js";

/** Bumped when the entry format or the set of inputs changes. */
const CACHE_FORMAT = 6;

/** The inputs of one `gen` run that are not files. */
export interface GenCacheKey {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  readonly runtimeModule: string;
  /** The dialect the registry is generated for, when not sqlite: the same folder gives another registry per dialect. */
  readonly dialect?: string;
  /** The runtime the registry is for (`d1`), when set: it changes which migrations are refused. */
  readonly target?: string;
}

/**
 * The key `gen` uses for these paths: the dialect is named only when not sqlite, so a sqlite key is
 * the one callers built before dialects. The runtime commands' freshness check builds the same key,
 * so a registry `gen` vouched for is recognised without a scan.
 */
export function genCacheKeyFor(options: { projectRoot: string; migrationsDir: string; registryFile: string; runtimeModule?: string; dialect?: string; target?: string }): GenCacheKey {
  return {
    projectRoot: options.projectRoot,
    migrationsDir: options.migrationsDir,
    registryFile: options.registryFile,
    runtimeModule: options.runtimeModule ?? PACKAGE_NAME,
    ...(options.dialect !== undefined && options.dialect !== "sqlite" ? { dialect: options.dialect } : {}),
    ...(options.target !== undefined ? { target: options.target } : {}),
  };
}

/** What a cache entry records about a registry known to be current. */
export interface GenCacheEntry {
  readonly fingerprint: string;
  readonly registrySha256: string;
  readonly migrationCount: number;
  readonly latestVersion: number;
  /** Files outside the migrations folder that the scan read, and {@link hashDependency} of them then (`null`: absent). */
  readonly dependencies: readonly GenCacheDependency[];
}

/** One file a scan read, or looked for, outside the migrations folder. */
export interface GenCacheDependency {
  readonly file: string;
  readonly sha256: string | null;
}

/** The conventional cache folder for a project: ignored by every VCS setup and wiped by `npm ci`. */
export function defaultGenCacheDir(projectRoot: string): string | null {
  const modules = path.join(projectRoot, "node_modules");
  return existsSync(modules) ? path.join(modules, ".cache", "stepwise") : null;
}

/** Hashes every input of a `gen` run, or returns `null` when some input cannot be captured safely. */
export function fingerprintGenInputs(key: GenCacheKey): string | null {
  try {
    const hash = createHash("sha256");
    hash.update(`stepwise-gen-cache:${CACHE_FORMAT}\0${JSON.stringify(key)}\0`);
    hashToolchain(hash);
    if (!hashMigrations(hash, key.migrationsDir)) return null;
    if (!hashTsconfigChain(hash, path.join(key.projectRoot, "tsconfig.json"), new Set())) return null;
    if (!hashFormatterConfig(hash, path.dirname(key.registryFile))) return null;
    return hash.digest("hex");
  } catch {
    // An input that cannot be read (permissions, a file replaced mid-read) cannot be vouched for.
    return null;
  }
}

/** The SHA-256 of a file's bytes now, or `null` when it does not exist or cannot be read as a file. */
export function hashFileIfPresent(file: string): string | null {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return null;
  }
}

/**
 * How a file the scan read is recorded as a dependency: the SHA-256 of its bytes and, when the path
 * reaches it through a symlink, of where it really is, so a link pointed at another file with the
 * same bytes still misses (the scan tells files apart by real path). `null`: absent or unreadable.
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

/**
 * The entry for these inputs, when the registry on disk is byte for byte the one it recorded;
 * otherwise `null`.
 */
export function findCurrentRegistry(cacheDir: string, key: GenCacheKey, fingerprint: string): GenCacheEntry | null {
  const entry = readEntry(entryFile(cacheDir, key));
  if (!entry || entry.fingerprint !== fingerprint) return null;
  for (const dependency of entry.dependencies) {
    if (hashDependency(dependency.file) !== dependency.sha256) return null;
  }
  const registrySha256 = hashFileIfPresent(key.registryFile);
  return registrySha256 !== null && registrySha256 === entry.registrySha256 ? entry : null;
}

/**
 * Records that `fingerprint`'s inputs produce a registry with these bytes, but only when the registry
 * on disk really holds them; otherwise drops the entry. Failures are ignored: it is a cache.
 */
export function rememberCurrentRegistry(cacheDir: string, key: GenCacheKey, entry: GenCacheEntry): void {
  if (hashFileIfPresent(key.registryFile) !== entry.registrySha256) {
    forgetRegistry(cacheDir, key);
    return;
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileAtomic(entryFile(cacheDir, key), `${JSON.stringify(entry)}\n`);
  } catch {
    // A read-only or full node_modules just means no cache; the old entry must not outlive this run.
    forgetRegistry(cacheDir, key);
  }
}

/** Drops the entry for these inputs, so a failed or stale run can never be mistaken for a current one. */
export function forgetRegistry(cacheDir: string, key: GenCacheKey): void {
  try {
    rmSync(entryFile(cacheDir, key), { force: true });
  } catch {
    // An entry that cannot be removed still cannot produce a false hit: it names the old registry bytes.
  }
}

function entryFile(cacheDir: string, key: GenCacheKey): string {
  const id = createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 16);
  return path.join(cacheDir, `gen-${id}.json`);
}

function readEntry(file: string): GenCacheEntry | null {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<GenCacheEntry>;
    if (typeof parsed.fingerprint !== "string" || typeof parsed.registrySha256 !== "string") return null;
    if (typeof parsed.migrationCount !== "number" || typeof parsed.latestVersion !== "number") return null;
    if (!/^[0-9a-f]{64}$/.test(parsed.registrySha256) || !Array.isArray(parsed.dependencies)) return null;
    for (const dependency of parsed.dependencies as unknown[]) {
      const { file, sha256 } = (dependency ?? {}) as Partial<GenCacheDependency>;
      if (typeof file !== "string" || !(sha256 === null || (typeof sha256 === "string" && /^[0-9a-f]{64}$/.test(sha256)))) return null;
    }
    return parsed as GenCacheEntry;
  } catch {
    return null;
  }
}

/** stepwise's own code (codegen and the shared parse and checksum code) and its formatter and parser. */
function hashToolchain(hash: Hash): void {
  const codegenDir = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [codegenDir, path.join(codegenDir, "..", "src")]) hashFilesOf(hash, dir);
  const require = createRequire(import.meta.url);
  for (const name of ["prettier", "ts-morph"]) {
    let manifest = "missing";
    try {
      manifest = readFileSync(findPackageJson(require.resolve(name), name) ?? "", "utf8");
    } catch {
      // Not installed: gen itself will fail, and the fingerprint still differs from an installed one.
    }
    hash.update(`package:${name}\0${manifest}\0`);
  }
}

function findPackageJson(resolved: string, name: string): string | null {
  let dir = path.dirname(resolved);
  for (;;) {
    const candidate = path.join(dir, "package.json");
    if (existsSync(candidate)) {
      try {
        if ((JSON.parse(readFileSync(candidate, "utf8")) as { name?: string }).name === name) return candidate;
      } catch {
        // Keep walking up.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function hashFilesOf(hash: Hash, dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!entry.isFile()) continue;
    hash.update(`file:${entry.name}\0`);
    hash.update(readFileSync(path.join(dir, entry.name)));
    hash.update("\0");
  }
}

/** Every entry's name and kind, and every file's bytes; subfolders only by name, as scan reads only files. */
function hashMigrations(hash: Hash, migrationsDir: string): boolean {
  if (!existsSync(migrationsDir)) return false;
  hashFolder(hash, migrationsDir, 0);
  return true;
}

/**
 * The folder's names and files' bytes, and below it the names the scan looks at for migrations gen
 * would not read (foreign-migrations.ts: subfolders down to NESTED_SCAN_DEPTH, and the first bytes of
 * a subfolder's files never matter there, only their names).
 */
function hashFolder(hash: Hash, dir: string, depth: number): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    hash.update(`${entry.isFile() ? "file" : entry.isDirectory() ? "dir" : "other"}:${entry.name}\0`);
    if (entry.isFile() && depth === 0) {
      hash.update(readFileSync(path.join(dir, entry.name)));
      hash.update("\0");
    }
    if (entry.isDirectory() && depth < NESTED_SCAN_DEPTH && entry.name !== "node_modules") {
      hash.update("{\0");
      hashFolder(hash, path.join(dir, entry.name), depth + 1);
      hash.update("}\0");
    }
  }
}

/** The tsconfig decides the import ending; follow relative `extends`, give up on packages. */
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
  const targets = [...match[1]!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  for (const target of targets) {
    if (!target.startsWith(".") && !path.isAbsolute(target)) return false;
    let resolved = path.resolve(path.dirname(file), target);
    if (!resolved.endsWith(".json") && !existsSync(resolved)) resolved += ".json";
    if (!hashTsconfigChain(hash, resolved, seen)) return false;
  }
  return true;
}

const PRETTIER_DATA_FILES = [".prettierrc", ".prettierrc.json", ".prettierrc.yaml", ".prettierrc.yml", ".prettierrc.json5", ".prettierrc.toml"];
const PRETTIER_CODE_FILES = [".prettierrc.js", ".prettierrc.cjs", ".prettierrc.mjs", ".prettierrc.ts", ".prettierrc.cts", ".prettierrc.mts"].concat(
  ["js", "cjs", "mjs", "ts", "cts", "mts"].map((extension) => `prettier.config.${extension}`),
);

/**
 * Every file prettier's config resolution could read, from the registry's folder up to the root.
 * Hashing more folders than prettier would stop at only costs a spurious miss.
 */
function hashFormatterConfig(hash: Hash, startDir: string): boolean {
  let dir = path.resolve(startDir);
  for (;;) {
    for (const name of PRETTIER_CODE_FILES) if (existsSync(path.join(dir, name))) return false;
    for (const name of [...PRETTIER_DATA_FILES, ".editorconfig", "package.json", "package.yaml"]) {
      const file = path.join(dir, name);
      if (!existsSync(file)) continue;
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch {
        return false;
      }
      if (name.startsWith(".prettierrc") && !isSelfContainedPrettierConfig(text)) return false;
      if (name === "package.json" && !isSelfContainedPackageJson(text)) return false;
      if (name === "package.yaml" && /^prettier\s*:/m.test(text)) return false;
      hash.update(`config:${file}\0${text}\0`);
    }
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

/** A config that names a shared config package, or loads plugins, depends on code we cannot hash. */
function isSelfContainedPrettierConfig(text: string): boolean {
  if (/plugins/.test(text)) return false;
  const trimmed = text.trim();
  return trimmed === "" || trimmed.startsWith("{") || trimmed.includes(":");
}

function isSelfContainedPackageJson(text: string): boolean {
  try {
    const prettier = (JSON.parse(text) as { prettier?: unknown }).prettier;
    if (prettier === undefined) return true;
    return typeof prettier === "object" && prettier !== null && !("plugins" in prettier);
  } catch {
    return false;
  }
}
