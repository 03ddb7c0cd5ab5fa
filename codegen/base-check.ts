/**
 * `gen --check --base <ref>`: every version that this branch and the base branch each use for a
 * different migration, as a problem, so CI on a pull request catches the collision before the merge
 * does (where both files would land with one number).
 */
import { compareWithBase } from "./base-migrations.js";
import type { Problem } from "./problems.js";

/** Where to look. Paths absolute. */
export interface CheckAgainstBaseOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  /** A git ref; `null` for the default branch. */
  readonly base: string | null;
}

/**
 * One `VERSION_TAKEN_ON_BASE` problem per pair of files with one version and different content. A
 * migration untouched since the merge base is never reported: whatever the base did to it arrives
 * with the merge.
 *
 * @throws `GIT_NOT_FOUND`, `NOT_A_GIT_REPOSITORY`, `GIT_REF_NOT_FOUND` or `GIT_FAILED`.
 */
export function checkAgainstBase(options: CheckAgainstBaseOptions): Problem[] {
  const comparison = compareWithBase({ ...options, operation: "stepwise gen --check --base" });
  const ref = comparison.base.ref;
  return comparison.collisions.map(({ version, local, base }): Problem => {
    const fix =
      local.origin === "added"
        ? `run "stepwise rebase --base ${ref}" to renumber this branch's migrations after ${ref}'s newest`
        : local.origin === "edited-on-both-sides"
          ? `both branches changed this migration since they split; keep one version of it (or move your change into a new migration)`
          : `this branch changed a migration ${ref} already has; databases that applied it will refuse it with CHECKSUM_MISMATCH, so move the change into a new migration`;
    return {
      code: "VERSION_TAKEN_ON_BASE",
      file: local.file,
      line: 1,
      column: 1,
      message: `version ${version} is also used on ${ref} by ${base.file}, with different content; ${fix}`,
      base: { ref, file: base.file, version },
    };
  });
}
