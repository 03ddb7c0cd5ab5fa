/**
 * The advice `up` and `down` print when they refuse leads somewhere: every `"stepwise …"` command a
 * refusal names (in its message and its `fix`) is run, in order, through the bin in-process, and
 * must succeed and end at the version the refused command aimed for. Across the class: a
 * `--transaction all` run whose obstacles sit first, last, between and after other steps, `up` and
 * `down`, on SQLite and PostgreSQL; `down --to` above the current version (a version the registry
 * has, one it lacks, one inside a squash); `up --to` below it where `down` cannot get there; `down`
 * stopped by a migration without a down, the newest or one below it. And `down` with nothing applied.
 * Asserts exit codes, error codes and fields.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTestProject, makeTempDir, runCli, type RunResult, type TestProject } from "./support/project.js";
import Database from "better-sqlite3";
import { createTestDatabase } from "./support/postgres-server.js";
import { jsonOutput, runInProcess } from "./support/in-process-cli.js";
import { namedSqlEntry as sqlEntry, tsEntry, type PortableConnection } from "./support/registry-builders.js";
import type { MigrationRegistry } from "../src/core/types.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field
type Json = Record<string, any>;

const table = (name: string, marker = "") => `-- migrate:up${marker}\nCREATE TABLE ${name} (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE ${name};\n`;

/** Migrations 3 and 5 cannot run in a transaction; the others can. */
const MIXED = {
  "001_one.sql": table("one"),
  "002_two.sql": table("two"),
  "003_three.sql": table("three", " transaction:false"),
  "004_four.sql": table("four"),
  "005_five.sql": table("five", " transaction:false"),
};

function parse(result: RunResult, code: number): Json {
  assert.equal(result.code, code, `expected exit ${code}, got ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(result.stdout) as Json;
}

/** The `"stepwise …"` commands a text names, in order, as argument lists. */
function commandsIn(text: string): string[][] {
  return [...text.matchAll(/"stepwise ([^"]+)"/g)].map((match) => match[1]!.split(" "));
}

/** `command` as text without the options that picked the database (`target`: option, value, ...), which a `fix` must repeat after the command's name. */
function withoutTarget(command: readonly string[], target: readonly string[]): string {
  let text = command.join(" ");
  for (let index = 0; index < target.length; index += 2) {
    const pair = ` ${target[index]} ${target[index + 1]}`;
    assert.ok(text.includes(pair), `${text} lacks${pair}`);
    text = text.replace(pair, "");
  }
  return text;
}

async function projectOf(t: Parameters<typeof createTestProject>[0], migrations: Record<string, string>, config: Record<string, string> = { database: "data/app.db" }): Promise<TestProject> {
  const project = createTestProject(t, { packageJson: { stepwise: config } });
  for (const [file, text] of Object.entries(migrations)) project.writeMigration(file, text);
  await project.generateAsBin();
  return project;
}

/** Runs `args` with `--json` against the project's database (or `connection`'s). */
function cliOf(project: TestProject, connection: readonly string[] = []) {
  return async (args: readonly string[], code = 0) => parse(await runCli([...args, ...connection, "--json"], { cwd: project.root, env: { DATABASE_URL: undefined } }), code);
}

/** Each case: the database's version before, the refused command, the calls its `fix` must name, and the version they must end at. */
const WHOLE_RUN_CASES: readonly { from: number; args: string[]; calls: string[]; end: number }[] = [
  // Obstacle after a stretch, and last: the stretch keeps --transaction all, then plain up (the case the docs' reader met).
  { from: 3, args: ["up"], calls: ["up --to 4 --transaction all", "up"], end: 5 },
  // Obstacle first and last of the run.
  { from: 4, args: ["up"], calls: ["up"], end: 5 },
  // Obstacle first and last, aimed below the latest: --to kept.
  { from: 2, args: ["up", "--to", "3"], calls: ["up --to 3"], end: 3 },
  // Obstacle between two stretches.
  { from: 0, args: ["up", "--to", "4"], calls: ["up --to 2 --transaction all", "up --to 3", "up --to 4 --transaction all"], end: 4 },
  // Obstacle first, a stretch after it.
  { from: 2, args: ["up", "--to", "4"], calls: ["up --to 3", "up --to 4 --transaction all"], end: 4 },
  // Too many parts: the stretch before the first obstacle, then the rest one per transaction.
  { from: 0, args: ["up"], calls: ["up --to 2 --transaction all", "up"], end: 5 },
  // down: obstacle first, then a stretch.
  { from: 5, args: ["down", "--to", "3"], calls: ["down --to 4", "down --to 3 --transaction all"], end: 3 },
  // down: a stretch, then the obstacle last.
  { from: 4, args: ["down", "--to", "2"], calls: ["down --to 3 --transaction all", "down --to 2"], end: 2 },
  // down: obstacle between two stretches, through --steps.
  { from: 4, args: ["down", "--steps", "3"], calls: ["down --to 3 --transaction all", "down --to 2", "down --to 1 --transaction all"], end: 1 },
  // down: too many parts, the first an obstacle.
  { from: 5, args: ["down", "--to", "0"], calls: ["down --to 0"], end: 0 },
];

/** Brings the database to `version`, runs each case's refused command, then its fix's calls. */
async function checkWholeRunAdvice(cli: ReturnType<typeof cliOf>, target: readonly string[] = []): Promise<void> {
  for (const { from, args, calls, end } of WHOLE_RUN_CASES) {
    const label = `${args.join(" ")} from ${from}`;
    await cli(["up"]);
    await cli(["down", "--to", "0"]);
    if (from > 0) await cli(["up", "--to", String(from)]);
    const refused = (await cli([...args, "--transaction", "all"], 1)).error as Json;
    assert.equal(refused.code, "WHOLE_RUN_TRANSACTION_REFUSED", `${label}: ${JSON.stringify(refused)}`);
    assert.equal(refused.version, args[0] === "up" ? [3, 5].find((version) => version > from) : [5, 3].find((version) => version <= from), label);
    const named = commandsIn(String(refused.fix));
    assert.deepEqual(
      named.map((command) => withoutTarget(command, target)),
      calls,
      label,
    );
    for (const command of named) await cli(command);
    assert.equal((await cli(["status"])).currentVersion, end, label);
  }
}

test("--transaction all refused: the fix's calls keep --transaction all for every stretch that can share one, run each obstacle alone, aim only at versions the run reaches, and all succeed (SQLite)", async (t) => {
  const project = await projectOf(t, MIXED);
  await checkWholeRunAdvice(cliOf(project));
});

test("--transaction all refused on PostgreSQL: the same calls, and they succeed", async (t) => {
  const project = await projectOf(t, MIXED, { dialect: "postgres" });
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const target = ["--driver", "pg", "--url", database.url];
  await checkWholeRunAdvice(cliOf(project, target), target);
});

test("down --to above the current version names up --to only for a version up takes; up --to below it names down --to only when down gets there", async (t) => {
  const project = await projectOf(t, { "001_one.sql": table("one"), "002_two.sql": "-- migrate:up\nCREATE TABLE two (id INTEGER PRIMARY KEY);\n", "003_three.sql": table("three") });
  const cli = cliOf(project);
  await cli(["up", "--to", "1"]);
  for (const target of [2, 3, 4, 9]) {
    const refused = (await cli(["down", "--to", String(target)], 1)).error as Json;
    assert.deepEqual([refused.code, refused.target], ["INVALID_TARGET", target]);
    const named = commandsIn(String(refused.message));
    assert.deepEqual(
      named.map((command) => command.join(" ")),
      target <= 3 ? [`up --to ${target}`] : [],
      `down --to ${target}`,
    );
  }
  // At 3: down --to 2 gets there; down --to 1 would pass 2, which has no down.
  await cli(["up"]);
  const reachable = (await cli(["up", "--to", "2"], 1)).error as Json;
  assert.deepEqual(commandsIn(String(reachable.message)), [["down", "--to", "2"]]);
  await cli(commandsIn(String(reachable.message))[0]!);
  await cli(["up"]);
  const blocked = (await cli(["up", "--to", "1"], 1)).error as Json;
  assert.deepEqual([blocked.code, blocked.target], ["INVALID_TARGET", 1]);
  assert.deepEqual(commandsIn(String(blocked.message)), [], "no down --to that IRREVERSIBLE_MIGRATION would refuse");
});

/** The original 1..6 and what gen writes for a squash of 1..3 over them (as squash-drivers.test.ts builds it): the replaced versions run nothing; the squash accepts 3's checksum. */
const ORIGINAL: MigrationRegistry = ["one", "two", "three", "four", "five", "six"].map((name, index) =>
  sqlEntry(index + 1, name, `CREATE TABLE ${name} (id INTEGER PRIMARY KEY);`, `DROP TABLE ${name};`),
);
const SQUASH_FILE = "migrations/003_squash_1_to_3.sql";
const SQUASHED: MigrationRegistry = [
  ...[1, 2].map((version) => ({ ...ORIGINAL[version - 1]!, file: SQUASH_FILE, upSql: "", downSql: null, reversible: false, squashedInto: 3 })),
  sqlEntry(3, "squash_1_to_3", "CREATE TABLE one (id INTEGER PRIMARY KEY); CREATE TABLE two (id INTEGER PRIMARY KEY); CREATE TABLE three (id INTEGER PRIMARY KEY);", null, {
    file: SQUASH_FILE,
    checksum: "sha256:squash",
    legacyChecksum: "sha256:3",
    squashedInto: 3,
  }),
  ...ORIGINAL.slice(3),
];

function inProcess(t: Parameters<typeof createTestProject>[0]) {
  const dir = createTestProject(t).root;
  return (registry: MigrationRegistry, file = path.join(dir, "app.db")) =>
    async (args: readonly string[], code = 0) =>
      jsonOutput<Json>(await runInProcess({ migrations: registry, cwd: dir }, ["--db", file, ...args, "--json"]), code);
}

test("down --to a version a squash replaced names up --to the squash, which succeeds", async (t) => {
  const dir = createTestProject(t).root;
  // An empty file is an empty SQLite database: at version 0.
  writeFileSync(path.join(dir, "app.db"), "");
  const file = path.join(dir, "app.db");
  const cli = inProcess(t)(SQUASHED, file);
  const refused = (await cli(["down", "--to", "2"], 1)).error as Json;
  assert.deepEqual([refused.code, refused.target], ["INVALID_TARGET", 2]);
  // The commands a message names reach the database the run was given.
  const named = commandsIn(String(refused.message));
  assert.deepEqual(named, [["up", "--db", file, "--to", "3"]]);
  await cli(named[0]!);
  assert.equal((await cli(["status"])).currentVersion, 3);
  // Below the squash: from above it, down --to the squash is named and works; at the squash, no down target is left to name.
  await cli(["up", "--to", "4"]);
  const below = (await cli(["down", "--to", "1"], 1)).error as Json;
  assert.deepEqual([below.code, below.version, below.target], ["DOWN_BELOW_SQUASH", 3, 1]);
  assert.deepEqual(commandsIn(String(below.message)), [["down", "--db", file, "--to", "3"]]);
  await cli(["down", "--to", "3"]);
  const atSquash = (await cli(["down"], 1)).error as Json;
  assert.deepEqual([atSquash.code, atSquash.version], ["DOWN_BELOW_SQUASH", 3]);
  assert.deepEqual(commandsIn(String(atSquash.message)), []);
});

test("status after a squash lists as pending exactly what up then applies, and its count agrees, on a fresh database and on ones the originals or the squash migrated", async (t) => {
  const on = inProcess(t);
  const check = async (label: string, before: (original: ReturnType<typeof on>, squashed: ReturnType<typeof on>) => Promise<unknown>) => {
    const file = path.join(createTestProject(t).root, "app.db");
    const original = on(ORIGINAL, file);
    const squashed = on(SQUASHED, file);
    await before(original, squashed);
    const status = await squashed(["status"]);
    const pending = (status.migrations as Json[]).filter((row) => row.state === "pending").map((row) => row.version as number);
    assert.equal(status.pendingCount, pending.length, label);
    const up = await squashed(["up"]);
    assert.deepEqual(
      (up.steps as Json[]).map((step) => step.version),
      pending,
      label,
    );
    const after = await squashed(["status"]);
    assert.deepEqual([after.pendingCount, (after.migrations as Json[]).map((row) => [row.version, row.state])], [0, SQUASHED.map((entry) => [entry.version, "applied"])], label);
  };
  await check("fresh", async () => {});
  await check("at 3 by the originals", (original) => original(["up", "--to", "3"]));
  await check("at 4 by the originals", (original) => original(["up", "--to", "4"]));
  await check("at 4 by the squash", (_, squashed) => squashed(["up", "--to", "4"]));
  // Fresh: the replaced versions are not listed, the squash and what follows are.
  const fresh = on(SQUASHED, path.join(createTestProject(t).root, "app.db"));
  const status = await fresh(["status"]);
  assert.deepEqual([status.currentVersion, status.latestVersion, status.pendingCount, (status.migrations as Json[]).map((row) => row.version)], [0, 6, 4, [3, 4, 5, 6]]);
});

test("down stopped by a migration without a down: below the newest, down --to it works; the newest, adding a down, gen and repair --checksums as named makes down work", async (t) => {
  const project = await projectOf(t, {
    "001_one.sql": table("one"),
    "002_two.sql": "-- migrate:up\nCREATE TABLE two (id INTEGER PRIMARY KEY);\n",
    "003_three.sql": table("three"),
    "004_four.sql": table("four"),
  });
  const cli = cliOf(project);
  await cli(["up"]);
  const below = (await cli(["down", "--to", "0"], 1)).error as Json;
  assert.deepEqual([below.code, below.version], ["IRREVERSIBLE_MIGRATION", 2]);
  const suggested = commandsIn(String(below.message));
  assert.deepEqual(suggested[0], ["down", "--to", "2"]);
  // --json's fix says what the message says.
  assert.deepEqual(commandsIn(String(below.fix)), suggested);
  await cli(suggested[0]!);
  assert.equal((await cli(["status"])).currentVersion, 2);

  const newest = (await cli(["down"], 1)).error as Json;
  assert.deepEqual([newest.code, newest.version], ["IRREVERSIBLE_MIGRATION", 2]);
  const named = commandsIn(String(newest.message));
  // The fix's line, after "Nothing was changed.", is a sentence of its own.
  assert.match(String(newest.message).split("\n")[1] ?? "", /^To make it reversible, add a down/);
  assert.deepEqual(commandsIn(String(newest.fix)), named);
  assert.ok(
    named.every((command) => command[0] !== "down"),
    "no down target exists above the newest",
  );
  // Follow the advice: add a down, gen, then the repair it names, with --yes.
  project.writeMigration("002_two.sql", table("two"));
  const generated = await project.generate();
  assert.equal(generated.ok, true, JSON.stringify(generated));
  assert.equal((await cli(["down"], 1)).error.code, "CHECKSUM_MISMATCH", "adding a down changes the checksum, as the advice says");
  const repair = named.find((command) => command[0] === "repair")!;
  assert.deepEqual(repair, ["repair", "--checksums", "2"]);
  await cli([...repair, "--yes"]);
  assert.equal((await cli(["down"])).toVersion, 1);
});

test("down with nothing applied is a no-op that succeeds, as up with nothing pending; an explicit --steps beyond what is applied stays INVALID_TARGET", async (t) => {
  const project = await projectOf(t, { "001_one.sql": table("one"), "002_two.sql": table("two") });
  const cli = cliOf(project);
  await cli(["up"]);
  await cli(["down", "--to", "0"]);
  const nothing = await cli(["down"]);
  assert.deepEqual([nothing.direction, nothing.fromVersion, nothing.toVersion, nothing.steps], ["down", 0, 0, []]);
  const text = await runCli(["down"], { cwd: project.root });
  assert.equal(text.code, 0, text.stderr);
  for (const args of [
    ["down", "--steps", "1"],
    ["down", "--steps", "3"],
  ]) {
    const refused = (await cli(args, 1)).error as Json;
    assert.equal(refused.code, "INVALID_TARGET", args.join(" "));
  }
  await cli(["up", "--to", "1"]);
  assert.equal((await cli(["down", "--steps", "2"], 1)).error.code, "INVALID_TARGET");
});

test("down --steps beyond what is applied reports the count asked and the current version, no negative target, and its advice reverts them all", async (t) => {
  const project = await projectOf(t, { "001_one.sql": table("one"), "002_two.sql": table("two"), "003_three.sql": table("three") });
  const cli = cliOf(project);
  await cli(["up"]);
  const refused = (await cli(["down", "--steps", "100"], 1)).error as Json;
  assert.deepEqual([refused.code, refused.target, refused.steps, refused.currentVersion], ["INVALID_TARGET", null, 100, 3]);
  assert.equal((await cli(["status"])).currentVersion, 3, "nothing was reverted");
  assert.deepEqual(commandsIn(String(refused.fix)), [["down", "--to", "0"]]);
  assert.deepEqual(commandsIn(String(refused.message)), [["down", "--to", "0"]]);
  assert.equal((await cli(commandsIn(String(refused.fix))[0]!)).toVersion, 0);
  const none = (await cli(["down", "--steps", "1"], 1)).error as Json;
  assert.deepEqual([none.code, none.target, none.steps, none.currentVersion], ["INVALID_TARGET", null, 1, 0]);
  assert.deepEqual(commandsIn(`${String(none.message)} ${String(none.fix)}`), [], "nothing applied: no down to name");
});

test("an applied migration renumbered by a branch is CHECKSUM_MISMATCH naming the migration the history recorded, not an edit; its fix, run with the numbering that applied it, then up, migrates to the end", async (t) => {
  const project = await projectOf(t, { "001_one.sql": table("one"), "002_add_x.sql": table("x") });
  const cli = cliOf(project);
  await cli(["up"]);
  const [numberedAsApplied, renumbered] = [path.join(project.migrationsDir, "002_add_x.sql"), path.join(project.migrationsDir, "003_add_x.sql")];
  const renumber = async () => {
    renameSync(numberedAsApplied, renumbered);
    project.writeMigration("002_add_y.sql", table("y"));
    await project.generateAsBin();
  };
  await renumber();
  const refused = (await cli(["up"], 1)).error as Json;
  assert.deepEqual(
    [refused.code, refused.version, refused.recordedName, refused.replaced, refused.renumberedTo],
    ["CHECKSUM_MISMATCH", 2, "add_x", true, { version: 3, file: "migrations/003_add_x.sql" }],
  );
  assert.deepEqual((await cli(["status"], 1)).problem.fix, refused.fix, "status gives up's refusal");
  assert.equal((await cli(["repair", "--checksums", "2"], 1)).error.code, "INVALID_TARGET", "not realigned as an edit");
  // The fix's command, with the numbering the database was migrated with; then this numbering's up.
  rmSync(path.join(project.migrationsDir, "002_add_y.sql"));
  renameSync(renumbered, numberedAsApplied);
  await project.generateAsBin();
  const [, ...command] = String(refused.fix.command).split(" ");
  assert.equal((await cli(command)).toVersion, 1);
  await renumber();
  assert.deepEqual([(await cli(["up"])).toVersion, (await cli(["status"])).problem], [3, null]);
});

test("a rehearsal refused by a migration that cannot join its transaction names up --dry-run --to only for a pending version before it, and that rehearsal succeeds; for the first pending it names none", async (t) => {
  const project = await projectOf(
    t,
    { "001_one.sql": table("one"), "002_two.sql": table("two"), "003_three.sql": table("three", " transaction:false"), "004_four.sql": table("four") },
    { dialect: "postgres" },
  );
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const target = ["--driver", "pg", "--url", database.url];
  const cli = cliOf(project, target);
  for (const { from, rehearsableTo } of [
    { from: 0, rehearsableTo: 2 },
    { from: 1, rehearsableTo: 2 },
    { from: 2, rehearsableTo: null },
  ]) {
    if (from > 0) await cli(["up", "--to", String(from)]);
    const refused = (await cli(["up", "--dry-run"], 1)).error as Json;
    assert.deepEqual([refused.code, refused.version, refused.rehearsableTo], ["REHEARSAL_REFUSED", 3, rehearsableTo], `from ${from}`);
    // The message and the fix repeat the options that picked the database.
    const named = [...commandsIn(String(refused.message)), ...commandsIn(String(refused.fix))];
    assert.deepEqual(
      named.map((command) => withoutTarget(command, target)),
      rehearsableTo === null ? [] : [`up --dry-run --to ${rehearsableTo}`, `up --dry-run --to ${rehearsableTo}`],
      `from ${from}`,
    );
    assert.match(String(refused.fix), /copy/);
    for (const command of named) assert.equal((await cli(command)).ok, true, command.join(" "));
    assert.equal((await cli(["status"])).currentVersion, from, "a rehearsal changes nothing");
  }
});

test("a registry of the other dialect in the one registry file both dialects share: the fix names the registry's driver and a dialects entry, and both ways work", async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const pgArgs = ["--driver", "pg", "--url", database.url];
  for (const registryDialect of ["postgres", "sqlite"] as const) {
    const other = registryDialect === "postgres" ? "sqlite" : "postgres";
    const project = await projectOf(t, { "001_one.sql": table("one") }, registryDialect === "postgres" ? { dialect: "postgres" } : {});
    const cli = cliOf(project);
    const [registryArgs, otherArgs] = registryDialect === "postgres" ? [pgArgs, ["--db", "x.db"]] : [["--db", "x.db"], pgArgs];
    const refused = (await cli(["status", ...otherArgs], 1)).error as Json;
    assert.deepEqual([refused.code, refused.registryDialect, refused.driverDialect], ["REGISTRY_DIALECT_MISMATCH", registryDialect, other], registryDialect);
    // The registry's driver: named, and it runs.
    const driverFlag = registryDialect === "postgres" ? "--driver pg" : "--driver better-sqlite3";
    assert.ok(String(refused.fix).includes(`"${driverFlag}"`), String(refused.fix));
    assert.equal((await cli(["up", ...registryArgs])).toVersion, 1);
    // Or a registry of its own for the other dialect: the dialects entry named, then the gen named, then the refused command runs.
    const entry = /add ("dialects": .*\}\}) to the config/.exec(String(refused.fix));
    assert.ok(entry, String(refused.fix));
    const packageJson = path.join(project.root, "package.json");
    const manifest = JSON.parse(readFileSync(packageJson, "utf8")) as Json;
    manifest.stepwise = { ...manifest.stepwise, ...(JSON.parse(`{${entry[1]}}`) as Json) };
    writeFileSync(packageJson, JSON.stringify(manifest));
    const otherDir = path.join(project.root, (JSON.parse(`{${entry[1]}}`) as Json).dialects[other].migrationsDir as string);
    mkdirSync(otherDir, { recursive: true });
    writeFileSync(path.join(otherDir, "001_one.sql"), table("one"));
    const gen = commandsIn(String(refused.fix)).find((command) => command[0] === "gen")!;
    assert.deepEqual(gen, ["gen", "--dialect", other]);
    await cli([...gen, "--no-replay"]);
    assert.equal((await cli(["up", ...otherArgs])).toVersion, 1, registryDialect);
    await cli(["down", "--to", "0", ...pgArgs]);
  }
});

test("a transaction: false migration that fails names repair --applied N --yes and repair --forget N --yes, and each succeeds; after --forget, up runs it again", async (t) => {
  for (const which of ["applied", "forget"] as const) {
    const project = await projectOf(t, {
      "001_one.sql": table("one"),
      "002_two.sql": "-- migrate:up transaction:false\nSELECT * FROM missing_table;\n-- migrate:down\nSELECT 1;\n",
    });
    const cli = cliOf(project);
    const failed = (await cli(["up"], 1)).error as Json;
    assert.deepEqual([failed.code, failed.version, failed.rolledBack], ["MIGRATION_FAILED", 2, false]);
    const named = commandsIn(String(failed.fix));
    assert.deepEqual(
      named.map((command) => command.join(" ")),
      ["repair --applied 2 --yes", "repair --forget 2 --yes"],
    );
    await cli(named.find((command) => command[1] === `--${which}`)!);
    const status = await cli(["status"]);
    assert.equal(status.currentVersion, which === "applied" ? 2 : 1, which);
    if (which === "forget") {
      project.writeMigration("002_two.sql", "-- migrate:up transaction:false\nCREATE TABLE two (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE two;\n");
      await project.generateAsBin();
      assert.equal((await cli(["up"])).toVersion, 2);
    }
  }
});

test("a stepwise database read through another --table is UNMANAGED_DATABASE whose fix names the default history table; following it reads the history, and nothing was created", async (t) => {
  const cwd = makeTempDir(t);
  const registry: MigrationRegistry = [sqlEntry(1, "one", "CREATE TABLE one (id INTEGER PRIMARY KEY);")];
  const run = (args: readonly string[]) => runInProcess({ migrations: registry, cwd }, [...args, "--db", "app.db", "--json"]);
  jsonOutput(await run(["up"]));
  // status exits 1 on a refusal up would meet.
  const refused = jsonOutput<{ problem: { code: string; fix: string } }>(await run(["status", "--table", "app_migrations"]), 1);
  assert.equal(refused.problem.code, "UNMANAGED_DATABASE");
  const flag = /pass (--table \w+)/.exec(refused.problem.fix)?.[1]?.split(" ");
  assert.deepEqual(flag, ["--table", "schema_migrations"]);
  assert.deepEqual(jsonOutput(await run(["status", ...flag!])), jsonOutput(await run(["status"])));
  const tables = new Database(path.join(cwd, "app.db"), { readonly: true });
  t.after(() => tables.close());
  assert.deepEqual(tables.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all(), ["one", "schema_migrations"]);
});

test("a migration that closes its connection is MIGRATION_FAILED with connectionClosed, whose fix names no repair a transactional one cannot take; status then shows where it stands", async (t) => {
  for (const transaction of [true, false]) {
    const cwd = makeTempDir(t);
    const registry: MigrationRegistry = [sqlEntry(1, "one", "CREATE TABLE one (id INTEGER PRIMARY KEY);"), tsEntry(2, { transaction, up: (db: PortableConnection) => void db.close() })];
    const run = (args: readonly string[], code = 0) => runInProcess({ migrations: registry, cwd }, [...args, "--db", "app.db", "--json"]).then((result) => jsonOutput<Json>(result, code));
    const failed = (await run(["up"], 1)).error as Json;
    assert.deepEqual([failed.code, failed.version, failed.rolledBack, failed.connectionClosed], ["MIGRATION_FAILED", 2, false, true], `transaction: ${transaction}`);
    assert.deepEqual(
      commandsIn(String(failed.fix)).map((command) => command[0]),
      ["gen", "status", "up"],
      `transaction: ${transaction}`,
    );
    // A transactional one is pending again, as the fix's up needs; a transaction: false one is interrupted, which status names with its repair.
    const status = await run(["status"], transaction ? 0 : 1);
    assert.equal(status.currentVersion, 1);
    if (transaction) assert.equal(status.pendingCount, 1);
    else assert.equal(status.problem.code, "INCOMPLETE_MIGRATION");
  }
});
