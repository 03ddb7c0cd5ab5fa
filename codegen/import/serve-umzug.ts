/** The helper `stepwise import umzug` writes: an Umzug migration's `{ name, path, context }`, the context being the connection stepwise hands the migration. */
import type { ModuleServing } from "./source.js";

/** Written once into the migrations folder's `lib/`; every Umzug wrapper calls its `runUmzugMigration`. */
export const UMZUG_SERVING: ModuleServing = {
  helper: "stepwise-umzug.ts",
  run: "runUmzugMigration",
  text: () => `/**
 * Written by "stepwise import umzug": runs an Umzug migration unchanged with \`{ name, path, context }\` as Umzug's default resolver passes them, where \`context\` is the connection
 * stepwise hands the migration and \`path\` the file's path relative to the project root (a bundled app has no file to point at).
 */
type Direction = "up" | "down";
type UmzugMigration = { up?: unknown; down?: unknown };
type UmzugModule = UmzugMigration & { default?: UmzugMigration | undefined };

/** The migration's functions, whether the file exports them by name or as its default (CommonJS \`module.exports\` imported as an ES module). */
function migrationOf(source: UmzugModule): UmzugMigration {
  return typeof source.up === "function" ? source : (source.default ?? source);
}

/**
 * \`connection\` as the migration sees it. A promise a call returns (pg's \`query\`) fails where no frame of the migration is left when the migration returned it without awaiting it, so
 * its error gets the stack of the migration's call too, which locates the failure at that call.
 */
function traced(connection: unknown): unknown {
  if (typeof connection !== "object" || connection === null) return connection;
  return new Proxy(connection, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      return (...parameters: unknown[]) => {
        const result: unknown = value.apply(target, parameters);
        if (typeof (result as { then?: unknown } | null | undefined)?.then !== "function") return result;
        const caller = new Error();
        return (result as Promise<unknown>).then(undefined, (error: unknown) => {
          if (error instanceof Error && caller.stack !== undefined) error.stack = \`\${error.stack}\n\${caller.stack.split("\\n").slice(1).join("\\n")}\`;
          throw error;
        });
      };
    },
  });
}

/** Runs one direction of an Umzug migration with \`connection\` as its context. */
export async function runUmzugMigration(connection: unknown, source: UmzugModule, direction: Direction, options: { name: string; path: string }): Promise<void> {
  const run = migrationOf(source)[direction];
  if (typeof run !== "function") throw new Error(\`The Umzug migration exports no \${direction} function.\`);
  await (run as (params: { name: string; path: string; context: unknown }) => unknown)({ name: options.name, path: options.path, context: traced(connection) });
}
`,
};
