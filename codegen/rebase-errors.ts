/**
 * The typed failures of `stepwise rebase` and `gen --check --base`: git cannot be asked, or renaming
 * would lose something. Each is thrown before a file is touched, except {@link RebaseRenameFailedError},
 * which reports a rename the operating system refused after every earlier one was undone.
 */
import { StepwiseError } from "../src/core/errors.js";

/** `git` is not installed, or not on the PATH. Nothing was changed. */
export class GitNotFoundError extends StepwiseError {
  override readonly name: string = "GitNotFoundError";
  /** What needed git, such as `stepwise rebase`. */
  readonly operation: string;

  constructor(fields: { operation: string; cause: unknown }) {
    super(
      "GIT_NOT_FOUND",
      `${fields.operation} reads the base branch's migrations from git, but the git command was not found. Install git (or put it on the PATH) and run it again. Nothing was changed.`,
      { cause: fields.cause },
    );
    this.operation = fields.operation;
  }
}

/** The project is not inside a git work tree. Nothing was changed. */
export class NotAGitRepositoryError extends StepwiseError {
  override readonly name: string = "NotAGitRepositoryError";
  readonly directory: string;
  readonly operation: string;

  constructor(fields: { directory: string; operation: string }) {
    super(
      "NOT_A_GIT_REPOSITORY",
      `${fields.operation} compares this branch's migrations with another branch's, but ${fields.directory} is not inside a git repository. Run it in a clone of your project. Nothing was changed.`,
    );
    this.directory = fields.directory;
    this.operation = fields.operation;
  }
}

/** The base ref does not name a commit, or no default branch could be found. Nothing was changed. */
export class GitRefNotFoundError extends StepwiseError {
  override readonly name: string = "GitRefNotFoundError";
  /** The ref that was asked for, or `null` when none was given and no default branch was found. */
  readonly ref: string | null;
  /** The refs that were tried, in order. */
  readonly tried: readonly string[];

  constructor(fields: { ref: string | null; tried: readonly string[] }) {
    super(
      "GIT_REF_NOT_FOUND",
      fields.ref === null
        ? `Could not find the default branch (tried ${fields.tried.join(", ")}). Pass the branch you will merge into, such as --base origin/main. Nothing was changed.`
        : `"${fields.ref}" is not a commit in this repository. Fetch it first (git fetch origin) or pass another --base, such as origin/main. Nothing was changed.`,
    );
    this.ref = fields.ref;
    this.tried = fields.tried;
  }
}

/**
 * The clone is shallow and holds no common ancestor of `HEAD` and the base, so which migrations this
 * branch added cannot be told from ones the base edited later. Nothing was changed.
 */
export class GitHistoryShallowError extends StepwiseError {
  override readonly name: string = "GitHistoryShallowError";
  readonly base: string;

  constructor(fields: { base: string; operation: string }) {
    super(
      "GIT_HISTORY_SHALLOW",
      `${fields.operation} needs the history this branch shares with ${fields.base}, but this clone is shallow and does not reach it. ` +
        `Fetch more history (git fetch --unshallow, or fetch-depth: 0 in CI's checkout) and run it again. Nothing was changed.`,
    );
    this.base = fields.base;
  }
}

/** The migrations folder lies outside the git work tree, so git holds no history of it. Nothing was changed. */
export class MigrationsOutsideRepositoryError extends StepwiseError {
  override readonly name: string = "MigrationsOutsideRepositoryError";
  readonly migrationsDir: string;
  readonly topLevel: string;

  constructor(fields: { migrationsDir: string; topLevel: string; operation: string }) {
    super(
      "NOT_A_GIT_REPOSITORY",
      `${fields.operation} reads the migrations folder's history from git, but ${fields.migrationsDir} is outside the repository at ${fields.topLevel}. Nothing was changed.`,
    );
    this.migrationsDir = fields.migrationsDir;
    this.topLevel = fields.topLevel;
  }
}

/** git ran but failed for another reason; its own message is kept. Nothing was changed. */
export class GitFailedError extends StepwiseError {
  override readonly name: string = "GitFailedError";
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(fields: { args: readonly string[]; exitCode: number | null; stderr: string }) {
    super("GIT_FAILED", `git ${fields.args.join(" ")} failed (exit ${fields.exitCode ?? "signal"}): ${fields.stderr.trim() || "no message"}. Nothing was changed.`);
    this.args = fields.args;
    this.exitCode = fields.exitCode;
    this.stderr = fields.stderr;
  }
}

/** A migration that rebase would renumber, as the refusal names it. */
export interface RebaseMigrationRef {
  readonly version: number;
  readonly name: string;
  /** Project-relative, forward slashes. */
  readonly file: string;
}

/**
 * A migration rebase would renumber is recorded as applied in the database it was pointed at: a new
 * number would make that database run it a second time. Nothing was changed.
 */
export class RebaseAppliedMigrationError extends StepwiseError {
  override readonly name: string = "RebaseAppliedMigrationError";
  /** The database that was read (a path, or a URL with its password hidden). */
  readonly database: string;
  readonly migrations: readonly RebaseMigrationRef[];

  constructor(fields: { database: string; migrations: readonly RebaseMigrationRef[] }) {
    const listed = fields.migrations.map((migration) => `${migration.file} (version ${migration.version})`).join(", ");
    super(
      "REBASE_APPLIED_MIGRATION",
      `Refusing to renumber ${listed}: ${fields.migrations.length === 1 ? "it is" : "they are"} recorded as applied in ${fields.database}, which would run ${fields.migrations.length === 1 ? "it" : "them"} again under the new number. ` +
        `Roll ${fields.migrations.length === 1 ? "it" : "them"} back first ("stepwise down"), or point rebase at another database (--db), then run rebase again. Nothing was changed.`,
    );
    this.database = fields.database;
    this.migrations = fields.migrations;
  }
}

/** Why rebase cannot decide on its own. */
export type RebaseConflictReason = "edited-on-both-sides" | "unmerged" | "target-exists";

/**
 * Renumbering would not resolve the situation, or would clobber a file: a migration both branches
 * changed, a merge conflict still open in the migrations folder, or a new name already taken.
 * Nothing was changed.
 */
export class RebaseConflictError extends StepwiseError {
  override readonly name: string = "RebaseConflictError";
  readonly reason: RebaseConflictReason;
  /** Project-relative files involved. */
  readonly files: readonly string[];

  constructor(fields: { reason: RebaseConflictReason; files: readonly string[]; base: string }) {
    const files = fields.files.join(", ");
    const advice: Record<RebaseConflictReason, string> = {
      "edited-on-both-sides": `${files} existed before this branch and was changed both here and on ${fields.base}; renumbering cannot merge two edits of one migration. Keep one version of the file (or move your change into a new migration), then run rebase again.`,
      unmerged: `${files} ${fields.files.length === 1 ? "has" : "have"} an unresolved merge conflict; resolve it (git add) and run rebase again.`,
      "target-exists": `the new name ${files} is already taken by another file; move that file away and run rebase again.`,
    };
    super("REBASE_CONFLICT", `Refusing to rebase: ${advice[fields.reason]} Nothing was changed.`);
    this.reason = fields.reason;
    this.files = fields.files;
  }
}

/**
 * A rename or rewrite failed part way. Every step already taken was undone, so the folder is as it
 * was, unless {@link RebaseRenameFailedError.restored} is false: then `pending` lists what could not be put back.
 */
export class RebaseRenameFailedError extends StepwiseError {
  override readonly name: string = "RebaseRenameFailedError";
  /** The file being moved or rewritten when it failed. */
  readonly file: string;
  /** The operating system's code (`EACCES`, `EXDEV`…), or `null`. */
  readonly systemCode: string | null;
  /** Whether every earlier step was undone. */
  readonly restored: boolean;
  /** When not restored: `temporary → original` moves that are still to do by hand. */
  readonly pending: readonly string[];

  constructor(fields: { file: string; systemCode: string | null; restored: boolean; pending: readonly string[]; cause: unknown }) {
    super(
      "REBASE_RENAME_FAILED",
      `Could not rename ${fields.file} (${fields.systemCode ?? "error"}). ` +
        (fields.restored
          ? "Every file already renamed was put back: the migrations folder is as it was, and the registry was not touched. Check that the folder is writable and run rebase again."
          : `Putting the files back failed too; move these by hand: ${fields.pending.join("; ")}. The registry was not touched.`),
      { cause: fields.cause },
    );
    this.file = fields.file;
    this.systemCode = fields.systemCode;
    this.restored = fields.restored;
    this.pending = fields.pending;
  }
}
