/**
 * The `stepwise` command as a function of its directory, environment and output: `gen`, `create` and `rebase`, plus every runtime command of `createCli`, which here loads the project's TypeScript
 * registry on demand (no build step) after refusing one that lags behind the folder (REGISTRY_STALE).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { InvalidArgumentError, Option, type Command } from "commander";
import type { CliContext, CliIo } from "../src/cli/cli-props.js";
import { createCli, type Cli } from "../src/cli/create-cli.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { withFix } from "../src/cli/error-fix.js";
import { dialectOfDriver, parseDriverName } from "../src/cli/driver-names.js";
import { chooseDriver, type GlobalFlags } from "../src/cli/database-target.js";
import { withWorkerPool } from "../src/cli/fleet-workers.js";
import { whilePending } from "../src/cli/abnormal-end.js";
import { parsePath, singleValued } from "../src/cli/parse-options.js";
import { usageError } from "../src/core/error-factories.js";
import { locateMissingPackage, missingPackageAdvice, registryLoadError } from "./errors.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { PACKAGE_NAME } from "../src/shared/package-name.js";
import { DIALECTS, findProjectRoot, resolveSettings, runtimeConfig, type RuntimeConfig, type StepwiseSettings } from "./config.js";
import { genCommandOf, watchCommandOf, type GenTarget } from "./gen-command.js";
import { refuseSharedRegistryOfOtherDialect } from "./shared-registry-dialect.js";
import { REGISTRY_HEADER } from "./render.js";
import { importImportFreeRegistry } from "./import-free-registry.js";
import { assertPeersInstalled, CODEGEN_PEERS, findMissingPeers, findPackageManifest, REGISTRY_LOADER_PEERS } from "./optional-dependencies.js";
import { describeGenerated, findStackLocation, printProblems, projectPath, sortProblems, tryOr, type Problem } from "./problems.js";
import { IMPORT_HELP, IMPORT_MAP_FILE, type ImportFlags } from "./import/import-help.js";
import type { ReplayOutcome } from "./replay.js";
import { SQUASH_HELP, type SquashFlags } from "./squash/squash-help.js";

/** Where and how one run of the bin works; `io` defaults to the process's streams and TTY. */
export interface BinCliOptions {
  /** The directory the project is found from (the bin passes the process's working directory). */
  readonly cwd: string;
  /** The environment every command reads (DATABASE_URL, PGPASSWORD through the driver, NO_COLOR…). */
  readonly env: NodeJS.ProcessEnv;
  readonly io?: Omit<CliIo, "env">;
}

/** Bun runs TypeScript itself (tsx's loader does not work there). */
const runsOnBun = (process.versions as { bun?: string }).bun !== undefined;
const REGISTRY_LOADER = "STEPWISE_REGISTRY_LOADER";
const SKIP_REGISTRY_CHECK = "STEPWISE_SKIP_REGISTRY_CHECK";

const ENVIRONMENT_HELP = [
  "Environment:",
  "  DATABASE_URL                    the database when neither --db/--url nor the config names one",
  "  PGPASSWORD, LIBSQL_AUTH_TOKEN   a server's password or token, kept out of the command line",
  "  STEPWISE_REPAIRED_BY            who repair --checksums records, when --by is not given",
  `  ${SKIP_REGISTRY_CHECK}=1  run a registry that lags behind the migrations folder (refused otherwise)`,
  `  ${REGISTRY_LOADER}=tsx    load the registry through tsx even when it imports nothing`,
  "  NO_COLOR, FORCE_COLOR           turn colour off or on",
].join("\n");

/** What one run of the bin works in: its project, environment and the runtime commands' settings. */
interface BinRun {
  readonly projectRoot: string;
  /** The working folder, which paths the user types are relative to. */
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly runtimeSettings: RuntimeConfig;
}

/** The `stepwise` bin's command line, for one run: `createBinCli({ cwd, env }).run(args)` resolves to the exit code. */
export function createBinCli(options: BinCliOptions): Cli {
  const projectRoot = findProjectRoot(options.cwd);
  const run: BinRun = { projectRoot, cwd: options.cwd, env: options.env, runtimeSettings: runtimeConfig(projectRoot, options.env) };
  return createCli({
    // The registry of the chosen driver's dialect (`--driver pg` loads the postgres one), refused when stale before any database is opened.
    migrations: async ({ dialect, driver }) => {
      const settings = resolveSettings(projectRoot, { dialect, driver });
      await refuseStaleRegistry(run, settings);
      const migrations = await loadRegistry(run, settings);
      refuseSharedRegistryOfOtherDialect(projectRoot, settings, migrations, driver);
      return migrations;
    },
    ...run.runtimeSettings,
    drivers: ALL_DRIVER_LOADERS,
    // `fleet` workers load the registry as this bin does, from the module next to this one (.ts from source, .js built).
    fleetWorker:
      ({ dialect, driver }) =>
      (size, job, use) =>
        withWorkerPool(
          {
            module: new URL(`./fleet-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url),
            data: { projectRoot, env: options.env, target: pickGenTarget(resolveSettings(projectRoot, { dialect, driver })) } satisfies FleetWorkerData,
          },
          size,
          job,
          use,
        ),
    cwd: options.cwd,
    ownsProcess: true,
    io: { ...options.io, env: options.env },
    version: readToolVersion() ?? "unknown",
    extend: (program, context) => addBuildCommands(run, program, context),
  });
}

/** What a `fleet` worker needs to load the registry as the bin does. */
export interface FleetWorkerData {
  readonly projectRoot: string;
  readonly env: NodeJS.ProcessEnv;
  /** The registry to load, and what gen would write it from (for the command a missing one's message names). */
  readonly target: GenTarget;
}

/** The fields of `settings` a worker thread needs: plain data, which the thread's message can carry. */
function pickGenTarget({ dialect, migrationsDir, registryFile }: GenTarget): GenTarget {
  return { dialect, migrationsDir, registryFile };
}

/** What a production install (no devDependencies) does instead of keeping tsx among them. */
const PRODUCTION_HINT = `Where devDependencies are not installed (a production install), install tsx as a dependency, or run the migrations from the app itself: migrate() at start-up, or an embedded CLI (createCli from stepwise-migrate/cli), which import the registry your build compiled.`;

/** Imports the registry as the app would: TypeScript as plain JavaScript when it imports nothing, else through tsx (Bun needs no help). */
export async function loadRegistry({ projectRoot, env }: Pick<BinRun, "projectRoot" | "env">, target: GenTarget): Promise<MigrationRegistry> {
  const { registryFile } = target;
  const label = path.relative(projectRoot, registryFile);
  if (!runsOnBun) assertPeersInstalled(`Loading ${label} (the runtime commands of the stepwise bin)`, REGISTRY_LOADER_PEERS, PRODUCTION_HINT);
  if (!existsSync(registryFile))
    throw withFix(usageError(`${label} does not exist; run "${genCommandOf(projectRoot, target)}" to write it.`), `run "${genCommandOf(projectRoot, target)}" to write ${label}`);
  const { defaultGenCacheDir } = await import("./gen-cache.js");
  let loaded = runsOnBun || env[REGISTRY_LOADER] === "tsx" ? null : await importImportFreeRegistry(registryFile, defaultGenCacheDir(projectRoot));
  if (loaded === null) {
    const importTs = runsOnBun ? (specifier: string) => import(specifier) : (await import("./ts-import.js")).importTypeScript;
    try {
      // A module that awaits at its top level what never settles leaves Node nothing to run, and it exits (13) with no word: this names the registry as what never loaded.
      const neverSettled = (how: string) =>
        registryLoadError({
          file: label,
          location: null,
          cause: new Error(`the process ended while it was being imported, by ${how} (a migration, or a file one imports, awaits it at its top level)`),
        });
      loaded = await whilePending(neverSettled, () => importTs(pathToFileURL(registryFile).href, import.meta.url));
    } catch (error) {
      ignoreRepeatedRejection(error);
      const at = findStackLocation(error, (file) => !file.includes("/node_modules/") && file.startsWith(projectRoot));
      const conflicted = tryOr(() => /^<{7} /m.test(readFileSync(registryFile, "utf8")), false);
      // A package that is not installed leaves no frame of the project: the import that names it is the place to fix.
      const location = at ? `${path.relative(projectRoot, at.file)}:${at.line}:${at.column}` : locateMissingPackage(error, projectRoot, target.migrationsDir);
      const failure = registryLoadError({ file: label, location, cause: error, conflicted });
      const missing = missingPackageAdvice(error, location);
      if (conflicted)
        throw withFix(failure, `take the registry of the branch that migrated the database (git checkout <branch> -- ${label}), or finish merging the migrations folder and run "stepwise gen"`);
      throw missing === null ? failure : withFix(failure, missing.replace(/\.$/, ""));
    }
  }
  const { migrations } = loaded as { migrations?: MigrationRegistry };
  if (!Array.isArray(migrations)) {
    // gen overwrites only its own output: a file of the app's own is the wrong registryFile, not a registry to regenerate.
    const own = tryOr(() => readFileSync(registryFile, "utf8").includes(REGISTRY_HEADER), false);
    const fix = own
      ? `run "${genCommandOf(projectRoot, target)}" to write ${label}`
      : `point "registryFile" in the config (or --out) at the file gen writes, such as generated/registry.ts, not ${label}; then run "stepwise gen"`;
    throw withFix(usageError(`${label} does not export "migrations"; ${own ? `run "${genCommandOf(projectRoot, target)}" to write it` : `it is not a registry gen wrote: ${fix}`}.`), fix);
  }
  return migrations;
}

/**
 * Node 20 reports a CommonJS module that throws while an ES module imports it (a migration's `.cjs` helper, a migration under a package.json without `"type": "module"`) twice: to the import, and as an
 * unhandled rejection, which would end the process with a raw stack after the coded error. Only that same error is set aside, and only while this turn's rejections are processed.
 */
function ignoreRepeatedRejection(error: unknown): void {
  const ignore = (reason: unknown) => {
    if (reason !== error) throw reason;
  };
  process.on("unhandledRejection", ignore);
  setImmediate(() => process.off("unhandledRejection", ignore));
}

/** In development (a migrations folder and the codegen tools installed) a stale registry is refused; a production install or a bundle has neither. */
async function refuseStaleRegistry({ projectRoot, env }: BinRun, settings: StepwiseSettings): Promise<void> {
  if (env[SKIP_REGISTRY_CHECK] === "1" || !existsSync(settings.migrationsDir) || !existsSync(settings.registryFile) || findMissingPeers(CODEGEN_PEERS).length > 0) return;
  const [{ assertRegistryFresh }, { defaultGenCacheDir }] = await Promise.all([import("./registry-freshness.js"), import("./gen-cache.js")]);
  await assertRegistryFresh({ ...settings, cacheDir: defaultGenCacheDir(projectRoot) });
}

/** `adopt` without `--map` reads the map where `import` wrote it: the driver's dialect's migrations folder from the config, relative to the project root, not the working folder. */
function defaultAdoptMap(run: BinRun, program: Command): void {
  const adopt = program.commands.find((command) => command.name() === "adopt");
  adopt?.hook("preAction", (_program, command) => {
    if (command.getOptionValue("map") !== undefined) return;
    const driver = chooseDriver(command.optsWithGlobals<GlobalFlags>(), { ...run.runtimeSettings, drivers: ALL_DRIVER_LOADERS });
    const { migrationsDir } = resolveSettings(run.projectRoot, { dialect: dialectOfDriver(driver), driver });
    // Relative to the working folder, as --map is, so errors name the file as the user would type it.
    command.setOptionValueWithSource("map", path.relative(run.cwd, path.join(migrationsDir, IMPORT_MAP_FILE)), "default");
  });
}

/** The folder and registry the codegen commands default to, for their help: the config's when it names them, else the page's wording; a broken config is the command's to report, not its help's. */
function describePathDefaults(projectRoot: string) {
  const settings = tryOr(() => resolveSettings(projectRoot), null);
  const [dir, out] = settings ? [projectPath(projectRoot, settings.migrationsDir), projectPath(projectRoot, settings.registryFile)] : ["migrations", "generated/registry.ts"];
  return {
    dir,
    out,
    dirDefault: dir === "migrations" ? "the config's migrationsDir, else migrations" : `${dir}, the config's migrationsDir`,
    outDefault: out === "generated/registry.ts" ? "the config's registryFile, else generated/registry.ts" : `${out}, the config's registryFile`,
  };
}

function addBuildCommands(run: BinRun, program: Command, context: CliContext): void {
  const defaults = describePathDefaults(run.projectRoot);
  const pathOptions = (command: Command) =>
    command
      .option("--dir <path>", `migrations folder (default: ${defaults.dirDefault})`, singleValued(parsePath))
      .option("--out <file>", `registry file (default: ${defaults.outDefault})`, singleValued(parsePath))
      .option("--dialect <dialect>", `SQL dialect of the migrations: ${DIALECTS.join(" or ")} (default: "dialect" in the config, else sqlite)`, singleValued(parseDialectOption));
  type PathFlags = { dir?: string; out?: string; dialect?: string };
  const settingsOf = (flags: PathFlags, task: string, command?: Command) => {
    // The program's --driver wins over the config's, as for every command: gen --check replays on it, and it picks the dialect when --dialect does not.
    const driver = (command?.optsWithGlobals() as { driver?: string } | undefined)?.driver;
    const dialect = flags.dialect ?? (driver === undefined ? undefined : dialectOfDriver(parseDriverName(driver, "--driver")));
    const settings = resolveSettings(run.projectRoot, { migrationsDir: flags.dir, registryFile: flags.out, dialect, driver }, { writesMigrations: true });
    assertPeersInstalled(task, CODEGEN_PEERS);
    return settings;
  };
  program.addHelpText("after", `\n${ENVIRONMENT_HELP}`);
  defaultAdoptMap(run, program);

  pathOptions(
    program
      .command("gen")
      .description(`check ${defaults.dir}/ and write ${defaults.out}`)
      .option("--check", "write nothing; exit 1 if the registry is stale, any migration is invalid, or one fails when replayed on an empty database (in memory; PostgreSQL: a scratch one) (for CI)"),
  )
    .option("--no-cache", "ignore node_modules/.cache/stepwise and check everything from scratch")
    .option(
      "--no-replay",
      "with --check: skip applying the migrations to an empty database (an in-memory one for SQLite, a scratch database created on the configured server for PostgreSQL) and rolling back the newest",
    )
    .option("--require-replay", "with --check: fail (exit 1, REPLAY_SKIPPED) when the replay cannot run here, such as no SQLite driver installed or no PostgreSQL server configured (for CI)")
    .option("--base <ref>", "with --check: also fail for every version the git ref (such as origin/main) uses for a different migration", singleValued(parseGitRef))
    .option("--json", "print the outcome as JSON (ok, status, problems with code, file, line and message) instead of lines")
    .addOption(new Option("--watch", "keep running: regenerate on every change of the migrations folder; a failed run keeps the old registry (Ctrl-C stops)").conflicts(["check", "json"]))
    .action(async (flags: GenFlags, command: Command) => {
      if (flags.base !== undefined && !flags.check) throw withFix(usageError("--base compares with another branch and writes nothing: use it with --check."), "add --check, or leave out --base");
      if (flags.requireReplay && !flags.check) {
        throw withFix(usageError("--require-replay makes gen --check fail when its replay cannot run: use it with --check."), "add --check, or leave out --require-replay");
      }
      if (flags.requireReplay && !flags.replay) {
        throw withFix(usageError("--require-replay and --no-replay contradict each other: pass one of them."), "leave out --require-replay or --no-replay");
      }
      await runGen(run, flags, settingsOf(flags, "stepwise gen", command), context, command);
    });

  pathOptions(
    program
      .command("create")
      .description("write the next migration from a template, to edit before gen registers it")
      .argument("<description>", 'what the migration does, such as "add email to contacts"')
      .option("--sql", "write a .sql migration instead of a .ts one"),
  )
    .addHelpText("after", () => `\nThe template's "stepwise:todo" comments make gen refuse it (TEMPLATE_UNEDITED) until the migration is written; then run "${genCommandOf(run.projectRoot)}".`)
    .action(async (description: string, flags: PathFlags & { sql?: boolean }, command: Command) => {
      const settings = settingsOf(flags, "stepwise create", command);
      const { absolutePath } = await (await import("./create.js")).createMigration({ ...settings, description, kind: flags.sql ? "sql" : "ts" });
      // stdout holds only the path, relative to the working folder (a subfolder of the project too), for `$EDITOR "$(stepwise create …)"`; the next step goes to stderr.
      context.io.stdout(`${projectPath(run.cwd, absolutePath)}\n`);
      context.io.stderr(
        `Write the migration in ${projectPath(run.cwd, absolutePath)} in place of its "stepwise:todo" comments, then run "${genCommandOf(settings.projectRoot, settings)}" (or keep "${watchCommandOf(genCommandOf(settings.projectRoot, settings))}" running). ` +
          `Until then gen refuses it (TEMPLATE_UNEDITED) and the runtime commands refuse to run without it (REGISTRY_STALE).\n`,
      );
    });

  pathOptions(
    program
      .command("rebase")
      .description("renumber this branch's migrations to follow the base branch's newest, then regenerate the registry")
      .option("--base <ref>", "the git ref you will merge into (default: the default branch: origin/HEAD, else main, master, origin/main, origin/master)", singleValued(parseGitRef))
      .option("--yes", "rename the files and regenerate; without it, print the plan and change nothing")
      .option("--no-db-check", "do not read the database (--db/--url/config) for migrations already applied under their old numbers")
      .option("--json", "print the plan and what was done as JSON"),
  )
    .addHelpText(
      "after",
      "\nThis branch's migrations are the ones the base does not have with the same name and content, and that did not exist when the branches split. " +
        "Each keeps its name and gets the next free number after the base's newest; relative imports of a renamed migration are rewritten. " +
        "Rebase refuses, changing nothing, when one of them is recorded as applied in the configured database; with no database configured, that check is skipped and the output says so.\n",
    )
    .action(async (flags: PathFlags & { base?: string; yes?: boolean; dbCheck: boolean; json?: boolean }, command: Command) => {
      await (await import("./rebase.js")).runRebase(flags, settingsOf(flags, "stepwise rebase", command), command, context);
    });
  addImportCommand(run, program, context, defaults.dirDefault);
  addSquashCommand(run, program, context);
}

/** `import`: another tool's migrations written as stepwise's; `dirDefault` describes the folder it writes by default. */
function addImportCommand(run: BinRun, program: Command, context: CliContext, dirDefault: string): void {
  program
    .command("import")
    .description("write stepwise migrations from another tool's migrations (a dry run unless --yes)")
    .argument("<tool>", "diesel, sqlx, dbmate, golang-migrate, goose, flyway, drizzle, prisma, knex, kysely, node-pg-migrate, umzug or wrangler")
    .argument("<dir>", "the folder holding that tool's migrations (wrangler: that folder, or the one holding wrangler.toml or wrangler.json(c))")
    .option("--dir <path>", `the stepwise migrations folder to write, which must hold no migrations yet (default: ${dirDefault})`, singleValued(parsePath))
    .option("--dialect <dialect>", `SQL dialect of the migrations: ${DIALECTS.join(" or ")} (default: "dialect" in the config, else sqlite)`, singleValued(parseDialectOption))
    .option("--empty-down <choice>", "how to import an empty or missing down: irreversible (no down) or no-op (a down that does nothing); required when there is one", singleValued())
    .option("--glob <pattern>", "umzug only: the glob the project's Umzug was given (migrations/*-*.cjs); import reads only the files its name part matches (default: every script)", singleValued())
    .option("--yes", "write the files; without it, print what would be written and change nothing")
    .option("--json", "print the plan as JSON")
    .addHelpText("after", IMPORT_HELP)
    .action(async (tool: string, dir: string, flags: ImportFlags, command: Command) => {
      // --driver is the program's option: for knex, kysely, node-pg-migrate and umzug it names the entry the wrappers import defineMigration from.
      const driver = (command.optsWithGlobals() as { driver?: string }).driver;
      const settings = resolveSettings(run.projectRoot, { migrationsDir: flags.dir, dialect: flags.dialect, driver }, { writesMigrations: true });
      (await import("./import/import-command.js")).runImport(tool, dir, flags, settings, context);
    });
}

/** `squash`: its options, and the replay's settings (a postgres project's server) for the command. */
function addSquashCommand(run: BinRun, program: Command, context: CliContext): void {
  program
    .command("squash")
    .description("replace migrations 1..K with one that builds the schema they built (a dry run unless --yes)")
    .option("--to <K>", "the newest version to squash: migrations 1 to K become one, numbered K", singleValued())
    .option("--dir <path>", `migrations folder (default: ${describePathDefaults(run.projectRoot).dirDefault})`, singleValued(parsePath))
    .option("--dialect <dialect>", `SQL dialect of the migrations: ${DIALECTS.join(" or ")} (default: "dialect" in the config, else sqlite)`, singleValued(parseDialectOption))
    .option("--yes", "delete migrations 1..K, write the squash and regenerate the registry; without it, print what it would do and change nothing")
    .option("--json", "print the plan as JSON")
    .addHelpText("after", SQUASH_HELP)
    .action(async (flags: SquashFlags, command: Command) => {
      const settings = resolveSettings(run.projectRoot, { migrationsDir: flags.dir, dialect: flags.dialect });
      assertPeersInstalled("stepwise squash", CODEGEN_PEERS);
      const { url, unset } = settings.dialect === "postgres" ? replayUrlOf(run, command) : { url: null, unset: null };
      const load = async () => {
        await refuseStaleRegistry(run, settings);
        return loadRegistry(run, settings);
      };
      await (await import("./squash/squash-command.js")).runSquash(flags, { ...settings, url, urlUnset: unset }, load, context);
    });
}

/** The server a postgres registry is replayed on: `--url` when given, else the config's `url`, else `DATABASE_URL` (the schema and table still come from the config). */
function replayUrlOf(run: BinRun, command: Command): { readonly url: string | null; readonly unset: string | null } {
  const given = command.optsWithGlobals<{ url?: string }>().url;
  return given === undefined ? run.runtimeSettings.replayUrl() : { url: given, unset: null };
}

/** `gen`: writes (or with `--check`, checks) the registry, or with `--watch` keeps doing so; prints the outcome. */
async function runGen(run: BinRun, flags: GenFlags, settings: StepwiseSettings, context: CliContext, command: Command): Promise<void> {
  const { projectRoot } = run;
  const [{ generateRegistry }, { defaultGenCacheDir }] = await Promise.all([import("./generate.js"), import("./gen-cache.js")]);
  const { migrationsDir, dialect } = settings;
  const genOptions = { ...settings, cacheDir: flags.cache ? defaultGenCacheDir(projectRoot) : null };
  if (flags.watch) return (await import("./watch.js")).watchAndGenerate(genOptions, context);
  const result = await generateRegistry({ ...genOptions, check: Boolean(flags.check) });
  const label = path.relative(projectRoot, result.registryFile);
  const baseProblems = flags.base === undefined ? [] : (await import("./rebase.js")).checkAgainstBase({ projectRoot, migrationsDir, base: flags.base });
  let ok = result.ok && baseProblems.length === 0;
  let problems: readonly Problem[] = sortProblems([...result.problems, ...baseProblems]);
  let status = result.status;
  let replay: ReplayOutcome | null = null;
  if (flags.check) {
    // The replay runs only on a registry that passed every other check; a failed replay, or with --require-replay a skipped one, fails the check.
    const { runReplayCheck, skippedReplayProblem } = await import("./replay.js");
    if (!ok) replay = { ran: false, code: "not-reached", reason: "the other checks found problems; the replay runs once they are fixed" };
    else if (!flags.replay) replay = { ran: false, code: "disabled", reason: "--no-replay" };
    else {
      // Only a postgres registry replays on a server; an unset variable there skips the replay, naming it.
      const { url, unset } = dialect === "postgres" ? replayUrlOf(run, command) : { url: null, unset: null };
      const checked = await runReplayCheck({ ...settings, url, urlUnset: unset, registryFile: result.registryFile, loadRegistry: (file) => loadRegistry(run, { ...settings, registryFile: file }) });
      replay = checked.replay;
      const failed = checked.problems.length > 0 ? checked.problems : !replay.ran && flags.requireReplay ? [skippedReplayProblem(replay, projectPath(projectRoot, result.registryFile))] : [];
      if (failed.length > 0) [ok, problems, status] = [false, failed, "invalid"];
    }
  }
  if (flags.json) {
    const registryLabel = projectPath(projectRoot, result.registryFile);
    const failed = problems.find((problem) => problem.code === "REPLAY_FAILED" || problem.code === "REPLAY_DOWN_FAILED");
    const fix =
      status === "stale"
        ? `run "${genCommandOf(projectRoot, settings)}" and commit ${registryLabel}`
        : failed
          ? `fix ${failed.file}:${failed.line}:${failed.column} as its problem says, then run gen --check again`
          : null;
    const report = { ok, status, registryFile: registryLabel, migrationCount: result.migrationCount, latestVersion: result.latestVersion, problems, fix, replay };
    context.io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    if (!ok) context.setExitCode(1);
    return;
  }
  if (!ok) {
    printProblems(problems, context);
    if (status === "stale") context.io.stderr(`${label} is out of date.\n`);
    context.setExitCode(1);
    return;
  }
  if (replay?.ran) {
    for (const { driver, reason } of replay.unavailable) context.io.stderr(`note: ${driver} cannot replay here, so ${replay.driver} did: ${reason}\n`);
    context.io.stdout(`${(await import("./replay.js")).describeReplay(replay)}\n`);
  } else if (replay !== null && replay.code !== "disabled" && replay.code !== "not-reached") {
    context.io.stderr(
      `${context.palette.yellow(`warning [REPLAY_SKIPPED]`)}: the replay did not run (${replay.code}): ${replay.reason}\nPass --require-replay to make gen --check fail when it cannot replay.\n`,
    );
  }
  context.io.stdout(`${context.palette.green(describeGenerated(result, projectRoot))}\n`);
}

/** The options of `gen`, as commander hands them over. */
type GenFlags = { dir?: string; out?: string; dialect?: string; check?: boolean; cache: boolean; replay: boolean; requireReplay?: boolean; base?: string; json?: boolean; watch?: boolean };

function parseDialectOption(value: string): string {
  if (!(DIALECTS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${DIALECTS.join(", ")}`);
  return value;
}

/** `--base`: not empty (an unset variable in a CI script gives an empty one). */
function parseGitRef(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("expected a git ref such as origin/main, got an empty string (is the variable it came from unset?)");
  return value;
}

/** stepwise's version, from the nearest package.json named `stepwise-migrate` above this file (the source tree or the packed dist); `null` in a bundle. */
function readToolVersion(): string | null {
  const version = findPackageManifest(path.dirname(fileURLToPath(import.meta.url)), PACKAGE_NAME)?.version;
  return typeof version === "string" ? version : null;
}
