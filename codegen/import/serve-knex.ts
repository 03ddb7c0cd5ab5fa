/** The helper `stepwise import knex` writes: Knex's `knex`, served over the connection stepwise hands the migration. */
import type { ModuleServing } from "./source.js";

/** Written once into the migrations folder's `lib/`; every Knex wrapper calls its `runKnexMigration`. */
export const KNEX_SERVING: ModuleServing = {
  helper: "stepwise-knex.ts",
  run: "runKnexMigration",
  text: (dialect) => `/**
 * Written by "stepwise import knex": runs a Knex migration unchanged, its \`knex\` a Knex instance whose only connection is the one stepwise hands the migration (so its
 * statements join stepwise's transaction), and never closes that connection.
 */
import knex from "knex";

type Direction = "up" | "down";
type KnexMigration = { up?: unknown; down?: unknown; config?: unknown };
type KnexModule = KnexMigration & { default?: KnexMigration | undefined };

/** The migration's functions, whether the file exports them by name or as its default (CommonJS \`module.exports\` imported as an ES module). */
function migrationOf(source: KnexModule): KnexMigration {
  return typeof source.up === "function" ? source : (source.default ?? source);
}

${
  dialect === "sqlite"
    ? ""
    : `/**
 * \`connection\` as Knex sees it. pg fails a query in its socket's callback, where no frame of the migration is left, so the error gets the stack of Knex's call into pg too,
 * which reaches the migration's await (inside \`knex.transaction()\` as well) and locates the failure there.
 */
function traced(connection: unknown): unknown {
  if (typeof connection !== "object" || connection === null) return connection;
  return new Proxy(connection, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (key !== "query" || typeof value !== "function") return value;
      return (...parameters: unknown[]) => {
        const done = parameters[parameters.length - 1];
        if (typeof done === "function") {
          const caller = new Error();
          parameters[parameters.length - 1] = (error: unknown, ...rest: unknown[]) => {
            if (error instanceof Error && caller.stack !== undefined) error.stack = \`\${error.stack}\\n\${caller.stack.split("\\n").slice(1).join("\\n")}\`;
            return (done as (...args: unknown[]) => unknown)(error, ...rest);
          };
        }
        return (value as (...args: unknown[]) => unknown).apply(target, parameters);
      };
    },
  });
}

`
}/** Runs one direction of a Knex migration on \`connection\`; \`transaction\`: whether Knex ran it in one (stepwise then runs it in its own). */
export async function runKnexMigration(connection: unknown, source: KnexModule, direction: Direction, options: { transaction: boolean }): Promise<void> {
  const run = migrationOf(source)[direction];
  if (typeof run !== "function") throw new Error(\`The Knex migration exports no \${direction} function.\`);
  const instance = knex({ client: ${dialect === "sqlite" ? `"better-sqlite3", useNullAsDefault: true, connection: { filename: ":memory:" }` : `"pg", connection: {}`}, pool: { min: 0, max: 1 } });
  const client = instance.client as { acquireConnection(): Promise<unknown>; releaseConnection(connection: unknown): Promise<void>; transacting?: boolean };
  // Knex's pool is never asked for a connection: every query gets stepwise's, and releasing it keeps it open.
${dialect === "sqlite" ? "" : "  const served = traced(connection);\n"}  client.acquireConnection = async () => ${dialect === "sqlite" ? "connection" : "served"};
  client.releaseConnection = async () => undefined;
  // Knex hands a transactional migration a transaction: knex.transaction() inside it is then a savepoint (not a second BEGIN, nor a COMMIT of stepwise's transaction),
  // and on SQLite a table rebuild leaves foreign_keys alone, as it did under Knex.
  if (options.transaction) client.transacting = true;
  // Knex runs a knex.transaction() callback apart from the migration's own awaits, so a failure there carries no frame of the wrapper that called this: it gets this call's stack too,
  // which places the original's frames inside the migration.
  const call = new Error();
  try {
    await (run as (db: unknown) => unknown)(instance);
  } catch (error) {
    if (error instanceof Error && call.stack !== undefined) error.stack = \`\${error.stack}\\n\${call.stack.split("\\n").slice(1).join("\\n")}\`;
    throw error;
  } finally {
    await instance.destroy();
  }
}
`,
};
