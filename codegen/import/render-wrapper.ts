/**
 * A JavaScript tool's migration imported as a stepwise TypeScript migration: a wrapper that imports the original file where it is (in the tool's folder, byte for byte, so `gen`'s checksum of the
 * wrapper covers it through its local imports, and the registry stays a static import graph a bundler follows) and runs it through the tool's helper in the migrations folder's `lib/`.
 */
import { lineCommentText } from "../render.js";
import path from "node:path";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { PACKAGE_NAME } from "../../src/shared/package-name.js";
import type { ForeignMigration, ModuleServing } from "./source.js";

/** Where a tool's helper is written, relative to the migrations folder. */
export const helperPath = (serve: ModuleServing) => `lib/${serve.helper}`;

/** The drivers whose connection each dialect's helpers serve: Knex's and Kysely's SQLite support is better-sqlite3's API, which libsql's package shares. */
const SERVED_DRIVERS: Readonly<Record<SqlDialect, readonly string[]>> = { sqlite: ["better-sqlite3", "libsql"], postgres: ["pg"] };

/** The driver entry the wrappers import `defineMigration` from, or the drivers that could be named instead. */
export function wrapperEntry(dialect: SqlDialect, driver: string | null): { entry: string } | { served: readonly string[] } {
  const served = SERVED_DRIVERS[dialect];
  const name = driver ?? served[0]!;
  return served.includes(name) ? { entry: `${PACKAGE_NAME}/${name}` } : { served };
}

/** The specifier that imports `file` from the migrations folder: relative, with the extension a compiled ES module has (`.ts` imported as `.js`, as TypeScript resolves it). */
function specifierOf(migrationsDir: string, file: string): string {
  const relative = path.relative(migrationsDir, file).split(path.sep).join("/");
  const compiled = relative.replace(/\.([cm]?)ts$/, ".$1js");
  return compiled.startsWith(".") ? compiled : `./${compiled}`;
}

/** The wrapper's text. */
export function renderWrapper(
  migration: ForeignMigration,
  context: { tool: string; serve: ModuleServing; entry: string; migrationsDir: string; sourceDir: string; down: "module" | "no-op" | "none"; sourceLabel: string },
): string {
  const module = migration.module!;
  const { tool, serve } = context;
  const importOf = (file: string) => specifierOf(context.migrationsDir, path.join(context.sourceDir, file));
  const extra = (module.alsoImports ?? []).filter((file) => file !== module.file);
  const shorthands = (module.alsoImports ?? []).map((file) => (file === module.file ? "source" : `earlier${extra.indexOf(file) + 1}`));
  const options: Record<string, unknown> = {
    ...(tool === "knex" ? { transaction: migration.transaction } : {}),
    ...(tool === "umzug" ? { name: migration.id, path: `${context.sourceLabel}/${module.file}` } : {}),
    ...module.options,
  };
  const optionsText = [...Object.entries(options).map(([key, value]) => `${key}: ${JSON.stringify(value)}`), ...(module.alsoImports === undefined ? [] : [`shorthands: [${shorthands.join(", ")}]`])];
  // A JavaScript original has no types: without allowJs the app's type check would stop at its import.
  const untyped = (file: string) => (/\.[cm]?js$/i.test(file) ? ["// @ts-ignore -- a JavaScript migration, imported as written"] : []);
  const call = (direction: string) => `await ${serve.run}(db, source, "${direction}"${optionsText.length > 0 ? `, { ${optionsText.join(", ")} }` : ""});`;
  return [
    // The file's name as a JSON string: a name holding a line break or quote stays inside the comment.
    `// Imported from ${tool} ${/^[\w.@+ -]+$/.test(module.file) ? module.file : lineCommentText(JSON.stringify(module.file))} by "stepwise import": that file runs unchanged, through ./${helperPath(serve).replace(/\.ts$/, ".js")}.`,
    `import { defineMigration } from "${context.entry}";`,
    ...untyped(module.file),
    `import * as source from ${JSON.stringify(importOf(module.file))};`,
    ...extra.flatMap((file, index) => [...untyped(file), `import * as earlier${index + 1} from ${JSON.stringify(importOf(file))};`]),
    `import { ${serve.run} } from "./${helperPath(serve).replace(/\.ts$/, ".js")}";`,
    "",
    "export default defineMigration({",
    `  description: ${JSON.stringify(`imported from ${tool} ${migration.id}`)},`,
    ...(migration.transaction ? [] : ["  transaction: false,"]),
    "  async up(db) {",
    `    ${call("up")}`,
    "  },",
    ...(context.down === "module" ? ["  async down(db) {", `    ${call("down")}`, "  },"] : []),
    // --empty-down no-op: the tool had no down, and undoing the migration does nothing.
    ...(context.down === "no-op" ? ["  down() {},"] : []),
    "});",
    "",
  ].join("\n");
}
