/** The bin's refusal of a registry of the other dialect, with the steps that work where it sits: `gen --dialect` alone never overwrites a registry of another dialect. */
import type { CliDriverName } from "../src/cli/driver-names.js";
import { withFix } from "../src/cli/error-fix.js";
import { NOTHING_CHANGED } from "../src/core/error-factories.js";
import { StepwiseError } from "../src/core/errors.js";
import { DEFAULT_DIALECT, type MigrationRegistry, type SqlDialect } from "../src/core/types.js";
import { describeDialectEntry, resolveSettings } from "./config.js";
import { genCommandOf, type GenTarget } from "./gen-command.js";
import { projectPath, tryOr } from "./problems.js";

/**
 * Throws `REGISTRY_DIALECT_MISMATCH` before the manager would, with the steps that work here, when `migrations` (read from `target.registryFile`) were generated for another dialect than the
 * driver's. When that file is also the other dialect's registry, the driver is likely the wrong one, or the project needs a `dialects` entry giving this dialect its own registry; when it is this
 * dialect's own, it must be deleted before gen writes it.
 */
export function refuseSharedRegistryOfOtherDialect(projectRoot: string, target: GenTarget, migrations: MigrationRegistry, driver: CliDriverName): void {
  const other = migrations.find((entry) => (entry.dialect ?? DEFAULT_DIALECT) !== target.dialect);
  if (other === undefined) return;
  const registryDialect: SqlDialect = other.dialect ?? DEFAULT_DIALECT;
  const shared = tryOr(() => resolveSettings(projectRoot, { dialect: registryDialect }).registryFile, null) === target.registryFile;
  const file = projectPath(projectRoot, target.registryFile);
  const details = { registryDialect, driverDialect: target.dialect, driver, version: other.version, file: other.file };
  if (!shared) {
    // This dialect's own file holds the other's registry (copied, or written by a gen with other flags): gen refuses to overwrite it (REGISTRY_DIALECT_CHANGED) until it is gone.
    const regenerate = `delete ${file}, then run "${genCommandOf(projectRoot, target)}" to write the ${target.dialect} registry there`;
    const message = `${file}, the config's registry for ${target.dialect}, holds a registry generated for ${registryDialect} (${other.file}, version ${other.version}), so the ${driver} driver cannot run it. ${NOTHING_CHANGED} To go on: ${regenerate}.`;
    throw withFix(new StepwiseError("REGISTRY_DIALECT_MISMATCH", message, details), regenerate);
  }
  const driverFlag = registryDialect === "postgres" ? "--driver pg" : "--driver better-sqlite3";
  const entry = describeDialectEntry(projectRoot, target.migrationsDir, target.dialect);
  const fix = `run it with a ${registryDialect} driver ("${driverFlag}", or "driver" in the config); to migrate ${target.dialect} databases too, add ${entry} to the config and run "stepwise gen --dialect ${target.dialect}"`;
  const message = `${file} was generated for ${registryDialect} (${other.file}, version ${other.version}), but the ${driver} driver runs ${target.dialect}, and the config gives ${target.dialect} no registry of its own. ${NOTHING_CHANGED} To go on: ${fix}.`;
  throw withFix(new StepwiseError("REGISTRY_DIALECT_MISMATCH", message, details), fix);
}
