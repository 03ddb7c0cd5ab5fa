/**
 * The typed failures of `stepwise rebase` and `gen --check --base`: git cannot be asked, or renaming
 * would lose something. Each is thrown before a file is touched, except `REBASE_RENAME_FAILED`,
 * which reports a rename the operating system refused after every earlier one was undone.
 */
import { StepwiseError } from "../src/core/errors.js";
import type { RebaseMigrationRef, RebaseConflictReason } from "../src/core/errors.js";

/** `git` is not installed, or not on the PATH. Nothing was changed. */
export function gitNotFoundError(fields: { operation: string; cause: unknown }): StepwiseError<"GIT_NOT_FOUND"> {
  return new StepwiseError(
    "GIT_NOT_FOUND",
    `${fields.operation} reads the base branch's migrations from git, but the git command was not found. Install git (or put it on the PATH) and run it again. Nothing was changed.`,
    { operation: fields.operation },
    { cause: fields.cause },
  );
}

/** The project is not inside a git work tree. Nothing was changed. */
export function notAGitRepositoryError(fields: { directory: string; operation: string }): StepwiseError<"NOT_A_GIT_REPOSITORY"> {
  return new StepwiseError(
    "NOT_A_GIT_REPOSITORY",
    `${fields.operation} compares this branch's migrations with another branch's, but ${fields.directory} is not inside a git repository. Run it in a clone of your project. Nothing was changed.`,
    { directory: fields.directory, operation: fields.operation },
  );
}

/** The base ref does not name a commit, or no default branch could be found. Nothing was changed. */
export function gitRefNotFoundError(fields: { ref: string | null; tried: readonly string[] }): StepwiseError<"GIT_REF_NOT_FOUND"> {
  return new StepwiseError(
    "GIT_REF_NOT_FOUND",
    fields.ref === null
      ? `Could not find the default branch (tried ${fields.tried.join(", ")}). Pass the branch you will merge into, such as --base origin/main. Nothing was changed.`
      : `"${fields.ref}" is not a commit in this repository. Fetch it first (git fetch origin) or pass another --base, such as origin/main. Nothing was changed.`,
    { ref: fields.ref, tried: fields.tried },
  );
}

/**
 * The clone is shallow and holds no common ancestor of `HEAD` and the base, so which migrations this
 * branch added cannot be told from ones the base edited later. Nothing was changed.
 */
export function gitHistoryShallowError(fields: { base: string; operation: string }): StepwiseError<"GIT_HISTORY_SHALLOW"> {
  return new StepwiseError(
    "GIT_HISTORY_SHALLOW",
    `${fields.operation} needs the history this branch shares with ${fields.base}, but this clone is shallow and does not reach it. ` +
      `Fetch more history (git fetch --unshallow, or fetch-depth: 0 in CI's checkout) and run it again. Nothing was changed.`,
    { base: fields.base },
  );
}

/** The migrations folder lies outside the git work tree, so git holds no history of it. Nothing was changed. */
export function migrationsOutsideRepositoryError(fields: { migrationsDir: string; topLevel: string; operation: string }): StepwiseError<"NOT_A_GIT_REPOSITORY"> {
  return new StepwiseError(
    "NOT_A_GIT_REPOSITORY",
    `${fields.operation} reads the migrations folder's history from git, but ${fields.migrationsDir} is outside the repository at ${fields.topLevel}. Nothing was changed.`,
    { migrationsDir: fields.migrationsDir, topLevel: fields.topLevel },
  );
}

/** git ran but failed for another reason; its own message is kept. Nothing was changed. */
export function gitFailedError(fields: { args: readonly string[]; exitCode: number | null; stderr: string }): StepwiseError<"GIT_FAILED"> {
  return new StepwiseError("GIT_FAILED", `git ${fields.args.join(" ")} failed (exit ${fields.exitCode ?? "signal"}): ${fields.stderr.trim() || "no message"}. Nothing was changed.`, {
    args: fields.args,
    exitCode: fields.exitCode,
    stderr: fields.stderr,
  });
}

/**
 * A migration rebase would renumber is recorded as applied in the database it was pointed at: a new
 * number would make that database run it a second time. Nothing was changed.
 */
export function rebaseAppliedMigrationError(fields: { database: string; migrations: readonly RebaseMigrationRef[] }): StepwiseError<"REBASE_APPLIED_MIGRATION"> {
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
export function rebaseConflictError(fields: { reason: RebaseConflictReason; files: readonly string[]; base: string }): StepwiseError<"REBASE_CONFLICT"> {
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
 * was, unless `REBASE_RENAME_FAILED`'s `restored` is false: then `pending` lists what could not be put back.
 */
export function rebaseRenameFailedError(fields: { file: string; systemCode: string | null; restored: boolean; pending: readonly string[]; cause: unknown }): StepwiseError<"REBASE_RENAME_FAILED"> {
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

export type { RebaseMigrationRef, RebaseConflictReason } from "../src/core/errors.js";
