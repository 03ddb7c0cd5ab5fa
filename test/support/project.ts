/**
 * Test support: real projects in temp folders, the real bin as a child process, real SQLite files.
 *
 * A temp project gets a `node_modules/stepwise-migrate` stub that re-exports this repo's source, so its
 * migrations can `import { defineMigration } from "stepwise-migrate"` exactly as an app's do.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolveSettings } from "../../codegen/config.js";
import { defaultGenCacheDir } from "../../codegen/gen-cache.js";
import { generateRegistry, type GenerateResult } from "../../codegen/generate.js";
import type { MigrationRegistry } from "../../src/core/types.js";
import { createBinCli } from "../../codegen/bin-cli.js";
import { importTypeScript } from "../../codegen/ts-import.js";
import { binArgs, type BinMode } from "./compiled-bin.js";

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The bin's source; `npm run gen` runs it through tsx, tests start it with {@link binArgs}. */
export const binPath = path.join(repoRoot, "codegen", "bin.ts");
/** Fixture migration folders. */
export const fixturesDir = path.join(repoRoot, "test", "fixtures");
const tsxLoader = import.meta.resolve("tsx");

/**
 * Makes a fresh folder under `parent` (the system temp folder unless given) and removes it when the
 * test ends; keeps it when STEPWISE_KEEP_TMP is set, for debugging.
 */
export function makeTempDir(t: { after(fn: () => void): void }, prefix = "stepwise-test-", parent = tmpdir()): string {
  const dir = mkdtempSync(path.join(parent, prefix));
  t.after(() => {
    if (!process.env.STEPWISE_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A temp project: its folders and how to use them. */
export interface TestProject {
  readonly root: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  /** Writes `migrations/<name>` (creating the folder). */
  writeMigration(fileName: string, text: string): string;
  /** Runs `gen` in-process. */
  generate(options?: { check?: boolean }): Promise<GenerateResult>;
  /**
   * Writes the registry in-process exactly as a plain `stepwise gen` run in the project's root would
   * (the folders, dialect and target of its config, and its gen cache, which the bin's registry check
   * then finds), and fails the test on problems. For tests whose subject is what comes after `gen`:
   * a `gen` child costs the bin's start and TypeScript's load, every time; in-process, TypeScript
   * loads once per test file.
   */
  generateAsBin(): Promise<GenerateResult>;
  /** Runs `gen`, fails the test on problems, and imports the registry as an app would. */
  load<R extends MigrationRegistry = MigrationRegistry>(): Promise<R>;
  /** A database path inside the project. */
  databasePath(name?: string): string;
}

/** How {@link createTestProject} lays a project out. */
export interface TestProjectOptions {
  /** A folder of `test/fixtures` to copy into `migrations/`. */
  fixture?: string;
  /** Fields added to the project's package.json. */
  packageJson?: object;
  /** The folder the project is made in; the system temp folder unless given. */
  parentDir?: string;
  /** The stepwise checkout whose `src/` the `stepwise-migrate` stub re-exports; this repo unless given. */
  stepwiseRoot?: string;
}

/** The driver entries the `stepwise-migrate` stub re-exports, as `stepwise-migrate/<name>`. */
const DRIVER_ENTRIES = ["better-sqlite3", "node-sqlite", "bun-sqlite", "libsql", "sql-js", "pg", "libsql-client", "durable-objects", "d1"] as const;

/**
 * Creates a project with package.json, a NodeNext tsconfig and the `stepwise-migrate` stub. With `fixture`,
 * copies `test/fixtures/<fixture>` into `migrations/`.
 */
export function createTestProject(t: { after(fn: () => void): void }, options: TestProjectOptions = {}): TestProject {
  const root = makeTempDir(t, undefined, options.parentDir);
  const stepwiseRoot = options.stepwiseRoot ?? repoRoot;
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "test-app", private: true, type: "module", ...options.packageJson }, null, 2));
  writeFileSync(
    path.join(root, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, skipLibCheck: true } }, null, 2),
  );
  const stub = path.join(root, "node_modules", "stepwise-migrate");
  mkdirSync(stub, { recursive: true });
  writeFileSync(
    path.join(stub, "package.json"),
    JSON.stringify({
      name: "stepwise-migrate",
      type: "module",
      exports: { ".": "./index.ts", ...Object.fromEntries(DRIVER_ENTRIES.map((entry) => [`./${entry}`, `./${entry}.ts`])), "./cli": "./cli.ts" },
    }),
  );
  writeFileSync(path.join(stub, "index.ts"), `export * from ${JSON.stringify(pathToFileURL(path.join(stepwiseRoot, "src", "index.ts")).href)};\n`);
  for (const entry of DRIVER_ENTRIES) {
    writeFileSync(path.join(stub, `${entry}.ts`), `export * from ${JSON.stringify(pathToFileURL(path.join(stepwiseRoot, "src", "entries", `${entry}.ts`)).href)};\n`);
  }
  writeFileSync(path.join(stub, "cli.ts"), `export * from ${JSON.stringify(pathToFileURL(path.join(stepwiseRoot, "src", "cli", "index.ts")).href)};\n`);

  const migrationsDir = path.join(root, "migrations");
  const registryFile = path.join(root, "generated", "registry.ts");
  if (options.fixture) cpSync(path.join(fixturesDir, options.fixture), migrationsDir, { recursive: true });

  let loadCount = 0;
  const project: TestProject = {
    root,
    migrationsDir,
    registryFile,
    writeMigration(fileName, text) {
      mkdirSync(migrationsDir, { recursive: true });
      const file = path.join(migrationsDir, fileName);
      writeFileSync(file, text);
      return file;
    },
    generate(generateOptions = {}) {
      return generateRegistry({ projectRoot: root, migrationsDir, registryFile, check: generateOptions.check });
    },
    async generateAsBin() {
      const settings = resolveSettings(root);
      const result = await generateRegistry({
        projectRoot: root,
        migrationsDir: settings.migrationsDir,
        registryFile: settings.registryFile,
        dialect: settings.dialect,
        ...(settings.target === null ? {} : { target: settings.target }),
        cacheDir: defaultGenCacheDir(root),
      });
      if (!result.ok) throw new Error(`gen failed:\n${result.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join("\n")}`);
      return result;
    },
    async load<R extends MigrationRegistry>() {
      const inputs = digestGenInputs(root, stepwiseRoot, registryFile);
      const known = inputs === null ? undefined : registriesByInputs.get(inputs);
      if (known === undefined) {
        const result = await project.generate();
        if (!result.ok) throw new Error(`gen failed:\n${result.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join("\n")}`);
        if (inputs !== null) registriesByInputs.set(inputs, readFileSync(registryFile, "utf8"));
      } else {
        mkdirSync(path.dirname(registryFile), { recursive: true });
        writeFileSync(registryFile, known);
      }
      // A query string makes each load a fresh module, so a test can edit and reload.
      const url = `${pathToFileURL(registryFile).href}?load=${++loadCount}`;
      const loaded = ("Bun" in globalThis ? await importFreshUnderBun(root, migrationsDir, registryFile, loadCount) : await importTypeScript(url, import.meta.url)) as { migrations: R };
      return loaded.migrations;
    },
    databasePath(name = "app.db") {
      return path.join(root, name);
    },
  };
  return project;
}

/**
 * Registries `load` generated in this process, by {@link digestGenInputs}: many tests build the same
 * fixture in a project of their own, and its registry (relative paths only) is the same text in each,
 * so `gen` (ts-morph and prettier, about a second) runs once per distinct project instead of per test.
 * Tests of `gen` itself call `generate`, which always runs it.
 */
const registriesByInputs = new Map<string, string>();

/**
 * Everything in the project `gen` could read, by path relative to its root: every file's bytes
 * (migrations, their local imports, package.json and any config) but `node_modules`, whose stub
 * depends only on `stepwiseRoot`; the registry file's own state too, which gen checks before writing.
 * `null` (gen always runs) for a tree with a symbolic link, whose target may change unseen, or a file
 * this process cannot read.
 */
function digestGenInputs(root: string, stepwiseRoot: string, registryFile: string): string | null {
  const hash = createHash("sha256").update(`${stepwiseRoot}\0${path.relative(root, registryFile)}\0`);
  const visit = (relative: string): void => {
    for (const name of readdirSync(path.join(root, relative)).sort()) {
      const child = path.join(relative, name);
      if (child === "node_modules") continue;
      const full = path.join(root, child);
      const stats = lstatSync(full);
      hash.update(`${child}\0${stats.mode}\0`);
      if (stats.isSymbolicLink()) throw new Error(`a symbolic link: ${child}`);
      if (stats.isDirectory()) visit(child);
      else if (stats.isFile()) hash.update(readFileSync(full));
      hash.update("\0");
    }
  };
  try {
    visit("");
  } catch {
    return null;
  }
  return hash.digest("hex");
}

/**
 * Imports the registry under Bun, which runs TypeScript itself and has no `module.register` (what
 * tsx's `tsImport` needs), and caches a module by its path whatever the query string: so each load
 * imports a copy of the registry and the migrations from a folder of its own, inside the project so
 * that `stepwise-migrate` still resolves.
 */
async function importFreshUnderBun(root: string, migrationsDir: string, registryFile: string, loadCount: number): Promise<unknown> {
  const copy = path.join(root, `.load-${loadCount}`);
  cpSync(migrationsDir, path.join(copy, path.relative(root, migrationsDir)), { recursive: true });
  const registryCopy = path.join(copy, path.relative(root, registryFile));
  cpSync(registryFile, registryCopy);
  return import(pathToFileURL(registryCopy).href);
}

/** What a child process did. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Collects a spawned child's output until it closes; kills it after `timeoutMs`. The child must have
 * been spawned with piped stdout and stderr.
 */
export function collectOutput(child: ChildProcess, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs a script file (TypeScript allowed) with node and tsx, as a child process. */
export function runNode(script: string, args: readonly string[], options: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number; node?: string }): Promise<RunResult> {
  return runChild(options.node ?? process.execPath, ["--import", tsxLoader, script, ...args], options);
}

function runChild(command: string, args: readonly string[], options: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<RunResult> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collectOutput(child, options.timeoutMs);
}

/**
 * The Node that runs the bin. The CLI opens databases with better-sqlite3, whose addon is built for
 * the Node that installed it, so a test running under Node 24 or Bun runs the bin under that Node:
 * `STEPWISE_CLI_NODE` (set by `npm test`), else `node` on the PATH.
 */
export function cliNode(): string {
  if (process.env.STEPWISE_CLI_NODE) return process.env.STEPWISE_CLI_NODE;
  const underNode20 = !("Bun" in globalThis) && Number(process.versions.node.split(".")[0]) < 24;
  return underNode20 ? process.execPath : "node";
}

/**
 * Environment variables the bin reads only through the environment it is given. A test that sets any
 * other (a variable a migration, a driver library or git reads from the process) needs a process.
 */
const READ_THROUGH_BIN_ENV = new Set(["DATABASE_URL", "LIBSQL_AUTH_TOKEN", "STEPWISE_SKIP_REGISTRY_CHECK", "STEPWISE_REGISTRY_LOADER", "NO_COLOR", "FORCE_COLOR"]);

/**
 * Whether a run can happen in this process and behave as the bin's process would: this is the Node
 * whose better-sqlite3 the CLI loads (not Bun, not Node 24), no bin mode was asked for, and every
 * variable the test sets is read through the bin's environment (or unsets one this process lacks).
 */
function runsInProcess(options: { env?: Record<string, string | undefined>; bin?: BinMode }): boolean {
  if (options.bin !== undefined || process.env.STEPWISE_TEST_BIN !== undefined || cliNode() !== process.execPath || "Bun" in globalThis) return false;
  return Object.entries(options.env ?? {}).every(([name, value]) => READ_THROUGH_BIN_ENV.has(name) || (value === undefined && process.env[name] === undefined));
}

/**
 * Runs the `stepwise` bin in `cwd`. In this process through {@link createBinCli} (the bin's own
 * function, with the environment a child would get) when {@link runsInProcess} allows; otherwise as
 * a child: compiled to JavaScript once per source digest and started with plain node
 * (test/support/compiled-bin.ts), or through tsx under `STEPWISE_TEST_BIN=tsx` or `bin: "tsx"`.
 * What only a process shows (signals, a crash, `process.env` read by a migration) takes a child, and
 * so does a run the test must act on while it waits (`child: true`): SQLite's busy wait blocks the
 * thread it runs on, this test's timers included.
 */
export function runCli(args: readonly string[], options: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number; bin?: BinMode; child?: true }): Promise<RunResult> {
  if (options.child === undefined && runsInProcess(options)) return runBinInProcess(args, options.cwd, { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined, ...options.env });
  return runChild(cliNode(), [...binArgs(options.bin), ...args], options);
}

async function runBinInProcess(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const io = { stdout: (text: string) => void (stdout += text), stderr: (text: string) => void (stderr += text), isTTY: false };
  for (const name of Object.keys(env)) if (env[name] === undefined) delete env[name];
  const code = await createBinCli({ cwd, env, io }).run(args);
  return { code, signal: null, stdout, stderr };
}

/** Runs the real bin under `ulimit -f <limitKiB>` (1 KiB blocks), with SIGXFSZ ignored so a write past the limit fails with EFBIG: a real short write. A child: the limit is a process's. */
export function runCliWithFileSizeLimit(args: readonly string[], cwd: string, limitKiB: number): Promise<RunResult> {
  return runChild("bash", ["-c", `trap '' XFSZ; ulimit -f ${limitKiB}; exec "$@"`, "bash", cliNode(), ...binArgs(), ...args], { cwd });
}

/** Reads a file's bytes, for before/after comparisons. */
export function readBytes(file: string): Buffer {
  return readFileSync(file);
}
