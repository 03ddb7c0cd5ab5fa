/**
 * stepwise's build-time API, `import { generateRegistry } from "stepwise-migrate/codegen"`: what the `gen` and `create` commands do, for build scripts and bundler plugins. It loads ts-morph and
 * prettier, which are optional peer dependencies; install them (as devDependencies) before importing this.
 *
 * @packageDocumentation
 */
// First: the .d.ts keeps no import this module's code alone uses, nor the comment above one.
export type { GenerateOptions, GenerateResult } from "./generate.js";
export type { CreateMigrationOptions, CreateMigrationResult } from "./create.js";
export type { Problem } from "./problems.js";
import path from "node:path";
import { describeOption } from "../src/core/error-factories.js";
import { StepwiseError } from "../src/core/errors.js";
import { keysOf, optionsObject } from "../src/core/options.js";
import { DIALECTS } from "./config.js";
import { createMigration as create, type CreateMigrationOptions, type CreateMigrationResult } from "./create.js";
import { generateRegistry as generate, type GenerateOptions, type GenerateResult } from "./generate.js";

/**
 * Runs `gen` or `gen --check`. Throws only for I/O failures, such as `FILE_WRITE_FAILED` (the old registry is then kept).
 *
 * @throws `USAGE` (`option`: the option) for an option it does not take, a path that is not absolute (a relative one would be read against the process's working folder, not `projectRoot`) or an
 * unknown dialect.
 */
export async function generateRegistry(options: GenerateOptions): Promise<GenerateResult> {
  refuseBadOptions(
    options,
    "generateRegistry",
    keysOf<GenerateOptions>({ projectRoot: true, migrationsDir: true, registryFile: true, check: true, runtimeModule: true, dialect: true, target: true, cacheDir: true }),
  );
  return generate(options);
}

/**
 * Creates the next migration from a template, as `stepwise create` does; the registry is left as it was until the template is edited and `gen` runs.
 *
 * @throws `USAGE` (`option`: the option) for an option it does not take, a path that is not absolute, an unknown kind or dialect; and as `stepwise create` does: a description that leaves no
 * usable name, or (for SQL) holds a marker `gen` would refuse in its comment.
 * @throws `FILE_WRITE_FAILED` when the migration cannot be written in full, or other runs kept taking its version; nothing is then left behind.
 * @throws `VERSIONS_EXHAUSTED` when an entry of the folder holds version 2^53 - 1 or more, so no version after it is one `gen` accepts.
 */
export async function createMigration(options: CreateMigrationOptions): Promise<CreateMigrationResult> {
  refuseBadOptions(
    options,
    "createMigration",
    keysOf<CreateMigrationOptions>({ projectRoot: true, migrationsDir: true, registryFile: true, description: true, kind: true, driver: true, target: true, dialect: true }),
  );
  if (typeof options.description !== "string") throw optionError("createMigration", "description", `must be a string, such as "add email to contacts"; got ${describeOption(options.description)}`);
  if (options.kind !== undefined && options.kind !== "ts" && options.kind !== "sql") throw optionError("createMigration", "kind", `must be "ts" or "sql"; got ${describeOption(options.kind)}`);
  return create(options);
}

/** `USAGE` unless `options` is an object of `known` options whose paths are absolute and whose dialect is one stepwise has. */
function refuseBadOptions(options: GenerateOptions | CreateMigrationOptions, call: string, known: readonly string[]): void {
  optionsObject(options, call, known as never);
  for (const key of ["projectRoot", "migrationsDir", "registryFile", "cacheDir"] as const) {
    const value = (options as GenerateOptions)[key];
    if (key === "cacheDir" && value == null) continue;
    const example = key === "projectRoot" ? "import.meta.dirname" : `path.join(projectRoot, ${JSON.stringify(value ?? "…")})`;
    if (typeof value !== "string" || !path.isAbsolute(value)) throw optionError(call, key, `must be an absolute path, such as ${example}; got ${describeOption(value)}`);
  }
  if (options.dialect !== undefined && !DIALECTS.includes(options.dialect))
    throw optionError(call, "dialect", `must be ${DIALECTS.map((name) => `"${name}"`).join(" or ")}; got ${describeOption(options.dialect)}`);
}

const optionError = (call: string, option: string, must: string) => new StepwiseError("USAGE", `${call}'s ${option} ${must}. Nothing was written.`, { option });
