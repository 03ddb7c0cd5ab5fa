/**
 * The bin's `stepwise rebase` command: parse, plan, check the database, print, and with `--yes`
 * rename and regenerate. The logic lives in `rebase.ts`; `runRebase` returns what it found and did,
 * and the action prints that, as JSON or for a person.
 */
import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import type { CliContext } from "../src/cli/cli-props.js";
import { parsePath, singleValued } from "../src/cli/parse-options.js";
import { formatVersion } from "./migration-file.js";
import type { SqlDialect } from "../src/core/types.js";
import { assertPeersInstalled, CODEGEN_PEERS } from "./optional-dependencies.js";
import type { Problem } from "./problems.js";
import type { Target } from "./d1-target.js";
import type { RebasePlan } from "./rebase.js";

/** What the bin hands the command: its settings and its way of printing problems. */
export interface RebaseCommandHost {
  readonly projectRoot: string;
  settings(flags: { migrationsDir?: string; registryFile?: string; dialect?: string }): { migrationsDir: string; registryFile: string; dialect: SqlDialect; target: Target | null };
  printProblems(problems: readonly Problem[], context: CliContext): void;
  /** Options shared with `gen` (`--dialect` and its parser). */
  dialectOption: { flags: string; description: string; parse: (value: string) => string };
}

interface RebaseOptions {
  base?: string;
  yes?: boolean;
  dbCheck: boolean;
  json?: boolean;
  dir?: string;
  out?: string;
  dialect?: string;
}

/** Parses `--base`: a ref that is not empty (an unset variable in a CI script gives an empty one). */
export function parseGitRef(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("expected a git ref such as origin/main, got an empty string (is the variable it came from unset?)");
  return value;
}

/** Adds `stepwise rebase` to the bin. */
export function addRebaseCommand(program: Command, context: CliContext, host: RebaseCommandHost): void {
  program
    .command("rebase")
    .description("renumber this branch's migrations to follow the base branch's newest, then regenerate the registry")
    .option("--base <ref>", "the git ref you will merge into (default: the default branch: origin/HEAD, else main, master, origin/main, origin/master)", singleValued(parseGitRef))
    .option("--yes", "rename the files and regenerate; without it, print the plan and change nothing")
    .option("--no-db-check", "do not read the database (--db/--url/config) for migrations already applied under their old numbers")
    .option("--json", "print the plan and what was done as JSON")
    .option("--dir <path>", "migrations folder (default: migrations)", singleValued(parsePath))
    .option("--out <file>", "registry file (default: generated/registry.ts)", singleValued(parsePath))
    .option(host.dialectOption.flags, host.dialectOption.description, singleValued(host.dialectOption.parse))
    .addHelpText(
      "after",
      "\nThis branch's migrations are the ones the base does not have with the same name and content, and that did not exist when the branches split. " +
        "Each keeps its name and gets the next free number after the base's newest; relative imports of a renamed migration are rewritten. " +
        "Rebase refuses, changing nothing, when one of them is recorded as applied in the configured database; with no database configured, that check is skipped and the output says so.\n",
    )
    .action(async (options: RebaseOptions, command: Command) => {
      const outcome = await runRebase(options, command, context, host);
      if (outcome.registry !== null && !outcome.registry.ok && !outcome.awaitingMerge) context.setExitCode(1);
      if (options.json) context.io.stdout(`${JSON.stringify(rebaseJson(outcome), null, 2)}\n`);
      else printRebase(outcome, context, host);
    });
}

/** What `stepwise rebase` found and did. */
interface RebaseOutcome {
  readonly plan: RebasePlan;
  readonly databaseCheck: { readonly status: "checked" | "no-database" | "skipped"; readonly database: string | null };
  /** Whether the files were renamed (`--yes`, and something to rename). */
  readonly applied: boolean;
  /** The registry regenerated after renaming; `null` when nothing was renamed. */
  readonly registry: { readonly ok: boolean; readonly status: string; readonly problems: readonly Problem[] } | null;
  /** The registry was not written only because the base's versions are not merged yet. */
  readonly awaitingMerge: boolean;
  /** The registry file, relative to the project. */
  readonly registryLabel: string;
}

/**
 * Plans the renumbering, checks the database unless told not to, and with `--yes` renames and
 * regenerates the registry.
 *
 * @throws `REBASE_CONFLICT`, the git errors of `planRebase`, or `MIGRATION_ALREADY_APPLIED` when the
 *   database records one of the migrations to renumber (nothing is renamed then).
 */
async function runRebase(options: RebaseOptions, command: Command, context: CliContext, host: RebaseCommandHost): Promise<RebaseOutcome> {
  const resolved = host.settings({ migrationsDir: options.dir, registryFile: options.out, dialect: options.dialect });
  assertPeersInstalled("stepwise rebase", CODEGEN_PEERS);
  const { planRebase, assertNoneAppliedOrThrow, applyRebase } = await import("./rebase.js");
  const plan = planRebase({ projectRoot: host.projectRoot, migrationsDir: resolved.migrationsDir, base: options.base ?? null });

  let databaseCheck: RebaseOutcome["databaseCheck"] = { status: "skipped", database: null };
  if (plan.renames.length > 0 && options.dbCheck) {
    const history = await context.readAppliedHistory(command);
    if (history === null) databaseCheck = { status: "no-database", database: null };
    else {
      assertNoneAppliedOrThrow(plan, history.rows, history.database);
      databaseCheck = { status: "checked", database: history.database };
    }
  }

  const applied = Boolean(options.yes) && plan.renames.length > 0;
  let registry: RebaseOutcome["registry"] = null;
  if (applied) {
    applyRebase(plan, { projectRoot: host.projectRoot, migrationsDir: resolved.migrationsDir });
    const [{ generateRegistry }, { defaultGenCacheDir }] = await Promise.all([import("./generate.js"), import("./gen-cache.js")]);
    registry = await generateRegistry({
      projectRoot: host.projectRoot,
      migrationsDir: resolved.migrationsDir,
      registryFile: resolved.registryFile,
      dialect: resolved.dialect,
      // As gen: a d1 target's registry refuses TypeScript migrations, and keys the gen cache.
      ...(resolved.target === null ? {} : { target: resolved.target }),
      cacheDir: defaultGenCacheDir(host.projectRoot),
    });
  }
  const awaitingMerge = registry !== null && !registry.ok && awaitsMerge(registry.problems, plan.baseVersions);
  return { plan, databaseCheck, applied, registry, awaitingMerge, registryLabel: path.relative(host.projectRoot, resolved.registryFile) };
}

/** `--json`'s output: the plan, the database check, and what was done. */
function rebaseJson({ plan, databaseCheck, applied, registry, awaitingMerge }: RebaseOutcome): object {
  const registryStatus = awaitingMerge ? "awaiting-merge" : registry?.status;
  return { ...plan, databaseCheck, applied, registry: registry && { ok: registry.ok, status: registryStatus, problems: registry.problems } };
}

/** The outcome, for a person. */
function printRebase({ plan, databaseCheck, applied, registry, awaitingMerge, registryLabel }: RebaseOutcome, context: CliContext, host: RebaseCommandHost): void {
  const print = (text: string) => context.io.stdout(`${text}\n`);
  const { palette } = context;
  const mergeBase = plan.mergeBase === null ? "no merge base" : `merge base ${plan.mergeBase.slice(0, 12)}`;
  print(`Base: ${plan.base.ref} (chosen by ${plan.base.chosenBy}), newest version ${plan.baseLatestVersion === 0 ? "none" : formatVersion(plan.baseLatestVersion)}; ${mergeBase}.`);
  if (plan.renames.length === 0) {
    print(
      palette.green(
        plan.branchMigrations.length === 0
          ? `Nothing to rebase: this branch adds no migration that ${plan.base.ref} lacks.`
          : `Nothing to rebase: this branch's migrations already follow ${plan.base.ref}'s newest (${plan.branchMigrations.join(", ")}).`,
      ),
    );
    return;
  }
  print(`${applied ? "Renumbered" : "Would renumber"} ${plan.renames.length} migration${plan.renames.length === 1 ? "" : "s"} of this branch:`);
  for (const rename of plan.renames) print(`  ${rename.from} → ${rename.to}`);
  for (const rewrite of plan.importRewrites) print(`  import in ${rewrite}`);
  if (databaseCheck.status === "checked") print(`Checked ${databaseCheck.database}: none of them is recorded as applied.`);
  else if (databaseCheck.status === "no-database") {
    print(palette.yellow("No database configured (--db, --url, the config's database or url, DATABASE_URL): not checked whether any of them was applied somewhere. Pass --db to check a database."));
  } else print(palette.yellow("Not checked against a database (--no-db-check)."));
  if (!applied) {
    print(`Dry run: nothing was changed. Run it again with --yes to rename the files and regenerate ${registryLabel}.`);
    return;
  }
  if (awaitingMerge) {
    print(palette.yellow(`${registryLabel} was not regenerated yet: versions the base has are not here until you merge it. Run "git merge ${plan.base.ref}", then "stepwise gen".`));
  } else if (registry && !registry.ok) {
    context.io.stderr(`The files were renamed, but ${registryLabel} was not regenerated:\n`);
    host.printProblems(registry.problems, context);
  } else print(palette.green(`Regenerated ${registryLabel}.`));
}

/**
 * Renumbered before merging the base, this branch's migrations leave a gap where the base's are: gen
 * refuses to write that registry, and the merge fills it. Only such gaps are expected.
 */
function awaitsMerge(problems: readonly Problem[], baseVersions: readonly number[]): boolean {
  const base = new Set(baseVersions);
  return (
    problems.length > 0 &&
    problems.every((problem) => {
      if (problem.code !== "VERSION_GAP" || !problem.missingVersions) return false;
      for (let version = problem.missingVersions.from; version <= problem.missingVersions.to; version++) if (!base.has(version)) return false;
      return true;
    })
  );
}
