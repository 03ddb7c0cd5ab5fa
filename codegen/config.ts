/** The bin's settings: flags first, then the config (`stepwise.config.json`, or a `stepwise` key in package.json), then defaults. A flag wins over its setting, which is then not even checked. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { CreateCliProps } from "../src/cli/create-cli.js";
import { configVariableUnsetError, isUnsetVariable } from "../src/cli/database-target.js";
import { assertPathRoundTrips } from "../src/cli/database-path.js";
import { parseDriverName, schemeOf, type CliDriverName } from "../src/cli/driver-names.js";
import { withFix } from "../src/cli/error-fix.js";
import { refusal } from "../src/cli/errors.js";
import { closestName } from "./problems.js";
import { isGlob } from "../src/cli/file-glob.js";
import { findPasswords } from "../src/cli/secrets.js";
import { usageError } from "../src/core/error-factories.js";
import { StepwiseError, type DatabaseLookup } from "../src/core/errors.js";
import { DEFAULT_TABLE_NAME } from "../src/core/history.js";
import { DEFAULT_DIALECT, type SqlDialect } from "../src/core/types.js";
import type { DriverEntry } from "../src/shared/package-name.js";

/** The runtime a registry may be for: `d1` (Cloudflare D1), where `gen` refuses transactional TypeScript migrations. */
export type Target = "d1";

/** The drivers a config may name that the bin cannot open: they run inside a Cloudflare Worker. */
const WORKER_DRIVERS: readonly DriverEntry[] = ["d1", "durable-objects"];
/** The dialects `dialect` and `gen --dialect` accept. */
export const DIALECTS: readonly SqlDialect[] = ["sqlite", "postgres"];
const CONFIG_FILE_NAME = "stepwise.config.json";
const CONFIG_KEYS = ["migrationsDir", "registryFile", "database", "tableName", "driver", "dialect", "dialects", "url", "schema", "target"] as const;

/** What a config may set, each a string (paths relative to the project root), and `dialects`: each other dialect's folder and registry. */
export type StepwiseConfig = { readonly [key in Exclude<(typeof CONFIG_KEYS)[number], "dialects">]?: string } & {
  readonly dialects?: Readonly<Partial<Record<SqlDialect, { readonly migrationsDir?: string; readonly registryFile?: string }>>>;
};
const DIALECT_PATH_KEYS = ["migrationsDir", "registryFile"];

/** The config as its file holds it (`file`: `null` when there is none; `source`: how messages name it), its shape checked, its values not yet. */
interface ConfigFile {
  readonly config: StepwiseConfig;
  readonly file: string | null;
  readonly source: string;
}

/** The nearest folder at or above `startDir` that holds a package.json; `startDir` itself when none does. */
export function findProjectRoot(startDir: string): string {
  for (let dir = path.resolve(startDir); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(startDir);
  }
}

function parseDialect(value: string, where: string): SqlDialect {
  if ((DIALECTS as readonly string[]).includes(value)) return value as SqlDialect;
  throw withFix(usageError(`Unknown dialect ${JSON.stringify(value)} (${where}); the dialects are ${DIALECTS.join(", ")}.`), `use one of the dialects (${DIALECTS.join(", ")}) in ${where}`);
}

/**
 * A JSON file's value, read past a UTF-8 byte order mark (which Windows editors write and npm accepts in package.json); one that does not parse is `USAGE` naming the file, line and column,
 * which JSON.parse gives only as an offset on some runtimes.
 */
function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8").replace(/^\uFEFF/, "");
  } catch (error) {
    throw withFix(new StepwiseError("USAGE", `${file} cannot be read: ${(error as Error).message}`, { configFile: file }), `make ${file} a readable JSON file`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = (error as Error).message.replace(/ \(line \d+ column \d+\)$/, "");
    // Where the runtime's message gives no offset (Bun's does not), only its end of input is a known place.
    const offset = /at position (\d+)/.exec(reason)?.[1] ?? (/end of (JSON )?input/i.test(reason) ? text.length : null);
    const before = offset === null ? null : text.slice(0, Number(offset)).split(/\r\n?|\n/);
    const at = before === null ? file : `${file}:${before.length}:${before.at(-1)!.length + 1}`;
    throw withFix(new StepwiseError("USAGE", `${at}: not valid JSON: ${reason}`, { configFile: file }), `fix the JSON at ${at}`);
  }
}

/** Reads the project's config, refusing unknown keys and wrong types. */
function readConfigFile(projectRoot: string): ConfigFile {
  const configPath = path.join(projectRoot, CONFIG_FILE_NAME);
  const packagePath = path.join(projectRoot, "package.json");
  const fromFile = existsSync(configPath) ? readJsonFile(configPath) : undefined;
  const fromPackage = existsSync(packagePath) ? (readJsonFile(packagePath) as { stepwise?: unknown } | null)?.stepwise : undefined;
  if (fromFile !== undefined && fromPackage !== undefined) {
    throw withFix(
      usageError(`Both ${CONFIG_FILE_NAME} and the "stepwise" key of package.json configure stepwise; keep one of them.`),
      `keep one config: remove ${configPath}, or the "stepwise" key of ${packagePath}`,
    );
  }
  const source = fromFile !== undefined ? CONFIG_FILE_NAME : `the "stepwise" key of package.json`;
  const file = fromFile !== undefined ? configPath : packagePath;
  // `null` is a config too (a wrong one), not "no config".
  const raw = fromFile !== undefined ? fromFile : fromPackage;
  if (raw === undefined) return { config: {}, file: null, source };
  const isObject = (value: unknown): value is object => value !== null && typeof value === "object" && !Array.isArray(value);
  if (!isObject(raw)) throw withFix(usageError(`${source} must be an object such as {"database": "data/app.db"}.`), `make ${source} (in ${file}) an object such as {"database": "data/app.db"}`);
  const example = `{"postgres": {"migrationsDir": "migrations/postgres", "registryFile": "generated/registry.postgres.ts"}}`;
  /** Checks `settings` against `keys`: each a non-empty string, except `dialects`, an object of dialects' paths. */
  const check = (settings: object, keys: readonly string[], where: (key: string) => string, known: string): void => {
    for (const [key, value] of Object.entries(settings)) {
      if (!keys.includes(key)) {
        const suggestion = closestName(key, keys);
        const fix = suggestion === undefined ? `remove "${key}"` : `rename "${key}" to "${suggestion}"`;
        throw withFix(
          new StepwiseError("USAGE", `Unknown setting ${where(key)}; ${suggestion === undefined ? "" : `did you mean "${suggestion}"? `}${known} ${keys.join(", ")}.`, {
            setting: key,
            configFile: file,
          }),
          `${fix} in ${file}`,
        );
      }
      if (key !== "dialects") {
        // An empty tableName is left to the history store, which refuses it as INVALID_TABLE_NAME as it does --table "" and the library's option.
        if (typeof value !== "string" || (value === "" && key !== "tableName")) {
          throw withFix(
            new StepwiseError("USAGE", `Setting ${where(key)} must be a non-empty string, not ${JSON.stringify(value)}.`, { setting: key, configFile: file }),
            `make ${where(key)} a non-empty string, or remove it (in ${file})`,
          );
        }
        // Taken as written, "${DB_FILE}" would name a file of that name, created and migrated by `up`.
        const variable = key === "url" ? undefined : /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(value)?.[1];
        if (variable !== undefined) {
          const instead = key === "database" ? `, or leave "database" out and set DATABASE_URL` : "";
          const fix = `write ${where(key)} without \${${variable}}${instead}`;
          throw withFix(
            new StepwiseError("USAGE", `Setting ${where(key)} holds \${${variable}}, but only "url" reads \${NAME} from the environment; ${fix}.`, { setting: key, configFile: file }),
            fix,
          );
        }
        continue;
      }
      if (!isObject(value)) throw withFix(usageError(`Setting "dialects" in ${source} must be an object such as ${example}.`), `make "dialects" in ${file} an object such as ${example}`);
      for (const [name, paths] of Object.entries(value)) {
        parseDialect(name, `"dialects" in ${source}`);
        if (!isObject(paths)) {
          throw withFix(usageError(`Setting "dialects"."${name}" in ${source} must be an object such as ${example}.`), `make "dialects"."${name}" in ${file} an object such as ${example}`);
        }
        check(paths, DIALECT_PATH_KEYS, (pathKey) => `"dialects"."${name}"."${pathKey}" in ${source}`, "a dialect's settings are");
      }
    }
  };
  check(raw, CONFIG_KEYS, (key) => `"${key}" in ${source}`, "the settings are");
  return { config: raw as StepwiseConfig, file, source };
}

/** The config's driver in its canonical spelling, checked so the error names the file it came from. */
function configDriver({ config, file }: ConfigFile): DriverEntry | null {
  if (config.driver === undefined) return null;
  const where = file === null || path.basename(file) !== "package.json" ? (file ?? CONFIG_FILE_NAME) : `${file} ("stepwise"."driver")`;
  return WORKER_DRIVERS.find((name) => name === config.driver!.trim().toLowerCase()) ?? parseDriverName(config.driver, where);
}

/**
 * Combines flags, config and defaults. A dialect's folder and registry come from the flags, its entry in `dialects`, then the top-level settings, which belong to the config's own `dialect` (another
 * dialect's would check its SQL by the wrong rules). `writesMigrations`: the command writes migrations into the folder (gen, create, rebase, import), which the config's dialect owns by default.
 */
export function resolveSettings(projectRoot: string, flags: StepwiseConfig = {}, { writesMigrations = false }: { readonly writesMigrations?: boolean } = {}) {
  const read = readConfigFile(projectRoot);
  const { config, source } = read;
  const topLevelDialect = config.dialect ?? DEFAULT_DIALECT;
  const dialect = flags.dialect === undefined ? parseDialect(topLevelDialect, `"dialect" in ${source}`) : parseDialect(flags.dialect, "--dialect");
  if (config.target !== undefined && config.target !== "d1") {
    throw withFix(usageError(`Setting "target" in ${source} must be one of d1, not "${config.target}".`), `set "target" to "d1" in ${source}, or remove it`);
  }
  // As written: a dialect the flag overrode may be one stepwise does not know, and owns no paths then.
  const [own, topLevel] = [config.dialects?.[dialect] ?? {}, dialect === topLevelDialect ? config : {}];
  const migrationsDir = flags.migrationsDir ?? own.migrationsDir ?? topLevel.migrationsDir;
  const registryFile = flags.registryFile ?? own.registryFile ?? topLevel.registryFile;
  const database = flags.database ?? config.database;
  const configNamesPaths = config.migrationsDir !== undefined || config.registryFile !== undefined || config.dialects !== undefined;
  // A config that names a dialect owns the default folder and registry with it: a command that writes migrations would put the other dialect's files among its own.
  const configOwnsDefaults = config.dialect !== undefined && (DIALECTS as readonly string[]).includes(config.dialect) && writesMigrations;
  if (dialect !== topLevelDialect && (configNamesPaths || configOwnsDefaults) && (migrationsDir === undefined || registryFile === undefined)) {
    // Only the flags the calling command has: gen, create and rebase take --dir and --out, import and squash --dir alone (enough only where the config names the registry), the runtime commands
    // neither (their driver picks the dialect).
    const dirAlone = migrationsDir === undefined && registryFile !== undefined ? ", or pass --dir" : "";
    const other = "registryFile" in flags ? ", or pass --dir and --out" : "migrationsDir" in flags ? dirAlone : `, or use a driver of ${topLevelDialect}`;
    const fix = `add ${describeDialectEntry(projectRoot, path.resolve(projectRoot, config.migrationsDir ?? own.migrationsDir ?? "migrations"), dialect)} to ${source}${other}`;
    throw withFix(
      usageError(
        `${configNamesPaths ? "The config's migrationsDir and registryFile are" : "The config's dialect, and so its default migrations folder and registry, is"} for ${topLevelDialect}, and it names no ${migrationsDir === undefined ? "migrations folder" : "registry file"} for ${dialect}; ${fix}.`,
      ),
      fix,
    );
  }
  const driver = flags.driver === undefined ? configDriver(read) : parseDriverName(flags.driver, "--driver");
  // A path whose bytes were not UTF-8 (in the config, a flag, or the project's own folder) names another file.
  for (const value of [projectRoot, migrationsDir, registryFile, database]) if (value !== undefined) assertPathRoundTrips(value);
  return {
    projectRoot,
    migrationsDir: path.resolve(projectRoot, migrationsDir ?? "migrations"),
    registryFile: path.resolve(projectRoot, registryFile ?? "generated/registry.ts"),
    database: database === undefined ? null : path.resolve(projectRoot, database),
    tableName: flags.tableName ?? config.tableName ?? DEFAULT_TABLE_NAME,
    driver,
    dialect,
    url: config.url ?? null,
    // A fleet's pattern ("tenant_*") names no one schema: gen's replay and squash build in one of their own, as each tenant's session builds in its own.
    schema: config.schema === undefined ? null : isGlob(config.schema) ? "stepwise_tenant" : config.schema,
    target: config.target === "d1" || driver === "d1" ? ("d1" as const) : null,
  };
}

/** The `dialects` entry a message suggests for `dialect`: its own folder beside `sharedDir` (gen refuses migrations nested in another migrations folder) and its own registry. */
export function describeDialectEntry(projectRoot: string, sharedDir: string, dialect: string): string {
  const nested = path.join(projectRoot, "migrations", dialect).startsWith(sharedDir + path.sep);
  const folder = nested ? `migrations-${dialect}` : `migrations/${dialect}`;
  return `"dialects": {"${dialect}": {"migrationsDir": "${folder}", "registryFile": "generated/registry.${dialect}.ts"}}`;
}

/** Resolved settings; paths are absolute, `null` where neither a flag nor the config names one. */
export type StepwiseSettings = ReturnType<typeof resolveSettings>;

/** The config-backed props of `createCli`, and the URL `gen --check` replays a postgres registry on. */
export interface RuntimeConfig extends Required<Pick<CreateCliProps, "database" | "url" | "schema" | "tableName" | "driver" | "databaseSearched">> {
  /** The config's `url` expanded, else `DATABASE_URL`; `unset` names the config's variable that is not set, if that is why there is none. */
  replayUrl(): { readonly url: string | null; readonly unset: string | null };
}

/** The runtime commands' settings, each read only when the CLI asks, which it does only without its flag: a flag wins, unchecked config and all. */
export function runtimeConfig(projectRoot: string, env: Readonly<Record<string, string | undefined>>): RuntimeConfig {
  let read: ConfigFile | undefined;
  const file = () => (read ??= readConfigFile(projectRoot));
  const url = (): string | null => (file().config.url === undefined ? null : rootFileUrl(expandConfigUrl(file().config.url!, env, file().file ?? projectRoot), projectRoot));
  return {
    url,
    // `:memory:` is left as it is, for the CLI to refuse, rather than resolved into a file of that name.
    database: () => {
      const database = file().config.database;
      return database === undefined ? null : database === ":memory:" ? database : path.resolve(projectRoot, database);
    },
    schema: () => file().config.schema,
    tableName: () => file().config.tableName ?? DEFAULT_TABLE_NAME,
    driver: () => {
      const driver = configDriver(file());
      if (driver === null || !WORKER_DRIVERS.includes(driver)) return driver as CliDriverName | null;
      throw withFix(
        usageError(
          `The config's driver is "${driver}", which runs only inside a Cloudflare Worker: the stepwise bin cannot open it. Pass --driver and --db for a local copy of the database (such as --driver sql-js --db <the .sqlite file wrangler keeps under .wrangler/state>).`,
        ),
        "pass --driver and --db for a local copy of the database (such as --driver sql-js --db <the .sqlite file wrangler keeps under .wrangler/state>)",
      );
    },
    databaseSearched: () => describeConfigLookup(projectRoot),
    replayUrl: () => {
      try {
        return { url: url() ?? env.DATABASE_URL ?? null, unset: null };
      } catch (error) {
        if (isUnsetVariable(error)) return { url: null, unset: error.details.variable! };
        throw error;
      }
    },
  };
}

/**
 * A plain path or a `file:` or `sqlite:` URL whose path is relative, made absolute from the project root, as the config's `database` is: the SQLite drivers and libsql-client then open
 * the same file whatever folder the command runs in. `file://host/…`, an absolute path, `:memory:` and every other URL are left as they are.
 */
function rootFileUrl(url: string, projectRoot: string): string {
  // A plain path (no scheme) names a SQLite file as DATABASE_URL's may; one opening with a quote stays as written, for the path check to refuse by its shape.
  const plain = url.trim();
  if (schemeOf(plain) === null) return plain === "" || plain === ":memory:" || /^["'`]/.test(plain) || path.isAbsolute(plain) ? url : path.resolve(projectRoot, plain);
  const match = /^\s*(file:|sqlite3?:(?:\/\/)?)([^/\\?#][^?#]*)(.*?)\s*$/is.exec(url);
  if (match === null || match[2] === ":memory:" || /^[A-Za-z]:[\\/]/.test(match[2]!)) return url;
  const [, scheme, file, rest] = match;
  return `${scheme!.replace(/\/\/$/, "")}${path.resolve(projectRoot, file!)}${rest}`;
}

/** The config's `url` with each `${NAME}` read from the environment, so a committed config holds no password (one written there is refused). */
function expandConfigUrl(value: string, env: Readonly<Record<string, string | undefined>>, configFile: string): string {
  if (findPasswords(value).some((password) => password !== "" && !/^(\$\{[A-Za-z_][A-Za-z0-9_]*\})+$/.test(password))) {
    throw refusal(
      `The config's "url" holds a password, and the config is committed with the project. Write "url": "\${DATABASE_URL}" (or name the password as \${NAME}), or set PGPASSWORD, and change the password if the config was ever shared.`,
      `write "url": "\${DATABASE_URL}" in ${configFile} (or name the password as \${NAME}), or set PGPASSWORD; change the password if the config was ever shared`,
    );
  }
  const placeholder = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  // Taken literally, "${DB_FILE" would become a file of that name.
  const stray = /\$\{[^}]*\}?/.exec(value.replace(placeholder, ""))?.[0];
  if (stray !== undefined) {
    throw refusal(
      `The config's "url" (in ${configFile}) holds ${JSON.stringify(stray)}, which is no \${NAME}: a variable is \${ and a name of letters, digits and _, closed by }.`,
      `write the variable as \${NAME} in the config's "url" (in ${configFile})`,
    );
  }
  return value.replace(placeholder, (_match, name: string) => {
    const found = env[name];
    // A variable set to blanks names no database, as a blank DATABASE_URL does not.
    if (found === undefined || found.trim() === "") throw configVariableUnsetError({ setting: "url", variable: name, configFile });
    return found;
  });
}

/** Config spellings other tools accept and stepwise does not read: the usual reason a setting is ignored. */
const UNREAD_CONFIG_FILES = ["ts", "mts", "cts", "js", "mjs", "cjs", "jsonc", "yaml", "yml"].map((extension) => `stepwise.config.${extension}`).concat([".stepwiserc", ".stepwiserc.json"]);

/** The config files at `projectRoot` and what each says about the database, for the "No database given" error. Never throws. */
function describeConfigLookup(projectRoot: string): DatabaseLookup[] {
  const describe = (file: string, key: string | null, subject: string): string => {
    let value: unknown;
    try {
      value = readJsonFile(file);
    } catch (error) {
      return `unreadable (${(error as Error).message})`;
    }
    if (key !== null) value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
    if (value === undefined) return `no "${key}" key`;
    if (value === null || typeof value !== "object" || Array.isArray(value)) return `${subject} is not an object`;
    const keys = Object.keys(value);
    if (keys.includes("database")) return `${subject} sets "database"`;
    return keys.length === 0 ? `${subject} is empty: no "database"` : `${subject} sets ${keys.map((name) => `"${name}"`).join(", ")}, but no "database"`;
  };
  const configFile = path.join(projectRoot, CONFIG_FILE_NAME);
  const packageFile = path.join(projectRoot, "package.json");
  return [
    { place: configFile, found: existsSync(configFile) ? describe(configFile, null, "the file") : "not found" },
    {
      place: packageFile,
      found: existsSync(packageFile)
        ? describe(packageFile, "stepwise", 'its "stepwise" key')
        : "not found (no package.json at or above the working folder, so this folder is taken as the project root)",
    },
    ...UNREAD_CONFIG_FILES.filter((name) => existsSync(path.join(projectRoot, name))).map((name) => ({
      place: path.join(projectRoot, name),
      found: `exists, but is not read: the config is ${CONFIG_FILE_NAME} or the "stepwise" key of package.json`,
    })),
  ];
}
