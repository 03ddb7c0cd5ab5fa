/**
 * stepwise's build-time API, `import { generateRegistry } from "stepwise-migrate/codegen"`: what the `gen` and `create` commands do, for build scripts and bundler plugins. It loads ts-morph and
 * prettier, which are optional peer dependencies; install them (as devDependencies) before importing this.
 *
 * @packageDocumentation
 */
export { generateRegistry } from "./generate.js";
export type { GenerateOptions, GenerateResult } from "./generate.js";
export { createMigration } from "./create.js";
export type { CreateMigrationOptions, CreateMigrationResult } from "./create.js";
export type { Problem } from "./problems.js";
