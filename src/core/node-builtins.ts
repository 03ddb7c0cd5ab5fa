/**
 * `node:fs`, `node:os`, `node:path` and `node:crypto`, looked up when first called rather than imported.
 *
 * No module an app can reach imports a built-in: a browser bundle of a driver entry (`stepwise-migrate/sql-js`
 * in a page) has none to resolve, and esbuild's `platform: "browser"` refuses any `node:` import even
 * when tree-shaking would drop it; only the file features that need one (backups, lock sidecars) call
 * these, and a driver without files never reaches them.
 *
 * An ES module that imports a built-in makes the runtime build that module's ESM facade, which reads
 * every export: for `node:fs` that runs the lazy `ReadStream` getter and loads the whole streams
 * stack. Under Node 24 the two facades cost a no-op start about 10 ms of its ~40 ms floor, for files
 * that such a start never touches (lock sidecars, `/proc`, snapshot copies). `process.getBuiltinModule`
 * (Node 20.16+, 22.3+, Bun) returns the plain module without a facade.
 */
import type * as Fs from "node:fs";
import type * as Os from "node:os";
import type * as Path from "node:path";
import type * as Crypto from "node:crypto";
import { usageError } from "./error-factories.js";

function builtin<T>(id: "node:fs" | "node:os" | "node:path" | "node:crypto"): T {
  const lookUp = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof lookUp !== "function") {
    throw usageError(`stepwise needs process.getBuiltinModule to load ${id}: upgrade to Node 20.16 or newer (or Node 22.3+, or Bun).`);
  }
  return lookUp(id) as T;
}

let fs: typeof Fs | undefined;
let os: typeof Os | undefined;
let path: typeof Path | undefined;
let crypto: typeof Crypto | undefined;

/** `node:fs`, loaded on first use. */
export function nodeFs(): typeof Fs {
  fs ??= builtin<typeof Fs>("node:fs");
  return fs;
}

/** `node:os`, loaded on first use. */
export function nodeOs(): typeof Os {
  os ??= builtin<typeof Os>("node:os");
  return os;
}

/** `node:path`, loaded on first use. */
export function nodePath(): typeof Path {
  path ??= builtin<typeof Path>("node:path");
  return path;
}

/** `node:crypto`, loaded on first use. */
export function nodeCrypto(): typeof Crypto {
  crypto ??= builtin<typeof Crypto>("node:crypto");
  return crypto;
}
