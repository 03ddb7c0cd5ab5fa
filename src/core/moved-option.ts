/** The refusal of an option that moved out of the manager, shared by the managers and `migrate`. */
import { usageError } from "./error-factories.js";

/**
 * Options that moved out of the manager into standalone functions still arrive from JavaScript or
 * from spread objects; ignoring them would skip a backup or a rehearsal without a word.
 */
export function refuseMovedOption(options: object, name: string, replacement: string): void {
  if ((options as Record<string, unknown>)[name]) {
    throw usageError(`The "${name}" option is not taken here any more; call ${replacement} instead (exported by "stepwise-migrate").`);
  }
}
