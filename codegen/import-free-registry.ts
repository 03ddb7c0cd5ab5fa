/**
 * The bin's cheap way to load a registry that imports nothing at run time: the registry of a project
 * whose migrations are all `.sql` files, which gen inlines, so its only import is `import type`.
 * Through tsx, loading it starts tsx's hooks thread and routes every module through it, about a
 * quarter of a second of CPU on every `status` or `up`, for a file that needs nothing but its types
 * erased. So such a registry is transpiled once with esbuild (what tsx itself transpiles with, found
 * beside tsx), kept in the gen cache folder under a name made of its path and its bytes, and from
 * then on imported as plain JavaScript. The bin's `STEPWISE_REGISTRY_LOADER=tsx` turns this path off.
 *
 * Everything else goes through tsx as before: a registry that imports anything (a TypeScript
 * migration, a helper, a value from a package), that re-exports, that uses `import.meta`, `require`
 * or a class (whose fields tsconfig could compile otherwise), or that esbuild cannot transpile. So
 * does every failure here, a broken registry included, which tsx then reports as it always did. The
 * check is made on esbuild's output with every import kept (`verbatimModuleSyntax`): only when not
 * even that keeps an import is nothing left whose meaning depends on where the file runs.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type * as Esbuild from "esbuild";

/** Part of every name: bump it when the transpile below changes, so no older output is reused. */
const FORMAT = "import-free-registry-1";
/** What a file in the cache folder is named after: `registry-<path digest>-<digest of Node's version and the bytes>`. */
const PREFIX = "registry-";
/** How long an older output of the same registry is kept, for a process that is about to import it. */
const KEEP_OLDER_MS = 60_000;
/**
 * What in the transpiled code could load something, or mean something else in another place or
 * under another tsconfig. A match inside a string (SQL naming a column "class") only costs that
 * registry the fast path.
 */
const NOT_IMPORT_FREE = /\bimport\b|\brequire\b|\bclass\b|\bfrom\s*["'`]/;

function digest(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex").slice(0, 20);
}

/**
 * Imports `registryFile` as plain JavaScript when it imports nothing at run time, from `cacheDir`
 * (transpiling it there first when its bytes are new); `null` when it must go through tsx instead,
 * or when anything here failed (no cache folder, an unwritable one, esbuild missing, the registry
 * throwing), which tsx then reports as before.
 */
export async function importImportFreeRegistry(registryFile: string, cacheDir: string | null): Promise<unknown> {
  if (cacheDir === null) return null;
  try {
    const source = readFileSync(registryFile);
    const owner = `${PREFIX}${digest(`${FORMAT}\0${path.resolve(registryFile)}`)}`;
    // The Node version too: esbuild lowers syntax for the Node that runs it, as tsx does.
    const name = path.join(cacheDir, `${owner}-${digest(Buffer.concat([Buffer.from(`${process.version}\0`), source]))}`);
    // A verdict is kept either way, so a registry that needs tsx costs no transpile on the next run.
    if (existsSync(`${name}.needs-tsx`)) return null;
    if (!existsSync(`${name}.mjs`)) {
      const code = await transpileImportFree(registryFile, source.toString("utf8"));
      mkdirSync(cacheDir, { recursive: true });
      writeAtomically(code === null ? `${name}.needs-tsx` : `${name}.mjs`, code ?? "");
      forgetOlder(cacheDir, owner, name);
      if (code === null) return null;
    }
    // tsx turns source maps on for the whole process; so does this path, so a stack printed later
    // (--verbose) names the same lines as it did through tsx.
    process.setSourceMapsEnabled(true);
    return await import(pathToFileURL(`${name}.mjs`).href);
  } catch {
    return null;
  }
}

/** The registry as JavaScript when it imports nothing (see the file's comment), else `null`. */
async function transpileImportFree(registryFile: string, source: string): Promise<string | null> {
  // A relative import names a migration or a helper: tsx's, without starting esbuild.
  if (/\bfrom\s*["'`]\.{0,2}\//.test(source)) return null;
  const esbuild = createRequire(import.meta.resolve("tsx/package.json"))("esbuild") as typeof Esbuild;
  const { code } = await esbuild.transform(source, {
    loader: "ts",
    format: "esm",
    target: `node${process.versions.node}`,
    sourcemap: "inline",
    sourcefile: pathToFileURL(registryFile).href,
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
  });
  return NOT_IMPORT_FREE.test(code.slice(0, code.lastIndexOf("//# sourceMappingURL="))) ? null : code;
}

/** Written whole under a private name and renamed into place: a reader never sees half a file. */
function writeAtomically(file: string, text: string): void {
  const scratch = `${file}.${process.pid}.tmp`;
  writeFileSync(scratch, text);
  renameSync(scratch, file);
}

/** Removes the same registry's outputs for other bytes, once old enough that no process is still about to import them. */
function forgetOlder(cacheDir: string, owner: string, keep: string): void {
  for (const entry of readdirSync(cacheDir)) {
    const file = path.join(cacheDir, entry);
    if (!entry.startsWith(`${owner}-`) || file.startsWith(keep)) continue;
    try {
      if (Date.now() - statSync(file).mtimeMs > KEEP_OLDER_MS) rmSync(file, { force: true });
    } catch {
      // Another process removed it first.
    }
  }
}
