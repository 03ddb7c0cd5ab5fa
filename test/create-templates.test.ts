/**
 * `stepwise create` writes a template for the project's driver: a TypeScript one imports
 * `defineMigration` from that driver's entry (so `db` is the driver's connection, never `unknown`) and
 * is `async` where the driver is (pg, libsql-client, d1); `tsc` type-checks every driver's template
 * against its entry, unedited and with its example written. A SQL template's example is SQL of its
 * dialect, applied and rolled back on a real database of that dialect. The bin takes the driver from
 * the config (`driver`, `dialect`, `target`).
 *
 *   node --import tsx --test test/create-templates.test.ts
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { importTypeScript } from "../codegen/ts-import.js";
import { createMigration } from "../codegen/create.js";
import { generateRegistry } from "../codegen/generate.js";
import { runReplayCheck } from "../codegen/replay.js";
import { scanMigrations } from "../codegen/scan.js";
import type { MigrationRegistry, SqlDialect } from "../src/core/types.js";
import { dialectOfEntry, DRIVER_ENTRIES, type DriverEntry } from "../src/shared/package-name.js";
import { collectOutput, createTestProject, repoRoot, runCli } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";

const ASYNC_DRIVERS: readonly DriverEntry[] = ["pg", "libsql-client", "d1"];

/** The template with its examples written in place of the placeholders, as a user fills it in. */
function fillIn(text: string, comment: "//" | "--"): string {
  const lines = text.split("\n");
  const filled: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (!line.includes("stepwise:todo")) {
      filled.push(line);
      continue;
    }
    // The example is the comment line after the placeholder: uncommented, it is the migration.
    const example = lines[++index]!;
    filled.push(example.replace(`${comment} `, ""));
  }
  return filled.join("\n").replace(/^-- \(A migration that deliberately does nothing[^\n]*\n/m, "");
}

/** The repo's own entries, as an app's tsconfig `paths` would map the installed package's. */
function entryPaths(): Record<string, string[]> {
  const paths: Record<string, string[]> = { "stepwise-migrate": [path.join(repoRoot, "src", "index.ts")] };
  for (const entry of DRIVER_ENTRIES) paths[`stepwise-migrate/${entry}`] = [path.join(repoRoot, "src", "entries", `${entry}.ts`)];
  return paths;
}

function runTsc(cwd: string) {
  const child = spawn(process.execPath, [path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  return collectOutput(child, 180_000);
}

test("every driver's TypeScript template imports its entry, is async where the driver is, passes gen once written, and type-checks with tsc (unedited and written)", { timeout: 240_000 }, async () => {
  // A fixed folder, so tsc's incremental state (the repo's entries checked once) outlives the run.
  const root = path.join(repoRoot, "node_modules", ".cache", "stepwise-test-templates");
  rmSync(path.join(root, "migrations"), { recursive: true, force: true });
  rmSync(path.join(root, "written"), { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "templates", private: true, type: "module" }));
  const folders: string[] = [];
  for (const driver of DRIVER_ENTRIES) {
    const dialect = dialectOfEntry(driver);
    const migrationsDir = path.join(root, "migrations", driver);
    const created = await createMigration({ projectRoot: root, migrationsDir, registryFile: path.join(root, "generated", `${driver}.ts`), description: "add nickname", dialect, driver });
    const text = readFileSync(created.absolutePath, "utf8");
    const specifiers = [...text.matchAll(/from "([^"]+)"/g)].map((match) => match[1]);
    assert.deepEqual(specifiers, [`stepwise-migrate/${driver}`], driver);

    // Written: gen takes it, with the async mark the driver needs (and, on D1, outside a transaction).
    const writtenDir = path.join(root, "written", driver);
    mkdirSync(writtenDir, { recursive: true });
    writeFileSync(path.join(writtenDir, "001_add_nickname.ts"), fillIn(text, "//"));
    const scanned = scanMigrations({ projectRoot: root, migrationsDir: writtenDir, dialect });
    assert.deepEqual(scanned.problems, [], driver);
    assert.equal(scanned.migrations[0]!.async, ASYNC_DRIVERS.includes(driver), `${driver}: async`);
    if (driver === "d1") assert.equal(scanned.migrations[0]!.transaction, false);

    // A migration that takes the context too, and the registry gen writes for both: it type-checks with
    // that driver's context (pg's and libsql-client's forEachBatch returns a promise).
    const isAsync = ASYNC_DRIVERS.includes(driver);
    writeFileSync(
      path.join(writtenDir, "002_report_progress.ts"),
      `import { defineMigration } from "stepwise-migrate/${driver}";\n\nexport default defineMigration({\n${driver === "d1" ? "  transaction: false,\n" : ""}  ${isAsync ? "async " : ""}up(_db, context) {\n    context.progress(1, 1);\n  },\n});\n`,
    );
    const registryFile = path.join(root, "written", `${driver}-registry.ts`);
    const generated = await generateRegistry({ projectRoot: root, migrationsDir: writtenDir, registryFile, dialect, target: driver === "d1" ? "d1" : null });
    assert.deepEqual(generated.problems, [], driver);
    folders.push(path.relative(root, migrationsDir), path.relative(root, writtenDir), path.relative(root, registryFile));
  }
  writeFileSync(
    path.join(root, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2023"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        incremental: true,
        tsBuildInfoFile: "tsc.tsbuildinfo",
        skipLibCheck: true,
        types: ["node"],
        typeRoots: [path.join(repoRoot, "node_modules", "@types")],
        paths: entryPaths(),
      },
      include: folders,
    }),
  );
  const tsc = await runTsc(root);
  assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr);
});

test("the bin writes the template of the configured driver: pg, libsql-client, D1 (by driver or target) and Durable Objects", { timeout: 120_000 }, async (t) => {
  const project = createTestProject(t);
  const cases: { config: object; entry: string; async: boolean }[] = [
    { config: { dialect: "postgres", driver: "pg" }, entry: "stepwise-migrate/pg", async: true },
    { config: { driver: "libsql-client" }, entry: "stepwise-migrate/libsql-client", async: true },
    { config: { target: "d1" }, entry: "stepwise-migrate/d1", async: true },
    { config: { driver: "d1" }, entry: "stepwise-migrate/d1", async: true },
    { config: { driver: "durable-objects" }, entry: "stepwise-migrate/durable-objects", async: false },
    { config: { driver: "sql-js" }, entry: "stepwise-migrate/sql-js", async: false },
    { config: {}, entry: "stepwise-migrate/better-sqlite3", async: false },
  ];
  for (const [index, { config, entry, async }] of cases.entries()) {
    writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ ...config, migrationsDir: `migrations/${index}` }));
    const created = await runCli(["create", "add nickname"], { cwd: project.root });
    assert.equal(created.code, 0, created.stderr);
    const text = readFileSync(path.join(project.root, created.stdout.trim()), "utf8");
    assert.deepEqual(
      [...text.matchAll(/from "([^"]+)"/g)].map((match) => match[1]),
      [entry],
      JSON.stringify(config),
    );
    assert.equal(/async up\(/.test(text), async, JSON.stringify(config));
  }
  // The program's --driver wins over the config's, as for every command: it picks the template, and with it the dialect's folder.
  writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ driver: "better-sqlite3", migrationsDir: "migrations/flag" }));
  for (const [driver, entry] of [
    ["libsql-client", "stepwise-migrate/libsql-client"],
    ["sql-js", "stepwise-migrate/sql-js"],
  ] as const) {
    const created = await runCli(["--driver", driver, "create", `add ${driver}`], { cwd: project.root });
    assert.equal(created.code, 0, created.stderr);
    const text = readFileSync(path.join(project.root, created.stdout.trim()), "utf8");
    assert.deepEqual(
      [...text.matchAll(/from "([^"]+)"/g)].map((match) => match[1]),
      [entry],
      driver,
    );
  }
  // A Worker's driver picks templates; the runtime commands cannot open it and say so.
  writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ driver: "d1", database: "app.db" }));
  const status = await runCli(["status"], { cwd: project.root });
  assert.equal(status.code, 2, status.stdout + status.stderr);
  assert.match(status.stderr, /^error \[USAGE\]/m);
});
/** A SQL template's example, written, after a migration that makes the table it changes. */
async function replaySqlTemplate(t: { after(fn: () => void): void }, dialect: SqlDialect, url: string | null) {
  const project = createTestProject(t);
  const contacts = dialect === "postgres" ? "CREATE TABLE contacts (id bigint PRIMARY KEY);" : "CREATE TABLE contacts (id INTEGER PRIMARY KEY);";
  project.writeMigration("001_contacts.sql", `-- migrate:up\n${contacts}\n-- migrate:down\nDROP TABLE contacts;\n`);
  const created = await createMigration({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, description: "add nickname", kind: "sql", dialect });
  writeFileSync(created.absolutePath, fillIn(readFileSync(created.absolutePath, "utf8"), "--"));
  const generated = await generateRegistry({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, dialect });
  assert.deepEqual(generated.problems, []);
  const loadRegistry = async (file: string) => ((await importTypeScript(pathToFileURL(file).href, import.meta.url)) as { migrations: MigrationRegistry }).migrations;
  return runReplayCheck({ projectRoot: project.root, registryFile: project.registryFile, dialect, driver: null, tableName: "schema_migrations", url, loadRegistry });
}

test("a SQL template's example is SQL of its dialect: applied and rolled back on SQLite and on PostgreSQL", { timeout: 120_000 }, async (t) => {
  const sqlite = await replaySqlTemplate(t, "sqlite", null);
  assert.deepEqual(sqlite.problems, []);
  assert.deepEqual([sqlite.replay.ran, sqlite.replay.ran && sqlite.replay.rolledBack], [true, 2]);
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const postgres = await replaySqlTemplate(t, "postgres", database.url);
  assert.deepEqual(postgres.problems, []);
  assert.deepEqual([postgres.replay.ran, postgres.replay.ran && postgres.replay.rolledBack], [true, 2]);
});
