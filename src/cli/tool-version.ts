/**
 * stepwise's own version, for `stepwise --version`: read from the package.json of the installed
 * package, found by walking up from the running file, so it is right from the source tree (tsx runs
 * `codegen/bin.ts`) and from the packed `dist/codegen/bin.js` alike, and never drifts from a copy.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PACKAGE_NAME } from "../shared/package-name.js";

/**
 * The version in the nearest `package.json` named `stepwise-migrate` (`PACKAGE_NAME`) above `moduleUrl` (the caller's
 * `import.meta.url`), or `null` when there is none (a bundle that left it behind).
 */
export function readToolVersion(moduleUrl: string): string | null {
  let folder = path.dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const manifest = readManifest(path.join(folder, "package.json"));
    if (manifest?.name === PACKAGE_NAME && typeof manifest.version === "string") return manifest.version;
    const parent = path.dirname(folder);
    if (parent === folder) return null;
    folder = parent;
  }
}

function readManifest(file: string): { name?: unknown; version?: unknown } | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    return parsed !== null && typeof parsed === "object" ? (parsed as { name?: unknown; version?: unknown }) : null;
  } catch {
    // Missing or unreadable: keep walking up, as Node's own resolution would.
    return null;
  }
}
