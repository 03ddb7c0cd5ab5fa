/** Which plans `up`/`down({ transaction: "all" })` can run as one transaction, checked before anything runs, and the error for those that cannot. */
import { StepwiseError, type WholeRunObstacle } from "./errors.js";
import type { Dialect } from "./dialect.js";
import { copyTexts, keepText, option, runCall, text } from "./option-text.js";
import type { Step } from "./step.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";

/** The first step that cannot run inside a whole-run transaction, or `null` when all can. */
export function findWholeRunObstacle(steps: readonly MigrationEntry[], foreignKeysEnforced: boolean): { entry: MigrationEntry; obstacle: WholeRunObstacle } | null {
  for (const entry of steps) {
    if (!entry.transaction) return { entry, obstacle: "transaction-false" };
    if (entry.disableForeignKeys && foreignKeysEnforced) return { entry, obstacle: "foreign-keys-off" };
  }
  return null;
}

/** Refuses `steps` as one transaction: what the driver cannot run at all, then `WHOLE_RUN_TRANSACTION_REFUSED` for the first obstacle, with the calls that get past it. */
export function* refuseWholeRunObstacles(
  executor: { refuseUnsupportedMigrations(entries: readonly MigrationEntry[], direction: MigrationDirection): void; readonly dialect: Pick<Dialect, "foreignKeysEnforced"> },
  steps: readonly MigrationEntry[],
  direction: MigrationDirection,
): Step<void> {
  executor.refuseUnsupportedMigrations(steps, direction);
  const found = findWholeRunObstacle(steps, yield* executor.dialect.foreignKeysEnforced());
  if (!found) return;
  const { version, file } = found.entry;
  const first = found.entry === steps[0];
  const all = option("transaction", "all");
  const fix =
    direction === "up"
      ? first
        ? text`run ${runCall("up", { to: version })}, then ${runCall("up")} for the rest`
        : text`run ${runCall("up", { to: version - 1, transaction: "all" })}, then ${runCall("up")} for the rest`
      : first
        ? text`run ${runCall("down", { steps: 1 })} (it reverts ${version} on its own), then revert the rest without ${all}`
        : text`run ${runCall("down", { to: version, transaction: "all" })}, then revert the rest without ${all}`;
  const why =
    found.obstacle === "transaction-false"
      ? `has transaction: false (VACUUM, CREATE INDEX CONCURRENTLY: statements that cannot run in a transaction).`
      : `switches foreign keys off, which SQLite only allows outside a transaction, so it would cover the whole run.`;
  const texts = {};
  const error = new StepwiseError(
    "WHOLE_RUN_TRANSACTION_REFUSED",
    text`Cannot ${direction === "up" ? "apply the pending" : "revert the"} migrations in one transaction: migration ${version} (${file}) ${why}\nNothing was changed. To get past it, ${fix}.`,
    { fix: keepText(texts, "fix", fix), version, file, obstacle: found.obstacle, direction, firstOfRun: first },
  );
  copyTexts(texts, error);
  throw error;
}
