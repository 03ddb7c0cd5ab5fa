/**
 * Settings shared by every command of the `stepwise` bin: flags first, then a config file
 * (`stepwise.config.json`, or a `stepwise` key in package.json), then defaults. The runtime commands
 * read theirs lazily ({@link runtimeConfig}), and say where they looked when no database is given
 * ({@link describeConfigLookup}).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { DEFAULT_TABLE_NAME } from "../src/core/history.js";
import { DEFAULT_DIALECT, type SqlDialect } from "../src/core/types.js";
import { parseDriverName } from "../src/cli/driver-names.js";
import type { DriverEntry } from "../src/shared/package-name.js";
import { findPasswords } from "../src/cli/secrets.js";
import { assertPathRoundTrips } from "../src/cli/database-path.js";
import { TARGETS, type Target } from "./d1-target.js";
import { configVariableUnsetError } from "../src/cli/database-target.js";
import { usageError } from "../src/core/error-factories.js";
import { StepwiseError, type DatabaseLookup } from "../src/core/errors.js";
import type { CreateCliProps } from "../src/cli/create-cli.js";
import type { CliDriverName } from "../src/cli/driver-names.js";

/** Resolved settings; paths are absolute. */
export interface StepwiseSettings {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  /** `null` when neither a flag nor the config names one; runtime commands then ask for `--db`. */
  readonly database: string | null;
  readonly tableName: string;
  /**
   * The project's driver: the one the runtime commands open the database with (`--driver` may name
   * another), whose entry `create`'s template imports, and whose connection `gen --check` replays
   * TypeScript migrations on. `d1` and `durable-objects` run only inside a Worker (`WORKER_DRIVERS`).
   * `null` when the config names none.
   */
  readonly driver: DriverEntry | null;
  /** The SQL dialect `gen` checks, hashes and records the migrations for. */
  readonly dialect: SqlDialect;
  /** The runtime the registry is for, when the config names one (`d1`: `gen` refuses TypeScript migrations). */
  readonly target: Target | null;
  /**
   * The config's connection URL for `--driver pg`, as written (its `${NAME}`s are expanded by
   * `expandConfigUrl` only when a pg command needs it); `null` when the config names none.
   */
  readonly url: string | null;
  /** The PostgreSQL schema of the history table; `null` when the config names none (`public`). */
  readonly schema: string | null;
}

/** What a config may set; paths are relative to the project root. */
export interface StepwiseConfig {
  readonly migrationsDir?: string;
  readonly registryFile?: string;
  readonly database?: string;
  readonly tableName?: string;
  /**
   * A driver name (`better-sqlite3`, `node-sqlite`, `bun-sqlite`, `libsql`, `sql-js`, `pg`,
   * `libsql-client`), or `d1` or `durable-objects` for a project that runs in a Cloudflare Worker.
   */
  readonly driver?: string;
  /** The dialect of `migrationsDir` and `registryFile`: `sqlite` (the default) or `postgres`. */
  readonly dialect?: string;
  /**
   * The connection URL for `--driver pg`. The config is committed, so a password does not belong in
   * it: write `"${DATABASE_URL}"` (any `${NAME}` is read from the environment), or leave `url` out
   * and set `DATABASE_URL`.
   */
  readonly url?: string;
  /** The PostgreSQL schema of the history table (default `public`). */
  readonly schema?: string;
  /** The runtime the registry is for: `d1` (Cloudflare D1), where `gen` refuses TypeScript migrations. */
  readonly target?: string;
  /**
   * The folder and registry of each other dialect, for an app that runs on both and keeps one
   * migrations folder per dialect: `{"postgres": {"migrationsDir": "migrations/postgres",
   * "registryFile": "generated/registry.postgres.ts"}}`. `gen --dialect postgres` uses them.
   */
  readonly dialects?: Readonly<Partial<Record<SqlDialect, DialectPaths>>>;
}

/** Where one dialect's migrations and registry live; paths are relative to the project root. */
export interface DialectPaths {
  readonly migrationsDir?: string;
  readonly registryFile?: string;
}

/**
 * The drivers a config may name that the bin cannot open: they run inside a Cloudflare Worker. They
 * pick `create`'s template and `gen --check`'s replay; the runtime commands need `--driver`.
 */
export const WORKER_DRIVERS: readonly DriverEntry[] = ["d1", "durable-objects"];

/** The dialects `dialect` and `gen --dialect` accept. */
export const DIALECTS: readonly SqlDialect[] = ["sqlite", "postgres"];

/** Where migrations live unless configured. */
export const DEFAULT_MIGRATIONS_DIR = "migrations";
/** Where the registry is written unless configured. */
export const DEFAULT_REGISTRY_FILE = "generated/registry.ts";
/** The optional config file at the project root. */
export const CONFIG_FILE_NAME = "stepwise.config.json";

const CONFIG_KEYS = new Set(["migrationsDir", "registryFile", "database", "tableName", "driver", "dialect", "dialects", "url", "schema", "target"]);
const DIALECT_PATH_KEYS = new Set(["migrationsDir", "registryFile"]);

/**
 * Reads a dialect name, from `--dialect` or the config (`where` names which), refusing any other
 * with a usage error that lists the dialects.
 */
export function parseDialect(value: string, where: string): SqlDialect {
  if ((DIALECTS as readonly string[]).includes(value)) return value as SqlDialect;
  throw usageError(`Unknown dialect ${JSON.stringify(value)} (${where}); the dialects are ${DIALECTS.join(", ")}.`);
}

/**
 * The nearest folder at or above `startDir` that holds a package.json; `startDir` itself when none
 * does.
 */
export function findProjectRoot(startDir: string): string {
  let dir = path.resolve(startDir);
  for (;;) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(startDir);
    dir = parent;
  }
}

/**
 * The config as its file holds it: its shape checked (an object of known keys, each a non-empty
 * string), its values not yet, since a flag may override one (see {@link resolveSettings}).
 */
export interface ConfigFile {
  readonly config: StepwiseConfig;
  /** The file it was read from (stepwise.config.json or package.json); `null` when there is none. */
  readonly file: string | null;
  /** How messages name it: `stepwise.config.json`, or `the "stepwise" key of package.json`. */
  readonly source: string;
}

/** Reads the project's config, refusing unknown keys and wrong types; the values are checked by their readers. */
export function readConfigFile(projectRoot: string): ConfigFile {
  const configPath = path.join(projectRoot, CONFIG_FILE_NAME);
  const packagePath = path.join(projectRoot, "package.json");
  let fromFile: unknown;
  let fromPackage: unknown;
  if (existsSync(configPath)) fromFile = parseJsonFile(configPath);
  if (existsSync(packagePath)) fromPackage = (parseJsonFile(packagePath) as { stepwise?: unknown } | null)?.stepwise;
  if (fromFile !== undefined && fromPackage !== undefined) {
    throw usageError(`Both ${CONFIG_FILE_NAME} and the "stepwise" key of package.json configure stepwise; keep one of them.`);
  }
  const source = fromFile !== undefined ? CONFIG_FILE_NAME : `the "stepwise" key of package.json`;
  const file = fromFile !== undefined ? configPath : fromPackage !== undefined ? packagePath : null;
  // `null` is a config too (a wrong one); `??` would read it as "no config" and blame the missing database.
  const raw = fromFile !== undefined ? fromFile : fromPackage;
  if (raw === undefined) return { config: {}, file: null, source };
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw usageError(`${source} must be an object such as {"database": "data/app.db"}.`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (!CONFIG_KEYS.has(key)) {
      throw usageError(`Unknown setting "${key}" in ${source}; the settings are ${[...CONFIG_KEYS].join(", ")}.`);
    }
    if (key === "dialects") {
      checkDialectsSetting(value, source);
      continue;
    }
    if (typeof value !== "string" || value === "") {
      throw usageError(`Setting "${key}" in ${source} must be a non-empty string.`);
    }
  }
  return { config: raw as StepwiseConfig, file, source };
}

/** Reads the project's config, refusing unknown keys, wrong types and values no reader takes. */
export function readConfig(projectRoot: string): StepwiseConfig {
  const read = readConfigFile(projectRoot);
  configDialect(read);
  configTarget(read);
  const driver = configDriver(read);
  // Stored in its canonical spelling.
  return driver === null ? read.config : { ...read.config, driver };
}

/** The config's dialect, checked; sqlite when it names none. */
function configDialect({ config, source }: ConfigFile): SqlDialect {
  return config.dialect === undefined ? DEFAULT_DIALECT : parseDialect(config.dialect, `"dialect" in ${source}`);
}

/** The config's target, checked; `null` when it names none. */
function configTarget({ config, source }: ConfigFile): Target | null {
  if (config.target === undefined) return null;
  if (!(TARGETS as readonly string[]).includes(config.target)) throw usageError(`Setting "target" in ${source} must be one of ${TARGETS.join(", ")}, not "${config.target}".`);
  return config.target as Target;
}

/**
 * The config's driver in its canonical spelling, checked so the error names the file it came from;
 * `null` when it names none.
 */
export function configDriver({ config, file }: ConfigFile): DriverEntry | null {
  if (config.driver === undefined) return null;
  const named = config.driver.trim().toLowerCase();
  const worker = WORKER_DRIVERS.find((name) => name === named);
  return worker ?? parseDriverName(config.driver, file === null || path.basename(file) !== "package.json" ? (file ?? CONFIG_FILE_NAME) : `${file} ("stepwise"."driver")`);
}

/**
 * Combines flags, config and defaults. A flag wins over its setting, which is then not even checked:
 * `--dialect sqlite` works beside a config whose dialect is misspelt. The folder and registry of the
 * chosen dialect come from the flags, then that dialect's entry in `dialects`, then the top-level
 * settings, which belong to the config's `dialect` (sqlite unless it names another). A dialect other
 * than that one must have its own folder and registry, from `dialects` or the flags: falling back to
 * the other dialect's would check its SQL by the wrong rules and overwrite its registry.
 */
export function resolveSettings(projectRoot: string, flags: StepwiseConfig = {}): StepwiseSettings {
  const read = readConfigFile(projectRoot);
  const { config } = read;
  const pick = (key: "database" | "tableName") => flags[key] ?? config[key];
  const database = pick("database");
  const dialect = flags.dialect === undefined ? configDialect(read) : parseDialect(flags.dialect, "--dialect");
  const own = config.dialects?.[dialect] ?? {};
  // As written: a dialect the flag overrode may be one stepwise does not know, and owns no paths then.
  const topLevelDialect = config.dialect ?? DEFAULT_DIALECT;
  const topLevel = dialect === topLevelDialect ? config : {};
  const migrationsDir = flags.migrationsDir ?? own.migrationsDir ?? topLevel.migrationsDir;
  const registryFile = flags.registryFile ?? own.registryFile ?? topLevel.registryFile;
  const configNamesPaths = config.migrationsDir !== undefined || config.registryFile !== undefined || config.dialects !== undefined;
  if (dialect !== topLevelDialect && configNamesPaths && (migrationsDir === undefined || registryFile === undefined)) {
    throw usageError(
      `The config's migrationsDir and registryFile are for ${topLevelDialect}, and it names no ${migrationsDir === undefined ? "migrations folder" : "registry file"} for ${dialect}; ` +
        `add "dialects": {"${dialect}": {"migrationsDir": "migrations/${dialect}", "registryFile": "generated/registry.${dialect}.ts"}} to it, or pass --dir and --out.`,
    );
  }
  const driver = flags.driver === undefined ? configDriver(read) : parseDriverName(flags.driver, "--driver");
  // A path whose bytes were not UTF-8 (in the config, a flag, or the project's own folder) names another file.
  for (const value of [projectRoot, migrationsDir, registryFile, database]) if (value !== undefined) assertPathRoundTrips(value);
  return {
    projectRoot,
    migrationsDir: path.resolve(projectRoot, migrationsDir ?? DEFAULT_MIGRATIONS_DIR),
    registryFile: path.resolve(projectRoot, registryFile ?? DEFAULT_REGISTRY_FILE),
    database: database === undefined ? null : path.resolve(projectRoot, database),
    tableName: pick("tableName") ?? DEFAULT_TABLE_NAME,
    driver,
    dialect,
    url: config.url ?? null,
    schema: config.schema ?? null,
    // A project whose driver is D1 has a registry for D1.
    target: configTarget(read) ?? (driver === "d1" ? "d1" : null),
  };
}

/** `dialects`: an object from dialect names to objects of non-empty path strings. */
function checkDialectsSetting(value: unknown, source: string): void {
  const example = `{"postgres": {"migrationsDir": "migrations/postgres", "registryFile": "generated/registry.postgres.ts"}}`;
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw usageError(`Setting "dialects" in ${source} must be an object such as ${example}.`);
  for (const [name, paths] of Object.entries(value)) {
    parseDialect(name, `"dialects" in ${source}`);
    if (paths === null || typeof paths !== "object" || Array.isArray(paths)) throw usageError(`Setting "dialects"."${name}" in ${source} must be an object such as ${example}.`);
    for (const [key, setting] of Object.entries(paths)) {
      if (!DIALECT_PATH_KEYS.has(key)) throw usageError(`Unknown setting "dialects"."${name}"."${key}" in ${source}; a dialect's settings are ${[...DIALECT_PATH_KEYS].join(", ")}.`);
      if (typeof setting !== "string" || setting === "") throw usageError(`Setting "dialects"."${name}"."${key}" in ${source} must be a non-empty string.`);
    }
  }
}

function parseJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw usageError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The config's `url` with each `${NAME}` replaced by the environment variable `NAME`, so a committed
 * config can name the URL without holding its password. `configFile` is named by the refusals.
 *
 * @throws `USAGE` when the URL as written holds a password (not a `${NAME}` reference); never quoting it.
 * @throws `USAGE` when it names a variable that is not set: the setting is not
 *   configured here, which only a command that needs the database refuses.
 */
export function expandConfigUrl(value: string, env: Readonly<Record<string, string | undefined>>, configFile: string): string {
  // The config is committed with the project: a password written into it is a leaked password. One
  // that is only a ${NAME} reference (postgres://app:${DB_PASSWORD}@host/db) is fine.
  if (findPasswords(value).some((password) => password !== "" && !/^(\$\{[A-Za-z_][A-Za-z0-9_]*\})+$/.test(password))) {
    throw usageError(
      `The config's "url" holds a password, and the config is committed with the project. Write "url": "\${DATABASE_URL}" (or name the password as \${NAME}), or set PGPASSWORD, and change the password if the config was ever shared. Nothing was changed.`,
    );
  }
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
    const found = env[name];
    if (found === undefined || found === "") throw configVariableUnsetError({ setting: "url", variable: name, configFile });
    return found;
  });
}

/** The config-backed props of `createCli`, and the URL `gen --check` replays a postgres registry on. */
export interface RuntimeConfig extends Required<Pick<CreateCliProps, "database" | "url" | "schema" | "tableName" | "driver" | "databaseSearched">> {
  /**
   * The server `gen --check` replays on: the config's `url` expanded, else `DATABASE_URL`; `url`
   * `null` when there is none, with `unset` naming the config's variable that is not set, if that is why.
   */
  replayUrl(): { readonly url: string | null; readonly unset: string | null };
}

/**
 * The runtime commands' settings of the project at `projectRoot`, `${NAME}`s read from `env`: the
 * props of `createCli` that a flag overrides (`--db`, `--url`, `--driver`, `--schema`, `--table`).
 * Each is read only when the CLI asks for it, which it does only when its flag is not given: so a
 * flag always wins, and the config's value for it is never checked, nor its `${NAME}`s expanded.
 */
export function runtimeConfig(projectRoot: string, env: Readonly<Record<string, string | undefined>>): RuntimeConfig {
  let read: ConfigFile | undefined;
  const file = () => (read ??= readConfigFile(projectRoot));
  const config = () => file().config;
  const url = (): string | null => {
    const written = config().url;
    return written === undefined ? null : expandConfigUrl(written, env, file().file ?? projectRoot);
  };
  return {
    url,
    database: () => {
      const database = config().database;
      return database === undefined ? null : path.resolve(projectRoot, database);
    },
    schema: () => config().schema,
    tableName: () => config().tableName ?? DEFAULT_TABLE_NAME,
    driver: () => cliDriverOf(configDriver(file())),
    databaseSearched: () => describeConfigLookup(projectRoot),
    replayUrl: () => {
      try {
        return { url: url() ?? env.DATABASE_URL ?? null, unset: null };
      } catch (error) {
        if (error instanceof StepwiseError && error.is("USAGE") && error.details.variable !== undefined) return { url: null, unset: error.details.variable };
        throw error;
      }
    },
  };
}

/** The config's driver as the runtime commands open it; a Worker's driver needs `--driver` instead. */
function cliDriverOf(driver: StepwiseSettings["driver"]): CliDriverName | null {
  if (driver === null || !WORKER_DRIVERS.includes(driver)) return driver as CliDriverName | null;
  throw usageError(
    `The config's driver is "${driver}", which runs only inside a Cloudflare Worker: the stepwise bin cannot open it. Pass --driver and --db for a local copy of the database (such as --driver sql-js --db <the .sqlite file wrangler keeps under .wrangler/state>).`,
  );
}

/** Config spellings other tools accept and stepwise does not read. */
const UNREAD_CONFIG_FILES = [
  "stepwise.config.ts",
  "stepwise.config.mts",
  "stepwise.config.cts",
  "stepwise.config.js",
  "stepwise.config.mjs",
  "stepwise.config.cjs",
  "stepwise.config.jsonc",
  "stepwise.config.yaml",
  "stepwise.config.yml",
  ".stepwiserc",
  ".stepwiserc.json",
];

/**
 * The config files at `projectRoot` and what each says about the database, in the order they are
 * read, for the runtime commands' "No database given" error; unread look-alikes are listed after
 * them, since a `stepwise.config.ts` written by habit is the usual reason a setting is ignored. Never throws: an unreadable file is reported as such.
 */
export function describeConfigLookup(projectRoot: string): DatabaseLookup[] {
  const lookups: DatabaseLookup[] = [];
  const configFile = path.join(projectRoot, CONFIG_FILE_NAME);
  lookups.push({ place: configFile, found: existsSync(configFile) ? describeSettings(readJson(configFile), "the file") : "not found" });
  const packageFile = path.join(projectRoot, "package.json");
  if (!existsSync(packageFile)) {
    lookups.push({ place: packageFile, found: "not found (no package.json at or above the working folder, so this folder is taken as the project root)" });
  } else {
    const manifest = readJson(packageFile);
    const settings = manifest.ok && manifest.value !== null && typeof manifest.value === "object" ? (manifest.value as { stepwise?: unknown }).stepwise : undefined;
    lookups.push({
      place: packageFile,
      found: !manifest.ok ? manifest.problem : settings === undefined ? 'no "stepwise" key' : describeSettings({ ok: true, value: settings }, 'its "stepwise" key'),
    });
  }
  for (const name of UNREAD_CONFIG_FILES) {
    const file = path.join(projectRoot, name);
    if (existsSync(file)) lookups.push({ place: file, found: `exists, but is not read: the config is ${CONFIG_FILE_NAME} or the "stepwise" key of package.json` });
  }
  return lookups;
}

function describeSettings(read: { ok: true; value: unknown } | { ok: false; problem: string }, subject: string): string {
  if (!read.ok) return read.problem;
  if (read.value === null || typeof read.value !== "object" || Array.isArray(read.value)) return `${subject} is not an object`;
  const keys = Object.keys(read.value);
  if (keys.includes("database")) return `${subject} sets "database"`;
  return keys.length === 0 ? `${subject} is empty: no "database"` : `${subject} sets ${keys.map((key) => `"${key}"`).join(", ")}, but no "database"`;
}

function readJson(file: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(readFileSync(file, "utf8")) as unknown };
  } catch (error) {
    return { ok: false, problem: `unreadable (${(error as Error).message})` };
  }
}
