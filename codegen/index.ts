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
export type { Problem, ProblemCode, RegistryChangeKind } from "./problems.js";
export type { SqlSourceProblemCode } from "../src/shared/sql-source.js";
