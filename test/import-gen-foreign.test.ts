/**
 * `gen` on a folder of another tool's migrations names the exact `stepwise import` command, and that command (run as printed) ports the folder so `gen` passes; and `gen` never writes an empty
 * registry from a folder whose only migration-like content sits in subfolders. gen in-process, the bin in-process.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { block, commandsOf, guideBlocks } from "./support/guide-blocks.js";
import { createTestProject, fixturesDir, repoRoot, runCli } from "./support/project.js";

const TOOLS: Record<string, string> = {
  diesel: "Diesel",
  sqlx: "sqlx",
  dbmate: "dbmate",
  "golang-migrate": "golang-migrate or sqlx",
  goose: "goose",
  flyway: "Flyway",
  drizzle: "drizzle",
  prisma: "Prisma",
};

for (const [id, tool] of Object.entries(TOOLS)) {
  test(`gen on a ${tool} folder names "stepwise import ${id}", and the commands it prints port the folder`, async (t) => {
    const project = createTestProject(t);
    cpSync(path.join(fixturesDir, "import", id), project.migrationsDir, { recursive: true });
    // dbmate's fixture has small versions, which gen reads as stepwise's own files (they already use its markers); dbmate writes timestamps.
    if (id === "dbmate") makeVersionsTimestamps(project.migrationsDir);
    const result = await project.generate();
    assert.deepEqual(
      result.problems.map((problem) => [problem.code, problem.foreign?.tool]),
      [["FOREIGN_MIGRATIONS", tool]],
    );
    assert.equal(existsSync(project.registryFile), false);
    const command = /"git mv (\S+) (\S+) && stepwise import (\S+) (\S+)"/.exec(result.problems[0]!.message);
    assert.ok(command, result.problems[0]!.message);
    // The look-alike pair is named together: the user picks one by the database's history table.
    const [named, folder] = tool === "golang-migrate or sqlx" ? ["golang-migrate|sqlx", "migrations-imported"] : [id, `migrations-${id}`];
    assert.deepEqual(command.slice(1), ["migrations", folder, named, folder]);

    renameSync(path.join(project.root, command[1]!), path.join(project.root, command[2]!));
    const imported = await runCli(["import", id, command[4]!, "--empty-down", "irreversible", "--yes"], { cwd: project.root });
    assert.equal(imported.code, 0, imported.stderr);
    const gen = await runCli(["gen"], { cwd: project.root });
    assert.equal(gen.code, 0, gen.stderr);
  });
}

/** A project whose migrations folder holds the golang-migrate fixture renamed to 14-digit timestamps, as `migrate create` and `sqlx migrate add -r` both name files. */
function timestampedUpDownProject(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t);
  cpSync(path.join(fixturesDir, "import", "golang-migrate"), project.migrationsDir, { recursive: true });
  makeVersionsTimestamps(project.migrationsDir);
  return project;
}

test("gen on 14-digit .up.sql/.down.sql pairs names both golang-migrate and sqlx with their history tables, and each printed import ports the folder", async (t) => {
  for (const tool of ["golang-migrate", "sqlx"]) {
    const project = timestampedUpDownProject(t);
    const result = await project.generate();
    assert.deepEqual(
      result.problems.map((problem) => [problem.code, problem.foreign?.tool]),
      [["FOREIGN_MIGRATIONS", "golang-migrate or sqlx"]],
    );
    const message = result.problems[0]!.message;
    assert.match(message, /_sqlx_migrations/);
    assert.match(message, /schema_migrations/);
    const command = /"git mv (\S+) (\S+) && stepwise import golang-migrate\|sqlx (\S+)"/.exec(message);
    assert.ok(command, message);
    renameSync(path.join(project.root, command[1]!), path.join(project.root, command[2]!));
    const imported = await runCli(["import", tool, command[3]!, "--empty-down", "irreversible", "--yes", "--json"], { cwd: project.root });
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal((JSON.parse(imported.stdout) as { tool: string }).tool, tool);
    assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  }
});

test("gen on 14-digit .up.sql/.down.sql pairs names sqlx alone where sqlx shows: a -- no-transaction first line, a sqlx.toml or Cargo.toml beside or above the folder", async (t) => {
  const cases: Record<string, (project: ReturnType<typeof createTestProject>) => void> = {
    "no-transaction": (project) => writeFileSync(path.join(project.migrationsDir, "20240101000003_add_email.up.sql"), "-- no-transaction\nSELECT 1;\n"),
    "sqlx.toml beside": (project) => writeFileSync(path.join(project.root, "sqlx.toml"), "[migrate]\n"),
    "Cargo.toml above": (project) => {
      const below = path.join(project.root, "crates", "db");
      mkdirSync(below, { recursive: true });
      renameSync(project.migrationsDir, path.join(below, "migrations"));
      writeFileSync(path.join(project.root, "crates", "Cargo.toml"), '[package]\nname = "db"\n');
      writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ migrationsDir: "crates/db/migrations" }));
    },
  };
  for (const [name, arrange] of Object.entries(cases)) {
    const project = timestampedUpDownProject(t);
    arrange(project);
    const gen = await runCli(["gen", "--json"], { cwd: project.root });
    const problems = (JSON.parse(gen.stdout) as { problems: { code: string; message: string }[] }).problems;
    assert.deepEqual(
      problems.map((problem) => problem.code),
      ["FOREIGN_MIGRATIONS"],
      name,
    );
    assert.match(problems[0]!.message, / && stepwise import sqlx /, name);
  }
});

test("gen writes no empty registry when the only migration-like files are in subfolders, in shapes no tool check recognises", async (t) => {
  for (const file of ["archive/V1__init.sql", "sql/2019-01-01-000000_x/up.sql", "old/2021/001-init.sql", "lib/schema.sql"]) {
    const project = createTestProject(t);
    mkdirSync(path.dirname(path.join(project.migrationsDir, file)), { recursive: true });
    writeFileSync(path.join(project.migrationsDir, file), "CREATE TABLE a (id INTEGER);\n");
    for (const check of [false, true]) {
      const result = await project.generate({ check });
      assert.deepEqual(
        result.problems.map((problem) => [problem.code, problem.file]),
        [["MIGRATIONS_IN_SUBFOLDER", `migrations/${file}`]],
        file,
      );
      assert.equal(existsSync(project.registryFile), false, file);
    }
  }
});

test("docs/adopting.md's commands, typed as written on a Diesel folder, import it and gen passes", async (t) => {
  const project = createTestProject(t);
  cpSync(path.join(fixturesDir, "import", "diesel"), project.migrationsDir, { recursive: true });
  const commands = commandsOf(block(guideBlocks(readFileSync(path.join(repoRoot, "docs", "adopting.md"), "utf8")), "import-diesel"));
  assert.deepEqual(
    commands.map((words) => words.slice(0, 3).join(" ")),
    ["git mv migrations", "npx stepwise import", "npx stepwise import", "npx stepwise gen"],
  );
  for (const words of commands) {
    // No git repository here: the move is the rename git would make.
    if (words[0] === "git") renameSync(path.join(project.root, words[2]!), path.join(project.root, words[3]!));
    else {
      const run = await runCli(words.slice(2), { cwd: project.root });
      assert.equal(run.code, 0, `${words.join(" ")}: ${run.stdout}${run.stderr}`);
    }
  }
  assert.equal(existsSync(project.registryFile), true);
});

/** Copies the tool's fixture into `folder` of the project, with dbmate's versions made timestamps as dbmate writes them. */
function placeFixture(root: string, id: string, folder: string): void {
  const dir = path.join(root, folder);
  cpSync(path.join(fixturesDir, "import", id), dir, { recursive: true });
  if (id === "dbmate") makeVersionsTimestamps(dir);
}

/** Renames each file's leading version to a timestamp (`1_a.sql` to `20240101000001_a.sql`), as dbmate and golang-migrate write them. */
function makeVersionsTimestamps(dir: string): void {
  for (const file of readdirSync(dir))
    renameSync(
      path.join(dir, file),
      path.join(
        dir,
        file.replace(/^\d+/, (n) => String(20240101000000 + Number(n))),
      ),
    );
}

/** Runs the `stepwise import …` command a message names, as printed, with `--yes` and `--empty-down`, and asserts it wrote into `into` (and nothing into migrations/ when that is not it). */
async function runNamedImport(root: string, message: string, into: string, tool?: string): Promise<void> {
  const named = /stepwise import (.+?)"/.exec(message);
  assert.ok(named, message);
  const words = named[1]!.split(" ");
  if (tool !== undefined) words[0] = tool;
  const imported = await runCli(["import", ...words, "--empty-down", "irreversible", "--yes"], { cwd: root });
  assert.equal(imported.code, 0, `${words.join(" ")}: ${imported.stdout}${imported.stderr}`);
  assert.ok(
    readdirSync(path.join(root, into)).some((file) => file.endsWith(".sql")),
    `${words.join(" ")} wrote nothing into ${into}`,
  );
  if (into !== "migrations") assert.equal(existsSync(path.join(root, "migrations")), false, `${words.join(" ")} wrote into migrations/`);
}

test("gen --dir on another tool's folder names an import that writes back into that folder (--dir), for every tool, the look-alike pair included", async (t) => {
  for (const [id, tool, timestamps] of [...Object.entries(TOOLS).map(([id, tool]) => [id, tool, false] as const), ["golang-migrate", "golang-migrate or sqlx", true] as const]) {
    const project = createTestProject(t);
    const folder = "db/migrations";
    placeFixture(project.root, id, folder);
    const label = `${id} (${tool})`;
    if (timestamps) makeVersionsTimestamps(path.join(project.root, folder));
    const gen = await runCli(["gen", "--dir", folder, "--json"], { cwd: project.root });
    const problems = (JSON.parse(gen.stdout) as { problems: { code: string; message: string; foreign?: { tool: string } }[] }).problems;
    assert.deepEqual(
      problems.map((problem) => [problem.code, problem.foreign?.tool]),
      [["FOREIGN_MIGRATIONS", tool]],
      label,
    );
    const moved = /"git mv (\S+) (\S+) && /.exec(problems[0]!.message);
    assert.ok(moved, problems[0]!.message);
    assert.equal(moved[1], folder, label);
    renameSync(path.join(project.root, moved[1]!), path.join(project.root, moved[2]!));
    await runNamedImport(project.root, problems[0]!.message, folder, tool === "golang-migrate or sqlx" ? id : undefined);
    assert.equal((await runCli(["gen", "--dir", folder], { cwd: project.root })).code, 0, label);
  }
});

test("gen with no migrations folder names another tool's folder at a well-known place (db/migrations, prisma/migrations, drizzle, a migrations-* folder moved aside), and the import it names fills the missing folder", async (t) => {
  const cases: [id: string, folder: string, dir: string | null][] = [
    ["dbmate", "db/migrations", null],
    ["prisma", "prisma/migrations", null],
    ["drizzle", "drizzle", null],
    ["goose", "migrations-goose", null],
    // gen pointed at a folder that does not exist: the import writes there.
    ["flyway", "db/migrations", "sql/stepwise"],
  ];
  for (const [id, folder, dir] of cases) {
    const project = createTestProject(t);
    placeFixture(project.root, id, folder);
    const args = dir === null ? [] : ["--dir", dir];
    const gen = await runCli(["gen", ...args, "--json"], { cwd: project.root });
    const problems = (JSON.parse(gen.stdout) as { problems: { code: string; message: string }[] }).problems;
    assert.deepEqual(
      problems.map((problem) => problem.code),
      ["MIGRATIONS_DIR_MISSING"],
      folder,
    );
    await runNamedImport(project.root, problems[0]!.message, dir ?? "migrations");
    assert.equal((await runCli(["gen", ...args], { cwd: project.root })).code, 0, folder);
  }
  // Nothing recognisable nearby: the problem stays as it was, naming no import.
  const empty = createTestProject(t);
  mkdirSync(path.join(empty.root, "db", "migrations"), { recursive: true });
  writeFileSync(path.join(empty.root, "db", "migrations", "notes.txt"), "not a migration\n");
  const gen = await runCli(["gen", "--json"], { cwd: empty.root });
  const problems = (JSON.parse(gen.stdout) as { problems: { code: string; message: string }[] }).problems;
  assert.deepEqual(
    problems.map((problem) => problem.code),
    ["MIGRATIONS_DIR_MISSING"],
  );
  assert.doesNotMatch(problems[0]!.message, /stepwise import/);
});
