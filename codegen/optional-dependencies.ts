/**
 * ts-morph, prettier and tsx are an app's devDependencies, not stepwise's peers (npm would then keep them in a production install). So the bin checks for them, and their major version, before loading
 * what needs them, and names the install command.
 */
import { parseJson } from "../src/shared/source-text.js";
import { installCommand } from "../src/shared/install-command.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { StepwiseError, type OptionalPeer } from "../src/core/errors.js";
import { tryOr } from "./problems.js";

/** The codegen tools, the one major version stepwise supports, and the specifier the bin imports. */
export const OPTIONAL_PEERS = {
  "ts-morph": { major: 28, specifier: "ts-morph" },
  prettier: { major: 3, specifier: "prettier" },
  tsx: { major: 4, specifier: "tsx/esm/api" },
} as const satisfies Record<OptionalPeer, { major: number; specifier: string }>;

export type { OptionalPeer };

/** What `gen` and `create` load: the TypeScript parser and the formatter. */
export const CODEGEN_PEERS: readonly OptionalPeer[] = ["ts-morph", "prettier"];
/** What the bin's runtime commands load to import the project's TypeScript registry. */
export const REGISTRY_LOADER_PEERS: readonly OptionalPeer[] = ["tsx"];

const installCommandFor = (packages: readonly OptionalPeer[]) =>
  installCommand(packages.map((name) => `${name}@${OPTIONAL_PEERS[name].major}`).join(" "), { dev: true, userAgent: process.env.npm_config_user_agent });

/** A command needs optional peer dependencies that the project has not installed. */
export function missingDependencyError(task: string, packages: readonly OptionalPeer[], alternative?: string): StepwiseError<"MISSING_DEPENDENCY"> {
  const installCommand = installCommandFor(packages);
  return new StepwiseError(
    "MISSING_DEPENDENCY",
    `${task} needs ${packages.join(" and ")}, development tools that stepwise leaves to the project so that apps that only run migrations never install them. Install ${packages.length === 1 ? "it" : "them"} in this project with:\n  ${installCommand}\n(or the same packages with your package manager's add command).${alternative ? `\n${alternative}` : ""}`,
    { packages, installCommand },
  );
}

/** The package.json of `name` as the bin would load it (prettier does not export its own); `null` when not installed. */
export function findInstalledPeer(name: OptionalPeer): { file: string; version: string } | null {
  const entry = tryOr(() => fileURLToPath(import.meta.resolve(OPTIONAL_PEERS[name].specifier)), null);
  if (entry === null) return null;
  const found = findPackageManifest(path.dirname(entry), name);
  return found ? { file: found.file, version: typeof found.version === "string" ? found.version : "(no version)" } : { file: entry, version: "(no package.json)" };
}

/** The nearest package.json at or above `dir` named `name` (nested ones, such as {"type": "module"} in a dist folder, name no package; an unreadable one is not the package's own). */
export function findPackageManifest(dir: string, name: string): { file: string; version: unknown } | null {
  for (; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    const manifest = tryOr(() => parseJson(readFileSync(file, "utf8")) as { name?: unknown; version?: unknown } | null, null);
    if (manifest?.name === name) return { file, version: manifest.version };
    if (path.dirname(dir) === dir) return null;
  }
}

/** Which of `packages` cannot be resolved from stepwise's own location, where the bin imports them from. */
export function findMissingPeers(packages: readonly OptionalPeer[]): OptionalPeer[] {
  return packages.filter((name) => tryOr(() => !import.meta.resolve(OPTIONAL_PEERS[name].specifier), true));
}

/**
 * Throws `MISSING_DEPENDENCY` naming every package of `packages` that is not installed, or `DEPENDENCY_VERSION_UNSUPPORTED` for the first one of a major version stepwise does not support.
 *
 * @param task - what needs them, as the message's subject, such as `"stepwise gen"`.
 * @param alternative - another way out than installing them, a sentence the message ends with.
 */
export function assertPeersInstalled(task: string, packages: readonly OptionalPeer[], alternative?: string): void {
  const missing = findMissingPeers(packages);
  if (missing.length > 0) throw missingDependencyError(task, missing, alternative);
  for (const name of packages) {
    const installed = findInstalledPeer(name);
    const supportedMajor = OPTIONAL_PEERS[name].major;
    if (installed === null || Number.parseInt(installed.version, 10) === supportedMajor) continue;
    const installCommand = installCommandFor([name]);
    throw new StepwiseError(
      "DEPENDENCY_VERSION_UNSUPPORTED",
      `${task} needs ${name} ${supportedMajor}.x, but this project has ${name} ${installed.version} (${installed.file}). Install a supported version with:\n  ${installCommand}\nNothing was changed.`,
      { package: name, installedVersion: installed.version, supportedMajor, packageFile: installed.file, installCommand },
    );
  }
}
