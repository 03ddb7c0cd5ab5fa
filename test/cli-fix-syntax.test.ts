/**
 * A fix names what the reader can type: printed by the CLI, its flags and commands (`--to 3`,
 * `--transaction all`, `stepwise repair --applied 2 --yes`); thrown by the library, its options and
 * calls (`to: 3`, `transaction: "all"`, `repairIncompleteMigration(manager, …)`). Each refusal whose
 * fix names an option is brought about for real, once through the in-process CLI (its `--json`
 * message and fix, and the text on stderr) and once through the library (the error's message and
 * fix), and each must hold its own spelling and none of the other's.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { MigrationManager } from "../src/entries/better-sqlite3.js";
import { MigrationManager as PgMigrationManager } from "../src/entries/pg.js";
import { baselineDatabase, rehearseUp, upWithBackup } from "../src/safety/index.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { runInProcess, type InProcessRun } from "./support/in-process-cli.js";
import { makeTempDir } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { sqlEntry } from "./support/registry-builders.js";

const ONE = sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY)", { downSql: "DROP TABLE items" });
const TWO = sqlEntry(2, "CREATE TABLE notes (id INTEGER PRIMARY KEY)", { transaction: false, downSql: "DROP TABLE notes" });
const THREE = sqlEntry(3, "CREATE TABLE tags (id INTEGER PRIMARY KEY)", { downSql: "DROP TABLE tags" });
const FAILING = sqlEntry(2, "CREATE TABLE items (id INTEGER PRIMARY KEY)");

/**
 * Spellings only the library uses: an option as a key with its value (`to: 3`, `transaction: "all"`;
 * not a migration's own `transaction: false`), an option's key alone, a call with parentheses.
 */
const API_TELLS =
  /\b(to|steps): \d|\b(transaction|tableName|resolution): "|\b(dangerously\w+|apply): true|\bbusyTimeoutMs\b|\bbackup\.(keep|directory)\b|\b(up|down|rehearseUp|repairIncompleteMigration|repairChecksums|baselineDatabase|restoreBackup|upWithBackup)\(/;
/** Spellings only the CLI uses: a flag of a runtime command, a runtime command. */
const CLI_TELLS = /(^|[\s"(])--(to|steps|transaction|table|busy-timeout|db|backup|keep-backups|force|yes|applied|forget|checksums|dry-run)\b|stepwise (up|down|repair|baseline|restore)\b/;

/** What one refusal says: through the CLI, and through the library. */
interface Case {
  readonly name: string;
  readonly code: string;
  /** Sets up a database file in `dir`, and returns the CLI's arguments and the library call that meet the refusal. */
  readonly arrange: (dir: string) => { readonly registry: MigrationRegistry; readonly cli: readonly string[]; readonly api: (file: string) => unknown };
  /** Spellings the CLI's message or fix must hold. */
  readonly cli: readonly string[];
  /** Spellings the library's message or fix must hold. */
  readonly api: readonly string[];
}

function withDatabase<T>(file: string, action: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return action(db);
  } finally {
    db.close();
  }
}

function applied(file: string, registry: MigrationRegistry, to: number): void {
  withDatabase(file, (db) => new MigrationManager(db, registry).up({ to }));
}

const CASES: readonly Case[] = [
  {
    name: "up to a version below the current one",
    code: "INVALID_TARGET",
    arrange: (dir) => {
      const registry = [ONE, { ...THREE, version: 2 }];
      applied(path.join(dir, "app.db"), registry, 2);
      return { registry, cli: ["up", "--to", "1"], api: (file) => withDatabase(file, (db) => new MigrationManager(db, registry).up({ to: 1 })) };
    },
    cli: ["stepwise down --to 1"],
    api: ["down({ to: 1 })"],
  },
  {
    name: "down to a version above the current one",
    code: "INVALID_TARGET",
    arrange: (dir) => {
      applied(path.join(dir, "app.db"), [ONE], 1);
      const registry = [ONE, { ...THREE, version: 2 }];
      return { registry, cli: ["down", "--to", "2"], api: (file) => withDatabase(file, (db) => new MigrationManager(db, registry).down({ to: 2 })) };
    },
    cli: ["stepwise up --to 2"],
    api: ["up({ to: 2 })"],
  },
  {
    name: "the whole run in one transaction, past a transaction: false migration",
    code: "WHOLE_RUN_TRANSACTION_REFUSED",
    arrange: () => {
      const registry = [ONE, TWO, THREE];
      return { registry, cli: ["up", "--transaction", "all"], api: (file) => withDatabase(file, (db) => new MigrationManager(db, registry).up({ transaction: "all" })) };
    },
    cli: ["stepwise up --to 1 --transaction all", "--transaction all"],
    api: ['up({ to: 1, transaction: "all" })', 'transaction: "all"'],
  },
  {
    name: "another tool's table under the history table's name",
    code: "HISTORY_TABLE_INVALID",
    arrange: (dir) => {
      withDatabase(path.join(dir, "app.db"), (db) => db.exec("CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, filename TEXT)"));
      return { registry: [ONE], cli: ["up"], api: (file) => withDatabase(file, (db) => new MigrationManager(db, [ONE]).up()) };
    },
    cli: ["--table <name>"],
    api: ['tableName: "<name>"'],
  },
  {
    name: "an interrupted transaction: false migration",
    code: "INCOMPLETE_MIGRATION",
    arrange: (dir) => {
      const file = path.join(dir, "app.db");
      applied(file, [ONE, TWO], 2);
      withDatabase(file, (db) => db.exec("UPDATE schema_migrations SET state = 'started', owner = NULL WHERE version = 2"));
      return { registry: [ONE, TWO, THREE], cli: ["up"], api: (target) => withDatabase(target, (db) => new MigrationManager(db, [ONE, TWO, THREE]).up()) };
    },
    cli: ["stepwise repair --applied 2 --yes", "stepwise repair --forget 2 --yes"],
    api: ['repairIncompleteMigration(manager, { version: 2, resolution: "applied" })', 'repairIncompleteMigration(manager, { version: 2, resolution: "forget" })'],
  },
  {
    name: "another tool's database",
    code: "UNMANAGED_DATABASE",
    arrange: (dir) => {
      withDatabase(path.join(dir, "app.db"), (db) => db.exec("CREATE TABLE legacy (id INTEGER PRIMARY KEY)"));
      return { registry: [ONE], cli: ["up"], api: (file) => withDatabase(file, (db) => new MigrationManager(db, [ONE]).up()) };
    },
    cli: ["stepwise baseline <version>"],
    api: ["baselineDatabase(manager, <version>)"],
  },
  {
    name: "an applied migration edited",
    code: "CHECKSUM_MISMATCH",
    arrange: (dir) => {
      applied(path.join(dir, "app.db"), [ONE], 1);
      const registry = [{ ...ONE, checksum: "edited" }];
      return { registry, cli: ["up"], api: (file) => withDatabase(file, (db) => new MigrationManager(db, registry).up()) };
    },
    cli: ["stepwise repair --checksums 1", "--yes"],
    api: ["repairChecksums(manager, { version: 1 })", "apply: true"],
  },
  {
    name: "the database locked past the busy timeout",
    code: "DATABASE_LOCKED",
    arrange: (dir) => {
      const file = path.join(dir, "app.db");
      const holder = new Database(file);
      holder.exec("BEGIN IMMEDIATE");
      holders.push(holder);
      return { registry: [ONE], cli: ["--busy-timeout", "0", "up"], api: (target) => withDatabase(target, (db) => new MigrationManager(db, [ONE], { busyTimeoutMs: 0 }).up()) };
    },
    cli: ["--busy-timeout"],
    api: ["busyTimeoutMs"],
  },
  {
    name: "a baseline whose schema differs",
    code: "SCHEMA_MISMATCH",
    arrange: (dir) => {
      withDatabase(path.join(dir, "app.db"), (db) => db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, extra TEXT)"));
      return { registry: [ONE], cli: ["baseline", "1"], api: (file) => withDatabase(file, (db) => baselineDatabase(new MigrationManager(db, [ONE]), 1)) };
    },
    cli: ["--force"],
    api: ["dangerouslyForce: true"],
  },
  {
    name: "a failed migration after a backup",
    code: "MIGRATION_FAILED",
    arrange: (dir) => {
      applied(path.join(dir, "app.db"), [ONE], 1);
      const backups = path.join(dir, "backups");
      return {
        registry: [ONE, FAILING],
        cli: ["up", "--backup", backups],
        api: async (file) => {
          const db = new Database(file);
          // Closed once the backup and the run have settled: upWithBackup returns a promise.
          return upWithBackup(new MigrationManager(db, [ONE, FAILING]), { backup: { directory: backups } }).finally(() => db.close());
        },
      };
    },
    cli: ["stepwise restore <file> --yes"],
    api: ["restoreBackup({ backupFile, ... })"],
  },
];

/** Connections a case left holding a lock, closed after each test. */
const holders: Database.Database[] = [];

/** The CLI's words for the refusal: the `--json` error's message and fix, and the text on stderr. */
function cliWords(json: InProcessRun, text: InProcessRun): { code: string; words: string } {
  const { error } = JSON.parse(json.stdout) as { error: { code: string; message: string; fix: unknown } };
  return { code: error.code, words: [error.message, JSON.stringify(error.fix), text.stderr].join("\n") };
}

/**
 * The library's words for the refusal `action` throws: its message and any fix. CHECKSUM_MISMATCH's
 * `fix.command` is the CLI's command line by definition, whoever reads it, and is left out.
 */
async function apiWords(action: () => unknown): Promise<{ code: string; words: string }> {
  try {
    await action();
  } catch (error) {
    const { code, message, fix } = error as { code: string; message: string; fix?: unknown };
    const { command: _command, ...rest } = typeof fix === "object" && fix !== null ? (fix as Record<string, unknown>) : { value: fix ?? null };
    return { code, words: [message, JSON.stringify(rest)].join("\n") };
  }
  assert.fail("the library call did not refuse");
}

function assertSpelled(words: string, expected: readonly string[], foreign: RegExp, who: string): void {
  for (const spelling of expected) assert.ok(words.includes(spelling), `${who} should say ${JSON.stringify(spelling)}:\n${words}`);
  assert.doesNotMatch(words, foreign, `${who} spells what the other side takes`);
}

describe("a fix names the CLI's flags when the CLI prints it, the library's options when the library throws it", () => {
  for (const fixCase of CASES) {
    test(`${fixCase.name} (${fixCase.code})`, async (t) => {
      t.after(() => holders.splice(0).forEach((holder) => holder.close()));
      const dir = makeTempDir(t);
      const file = path.join(dir, "app.db");
      const { registry, cli, api } = fixCase.arrange(dir);
      const json = await runInProcess({ migrations: registry }, ["--db", file, ...cli, "--json"]);
      const text = await runInProcess({ migrations: registry }, ["--db", file, ...cli]);
      assert.equal(json.code, 1, json.stdout + json.stderr);
      const printed = cliWords(json, text);
      assert.equal(printed.code, fixCase.code, printed.words);
      // The commands repeat the --db this run was given (test/cli-conventions.test.ts); the spelling around it is what is compared here.
      assertSpelled(printed.words.replaceAll(` --db ${file}`, ""), fixCase.cli, API_TELLS, "the CLI");
      const thrown = await apiWords(() => api(file));
      assert.equal(thrown.code, fixCase.code, thrown.words);
      assertSpelled(thrown.words, fixCase.api, CLI_TELLS, "the library");
    });
  }

  test("pg: a rehearsal past a transaction: false migration (REHEARSAL_REFUSED)", async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const registry = [ONE, TWO, THREE].map((entry) => ({ ...entry, dialect: "postgres" as const }));
    const args = ["--driver", "pg", "--url", database.url, "up", "--dry-run"];
    const json = await runInProcess({ migrations: registry }, [...args, "--json"]);
    const printed = cliWords(json, await runInProcess({ migrations: registry }, args));
    assert.equal(printed.code, "REHEARSAL_REFUSED", printed.words);
    assertSpelled(printed.words.replace(/ --url \S+ --driver pg/g, ""), ["stepwise up --dry-run --to 1"], API_TELLS, "the CLI");
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const thrown = await apiWords(() => rehearseUp(new PgMigrationManager(client, registry)));
      assert.equal(thrown.code, "REHEARSAL_REFUSED", thrown.words);
      assertSpelled(thrown.words, ["rehearseUp(manager, { to: 1 })"], CLI_TELLS, "the library");
    } finally {
      await client.end();
    }
  });
});
