// TypeDoc plugin: names each module of the API reference by the path an app imports it by
// (package.json's name plus its "exports" key, such as `stepwise-migrate/pg`) instead of its
// source file, so the reference reads as the package does and follows a rename of the package.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Converter, ReflectionKind } from "typedoc";

/** @param {import("typedoc").Application} app */
export function load(app) {
  const manifest = JSON.parse(readFileSync(path.resolve("package.json"), "utf8"));
  /** @type {Map<string, string>} the source file of each entry (repo-relative, `.ts`) to its import path */
  const importPaths = new Map();
  for (const [key, target] of Object.entries(manifest.exports ?? {})) {
    const types = typeof target === "object" && target !== null ? target.types : undefined;
    if (typeof types !== "string") continue;
    const source = path.posix.normalize(types.replace(/^\.\/dist\//, "").replace(/\.d\.ts$/, ".ts"));
    importPaths.set(source, key === "." ? manifest.name : `${manifest.name}/${key.replace(/^\.\//, "")}`);
  }
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.getReflectionsByKind(ReflectionKind.Module)) {
      const file = module.sources?.[0]?.fileName;
      const name = file === undefined ? undefined : importPaths.get(path.posix.normalize(file));
      if (name !== undefined) module.name = name;
    }
  });
}
