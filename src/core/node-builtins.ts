/**
 * `node:fs`, `node:os`, `node:path` and `node:crypto`, looked up when first called rather than imported: a browser bundle of a driver entry has no built-in to resolve, and
 * only the file features (backups, lock sidecars) need them.
 */
import type * as Fs from "node:fs";
import type * as Os from "node:os";
import type * as Path from "node:path";
import type * as Crypto from "node:crypto";
import { usageError } from "./error-factories.js";

// No cache of our own: the runtime keeps each built-in loaded and hands back the same module.
function builtin<T>(id: string): T {
  const lookUp = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof lookUp !== "function") throw usageError(`stepwise needs process.getBuiltinModule to load ${id}: upgrade to Node 20.16 or newer (or Node 22.3+, or Bun).`);
  return lookUp(id) as T;
}

/** `node:fs`, loaded on first use. */
export const nodeFs = (): typeof Fs => builtin("node:fs");
/** `node:os`, loaded on first use. */
export const nodeOs = (): typeof Os => builtin("node:os");
/** `node:path`, loaded on first use. */
export const nodePath = (): typeof Path => builtin("node:path");
/** `node:crypto`, loaded on first use. */
export const nodeCrypto = (): typeof Crypto => builtin("node:crypto");
