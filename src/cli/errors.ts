/** The errors only the CLI throws: a driver it cannot name, find or load, and a path it cannot pass on. The same `StepwiseError`, its codes and details defined in the core. */
import { describeThrownValue, NOTHING_CHANGED, usageError } from "../core/error-factories.js";
import { StepwiseError, type StepwiseErrorDetails } from "../core/errors.js";
import { otherDriver, withFix } from "./error-fix.js";

/** `PATH_NOT_UTF8`: the string that reached stepwise names another file than the bytes given. */
export function pathEncodingError(path: string, bytes: string) {
  const message = `The path ${bytes} is not valid UTF-8, so stepwise cannot open the file it names (it would open another one). ${NOTHING_CHANGED} Rename the file to a UTF-8 name (or link to it from one), and pass that.`;
  return new StepwiseError("PATH_NOT_UTF8", message, { path, bytes });
}

/** `DRIVER_UNKNOWN`: a driver name that names none of stepwise's drivers (the CLI exits 2: a setting the user typed). */
export function driverUnknownError({ driver, source, validDrivers }: StepwiseErrorDetails["DRIVER_UNKNOWN"]) {
  return new StepwiseError("DRIVER_UNKNOWN", `Unknown driver ${JSON.stringify(driver)} in ${source}. ${NOTHING_CHANGED} Use one of: ${validDrivers.join(", ")}.`, { driver, source, validDrivers });
}

/** `DRIVER_NOT_INSTALLED`: the driver's library is missing, fails to load on this runtime, or (`unbuilt`) was installed without running its install script, which builds its native part. */
export function driverNotInstalledError(fields: StepwiseErrorDetails["DRIVER_NOT_INSTALLED"] & { cause?: unknown; unbuilt?: boolean }) {
  const { driver, packageName, installCommand, reason, cause, unbuilt } = fields;
  // A rebuild alone would skip the script again where the package manager did not approve it, so that comes first.
  const problem =
    reason === "missing"
      ? `The ${driver} driver needs the "${packageName}" package, which is not installed. ${NOTHING_CHANGED} Install it with:`
      : unbuilt === true
        ? `The "${packageName}" package is installed without its native library: its install script, which builds it, did not run (npm 12 skips one that "allowScripts" in package.json does not approve, as --ignore-scripts does). ${NOTHING_CHANGED} Approve the script (with npm: "npm install-scripts approve ${packageName}"), then build it with:`
        : `The "${packageName}" package is installed but failed to load on this runtime (${describeThrownValue(cause).replace(/\s+/g, " ")}). ${NOTHING_CHANGED} Rebuild it for this runtime with:`;
  const message = `${problem}\n  ${installCommand}\n${otherDriver(driver, reason)}.`;
  return new StepwiseError("DRIVER_NOT_INSTALLED", message, { driver, packageName, installCommand, reason }, { cause });
}

/** `DRIVER_RUNTIME_UNSUPPORTED`: the driver is built into another runtime. */
export function driverRuntimeUnsupportedError({ driver, runtime, required, hint }: StepwiseErrorDetails["DRIVER_RUNTIME_UNSUPPORTED"] & { hint: string }) {
  return new StepwiseError("DRIVER_RUNTIME_UNSUPPORTED", `The ${driver} driver needs ${required}, but this is ${runtime}. ${NOTHING_CHANGED} ${hint}`, { driver, runtime, required });
}

/** `USAGE` for a flag or setting the user typed: `problem`, then "Nothing was changed."; `fix`, the step it names, is `--json`'s too. */
export function refusal(problem: string, fix?: string) {
  const error = usageError(`${problem} ${NOTHING_CHANGED}`);
  return fix === undefined ? error : withFix(error, fix);
}

/** The refusal of a flag only `--driver pg` has (SQLite's busy timeout bounds every wait; SQLite and libSQL have no schemas), on `driver`, in a CLI offering `offered`. */
export function pgOnlyFlagRefusal(flag: "--lock-timeout" | "--schema", driver: string, offered: readonly string[]) {
  // The flag says the user means PostgreSQL as often as it is out of place: a DATABASE_URL of a server picks no driver, so the way there is named too, where this CLI has it.
  const toPg = offered.includes("pg") ? `, or pass --driver pg to work on PostgreSQL` : "";
  if (flag === "--schema")
    return refusal(`--schema is for --driver pg; a ${driver === "libsql-client" ? "libSQL database" : "SQLite database"} has no schemas: leave it out${toPg}.`, `leave out --schema${toPg}`);
  return refusal(
    `--lock-timeout is for --driver pg; the ${driver} driver waits for locks up to --busy-timeout: use that instead${toPg}.`,
    `leave out --lock-timeout (--busy-timeout bounds the wait for locks)${toPg}`,
  );
}
