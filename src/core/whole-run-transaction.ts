/**
 * The rule for `up({ transaction: "all" })`: which plans can run as one all-or-nothing transaction,
 * and the error for those that cannot. It is checked before anything runs.
 */
import { StepwiseError } from "./errors.js";
import type { MigrationEntry } from "./types.js";

/** Why a migration cannot join a whole-run transaction. */
export type WholeRunObstacle =
  /** It has `transaction: false`: SQLite refuses its statements (VACUUM, some PRAGMAs) in a transaction. */
  | "transaction-false"
  /**
   * It sets `disableForeignKeys` while enforcement is on. The switch only works outside a
   * transaction, so it would cover every migration of the run, and cascades that the others rely on
   * would silently stop.
   */
  | "foreign-keys-off";

/** `up({ transaction: "all" })` was refused, before anything ran; nothing was changed. */
export class WholeRunTransactionRefusedError extends StepwiseError {
  readonly version: number;
  readonly file: string;
  readonly obstacle: WholeRunObstacle;

  constructor(fields: { version: number; file: string; obstacle: WholeRunObstacle }) {
    super(
      "WHOLE_RUN_TRANSACTION_REFUSED",
      `Cannot apply the pending migrations in one transaction: migration ${fields.version} (${fields.file}) ` +
        (fields.obstacle === "transaction-false"
          ? `has transaction: false, and SQLite refuses its statements inside a transaction.`
          : `switches foreign keys off, which SQLite only allows outside a transaction, so the switch would cover the whole run.`) +
        `\nNothing was changed. Apply up to version ${fields.version - 1} in one transaction with to: ${fields.version - 1}, ` +
        `then the rest without transaction: "all".`,
    );
    this.version = fields.version;
    this.file = fields.file;
    this.obstacle = fields.obstacle;
  }
}

/** The first step that cannot run inside a whole-run transaction, or `null` when all can. */
export function findWholeRunObstacle(steps: readonly MigrationEntry[], foreignKeysEnforced: boolean): { entry: MigrationEntry; obstacle: WholeRunObstacle } | null {
  for (const entry of steps) {
    if (!entry.transaction) return { entry, obstacle: "transaction-false" };
    if (entry.disableForeignKeys && foreignKeysEnforced) return { entry, obstacle: "foreign-keys-off" };
  }
  return null;
}

/** Throws {@link WholeRunTransactionRefusedError} when {@link findWholeRunObstacle} finds a step. */
export function assertWholeRunPossible(steps: readonly MigrationEntry[], foreignKeysEnforced: boolean): void {
  const found = findWholeRunObstacle(steps, foreignKeysEnforced);
  if (found) throw new WholeRunTransactionRefusedError({ version: found.entry.version, file: found.entry.file, obstacle: found.obstacle });
}
