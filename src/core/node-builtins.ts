/**
 * `node:fs`, `node:os`, `node:path` and `node:crypto`, looked up when first called rather than
 * imported: a browser bundle of a driver entry has no built-in to resolve (esbuild refuses any
 * `node:` import there), and only the file features (backups, lock sidecars) need them.
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
