/**
 * `stepwise gen`: scan, validate, render, format, then write atomically or, with `check`, compare.
 * Nothing is written unless every step succeeded, so a failed run leaves the old registry as it was.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { readRecordedEntries } from "./read-registry.js";
import { findCurrentRegistry, fingerprintGenInputs, forgetRegistry, hashRegistryText, rememberCurrentRegistry, type GenCacheDependency, type GenCacheKey } from "./gen-cache.js";
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
  /** Module the registry imports types from. Default `"stepwise"`. */
  readonly runtimeModule?: string;
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
 * {@link FileWriteError} when the registry cannot be written in full (the old one is then kept).
 */
export async function generateRegistry(options: GenerateOptions): Promise<GenerateResult> {
  const cacheDir = options.cacheDir ?? null;
  const cacheKey: GenCacheKey = {
    projectRoot: options.projectRoot,
    migrationsDir: options.migrationsDir,
    registryFile: options.registryFile,
    runtimeModule: options.runtimeModule ?? "stepwise",
  };
  const fingerprint = cacheDir ? fingerprintGenInputs(cacheKey) : null;
  if (cacheDir && fingerprint) {
    const known = findCurrentRegistry(cacheDir, cacheKey, fingerprint);
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
    if (result.ok && registryText !== null && fingerprint && fingerprintGenInputs(cacheKey) === fingerprint) {
      const { migrationCount, latestVersion } = result;
      rememberCurrentRegistry(cacheDir, cacheKey, { fingerprint, registrySha256: hashRegistryText(registryText), migrationCount, latestVersion, dependencies });
    } else {
      forgetRegistry(cacheDir, cacheKey);
    }
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
 * Scans, renders and formats without touching the registry file: what {@link generateRegistry}
 * would write. Golden tests and tools that want the text without writing it use this.
 */
export async function buildRegistrySource(
  options: Pick<GenerateOptions, "projectRoot" | "migrationsDir" | "registryFile" | "runtimeModule">,
): Promise<RegistrySourceResult> {
  // Loaded here, not at the top, so a cache hit never pays for ts-morph and prettier.
  const [{ scanMigrations }, { renderRegistry }, { resolveImportExtension }] = await Promise.all([
    import("./scan.js"),
    import("./render.js"),
    import("./module-resolution.js"),
  ]);
  const scan = scanMigrations({ projectRoot: options.projectRoot, migrationsDir: options.migrationsDir });
  if (scan.problems.length > 0) return { ok: false, problems: sortProblems(scan.problems), migrations: scan.migrations };
  const source = renderRegistry({
    migrations: scan.migrations,
    registryFile: options.registryFile,
    importExtension: resolveImportExtension(options.projectRoot),
    migrationsDirLabel: toPortablePath(path.relative(options.projectRoot, options.migrationsDir)) || ".",
    runtimeModule: options.runtimeModule,
  });
  return { ok: true, source: await formatWithProjectConfig(source, options.registryFile), migrations: scan.migrations };
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
      message: `cannot read the registry (${reason}); make ${registryLabel} a readable file, or delete it and run "stepwise gen"`,
    };
    return done({ ok: false, status: "invalid", problems: [problem], ...summary });
  }

  if (previous === formatted) return done({ ok: true, status: "unchanged", problems: [], ...summary }, formatted);
  if (options.check) {
    return done({ ok: false, status: "stale", problems: describeStaleness(previous, built.migrations, registryLabel), ...summary });
  }
  writeFileAtomic(options.registryFile, formatted);
  return done({ ok: true, status: "written", problems: [], ...summary }, formatted);
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
function describeStaleness(previous: string | null, migrations: readonly ScannedMigration[], registryLabel: string): Problem[] {
  const fix = `run "stepwise gen" (npm run gen) and commit ${registryLabel}`;
  if (previous === null) {
    return [{ code: "REGISTRY_STALE", file: registryLabel, line: 1, column: 1, message: `the registry does not exist; ${fix}` }];
  }
  const recorded = readRecordedEntries(previous);
  const problems: Problem[] = [];
  const current = new Set<string>();
  for (const migration of migrations) {
    current.add(migration.file);
    const entry = recorded.get(migration.file);
    if (entry === undefined) {
      problems.push({ code: "REGISTRY_STALE", file: migration.file, line: 1, column: 1, message: `this migration is not in ${registryLabel}; ${fix}` });
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
      });
    }
  }
  for (const entry of recorded.values()) {
    if (!current.has(entry.file)) {
      problems.push({ code: "REGISTRY_STALE", file: registryLabel, line: entry.line, column: 1, message: `the registry still lists ${entry.file}, which no longer exists; ${fix}` });
    }
  }
  if (problems.length === 0) {
    problems.push({ code: "REGISTRY_STALE", file: registryLabel, line: 1, column: 1, message: `the registry differs from what gen writes (edited by hand, or formatted differently); ${fix}` });
  }
  return sortProblems(problems);
}
