/**
 * Bundled for the browser by `test/browser-runtime.test.ts` and run in Chromium: every part of
 * `stepwise-migrate/sql-js` an app can call, on sql.js, in a page. Each probe records its outcome (`ok`, or
 * the error's `code`, or its name and message for a crash) in `globalThis.probeResults`, and
 * `globalThis.probeDone` turns true at the end. Started as a module Worker (no `document`), it posts
 * the results to the page instead.
 */
import initSqlJs, { type Database } from "sql.js";
import { MigrationManager, defineMigration } from "../../src/entries/sql-js.js";
import { baselineDatabase, rehearseUp, repairIncompleteMigration, upWithBackup, verifySchema } from "../../src/index.js";
import type { MigrationEntry } from "../../src/index.js";

/** One probe's outcome. */
export interface ProbeResult {
  readonly name: string;
  readonly ok: boolean;
  readonly code: string | null;
  readonly detail: string;
}

const results: ProbeResult[] = [];
const scope = globalThis as { probeResults?: ProbeResult[]; probeDone?: boolean; wasmUrl?: string; document?: unknown; postMessage?: (message: unknown) => void };
scope.probeResults = results;

/** Runs `action` and records its outcome; a promise it returns (a net that copies files) is awaited. */
async function probe(name: string, action: () => unknown): Promise<void> {
  try {
    const value = await action();
    results.push({ name, ok: true, code: null, detail: JSON.stringify(value) ?? "" });
  } catch (error) {
    const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : null;
    results.push({ name, ok: false, code, detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
}

const entry = (version: number, fields: Partial<MigrationEntry> & ({ upSql: string } | { module: unknown })): MigrationEntry =>
  ({
    version,
    name: `step_${version}`,
    file: `migrations/${String(version).padStart(3, "0")}_step_${version}.${"module" in fields ? "ts" : "sql"}`,
    kind: "module" in fields ? "ts" : "sql",
    description: null,
    checksum: `checksum-${version}`,
    reversible: true,
    transaction: true,
    disableForeignKeys: false,
    downSql: null,
    ...fields,
  }) as MigrationEntry;

const registry = [
  entry(1, { upSql: "CREATE TABLE files (hash BLOB PRIMARY KEY, size INTEGER NOT NULL); INSERT INTO files VALUES (x'00ff', 1), (x'01', 2), (x'ff', 3), (x'0001', 4);", downSql: "DROP TABLE files;" }),
  // forEachBatch walks BLOB keys: their order is compared byte by byte.
  entry(2, {
    module: defineMigration({
      up(db, context) {
        db.exec("ALTER TABLE files ADD COLUMN seen INTEGER NOT NULL DEFAULT 0");
        context.forEachBatch({ table: "files", key: "hash", batchSize: 1 }, (rows) => {
          for (const row of rows) db.run("UPDATE files SET seen = 1 WHERE hash = ?", [row.hash as Uint8Array]);
        });
      },
      down(db) {
        db.exec("ALTER TABLE files DROP COLUMN seen");
      },
    }),
  }),
  // A migration outside a transaction records who runs it in a `started` row first.
  entry(3, { transaction: false, upSql: "CREATE INDEX files_size ON files (size);", downSql: "DROP INDEX files_size;" }),
] as const;

const brokenOutsideTransaction = entry(4, {
  transaction: false,
  reversible: false,
  module: defineMigration({
    transaction: false,
    up(db) {
      db.exec("CREATE TABLE half_done (id INTEGER)");
      throw new Error("stopped half-way");
    },
  }),
});

async function main(): Promise<void> {
  const SQL = await initSqlJs({ locateFile: () => scope.wasmUrl ?? "/sql-wasm.wasm" });
  const db: Database = new SQL.Database();
  const manager = new MigrationManager(db, registry);
  await probe("rehearseUp", () => rehearseUp(manager).steps.length);
  await probe("up", () => manager.up().steps.map((step) => step.version));
  await probe("batch walked every BLOB key", () => {
    const seen = db.exec("SELECT count(*) FROM files WHERE seen = 1")[0]!.values[0]![0];
    if (seen !== 4) throw new Error(`seen ${String(seen)} of 4`);
    return seen;
  });
  await probe("status", () => manager.status().currentVersion);
  await probe("history", () => manager.history().length);
  await probe("verifySchema", () => verifySchema(manager).ok);
  await probe("upWithBackup", () => upWithBackup(manager, { backup: { directory: "/backups" } }));
  await probe("down", () => manager.down({ to: 0 }).toVersion);
  await probe("up again", () => manager.up().toVersion);

  const withBroken = new MigrationManager(db, [...registry, brokenOutsideTransaction]);
  await probe("failing migration outside a transaction", () => withBroken.up());
  await probe("up after the interrupted migration", () => withBroken.up());
  await probe("repairIncompleteMigration", () => repairIncompleteMigration(withBroken, { version: 4, resolution: "forget" }).resolution);

  const adopted = new SQL.Database();
  adopted.exec("CREATE TABLE files (hash BLOB PRIMARY KEY, size INTEGER NOT NULL)");
  await probe("baselineDatabase", () => baselineDatabase(new MigrationManager(adopted, registry), 1).recorded);
  finish();
}

function finish(): void {
  scope.probeDone = true;
  if (scope.document === undefined && typeof scope.postMessage === "function") scope.postMessage(results);
}

main().catch((error: unknown) => {
  results.push({ name: "main", ok: false, code: null, detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  finish();
});
