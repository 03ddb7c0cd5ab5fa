/**
 * The registry imports TypeScript migrations with relative specifiers, and which ending they need
 * depends on how the project resolves modules: `.js` under Node16/NodeNext, `.ts` when the project
 * imports TypeScript files directly, nothing under bundler resolution.
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
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, projectRoot, undefined, tsconfigPath);
  const options = parsed.options;
  if (options.allowImportingTsExtensions || options.rewriteRelativeImportExtensions) return ".ts";
  const resolution = options.moduleResolution;
  if (resolution === ts.ModuleResolutionKind.Bundler) return "";
  if (resolution === ts.ModuleResolutionKind.Node10) return "";
  return ".js";
}
