/**
 * `stepwise gen`: scan, validate, render, format, then write atomically or, with `check`, compare.
 * Nothing is written unless every step succeeded, so a failed run leaves the old registry as it was.
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { SqlDialect } from "../src/core/types.js";
import type { Target } from "./config.js";
import { findCurrentRegistry, fingerprintGenInputs, forgetRegistry, genCacheKeyFor, hashRegistryText, rememberCurrentRegistry } from "./gen-cache.js";
import { isMigrationLike } from "./migration-file.js";
import { joinLines, problemAt, projectPath, sortProblems, type Problem, type RegistryChangeKind } from "./problems.js";
import { readRecordedDialect, readRecordedEntries } from "./read-registry.js";
import { REGISTRY_HEADER, renderRegistry } from "./render.js";
import { resolveImportExtension, scanMigrations, type ScannedMigration } from "./scan.js";
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
  /** The runtime the registry is for, when it restricts migrations (`d1`: SQL only). */
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
  const summary = { registryFile: options.registryFile, migrationCount: 0, latestVersion: 0 };
  const refused = refuseRegistryPath(options);
  if (refused) return { ok: false, status: "invalid", problems: [refused], ...summary };
  const cacheDir = options.cacheDir ?? null;
  const key = genCacheKeyFor(options);
  const fingerprint = cacheDir === null ? null : fingerprintGenInputs(key);
  const known = cacheDir === null || fingerprint === null ? null : findCurrentRegistry(cacheDir, key, fingerprint);
  if (known) return { ok: true, status: "unchanged", problems: [], ...summary, migrationCount: known.migrationCount, latestVersion: known.latestVersion };
  let built: RegistrySourceResult;
  let result: GenerateResult;
  try {
    built = await buildRegistrySource(options);
    result = writeOrCompare(options, built);
  } catch (error) {
    if (cacheDir !== null) forgetRegistry(cacheDir, key);
    throw error;
  }
  if (cacheDir === null) return result;
  // Only a result whose inputs did not move while it was computed is remembered, with the text gen rendered.
  if (result.ok && built.ok && fingerprint !== null && fingerprintGenInputs(key) === fingerprint) {
    const byFile = new Map(built.migrations.flatMap((migration) => (migration.dependencies ?? []).map((dependency) => [dependency.file, dependency.sha256] as const)));
    const dependencies = [...byFile.keys()].sort().map((file) => ({ file, sha256: byFile.get(file)! }));
    rememberCurrentRegistry(cacheDir, key, { fingerprint, registrySha256: hashRegistryText(built.source), migrationCount: result.migrationCount, latestVersion: result.latestVersion, dependencies });
  } else forgetRegistry(cacheDir, key);
  return result;
}

/** Scans, renders and formats without touching the registry file: what {@link generateRegistry} would write. */
export async function buildRegistrySource(options: Pick<GenerateOptions, "projectRoot" | "migrationsDir" | "registryFile" | "runtimeModule" | "dialect" | "target">): Promise<RegistrySourceResult> {
  const dialect = options.dialect ?? "sqlite";
  const { migrations, problems } = scanMigrations({ projectRoot: options.projectRoot, migrationsDir: options.migrationsDir, dialect });
  const d1 = `this project's registry is for D1 ("target": "d1"), which applies a migration atomically only as one batch of SQL with its history row; a TypeScript migration cannot be atomic there. Write it as a .sql migration, or, if it may be left half done, add transaction: false to its defineMigration`;
  for (const migration of options.target === "d1" ? migrations : []) if (migration.kind === "ts" && migration.transaction) problems.push(problemAt("TS_MIGRATION_ON_D1", migration.file, d1));
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems), migrations };
  const migrationsDirLabel = projectPath(options.projectRoot, options.migrationsDir) || ".";
  const source = renderRegistry({
    migrations,
    registryFile: options.registryFile,
    importExtension: resolveImportExtension(options.projectRoot),
    migrationsDirLabel,
    runtimeModule: options.runtimeModule,
    dialect,
  });
  const prettier = await import("prettier");
  try {
    // No config cache: a long-lived process (a watcher) must see an edited config. babel-ts prints the
    // registry's literals as the typescript parser does, in about half the time.
    const config = (await prettier.resolveConfig(options.registryFile, { editorconfig: true, useCache: false })) ?? {};
    return { ok: true, source: await prettier.format(source, { parser: "babel-ts", ...config, filepath: options.registryFile }), migrations };
  } catch (error) {
    // A config prettier cannot parse (or a plugin it cannot load) is the project's to fix, reported at the config file.
    const configFile = await prettier.resolveConfigFile(options.registryFile).catch(() => null);
    const reason = joinLines(error instanceof Error ? error.message : String(error), 2);
    const fix = configFile ? "this config file" : "the prettier config that applies to the registry";
    const message = `prettier could not format the registry with this project's config (${reason}); fix ${fix}, then run "stepwise gen" again`;
    return { ok: false, problems: [problemAt("FORMATTER_FAILED", projectPath(options.projectRoot, configFile ?? options.registryFile), message)], migrations };
  }
}

/** Compares the rendered registry with the one on disk, and writes it unless `check`. */
function writeOrCompare(options: GenerateOptions, built: RegistrySourceResult): GenerateResult {
  const label = projectPath(options.projectRoot, options.registryFile);
  const summary = { registryFile: options.registryFile, migrationCount: built.migrations.length, latestVersion: built.migrations.at(-1)?.version ?? 0 };
  const fail = (status: "stale" | "invalid", problems: Problem[]): GenerateResult => ({ ok: false, status, problems, ...summary });
  if (!built.ok) return fail("invalid", [...built.problems]);
  let previous: string | null = null;
  try {
    previous = readFileSync(options.registryFile, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    if (reason !== "ENOENT" && reason !== "ENOTDIR") {
      return fail("invalid", [problemAt("REGISTRY_UNREADABLE", label, `cannot read the registry (${reason}); make ${label} a readable file, or delete it and run "stepwise gen"`)]);
    }
  }
  if (previous === built.source) return { ok: true, status: "unchanged", problems: [], ...summary };
  // A registry of the other dialect is another registry (an app on both keeps one per dialect), never overwritten.
  const dialect = options.dialect ?? "sqlite";
  const recorded = previous === null ? null : (readRecordedDialect(previous) ?? (readRecordedEntries(previous).size > 0 ? "sqlite" : null));
  if (recorded !== null && recorded !== dialect) {
    const message = `${label} was generated for ${recorded}, and this run is for ${dialect}; point --out (or "registryFile" for ${dialect} in the config) at this dialect's own registry, such as generated/registry.${dialect}.ts, or delete ${label} if the project really moves to ${dialect}`;
    return fail(options.check ? "stale" : "invalid", [problemAt("REGISTRY_DIALECT_CHANGED", label, message)]);
  }
  const blocker = findBlockingAncestor(options.registryFile);
  if (blocker !== null) {
    const message = `the registry cannot be written here: ${projectPath(options.projectRoot, blocker)} is a file, not a folder; choose another --out path (or "registryFile" in the config), or move that file away`;
    return fail("invalid", [problemAt("REGISTRY_UNWRITABLE", label, message)]);
  }
  if (options.check) return fail("stale", describeStaleness(previous, built.migrations, label, genCommandOf(options.projectRoot)));
  writeFileAtomic(options.registryFile, built.source);
  return { ok: true, status: "written", problems: [], ...summary };
}

/**
 * A registry path gen must not read or overwrite: a folder or a pipe (reading one would block), an
 * existing file without the registry's header, or a migration-like name in the migrations folder.
 * An absent or emptied file, or a registry gen wrote before, is fine.
 */
function refuseRegistryPath(options: Pick<GenerateOptions, "projectRoot" | "migrationsDir" | "registryFile">): Problem | null {
  const label = projectPath(options.projectRoot, options.registryFile);
  const refuse = (what: string) =>
    problemAt("REGISTRY_UNWRITABLE", label, `${label} ${what}, so gen will not overwrite it with the registry; point --out (or "registryFile" in the config) at a file such as generated/registry.ts`);
  let stats = null;
  try {
    stats = statSync(options.registryFile);
  } catch {
    // Absent is normal; a file in the path is reported where the registry is written.
  }
  if (stats && !stats.isFile()) {
    const what = stats.isDirectory() ? "a folder" : "not a regular file (a pipe, socket or device)";
    return problemAt("REGISTRY_UNREADABLE", label, `${label} is ${what}, not the registry file; remove it, or point --out (or "registryFile" in the config) at a file such as generated/registry.ts`);
  }
  if (path.resolve(path.dirname(options.registryFile)) === path.resolve(options.migrationsDir) && isMigrationLike(path.basename(options.registryFile))) {
    return refuse("is named like a migration in the migrations folder");
  }
  let head: string;
  try {
    // A formatter or a licence banner may put a few lines above the header.
    head = readFileSync(options.registryFile, "utf8").slice(0, 4096);
  } catch {
    return null;
  }
  return head.trim() === "" || head.includes(REGISTRY_HEADER) ? null : refuse(`exists and is not a registry written by stepwise gen (it lacks the "${REGISTRY_HEADER}" header)`);
}

/** The nearest existing ancestor of `file` when it is not a folder, so nothing can be created under it. */
function findBlockingAncestor(file: string): string | null {
  for (let dir = path.dirname(file); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    try {
      return statSync(dir).isDirectory() ? null : dir;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") return null;
    }
  }
  return null;
}

/** Names what changed, so `--check` says which migration was not registered rather than just "differs". */
function describeStaleness(previous: string | null, migrations: readonly ScannedMigration[], label: string, genCommand: string): Problem[] {
  const fix = `run "${genCommand}" and commit ${label}`;
  const stale = (file: string, line: number, change: RegistryChangeKind, message: string, relatedFiles: readonly string[] = [], changed = file): Problem => ({
    ...problemAt("REGISTRY_STALE", file, `${message}; ${fix}`),
    line,
    ...(relatedFiles.length > 0 ? { relatedFiles } : {}),
    staleness: { change, file: changed },
  });
  if (previous === null) return [stale(label, 1, "registry", "the registry does not exist")];
  const recorded = readRecordedEntries(previous);
  const problems: Problem[] = [];
  for (const migration of migrations) {
    const entry = recorded.get(migration.file);
    recorded.delete(migration.file);
    if (entry === undefined) problems.push(stale(migration.file, 1, "added", `this migration is not in ${label}`));
    // A SQL description sits in a comment, outside the checksum, so it is compared on its own.
    else if (entry.checksum !== migration.checksum || entry.description !== migration.description) {
      const imports = migration.localImports ?? [];
      const what = imports.length === 0 ? "this migration" : `this migration or a file it imports (${imports.join(", ")})`;
      problems.push(stale(migration.file, 1, "changed", `${what} changed since ${label} was generated`, imports));
    } else if (entry.async !== migration.async) {
      // The sync API's refusal of async migrations rests on the mark, so a wrong mark is stale too.
      problems.push(stale(migration.file, 1, "changed", `${label} records this migration as ${entry.async ? "async" : "sync"}, but it is not`));
    }
  }
  for (const entry of recorded.values()) {
    problems.push(stale(label, entry.line, "removed", `the registry still lists ${entry.file}, which no longer exists`, [], entry.file));
  }
  if (problems.length === 0) problems.push(stale(label, 1, "registry", "the registry differs from what gen writes (edited by hand, or formatted differently)"));
  return sortProblems(problems);
}

/**
 * How a message tells this project to regenerate: `npm run <name>` for its script that runs exactly
 * `stepwise gen` (directly, through npx, or through tsx as in stepwise's repo), else `npx stepwise gen`.
 */
export function genCommandOf(projectRoot: string): string {
  let scripts: unknown;
  try {
    scripts = (JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { scripts?: unknown }).scripts;
  } catch {
    return "npx stepwise gen";
  }
  if (scripts === null || typeof scripts !== "object") return "npx stepwise gen";
  // The usual name first, so a project with both "gen" and "codegen" is told the shorter one.
  const entries = Object.entries(scripts as Record<string, unknown>).sort(([a], [b]) => Number(b === "gen") - Number(a === "gen"));
  const found = entries.find(([name, command]) => typeof command === "string" && /^\s*(?:npx\s+)?(?:stepwise|tsx\s+\S*codegen\/bin\.ts)\s+gen\s*$/.test(command) && /^[\w:.-]+$/.test(name));
  return found ? `npm run ${found[0]}` : "npx stepwise gen";
}
