/**
 * stepwise's build-time API, `import { generateRegistry } from "stepwise-migrate/codegen"`: what the `gen`
 * and `create` commands do, for build scripts and bundler plugins. It loads ts-morph and prettier,
 * which are optional peer dependencies; install them (as devDependencies) before importing this.
 *
 * @packageDocumentation
 */
export { generateRegistry } from "./generate.js";
export type { GenerateOptions, GenerateResult } from "./generate.js";
export { createMigration } from "./create.js";
export type { CreateMigrationOptions, CreateMigrationResult } from "./create.js";
export type { MigrationKind } from "./migration-file.js";
export { CONFIG_FILE_NAME, DEFAULT_MIGRATIONS_DIR, DEFAULT_REGISTRY_FILE, DIALECTS, findProjectRoot, parseDialect, readConfig, resolveSettings } from "./config.js";
export type { DialectPaths, StepwiseConfig, StepwiseSettings } from "./config.js";
export { formatProblem } from "./problems.js";
export type { Problem, ProblemCode, RegistryChangeKind } from "./problems.js";
export type { SqlSourceProblemCode } from "../src/shared/sql-source.js";
export { DependencyVersionError, MissingDependencyError } from "./optional-dependencies.js";
export type { OptionalPeer } from "./optional-dependencies.js";
