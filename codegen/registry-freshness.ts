/**
 * The bin's runtime commands (`status`, `up`, `down`, …) compare the migrations folder with the
 * registry before they load it, and refuse a stale one: a migration edited, added or removed since
 * `gen` ran would otherwise run the old code, record the old checksum, or be silently ignored.
 *
 * The comparison is `gen --check` itself, so it agrees with CI to the byte, made cheap by the gen
 * cache: when `gen` (or an earlier check) vouched for these exact inputs, it costs hashing the folder
 * and nothing is parsed. Only a miss pays for ts-morph and prettier, and a miss that finds the
 * registry current records that, so the next command is cheap again.
 *
 * Nothing here is reachable from `stepwise-migrate/cli` (`createCli`) or an app's bundle: only the bin
 * imports it, and only when the project has a migrations folder and the codegen tools installed.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { StepwiseError } from "../src/core/errors.js";
import type { SqlDialect } from "../src/core/types.js";
import { isMigrationLike } from "./migration-file.js";
import type { Target } from "./d1-target.js";
import { findCurrentRegistry, fingerprintGenInputs, genCacheKeyFor } from "./gen-cache.js";
import { toPortablePath } from "./portable-path.js";
import { formatProblem, type Problem } from "./problems.js";
import type { RegistryChange, RegistryGenProblem } from "../src/core/errors.js";

/**
 * The registry is out of date with the migrations folder, so a runtime command of the bin refused to
 * run it. Nothing was opened or changed. The fix is `stepwise gen` (or `gen --watch` while editing);
 * when `problems` is not empty, gen itself fails until they are fixed.
 */
export function registryStaleError(fields: { registryFile: string; changes: readonly RegistryChange[]; problems: readonly RegistryGenProblem[] }): StepwiseError<"REGISTRY_STALE"> {
  const lines = fields.changes.map((change) => `  ${change.change.padEnd(8)} ${describeChange(change)}`);
  const problemLines = fields.problems.map((problem) => `  ${formatProblem(problem as Problem)}`);
  const fix =
    fields.problems.length > 0
      ? `Fix ${fields.problems.length === 1 ? "this problem" : "these problems"}, then run "stepwise gen" (npm run gen) and this command again:\n${problemLines.join("\n")}`
      : `Run "stepwise gen" (npm run gen) to regenerate it, then this command again; "stepwise gen --watch" keeps it current while you edit.`;
  const bypass = `To run the registry as it is anyway (such as "down" before "stepwise rebase" after a merge), set STEPWISE_SKIP_REGISTRY_CHECK=1.`;
  return new StepwiseError("REGISTRY_STALE", `${fields.registryFile} is out of date with the migrations folder, so nothing was run:\n${lines.join("\n")}\n${fix}\n${bypass}`, {
    registryFile: fields.registryFile,
    changes: fields.changes,
    problems: fields.problems,
  });
}

/** Where the check looks; paths are absolute. */
export interface RegistryFreshnessOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  readonly dialect: SqlDialect;
  /** The runtime the registry is generated for, as `gen` is told it (the config's `target`). */
  readonly target?: Target;
  /** The gen cache folder (`defaultGenCacheDir`), or `null` for none: then every check scans. */
  readonly cacheDir: string | null;
}

/**
 * Resolves when the registry is what `gen` would write from the folder now; otherwise throws
 * `REGISTRY_STALE`. Returns how it knew: `cached` (no scan) or `scanned`; or
 * `other-dialect` when the registry is of the other dialect, which the runtime then refuses.
 */
export async function assertRegistryFresh(options: RegistryFreshnessOptions): Promise<"cached" | "scanned" | "other-dialect"> {
  const key = genCacheKeyFor(options);
  if (options.cacheDir !== null) {
    const fingerprint = fingerprintGenInputs(key);
    if (fingerprint !== null && findCurrentRegistry(options.cacheDir, key, fingerprint) !== null) return "cached";
  }
  // A registry of the other dialect (a SQLite registry run with --driver pg, a postgres one without
  // "dialect" in the config) is not stale but the wrong file: the runtime refuses it as
  // REGISTRY_DIALECT_MISMATCH, which names the real cause. Read from the file, since a scan for this
  // dialect may stop first at SQL that only the other dialect accepts. What reads it, like gen, pulls
  // in ts-morph (and gen prettier), so both are loaded only on a miss: a hit parses nothing.
  const recordedDialect = await registryDialectOf(options.registryFile);
  if (recordedDialect !== null && recordedDialect !== options.dialect) return "other-dialect";
  const { generateRegistry } = await import("./generate.js");
  const result = await generateRegistry({ ...options, check: true });
  if (result.ok) return "scanned";
  // A registry of the other dialect (a SQLite registry run with --driver pg) is not stale but the
  // wrong file: the runtime refuses it as REGISTRY_DIALECT_MISMATCH, which names the real cause.
  if (result.problems.some((problem) => problem.code === "REGISTRY_DIALECT_CHANGED")) return "other-dialect";
  const registryFile = toPortablePath(path.relative(options.projectRoot, options.registryFile));
  const staleness = result.problems.flatMap((problem) => (problem.staleness ? [{ problem, staleness: problem.staleness }] : []));
  const others = result.problems.filter((problem) => problem.staleness === undefined);
  const changes: RegistryChange[] = staleness.map(({ problem, staleness: { change, file } }) => ({
    file,
    change,
    ...(problem.relatedFiles && problem.relatedFiles.length > 0 ? { relatedFiles: problem.relatedFiles } : {}),
  }));
  if (others.length > 0) changes.push(...(await describeFolderChanges(options, others)));
  throw registryStaleError({
    registryFile,
    changes: dedupe(changes),
    problems: others.map(({ code, file, line, column, message }) => ({ code, file, line, column, message })),
  });
}

/**
 * When gen fails on the folder, it never got to compare: the names alone still say which migrations
 * the registry lacks or still lists, and a registered file that now fails gen has changed.
 */
async function describeFolderChanges(options: RegistryFreshnessOptions, problems: readonly Problem[]): Promise<RegistryChange[]> {
  const { readRecordedEntries } = await import("./read-registry.js");
  let recorded: Set<string>;
  try {
    recorded = new Set(readRecordedEntries(readFileSync(options.registryFile, "utf8")).keys());
  } catch {
    return [];
  }
  const label = (name: string) => toPortablePath(path.relative(options.projectRoot, path.join(options.migrationsDir, name)));
  let inFolder: Set<string>;
  try {
    inFolder = new Set(
      readdirSync(options.migrationsDir)
        .filter((name) => isMigrationLike(name) && existsSync(path.join(options.migrationsDir, name)))
        .map(label),
    );
  } catch {
    return [];
  }
  const failing = new Set(problems.map((problem) => problem.file));
  const changes: RegistryChange[] = [];
  for (const file of inFolder) {
    if (!recorded.has(file)) changes.push({ file, change: "added" });
    else if (failing.has(file)) changes.push({ file, change: "changed" });
  }
  for (const file of recorded) if (!inFolder.has(file)) changes.push({ file, change: "removed" });
  return changes;
}

function dedupe(changes: readonly RegistryChange[]): RegistryChange[] {
  const seen = new Set<string>();
  return changes
    .filter((change) => {
      const key = `${change.change}\0${change.file}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

function describeChange(change: RegistryChange): string {
  if (change.change === "registry") return `${change.file} (missing, or not what gen writes: edited by hand or by a merge)`;
  if (change.change === "removed") return `${change.file} (still in the registry, no longer in the folder)`;
  if (change.change === "added") return `${change.file} (not in the registry yet)`;
  return change.relatedFiles ? `${change.file} (or a file it imports: ${change.relatedFiles.join(", ")})` : change.file;
}

/** The dialect `registryFile` was generated for (one listing migrations but no dialect predates dialects: sqlite), or `null`. */
async function registryDialectOf(registryFile: string): Promise<string | null> {
  if (!existsSync(registryFile)) return null;
  const { readRecordedDialect, readRecordedEntries } = await import("./read-registry.js");
  const source = readFileSync(registryFile, "utf8");
  return readRecordedDialect(source) ?? (readRecordedEntries(source).size > 0 ? "sqlite" : null);
}

export type { RegistryChange, RegistryGenProblem } from "../src/core/errors.js";
