/**
 * Resolves an import specifier to the file tsx would load, so a migration's checksum covers the file
 * that really runs. The orders below were measured against tsx 4 (see
 * `test/hostile-checksum-extra.test.ts`), not taken from TypeScript's own resolver, which differs:
 * an extensionless `./seed` never reaches `seed.mts`, and `seed.json` beats `seed/index.ts`.
 *
 * Besides relative paths it follows what resolves into the project without a package: tsconfig
 * `paths` (and `baseUrl`), package.json `imports` (`#x`) and the package's own name through its
 * `exports`. A bare specifier that none of them claims is a package, which the lockfile versions.
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ts } from "ts-morph";
import { hashDependency } from "./gen-cache.js";
import { packageSubpathOf } from "../src/shared/package-name.js";

/** How the importing code loads a module: `import` resolution (ESM) or `require` (CommonJS). */
export type ImportMode = "import" | "require";

/** The answer for one specifier. */
export type Resolution = { readonly kind: "file"; readonly file: string } | { readonly kind: "package" } | { readonly kind: "not-found"; readonly candidates: readonly string[] };

/** Records every path looked at: its bytes' SHA-256 is filled in by the caller, `null` means absent. */
export type ProbeLog = Map<string, string | null>;

/** A `.js`-style specifier names the file it compiles to; tsx tries the sources first. */
const SOURCE_FOR_OUTPUT: Readonly<Record<string, readonly string[]>> = {
  // `.d.ts` last: tsx never loads it, but an import TypeScript elides (types only) may name one.
  ".js": [".ts", ".tsx", ".js", ".jsx", ".d.ts"],
  ".jsx": [".tsx", ".ts", ".jsx", ".js"],
  ".mjs": [".mts", ".mjs"],
  ".cjs": [".cts", ".cjs"],
};
/** Extensions loaded as written. */
const LOADABLE_EXTENSIONS = new Set([".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".jsx", ".json"]);
/** tsx never tries `.mts`, `.cts`, `.mjs` or `.cjs` for an extensionless specifier. */
const EXTENSIONLESS_TRIES = [".ts", ".tsx", ".jsx", ".js", ".json"];
/** A folder's index: ESM through tsx tries TypeScript first, CommonJS keeps Node's `.js`, `.json` first. */
const INDEX_TRIES: Readonly<Record<ImportMode, readonly string[]>> = {
  import: ["index.ts", "index.tsx", "index.jsx", "index.js", "index.json"],
  require: ["index.js", "index.json", "index.ts", "index.tsx", "index.jsx"],
};

/** The files a path-like specifier could mean, in the order tsx tries them. */
function candidatesFor(fromDir: string, specifier: string, mode: ImportMode): string[] {
  let base: string;
  try {
    base = specifier.startsWith("file:") ? fileURLToPath(specifier) : path.resolve(fromDir, specifier);
  } catch {
    // A malformed file: URL names no file; the caller reports it as not found.
    return [];
  }
  return candidatesForPath(base, mode);
}

function candidatesForPath(base: string, mode: ImportMode): string[] {
  const extension = path.extname(base);
  const outputs = SOURCE_FOR_OUTPUT[extension];
  if (outputs) return outputs.map((source) => base.slice(0, -extension.length) + source);
  if (LOADABLE_EXTENSIONS.has(extension)) return [base];
  // Declarations come last: tsx never loads one, so any file it would load wins; a declaration
  // found only means an import TypeScript elides (types only), which runs nothing.
  return [
    ...(extension ? [base] : []),
    ...EXTENSIONLESS_TRIES.map((tried) => base + tried),
    ...INDEX_TRIES[mode].map((index) => path.join(base, index)),
    `${base}.d.ts`,
    path.join(base, "index.d.ts"),
  ];
}

/** A specifier that names a path rather than a package. */
export function isPathSpecifier(specifier: string): boolean {
  return specifier === "." || specifier === ".." || specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/") || specifier.startsWith("file:");
}

/** Resolves specifiers for one project, reading its tsconfig and package.json files once. */
export class ImportResolver {
  readonly #projectRoot: string;
  readonly #probed: ProbeLog;
  #pathMapping: PathMapping | null | undefined;
  readonly #packageJsons = new Map<string, PackageJson | null>();

  constructor(projectRoot: string, probed: ProbeLog) {
    this.#projectRoot = projectRoot;
    this.#probed = probed;
  }

  /** The file `specifier`, imported from a file in `fromDir`, loads. */
  resolve(fromDir: string, specifier: string, mode: ImportMode): Resolution {
    if (isPathSpecifier(specifier)) return this.#firstFile(candidatesFor(fromDir, specifier, mode));
    // stepwise itself runs the migration rather than being part of it; an app's lockfile versions
    // it, and in stepwise's own repo tsconfig `paths` map it to the source being developed.
    if (packageSubpathOf(specifier) !== null) return { kind: "package" };
    if (specifier.startsWith("#")) return this.#resolvePackageImport(fromDir, specifier, mode);
    const mapped = this.#resolveThroughTsconfig(specifier, mode);
    if (mapped) return mapped;
    return this.#resolveSelfReference(fromDir, specifier, mode) ?? { kind: "package" };
  }

  #firstFile(candidates: readonly string[]): Resolution {
    for (const candidate of candidates) {
      let isFile = false;
      try {
        isFile = statSync(candidate).isFile();
      } catch {
        // Absent: try the next one.
      }
      if (isFile) return { kind: "file", file: candidate };
      this.#probed.set(candidate, null);
    }
    return { kind: "not-found", candidates };
  }

  /** `#x` is looked up in the `imports` of the nearest package.json, as Node does. */
  #resolvePackageImport(fromDir: string, specifier: string, mode: ImportMode): Resolution {
    const scope = this.#nearestPackageJson(fromDir);
    const target = scope ? matchMap(scope.manifest.imports, specifier, mode) : undefined;
    if (!scope || typeof target !== "string") return { kind: "not-found", candidates: [] };
    if (!target.startsWith("./")) return target.startsWith("/") || target.startsWith("../") ? { kind: "not-found", candidates: [] } : { kind: "package" };
    return this.#firstFile(candidatesForPath(path.resolve(scope.dir, target), mode));
  }

  /** The package's own name resolves through its `exports`, and only when it has them. */
  #resolveSelfReference(fromDir: string, specifier: string, mode: ImportMode): Resolution | null {
    const scope = this.#nearestPackageJson(fromDir);
    const name = scope?.manifest.name;
    if (!scope || typeof name !== "string" || scope.manifest.exports === undefined) return null;
    if (specifier !== name && !specifier.startsWith(`${name}/`)) return null;
    const subpath = `.${specifier.slice(name.length)}`;
    const exports = scope.manifest.exports;
    const map = typeof exports === "object" && exports !== null && !Array.isArray(exports) && Object.keys(exports).some((key) => key.startsWith(".")) ? exports : { ".": exports };
    const target = matchMap(map, subpath, mode);
    if (typeof target !== "string" || !target.startsWith("./")) return { kind: "not-found", candidates: [] };
    return this.#firstFile(candidatesForPath(path.resolve(scope.dir, target), mode));
  }

  /** tsconfig `paths` first (longest matching prefix, each substitution in order), then bare `baseUrl`. */
  #resolveThroughTsconfig(specifier: string, mode: ImportMode): Resolution | null {
    const mapping = this.#readPathMapping();
    if (!mapping) return null;
    const substitutions = mapping.paths ? matchPaths(mapping.paths, specifier) : [];
    if (mapping.baseUrl && !mapping.paths) substitutions.push(specifier);
    for (const substitution of substitutions) {
      const resolved = this.#firstFile(candidatesForPath(path.resolve(mapping.basePath, substitution), mode));
      if (resolved.kind === "file") return resolved;
    }
    // tsx falls back to node_modules when no mapped file exists.
    return null;
  }

  #readPathMapping(): PathMapping | null {
    if (this.#pathMapping !== undefined) return this.#pathMapping;
    this.#pathMapping = null;
    const tsconfigPath = path.join(this.#projectRoot, "tsconfig.json");
    try {
      statSync(tsconfigPath);
    } catch {
      return null;
    }
    const read = ts.readConfigFile(tsconfigPath, (file) => readFileSync(file, "utf8"));
    if (read.error) return null;
    const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, this.#projectRoot, undefined, tsconfigPath);
    if (!options.paths && !options.baseUrl) return null;
    const basePath = options.baseUrl ?? (options as { pathsBasePath?: string }).pathsBasePath ?? this.#projectRoot;
    this.#pathMapping = { paths: options.paths, baseUrl: options.baseUrl, basePath };
    return this.#pathMapping;
  }

  #nearestPackageJson(fromDir: string): { dir: string; manifest: PackageJson } | null {
    let dir = fromDir;
    for (;;) {
      let manifest = this.#packageJsons.get(dir);
      if (manifest === undefined) {
        manifest = readPackageJson(path.join(dir, "package.json"), this.#probed);
        this.#packageJsons.set(dir, manifest);
      }
      if (manifest) return { dir, manifest };
      const parent = path.dirname(dir);
      if (parent === dir) return null;
      dir = parent;
    }
  }
}

/** Whether the nearest package.json makes `.ts`/`.js` files ES modules. */
export function moduleFormatOf(file: string, probed: ProbeLog | null = null): ImportMode {
  if (/\.m[tj]sx?$/.test(file)) return "import";
  if (/\.c[tj]sx?$/.test(file)) return "require";
  let dir = path.dirname(file);
  for (;;) {
    const manifest = readPackageJson(path.join(dir, "package.json"), probed);
    if (manifest) return manifest.type === "module" ? "import" : "require";
    const parent = path.dirname(dir);
    if (parent === dir) return "require";
    dir = parent;
  }
}

interface PathMapping {
  readonly paths: ts.MapLike<string[]> | undefined;
  readonly baseUrl: string | undefined;
  readonly basePath: string;
}

interface PackageJson {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly imports?: unknown;
  readonly exports?: unknown;
}

/** Reads a package.json, recording its bytes (or its absence) as an input of the result. */
function readPackageJson(file: string, probed: ProbeLog | null): PackageJson | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    // Absent or unreadable: Node looks further up.
    probed?.set(file, null);
    return null;
  }
  probed?.set(file, hashDependency(file));
  try {
    const parsed = JSON.parse(bytes.toString("utf8")) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as PackageJson) : null;
  } catch {
    return null;
  }
}

/** Node's conditions for each mode; an object's keys are tried in their written order. */
const CONDITIONS: Readonly<Record<ImportMode, ReadonlySet<string>>> = {
  import: new Set(["node", "import", "module-sync", "default"]),
  require: new Set(["node", "require", "module-sync", "default"]),
};

/** Looks `key` up in an `imports` or `exports` map: an exact key, else the pattern with the longest prefix. */
function matchMap(map: unknown, key: string, mode: ImportMode): string | null | undefined {
  if (typeof map !== "object" || map === null || Array.isArray(map)) return undefined;
  const entries = map as Record<string, unknown>;
  if (Object.hasOwn(entries, key) && !key.includes("*")) return resolveTarget(entries[key], null, mode);
  let best: { pattern: string; star: string } | null = null;
  for (const pattern of Object.keys(entries)) {
    const star = pattern.indexOf("*");
    if (star === -1 || pattern.indexOf("*", star + 1) !== -1) continue;
    const prefix = pattern.slice(0, star);
    const suffix = pattern.slice(star + 1);
    if (!key.startsWith(prefix) || !key.endsWith(suffix) || key.length < pattern.length) continue;
    if (!best || prefix.length > best.pattern.indexOf("*")) best = { pattern, star: key.slice(prefix.length, key.length - suffix.length) };
  }
  return best ? resolveTarget(entries[best.pattern], best.star, mode) : undefined;
}

function resolveTarget(target: unknown, star: string | null, mode: ImportMode): string | null | undefined {
  if (typeof target === "string") return star === null ? target : target.replaceAll("*", star);
  if (target === null) return null;
  if (Array.isArray(target)) {
    for (const option of target) {
      const resolved = resolveTarget(option, star, mode);
      if (typeof resolved === "string") return resolved;
    }
    return undefined;
  }
  if (typeof target === "object") {
    for (const [condition, value] of Object.entries(target as Record<string, unknown>)) {
      if (!CONDITIONS[mode].has(condition)) continue;
      const resolved = resolveTarget(value, star, mode);
      if (resolved !== undefined) return resolved;
    }
  }
  return undefined;
}

/** tsconfig `paths`: the pattern with the longest prefix wins; its substitutions are tried in order. */
function matchPaths(paths: ts.MapLike<string[]>, specifier: string): string[] {
  let best: { prefixLength: number; substitutions: string[] } | null = null;
  for (const [pattern, substitutions] of Object.entries(paths)) {
    const star = pattern.indexOf("*");
    let captured: string | null = null;
    if (star === -1) {
      if (pattern === specifier) captured = "";
    } else {
      const prefix = pattern.slice(0, star);
      const suffix = pattern.slice(star + 1);
      if (specifier.startsWith(prefix) && specifier.endsWith(suffix) && specifier.length >= prefix.length + suffix.length) {
        captured = specifier.slice(prefix.length, specifier.length - suffix.length);
      }
    }
    if (captured === null) continue;
    const prefixLength = star === -1 ? Number.MAX_SAFE_INTEGER : star;
    if (!best || prefixLength > best.prefixLength) best = { prefixLength, substitutions: substitutions.map((s) => s.replace("*", captured!)) };
  }
  return best ? [...best.substitutions] : [];
}
