/**
 * "No database given", with where the CLI looked: a user whose config sits in the wrong file (a
 * `stepwise.config.ts`, a package.json one folder up, a key spelled `db`) sees which files were read
 * and what each held, instead of a bare "pass --db".
 */
import { UsageError } from "../core/errors.js";

/** One place the CLI looked for the database, and what it found there. */
export interface DatabaseLookup {
  /** A flag, an environment variable, or an absolute file path. */
  readonly place: string;
  /** What that place held, such as `not found` or `no "stepwise" key`. */
  readonly found: string;
}

/**
 * A config setting names an environment variable (`"url": "${DATABASE_URL}"`) that is not set. Until
 * a command needs the setting, that is "not configured" (a flag may give it, `gen --check` needs no
 * database); a command that needs it refuses with this, naming the variable and the config file.
 */
export class ConfigVariableUnsetError extends UsageError {
  override readonly name: string = "ConfigVariableUnsetError";
  /** The setting, such as `url`. */
  readonly setting: string;
  /** The variable it names, such as `DATABASE_URL`. */
  readonly variable: string;
  /** The config file that names it. */
  readonly configFile: string;

  constructor(fields: { setting: string; variable: string; configFile: string }) {
    super(
      `The config's "${fields.setting}" (in ${fields.configFile}) names \${${fields.variable}}, but ${fields.variable} is not set. ` +
        `Set ${fields.variable}, or pass --${fields.setting}. Nothing was changed.`,
    );
    this.setting = fields.setting;
    this.variable = fields.variable;
    this.configFile = fields.configFile;
  }
}

/** A runtime command needs a SQLite database and neither a flag, the config nor DATABASE_URL names one. */
export class NoDatabaseGivenError extends UsageError {
  override readonly name: string = "NoDatabaseGivenError";
  /** Every place looked at, in the order the CLI reads them (the first that names a database wins). */
  readonly searched: readonly DatabaseLookup[];

  constructor(searched: readonly DatabaseLookup[], hasConfig: boolean) {
    const fix = hasConfig
      ? `pass --db <path>, set "database" in the stepwise config (such as "stepwise": {"database": "data/app.db"} in package.json), or set DATABASE_URL to a SQLite path`
      : "pass --db <path>, or set DATABASE_URL to a SQLite path";
    super(`No database given: ${fix}. Looked at:\n${searched.map((lookup) => `  ${lookup.place}: ${lookup.found}`).join("\n")}`);
    this.searched = searched;
  }
}
