/** The bin's refusal of a registry of the other dialect where the config gives both dialects one registry file, which `gen --dialect` cannot fill without overwriting the other's. */
import type { CliDriverName } from "../src/cli/driver-names.js";
import { withFix } from "../src/cli/error-fix.js";
import { NOTHING_CHANGED } from "../src/core/error-factories.js";
import { StepwiseError } from "../src/core/errors.js";
import { DEFAULT_DIALECT, type MigrationRegistry, type SqlDialect } from "../src/core/types.js";
import { describeDialectEntry, resolveSettings } from "./config.js";
import type { GenTarget } from "./gen-command.js";
import { projectPath, tryOr } from "./problems.js";

/**
 * Throws `REGISTRY_DIALECT_MISMATCH` before the manager would, with the steps that work here, when `migrations` (read from `target.registryFile`) were generated for another dialect than the
 * driver's and that file is also the other dialect's registry: the driver is likely the wrong one, or the project needs a `dialects` entry giving this dialect its own registry.
 */
export function refuseSharedRegistryOfOtherDialect(projectRoot: string, target: GenTarget, migrations: MigrationRegistry, driver: CliDriverName): void {
  const other = migrations.find((entry) => (entry.dialect ?? DEFAULT_DIALECT) !== target.dialect);
  if (other === undefined) return;
  const registryDialect: SqlDialect = other.dialect ?? DEFAULT_DIALECT;
  const shared = tryOr(() => resolveSettings(projectRoot, { dialect: registryDialect }).registryFile, null) === target.registryFile;
  if (!shared) return;
  const file = projectPath(projectRoot, target.registryFile);
  const driverFlag = registryDialect === "postgres" ? "--driver pg" : "--driver better-sqlite3";
  const entry = describeDialectEntry(projectRoot, target.migrationsDir, target.dialect);
  const fix = `run it with a ${registryDialect} driver ("${driverFlag}", or "driver" in the config); to migrate ${target.dialect} databases too, add ${entry} to the config and run "stepwise gen --dialect ${target.dialect}"`;
  const message = `${file} was generated for ${registryDialect} (${other.file}, version ${other.version}), but the ${driver} driver runs ${target.dialect}, and the config gives ${target.dialect} no registry of its own. ${NOTHING_CHANGED} To go on: ${fix}.`;
  const details = { registryDialect, driverDialect: target.dialect, driver, version: other.version, file: other.file };
  throw withFix(new StepwiseError("REGISTRY_DIALECT_MISMATCH", message, details), fix);
}
