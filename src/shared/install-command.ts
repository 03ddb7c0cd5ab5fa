/** The command that installs a package with the package manager the user runs stepwise through. */

/**
 * The command that installs `packages` (`dev`: as devDependencies), or rebuilds them (`rebuild`), with the package manager `userAgent` names: the `npm_config_user_agent` npm, pnpm,
 * Yarn and Bun set for the scripts and binaries they run (`pnpm/9.12.0 npm/? node/v20.18.0 linux x64`). npm when it names none of them (stepwise run directly from `node_modules/.bin`),
 * and for a rebuild where the manager has no command for one package (Yarn 1, Bun), as npm rebuilds what they installed.
 */
export function installCommand(packages: string, options: { readonly dev?: boolean; readonly rebuild?: boolean; readonly userAgent?: string | undefined } = {}): string {
  const agent = /^(pnpm|yarn|bun)\/(\d+)/.exec(options.userAgent ?? "");
  const manager = agent?.[1] ?? "npm";
  if (options.rebuild === true) return manager === "pnpm" || (manager === "yarn" && Number(agent![2]) >= 2) ? `${manager} rebuild ${packages}` : `npm rebuild ${packages}`;
  if (manager === "npm") return `npm install ${options.dev === true ? "--save-dev " : ""}${packages}`;
  return `${manager} add ${options.dev === true ? (manager === "pnpm" ? "--save-dev " : "--dev ") : ""}${packages}`;
}
