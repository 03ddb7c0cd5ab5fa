/**
 * `stepwise rebase`: renumbers this branch's migrations to follow the base branch's newest, keeping
 * names, then regenerates the registry. It renames every file or none: half a renumbering would be
 * worse than the collision.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { ts } from "ts-morph";
import type { CliContext } from "../src/cli/cli-props.js";
import { StepwiseError, type RebaseConflictReason } from "../src/core/errors.js";
import { formatVersion } from "../src/core/migration-label.js";
import type { StepwiseSettings } from "./config.js";
import { defaultGenCacheDir } from "./gen-cache.js";
import { generateRegistry, type GenerateResult } from "./generate.js";
import { compareWithBase } from "./git.js";
import { formatMigrationFileName, versionWidthOf } from "./migration-file.js";
import { printProblems, projectPath } from "./problems.js";
import { writeFileAtomic } from "./write-file.js";

/** One migration's new number; paths project-relative. */
export interface RebaseRename {
  readonly from: string;
  readonly to: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly name: string;
}

/** What rebase would do; plain data, so `--json` is `JSON.stringify`. */
export interface RebasePlan {
  readonly base: { readonly ref: string; readonly commit: string; readonly chosenBy: string };
  readonly mergeBase: string | null;
  /** The base's newest version (0: it has none). */
  readonly baseLatestVersion: number;
  /** Every version the base's migrations use, ascending. */
  readonly baseVersions: readonly number[];
  /** This branch's migrations in their new order, including those whose number does not change. */
  readonly branchMigrations: readonly string[];
  /** Only the migrations whose number changes. */
  readonly renames: readonly RebaseRename[];
  /** Imports of a renamed migration that are rewritten: `file: old → new`. */
  readonly importRewrites: readonly string[];
}

/**
 * Works out the renumbering without changing anything.
 *
 * @throws `REBASE_CONFLICT` for an unresolved merge conflict in the folder or a migration changed on both sides, and the git errors of `compareWithBase`.
 */
export function planRebase(options: { readonly projectRoot: string; readonly migrationsDir: string; readonly base: string | null }): RebasePlan {
  const comparison = compareWithBase(options, "stepwise rebase");
  const baseRef = comparison.base.ref;
  if (comparison.unmerged.length > 0) throw rebaseConflictError("unmerged", comparison.unmerged, baseRef);
  const editedTwice = comparison.local.filter((migration) => migration.origin === "edited-on-both-sides");
  if (editedTwice.length > 0)
    throw rebaseConflictError(
      "edited-on-both-sides",
      editedTwice.map((migration) => migration.file),
      baseRef,
    );
  const baseLatestVersion = Math.max(0, ...comparison.baseMigrations.map((migration) => migration.version));
  // A migration this branch keeps (one the base deleted, say) still holds its number.
  let next = Math.max(baseLatestVersion, ...comparison.local.filter((migration) => migration.origin !== "added").map((migration) => migration.version)) + 1;
  const width = versionWidthOf([...comparison.local, ...comparison.baseMigrations].map((migration) => migration.fileName));
  const renames: RebaseRename[] = [];
  const branchMigrations: string[] = [];
  for (const migration of comparison.local.filter((each) => each.origin === "added")) {
    const toVersion = next++;
    const to = path.posix.join(path.posix.dirname(migration.file), formatMigrationFileName(toVersion, migration.name, migration.kind, width));
    branchMigrations.push(to);
    if (to !== migration.file) renames.push({ from: migration.file, to, fromVersion: migration.version, toVersion, name: migration.name });
  }
  const importRewrites = findReferenceRewrites(options.migrationsDir, movesOf(options.projectRoot, renames)).flatMap((rewrite) =>
    rewrite.changes.map((change) => `${projectPath(options.projectRoot, rewrite.file)}: ${change}`),
  );
  const baseVersions = [...new Set(comparison.baseMigrations.map((migration) => migration.version))];
  return { base: comparison.base, mergeBase: comparison.mergeBase, baseLatestVersion, baseVersions, branchMigrations, renames, importRewrites };
}

/** The file system calls applying makes; tests substitute one to fail a chosen step. */
export interface RenameFileSystem {
  renameSync(from: string, to: string): void;
  existsSync(file: string): boolean;
  /** Replaces a file's text atomically. */
  writeFileSync(file: string, text: string): void;
}

/**
 * Renames the plan's files and rewrites the imports of them (re-read now, so an edit since planning
 * is kept), all or nothing. Each file moves to a temporary name first, so new names that are other
 * members' old names never overwrite one; every step is journaled and undone in reverse on a failure.
 *
 * @throws `REBASE_CONFLICT` when a new name is taken by a file that is not itself moving.
 * @throws `REBASE_RENAME_FAILED` when a step fails; `restored` says whether everything was put back.
 */
export function applyRebase(plan: RebasePlan, options: { projectRoot: string; migrationsDir: string; fileSystem?: RenameFileSystem }): void {
  const io = options.fileSystem ?? { renameSync: fs.renameSync, existsSync: fs.existsSync, writeFileSync: (file: string, text: string) => writeFileAtomic(file, text) };
  const label = (file: string) => projectPath(options.projectRoot, file);
  const moves = movesOf(options.projectRoot, plan.renames);
  const rewrites = findReferenceRewrites(options.migrationsDir, moves).map((rewrite) => ({ ...rewrite, file: moves.get(rewrite.file) ?? rewrite.file }));
  const taken = [...moves.values()].filter((to) => io.existsSync(to) && !moves.has(to)).map(label);
  if (taken.length > 0) throw rebaseConflictError("target-exists", taken, "");
  const token = `${process.pid}.${randomBytes(4).toString("hex")}`;
  const staged = [...moves].map(([from, to], index) => ({ from, to, temporary: path.join(path.dirname(from), `.stepwise-rebase.${token}.${index}.tmp`) }));
  // Each step taken, with how to undo it.
  const journal: { undo: () => void; pending: string }[] = [];
  let current = "";
  const rename = (from: string, to: string, named: string) => {
    current = named;
    io.renameSync(from, to);
    journal.push({ undo: () => io.renameSync(to, from), pending: `${label(to)} → ${label(from)}` });
  };
  try {
    for (const move of staged) rename(move.from, move.temporary, move.from);
    for (const move of staged) rename(move.temporary, move.to, move.to);
    for (const rewrite of rewrites) {
      current = rewrite.file;
      io.writeFileSync(rewrite.file, rewrite.text);
      journal.push({ undo: () => io.writeFileSync(rewrite.file, rewrite.originalText), pending: `${label(rewrite.file)} (its original text) → ${label(rewrite.file)}` });
    }
  } catch (error) {
    const pending = journal.reverse().flatMap((step) => {
      try {
        step.undo();
        return [];
      } catch {
        return [step.pending];
      }
    });
    const file = label(current);
    const systemCode = (error as NodeJS.ErrnoException).code ?? (error as { systemCode?: string }).systemCode ?? null;
    const message =
      `Could not rename ${file} (${systemCode ?? "error"}). ` +
      (pending.length === 0
        ? "Every file already renamed was put back: the migrations folder is as it was, and the registry was not touched. Check that the folder is writable and run rebase again."
        : `Putting the files back failed too; move these by hand: ${pending.join("; ")}. The registry was not touched.`);
    throw new StepwiseError("REBASE_RENAME_FAILED", message, { file, systemCode, restored: pending.length === 0, pending }, { cause: error });
  }
}

function movesOf(projectRoot: string, renames: readonly RebaseRename[]): Map<string, string> {
  return new Map(renames.map((rename) => [path.resolve(projectRoot, rename.from), path.resolve(projectRoot, rename.to)]));
}

const SCRIPT_EXTENSION = /\.(?:[cm]?[jt]sx?)$/;

/**
 * The edits that keep relative imports of a moved file working, in the migrations folder and below:
 * only the file's name in the specifier changes. An alias is left to `gen` to report. Files by old path.
 */
function findReferenceRewrites(migrationsDir: string, moves: ReadonlyMap<string, string>): { file: string; text: string; originalText: string; changes: string[] }[] {
  const stem = (file: string) => file.replace(SCRIPT_EXTENSION, "").replace(/\.sql$/, "");
  const movedStems = new Map([...moves].map(([from, to]) => [stem(from), path.basename(stem(to))]));
  return listScriptFiles(migrationsDir).flatMap((file) => {
    const originalText = fs.readFileSync(file, "utf8");
    const edits: { start: number; end: number; replacement: string }[] = [];
    for (const reference of ts.preProcessFile(originalText, true, true).importedFiles) {
      const specifier = reference.fileName;
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
      const newStem = movedStems.get(stem(path.resolve(path.dirname(file), specifier)));
      // preProcessFile's position is the opening quote's.
      const start = originalText.indexOf(specifier, reference.pos);
      if (newStem === undefined || start === -1) continue;
      const base = specifier.slice(specifier.lastIndexOf("/") + 1);
      edits.push({ start, end: start + specifier.length, replacement: `${specifier.slice(0, specifier.length - base.length)}${newStem}${SCRIPT_EXTENSION.exec(base)?.[0] ?? ""}` });
    }
    if (edits.length === 0) return [];
    let text = originalText;
    for (const edit of [...edits].sort((a, b) => b.start - a.start)) text = text.slice(0, edit.start) + edit.replacement + text.slice(edit.end);
    return [{ file, text, originalText, changes: edits.map((edit) => `${originalText.slice(edit.start, edit.end)} → ${edit.replacement}`) }];
  });
}

function listScriptFiles(folder: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(folder).sort();
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    if (entry === "node_modules" || entry.startsWith(".")) return [];
    const absolute = path.join(folder, entry);
    try {
      const stats = fs.statSync(absolute);
      if (stats.isDirectory()) return listScriptFiles(absolute);
      return stats.isFile() && SCRIPT_EXTENSION.test(entry) && !entry.endsWith(".d.ts") ? [absolute] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Renumbering would not resolve the situation, or would clobber a file: a migration both branches
 * changed, an open merge conflict in the folder, or a new name already taken. Nothing was changed.
 */
function rebaseConflictError(reason: RebaseConflictReason, files: readonly string[], base: string): StepwiseError<"REBASE_CONFLICT"> {
  const listed = files.join(", ");
  const advice: Record<RebaseConflictReason, string> = {
    "edited-on-both-sides": `${listed} existed before this branch and was changed both here and on ${base}; renumbering cannot merge two edits of one migration. Keep one version of the file (or move your change into a new migration), then run rebase again.`,
    unmerged: `${listed} ${files.length === 1 ? "has" : "have"} an unresolved merge conflict; resolve it (git add) and run rebase again.`,
    "target-exists": `the new name ${listed} is already taken by another file; move that file away and run rebase again.`,
  };
  return new StepwiseError("REBASE_CONFLICT", `Refusing to rebase: ${advice[reason]} Nothing was changed.`, { reason, files });
}

/** The options of the `rebase` command. */
export interface RebaseCommandOptions {
  readonly base?: string;
  readonly yes?: boolean;
  readonly dbCheck: boolean;
  readonly json?: boolean;
}

/**
 * The `rebase` command: plans, refuses when the database records a migration it would renumber
 * (same version and name: a row of another name is the base's, which the new number makes room for),
 * and with `--yes` renames and regenerates; prints the outcome.
 */
export async function runRebase(options: RebaseCommandOptions, settings: StepwiseSettings, command: Command, context: CliContext): Promise<void> {
  const { projectRoot, migrationsDir, registryFile } = settings;
  const plan = planRebase({ projectRoot, migrationsDir, base: options.base ?? null });
  let databaseCheck: { status: "checked" | "no-database" | "skipped"; database: string | null } = { status: "skipped", database: null };
  if (plan.renames.length > 0 && options.dbCheck) {
    const history = await context.readAppliedHistory(command);
    databaseCheck = { status: history === null ? "no-database" : "checked", database: history?.database ?? null };
    const applied = plan.renames.filter((rename) => history?.rows.some((row) => row.version === rename.fromVersion && row.name === rename.name));
    if (history !== null && applied.length > 0) {
      const [it, they] = applied.length === 1 ? ["it is", "it"] : ["they are", "them"];
      const listed = applied.map((rename) => `${rename.from} (version ${rename.fromVersion})`).join(", ");
      const message = `Refusing to renumber ${listed}: ${it} recorded as applied in ${history.database}, which would run ${they} again under the new number. Roll ${they} back first ("stepwise down"), or point rebase at another database (--db), then run rebase again. Nothing was changed.`;
      const migrations = applied.map((rename) => ({ version: rename.fromVersion, name: rename.name, file: rename.from }));
      throw new StepwiseError("REBASE_APPLIED_MIGRATION", message, { database: history.database, migrations });
    }
  }
  const applied = Boolean(options.yes) && plan.renames.length > 0;
  let registry: GenerateResult | null = null;
  if (applied) {
    applyRebase(plan, { projectRoot, migrationsDir });
    registry = await generateRegistry({
      projectRoot,
      migrationsDir,
      registryFile,
      dialect: settings.dialect,
      ...(settings.target === null ? {} : { target: settings.target }),
      cacheDir: defaultGenCacheDir(projectRoot),
    });
  }
  // Renumbered before merging the base, this branch's migrations leave gaps where the base's are, which the merge fills.
  const baseVersions = new Set(plan.baseVersions);
  const awaitingMerge =
    registry !== null &&
    !registry.ok &&
    registry.problems.every((problem) => {
      const gap = problem.code === "VERSION_GAP" ? problem.missingVersions : undefined;
      for (let version = gap?.from ?? 1; version <= (gap?.to ?? 0); version++) if (!baseVersions.has(version)) return false;
      return gap !== undefined;
    });
  if (registry !== null && !registry.ok && !awaitingMerge) context.setExitCode(1);
  if (options.json) {
    const registryJson = registry && { ok: registry.ok, status: awaitingMerge ? "awaiting-merge" : registry.status, problems: registry.problems };
    context.io.stdout(`${JSON.stringify({ ...plan, databaseCheck, applied, registry: registryJson }, null, 2)}\n`);
    return;
  }
  const print = (text: string) => context.io.stdout(`${text}\n`);
  const { palette } = context;
  const registryLabel = path.relative(projectRoot, registryFile);
  const mergeBase = plan.mergeBase === null ? "no merge base" : `merge base ${plan.mergeBase.slice(0, 12)}`;
  print(`Base: ${plan.base.ref} (chosen by ${plan.base.chosenBy}), newest version ${plan.baseLatestVersion === 0 ? "none" : formatVersion(plan.baseLatestVersion)}; ${mergeBase}.`);
  if (plan.renames.length === 0) {
    const already = `Nothing to rebase: this branch's migrations already follow ${plan.base.ref}'s newest (${plan.branchMigrations.join(", ")}).`;
    return print(palette.green(plan.branchMigrations.length === 0 ? `Nothing to rebase: this branch adds no migration that ${plan.base.ref} lacks.` : already));
  }
  print(`${applied ? "Renumbered" : "Would renumber"} ${plan.renames.length} migration${plan.renames.length === 1 ? "" : "s"} of this branch:`);
  for (const rename of plan.renames) print(`  ${rename.from} → ${rename.to}`);
  for (const rewrite of plan.importRewrites) print(`  import in ${rewrite}`);
  if (databaseCheck.status === "checked") print(`Checked ${databaseCheck.database}: none of them is recorded as applied.`);
  else if (databaseCheck.status === "no-database") {
    print(palette.yellow("No database configured (--db, --url, the config's database or url, DATABASE_URL): not checked whether any of them was applied somewhere. Pass --db to check a database."));
  } else print(palette.yellow("Not checked against a database (--no-db-check)."));
  if (registry === null) print(`Dry run: nothing was changed. Run it again with --yes to rename the files and regenerate ${registryLabel}.`);
  else if (awaitingMerge)
    print(palette.yellow(`${registryLabel} was not regenerated yet: versions the base has are not here until you merge it. Run "git merge ${plan.base.ref}", then "stepwise gen".`));
  else if (!registry.ok) {
    context.io.stderr(`The files were renamed, but ${registryLabel} was not regenerated:\n`);
    printProblems(registry.problems, context);
  } else print(palette.green(`Regenerated ${registryLabel}.`));
}
