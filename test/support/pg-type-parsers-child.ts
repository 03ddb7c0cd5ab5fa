/**
 * The child process of `test/pg-global-type-parsers.test.ts`: `pg-type-parsers-child.ts <url> <mode>`
 * installs, by `mode`, hostile type parsers for every type the server sends for stepwise's
 * statements (`global`: `pg.types.setTypeParser`, which is process-wide; `client`: the client's own
 * `types`; `none`), then runs up, the no-op start, status, history, verify and down on `url`, and
 * prints what each answered as one JSON line. Parsers are global, hence a process of its own.
 */
import pg from "pg";
import type { MigrationDefinition, MigrationEntry } from "../../src/core/types.js";
import { MigrationManager } from "../../src/entries/pg.js";
import { verifySchema } from "../../src/index.js";
import { namedSqlEntry, tsEntry } from "./registry-builders.js";

/** bool, bytea, char, name, int8, int2, int4, text, oid, json, jsonb, xid8, bpchar, varchar, timestamps, numeric, floats, arrays. */
const TYPE_OIDS = [16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 3802, 5069, 1042, 1043, 1114, 1184, 1700, 700, 701, 1000, 1005, 1007, 1009, 1016, 1028];

/** A parser that gets every value wrong: booleans false (a lock never taken), numbers -1, text tagged. */
function hostileParser(oid: number): (value: string) => unknown {
  if (oid === 16) return () => false;
  if ([20, 21, 23, 26, 700, 701, 1700].includes(oid)) return () => -1;
  return (value) => `hostile:${value}`;
}

/** SQL migrations, a TypeScript one, and a `transaction: false` one. */
export const PARSERS_REGISTRY: MigrationEntry[] = [
  namedSqlEntry(1, "create_items", "CREATE TABLE items (id bigint PRIMARY KEY, note varchar(20), ok boolean, at timestamptz);", "DROP TABLE items;", { dialect: "postgres" }),
  tsEntry(
    2,
    {
      up: async (db: pg.ClientBase) => void (await db.query("CREATE TABLE notes (id bigint PRIMARY KEY, body jsonb)")),
      down: async (db: pg.ClientBase) => void (await db.query("DROP TABLE notes")),
    } as unknown as MigrationDefinition<unknown>,
    { dialect: "postgres", reversible: true } as never,
  ) as MigrationEntry,
  namedSqlEntry(3, "index_items", "CREATE INDEX CONCURRENTLY items_note ON items (note);", "DROP INDEX CONCURRENTLY items_note;", { transaction: false, dialect: "postgres" }),
  namedSqlEntry(4, "create_tags", "CREATE TABLE tags (id integer PRIMARY KEY, names text[] NOT NULL, CONSTRAINT tags_fk FOREIGN KEY (id) REFERENCES items (id));", "DROP TABLE tags;", {
    dialect: "postgres",
  }),
];

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const [url, mode] = process.argv.slice(2) as [string, "global" | "client" | "none"];
  if (mode === "global") for (const oid of TYPE_OIDS) pg.types.setTypeParser(oid, hostileParser(oid));
  const types = mode === "client" ? { getTypeParser: (oid: number) => hostileParser(oid) } : undefined;
  const client = new pg.Client({ connectionString: url, ...(types ? { types: types as pg.CustomTypesConfig } : {}) });
  await client.connect();
  const manager = () => new MigrationManager(client, PARSERS_REGISTRY, { busyTimeoutMs: 2_000 });
  const outcome = async (action: () => Promise<unknown>): Promise<unknown> => {
    try {
      return await action();
    } catch (error) {
      return { error: (error as { code?: string }).code ?? String(error) };
    }
  };
  const report = {
    up: await outcome(async () => (await manager().up()).steps.map((step) => step.version)),
    noop: await outcome(() => manager().up()),
    status: await outcome(async () => {
      const status = await manager().status();
      return { ...status, migrations: status.migrations.map(({ appliedAt, durationMs, ...row }) => ({ ...row, appliedAt: typeof appliedAt, durationMs: typeof durationMs })) };
    }),
    history: await outcome(async () => (await manager().history()).map(({ appliedAt, durationMs, ...row }) => ({ ...row, appliedAt: typeof appliedAt, durationMs: typeof durationMs }))),
    verify: await outcome(() => verifySchema(manager())),
    downOne: await outcome(async () => (await manager().down({ steps: 1 })).steps.map((step) => step.version)),
    downAll: await outcome(async () => (await manager().down({ to: 0 })).steps.map((step) => step.version)),
    currentVersion: await outcome(() => manager().currentVersion()),
  };
  await client.end();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
