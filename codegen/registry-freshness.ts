/** The bin's runtime commands refuse a registry that lags behind the folder, which would run old code or ignore a migration. The comparison is `gen --check`, made cheap by the gen cache. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { StepwiseError, type RegistryChange } from "../src/core/errors.js";
import { withFix } from "../src/cli/error-fix.js";
import { DEFAULT_DIALECT } from "../src/core/types.js";
import { genCommandOf, watchCommandOf } from "./gen-command.js";
import { findCurrentRegistry, fingerprintGenInputs, genCacheKeyFor } from "./gen-cache.js";
import type { GenerateOptions } from "./generate.js";
import { isMigrationLike } from "./migration-file.js";
import { compareText, formatProblem, projectPath, tryOr, type Problem } from "./problems.js";

/** gen's problems with the folder's numbering rather than with a file's content. */
const NUMBERING_PROBLEMS: ReadonlySet<string> = new Set(["DUPLICATE_VERSION", "VERSION_GAP", "VERSIONS_DO_NOT_START_AT_ONE"]);

/**
 * Resolves when the registry is what `gen` would write now (`cached`: without a scan; `cacheDir` `null`: every check scans), or is the other dialect's (which the runtime refuses).
 *
 * @throws `REGISTRY_STALE` naming each change, and the problems that stop gen if any.
 */
export async function assertRegistryFresh(
  options: Omit<GenerateOptions, "check" | "runtimeModule" | "cacheDir"> & { readonly cacheDir: string | null },
): Promise<"cached" | "scanned" | "other-dialect"> {
  const key = genCacheKeyFor(options);
  const fingerprint = options.cacheDir === null ? null : fingerprintGenInputs(key);
  if (fingerprint !== null && findCurrentRegistry(options.cacheDir!, key, fingerprint) !== null) return "cached";
  const { generateRegistry, readRecordedEntries } = await import("./generate.js");
  const result = await generateRegistry({ ...options, check: true });
  if (result.ok) return "scanned";
  if (result.problems.some((problem) => problem.code === "REGISTRY_DIALECT_CHANGED")) return "other-dialect";
  const changes: RegistryChange[] = result.problems.flatMap((problem) =>
    problem.staleness ? [{ file: problem.staleness.file, change: problem.staleness.change, ...(problem.relatedFiles?.length ? { relatedFiles: problem.relatedFiles } : {}) }] : [],
  );
  const problems = result.problems.filter((problem) => problem.staleness === undefined).map(({ code, file, line, column, message }) => ({ code, file, line, column, message }));
  let conflicted = false;
  const registrySource = problems.length > 0 && existsSync(options.registryFile) ? readFileSync(options.registryFile, "utf8") : null;
  if (registrySource !== null) {
    // Gen failed before comparing: the names alone still say what the registry lacks or still lists.
    const recorded = readRecordedEntries(registrySource);
    // An unreadable folder is one of the problems already.
    const inFolder = tryOr(() => readdirSync(options.migrationsDir), null)
      ?.filter((name) => isMigrationLike(name) && existsSync(path.join(options.migrationsDir, name)))
      .map((name) => projectPath(options.projectRoot, path.join(options.migrationsDir, name)));
    // A numbering problem (two branches' migrations with one version, a gap) is the folder's, listed below: the file itself may be as the registry has it.
    const failing = new Set(problems.filter((problem) => !NUMBERING_PROBLEMS.has(problem.code)).map((problem) => problem.file));
    for (const file of inFolder ?? []) {
      if (!recorded.has(file)) changes.push({ file, change: "added" });
      else if (failing.has(file)) changes.push({ file, change: "changed" });
    }
    for (const file of inFolder ? recorded.keys() : []) if (!inFolder!.includes(file)) changes.push({ file, change: "removed" });
    conflicted = /^<{7} /m.test(registrySource);
    if (conflicted) changes.push({ file: projectPath(options.projectRoot, options.registryFile), change: "registry" });
  }
  const seen = new Set<string>();
  const unique = changes.filter((change) => !seen.has(`${change.change}\0${change.file}`) && seen.add(`${change.change}\0${change.file}`)).sort((a, b) => compareText(a.file, b.file));
  throw registryStaleError(
    projectPath(options.projectRoot, options.registryFile),
    unique,
    problems,
    conflicted,
    genCommandOf(options.projectRoot, { ...options, dialect: options.dialect ?? DEFAULT_DIALECT }),
  );
}

function registryStaleError(
  registryFile: string,
  changes: readonly RegistryChange[],
  problems: StepwiseError<"REGISTRY_STALE">["details"]["problems"],
  conflicted: boolean,
  genCommand: string,
): StepwiseError<"REGISTRY_STALE"> {
  const describe = (change: RegistryChange): string => {
    if (change.change === "registry") return `${change.file} (missing, or not what gen writes: edited by hand or by a merge)`;
    if (change.change === "removed") return `${change.file} (still in the registry, no longer in the folder)`;
    if (change.change === "added") return `${change.file} (not in the registry yet)`;
    return change.relatedFiles ? `${change.file} (or a file it imports: ${change.relatedFiles.join(", ")})` : change.file;
  };
  const fix =
    problems.length > 0
      ? `Fix ${problems.length === 1 ? "this problem" : "these problems"}, then run "${genCommand}" and this command again:\n${problems.map((problem) => `  ${formatProblem(problem as Problem)}`).join("\n")}`
      : `Run "${genCommand}" to regenerate it, then this command again; "${watchCommandOf(genCommand)}" keeps it current while you edit.`;
  const lines = changes.map((change) => `  ${change.change.padEnd(8)} ${describe(change)}`).join("\n");
  // A registry a merge left conflict markers in does not load: the one to run is a branch's.
  const bypass = conflicted
    ? `To run the registry of the branch that migrated the database (such as "down" before "stepwise rebase" after a merge), take it ("git checkout <branch> -- ${registryFile}") and set STEPWISE_SKIP_REGISTRY_CHECK=1.`
    : `To run the registry as it is anyway (such as "down" before "stepwise rebase" after a merge), set STEPWISE_SKIP_REGISTRY_CHECK=1.`;
  const error = new StepwiseError("REGISTRY_STALE", `${registryFile} is out of date with the migrations folder, so nothing was run:\n${lines}\n${fix}\n${bypass}`, { registryFile, changes, problems });
  const next = problems.length > 0 ? `fix the problems listed, then run "${genCommand}" and this command again` : `run "${genCommand}" to regenerate ${registryFile}, then this command again`;
  return withFix(error, next);
}
