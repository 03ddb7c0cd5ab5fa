/**
 * "No database given", with where the CLI looked: a user whose config sits in the wrong file (a
 * `stepwise.config.ts`, a package.json one folder up, a key spelled `db`) sees which files were read
 * and what each held, instead of a bare "pass --db".
 */
import { StepwiseError, type DatabaseLookup } from "../core/errors.js";

/**
 * A config setting names an environment variable (`"url": "${DATABASE_URL}"`) that is not set. Until
 * a command needs the setting, that is "not configured" (a flag may give it, `gen --check` needs no
 * database); a command that needs it refuses with this, naming the variable and the config file.
 */
export function configVariableUnsetError(fields: { setting: string; variable: string; configFile: string }): StepwiseError<"USAGE"> {
  return new StepwiseError(
    "USAGE",
    `The config's "${fields.setting}" (in ${fields.configFile}) names \${${fields.variable}}, but ${fields.variable} is not set. ` +
      `Set ${fields.variable}, or pass --${fields.setting}. Nothing was changed.`,
    { setting: fields.setting, variable: fields.variable, configFile: fields.configFile },
  );
}

/** A runtime command needs a SQLite database and neither a flag, the config nor DATABASE_URL names one. */
export function noDatabaseGivenError(searched: readonly DatabaseLookup[], hasConfig: boolean): StepwiseError<"USAGE"> {
  const fix = hasConfig
    ? `pass --db <path>, set "database" in the stepwise config (such as "stepwise": {"database": "data/app.db"} in package.json), or set DATABASE_URL to a SQLite path`
    : "pass --db <path>, or set DATABASE_URL to a SQLite path";
  return new StepwiseError("USAGE", `No database given: ${fix}. Looked at:\n${searched.map((lookup) => `  ${lookup.place}: ${lookup.found}`).join("\n")}`, { searched });
}

export type { DatabaseLookup } from "../core/errors.js";
