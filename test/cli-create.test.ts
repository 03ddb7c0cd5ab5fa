/**
 * `stepwise create` end to end (the real bin as a child process), plus its numbering rules
 * in-process.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createMigration } from "../codegen/create.js";
import { scanMigrations } from "../codegen/scan.js";
import { parseSqlMigrationSource } from "../src/shared/sql-source.js";
import { MigrationManager } from "./support/stepwise.js";
import { createTestProject, readBytes, runCli, type TestProject } from "./support/project.js";
import { StepwiseError } from "../src/core/errors.js";

/** Every file under `root` (except node_modules) with its size and mtime, to prove nothing else was written. */
function listTree(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === "node_modules") continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(path.relative(root, full), readBytes(full).toString("base64"));
    }
  };
  walk(root);
  return files;
}

function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names]
    .filter((name) => before.get(name) !== after.get(name))
    .map((name) => name.split(path.sep).join("/"))
    .sort();
}

async function migrateFresh(t: { after(fn: () => void): void }, project: TestProject): Promise<number> {
  const db = new Database(project.databasePath());
  t.after(() => db.close());
  return new MigrationManager(db, await project.load()).up().steps.length;
}

/** Writes the migration where the template's placeholder comments are, as a user does before gen. */
function writeTemplate(file: string, up: string, down: string): void {
  const text = readFileSync(file, "utf8");
  const written = text.replace(/^(\s*)(\/\/|--) stepwise:todo: write the[^\n]*\n/m, `$1${up}\n`).replace(/^(\s*)(\/\/|--) stepwise:todo: undo[^\n]*\n/m, `$1${down}\n`);
  assert.notEqual(written, text);
  writeFileSync(file, written);
}

test("create writes the next TypeScript migration with 3-digit padding, leaves the registry to gen, and the written template runs", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await project.generate();
  const before = listTree(project.root);

  const created = await runCli(["create", "Add e-mail to Contacts"], { cwd: project.root });
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout.trim(), "migrations/006_add_e_mail_to_contacts.ts");
  assert.deepEqual(changedFiles(before, listTree(project.root)), ["migrations/006_add_e_mail_to_contacts.ts"]);

  writeTemplate(path.join(project.root, created.stdout.trim()), 'db.exec("CREATE TABLE emails (id INTEGER PRIMARY KEY)");', 'db.exec("DROP TABLE emails");');
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const check = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(check.code, 0, check.stderr);
  const migrations = await project.load();
  assert.deepEqual([migrations.at(-1)?.version, migrations.at(-1)?.kind, migrations.at(-1)?.reversible, migrations.at(-1)?.description], [6, "ts", true, "Add e-mail to Contacts"]);
  assert.equal(await migrateFresh(t, project), 6);
});

test("create run from a subfolder of the project prints the path from that folder, which a script can open", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const subfolder = path.join(project.root, "src", "db");
  mkdirSync(subfolder, { recursive: true });
  const created = await runCli(["create", "add tags", "--sql"], { cwd: subfolder });
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout, "../../migrations/006_add_tags.sql\n");
  assert.ok(existsSync(path.resolve(subfolder, created.stdout.trim())));
});

test("create --sql starts the first migration of a project without a migrations folder, and the written template runs", async (t) => {
  const project = createTestProject(t);
  const created = await runCli(["create", "Vacuum the database", "--sql"], { cwd: project.root });
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout.trim(), "migrations/001_vacuum_the_database.sql");
  assert.ok(statSync(path.join(project.root, "migrations", "001_vacuum_the_database.sql")).isFile());

  writeTemplate(path.join(project.root, created.stdout.trim()), "CREATE TABLE notes (id INTEGER PRIMARY KEY);", "DROP TABLE notes;");
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const check = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(check.code, 0, check.stderr);
  const [entry] = await project.load();
  assert.deepEqual([entry?.version, entry?.kind, entry?.reversible, entry?.description], [1, "sql", true, "Vacuum the database"]);
  assert.equal(await migrateFresh(t, project), 1);
});

test("create refuses a description that leaves an empty name (exit 2) and writes nothing", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await project.generate();
  const before = listTree(project.root);
  const refused = await runCli(["create", " -- !!! ... "], { cwd: project.root });
  assert.equal(refused.code, 2, refused.stderr);
  assert.equal(refused.stdout, "");
  assert.deepEqual(changedFiles(before, listTree(project.root)), []);
});

test("create never writes outside the migrations folder, whatever the description says", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await project.generate();
  const before = listTree(project.root);
  const created = await runCli(["create", "../../outside/../etc/passwd"], { cwd: project.root });
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout.trim(), "migrations/006_outside_etc_passwd.ts");
  assert.deepEqual(changedFiles(before, listTree(project.root)), ["migrations/006_outside_etc_passwd.ts"]);
  assert.deepEqual(
    readdirSync(path.dirname(project.root)).filter((name) => name === "outside" || name === "etc"),
    [],
  );
});

test("create pads to 3 digits, keeps a wider existing width, and grows past 999", async (t) => {
  const cases: Array<[string[], string]> = [
    [[], "001_next.sql"],
    [["001_a.sql", "002_b.sql"], "003_next.sql"],
    [["0001_a.sql"], "0002_next.sql"],
    [Array.from({ length: 999 }, (_, i) => `${String(i + 1).padStart(3, "0")}_m.sql`), "1000_next.sql"],
  ];
  for (const [existing, expected] of cases) {
    const project = createTestProject(t);
    for (const fileName of existing) project.writeMigration(fileName, "-- migrate:up\nSELECT 1;\n");
    const result = await createMigration({
      projectRoot: project.root,
      migrationsDir: project.migrationsDir,
      registryFile: project.registryFile,
      description: "next",
      kind: "sql",
    });
    assert.equal(path.basename(result.absolutePath), expected);
    assert.match(readFileSync(result.absolutePath, "utf8"), /^-- migrate:up$/m);
  }
});

test("create --sql writes a description holding line breaks or a NUL as one comment line, which gen reads back (a lone CR or a NUL made a file gen refused)", async (t) => {
  const project = createTestProject(t);
  const created = await runCli(["create", "add notes\rtable", "--sql"], { cwd: project.root });
  assert.equal(created.code, 0, created.stderr);
  writeTemplate(path.join(project.root, created.stdout.trim()), "CREATE TABLE notes (id INTEGER PRIMARY KEY);", "DROP TABLE notes;");
  const generated = await runCli(["gen"], { cwd: project.root });
  assert.equal(generated.code, 0, generated.stderr);
  assert.equal((await project.load())[0]?.description, "add notes table");

  // Every line break and NUL, in each dialect (PostgreSQL's `--` comment also ends at a CR).
  const descriptions = new Map([
    ["a\rb", "a b"],
    ["a\r\rb", "a b"],
    ["a\r\nb", "a b"],
    ["a\n\nb", "a b"],
    ["a\0b", "a b"],
  ]);
  for (const dialect of ["sqlite", "postgres"] as const) {
    for (const [description, expected] of descriptions) {
      const folder = path.join(project.root, `more-${dialect}-${[...description].map((char) => char.charCodeAt(0)).join("-")}`);
      const result = await createMigration({ projectRoot: project.root, migrationsDir: folder, registryFile: project.registryFile, description, kind: "sql", dialect });
      writeTemplate(result.absolutePath, "SELECT 1;", "SELECT 2;");
      const parsed = parseSqlMigrationSource(readFileSync(result.absolutePath, "utf8"), { dialect });
      assert.ok(parsed.ok, `${dialect} ${JSON.stringify(description)}: ${JSON.stringify(!parsed.ok && parsed.problems)}`);
      assert.deepEqual([parsed.migration.description, parsed.migration.upSql.split("\n")[0], parsed.migration.downSql?.split("\n")[0]], [expected, "SELECT 1;", "SELECT 2;"]);
    }
  }
});

test("createMigration throws a `USAGE` for a description with no usable words", async (t) => {
  const project = createTestProject(t);
  for (const description of ["", "   ", "!!!", "日本語"]) {
    await assert.rejects(
      createMigration({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, description }),
      (error: unknown) => error instanceof StepwiseError && error.is("USAGE") && error.code === "USAGE",
    );
  }
});

test("create --sql refuses (USAGE) a description holding a marker, which gen would refuse in its comment as one the comment swallows, and writes nothing", async (t) => {
  const project = createTestProject(t);
  for (const dialect of ["sqlite", "postgres"] as const) {
    for (const description of ["a\r-- migrate:down", "add t\u2028-- migrate:down", "how to Migrate:Up safely"]) {
      await assert.rejects(
        createMigration({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, description, kind: "sql", dialect }),
        (error: unknown) => error instanceof StepwiseError && error.is("USAGE"),
        `${dialect} ${JSON.stringify(description)}`,
      );
    }
  }
  assert.equal(existsSync(project.migrationsDir) ? readdirSync(project.migrationsDir).length : 0, 0);
  // A TypeScript migration's description is a string: nothing there is read as a marker.
  const created = await createMigration({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, description: "a -- migrate:down", kind: "ts" });
  assert.equal(created.file, "migrations/001_a_migrate_down.ts");
});

/** The versions of the folder's migration files, in name order. */
function versionsIn(migrationsDir: string): number[] {
  return readdirSync(migrationsDir)
    .filter((name) => /^\d+_/.test(name))
    .sort()
    .map((name) => Number(name.slice(0, name.indexOf("_"))));
}

test("concurrent create runs on one folder each get their own version, 001..N with no gap, and gen finds no duplicate", { timeout: 180_000 }, async (t) => {
  const project = createTestProject(t);
  const runs = 6;
  for (let round = 1; round <= 3; round++) {
    const results = await Promise.all(Array.from({ length: runs }, (_, i) => runCli(["create", `change ${round} ${i}`, "--sql"], { cwd: project.root, child: true })));
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const printed = results.map((result) => path.basename(result.stdout.trim()));
    const files = readdirSync(project.migrationsDir).sort();
    // Every run printed a file that is there, and no two runs printed the same one.
    assert.equal(new Set(printed).size, runs);
    for (const file of printed) assert.ok(files.includes(file), `${file} printed but not in ${files.join(", ")}`);
    assert.deepEqual(
      versionsIn(project.migrationsDir),
      Array.from({ length: runs * round }, (_, i) => i + 1),
      files.join(", "),
    );
    // Nothing but the migrations: no temporary or lock file is left behind.
    assert.equal(files.length, runs * round, files.join(", "));
    const codes = new Set(scanMigrations({ projectRoot: project.root, migrationsDir: project.migrationsDir }).problems.map((problem) => problem.code));
    assert.deepEqual([...codes], ["TEMPLATE_UNEDITED"]);
  }
});

test("create takes the version after every version the folder's entries hold, refused names and folders included", async (t) => {
  const cases: Array<{ files: string[]; folders?: string[]; expected: string }> = [
    { files: ["001_a.sql", "002_b.SQL"], expected: "003_c.sql" },
    { files: ["001_a.sql", "005-e.sql"], folders: ["003_dir"], expected: "006_c.sql" },
    { files: ["001_a.sql", "002 b.sql", "0003_C.ts"], expected: "004_c.sql" },
    // A name whose version cannot be read holds none.
    { files: ["001_a.sql", "b.sql", ".002_x.sql.swp"], expected: "002_c.sql" },
  ];
  for (const { files, folders = [], expected } of cases) {
    const project = createTestProject(t);
    for (const fileName of files) project.writeMigration(fileName, "-- migrate:up\nSELECT 1;\n");
    for (const folder of folders) mkdirSync(path.join(project.migrationsDir, folder), { recursive: true });
    const created = await runCli(["create", "c", "--sql"], { cwd: project.root });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout.trim(), `migrations/${expected}`, files.join(", "));
    const codes = scanMigrations({ projectRoot: project.root, migrationsDir: project.migrationsDir }).problems.map((problem) => problem.code);
    assert.ok(!codes.includes("DUPLICATE_VERSION"), `${files.join(", ")}: ${codes.join(", ")}`);
  }
  // A version at or past 2^53 leaves none free after it, written in a valid name or not: refused as the folder's state (exit 1, not a usage error), as gen would refuse anything larger.
  for (const fileName of [
    "9007199254740991_a.sql",
    "99999999999999999999_a.sql",
    "99999999999999999999-a.sql",
    "-99999999999999999999_a.sql",
    ".99999999999999999999_a.sql",
    " 99999999999999999999_a.sql",
    "٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩_a.sql",
  ]) {
    const project = createTestProject(t);
    project.writeMigration(fileName, "-- migrate:up\nSELECT 1;\n");
    const refused = await runCli(["create", "c", "--sql"], { cwd: project.root });
    assert.equal(refused.code, 1, `${fileName}: ${refused.stdout}`);
    assert.match(refused.stderr, /^error \[VERSIONS_EXHAUSTED\]/, fileName);
    assert.deepEqual(readdirSync(project.migrationsDir), [fileName]);
    await assert.rejects(
      createMigration({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, description: "c" }),
      (error: unknown) => error instanceof StepwiseError && error.is("VERSIONS_EXHAUSTED") && error.details.migrationsDir === project.migrationsDir,
    );
  }
});

test("create cuts a name to the length cap instead of refusing it, and spells letters NFKD keeps whole in ASCII", async (t) => {
  const cases: Array<[string, string]> = [
    ["a".repeat(64), "a".repeat(60)],
    [`${"x".repeat(300)} thing`, "x".repeat(60)],
    [`add ${"y".repeat(70)}`, "add"],
    ["rename straße", "rename_strasse"],
    ["STRAẞE æble øl œuvre łódź đak þorn", "strasse_aeble_ol_oeuvre_lodz_dak_thorn"],
    ["Café naïve", "cafe_naive"],
  ];
  for (const [description, name] of cases) {
    const project = createTestProject(t);
    const created = await runCli(["create", description, "--sql"], { cwd: project.root });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout.trim(), `migrations/001_${name}.sql`, description.slice(0, 80));
  }
});

test("create in another folder (--dir), with or without the project's gen script: the watch it offers is the gen it names, plus --watch, so it watches that folder", async (t) => {
  const commands = async (project: TestProject) => {
    const created = await runCli(["create", "add tags", "--sql", "--dir", "db/other"], { cwd: project.root });
    assert.equal(created.code, 0, created.stderr);
    const found = /then run "([^"]+)" \(or keep "([^"]+)" running\)/.exec(created.stderr);
    assert.ok(found, created.stderr);
    return { gen: found[1], watch: found[2] };
  };
  assert.deepEqual(await commands(createTestProject(t)), { gen: "npx stepwise gen --dir db/other", watch: "npx stepwise gen --dir db/other --watch" });
  assert.deepEqual(await commands(createTestProject(t, { packageJson: { scripts: { gen: "stepwise gen" } } })), {
    gen: "npm run gen -- --dir db/other",
    watch: "npm run gen -- --dir db/other --watch",
  });
});

test("the codegen entry refuses a relative path, an option it does not take and a kind it has no template for: USAGE naming the option, nothing written", async (t) => {
  const { createMigration, generateRegistry } = await import("../codegen/index.js");
  const project = createTestProject(t);
  const paths = { projectRoot: project.root, migrationsDir: path.join(project.root, "migrations"), registryFile: path.join(project.root, "generated", "registry.ts") };
  const refused = async (call: Promise<unknown>, option: string) => assert.rejects(call, { code: "USAGE", details: { option } });
  await refused(createMigration({ ...paths, migrationsDir: "migrations", description: "add items" }), "migrationsDir");
  await refused(createMigration({ ...paths, description: "add items", kind: "py" as never }), "kind");
  await refused(generateRegistry({ ...paths, registryFile: "generated/registry.ts" }), "registryFile");
  await refused(generateRegistry({ ...paths, chek: true } as never), "chek");
  assert.equal(existsSync(paths.migrationsDir), false);
  assert.equal(existsSync(path.join(process.cwd(), "migrations", "001_add_items.ts")), false);
});
