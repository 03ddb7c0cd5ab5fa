/** The errors only codegen and the bin throw: a registry that will not load, a file that could not be written. The same `StepwiseError`, its codes and details defined in the core. */
import { installCommand } from "../src/shared/install-command.js";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describeThrownValue } from "../src/core/error-factories.js";
import { StepwiseError, type StepwiseErrorDetails } from "../src/core/errors.js";
import { tryOr } from "../src/shared/try-or.js";

/** `REGISTRY_LOAD_FAILED`: the registry module could not be imported; `conflicted` when a merge left its conflict markers in it. */
export function registryLoadError({ file, location, cause, conflicted = false }: StepwiseErrorDetails["REGISTRY_LOAD_FAILED"] & { cause: unknown; conflicted?: boolean }) {
  // gen cannot rewrite it while the merged folder holds two migrations of one version, and rolling one of them back needs a registry that loads: one side's.
  const mergeAdvice = `A merge left conflict markers in it. To run it as one branch wrote it (to roll back, with STEPWISE_SKIP_REGISTRY_CHECK=1, what that branch applied before "stepwise rebase"), take that branch's registry: git checkout <branch> -- ${file}; else finish merging the migrations folder and run "stepwise gen".`;
  const advice = conflicted
    ? mergeAdvice
    : (commonJsAdvice(cause, location) ??
      missingPackageAdvice(cause, location) ??
      `If a migration throws when it is imported, fix it there; if the registry itself is broken, run "stepwise gen" to rewrite it.`);
  const message = `Could not load ${file}${location ? ` (at ${location})` : ""}: ${describeThrownValue(cause)}\n${advice}`;
  return new StepwiseError("REGISTRY_LOAD_FAILED", message, { file, location }, { cause });
}

/**
 * The fix when a file failed for a CommonJS name Node does not define in an ES module: a CommonJS `.js` file (an imported tool's migration, which `import` left as it was)
 * needs a `package.json` of its own folder saying so; a TypeScript migration, the ES module ways to the same. `null` for any other failure.
 */
export function commonJsAdvice(cause: unknown, location: string | null): string | null {
  const used = /\b(exports|require|module|__dirname|__filename) is not defined in ES module scope/.exec(describeThrownValue(cause))?.[1];
  if (used === undefined) return null;
  const file = location?.replace(/:\d+:\d+$/, "") ?? null;
  // A TypeScript migration is an ES module wherever it sits: it reaches for CommonJS's names by mistake.
  if (file === null || /\.[mc]?ts$|\.mjs$/.test(file)) {
    return `${file ?? "A file it loads"} is an ES module, where ${used} is not defined: use import.meta.dirname or fileURLToPath(import.meta.url) for __dirname and __filename, createRequire(import.meta.url) for require, and export for exports.`;
  }
  return `The file is CommonJS (it uses ${used}) in a package whose package.json says "type": "module": write a package.json reading {"type": "commonjs"} in ${path.dirname(file) || "."}.`;
}

/** The library each driver entry loads when it is imported (the others load theirs only when a database is opened, or are built in). */
const ENTRY_LIBRARIES: Readonly<Record<string, string>> = { "better-sqlite3": "better-sqlite3", pg: "pg" };

/**
 * The package a failed import could not find, the file that imported it (absolute), and, when that file is a stepwise driver entry's module loading its library, the entry (`better-sqlite3` for
 * `stepwise-migrate/better-sqlite3`). `null` for any other failure.
 */
function missingPackage(cause: unknown): { name: string; importer: string; entry: string | null } | null {
  // Node: "Cannot find package 'x' imported from /a/b.ts"; Bun: "Cannot find package 'x' from '/a/b.ts'"; a CommonJS registry's require: "Cannot find module 'x'\nRequire stack:\n- /a/b.ts"
  // (tsx adds a query to the path), where only a bare name is a package.
  const text = describeThrownValue(cause);
  const found = /Cannot find package '([^']+)' (?:imported )?from '?([^'\n]+?)'?(?:\n|$)/.exec(text) ?? /Cannot find module '([^'./][^']*)'\s*\nRequire stack:\n- ([^\n?]+)/.exec(text);
  if (!found) return null;
  const [, specifier, from] = found as unknown as [string, string, string];
  // require names the module as imported (`lodash/fp`, `@scope/pkg/sub`); what installs it is the package's name.
  const name = /^(?:@[^/]+\/)?[^/]+/.exec(specifier)![0];
  const importer = from.startsWith("file:") ? fileURLToPath(from) : from;
  const entry = /[\\/]src[\\/]drivers[\\/]([\w-]+)\.[jt]s$/.exec(importer)?.[1];
  return { name, importer, entry: entry !== undefined && ENTRY_LIBRARIES[entry] === name ? entry : null };
}

/**
 * Where a registry that failed for a package that is not installed should be fixed, as `file:line:col` from `projectRoot`: the project file that imports the package, or, when a stepwise driver entry
 * loads it (a migration importing `defineMigration` from `stepwise-migrate/better-sqlite3` in an app that installed another library), the migration in `migrationsDir` that imports that entry. `null`
 * for any other failure.
 */
export function locateMissingPackage(cause: unknown, projectRoot: string, migrationsDir: string): string | null {
  const missing = missingPackage(cause);
  if (missing === null) return null;
  // A file outside the project that no package holds is the project's too: a migrations folder kept beside it.
  const own = !path.relative(projectRoot, missing.importer).split(path.sep).includes("node_modules");
  if (!own && missing.entry === null) return null;
  const [files, specifier] = own ? [[missing.importer], missing.name] : [tsFilesOf(migrationsDir), `stepwise-migrate/${missing.entry}`];
  const quoted = new RegExp(`["']${specifier.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:/[^"']*)?["']`);
  for (const file of files) {
    const lines = tryOr(() => readFileSync(file, "utf8"), "").split("\n");
    const line = lines.findIndex((text) => quoted.test(text));
    if (line !== -1) return `${path.relative(projectRoot, file)}:${line + 1}:${lines[line]!.search(quoted) + 1}`;
  }
  return null;
}

/** The TypeScript files of a migrations folder, where a driver entry's import sits. */
function tsFilesOf(folder: string): string[] {
  const names = tryOr(() => readdirSync(folder), [] as string[]);
  return names
    .filter((name) => /\.[mc]?ts$/.test(name) && !name.endsWith(".d.ts"))
    .sort()
    .map((name) => path.join(folder, name));
}

/** The fix when an import failed for a package that is not installed, `location` being where {@link locateMissingPackage} found its import. `null` for any other failure. */
export function missingPackageAdvice(cause: unknown, location: string | null): string | null {
  const missing = missingPackage(cause);
  if (missing === null) return null;
  const file = location?.replace(/:\d+:\d+$/, "") ?? null;
  const direct = file !== null && missing.importer.endsWith(path.sep + file.replace(/^(\.\.\/)+/, "").replaceAll("/", path.sep));
  // Node looks for a package from the importing file's own folder up, so one outside the project does not see the project's node_modules.
  if (file?.startsWith("../") && direct)
    return `${file} imports the package "${missing.name}", which Node looks for from that file's folder up, outside the project, so the project's node_modules is not seen: move the migrations folder into the project, or install ${missing.name} in a package that holds that folder.`;
  if (missing.entry === null || direct)
    return `${file ?? "A file it loads"} imports the package "${missing.name}", which is not installed: install it (${installCommand(missing.name, { userAgent: process.env.npm_config_user_agent })}), or remove the import.`;
  return (
    `${file ?? "A migration"} imports defineMigration from "stepwise-migrate/${missing.entry}", which loads ${missing.name}, and ${missing.name} is not installed: import it from the entry of the ` +
    `driver the app migrates with (such as "stepwise-migrate/node-sqlite"; "driver" in the config makes "stepwise create" write that one), or install ${missing.name}.`
  );
}
