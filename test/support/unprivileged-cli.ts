/**
 * Test support: the real bin, run by a user that file modes apply to.
 *
 * Root ignores file modes, so a test of a read-only file has to run the CLI as an unprivileged user
 * (`nobody`) when the suite runs as root. That user cannot read this checkout when it sits under a
 * folder that only root may enter (root's home, a `mktemp -d` folder), nor files a restrictive umask
 * left unreadable. So the bin's sources and the packages it loads (tsx, better-sqlite3, commander,
 * and what they need) are copied into a staging folder that every user can enter, and the projects the
 * child works on are made there too. The child still runs `codegen/bin.ts` through tsx, as
 * `npm run stepwise` does. When the suite is not root there is nobody to switch to, and the bin runs
 * straight from the checkout.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { copyInstalledPackage } from "./packed-app.js";
import type { MigrationRegistry } from "../../src/core/types.js";
import { collectOutput, createTestProject, repoRoot, runCli, type RunResult, type TestProject, type TestProjectOptions } from "./project.js";

/** The account the child switches to; `nobody` is uid 65534 on most Linux systems. */
const UNPRIVILEGED_NAME = "nobody";
const UNPRIVILEGED_UID = 65534;

/** Where a staging folder may go, in order of preference; the first that everyone can enter wins. */
const STAGING_PARENTS = [tmpdir(), "/tmp", "/var/tmp", "/dev/shm"];

/** The part of a checkout the bin loads: its sources and the settings tsx reads. */
export const STAGED_SOURCES: readonly string[] = ["package.json", "tsconfig.json", "src", "codegen"];

/** An account to run a child process as. */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Options for one run of the bin. */
export interface UnprivilegedRunOptions {
  readonly cwd: string;
  readonly env?: Record<string, string | undefined>;
  readonly timeoutMs?: number;
}

/** The real bin, run as a user that file modes apply to, and projects that user can reach. */
export interface UnprivilegedCli {
  /** Why no unprivileged run is possible here, for `t.skip(...)`; null when it is. */
  readonly unavailable: string | null;
  /** The account the bin runs as when the suite is root; null when it runs as the current user. */
  readonly account: Account | null;
  /** A test project in a folder the child can enter, whose files it can read. */
  createProject(t: { after(fn: () => void): void }, options?: Omit<TestProjectOptions, "parentDir" | "stepwiseRoot">): TestProject;
  /** Runs the real `stepwise` bin with `args` in `cwd`. */
  run(args: readonly string[], options: UnprivilegedRunOptions): Promise<RunResult>;
  /** Removes the staging folder; safe to call more than once. */
  dispose(): void;
}

/** Where {@link prepareUnprivilegedCli} stages from. */
export interface UnprivilegedCliOptions {
  /**
   * The stepwise checkout (with its node_modules) whose bin is staged; this repo unless given. Only
   * a root suite stages; otherwise this repo's bin runs as it is.
   */
  readonly checkout?: string;
  /** Packages to stage beyond the runtime's, such as `ts-morph` and `prettier` for a test that runs `gen`. */
  readonly extraPackages?: readonly string[];
}

/**
 * Prepares the bin for unprivileged runs: when the suite is root, finds `nobody`, checks that this
 * process may switch to it, and stages what the bin needs where it can read it. Call it once per test
 * file and {@link UnprivilegedCli.dispose} after the file's tests.
 */
export function prepareUnprivilegedCli(options: UnprivilegedCliOptions = {}): UnprivilegedCli {
  if (process.getuid?.() !== 0) return currentUserCli();
  const account = findUnprivilegedAccount();
  if (typeof account === "string") return unavailableCli(account);
  const probe = probeSwitch(account);
  if (probe.unavailable) return unavailableCli(probe.unavailable);
  return stagedCli(options.checkout ?? repoRoot, account, probe.nodeReadable, options.extraPackages ?? []);
}

/** Not root: file modes already apply to this user, so the checkout's own bin is the one to run. */
function currentUserCli(): UnprivilegedCli {
  return {
    unavailable: null,
    account: null,
    createProject: (t, options) => createTestProject(t, options),
    run: (args, options) => runCli(args, options),
    dispose: () => {},
  };
}

function unavailableCli(reason: string): UnprivilegedCli {
  const refuse = (): never => {
    throw new Error(`no unprivileged run is possible here: ${reason}`);
  };
  return { unavailable: reason, account: null, createProject: refuse, run: refuse, dispose: () => {} };
}

/** The `nobody` account, else the account with uid 65534, else why there is none. */
function findUnprivilegedAccount(): Account | string {
  for (const key of [UNPRIVILEGED_NAME, String(UNPRIVILEGED_UID)]) {
    const account = lookUpAccount(key);
    if (account) return account;
  }
  return `the suite runs as root, which ignores file modes, and there is no "${UNPRIVILEGED_NAME}" account (nor uid ${UNPRIVILEGED_UID}) to run the CLI as`;
}

/** Asks the system's account database (getent), falling back to /etc/passwd where getent is missing. */
function lookUpAccount(nameOrUid: string): Account | null {
  const getent = spawnSync("getent", ["passwd", nameOrUid], { encoding: "utf8" });
  const lines = getent.error ? readPasswdFile() : getent.stdout.split("\n");
  for (const line of lines) {
    const [name, , uid, gid] = line.split(":");
    if (name === undefined || uid === undefined || gid === undefined || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) continue;
    if (name === nameOrUid || uid === nameOrUid) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return null;
}

function readPasswdFile(): string[] {
  try {
    return readFileSync("/etc/passwd", "utf8").split("\n");
  } catch {
    return [];
  }
}

/**
 * Runs an empty node script as the account. A container may deny root the switch (no CAP_SETUID, an
 * unmapped uid), which makes the unprivileged case untestable here; node itself may be installed
 * where the account cannot read it (under /root), which staging a copy of it fixes.
 */
function probeSwitch(account: Account): { unavailable: string | null; nodeReadable: boolean } {
  const probe = spawnSync(process.execPath, ["-e", ""], { uid: account.uid, gid: account.gid, stdio: "ignore", cwd: "/", env: { PATH: process.env.PATH } });
  const code = (probe.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EACCES" || code === "ENOENT") return { unavailable: null, nodeReadable: false };
  if (probe.error) {
    return { unavailable: `the suite runs as root, which ignores file modes, and may not run a process as ${account.name} (uid ${account.uid}): ${code ?? probe.error.message}`, nodeReadable: true };
  }
  return { unavailable: null, nodeReadable: true };
}

/** Whether a user with no ownership or group rights can pass through `dir` and every folder above it. */
function everyoneCanEnter(dir: string): boolean {
  let current: string;
  try {
    current = realpathSync(dir);
  } catch {
    return false;
  }
  for (;;) {
    if ((lstatSync(current).mode & 0o001) === 0) return false;
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/** Root's side: the staged bin, run as `account`. */
function stagedCli(checkout: string, account: Account, nodeReadable: boolean, extraPackages: readonly string[]): UnprivilegedCli {
  const parent = STAGING_PARENTS.find((candidate) => existsSync(candidate) && everyoneCanEnter(candidate));
  if (!parent) {
    throw new Error(`None of ${STAGING_PARENTS.join(", ")} can be entered by every user, so ${account.name} cannot reach a staged bin; point TMPDIR at a folder that can be.`);
  }
  const root = mkdtempSync(path.join(parent, "stepwise-unprivileged-"));
  let disposed = false;
  const dispose = () => {
    if (disposed || process.env.STEPWISE_KEEP_TMP) return;
    disposed = true;
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const staged = stage(checkout, root, account, nodeReadable, extraPackages);
    return {
      unavailable: null,
      account,
      createProject(t, options = {}) {
        return shareProject(createTestProject(t, { ...options, parentDir: staged.projectsDir, stepwiseRoot: root }), account);
      },
      run(args, options) {
        const child = spawn(staged.node, ["--import", staged.tsxLoader, staged.bin, ...args], {
          cwd: options.cwd,
          // NODE_OPTIONS could name modules by paths inside the checkout, which the child cannot read.
          env: { ...process.env, NODE_OPTIONS: undefined, NO_COLOR: "1", FORCE_COLOR: undefined, HOME: staged.home, TMPDIR: staged.tmp, ...options.env },
          stdio: ["ignore", "pipe", "pipe"],
          uid: account.uid,
          gid: account.gid,
        });
        return collectOutput(child, options.timeoutMs);
      },
      dispose,
    };
  } catch (error) {
    dispose();
    throw error;
  }
}

/** The staged bin and what runs it. */
interface Staged {
  readonly node: string;
  readonly tsxLoader: string;
  readonly bin: string;
  readonly projectsDir: string;
  readonly home: string;
  readonly tmp: string;
}

function stage(checkout: string, root: string, account: Account, nodeReadable: boolean, extraPackages: readonly string[]): Staged {
  for (const entry of STAGED_SOURCES) cpSync(path.join(checkout, entry), path.join(root, entry), { recursive: true });
  const stagedModules = path.join(root, "node_modules");
  for (const name of [...unprivilegedCliPackages(checkout), ...extraPackages]) {
    copyInstalledPackage(name, path.join(checkout, "node_modules"), stagedModules, { dependencies: true, optionalDependencies: true });
  }
  let node = process.execPath;
  if (!nodeReadable) {
    node = path.join(root, "bin", path.basename(process.execPath));
    cpSync(process.execPath, node);
  }
  const projectsDir = path.join(root, "projects");
  mkdirSync(projectsDir);
  grantReadToEveryone(root);

  // Home and temp folders of the child's own: tsx keeps its cache in the temp folder.
  const home = path.join(root, "home");
  const tmp = path.join(root, "tmp");
  for (const dir of [home, tmp]) {
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, account.uid, account.gid);
  }

  // The loader's place inside the tsx package, the same in every copy of that package.
  const tsxLoaderInPackage = path.relative(path.join(repoRoot, "node_modules", "tsx"), fileURLToPath(import.meta.resolve("tsx")));
  return {
    node,
    tsxLoader: pathToFileURL(path.join(stagedModules, "tsx", tsxLoaderInPackage)).href,
    bin: path.join(root, "codegen", "bin.ts"),
    projectsDir,
    home,
    tmp,
  };
}

/**
 * The packages the bin's runtime commands load, as named in the checkout's package.json: stepwise's
 * dependencies, its required peers, the driver the CLI defaults to (better-sqlite3, an optional peer
 * like every driver) and tsx, which runs the TypeScript bin and loads the project's registry. The codegen peers (ts-morph, prettier) are staged only when a test asks
 * (`extraPackages`). Their own dependencies come along when they are copied.
 */
/** The driver the CLI opens databases with unless told otherwise. */
const CLI_DEFAULT_DRIVER = "better-sqlite3";

export function unprivilegedCliPackages(checkout = repoRoot): string[] {
  const manifest = JSON.parse(readFileSync(path.join(checkout, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
  const requiredPeers = Object.keys(manifest.peerDependencies ?? {}).filter((name) => !manifest.peerDependenciesMeta?.[name]?.optional);
  return [...new Set([...Object.keys(manifest.dependencies ?? {}), ...requiredPeers, CLI_DEFAULT_DRIVER, "tsx"])];
}

/**
 * Adds read permission for everyone (and search or execute where the owner has it) below `dir`,
 * without taking any permission away: a restrictive umask or a checkout under a private folder may
 * have left the copies readable by root alone.
 */
function grantReadToEveryone(dir: string): void {
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    chmodSync(dir, stat.mode | 0o555);
    for (const entry of readdirSync(dir)) grantReadToEveryone(path.join(dir, entry));
    return;
  }
  chmodSync(dir, stat.mode | 0o444 | (stat.mode & 0o100 ? 0o111 : 0));
}

/**
 * Gives the project's folder to the child's account, as a user owns their app's folder (so its mode
 * alone decides whether the child may create files there), and keeps the project readable by the
 * child after each step that writes files into it.
 */
function shareProject(project: TestProject, account: Account): TestProject {
  chownSync(project.root, account.uid, account.gid);
  grantReadToEveryone(project.root);
  return {
    ...project,
    writeMigration(fileName, text) {
      const file = project.writeMigration(fileName, text);
      grantReadToEveryone(project.root);
      return file;
    },
    async generate(options) {
      const result = await project.generate(options);
      grantReadToEveryone(project.root);
      return result;
    },
    async load<R extends MigrationRegistry = MigrationRegistry>() {
      const migrations = await project.load<R>();
      grantReadToEveryone(project.root);
      return migrations;
    },
  };
}
