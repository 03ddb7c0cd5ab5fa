/**
 * `stepwise rebase`: renumbers this branch's migrations (the ones the base branch does not have) to
 * follow the base branch's newest, keeping each name, then regenerates the registry. Atlas's
 * `migrate rebase` is the model; stepwise decides which files are this branch's from git itself
 * (see `git.ts`), so the user names no versions.
 *
 * Planning reads only. Applying renames every file or none, and fixes relative imports of a renamed
 * migration: never half a renumbering, which would be worse than the collision it set out to fix.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import path from "node:path";
import { ts } from "ts-morph";
import type { AppliedMigration } from "../src/core/planner.js";
import { StepwiseError, type RebaseConflictReason, type RebaseMigrationRef } from "../src/core/errors.js";
import { compareWithBase, type BaseComparison } from "./git.js";
import { DEFAULT_VERSION_WIDTH, formatMigrationFileName } from "./migration-file.js";
import { toPortablePath } from "./portable-path.js";
import { writeFileAtomic } from "./write-file.js";

/** One migration's new number. */
export interface RebaseRename {
  /** Project-relative, forward slashes. */
  readonly from: string;
  readonly to: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly name: string;
}

/** What rebase would do; plain data, so `--json` is `JSON.stringify`. */
export interface RebasePlan {
  /** The base ref and commit, and how the ref was chosen. */
  readonly base: { readonly ref: string; readonly commit: string; readonly chosenBy: string };
  readonly mergeBase: string | null;
  /** The base's newest version (0: it has none). */
  readonly baseLatestVersion: number;
  /** Every version the base's migrations use, ascending. */
  readonly baseVersions: readonly number[];
  /** This branch's migrations, in their new order, including those whose number does not change. */
  readonly branchMigrations: readonly string[];
  /** Only the migrations whose number changes. */
  readonly renames: readonly RebaseRename[];
  /** Imports of a renamed migration that are rewritten: `file: old → new`. */
  readonly importRewrites: readonly string[];
}

/** Where to plan. Paths absolute. */
export interface PlanRebaseOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  /** A git ref; `null` for the default branch. */
  readonly base: string | null;
}

/**
 * Works out the renumbering without changing anything.
 *
 * @throws `REBASE_CONFLICT` when the folder has an unresolved merge conflict, or a migration that
 * existed before this branch was changed on both sides.
 * @throws `GIT_NOT_FOUND`, `NOT_A_GIT_REPOSITORY`, `GIT_REF_NOT_FOUND`, `GIT_HISTORY_SHALLOW` or `GIT_FAILED`.
 */
export function planRebase(options: PlanRebaseOptions): RebasePlan {
  const comparison = compareWithBase(options, "stepwise rebase");
  const baseLabel = comparison.base.ref;
  if (comparison.unmerged.length > 0) throw rebaseConflictError({ reason: "unmerged", files: comparison.unmerged, base: baseLabel });
  const editedTwice = comparison.local.filter((migration) => migration.origin === "edited-on-both-sides");
  if (editedTwice.length > 0) throw rebaseConflictError({ reason: "edited-on-both-sides", files: editedTwice.map((migration) => migration.file), base: baseLabel });

  const branch = comparison.local.filter((migration) => migration.origin === "added");
  const staying = comparison.local.filter((migration) => migration.origin !== "added");
  const baseLatestVersion = Math.max(0, ...comparison.baseMigrations.map((migration) => migration.version));
  // A migration this branch keeps (one the base deleted, say) still holds its number.
  let next = Math.max(baseLatestVersion, ...staying.map((migration) => migration.version)) + 1;
  const width = versionWidth(comparison);
  const renames: RebaseRename[] = [];
  const branchMigrations: string[] = [];
  for (const migration of branch) {
    const toVersion = next++;
    const to = path.posix.join(path.posix.dirname(migration.file), formatMigrationFileName(toVersion, migration.name, migration.kind, width));
    branchMigrations.push(to);
    if (to !== migration.file) renames.push({ from: migration.file, to, fromVersion: migration.version, toVersion, name: migration.name });
  }
  const rewrites = findReferenceRewrites(options.migrationsDir, movesOf(options.projectRoot, renames));
  const importRewrites = rewrites.flatMap((rewrite) => rewrite.changes.map((change) => `${toPortablePath(path.relative(options.projectRoot, rewrite.file))}: ${change}`));
  const baseVersions = [...new Set(comparison.baseMigrations.map((migration) => migration.version))];
  return { base: comparison.base, mergeBase: comparison.mergeBase, baseLatestVersion, baseVersions, branchMigrations, renames, importRewrites };
}

/**
 * Refuses when a migration the plan renumbers is recorded as applied in `history`: same version and
 * same name. A row with that version but another name is the base's migration, applied from the base
 * branch, which is exactly what the new number makes room for.
 *
 * @throws `REBASE_APPLIED_MIGRATION` naming every such migration.
 */
export function assertNoneAppliedOrThrow(plan: RebasePlan, history: readonly AppliedMigration[], database: string): void {
  const applied = plan.renames.filter((rename) => history.some((row) => row.version === rename.fromVersion && row.name === rename.name));
  if (applied.length > 0) {
    throw rebaseAppliedMigrationError({ database, migrations: applied.map((rename) => ({ version: rename.fromVersion, name: rename.name, file: rename.from })) });
  }
}

/** The file system calls applying makes; tests substitute one to fail a chosen step. */
export interface RenameFileSystem {
  renameSync(from: string, to: string): void;
  existsSync(file: string): boolean;
  /** Replaces a file's text atomically. */
  writeFileSync(file: string, text: string): void;
}

const DEFAULT_FILE_SYSTEM: RenameFileSystem = {
  renameSync: fs.renameSync,
  existsSync: fs.existsSync,
  writeFileSync: (file, text) => writeFileAtomic(file, text),
};

type JournalEntry = { readonly kind: "rename"; readonly from: string; readonly to: string } | { readonly kind: "rewrite"; readonly file: string; readonly originalText: string };

/**
 * Renames the plan's files and rewrites the imports of them, all or nothing. Re-reads the imports at
 * the moment of applying, so an edit since planning is not overwritten.
 *
 * Each file first moves to a temporary name in its own folder, then to its new name, so a set whose
 * new names are other members' old names (003 → 004 while 004 → 005) never overwrites one. Every
 * step taken is journaled; when one fails, the journal is undone in reverse, and the error says
 * whether that succeeded.
 *
 * @throws `REBASE_CONFLICT` when a new name is taken by a file that is not itself being moved.
 * @throws `REBASE_RENAME_FAILED` when a step fails; `restored` says whether everything was put back.
 */
export function applyRebase(plan: RebasePlan, options: { projectRoot: string; migrationsDir: string; fileSystem?: RenameFileSystem }): void {
  const io = options.fileSystem ?? DEFAULT_FILE_SYSTEM;
  const label = (file: string) => toPortablePath(path.relative(options.projectRoot, file));
  const moves = movesOf(options.projectRoot, plan.renames);
  const rewrites = findReferenceRewrites(options.migrationsDir, moves).map((rewrite) => ({ ...rewrite, file: moves.get(rewrite.file) ?? rewrite.file }));
  const taken = [...moves.values()].filter((to) => io.existsSync(to) && !moves.has(to)).map(label);
  if (taken.length > 0) throw rebaseConflictError({ reason: "target-exists", files: taken, base: "" });

  const journal: JournalEntry[] = [];
  const token = `${process.pid}.${randomBytes(4).toString("hex")}`;
  const staged = [...moves].map(([from, to], index) => ({ from, to, temporary: path.join(path.dirname(from), `.stepwise-rebase.${token}.${index}.tmp`) }));
  let current = "";
  try {
    for (const move of staged) {
      current = move.from;
      io.renameSync(move.from, move.temporary);
      journal.push({ kind: "rename", from: move.from, to: move.temporary });
    }
    for (const move of staged) {
      current = move.to;
      io.renameSync(move.temporary, move.to);
      journal.push({ kind: "rename", from: move.temporary, to: move.to });
    }
    for (const rewrite of rewrites) {
      current = rewrite.file;
      io.writeFileSync(rewrite.file, rewrite.text);
      journal.push({ kind: "rewrite", file: rewrite.file, originalText: rewrite.originalText });
    }
  } catch (error) {
    const pending = undo(journal, io);
    const systemCode = (error as NodeJS.ErrnoException).code ?? (error as { systemCode?: string }).systemCode ?? null;
    throw rebaseRenameFailedError({ file: label(current), systemCode, restored: pending.length === 0, pending: pending.map((step) => `${label(step.to)} → ${label(step.from)}`), cause: error });
  }
}

/** Undoes the journal in reverse; returns the renames that could not be undone (a failed rewrite is retried as is). */
function undo(journal: readonly JournalEntry[], io: RenameFileSystem): { from: string; to: string }[] {
  const pending: { from: string; to: string }[] = [];
  for (const entry of [...journal].reverse()) {
    try {
      if (entry.kind === "rename") io.renameSync(entry.to, entry.from);
      else io.writeFileSync(entry.file, entry.originalText);
    } catch {
      if (entry.kind === "rename") pending.push({ from: entry.from, to: entry.to });
      else pending.push({ from: entry.file, to: `${entry.file} (its original text)` });
    }
  }
  return pending;
}

function movesOf(projectRoot: string, renames: readonly RebaseRename[]): Map<string, string> {
  return new Map(renames.map((rename) => [path.resolve(projectRoot, rename.from), path.resolve(projectRoot, rename.to)]));
}

/** The widest version either side writes, as `create` picks it, so renamed files line up with the rest. */
function versionWidth(comparison: BaseComparison): number {
  let width = DEFAULT_VERSION_WIDTH;
  for (const migration of [...comparison.local, ...comparison.baseMigrations]) width = Math.max(width, migration.fileName.indexOf("_"));
  return width;
}

/** A file whose text changes, by its path before any rename. */
interface ReferenceRewrite {
  readonly file: string;
  readonly text: string;
  readonly originalText: string;
  /** The specifiers changed, `old → new`. */
  readonly changes: readonly string[];
}

const SCRIPT_EXTENSION = /\.(?:[cm]?[jt]sx?)$/;

/**
 * The rewrites that keep every relative import of a moved file working, in the migrations folder and
 * its subfolders (a later migration reusing an earlier one's helper, say): just the renamed file's
 * name inside each specifier changes, keeping its extension or lack of one, its quotes and everything
 * around it. `moves` maps an old absolute path to its new one; paths in the result are the files' old
 * paths.
 *
 * Only relative specifiers are followed: an alias (tsconfig `paths`, a package.json `#import`) names
 * a file the user chose to reach indirectly, so a renamed migration there is left to `gen`, which
 * reports an import it cannot resolve.
 */
function findReferenceRewrites(migrationsDir: string, moves: ReadonlyMap<string, string>): ReferenceRewrite[] {
  const movedStems = new Map<string, string>();
  for (const [from, to] of moves) movedStems.set(stripExtension(from), path.basename(stripExtension(to)));
  const rewrites: ReferenceRewrite[] = [];
  for (const file of listScriptFiles(migrationsDir)) {
    const originalText = fs.readFileSync(file, "utf8");
    const edits: { start: number; end: number; replacement: string }[] = [];
    for (const reference of ts.preProcessFile(originalText, true, true).importedFiles) {
      const specifier = reference.fileName;
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
      const newStem = movedStems.get(stripExtension(path.resolve(path.dirname(file), specifier)));
      if (newStem === undefined) continue;
      // preProcessFile's position is the opening quote's.
      const start = originalText.indexOf(specifier, reference.pos);
      if (start === -1) continue;
      const base = specifier.slice(specifier.lastIndexOf("/") + 1);
      const extension = SCRIPT_EXTENSION.exec(base)?.[0] ?? "";
      const replacement = `${specifier.slice(0, specifier.length - base.length)}${newStem}${extension}`;
      edits.push({ start, end: start + specifier.length, replacement });
    }
    if (edits.length === 0) continue;
    let text = originalText;
    for (const edit of [...edits].sort((a, b) => b.start - a.start)) text = text.slice(0, edit.start) + edit.replacement + text.slice(edit.end);
    rewrites.push({ file, text, originalText, changes: edits.map((edit) => `${originalText.slice(edit.start, edit.end)} → ${edit.replacement}`) });
  }
  return rewrites;
}

function stripExtension(file: string): string {
  return file.replace(SCRIPT_EXTENSION, "").replace(/\.sql$/, "");
}

function listScriptFiles(folder: string): string[] {
  const files: string[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(folder);
  } catch {
    return files;
  }
  for (const entry of entries.sort()) {
    if (entry === "node_modules" || entry.startsWith(".")) continue;
    const absolute = path.join(folder, entry);
    try {
      const stats = fs.statSync(absolute);
      if (stats.isDirectory()) files.push(...listScriptFiles(absolute));
      else if (stats.isFile() && SCRIPT_EXTENSION.test(entry) && !entry.endsWith(".d.ts")) files.push(absolute);
    } catch {
      // Unreadable: gen reports what matters.
    }
  }
  return files;
}

/**
 * A migration rebase would renumber is recorded as applied in the database it was pointed at: a new
 * number would make that database run it a second time. Nothing was changed.
 */
function rebaseAppliedMigrationError(fields: { database: string; migrations: readonly RebaseMigrationRef[] }): StepwiseError<"REBASE_APPLIED_MIGRATION"> {
  const listed = fields.migrations.map((migration) => `${migration.file} (version ${migration.version})`).join(", ");
  return new StepwiseError(
    "REBASE_APPLIED_MIGRATION",
    `Refusing to renumber ${listed}: ${fields.migrations.length === 1 ? "it is" : "they are"} recorded as applied in ${fields.database}, which would run ${fields.migrations.length === 1 ? "it" : "them"} again under the new number. ` +
      `Roll ${fields.migrations.length === 1 ? "it" : "them"} back first ("stepwise down"), or point rebase at another database (--db), then run rebase again. Nothing was changed.`,
    { database: fields.database, migrations: fields.migrations },
  );
}

/**
 * Renumbering would not resolve the situation, or would clobber a file: a migration both branches
 * changed, a merge conflict still open in the migrations folder, or a new name already taken.
 * Nothing was changed.
 */
function rebaseConflictError(fields: { reason: RebaseConflictReason; files: readonly string[]; base: string }): StepwiseError<"REBASE_CONFLICT"> {
  const files = fields.files.join(", ");
  const advice: Record<RebaseConflictReason, string> = {
    "edited-on-both-sides": `${files} existed before this branch and was changed both here and on ${fields.base}; renumbering cannot merge two edits of one migration. Keep one version of the file (or move your change into a new migration), then run rebase again.`,
    unmerged: `${files} ${fields.files.length === 1 ? "has" : "have"} an unresolved merge conflict; resolve it (git add) and run rebase again.`,
    "target-exists": `the new name ${files} is already taken by another file; move that file away and run rebase again.`,
  };
  return new StepwiseError("REBASE_CONFLICT", `Refusing to rebase: ${advice[fields.reason]} Nothing was changed.`, { reason: fields.reason, files: fields.files });
}

/**
 * A rename or rewrite failed part way. Every step already taken was undone, so the folder is as it
 * was, unless `restored` is false: then `pending` lists what could not be put back.
 */
function rebaseRenameFailedError(fields: { file: string; systemCode: string | null; restored: boolean; pending: readonly string[]; cause: unknown }): StepwiseError<"REBASE_RENAME_FAILED"> {
  return new StepwiseError(
    "REBASE_RENAME_FAILED",
    `Could not rename ${fields.file} (${fields.systemCode ?? "error"}). ` +
      (fields.restored
        ? "Every file already renamed was put back: the migrations folder is as it was, and the registry was not touched. Check that the folder is writable and run rebase again."
        : `Putting the files back failed too; move these by hand: ${fields.pending.join("; ")}. The registry was not touched.`),
    { file: fields.file, systemCode: fields.systemCode, restored: fields.restored, pending: fields.pending },
    { cause: fields.cause },
  );
}
