/** The helper `stepwise import node-pg-migrate` writes: node-pg-migrate's `pgm`, its SQL run on the pg client stepwise hands the migration. */
import type { ModuleServing } from "./source.js";

/** Written once into the migrations folder's `lib/`; every node-pg-migrate wrapper calls its `runPgmMigration`. */
export const NODE_PG_MIGRATE_SERVING: ModuleServing = {
  helper: "stepwise-node-pg-migrate.ts",
  run: "runPgmMigration",
  text: () => `/**
 * Written by "stepwise import node-pg-migrate": runs a node-pg-migrate migration unchanged. Its \`pgm\` is node-pg-migrate's own MigrationBuilder; the SQL it collects then runs,
 * statement by statement, on the pg client stepwise hands the migration, and \`pgm.db\` queries that client.
 */
import { MigrationBuilder } from "node-pg-migrate";

type Direction = "up" | "down";
type Action = ((pgm: MigrationBuilder) => unknown) | ((pgm: MigrationBuilder, run: () => void) => unknown);
type PgmMigration = { up?: unknown; down?: unknown; shorthands?: Record<string, unknown> | undefined };
type PgmModule = PgmMigration & { default?: PgmMigration | undefined };
type PgClient = { query(sql: string, parameters?: unknown[]): Promise<{ rows: unknown[] }> };

/** The migration's exports, whether by name or as a CommonJS \`module.exports\` imported as an ES module. */
function migrationOf(source: PgmModule): PgmMigration {
  return "up" in source ? source : (source.default ?? source);
}

/** node-pg-migrate's messages go nowhere: stepwise reports the run. */
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Runs one direction of a node-pg-migrate migration on \`client\`. \`shorthands\`: the modules up to this one that export shorthands, which node-pg-migrate merges in file order.
 * \`transaction\`: whether stepwise runs it in a transaction (import read no \`pgm.noTransaction()\` in the file); a call import did not read is refused, since stepwise chose its transaction first.
 */
export async function runPgmMigration(client: unknown, source: PgmModule, direction: Direction, options: { transaction: boolean; shorthands?: readonly PgmModule[] }): Promise<void> {
  const migration = migrationOf(source);
  let action = migration[direction];
  // No down: node-pg-migrate undoes up by running it in reverse mode (and refuses what it cannot reverse).
  const reverse = direction === "down" && action === undefined;
  if (reverse) action = migration.up;
  if (typeof action !== "function") throw new Error(\`The node-pg-migrate migration exports no \${direction} function.\`);
  const pg = client as PgClient;
  const shorthands = Object.assign({}, ...(options.shorthands ?? []).map((module) => migrationOf(module).shorthands ?? {}));
  const db = { query: (sql: string, parameters?: unknown[]) => pg.query(sql, parameters), select: async (sql: string, parameters?: unknown[]) => (await pg.query(sql, parameters)).rows };
  const pgm = new MigrationBuilder(db as never, shorthands, false, quiet as never);
  if (reverse) pgm.enableReverseMode();
  // The SQL runs after the migration returns, where no frame of it is left: each step keeps the stack of the builder call that made it, so a failing step is located at that call.
  const callers: Error[] = [];
  const traced = new Proxy(pgm, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== "function" || key === "getSqlSteps") return value;
      return (...parameters: unknown[]) => {
        const before = target.getSqlSteps().length;
        const result: unknown = value.apply(target, parameters);
        const caller = new Error();
        for (let step = before; step < target.getSqlSteps().length; step++) callers[step] = caller;
        return result;
      };
    },
  });
  const run = action as Action;
  if (run.length === 2) await new Promise<void>((resolve) => void run(traced, resolve));
  else await (run as (pgm: MigrationBuilder) => unknown)(traced);
  // A builder that wants no transaction where stepwise opened one cannot run (CREATE INDEX CONCURRENTLY fails in one); the reverse, a direction that did not call it in a migration
  // whose other direction did, runs without one, as stepwise's transaction setting covers both directions.
  if (!pgm.isUsingTransaction() && options.transaction) {
    throw new Error(
      "The migration called pgm.noTransaction() this time, which stepwise import read nowhere in it: it decides whether the migration runs in a transaction, so write it unconditionally and import again.",
    );
  }
  const steps = pgm.getSqlSteps();
  for (const [step, sql] of steps.entries()) {
    try {
      await pg.query(sql);
    } catch (error) {
      // Reverse mode runs the steps last-made first.
      const caller = callers[reverse ? steps.length - 1 - step : step];
      if (error instanceof Error && caller?.stack !== undefined) error.stack = \`\${error.stack}\n\${caller.stack.split("\\n").slice(1).join("\\n")}\`;
      throw error;
    }
  }
}
`,
};
