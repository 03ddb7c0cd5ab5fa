/**
 * Settings shared by every command of the `stepwise` bin: flags first, then a config file
 * (`stepwise.config.json`, or a `stepwise` key in package.json), then defaults.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { DEFAULT_TABLE_NAME } from "../src/core/history.js";
import { UsageError } from "../src/core/errors.js";
import { parseDriverName, type CliDriverName } from "../src/cli/driver-names.js";

/** Resolved settings; paths are absolute. */
export interface StepwiseSettings {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  /** `null` when neither a flag nor the config names one; runtime commands then ask for `--db`. */
  readonly database: string | null;
  readonly tableName: string;
  /** The driver the runtime commands open the database with; `null` when the config names none (`--driver` may). */
  readonly driver: CliDriverName | null;
}

/** What a config may set; paths are relative to the project root. */
export interface StepwiseConfig {
  readonly migrationsDir?: string;
  readonly registryFile?: string;
  readonly database?: string;
  readonly tableName?: string;
  /** A driver name (`better-sqlite3`, `node-sqlite`, `bun-sqlite`, `libsql`, `sql-js`). */
  readonly driver?: string;
}

/** Where migrations live unless configured. */
export const DEFAULT_MIGRATIONS_DIR = "migrations";
/** Where the registry is written unless configured. */
export const DEFAULT_REGISTRY_FILE = "generated/registry.ts";
/** The optional config file at the project root. */
export const CONFIG_FILE_NAME = "stepwise.config.json";

const CONFIG_KEYS = new Set(["migrationsDir", "registryFile", "database", "tableName", "driver"]);

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

/** Reads the project's config, refusing unknown keys and wrong types. */
export function readConfig(projectRoot: string): StepwiseConfig {
  const configPath = path.join(projectRoot, CONFIG_FILE_NAME);
  const packagePath = path.join(projectRoot, "package.json");
  let fromFile: unknown;
  let fromPackage: unknown;
  if (existsSync(configPath)) fromFile = parseJsonFile(configPath);
  if (existsSync(packagePath)) fromPackage = (parseJsonFile(packagePath) as { stepwise?: unknown } | null)?.stepwise;
  if (fromFile !== undefined && fromPackage !== undefined) {
    throw new UsageError(`Both ${CONFIG_FILE_NAME} and the "stepwise" key of package.json configure stepwise; keep one of them.`);
  }
  const source = fromFile !== undefined ? CONFIG_FILE_NAME : `the "stepwise" key of package.json`;
  // `null` is a config too (a wrong one); `??` would read it as "no config" and blame the missing database.
  const raw = fromFile !== undefined ? fromFile : fromPackage;
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new UsageError(`${source} must be an object such as {"database": "data/app.db"}.`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (!CONFIG_KEYS.has(key)) {
      throw new UsageError(`Unknown setting "${key}" in ${source}; the settings are ${[...CONFIG_KEYS].join(", ")}.`);
    }
    if (typeof value !== "string" || value === "") {
      throw new UsageError(`Setting "${key}" in ${source} must be a non-empty string.`);
    }
  }
  const config = raw as StepwiseConfig;
  if (config.driver === undefined) return config;
  // Checked here, so the error names the file the name came from; stored in its canonical spelling.
  const where = fromFile !== undefined ? configPath : `${packagePath} ("stepwise"."driver")`;
  return { ...config, driver: parseDriverName(config.driver, where) };
}

/** Combines flags, config and defaults. */
export function resolveSettings(projectRoot: string, flags: StepwiseConfig = {}): StepwiseSettings {
  const config = readConfig(projectRoot);
  const pick = (key: keyof StepwiseConfig) => flags[key] ?? config[key];
  const database = pick("database");
  return {
    projectRoot,
    migrationsDir: path.resolve(projectRoot, pick("migrationsDir") ?? DEFAULT_MIGRATIONS_DIR),
    registryFile: path.resolve(projectRoot, pick("registryFile") ?? DEFAULT_REGISTRY_FILE),
    database: database === undefined ? null : path.resolve(projectRoot, database),
    tableName: pick("tableName") ?? DEFAULT_TABLE_NAME,
    driver: (pick("driver") as CliDriverName | undefined) ?? null,
  };
}

function parseJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}
