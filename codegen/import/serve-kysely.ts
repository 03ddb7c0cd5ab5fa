/** The helper `stepwise import kysely` writes: Kysely's `db`, served over the connection stepwise hands the migration. */
import type { ModuleServing } from "./source.js";

/** Written once into the migrations folder's `lib/`; every Kysely wrapper calls its `runKyselyMigration`. */
export const KYSELY_SERVING: ModuleServing = {
  helper: "stepwise-kysely.ts",
  run: "runKyselyMigration",
  text: (dialect) => `/**
 * Written by "stepwise import kysely": runs a Kysely migration unchanged, its \`db\` a Kysely over the connection stepwise hands the migration
 * (${dialect === "sqlite" ? "Kysely's SqliteDialect over that better-sqlite3-style database), outside a transaction, as Kysely's Migrator runs SQLite migrations" : "Kysely's PostgresDialect over that pg client, handed out as a pool that never ends it), inside stepwise's transaction"}.
 */
import { Kysely, ${dialect === "sqlite" ? "SqliteDialect" : "PostgresDialect"} } from "kysely";

type Direction = "up" | "down";
type KyselyMigration = { up?: unknown; down?: unknown };
type KyselyModule = KyselyMigration & { default?: KyselyMigration | undefined };

/** The migration as Kysely's FileMigrationProvider picks it: the default export when that has \`up\`, else the module. */
function migrationOf(source: KyselyModule): KyselyMigration {
  return typeof source.default?.up === "function" ? source.default : source;
}

/** Runs one direction of a Kysely migration on \`connection\`. */
export async function runKyselyMigration(connection: unknown, source: KyselyModule, direction: Direction): Promise<void> {
  const run = migrationOf(source)[direction];
  if (typeof run !== "function") throw new Error(\`The Kysely migration exports no \${direction} function.\`);
${
  dialect === "sqlite"
    ? `  const dialect = new SqliteDialect({ database: connection as ConstructorParameters<typeof SqliteDialect>[0]["database"] });`
    : `  const client = connection as { query(sql: string, parameters: unknown[]): Promise<unknown> };
  // One pool client for every query, whose release keeps it: stepwise owns the connection.
  const pooled = { query: (sql: string, parameters: unknown[]) => client.query(sql, parameters), release: () => undefined };
  const dialect = new PostgresDialect({ pool: { connect: async () => pooled, end: async () => undefined } as unknown as ConstructorParameters<typeof PostgresDialect>[0]["pool"] });`
}
  const db = new Kysely<unknown>({ dialect });
${
  dialect === "sqlite"
    ? `  // On SQLite Kysely's Migrator hands each migration the db of its one connection, whose transaction() works; its destroy() would close stepwise's connection.
  Object.assign(db, {
    destroy: () => {
      throw new Error("a migration cannot destroy the connection stepwise runs it on");
    },
  });`
    : `  // Kysely's Migrator hands each migration a Transaction, whose transaction(), connection() and destroy() throw: so do this db's, so no BEGIN or COMMIT lands inside
  // stepwise's transaction and its connection is never closed.
  const refuse = (method: string) => () => {
    throw new Error(\`calling the \${method} method for a Transaction is not supported\`);
  };
  Object.assign(db, { transaction: refuse("transaction"), startTransaction: refuse("startTransaction"), connection: refuse("connection"), destroy: refuse("destroy") });`
}
  // Not destroyed: Kysely's destroy() would close stepwise's connection.
  await (run as (db: unknown) => unknown)(db);
}
`,
};
