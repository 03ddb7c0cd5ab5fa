/**
 * The registry imports TypeScript migrations with relative specifiers, and which ending they need
 * depends on how the project loads modules. `.js` works under every resolution TypeScript offers
 * (node16/nodenext, bundler, node10, CommonJS): TypeScript maps it to the `.ts` source, tsc's output
 * runs under Node as it is, and bundlers (esbuild, Vite, Rollup's TypeScript plugin, Bun) map it back
 * too. An extensionless specifier, which bundler resolution would also accept, fails under Node
 * once tsc has compiled it (ERR_MODULE_NOT_FOUND). The one exception is a project that imports `.ts`
 * files directly (`allowImportingTsExtensions`, whose sources run as they are, or
 * `rewriteRelativeImportExtensions`, whose emit rewrites them to `.js`): there `.ts` is what works.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ts } from "ts-morph";
import type { ImportExtension } from "./render.js";

/** Reads `tsconfig.json` (following `extends`) in `projectRoot` and picks the import ending. */
export function resolveImportExtension(projectRoot: string): ImportExtension {
  const tsconfigPath = path.join(projectRoot, "tsconfig.json");
  if (!existsSync(tsconfigPath)) return ".js";
  const read = ts.readConfigFile(tsconfigPath, (file) => readFileSync(file, "utf8"));
  if (read.error) return ".js";
  const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, projectRoot, undefined, tsconfigPath);
  return options.allowImportingTsExtensions || options.rewriteRelativeImportExtensions ? ".ts" : ".js";
}
