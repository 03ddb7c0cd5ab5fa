/**
 * A registry that imports nothing at run time (only `.sql` migrations) is loaded as plain JavaScript, transpiled once by tsx's esbuild into the gen cache folder: tsx's hooks would cost every runtime
 * command about half its time. Anything else, and any failure here, goes through tsx.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type * as Esbuild from "esbuild";
import { writeFileAtomic } from "../src/safety/write-file.js";

/** Bumped when the transpile changes, so no older output is reused. */
const FORMAT = "import-free-registry-1";
/** What in transpiled code could load something or depend on where it runs; a match inside SQL only costs the fast path. */
const NOT_IMPORT_FREE = /\bimport\b|\brequire\b|\bclass\b|\bfrom\s*["'`]/;

const digest = (data: string | Buffer) => createHash("sha256").update(data).digest("hex").slice(0, 20);

/** The registry's module when it imports nothing at run time; `null` when it must go through tsx. */
export async function importImportFreeRegistry(registryFile: string, cacheDir: string | null): Promise<unknown> {
  if (cacheDir === null) return null;
  try {
    const source = readFileSync(registryFile);
    const owner = `registry-${digest(`${FORMAT}\0${path.resolve(registryFile)}`)}`;
    // esbuild lowers syntax for the Node that runs it, as tsx does.
    const name = path.join(cacheDir, `${owner}-${digest(Buffer.concat([Buffer.from(`${process.version}\0`), source]))}`);
    // The verdict is kept either way, so a registry that needs tsx costs no transpile next time.
    if (existsSync(`${name}.needs-tsx`)) return null;
    if (!existsSync(`${name}.mjs`)) {
      const code = await transpileImportFree(registryFile, source.toString("utf8"));
      // A write that fails leaves no temporary file to pile up in the cache, and no partial module to import.
      writeFileAtomic(code === null ? `${name}.needs-tsx` : `${name}.mjs`, code ?? "");
      // Older outputs of this registry go once no process can still be about to import them.
      for (const entry of readdirSync(cacheDir)) {
        const older = path.join(cacheDir, entry);
        if (entry.startsWith(`${owner}-`) && !older.startsWith(name) && Date.now() - (statSync(older, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 60_000) rmSync(older, { force: true });
      }
      if (code === null) return null;
    }
    // As tsx does, so a stack printed later names the registry's own lines.
    process.setSourceMapsEnabled(true);
    return await import(pathToFileURL(`${name}.mjs`).href);
  } catch {
    return null;
  }
}

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
    // Every import kept: only when not even that leaves one is nothing left that depends on where the file runs.
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
  });
  return NOT_IMPORT_FREE.test(code.slice(0, code.lastIndexOf("//# sourceMappingURL="))) ? null : code;
}
