/**
 * ts-morph, prettier and tsx are the codegen tools: an app that generates keeps them in its
 * devDependencies, and an app that only runs migrations never installs them. They are deliberately
 * NOT declared in stepwise's package.json, not even as optional peers: npm marks an optional peer of a
 * production dependency `devOptional` in the app's lockfile when the app also holds it as a
 * devDependency, and `npm ci --omit=dev` (and every packager that asks npm what is production) then
 * keeps it, 40 MB of build tools in a server image. Node's resolution still finds the app's own copy
 * from stepwise's folder (npm and pnpm link it in the app's node_modules, which stepwise's lookup
 * passes through), so the bin checks for them, and for a major version it supports, here, before
 * loading the code that needs them: a missing or unsupported one is reported with the exact install
 * command instead of a module-not-found stack trace or a failure deep inside ts-morph.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { StepwiseError, type OptionalPeer } from "../src/core/errors.js";

/**
 * The codegen tools, with the one major version stepwise supports (what npm's peer range used to
 * enforce, now checked by {@link assertPeersInstalled}) and the specifier the bin imports.
 */
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

/** A command needs optional peer dependencies that the project has not installed. */
export function missingDependencyError(task: string, packages: readonly OptionalPeer[]): StepwiseError<"MISSING_DEPENDENCY"> {
  const installCommand = installCommandFor(packages);
  const names = packages.join(" and ");
  return new StepwiseError(
    "MISSING_DEPENDENCY",
    `${task} needs ${names}, development tools that stepwise leaves to the project so that apps that only run migrations never install them. Install ${packages.length === 1 ? "it" : "them"} in this project with:\n  ${installCommand}\n(or the same packages with your package manager's add command).`,
    { packages, installCommand },
  );
}

/** A codegen tool is installed, but in a major version stepwise does not support. */
export function dependencyVersionError(task: string, name: OptionalPeer, installedVersion: string, packageFile: string): StepwiseError<"DEPENDENCY_VERSION_UNSUPPORTED"> {
  const installCommand = installCommandFor([name]);
  return new StepwiseError(
    "DEPENDENCY_VERSION_UNSUPPORTED",
    `${task} needs ${name} ${OPTIONAL_PEERS[name].major}.x, but this project has ${name} ${installedVersion} (${packageFile}). Install a supported version with:\n  ${installCommand}\nNothing was changed.`,
    { package: name, installedVersion, supportedMajor: OPTIONAL_PEERS[name].major, packageFile, installCommand },
  );
}

function installCommandFor(packages: readonly OptionalPeer[]): string {
  return `npm install --save-dev ${packages.map((name) => `${name}@${OPTIONAL_PEERS[name].major}`).join(" ")}`;
}

/**
 * The package.json of `name` as the bin would load it, found by walking up from the file its
 * specifier resolves to (prettier does not export its package.json); `null` when it is not installed.
 */
export function findInstalledPeer(name: OptionalPeer): { file: string; version: string } | null {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(OPTIONAL_PEERS[name].specifier));
  } catch {
    return null;
  }
  for (let dir = path.dirname(entry); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (!existsSync(file)) continue;
    try {
      const manifest = JSON.parse(readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
      // Nested package.json files (such as {"type": "module"} in a dist folder) name no package.
      if (manifest.name === name) return { file, version: typeof manifest.version === "string" ? manifest.version : "(no version)" };
    } catch {
      // Unreadable: keep walking; the package's own manifest is further up.
    }
  }
  return { file: entry, version: "(no package.json)" };
}

/**
 * Which of `packages` cannot be imported from stepwise's own location, which is where the bin imports
 * them from (a project's node_modules, or the peers a package manager linked next to stepwise).
 */
export function findMissingPeers(packages: readonly OptionalPeer[]): OptionalPeer[] {
  return packages.filter((name) => {
    try {
      import.meta.resolve(OPTIONAL_PEERS[name].specifier);
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * Throws `MISSING_DEPENDENCY` naming every package in `packages` that is not installed, or
 * `DEPENDENCY_VERSION_UNSUPPORTED` for the first one installed in a major version stepwise does not support.
 *
 * @param task - what needs them, as the message's subject, such as `"stepwise gen"`.
 */
export function assertPeersInstalled(task: string, packages: readonly OptionalPeer[]): void {
  const missing = findMissingPeers(packages);
  if (missing.length > 0) throw missingDependencyError(task, missing);
  // npm no longer checks their ranges (they are not declared), so a ts-morph 27 left in an old
  // project would otherwise fail somewhere inside ts-morph with a message about its own API.
  for (const name of packages) {
    const installed = findInstalledPeer(name);
    if (installed !== null && Number.parseInt(installed.version, 10) !== OPTIONAL_PEERS[name].major) {
      throw dependencyVersionError(task, name, installed.version, installed.file);
    }
  }
}
