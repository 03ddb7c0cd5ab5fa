/**
 * `stepwise gen`: scan, validate, render, format, then write atomically or, with `check`, compare.
 * Nothing is written unless every step succeeded, so a failed run leaves the old registry as it was.
 */
import { findTargetProblems, type Target } from "./d1-target.js";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { SqlDialect } from "../src/core/types.js";
import { isMigrationLike } from "./migration-file.js";
import { readRecordedDialect, readRecordedEntries } from "./read-registry.js";
import { REGISTRY_HEADER } from "./render.js";
import { findCurrentRegistry, fingerprintGenInputs, forgetRegistry, genCacheKeyFor, hashRegistryText, rememberCurrentRegistry, type GenCacheDependency, type GenCacheKey } from "./gen-cache.js";
import { toPortablePath } from "./portable-path.js";
import { sortProblems, type Problem } from "./problems.js";
import type { ScannedMigration } from "./scan.js";
import { writeFileAtomic } from "./write-file.js";

/** Inputs for {@link generateRegistry}; paths are absolute. */
export interface GenerateOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  /** Compare with the file on disk instead of writing. Default `false`. */
  readonly check?: boolean;
  /** Module the registry imports types from. Default: the package's name (`PACKAGE_NAME`). */
  readonly runtimeModule?: string;
  /**
   * The SQL dialect the migrations are written in (`sqlite` or `postgres`): how their SQL is
   * tokenised, checked and hashed, and what the registry records for the runtime to check against
   * its driver. Default `sqlite`.
   */
  readonly dialect?: SqlDialect;
  /** The runtime the registry is for, when it restricts migrations (`d1`: SQL only; see `d1-target.ts`). */
  readonly target?: Target;
  /**
   * Folder for the content-hash cache (see `gen-cache.ts`) that skips scanning and formatting when no
   * input changed. Default `null`: no cache. The bin passes `node_modules/.cache/stepwise`.
   */
  readonly cacheDir?: string | null;
}

/** What happened. `problems` is empty exactly when `ok` is true. */
export interface GenerateResult {
  readonly ok: boolean;
  /**
   * `written` (the file changed), `unchanged` (already current, nothing written), `stale` (`check`
   * found a difference) or `invalid` (the migrations have problems; nothing was written).
   */
  readonly status: "written" | "unchanged" | "stale" | "invalid";
  readonly problems: readonly Problem[];
  readonly registryFile: string;
  readonly migrationCount: number;
  readonly latestVersion: number;
}

/** The registry text `gen` would write now, or the problems that stop it. */
export type RegistrySourceResult =
  | { readonly ok: true; readonly source: string; readonly migrations: readonly ScannedMigration[] }
  | { readonly ok: false; readonly problems: readonly Problem[]; readonly migrations: readonly ScannedMigration[] };

/**
 * Runs `gen` or `gen --check`. Never throws for bad migrations; only for I/O failures, such as
 * `FILE_WRITE_FAILED` when the registry cannot be written in full (the old one is then kept).
 */
export async function generateRegistry(options: GenerateOptions): Promise<GenerateResult> {
  const cacheDir = options.cacheDir ?? null;
  const cacheKey: GenCacheKey = genCacheKeyFor(options);
  const unusableRegistry = describeUnusableRegistryPath(options) ?? describeForeignRegistryTarget(options);
  if (unusableRegistry) {
    return { ok: false, status: "invalid", problems: [unusableRegistry], registryFile: options.registryFile, migrationCount: 0, latestVersion: 0 };
  }
  const fingerprint = cacheDir ? tryCache(() => fingerprintGenInputs(cacheKey)) : null;
  if (cacheDir && fingerprint) {
    const known = tryCache(() => findCurrentRegistry(cacheDir, cacheKey, fingerprint));
    if (known) {
      const { migrationCount, latestVersion } = known;
      return { ok: true, status: "unchanged", problems: [], registryFile: options.registryFile, migrationCount, latestVersion };
    }
  }
  let outcome: UncachedOutcome;
  try {
    outcome = await generateUncached(options);
  } catch (error) {
    if (cacheDir) forgetRegistry(cacheDir, cacheKey);
    throw error;
  }
  const { result, registryText, dependencies } = outcome;
  if (cacheDir) {
    // Only remember a result whose inputs did not move while it was computed, and vouch for the text
    // gen rendered: the cache re-reads the file and refuses if the disk holds anything else.
    tryCache(() => {
      if (result.ok && registryText !== null && fingerprint && fingerprintGenInputs(cacheKey) === fingerprint) {
        const { migrationCount, latestVersion } = result;
        rememberCurrentRegistry(cacheDir, cacheKey, { fingerprint, registrySha256: hashRegistryText(registryText), migrationCount, latestVersion, dependencies });
      } else {
        forgetRegistry(cacheDir, cacheKey);
      }
      return null;
    });
  }
  return result;
}

/** What {@link generateUncached} found, with what the cache needs to vouch for it. */
interface UncachedOutcome {
  readonly result: GenerateResult;
  /** The registry text gen rendered, when it got that far. */
  readonly registryText: string | null;
  readonly dependencies: readonly GenCacheDependency[];
}

/**
 * The cache only saves time, so a path it cannot read (the migrations "folder" is a file, a registry
 * path under a file) means no cache; the scan and the write then report the real cause.
 */
function tryCache<T>(use: () => T): T | null {
  try {
    return use();
  } catch {
    return null;
  }
}

/**
 * Scans, renders and formats without touching the registry file: what {@link generateRegistry}
 * would write. Golden tests and tools that want the text without writing it use this.
 */
export async function buildRegistrySource(options: Pick<GenerateOptions, "projectRoot" | "migrationsDir" | "registryFile" | "runtimeModule" | "dialect" | "target">): Promise<RegistrySourceResult> {
  // Loaded here, not at the top, so a cache hit never pays for ts-morph and prettier.
  const [{ scanMigrations, resolveImportExtension }, { renderRegistry }] = await Promise.all([import("./scan.js"), import("./render.js")]);
  const scan = scanMigrations({ projectRoot: options.projectRoot, migrationsDir: options.migrationsDir, dialect: options.dialect ?? "sqlite" });
  const problems = [...scan.problems, ...findTargetProblems(scan.migrations, options.target)];
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems), migrations: scan.migrations };
  const source = renderRegistry({
    migrations: scan.migrations,
    registryFile: options.registryFile,
    importExtension: resolveImportExtension(options.projectRoot),
    migrationsDirLabel: toPortablePath(path.relative(options.projectRoot, options.migrationsDir)) || ".",
    runtimeModule: options.runtimeModule,
    dialect: options.dialect ?? "sqlite",
  });
  try {
    return { ok: true, source: await formatWithProjectConfig(source, options.registryFile), migrations: scan.migrations };
  } catch (error) {
    return { ok: false, problems: [await describeFormatterFailure(error, options)], migrations: scan.migrations };
  }
}

/**
 * prettier throws on a config it cannot parse (or a plugin it cannot load); that is the project's
 * config to fix, so it is reported at the config file rather than as a crash.
 */
async function describeFormatterFailure(error: unknown, options: Pick<GenerateOptions, "projectRoot" | "registryFile">): Promise<Problem> {
  const prettier = await import("prettier");
  const configFile = await prettier.resolveConfigFile(options.registryFile).catch(() => null);
  const label = toPortablePath(path.relative(options.projectRoot, configFile ?? options.registryFile));
  const reason = (error instanceof Error ? error.message : String(error))
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .slice(0, 2)
    .join(" ");
  return {
    code: "FORMATTER_FAILED",
    file: label,
    line: 1,
    column: 1,
    message: `prettier could not format the registry with this project's config (${reason}); fix ${configFile ? "this config file" : "the prettier config that applies to the registry"}, then run "stepwise gen" again`,
  };
}

async function generateUncached(options: GenerateOptions): Promise<UncachedOutcome> {
  const registryLabel = toPortablePath(path.relative(options.projectRoot, options.registryFile));
  const built = await buildRegistrySource(options);
  const summary = {
    registryFile: options.registryFile,
    migrationCount: built.migrations.length,
    latestVersion: built.migrations.at(-1)?.version ?? 0,
  };
  const dependencies = collectDependencies(built.migrations);
  const done = (result: GenerateResult, registryText: string | null = null): UncachedOutcome => ({ result, registryText, dependencies });
  if (!built.ok) return done({ ok: false, status: "invalid", problems: built.problems, ...summary });

  const formatted = built.source;
  let previous: string | null;
  try {
    previous = existsSync(options.registryFile) ? readFileSync(options.registryFile, "utf8") : null;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    const problem: Problem = {
      code: "REGISTRY_UNREADABLE",
      file: registryLabel,
      line: 1,
      column: 1,
      message:
        reason === "EISDIR"
          ? `${registryLabel} is a folder, not the registry file; remove the folder, or point --out (or "registryFile" in the config) at a file such as generated/registry.ts`
          : `cannot read the registry (${reason}); make ${registryLabel} a readable file, or delete it and run "stepwise gen"`,
    };
    return done({ ok: false, status: "invalid", problems: [problem], ...summary });
  }

  if (previous === formatted) return done({ ok: true, status: "unchanged", problems: [], ...summary }, formatted);
  const dialectChange = previous === null ? null : describeDialectChange(previous, options.dialect ?? "sqlite", registryLabel);
  if (dialectChange !== null) return done({ ok: false, status: options.check ? "stale" : "invalid", problems: [dialectChange], ...summary });
  const blocked = findBlockingAncestor(options.registryFile);
  if (blocked !== null) {
    const blocker = toPortablePath(path.relative(options.projectRoot, blocked));
    const problem: Problem = {
      code: "REGISTRY_UNWRITABLE",
      file: registryLabel,
      line: 1,
      column: 1,
      message: `the registry cannot be written here: ${blocker} is a file, not a folder; choose another --out path (or "registryFile" in the config), or move that file away`,
    };
    return done({ ok: false, status: "invalid", problems: [problem], ...summary });
  }
  if (options.check) {
    return done({ ok: false, status: "stale", problems: describeStaleness(previous, built.migrations, registryLabel, genCommandOf(options.projectRoot)), ...summary });
  }
  writeFileAtomic(options.registryFile, formatted);
  return done({ ok: true, status: "written", problems: [], ...summary }, formatted);
}

/**
 * A registry on disk generated for another dialect. An app with both dialects keeps a registry per
 * dialect, so gen pointed at the other one's file (a missing `--out`, a config without a folder for
 * this dialect) would replace it; that is refused. A registry that records no dialect but lists
 * migrations was written before dialects, and is sqlite.
 */
function describeDialectChange(previous: string, dialect: SqlDialect, registryLabel: string): Problem | null {
  const recorded = readRecordedDialect(previous) ?? (readRecordedEntries(previous).size > 0 ? "sqlite" : null);
  if (recorded === null || recorded === dialect) return null;
  return {
    code: "REGISTRY_DIALECT_CHANGED",
    file: registryLabel,
    line: 1,
    column: 1,
    message: `${registryLabel} was generated for ${recorded}, and this run is for ${dialect}; point --out (or "registryFile" for ${dialect} in the config) at this dialect's own registry, such as generated/registry.${dialect}.ts, or delete ${registryLabel} if the project really moves to ${dialect}`,
  };
}

/** Every file outside the migrations folder that the scan read or looked for, once, in a stable order. */
function collectDependencies(migrations: readonly ScannedMigration[]): GenCacheDependency[] {
  const byFile = new Map<string, string | null>();
  for (const migration of migrations) {
    for (const dependency of migration.dependencies ?? []) byFile.set(dependency.file, dependency.sha256);
  }
  return [...byFile.keys()].sort().map((file) => ({ file, sha256: byFile.get(file)! }));
}

/**
 * A registry path that is a folder, a pipe or a device: reading a pipe would block gen forever, so it
 * is refused before anything reads it.
 */
function describeUnusableRegistryPath(options: Pick<GenerateOptions, "projectRoot" | "registryFile">): Problem | null {
  let stats;
  try {
    stats = statSync(options.registryFile);
  } catch {
    // Absent is normal, and an unusable parent is reported where the registry is written.
    return null;
  }
  if (stats.isFile()) return null;
  const label = toPortablePath(path.relative(options.projectRoot, options.registryFile));
  const what = stats.isDirectory() ? "a folder" : "not a regular file (a pipe, socket or device)";
  return {
    code: "REGISTRY_UNREADABLE",
    file: label,
    line: 1,
    column: 1,
    message: `${label} is ${what}, not the registry file; remove it, or point --out (or "registryFile" in the config) at a file such as generated/registry.ts`,
  };
}

/**
 * An `--out` that names something other than a registry: an existing file without the registry's
 * header (a migration, package.json, any source file), or a migration-like name in the migrations
 * folder. Writing the registry there would destroy that file or add a bogus migration, so gen
 * refuses before the cache or the scan. A missing or empty file, or a registry gen wrote before
 * (truncated or edited, as long as its header survives), is fine.
 */
function describeForeignRegistryTarget(options: Pick<GenerateOptions, "projectRoot" | "migrationsDir" | "registryFile">): Problem | null {
  const label = toPortablePath(path.relative(options.projectRoot, options.registryFile));
  const refuse = (what: string): Problem => ({
    code: "REGISTRY_UNWRITABLE",
    file: label,
    line: 1,
    column: 1,
    message: `${label} ${what}, so gen will not overwrite it with the registry; point --out (or "registryFile" in the config) at a file such as generated/registry.ts`,
  });
  if (path.resolve(path.dirname(options.registryFile)) === path.resolve(options.migrationsDir) && isMigrationLike(path.basename(options.registryFile))) {
    return refuse("is named like a migration in the migrations folder");
  }
  let head: string;
  try {
    head = readFileSync(options.registryFile, "utf8").slice(0, REGISTRY_HEADER_SEARCH_LENGTH);
  } catch {
    // Absent is normal; an unreadable file is reported where the registry is read.
    return null;
  }
  // An emptied registry (a crash, a bad merge) is still the registry's place; gen rewrites it.
  return head.trim() === "" || head.includes(REGISTRY_HEADER) ? null : refuse(`exists and is not a registry written by stepwise gen (it lacks the "${REGISTRY_HEADER}" header)`);
}

/** A formatter or a licence banner may put a few lines above the header; it is never further down. */
const REGISTRY_HEADER_SEARCH_LENGTH = 4096;

/** The nearest existing ancestor of `file` when it is not a folder, so nothing can be created under it. */
function findBlockingAncestor(file: string): string | null {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      return statSync(dir).isDirectory() ? null : dir;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") return null;
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * Formats with the prettier config that applies to the registry file, as the project's editor would.
 * Unless the config picks a parser, babel-ts is used: for the registry's plain literals it prints the
 * same bytes as the typescript parser, in about half the time.
 */
async function formatWithProjectConfig(source: string, registryFile: string): Promise<string> {
  const prettier = await import("prettier");
  // No config cache: a long-lived process (a test run, a watcher) must see an edited config.
  const config = (await prettier.resolveConfig(registryFile, { editorconfig: true, useCache: false })) ?? {};
  return prettier.format(source, { parser: "babel-ts", ...config, filepath: registryFile });
}

/** Names what changed, so `--check` says which migration was not registered rather than just "differs". */
function describeStaleness(previous: string | null, migrations: readonly ScannedMigration[], registryLabel: string, genCommand: string): Problem[] {
  const fix = `run "${genCommand}" and commit ${registryLabel}`;
  if (previous === null) {
    return [{ code: "REGISTRY_STALE", file: registryLabel, line: 1, column: 1, message: `the registry does not exist; ${fix}`, staleness: { change: "registry", file: registryLabel } }];
  }
  const recorded = readRecordedEntries(previous);
  const problems: Problem[] = [];
  const current = new Set<string>();
  for (const migration of migrations) {
    current.add(migration.file);
    const entry = recorded.get(migration.file);
    if (entry === undefined) {
      problems.push({
        code: "REGISTRY_STALE",
        file: migration.file,
        line: 1,
        column: 1,
        message: `this migration is not in ${registryLabel}; ${fix}`,
        staleness: { change: "added", file: migration.file },
      });
    } else if (entry.checksum !== migration.checksum || entry.description !== migration.description) {
      // A SQL description sits in a comment, outside the checksum, so it is compared on its own.
      const imports = migration.localImports ?? [];
      const what = imports.length === 0 ? "this migration" : `this migration or a file it imports (${imports.join(", ")})`;
      problems.push({
        code: "REGISTRY_STALE",
        file: migration.file,
        line: 1,
        column: 1,
        message: `${what} changed since ${registryLabel} was generated; ${fix}`,
        ...(imports.length > 0 ? { relatedFiles: imports } : {}),
        staleness: { change: "changed", file: migration.file },
      });
    } else if (entry.async !== migration.async) {
      // Same code, other mark: a registry edited by hand, or a return type that changed with a
      // package's types. The sync API's refusal of async migrations rests on the mark, so it counts.
      const was = entry.async ? "async" : "sync";
      problems.push({
        code: "REGISTRY_STALE",
        file: migration.file,
        line: 1,
        column: 1,
        message: `${registryLabel} records this migration as ${was}, but it is not; ${fix}`,
        staleness: { change: "changed", file: migration.file },
      });
    }
  }
  for (const entry of recorded.values()) {
    if (!current.has(entry.file)) {
      problems.push({
        code: "REGISTRY_STALE",
        file: registryLabel,
        line: entry.line,
        column: 1,
        message: `the registry still lists ${entry.file}, which no longer exists; ${fix}`,
        staleness: { change: "removed", file: entry.file },
      });
    }
  }
  if (problems.length === 0) {
    problems.push({
      code: "REGISTRY_STALE",
      file: registryLabel,
      line: 1,
      column: 1,
      message: `the registry differs from what gen writes (edited by hand, or formatted differently); ${fix}`,
      staleness: { change: "registry", file: registryLabel },
    });
  }
  return sortProblems(problems);
}

/** A script command that runs `gen` and nothing else, with no arguments that change what it writes. */
const GEN_SCRIPT = /^\s*(?:npx\s+)?(?:stepwise|tsx\s+\S*codegen\/bin\.ts)\s+gen\s*$/;

/**
 * How a message tells this project to regenerate its registry: `npm run <name>` for the project's
 * script that runs `stepwise gen` (as the README's guide adds it, or through npx, or stepwise's own
 * bin through tsx as in its repo), else `npx stepwise gen`: a new app has no `gen` script, and the
 * bin itself always works. Never throws: an unreadable package.json means no script.
 */
export function genCommandOf(projectRoot: string): string {
  let scripts: unknown;
  try {
    scripts = (JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { scripts?: unknown }).scripts;
  } catch {
    return "npx stepwise gen";
  }
  if (scripts === null || typeof scripts !== "object") return "npx stepwise gen";
  const entries = Object.entries(scripts as Record<string, unknown>);
  // The usual name first, so a project with both "gen" and "codegen" is told the shorter one.
  const ordered = [...entries.filter(([name]) => name === "gen"), ...entries.filter(([name]) => name !== "gen")];
  const found = ordered.find(([name, command]) => typeof command === "string" && GEN_SCRIPT.test(command) && /^[\w:.-]+$/.test(name));
  return found ? `npm run ${found[0]}` : "npx stepwise gen";
}
