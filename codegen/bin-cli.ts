/**
 * The `stepwise` command as a function of its directory, environment and output: the build-time
 * commands (`gen`, `create`, `rebase`) plus every runtime command of `createCli`, which here loads
 * the project's TypeScript registry on demand, so a plain TypeScript project needs no build step; in
 * development it first refuses a registry that lags behind the migrations folder (REGISTRY_STALE).
 * Settings come from flags, then the config, then defaults. bin.ts runs it on the process; tests and
 * tools run it in their own process.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { InvalidArgumentError, Option, type Command } from "commander";
import { createCli, type Cli } from "../src/cli/create-cli.js";
import type { CliContext, CliIo } from "../src/cli/cli-props.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { parsePath, singleValued } from "../src/cli/parse-options.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { assertPeersInstalled, CODEGEN_PEERS, findMissingPeers, REGISTRY_LOADER_PEERS } from "./optional-dependencies.js";
import { DIALECTS, findProjectRoot, resolveSettings, runtimeConfig, type StepwiseConfig, type StepwiseSettings } from "./config.js";
import { formatProblem, sortProblems, type Problem } from "./problems.js";
import type { GenerateOptions, GenerateResult } from "./generate.js";
import { addRebaseCommand, parseGitRef } from "./rebase-command.js";
import { importImportFreeRegistry } from "./import-free-registry.js";
import { describeReplay, type ReplayOutcome } from "./replay-check.js";
import { toPortablePath } from "./portable-path.js";
import { usageError, registryLoadError } from "../src/core/error-factories.js";
import { PACKAGE_NAME } from "../src/shared/package-name.js";

/** What one run of the bin works in: the project it found from its directory, and its environment. */
interface BinRun {
  readonly projectRoot: string;
  readonly env: NodeJS.ProcessEnv;
  /** The settings the runtime commands read from the config, each only when its flag is not given. */
  readonly runtimeSettings: ReturnType<typeof runtimeConfig>;
  /** The build commands' settings, resolved once from the flags of the command that runs. */
  settings(flags?: StepwiseConfig): StepwiseSettings;
}

function startRun(cwd: string, env: NodeJS.ProcessEnv): BinRun {
  const projectRoot = findProjectRoot(cwd);
  let cached: StepwiseSettings | undefined;
  return {
    projectRoot,
    env,
    runtimeSettings: runtimeConfig(projectRoot, env),
    settings: (flags = {}) => (cached ??= resolveSettings(projectRoot, flags)),
  };
}

/** Bun runs TypeScript itself (and tsx's loader does not work there), which `--driver bun-sqlite` needs. */
const runsOnBun = (process.versions as { bun?: string }).bun !== undefined;

/** Set to `tsx` to load every registry through tsx, as before import-free-registry.ts (a way around it, and the bench's baseline). */
const REGISTRY_LOADER = "STEPWISE_REGISTRY_LOADER";

/**
 * Loads the registry as the app would import it: through tsx, which compiles the TypeScript on the
 * fly (Bun needs no help), unless it imports nothing (import-free-registry.ts).
 */
async function loadRegistry(run: BinRun, registryFile: string): Promise<MigrationRegistry> {
  const { projectRoot } = run;
  if (!runsOnBun) assertPeersInstalled(`Loading ${path.relative(projectRoot, registryFile)} (the runtime commands of the stepwise bin)`, REGISTRY_LOADER_PEERS);
  if (!existsSync(registryFile)) {
    throw usageError(`${path.relative(projectRoot, registryFile)} does not exist; run "stepwise gen" to write it.`);
  }
  // A registry of `.sql` migrations only imports nothing: plain JavaScript, without tsx's loader.
  const plain = runsOnBun || run.env[REGISTRY_LOADER] === "tsx" ? null : await importImportFreeRegistry(registryFile, (await import("./gen-cache.js")).defaultGenCacheDir(projectRoot));
  const loaded = (plain ?? (await importThroughTsx(projectRoot, registryFile))) as { migrations?: MigrationRegistry };
  if (!Array.isArray(loaded.migrations)) {
    throw usageError(`${path.relative(projectRoot, registryFile)} does not export "migrations"; run "stepwise gen" to write it.`);
  }
  return loaded.migrations;
}

/** Imports the registry as the app would; tsx compiles the TypeScript on the fly (Bun needs no help). */
async function importThroughTsx(projectRoot: string, registryFile: string): Promise<unknown> {
  const importTs = runsOnBun ? (specifier: string) => import(specifier) : ((await import("tsx/esm/api")) as { tsImport: (specifier: string, parent: string) => Promise<unknown> }).tsImport;
  try {
    return await importTs(pathToFileURL(registryFile).href, import.meta.url);
  } catch (error) {
    throw registryLoadError({ file: path.relative(projectRoot, registryFile), location: failureLocation(projectRoot, error), cause: error });
  }
}

/** The first project file (not node_modules, not Node's own) a load failure points at, as `file:line:col`. */
function failureLocation(projectRoot: string, error: unknown): string | null {
  const stack = error instanceof Error ? (error.stack ?? "") : "";
  for (const match of stack.matchAll(/((?:file:\/\/)?\/[^\s()]+?):(\d+):(\d+)/g)) {
    const file = match[1]!.startsWith("file://") ? new URL(match[1]!).pathname : match[1]!;
    if (file.includes("/node_modules/") || !file.startsWith(projectRoot)) continue;
    return `${path.relative(projectRoot, file)}:${match[2]}:${match[3]}`;
  }
  return null;
}

/** Set to `1` to run a registry that lags behind the folder anyway (see {@link refuseStaleRegistry}). */
const SKIP_REGISTRY_CHECK = "STEPWISE_SKIP_REGISTRY_CHECK";

/**
 * In development (a migrations folder, and the codegen tools installed) a registry that is not what
 * `gen` would write now is refused with REGISTRY_STALE. A production install or a bundled app has
 * neither, so nothing is checked and codegen is never loaded. A missing registry is left to
 * {@link loadRegistry}, which says to run gen.
 */
async function refuseStaleRegistry(run: BinRun, resolved: StepwiseSettings): Promise<void> {
  // The deliberate way past it, for the one case a stale registry is wanted: rolling back what the
  // registry applied while the folder is mid-merge, before "stepwise rebase" renumbers it.
  if (run.env[SKIP_REGISTRY_CHECK] === "1") return;
  if (!existsSync(resolved.migrationsDir) || !existsSync(resolved.registryFile) || findMissingPeers(CODEGEN_PEERS).length > 0) return;
  const [{ assertRegistryFresh }, { defaultGenCacheDir }] = await Promise.all([import("./registry-freshness.js"), import("./gen-cache.js")]);
  await assertRegistryFresh({
    projectRoot: run.projectRoot,
    migrationsDir: resolved.migrationsDir,
    registryFile: resolved.registryFile,
    dialect: resolved.dialect,
    ...(resolved.target === null ? {} : { target: resolved.target }),
    cacheDir: defaultGenCacheDir(run.projectRoot),
  });
}

/**
 * `gen --watch`: runs until SIGINT or SIGTERM, which end it with exit code 0; a failed run is
 * printed and the watch goes on. Only a folder that cannot be watched (missing, removed) ends it with 1.
 */
async function watchAndGenerate(genOptions: Omit<GenerateOptions, "check">, context: CliContext): Promise<void> {
  const { projectRoot } = genOptions;
  const { watchMigrations } = await import("./watch.js");
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const folder = path.relative(projectRoot, genOptions.migrationsDir) || ".";
  const label = path.relative(projectRoot, genOptions.registryFile);
  try {
    const how = await watchMigrations({
      ...genOptions,
      signal: stop.signal,
      onReady: () => context.io.stderr(`Watching ${folder} for changes; Ctrl-C stops.\n`),
      onRun: (outcome) => {
        if ("error" in outcome) {
          const error = outcome.error as NodeJS.ErrnoException;
          context.io.stderr(`${context.palette.red(`error [${error.code ?? "WATCH_FAILED"}]`)}: ${error.message}\n`);
          return;
        }
        const { result } = outcome;
        if (!result.ok) {
          printProblems(result.problems, context);
          context.io.stderr(`Kept the old registry; watching ${folder} for changes.\n`);
          return;
        }
        const count = `${result.migrationCount} migration${result.migrationCount === 1 ? "" : "s"}`;
        const what = result.status === "unchanged" ? `${label} is up to date` : `Wrote ${label}`;
        context.io.stdout(`${context.palette.green(`${what} (${count}, latest version ${result.latestVersion}).`)}\n`);
      },
    });
    if (how === "failed") context.setExitCode(1);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * What the replay did, for `gen --check`'s text output: the result on stdout; a driver that could
 * not run here and a skipped replay on stderr, each reason whole (an install command is its last line).
 */
function printReplay(replay: ReplayOutcome, context: CliContext): void {
  if (replay.ran) {
    for (const { driver, reason } of replay.unavailable) context.io.stderr(`note: ${driver} cannot replay here, so ${replay.driver} did: ${reason}\n`);
    context.io.stdout(`${describeReplay(replay)}\n`);
  } else if (replay.code !== "disabled" && replay.code !== "not-reached") {
    context.io.stderr(
      `${context.palette.yellow(`warning [REPLAY_SKIPPED]`)}: the replay did not run (${replay.code}): ${replay.reason}\nPass --require-replay to make gen --check fail when it cannot replay.\n`,
    );
  }
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

/**
 * The environment variables the bin reads, for the root `--help`: each changes what a command does,
 * so a user who meets one in a script can look it up where the flags are.
 */
const ENVIRONMENT_HELP = [
  "Environment:",
  "  DATABASE_URL                    the database when neither --db/--url nor the config names one",
  "  PGPASSWORD, LIBSQL_AUTH_TOKEN   a server's password or token, kept out of the command line",
  "  STEPWISE_REPAIRED_BY            who repair --checksums records, when --by is not given",
  `  ${SKIP_REGISTRY_CHECK}=1  run a registry that lags behind the migrations folder (refused otherwise)`,
  `  ${REGISTRY_LOADER}=tsx    load the registry through tsx even when it imports nothing`,
  "  NO_COLOR, FORCE_COLOR           turn colour off or on",
].join("\n");

function addBuildCommands(run: BinRun, program: Command, context: CliContext): void {
  program.addHelpText("after", `\n${ENVIRONMENT_HELP}`);
  addGenCommand(run, program, context);
  addCreateCommand(run, program, context);
  addRebaseCommand(program, context, {
    projectRoot: run.projectRoot,
    settings: run.settings,
    printProblems,
    dialectOption: { flags: "--dialect <dialect>", description: DIALECT_OPTION_HELP, parse: parseDialectOption },
  });
}

const DIALECT_OPTION_HELP = `SQL dialect of the migrations: ${DIALECTS.join(" or ")} (default: "dialect" in the config, else sqlite)`;

/** The options of `gen`, as commander hands them over. */
interface GenOptions {
  readonly check?: boolean;
  readonly dir?: string;
  readonly out?: string;
  readonly dialect?: string;
  readonly cache: boolean;
  readonly replay: boolean;
  readonly requireReplay?: boolean;
  readonly base?: string;
  readonly json?: boolean;
  readonly watch?: boolean;
}

function addGenCommand(run: BinRun, program: Command, context: CliContext): void {
  program
    .command("gen")
    .description("check migrations/ and write generated/registry.ts")
    .option("--check", "write nothing; exit 1 if the registry is stale, any migration is invalid, or one fails when replayed on an empty in-memory database (for CI)")
    .option("--dir <path>", "migrations folder (default: migrations)", singleValued(parsePath))
    .option("--out <file>", "registry file (default: generated/registry.ts)", singleValued(parsePath))
    .option("--dialect <dialect>", DIALECT_OPTION_HELP, singleValued(parseDialectOption))
    .option("--no-cache", "ignore node_modules/.cache/stepwise and check everything from scratch")
    .option(
      "--no-replay",
      "with --check: skip applying the migrations to an empty database (an in-memory one for SQLite, a scratch database created on the configured server for PostgreSQL) and rolling back the newest",
    )
    .option("--require-replay", "with --check: fail (exit 1, REPLAY_SKIPPED) when the replay cannot run here, such as no SQLite driver installed or no PostgreSQL server configured (for CI)")
    .option("--base <ref>", "with --check: also fail for every version the git ref (such as origin/main) uses for a different migration", singleValued(parseGitRef))
    .option("--json", "print the outcome as JSON (ok, status, problems with code, file, line and message) instead of lines")
    .addOption(new Option("--watch", "keep running: regenerate on every change of the migrations folder; a failed run keeps the old registry (Ctrl-C stops)").conflicts(["check", "json"]))
    .action((options: GenOptions) => runGen(run, context, options));
}

/** `gen`: writes (or with `--check`, checks) the registry, or with `--watch` keeps doing so; prints the outcome. */
async function runGen(run: BinRun, context: CliContext, options: GenOptions): Promise<void> {
  if (options.base !== undefined && !options.check) throw usageError("--base compares with another branch and writes nothing: use it with --check.");
  if (options.requireReplay && !options.check) throw usageError("--require-replay makes gen --check fail when its replay cannot run: use it with --check.");
  if (options.requireReplay && !options.replay) throw usageError("--require-replay and --no-replay contradict each other: pass one of them.");
  const { projectRoot } = run;
  const resolved = run.settings({ migrationsDir: options.dir, registryFile: options.out, dialect: options.dialect });
  assertPeersInstalled("stepwise gen", CODEGEN_PEERS);
  const [{ generateRegistry }, { defaultGenCacheDir }] = await Promise.all([import("./generate.js"), import("./gen-cache.js")]);
  const generateOptions = {
    projectRoot,
    migrationsDir: resolved.migrationsDir,
    registryFile: resolved.registryFile,
    dialect: resolved.dialect,
    ...(resolved.target === null ? {} : { target: resolved.target }),
    cacheDir: options.cache ? defaultGenCacheDir(projectRoot) : null,
  };
  if (options.watch) return watchAndGenerate(generateOptions, context);
  const result = await generateRegistry({ ...generateOptions, check: Boolean(options.check) });
  const label = path.relative(projectRoot, result.registryFile);
  const baseProblems = options.base === undefined ? [] : (await import("./git.js")).checkAgainstBase({ projectRoot, migrationsDir: resolved.migrationsDir, base: options.base });
  let outcome: GenOutcome = { ok: result.ok && baseProblems.length === 0, problems: sortProblems([...result.problems, ...baseProblems]), status: result.status, replay: null };
  if (options.check) outcome = await replayChecked(run, resolved, result.registryFile, label, outcome, options);
  if (options.json) {
    context.io.stdout(`${JSON.stringify(toGenReport({ ...result, ok: outcome.ok, status: outcome.status, problems: outcome.problems }, projectRoot, outcome.replay), null, 2)}\n`);
    if (!outcome.ok) context.setExitCode(1);
    return;
  }
  if (!outcome.ok) {
    printProblems(outcome.problems, context);
    if (outcome.status === "stale") context.io.stderr(`${label} is out of date.\n`);
    context.setExitCode(1);
    return;
  }
  if (outcome.replay !== null) printReplay(outcome.replay, context);
  const count = `${result.migrationCount} migration${result.migrationCount === 1 ? "" : "s"}`;
  const said = result.status === "unchanged" ? `${label} is up to date (${count}, latest version ${result.latestVersion}).` : `Wrote ${label} (${count}, latest version ${result.latestVersion}).`;
  context.io.stdout(`${context.palette.green(said)}\n`);
}

/** What `gen` reports: whether it passed, its problems, the registry's status and the replay's outcome. */
interface GenOutcome {
  readonly ok: boolean;
  readonly problems: readonly Problem[];
  readonly status: GenerateResult["status"];
  readonly replay: ReplayOutcome | null;
}

/**
 * `gen --check`'s replay (replay-check.ts), which runs only on a registry that passed every other
 * check, folded into the outcome: a failed replay, or (with `--require-replay`) one that could not
 * run, fails the check.
 */
async function replayChecked(run: BinRun, resolved: ReturnType<BinRun["settings"]>, registryFile: string, label: string, outcome: GenOutcome, options: GenOptions): Promise<GenOutcome> {
  const { runReplayCheck, skippedReplayProblem } = await import("./replay-check.js");
  if (!outcome.ok) return { ...outcome, replay: { ran: false, code: "not-reached", reason: "the other checks found problems; the replay runs once they are fixed" } };
  if (!options.replay) return { ...outcome, replay: { ran: false, code: "disabled", reason: "--no-replay" } };
  // Only a postgres registry replays on a server; an unset variable there skips the replay, naming it.
  const { url, unset } = resolved.dialect === "postgres" ? run.runtimeSettings.replayUrl() : { url: null, unset: null };
  const checked = await runReplayCheck({ ...resolved, url, urlUnset: unset, projectRoot: run.projectRoot, registryFile, loadRegistry: (file: string) => loadRegistry(run, file) });
  if (checked.problems.length > 0) return { ok: false, problems: [...checked.problems], status: "invalid", replay: checked.replay };
  if (!checked.replay.ran && options.requireReplay) return { ok: false, problems: [skippedReplayProblem(checked.replay, toPortablePath(label))], status: "invalid", replay: checked.replay };
  return { ...outcome, replay: checked.replay };
}

function addCreateCommand(run: BinRun, program: Command, context: CliContext): void {
  program
    .command("create")
    .description("write the next migration from a template, to edit before gen registers it")
    .argument("<description>", 'what the migration does, such as "add email to contacts"')
    .option("--sql", "write a .sql migration instead of a .ts one")
    .option("--dir <path>", "migrations folder (default: migrations)", singleValued(parsePath))
    .option("--out <file>", "registry file (default: generated/registry.ts)", singleValued(parsePath))
    .option("--dialect <dialect>", DIALECT_OPTION_HELP, singleValued(parseDialectOption))
    .addHelpText("after", `\nThe template's "stepwise:todo" comments make gen refuse it (TEMPLATE_UNEDITED) until the migration is written; then run "stepwise gen".`)
    .action(async (description: string, options: { sql?: boolean; dir?: string; out?: string; dialect?: string }) => {
      const resolved = run.settings({ migrationsDir: options.dir, registryFile: options.out, dialect: options.dialect });
      assertPeersInstalled("stepwise create", CODEGEN_PEERS);
      const { createMigration } = await import("./create.js");
      const result = await createMigration({
        projectRoot: run.projectRoot,
        migrationsDir: resolved.migrationsDir,
        registryFile: resolved.registryFile,
        description,
        kind: options.sql ? "sql" : "ts",
        dialect: resolved.dialect,
        driver: resolved.driver,
        target: resolved.target,
      });
      // stdout holds only the path, for `$EDITOR "$(stepwise create …)"`; the next step goes to stderr.
      context.io.stdout(`${result.file}\n`);
      context.io.stderr(
        `Write the migration in ${result.file} in place of its "stepwise:todo" comments, then run "stepwise gen" (or keep "stepwise gen --watch" running). ` +
          `Until then gen refuses it (TEMPLATE_UNEDITED) and the runtime commands refuse to run without it (REGISTRY_STALE).\n`,
      );
    });
}

/** Where and how one run of the bin works; `io` defaults to the process's streams and TTY. */
export interface BinCliOptions {
  /** The directory the project is found from (the bin passes the process's working directory). */
  readonly cwd: string;
  /** The environment every command reads (DATABASE_URL, PGPASSWORD through the driver, NO_COLOR…). */
  readonly env: NodeJS.ProcessEnv;
  /** Where output goes; the process's stdout and stderr when not given. */
  readonly io?: Omit<CliIo, "env">;
}

/**
 * The `stepwise` bin's command line, for one run: `createBinCli({ cwd, env }).run(args)` resolves to
 * the exit code, exactly as the bin would exit.
 */
export function createBinCli(options: BinCliOptions): Cli {
  const run = startRun(options.cwd, options.env);
  const { projectRoot, runtimeSettings } = run;
  return createCli({
    // The registry of the chosen driver's dialect: `--driver pg` loads the postgres one (the config's "dialects").
    // Checked against the folder first, so a stale one is refused before any database is opened.
    // The chosen driver, flag or config, stands for the config's: a flag wins, and the config's is not read.
    migrations: async ({ dialect, driver }) => {
      const resolved = resolveSettings(projectRoot, { dialect, driver });
      await refuseStaleRegistry(run, resolved);
      return loadRegistry(run, resolved.registryFile);
    },
    url: runtimeSettings.url,
    schema: runtimeSettings.schema,
    database: runtimeSettings.database,
    databaseSearched: runtimeSettings.databaseSearched,
    tableName: runtimeSettings.tableName,
    driver: runtimeSettings.driver,
    drivers: ALL_DRIVER_LOADERS,
    cwd: options.cwd,
    io: { ...options.io, env: options.env },
    // From the package.json next to this file, in the source tree and in the packed dist alike.
    version: readToolVersion() ?? "unknown",
    extend: (program, context) => addBuildCommands(run, program, context),
  });
}

/**
 * stepwise's own version, for `stepwise --version`: the nearest `package.json` named `stepwise-migrate`
 * above this file, so it is right from the source tree and the packed `dist/` alike; `null` when a
 * bundle left it behind.
 */
function readToolVersion(): string | null {
  for (let folder = path.dirname(fileURLToPath(import.meta.url)); ; folder = path.dirname(folder)) {
    let manifest: { name?: unknown; version?: unknown } | null = null;
    try {
      manifest = JSON.parse(readFileSync(path.join(folder, "package.json"), "utf8")) as { name?: unknown; version?: unknown } | null;
    } catch {
      // Missing or unreadable: keep walking up, as Node's own resolution would.
    }
    if (manifest?.name === PACKAGE_NAME && typeof manifest.version === "string") return manifest.version;
    if (path.dirname(folder) === folder) return null;
  }
}

/**
 * The JSON `gen --json` and `gen --check --json` print: the outcome as one object on stdout, for CI
 * scripts and editors that would otherwise parse `file:line:col: message [CODE]` lines.
 */
interface GenReport {
  readonly ok: boolean;
  /** As {@link GenerateResult.status}: `written`, `unchanged`, `stale` or `invalid`. */
  readonly status: GenerateResult["status"];
  /** The registry file, relative to the project root, with forward slashes. */
  readonly registryFile: string;
  readonly migrationCount: number;
  readonly latestVersion: number;
  /** Every problem, with its stable `code`, `file`, 1-based `line` and `column`, and `message`. */
  readonly problems: readonly Problem[];
  /** What to run to fix a stale registry; `null` when nothing is stale (problems carry their own fix in `message`). */
  readonly fix: string | null;
  /**
   * `gen --check`'s replay: `{ ran: true, driver, applied, rolledBack, … }`, or `{ ran: false, code,
   * reason }` when it did not run (`code` such as `no-driver`, `reason` whole). `null` for plain `gen`.
   */
  readonly replay: ReplayOutcome | null;
}

/** Builds the {@link GenReport} of one `gen` run; `programName` is how the user runs stepwise. */
function toGenReport(result: GenerateResult, projectRoot: string, replay: ReplayOutcome | null = null, programName = "stepwise"): GenReport {
  const registryFile = toPortablePath(path.relative(projectRoot, result.registryFile));
  return {
    ok: result.ok,
    status: result.status,
    registryFile,
    migrationCount: result.migrationCount,
    latestVersion: result.latestVersion,
    problems: result.problems,
    fix: result.status === "stale" ? `run "${programName} gen" and commit ${registryFile}` : null,
    replay,
  };
}
