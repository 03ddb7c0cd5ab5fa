/**
 * The round trip every JavaScript tool's import test makes, on SQLite files or PostgreSQL databases: the tool migrates one database fully and another up to `behind` migrations with its own API;
 * `import` (through the real CLI) orders the folder as the tool ran it; `gen` and `gen --check` pass; `adopt` records the tool's database at its version, `up` applies the rest, `verify` is clean; and
 * a fresh database built by stepwise from the import has the tool's schema.
 */
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { TestContext } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { createTestProject, repoRoot, runCli, type TestProject } from "./project.js";
import { createTestDatabase } from "./postgres-server.js";

/** What `--json` printed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field
export type Json = Record<string, any>;

/** A database the test and the tool both open: a SQLite file, or a PostgreSQL URL. */
export type Target = { readonly dialect: "sqlite"; readonly file: string } | { readonly dialect: "postgres"; readonly url: string };

/** One tool's case: its folder, how it migrates a target (the first `count` migrations, all when absent), and the tables it keeps its history in. */
export interface JsToolCase {
  readonly tool: string;
  readonly dialect: "sqlite" | "postgres";
  readonly files: Readonly<Record<string, string>>;
  /** The packages the project resolves (symlinked from the repository's node_modules). */
  readonly packages: readonly string[];
  /** The tool's history tables, left out of the schema comparison. */
  readonly toolTables: readonly string[];
  /** Migrates `target` with the tool itself, returning the names its history recorded, in the order it ran them. */
  migrate(target: Target, dir: string, count?: number): Promise<string[]>;
  readonly importArgs?: readonly string[];
  /** What `adopt` needs besides the database (Umzug's JSONStorage file). */
  adoptArgs?(target: Target): string[];
}

/** The project with the tool's folder written at `<tool>-migrations/`. */
export function jsToolProject(t: TestContext, spec: JsToolCase): { project: TestProject; dir: string } {
  const project = createTestProject(t, spec.dialect === "postgres" ? { packageJson: { stepwise: { dialect: "postgres" } } } : {});
  for (const name of spec.packages) {
    const link = path.join(project.root, "node_modules", name);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.join(repoRoot, "node_modules", name), link, "dir");
  }
  const dir = path.join(project.root, `${spec.tool}-migrations`);
  for (const [file, text] of Object.entries(spec.files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return { project, dir };
}

/** A new target: a SQLite file in the project, or a fresh PostgreSQL database dropped after the test. */
export async function newTarget(t: TestContext, project: TestProject, dialect: "sqlite" | "postgres", name: string): Promise<Target> {
  if (dialect === "sqlite") return { dialect, file: project.databasePath(`${name}.db`) };
  const database = await createTestDatabase();
  t.after(() => database.drop());
  return { dialect, url: database.url };
}

/** Runs the CLI against `target` with `--json`. */
export async function cliOn(project: TestProject, target: Target, ...args: string[]): Promise<{ code: number | null; json: Json; stderr: string }> {
  const where = target.dialect === "sqlite" ? ["--db", target.file] : ["--driver", "pg", "--url", target.url];
  const result = await runCli([...args, ...where, "--json"], { cwd: project.root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined } });
  return { code: result.code, json: JSON.parse(result.stdout || "{}") as Json, stderr: result.stderr };
}

/** The target's schema as plain rows, without `skip`'s tables (and their indexes) and stepwise's. */
export async function schemaOf(target: Target, skip: readonly string[]): Promise<unknown[]> {
  const left = (table: string) => !skip.includes(table) && !/^(?:schema_migrations|stepwise_migrations)(?:_|$)/.test(table);
  if (target.dialect === "sqlite") {
    const db = new Database(target.file, { readonly: true });
    try {
      const rows = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as { tbl_name: string }[];
      return rows.filter((row) => left(row.tbl_name));
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    const columns = await client.query(
      "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    );
    const indexes = await client.query("SELECT tablename AS table_name, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname");
    // A serial's sequence is named after its table: the same in both.
    return [...columns.rows, ...indexes.rows].filter((row: { table_name: string }) => left(row.table_name));
  } finally {
    await client.end();
  }
}

/**
 * The whole round trip for `spec`: import in the tool's order, gen, adopt a database the tool migrated `behind` migrations short, up, verify, and a fresh database with the tool's schema.
 * Returns the import's JSON and the project, for the test's own assertions.
 */
export async function runJsToolRoundTrip(t: TestContext, spec: JsToolCase, behind: number): Promise<{ project: TestProject; imported: Json; dir: string }> {
  const { project, dir } = jsToolProject(t, spec);
  const full = await newTarget(t, project, spec.dialect, "tool-full");
  const toolOrder = await spec.migrate(full, dir);
  const total = toolOrder.length;

  const imported = await runCli(["import", spec.tool, `${spec.tool}-migrations`, "--yes", "--json", ...(spec.importArgs ?? [])], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  const plan = JSON.parse(imported.stdout) as Json;
  // The import's order is the order the tool ran them in.
  assert.deepEqual(
    plan.migrations.map((migration: Json) => Object.values(migration.history)[0]),
    toolOrder,
  );
  await project.generateAsBin();
  const check = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(check.code, 0, check.stdout + check.stderr);

  // A database the tool migrated short of the newest: adopted at its own version, then stepwise applies the rest.
  const partial = await newTarget(t, project, spec.dialect, "tool-partial");
  await spec.migrate(partial, dir, total - behind);
  const adopted = await cliOn(project, partial, "adopt", ...(spec.adoptArgs?.(partial) ?? []));
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json) + adopted.stderr);
  assert.equal(adopted.json.version, total - behind);
  assert.equal(adopted.json.alreadyAdopted, false);
  const up = await cliOn(project, partial, "up");
  assert.equal(up.code, 0, JSON.stringify(up.json) + up.stderr);
  const verified = await cliOn(project, partial, "verify");
  assert.equal(verified.json.ok, true, JSON.stringify(verified.json));
  assert.deepEqual(await schemaOf(partial, spec.toolTables), await schemaOf(full, spec.toolTables));

  // The fully migrated database: adopted at the newest, verify clean with the tool's tables kept.
  const adoptedFull = await cliOn(project, full, "adopt", ...(spec.adoptArgs?.(full) ?? []));
  assert.equal(adoptedFull.json.version, total, JSON.stringify(adoptedFull.json));
  assert.equal((await cliOn(project, full, "verify")).json.ok, true);
  assert.equal((await cliOn(project, full, "adopt", ...(spec.adoptArgs?.(full) ?? []))).json.alreadyAdopted, true);

  // --drop-old-table on the adopted database drops every table the tool kept its history in (Knex's and Kysely's lock tables too), and verify stays clean.
  if (spec.toolTables.length > 0) {
    const dropped = await cliOn(project, full, "adopt", "--drop-old-table");
    assert.equal(dropped.json.oldTableDropped, true, JSON.stringify(dropped.json));
    const left = JSON.stringify(await schemaOf(full, []));
    for (const table of spec.toolTables) assert.doesNotMatch(left, new RegExp(`"${table}"`), table);
    assert.equal((await cliOn(project, full, "verify")).json.ok, true);
  }

  // A fresh database built by stepwise from the import: the tool's schema.
  const fresh = await newTarget(t, project, spec.dialect, "fresh");
  const built = await cliOn(project, fresh, "up");
  assert.equal(built.code, 0, JSON.stringify(built.json) + built.stderr);
  assert.deepEqual(await schemaOf(fresh, spec.toolTables), await schemaOf(partial, spec.toolTables));
  return { project, imported: plan, dir };
}
