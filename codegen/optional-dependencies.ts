/**
 * ts-morph, prettier and tsx are optional peer dependencies of stepwise: an app that only runs
 * migrations never installs them, and one that generates keeps them in devDependencies, so a
 * production install (`npm ci --omit=dev`) drops them. The bin checks for them before loading the code
 * that needs them, so a missing one is reported with the exact install command instead of a
 * module-not-found stack trace.
 */
import { StepwiseError } from "../src/core/errors.js";

/**
 * The optional peers, with the major version the package.json peer range allows (`^<major>.0.0`) and
 * the specifier the bin imports.
 */
export const OPTIONAL_PEERS = {
  "ts-morph": { major: 28, specifier: "ts-morph" },
  prettier: { major: 3, specifier: "prettier" },
  tsx: { major: 4, specifier: "tsx/esm/api" },
} as const;

/** The name of an optional peer dependency. */
export type OptionalPeer = keyof typeof OPTIONAL_PEERS;

/** What `gen` and `create` load: the TypeScript parser and the formatter. */
export const CODEGEN_PEERS: readonly OptionalPeer[] = ["ts-morph", "prettier"];
/** What the bin's runtime commands load to import the project's TypeScript registry. */
export const REGISTRY_LOADER_PEERS: readonly OptionalPeer[] = ["tsx"];

/** A command needs optional peer dependencies that the project has not installed. */
export class MissingDependencyError extends StepwiseError {
  /** The packages to install. */
  readonly packages: readonly OptionalPeer[];
  /** The npm command that installs them, with versions stepwise supports. */
  readonly installCommand: string;

  constructor(task: string, packages: readonly OptionalPeer[]) {
    const installCommand = `npm install --save-dev ${packages.map((name) => `${name}@${OPTIONAL_PEERS[name].major}`).join(" ")}`;
    const names = packages.join(" and ");
    super(
      "MISSING_DEPENDENCY",
      `${task} needs ${names}, which stepwise declares as optional peer dependencies so that apps that only run migrations do not install them. Install ${packages.length === 1 ? "it" : "them"} in this project with:\n  ${installCommand}\n(or the same packages with your package manager's add command).`,
    );
    this.packages = packages;
    this.installCommand = installCommand;
  }
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
 * Throws {@link MissingDependencyError} naming every package in `packages` that is not installed.
 *
 * @param task - what needs them, as the message's subject, such as `"stepwise gen"`.
 */
export function assertPeersInstalled(task: string, packages: readonly OptionalPeer[]): void {
  const missing = findMissingPeers(packages);
  if (missing.length > 0) throw new MissingDependencyError(task, missing);
}
