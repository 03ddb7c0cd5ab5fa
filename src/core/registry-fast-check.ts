/**
 * The checks every manager and `migrate` run on a registry before anything else, in one pass: the
 * dialect of each entry, then the version rules (`assertValidRegistry`). Each used to walk the whole
 * registry in its own function, and at N = 1,000 each walk was long enough for the engine to compile
 * it on its own at every cold start; one loop is one compile. The pass only answers "all fine"; on
 * anything else the caller runs the two checks as before, in their order, so every refusal keeps its
 * code, fields and precedence.
 */
import { hasDown } from "./planner.js";
import { DEFAULT_DIALECT, type MigrationRegistry, type SqlDialect } from "./types.js";

/**
 * True exactly when `assertRegistryDialect(migrations, { dialect })` and
 * `assertValidRegistry(migrations)` would both pass: every entry speaks `dialect` (none naming one
 * means sqlite), versions run 1..n, every checksum is non-empty text, no entry disables foreign keys
 * without a transaction, and each `reversible` matches its down.
 */
export function isCleanRegistry(migrations: MigrationRegistry, dialect: SqlDialect): boolean {
  for (let index = 0; index < migrations.length; index++) {
    const entry = migrations[index];
    if (entry === undefined || entry === null || typeof entry !== "object" || entry.version !== index + 1) return false;
    if ((entry.dialect ?? DEFAULT_DIALECT) !== dialect) return false;
    if (typeof entry.checksum !== "string" || entry.checksum === "" || (entry.disableForeignKeys && !entry.transaction)) return false;
    if (entry.reversible !== hasDown(entry)) return false;
  }
  return true;
}
