/**
 * `stepwise import <tool> <dir>` for each tool whose migrations are SQL files, on a fixture in that tool's own format (a no-transaction migration, an empty or missing down, and an order trap where
 * the tool's order is not the file names' string order, or is): the dry run lists and writes nothing, `--yes` writes, `gen` and `gen --check` pass, and `up` on SQLite builds exactly the schema a
 * plain loop over the original files, in the tool's order, builds. The bin in-process.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createTestProject, fixturesDir, repoRoot, runCli } from "./support/project.js";

/** Each tool's fixture: its up SQL files in the order the tool runs them (a section cut at the down marker where the file holds both), and what the import writes. */
const TOOLS: Record<string, { ups: readonly string[]; cut?: RegExp; files: readonly string[]; noTransaction: readonly number[] }> = {
  diesel: {
    ups: ["2019-02-26-002946_create_users/up.sql", "2019-02-27-100000_create-posts/up.sql", "2019-03-01-000000_compact/up.sql", "2019-03-02-01_create_tags/up.sql", "2019-03-02-1_index_tags/up.sql"],
    files: ["001_create_users.sql", "002_create_posts.sql", "003_compact.sql", "004_create_tags.sql", "005_index_tags.sql"],
    noTransaction: [3],
  },
  sqlx: {
    ups: ["1_create_users.up.sql", "2_create_posts.up.sql", "3_compact.up.sql", "9_create_tags.up.sql", "10_index_tags.up.sql"],
    files: ["001_create_users.sql", "002_create_posts.sql", "003_compact.sql", "004_create_tags.sql", "005_index_tags.sql"],
    noTransaction: [3],
  },
  dbmate: {
    ups: ["10_create_tags.sql", "1_create_users.sql", "2_create_posts.sql", "3_compact.sql", "9_index_tags.sql"],
    cut: /^-- migrate:down/m,
    files: ["001_create_tags.sql", "002_create_users.sql", "003_create_posts.sql", "004_compact.sql", "005_index_tags.sql"],
    noTransaction: [4],
  },
  "golang-migrate": {
    ups: ["1_create_users.up.sql", "2_create_posts.up.sql", "3_add_email.up.sql", "9_create_tags.up.sql", "10_index_tags.up.sql"],
    files: ["001_create_users.sql", "002_create_posts.sql", "003_add_email.sql", "004_create_tags.sql", "005_index_tags.sql"],
    noTransaction: [],
  },
  goose: {
    ups: ["00001_create_users.sql", "00002_create_posts.sql", "00003_compact.sql", "9_create_tags.sql", "10_index_tags.sql"],
    cut: /^-- \+goose Down/m,
    files: ["001_create_users.sql", "002_create_posts.sql", "003_compact.sql", "004_create_tags.sql", "005_index_tags.sql"],
    noTransaction: [3],
  },
  flyway: {
    ups: ["V1__Create_users.sql", "V1.1__Create_posts.sql", "V1.9__Create_tags.sql", "V1.10__Index_tags.sql", "V1_11__Compact.sql"],
    files: ["001_create_users.sql", "002_create_posts.sql", "003_create_tags.sql", "004_index_tags.sql", "005_compact.sql"],
    noTransaction: [5],
  },
  drizzle: {
    ups: ["0000_create_users.sql", "0001_create_posts.sql", "0002_rebuild_users.sql"],
    files: ["001_create_users.sql", "002_create_posts.sql", "003_rebuild_users.sql"],
    noTransaction: [],
  },
  prisma: {
    ups: ["20230101000000_init/migration.sql", "20230102000000_add_posts/migration.sql", "20230103000000_user_email/migration.sql"],
    files: ["001_init.sql", "002_add_posts.sql", "003_user_email.sql"],
    noTransaction: [1, 2],
  },
};

/** The schema as SQLite holds it, without stepwise's own tables. */
function schemaOf(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'schema_migrations%' ORDER BY type, name").all();
  } finally {
    db.close();
  }
}

for (const [tool, fixture] of Object.entries(TOOLS)) {
  test(`${tool}: the dry run lists, --yes writes in ${tool}'s order, gen --check passes, and up builds the schema the tool's own order builds`, async (t) => {
    const project = createTestProject(t);
    const source = path.join(project.root, `${tool}-migrations`);
    cpSync(path.join(fixturesDir, "import", tool), source, { recursive: true });
    const args = ["import", tool, `${tool}-migrations`, "--empty-down", "no-op"];

    const dry = await runCli(args, { cwd: project.root });
    assert.equal(dry.code, 0, dry.stderr);
    for (const file of fixture.files) assert.match(dry.stdout, new RegExp(`migrations/${file}`), dry.stdout);
    assert.match(dry.stderr, /--yes/);
    assert.equal(existsSync(project.migrationsDir), false, "the dry run wrote something");

    const json = await runCli([...args, "--json"], { cwd: project.root });
    const plan = JSON.parse(json.stdout) as { written: boolean; migrations: { file: string; transaction: boolean }[] };
    assert.equal(plan.written, false);
    assert.deepEqual(
      plan.migrations.flatMap((migration, index) => (migration.transaction ? [] : [index + 1])),
      fixture.noTransaction,
    );

    const wrote = await runCli([...args, "--yes"], { cwd: project.root });
    assert.equal(wrote.code, 0, wrote.stderr);
    assert.deepEqual(readdirSync(project.migrationsDir).sort(), [...fixture.files, "stepwise-import-map.json"].sort());
    const map = JSON.parse(readFileSync(path.join(project.migrationsDir, "stepwise-import-map.json"), "utf8")) as {
      tool: string;
      migrations: { version: number; file: string; sources: { file: string }[] }[];
    };
    assert.equal(map.tool, tool);
    if (tool === "sqlx") {
      // docs/adopting.md shows this very map, cut to its first migration, with the digests elided.
      const shown: unknown = JSON.parse(/```json\n([\s\S]*?)```/.exec(readFileSync(path.join(repoRoot, "docs", "adopting.md"), "utf8"))![1]!);
      const elided = JSON.parse(JSON.stringify(map, (key, value: unknown) => (key === "sha256" || key === "checksum" ? "…" : value))) as typeof map;
      assert.deepEqual(shown, { ...elided, source: "migrations-sqlx", migrations: elided.migrations.slice(0, 1) }); // the folder as the docs name it
    }
    assert.deepEqual(
      map.migrations.map((migration) => [migration.version, migration.file, migration.sources[0]!.file]),
      fixture.files.map((file, index) => [index + 1, file, fixture.ups[index]]),
    );

    for (const check of [[], ["--check"]]) {
      const gen = await runCli(["gen", ...check], { cwd: project.root });
      assert.equal(gen.code, 0, `gen ${check.join(" ")}: ${gen.stdout}${gen.stderr}`);
    }
    const imported = project.databasePath("imported.db");
    const up = await runCli(["up", "--db", imported], { cwd: project.root });
    assert.equal(up.code, 0, up.stdout + up.stderr);

    const plain = project.databasePath("plain.db");
    const db = new Database(plain);
    for (const file of fixture.ups) {
      const text = readFileSync(path.join(source, file), "utf8");
      const at = fixture.cut ? text.search(fixture.cut) : -1;
      db.exec(at === -1 ? text : text.slice(0, at));
    }
    db.close();
    assert.deepEqual(schemaOf(imported), schemaOf(plain));
  });
}
