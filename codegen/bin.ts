#!/usr/bin/env node
/**
 * The `stepwise` command: the build-time commands (`gen`, `create`) plus every runtime command of
 * `createCli`, which here loads the project's TypeScript registry on demand, so a plain TypeScript
 * project needs no build step. Settings come from flags, then the config, then defaults.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidArgumentError, type Command } from "commander";
import { createCli, type CliContext } from "../src/cli/create-cli.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { parsePath, singleValued } from "../src/cli/parse-options.js";
import { RegistryLoadError, UsageError } from "../src/core/errors.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { assertPeersInstalled, CODEGEN_PEERS, REGISTRY_LOADER_PEERS } from "./optional-dependencies.js";
import { describeConfigLookup } from "./config-lookup.js";
import { DIALECTS, expandConfigUrl, findProjectRoot, resolveSettings, type StepwiseConfig, type StepwiseSettings } from "./config.js";
import { formatProblem, sortProblems, type Problem } from "./problems.js";
import { addRebaseCommand, parseGitRef } from "./rebase-command.js";
import { toGenReport } from "./gen-report.js";
import { readToolVersion } from "../src/cli/tool-version.js";

const projectRoot = findProjectRoot(process.cwd());
let cachedSettings: StepwiseSettings | undefined;
const settings = (flags: StepwiseConfig = {}): StepwiseSettings => {
  cachedSettings ??= resolveSettings(projectRoot, flags);
  return cachedSettings;
};

/** Bun runs TypeScript itself (and tsx's loader does not work there), which `--driver bun-sqlite` needs. */
const runsOnBun = (process.versions as { bun?: string }).bun !== undefined;

/** Loads the registry as the app would import it; tsx compiles the TypeScript on the fly (Bun needs no help). */
async function loadRegistry(registryFile: string): Promise<MigrationRegistry> {
  if (!runsOnBun) assertPeersInstalled(`Loading ${path.relative(projectRoot, registryFile)} (the runtime commands of the stepwise bin)`, REGISTRY_LOADER_PEERS);
  if (!existsSync(registryFile)) {
    throw new UsageError(`${path.relative(projectRoot, registryFile)} does not exist; run "stepwise gen" to write it.`);
  }
  const importTs = runsOnBun ? (specifier: string) => import(specifier) : ((await import("tsx/esm/api")) as { tsImport: (specifier: string, parent: string) => Promise<unknown> }).tsImport;
  let loaded: { migrations?: MigrationRegistry };
  try {
    loaded = (await importTs(pathToFileURL(registryFile).href, import.meta.url)) as { migrations?: MigrationRegistry };
  } catch (error) {
    throw new RegistryLoadError({ file: path.relative(projectRoot, registryFile), location: failureLocation(error), cause: error });
  }
  if (!Array.isArray(loaded.migrations)) {
    throw new UsageError(`${path.relative(projectRoot, registryFile)} does not export "migrations"; run "stepwise gen" to write it.`);
  }
  return loaded.migrations;
}

/** The first project file (not node_modules, not Node's own) a load failure points at, as `file:line:col`. */
function failureLocation(error: unknown): string | null {
  const stack = error instanceof Error ? (error.stack ?? "") : "";
  for (const match of stack.matchAll(/((?:file:\/\/)?\/[^\s()]+?):(\d+):(\d+)/g)) {
    const file = match[1]!.startsWith("file://") ? new URL(match[1]!).pathname : match[1]!;
    if (file.includes("/node_modules/") || !file.startsWith(projectRoot)) continue;
    return `${path.relative(projectRoot, file)}:${match[2]}:${match[3]}`;
  }
  return null;
}

/** Parses `--dialect`: one of {@link DIALECTS}, a usage error naming them otherwise. */
function parseDialectOption(value: string): string {
  if (!(DIALECTS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${DIALECTS.join(", ")}`);
  return value;
}

function printProblems(problems: readonly Problem[], context: CliContext): void {
  for (const problem of problems) context.io.stderr(`${formatProblem(problem)}\n`);
  context.io.stderr(`${context.palette.red(`${problems.length} problem${problems.length === 1 ? "" : "s"}`)}; nothing was written.\n`);
}

function addBuildCommands(program: Command, context: CliContext): void {
  const { palette } = context;
  const print = (text: string) => context.io.stdout(`${text}\n`);

  program
    .command("gen")
    .description("check migrations/ and write generated/registry.ts")
    .option("--check", "write nothing; exit 1 if the registry is stale, any migration is invalid, or one fails when replayed on an empty in-memory database (for CI)")
    .option("--dir <path>", "migrations folder (default: migrations)", singleValued(parsePath))
    .option("--out <file>", "registry file (default: generated/registry.ts)", singleValued(parsePath))
    .option("--dialect <dialect>", `SQL dialect of the migrations: ${DIALECTS.join(" or ")} (default: "dialect" in the config, else sqlite)`, singleValued(parseDialectOption))
    .option("--no-cache", "ignore node_modules/.cache/stepwise and check everything from scratch")
    .option("--no-replay", "with --check: skip applying the migrations to an empty in-memory database (and rolling back the newest)")
    .option("--base <ref>", "with --check: also fail for every version the git ref (such as origin/main) uses for a different migration", singleValued(parseGitRef))
    .option("--json", "print the outcome as JSON (ok, status, problems with code, file, line and message) instead of lines")
    .action(async (options: { check?: boolean; dir?: string; out?: string; dialect?: string; cache: boolean; replay: boolean; base?: string; json?: boolean }) => {
      if (options.base !== undefined && !options.check) throw new UsageError("--base compares with another branch and writes nothing: use it with --check.");
      const resolved = settings({ migrationsDir: options.dir, registryFile: options.out, dialect: options.dialect });
      assertPeersInstalled("stepwise gen", CODEGEN_PEERS);
      const [{ generateRegistry }, { defaultGenCacheDir }] = await Promise.all([import("./generate.js"), import("./gen-cache.js")]);
      const result = await generateRegistry({
        projectRoot,
        migrationsDir: resolved.migrationsDir,
        registryFile: resolved.registryFile,
        check: Boolean(options.check),
        dialect: resolved.dialect,
        ...(resolved.target === null ? {} : { target: resolved.target }),
        cacheDir: options.cache ? defaultGenCacheDir(projectRoot) : null,
      });
      const label = path.relative(projectRoot, result.registryFile);
      const baseProblems = options.base === undefined ? [] : (await import("./base-check.js")).checkAgainstBase({ projectRoot, migrationsDir: resolved.migrationsDir, base: options.base });
      let ok = result.ok && baseProblems.length === 0;
      let problems = sortProblems([...result.problems, ...baseProblems]);
      let status = result.status;
      let replayNote: string | null = null;
      // The replay (replay-check.ts) runs only on a registry that passed every other check.
      if (ok && options.check && options.replay) {
        const { runReplayCheck } = await import("./replay-check.js");
        const url = resolved.url === null ? (process.env.DATABASE_URL ?? null) : expandConfigUrl(resolved.url, process.env);
        const replay = await runReplayCheck({ ...resolved, url, projectRoot, registryFile: result.registryFile, loadRegistry });
        if (replay.problems.length > 0) {
          ok = false;
          problems = [...replay.problems];
          status = "invalid";
        } else {
          replayNote = replay.note;
        }
      }
      if (options.json) {
        context.io.stdout(`${JSON.stringify(toGenReport({ ...result, ok, status, problems }, projectRoot), null, 2)}\n`);
        if (!ok) context.setExitCode(1);
        return;
      }
      if (!ok) {
        printProblems(problems, context);
        if (status === "stale") context.io.stderr(`${label} is out of date.\n`);
        context.setExitCode(1);
        return;
      }
      if (replayNote !== null) print(replayNote);
      const count = `${result.migrationCount} migration${result.migrationCount === 1 ? "" : "s"}`;
      if (result.status === "unchanged") print(palette.green(`${label} is up to date (${count}, latest version ${result.latestVersion}).`));
      else print(palette.green(`Wrote ${label} (${count}, latest version ${result.latestVersion}).`));
    });

  program
    .command("create")
    .description("create the next migration from a template and register it")
    .argument("<description>", 'what the migration does, such as "add email to contacts"')
    .option("--sql", "write a .sql migration instead of a .ts one")
    .option("--dir <path>", "migrations folder (default: migrations)", singleValued(parsePath))
    .option("--out <file>", "registry file (default: generated/registry.ts)", singleValued(parsePath))
    .option("--dialect <dialect>", `SQL dialect of the migrations: ${DIALECTS.join(" or ")} (default: "dialect" in the config, else sqlite)`, singleValued(parseDialectOption))
    .action(async (description: string, options: { sql?: boolean; dir?: string; out?: string; dialect?: string }) => {
      const resolved = settings({ migrationsDir: options.dir, registryFile: options.out, dialect: options.dialect });
      assertPeersInstalled("stepwise create", CODEGEN_PEERS);
      const { createMigration } = await import("./create.js");
      const result = await createMigration({
        projectRoot,
        migrationsDir: resolved.migrationsDir,
        registryFile: resolved.registryFile,
        description,
        kind: options.sql ? "sql" : "ts",
        dialect: resolved.dialect,
      });
      print(result.file);
      if (!result.generate.ok) {
        context.io.stderr(`Created ${result.file}, but the registry was not regenerated:\n`);
        printProblems(result.generate.problems, context);
        context.setExitCode(1);
      }
    });

  addRebaseCommand(program, context, {
    projectRoot,
    settings,
    printProblems,
    dialectOption: { flags: "--dialect <dialect>", description: `SQL dialect of the migrations: ${DIALECTS.join(" or ")} (default: "dialect" in the config, else sqlite)`, parse: parseDialectOption },
  });
}

const cli = createCli({
  // The registry of the chosen driver's dialect: `--driver pg` loads the postgres one (the config's "dialects").
  migrations: ({ dialect }) => loadRegistry(resolveSettings(projectRoot, { dialect }).registryFile),
  url: () => {
    const url = settings().url;
    return url === null ? null : expandConfigUrl(url, process.env);
  },
  schema: () => settings().schema ?? undefined,
  database: () => settings().database,
  databaseSearched: () => describeConfigLookup(projectRoot),
  tableName: () => settings().tableName,
  driver: () => settings().driver,
  drivers: ALL_DRIVER_LOADERS,
  cwd: process.cwd(),
  // From the package.json next to this file, in the source tree and in the packed dist alike.
  version: readToolVersion(import.meta.url) ?? "unknown",
  extend: addBuildCommands,
});

process.exitCode = await cli.run(process.argv.slice(2));
