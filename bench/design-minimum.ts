/**
 * The smallest registry the design allows, as a bound on the no-op start target: one row per
 * migration with its version and checksum, the SQL inlined, and the TypeScript migrations imported
 * statically. No entry objects, no names, no flags, no stepwise code. A program that imports it
 * beside the floor's work shows what any registry that keeps the design's promises (a bundle holds
 * every migration; nothing is discovered or loaded at run time) costs a start before a migration
 * system does anything; when that alone is past 1.10× of the floor, the target is out of reach on
 * that runtime for every such system.
 *
 * The shape is the cheapest measured (session 11, bench/README.md): the rows one literal of
 * constants, which the engine copies from a template, and every SQL text in one string literal, which
 * a start only scans. A `switch` of string literals per migration and a `JSON.parse`d row list
 * measured the same within noise; template literals and rows built in code cost more.
 */
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { WorkloadMigration } from "./workload.js";

/** The module the minimum programs import, relative to a workload's root. */
export const DESIGN_MINIMUM_FILE = path.join("generated", "design-minimum.js");

/**
 * Writes the design's minimum registry of `migrations` into `root` (`checksums` in version order, as
 * the real registry records them) and returns its path. It exports `rows` and `modules`, which a
 * program must read so no bundler drops them, and `sql`.
 */
export function writeDesignMinimum(root: string, migrations: readonly WorkloadMigration[], checksums: readonly string[]): string {
  const moduleFiles = new Map(
    readdirSync(path.join(root, "migrations"))
      .filter((name) => name.endsWith(".ts"))
      .map((name) => [Number(name.slice(0, name.indexOf("_"))), name.replace(/\.ts$/, ".js")] as const),
  );
  const typescript = migrations.filter((migration) => migration.kind === "ts");
  const imports = typescript.map((migration) => `import m${migration.version} from "../migrations/${moduleFiles.get(migration.version)}";`);
  const rows = migrations.map((migration, index) => `  [${migration.version}, ${JSON.stringify(checksums[index])}],`);
  const sql = migrations
    .filter((migration) => migration.kind === "sql")
    .map((migration) => migration.upSql + migration.downSql)
    .join("");
  const file = path.join(root, DESIGN_MINIMUM_FILE);
  writeFileSync(
    file,
    [
      ...imports,
      "",
      "export const rows = [",
      ...rows,
      "];",
      `export const modules = [${typescript.map((migration) => `m${migration.version}`).join(", ")}];`,
      `export const sql = ${JSON.stringify(sql)};`,
      "",
    ].join("\n"),
  );
  return file;
}
