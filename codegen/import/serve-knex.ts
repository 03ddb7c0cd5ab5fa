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

/** Runs one direction of a Knex migration on \`connection\`; \`transaction\`: whether Knex ran it in one (stepwise then runs it in its own). */
export async function runKnexMigration(connection: unknown, source: KnexModule, direction: Direction, options: { transaction: boolean }): Promise<void> {
  const run = migrationOf(source)[direction];
  if (typeof run !== "function") throw new Error(\`The Knex migration exports no \${direction} function.\`);
  const instance = knex({ client: ${dialect === "sqlite" ? `"better-sqlite3", useNullAsDefault: true, connection: { filename: ":memory:" }` : `"pg", connection: {}`}, pool: { min: 0, max: 1 } });
  const client = instance.client as { acquireConnection(): Promise<unknown>; releaseConnection(connection: unknown): Promise<void>; transacting?: boolean };
  // Knex's pool is never asked for a connection: every query gets stepwise's, and releasing it keeps it open.
  client.acquireConnection = async () => connection;
  client.releaseConnection = async () => undefined;
  // Knex hands a transactional migration a transaction: knex.transaction() inside it is then a savepoint (not a second BEGIN, nor a COMMIT of stepwise's transaction),
  // and on SQLite a table rebuild leaves foreign_keys alone, as it did under Knex.
  if (options.transaction) client.transacting = true;${
    dialect === "sqlite"
      ? ""
      : `
  // pg fails a query in its socket's callback, where no frame of the migration is left: the error gets the stack of Knex's call too, which reaches the migration's await.
  const pgClient = client as unknown as { _query(...parameters: unknown[]): Promise<unknown> };
  const send = pgClient._query;
  pgClient._query = function (this: unknown, ...parameters: unknown[]) {
    const caller = new Error();
    return send.apply(this, parameters).then(undefined, (error: unknown) => {
      if (error instanceof Error && caller.stack !== undefined) error.stack = \`\${error.stack}\\n\${caller.stack.split("\\n").slice(1).join("\\n")}\`;
      throw error;
    });
  };`
  }
  try {
    await (run as (db: unknown) => unknown)(instance);
  } finally {
    await instance.destroy();
  }
}
`,
};
