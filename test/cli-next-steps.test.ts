/**
 * What the CLI tells a user to do next agrees with itself: `--json`'s `fix` is filled for every code
 * whose message names a next step; an option error points at the command's own help; a driver's
 * missing package is not followed by a `--verbose` offer no stack answers; and the codegen commands'
 * help gives the config's folder and registry as their defaults. The real bin in-process, real files.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { FIX_OF_CODE } from "../src/cli/error-fix.js";
import { driverNotInstalledError } from "../src/cli/errors.js";
import type { StepwiseErrorCode } from "../src/core/errors.js";
import { createTestProject, repoRoot, runCli, type RunResult } from "./support/project.js";

type JsonError = { code: string; fix: unknown } & Record<string, unknown>;
const errorOf = (result: RunResult) => (JSON.parse(result.stdout) as { error: JsonError }).error;

/** Every code of the error union, read from its source. */
function listErrorCodes(): StepwiseErrorCode[] {
  const source = readFileSync(path.join(repoRoot, "src", "core", "errors.ts"), "utf8");
  const body = source.slice(source.indexOf("export interface StepwiseErrorDetails"), source.indexOf("\n}\n", source.indexOf("export interface StepwiseErrorDetails")));
  return [...body.matchAll(/^ {2}readonly ([A-Z0-9_]+):/gm)].map((match) => match[1] as StepwiseErrorCode);
}

/** The codes whose `fix` is not made from the code's table, each with where it comes from instead. */
const FIX_ELSEWHERE: Partial<Record<StepwiseErrorCode, string>> = {
  CHECKSUM_MISMATCH: "details.fix",
  WHOLE_RUN_TRANSACTION_REFUSED: "details.fix",
  ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER: "details.fix",
  ASYNC_IN_SYNC_RUNNER: "details.fix",
  LOCK_TIMEOUT: "details.fix",
  CONNECTION_LOST: "details.fix",
  DRIVER_CAPABILITY_MISSING: "details.fix",
  IRREVERSIBLE_MIGRATION: "details.fix",
  DATABASE_DAMAGED: "details.fix",
  USAGE: "attached where it is thrown (no database, no URL); otherwise the message is the step",
  ASYNC_RUN_IN_PROGRESS: "thrown by the library API only, never by the CLI",
  TRANSACTION_OPEN: "thrown by the library API only, never by the CLI",
};

test("every error code has a way to its --json fix: its details, its thrower, or the CLI's table", () => {
  const codes = listErrorCodes();
  assert.ok(codes.length > 50, `read ${codes.length} codes`);
  const missing = codes.filter((code) => FIX_OF_CODE[code] === undefined && FIX_ELSEWHERE[code] === undefined);
  assert.deepEqual(missing, []);
  for (const code of Object.keys(FIX_ELSEWHERE)) assert.equal(FIX_OF_CODE[code as StepwiseErrorCode], undefined, `${code} is in both`);
});

test("--json's fix is filled for no database, an irreversible migration and an unknown driver; option errors point at the command's help", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  project.writeMigration("002_notes.sql", "-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE notes;\n");
  assert.equal((await project.generate()).ok, true);
  const cwd = project.root;

  const noDatabase = await runCli(["status", "--json"], { cwd, env: { DATABASE_URL: undefined } });
  assert.equal(noDatabase.code, 2);
  assert.equal(errorOf(noDatabase).code, "USAGE");
  assert.match(String(errorOf(noDatabase).fix), /--db/);

  assert.equal((await runCli(["up", "--db", "app.db"], { cwd })).code, 0);
  const irreversible = await runCli(["down", "--to", "0", "--json", "--db", "app.db"], { cwd });
  assert.equal(irreversible.code, 1);
  assert.deepEqual([errorOf(irreversible).code, errorOf(irreversible).version], ["IRREVERSIBLE_MIGRATION", 1]);
  assert.equal(typeof errorOf(irreversible).fix, "string");
  assert.match(String(errorOf(irreversible).fix), /--to 1\b/);

  const unknown = await runCli(["status", "--json", "--driver", "nope", "--db", "app.db"], { cwd });
  assert.equal(errorOf(unknown).code, "DRIVER_UNKNOWN");
  assert.equal(typeof errorOf(unknown).fix, "string");

  // The option error names the command's help, at every depth, not the program's; so does its --json fix.
  for (const [args, help] of [
    [["up", "--bogus"], "stepwise up --help"],
    [["down", "--steps", "x"], "stepwise down --help"],
    [["fleet", "up", "--bogus"], "stepwise fleet up --help"],
    [["gen", "--bogus"], "stepwise gen --help"],
    [["no-such-command"], "stepwise --help"],
  ] as const) {
    const refused = await runCli([...args, "--json"], { cwd });
    assert.equal(refused.code, 2, args.join(" "));
    assert.ok(refused.stderr.includes(`"${help}"`), `${args.join(" ")}: ${refused.stderr}`);
    assert.equal(errorOf(refused).code, "USAGE");
    assert.ok(String(errorOf(refused).fix).includes(`"${help}"`), `${args.join(" ")}: ${refused.stdout}`);
  }
});

test("DRIVER_NOT_INSTALLED carries its fix and offers no --verbose stack", async (t) => {
  const { createCli } = await import("../src/cli/index.js");
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE items;\n");
  assert.equal((await project.generate()).ok, true);
  const migrations = await project.load();
  let [stdout, stderr] = ["", ""];
  const missing = async () => {
    const cause = Object.assign(new Error("Cannot find package 'better-sqlite3'"), { code: "ERR_MODULE_NOT_FOUND" });
    throw driverNotInstalledError({ driver: "better-sqlite3", packageName: "better-sqlite3", installCommand: "npm install better-sqlite3", reason: "missing", cause });
  };
  const cli = createCli({
    migrations,
    database: path.join(project.root, "app.db"),
    drivers: { "better-sqlite3": missing },
    io: { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env: {}, isTTY: false },
  });
  assert.equal(await cli.run(["status", "--json"]), 1);
  const error = (JSON.parse(stdout) as { error: JsonError }).error;
  assert.equal(error.code, "DRIVER_NOT_INSTALLED");
  assert.match(String(error.fix), /npm install better-sqlite3/);
  assert.doesNotMatch(stderr, /--verbose/);
});

test("the codegen commands' help gives the config's folder and registry as defaults, and the page's wording without a config", async (t) => {
  const configured = createTestProject(t, { packageJson: { stepwise: { migrationsDir: "src/migrations", registryFile: "src/generated/registry.ts" } } });
  const plain = createTestProject(t);
  const help = async (cwd: string, args: readonly string[]) => {
    const result = await runCli([...args, "--help"], { cwd });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.replace(/\s+/g, " ");
  };
  for (const command of ["gen", "create", "rebase", "import", "squash"]) {
    const text = await help(configured.root, [command]);
    assert.match(text, /--dir <path> .*\(default: src\/migrations, the config's migrationsDir\)/, command);
    assert.doesNotMatch(text, /\(default: migrations\)/, command);
    if (["gen", "create", "rebase"].includes(command)) assert.match(text, /\(default: src\/generated\/registry\.ts, the config's registryFile\)/, command);
    assert.match(await help(plain.root, [command]), /\(default: the config's migrationsDir, else migrations\)/, command);
  }
  // What to run after writing the template is what create itself prints: the project's gen script, else npx.
  writeFileSync(path.join(configured.root, "package.json"), JSON.stringify({ ...JSON.parse(readFileSync(path.join(configured.root, "package.json"), "utf8")), scripts: { gen: "stepwise gen" } }));
  assert.match(await help(configured.root, ["create"]), /until the migration is written; then run "npm run gen"\./);
  assert.match(await help(plain.root, ["create"]), /until the migration is written; then run "npx stepwise gen"\./);
  const top = await help(configured.root, []);
  assert.match(top, /gen \[options\] check src\/migrations\/ and write src\/generated\/registry\.ts/);
  // The runtime options the config also sets say so.
  assert.match(top, /--table <name> .*\(default: "tableName" in the stepwise config, else schema_migrations\)/);
  assert.match(top, /--schema <name> .*\(default: "schema" in the stepwise config, else public\)/);
});

test("an embedded CLI's help gives the tableName and schema it was given as the defaults of --table and --schema, as --db gives database", async (t) => {
  const { createCli } = await import("../src/cli/index.js");
  const { ALL_DRIVER_LOADERS } = await import("../src/cli/driver-loaders.js");
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE items;\n");
  const migrations = await project.load();
  const helpOf = async (props: { tableName?: string; schema?: string }) => {
    let stdout = "";
    const io = { stdout: (text: string) => void (stdout += text), stderr: () => {}, env: {}, isTTY: false };
    const cli = createCli({ migrations, database: path.join(project.root, "app.db"), drivers: { "better-sqlite3": ALL_DRIVER_LOADERS["better-sqlite3"], pg: ALL_DRIVER_LOADERS.pg }, io, ...props });
    assert.equal(await cli.run(["--help"]), 0);
    return { cli, help: stdout.replace(/\s+/g, " ") };
  };
  const given = await helpOf({ tableName: "app_history", schema: "tenant" });
  assert.match(given.help, /--table <name> history table name \(default: app_history\)/);
  assert.match(given.help, /--schema <name> .*\(default: tenant\)/);
  // The table it names is the one the CLI makes.
  assert.equal(await given.cli.run(["up", "--json"]), 0);
  const db = new (await import("better-sqlite3")).default(path.join(project.root, "app.db"), { readonly: true });
  t.after(() => db.close());
  assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name = 'app_history'").all(), [{ name: "app_history" }]);
});

test("a message that names a next step has it as --json's fix: a registry without migrations, fleet without databases, --schema on SQLite, squash without --to, a missing database, a file that is not SQLite; and the step works", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE items;\n");
  project.writeMigration("002_notes.sql", "-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE notes;\n");
  const cwd = project.root;
  const run = (args: readonly string[], env: Record<string, string | undefined> = {}) => runCli([...args, "--json"], { cwd, env: { DATABASE_URL: undefined, ...env } });
  const refused = async (args: readonly string[], code: string, env: Record<string, string | undefined> = {}) => {
    const result = await run(args, env);
    assert.notEqual(result.code, 0, args.join(" "));
    const error = errorOf(result);
    assert.equal(error.code, code, `${args.join(" ")}: ${result.stdout}`);
    assert.equal(typeof error.fix, "string", `${args.join(" ")}: ${result.stdout}`);
    return String(error.fix);
  };
  const succeeds = async (args: readonly string[], env: Record<string, string | undefined> = {}) => {
    const result = await run(args, env);
    assert.equal(result.code, 0, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
  };

  // A registry that exports no migrations: the gen the fix names writes one.
  mkdirSync(path.join(cwd, "generated"), { recursive: true });
  writeFileSync(path.join(cwd, "generated", "registry.ts"), "// DO NOT EDIT: generated by `stepwise gen`.\nexport const other = 1;\n");
  const skip = { STEPWISE_SKIP_REGISTRY_CHECK: "1" };
  const gen = /"npx stepwise (gen[^"]*)"/.exec(await refused(["status", "--db", "app.db"], "USAGE", skip));
  assert.ok(gen, "names the gen command");
  await succeeds(gen[1]!.split(" "));
  await succeeds(["up", "--db", "app.db"]);

  // fleet with no databases: --db '<glob>'.
  assert.match(await refused(["fleet", "status"], "USAGE"), /--db '<glob>'/);
  await succeeds(["fleet", "status", "--db", "*.db"]);

  // --schema on SQLite: leave it out.
  assert.match(await refused(["status", "--db", "app.db", "--schema", "s"], "USAGE"), /leave out --schema/);
  await succeeds(["status", "--db", "app.db"]);

  // squash without --to: pass --to K.
  assert.match(await refused(["squash"], "USAGE"), /--to K/);

  // A command that needs an existing database, given a path with none.
  for (const args of [
    ["adopt", "--db", "nothere.db"],
    ["verify", "--db", "nothere.db"],
    ["info", "--db", "nothere.db"],
  ]) {
    const fix = await refused(args, "USAGE");
    assert.ok(fix.includes("nothere.db") || fix.includes("stepwise up"), `${args[0]}: ${fix}`);
  }

  // A file that is not SQLite.
  writeFileSync(path.join(cwd, "notadb.db"), "x".repeat(4096));
  assert.match(await refused(["status", "--db", "notadb.db"], "DATABASE_UNUSABLE"), /path/);
});

test("a config whose paths are for one dialect, asked for the other: the fix names only the flags the command has, and following it works", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { migrationsDir: "migrations", registryFile: "generated/registry.ts" } } });
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE items;\n");
  const cwd = project.root;
  const run = (args: readonly string[]) => runCli([...args, "--json"], { cwd, env: { DATABASE_URL: undefined } });
  const pgStatus = ["status", "--driver", "pg", "--url", "postgres://u@127.0.0.1:1/db"];
  const runtime = await run(pgStatus);
  assert.equal(errorOf(runtime).code, "USAGE");
  // status has no --dir or --out.
  assert.doesNotMatch(runtime.stdout, /--dir|--out/);
  assert.match(String(errorOf(runtime).fix), /"dialects"/);
  const gen = await run(["gen", "--dialect", "postgres", "--no-replay"]);
  assert.equal(errorOf(gen).code, "USAGE");
  assert.match(String(errorOf(gen).fix), /pass --dir and --out/);
  const squash = await run(["squash", "--to", "2", "--dialect", "postgres"]);
  assert.equal(errorOf(squash).code, "USAGE", squash.stdout);
  assert.doesNotMatch(String(errorOf(squash).fix), /--out/);
  // Following the fix: gen with both flags works; so does the dialects entry it names, for the runtime too.
  mkdirSync(path.join(cwd, "pg"), { recursive: true });
  writeFileSync(path.join(cwd, "pg", "001_items.sql"), "-- migrate:up\nCREATE TABLE items (id int);\n-- migrate:down\nDROP TABLE items;\n");
  assert.equal((await run(["gen", "--dialect", "postgres", "--dir", "pg", "--out", "generated/pg.ts", "--no-replay"])).code, 0);
  const entry = /add ("dialects": .*\}\}) to /.exec(String(errorOf(runtime).fix))![1]!;
  const manifestFile = path.join(cwd, "package.json");
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as { stepwise: Record<string, unknown> };
  const dialects = (JSON.parse(`{${entry}}`) as { dialects: { postgres: { migrationsDir: string } } }).dialects;
  writeFileSync(manifestFile, JSON.stringify({ ...manifest, stepwise: { ...manifest.stepwise, dialects } }));
  mkdirSync(path.join(cwd, dialects.postgres.migrationsDir), { recursive: true });
  writeFileSync(path.join(cwd, dialects.postgres.migrationsDir, "001_items.sql"), "-- migrate:up\nCREATE TABLE items (id int);\n-- migrate:down\nDROP TABLE items;\n");
  assert.equal((await run(["gen", "--dialect", "postgres", "--no-replay"])).code, 0);
  assert.equal((await run(["gen", "--no-replay"])).code, 0, "the top-level folder stays gen's");
  const after = await run(pgStatus);
  assert.doesNotMatch(String(errorOf(after).code), /^(USAGE|REGISTRY_)/, after.stdout);
});

test("a dialect's own registry file holding the other dialect's registry: REGISTRY_DIALECT_MISMATCH's fix deletes it and runs the gen that writes it, and then the runtime loads it", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { dialects: { postgres: { migrationsDir: "migrations-pg", registryFile: "generated/pg.ts" } } } } });
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE items;\n");
  const cwd = project.root;
  const run = (args: readonly string[]) => runCli([...args, "--json"], { cwd, env: { DATABASE_URL: undefined } });
  assert.equal((await run(["gen", "--no-replay"])).code, 0);
  mkdirSync(path.join(cwd, "migrations-pg"), { recursive: true });
  writeFileSync(path.join(cwd, "migrations-pg", "001_items.sql"), "-- migrate:up\nCREATE TABLE items (id int);\n-- migrate:down\nDROP TABLE items;\n");
  writeFileSync(path.join(cwd, "generated", "pg.ts"), readFileSync(path.join(cwd, "generated", "registry.ts")));
  const pgStatus = ["status", "--driver", "pg", "--url", "postgres://u@127.0.0.1:1/db"];
  const refused = errorOf(await run(pgStatus));
  assert.deepEqual([refused.code, refused.registryDialect, refused.driverDialect], ["REGISTRY_DIALECT_MISMATCH", "sqlite", "postgres"]);
  const step = /^delete (\S+), then run "npx stepwise (gen[^"]*)"/.exec(String(refused.fix));
  assert.ok(step, String(refused.fix));
  assert.equal(step[1], "generated/pg.ts");
  rmSync(path.join(cwd, step[1]!));
  assert.equal((await run([...step[2]!.split(" "), "--no-replay"])).code, 0);
  assert.doesNotMatch(String(errorOf(await run(pgStatus)).code), /^(USAGE|REGISTRY_)/);
});

test("a failed up --to, down --to or down --steps: the fix runs the command again with where it was to stop (a bare up would go past --to), and following it stops there", async (t) => {
  const project = createTestProject(t);
  const table = (name: string, down = `DROP TABLE ${name};`) => `-- migrate:up\nCREATE TABLE ${name} (id INTEGER PRIMARY KEY);\n-- migrate:down\n${down}\n`;
  project.writeMigration("001_a.sql", table("a"));
  project.writeMigration("002_b.sql", "-- migrate:up\nINSERT INTO missing VALUES (1);\n-- migrate:down\nSELECT 1;\n");
  project.writeMigration("003_c.sql", table("c", "DROP TABLE c;\nDROP TABLE missing;"));
  project.writeMigration("004_d.sql", table("d"));
  await project.generateAsBin();
  const cwd = project.root;
  const run = (args: readonly string[]) => runCli([...args, "--db", "app.db", "--json"], { cwd, env: { DATABASE_URL: undefined } });
  const version = async () => Number((await runCli(["version", "--db", "app.db"], { cwd })).stdout.trim());
  /** The command the fix says to run again, with its arguments, after checking it failed with MIGRATION_FAILED. */
  const again = async (args: readonly string[]) => {
    const result = await run(args);
    assert.equal(result.code, 1, result.stdout);
    const error = errorOf(result);
    assert.equal(error.code, "MIGRATION_FAILED", result.stdout);
    const command = /"stepwise ((?:up|down)[^"]*)" again/.exec(String(error.fix));
    assert.ok(command, String(error.fix));
    assert.ok(result.stderr.includes(`Next: ${String(error.fix)}`), result.stderr);
    return command[1]!;
  };

  assert.equal(await again(["up", "--to", "3"]), "up --db app.db --to 3");
  assert.equal(await again(["up", "--to", "2", "--transaction", "all"]), "up --db app.db --to 2 --transaction all");
  assert.equal(await again(["up"]), "up --db app.db", "a run to the newest repeats nothing");
  project.writeMigration("002_b.sql", table("b"));
  await project.generateAsBin();
  const followed = await runCli(["up", "--db", "app.db", "--to", "3"], { cwd });
  assert.equal(followed.code, 0, followed.stderr);
  assert.equal(await version(), 3);
  assert.equal((await runCli(["up", "--db", "app.db"], { cwd })).code, 0);

  // At 4, 003's down fails: each run kept 004's revert, so --steps is repeated as the version it aimed at.
  assert.equal(await again(["down", "--steps", "3"]), "down --db app.db --to 1");
  assert.equal(await version(), 3);
  assert.equal(await again(["down", "--to", "0"]), "down --db app.db --to 0");
  assert.equal(await again(["down", "--steps", "2", "--transaction", "all"]), "down --db app.db --steps 2 --transaction all", "one transaction kept nothing");
  assert.equal(await again(["down"]), "down --db app.db");
  assert.equal(await version(), 3);

  project.writeMigration("003_c.sql", table("c"));
  await project.generateAsBin();
  assert.equal((await run(["repair", "--checksums", "3", "--yes"])).code, 0);
  const reverted = await runCli(["down", "--db", "app.db", "--to", "1"], { cwd });
  assert.equal(reverted.code, 0, reverted.stderr);
  assert.equal(await version(), 1);
});

test("INVALID_TARGET for a --to on the other side of the database: --json's fix is the command the message names, and following it reaches that version", async (t) => {
  const project = createTestProject(t);
  for (const [index, name] of ["a", "b", "c"].entries())
    project.writeMigration(`00${index + 1}_${name}.sql`, `-- migrate:up\nCREATE TABLE ${name} (id INTEGER);\n-- migrate:down\nDROP TABLE ${name};\n`);
  await project.generateAsBin();
  const cwd = project.root;
  const fixOf = async (args: readonly string[]) => {
    const result = await runCli([...args, "--db", "app.db", "--json"], { cwd });
    assert.equal(result.code, 1, result.stdout);
    const error = errorOf(result);
    assert.equal(error.code, "INVALID_TARGET");
    return String(error.fix);
  };
  assert.equal((await runCli(["up", "--db", "app.db", "--to", "2"], { cwd })).code, 0);
  assert.equal(await fixOf(["up", "--to", "1"]), 'run "stepwise down --db app.db --to 1"');
  assert.equal(await fixOf(["down", "--to", "3"]), 'run "stepwise up --db app.db --to 3"');
  assert.match(await fixOf(["up", "--to", "9"]), /^pass a version the registry has/);
  const followed = await runCli(["down", "--db", "app.db", "--to", "1"], { cwd });
  assert.equal(followed.code, 0, followed.stderr);
  assert.equal((await runCli(["version", "--db", "app.db"], { cwd })).stdout.trim(), "1");
});
