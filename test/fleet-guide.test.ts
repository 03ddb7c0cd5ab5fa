/**
 * docs/many-databases.md, command by command: every command its marked blocks tell a user to type
 * runs through the bin in a project with a fleet of its own (SQLite tenant files, PostgreSQL
 * schemas and databases on the test server, libSQL databases on sqld servers), with the page's
 * placeholders (`DATABASE_URL`, the token, the URLs of its files) swapped for the real ones, and
 * must succeed and leave every database migrated.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test, type TestContext } from "node:test";
import pg from "pg";
import { block, guideBlocks, type GuideBlock } from "./support/guide-blocks.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { createTestProject, repoRoot, runCli, type TestProject } from "./support/project.js";
import { sqldUnavailableReason, startSqld } from "./support/sqld-server.js";

const blocks = guideBlocks(readFileSync(path.join(repoRoot, "docs", "many-databases.md"), "utf8"));

/** One command of a shell block: its `NAME=value` prefixes and the `stepwise` arguments after `npx stepwise`. */
interface GuideCommand {
  readonly env: Record<string, string>;
  readonly args: string[];
  readonly text: string;
}

/** A block's commands, one a line, words split as a shell would for these (single and double quotes). */
function commands(shell: GuideBlock): GuideCommand[] {
  return shell.text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((text) => {
      const words = text.match(/'[^']*'|"[^"]*"|\S+/g)!.map((word) => word.replace(/^(['"])(.*)\1$/, "$2"));
      const env: Record<string, string> = {};
      while (/^[A-Z_]+=/.test(words[0]!)) {
        const [name, ...value] = words.shift()!.split("=");
        env[name!] = value.join("=");
      }
      assert.deepEqual(words.slice(0, 2), ["npx", "stepwise"], `a guide command runs the bin: ${text}`);
      return { env, args: words.slice(2), text };
    });
}

/** Runs `command` in `project` with `env` in place of its own variables; it must exit 0. */
async function follow(project: TestProject, command: GuideCommand, env: Record<string, string> = {}): Promise<string> {
  const run = await runCli(command.args, { cwd: project.root, env: { ...Object.fromEntries(Object.keys(command.env).map((name) => [name, env[name]])) } });
  assert.equal(run.code, 0, `${command.text}\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** A project with two migrations for `dialect`, its registry written. */
async function project(t: TestContext, dialect: "sqlite" | "postgres"): Promise<TestProject> {
  const made = createTestProject(t, dialect === "postgres" ? { packageJson: { stepwise: { dialect } } } : {});
  made.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT);\n");
  made.writeMigration("002_tag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN tag TEXT;\n");
  await made.generateAsBin();
  return made;
}

test("many-databases.md: the SQLite commands, the JSON report, the canary and the CI job's shards", { timeout: 300_000 }, async (t) => {
  const app = await project(t, "sqlite");
  mkdirSync(path.join(app.root, "data", "tenants"), { recursive: true });
  const tenants = Array.from({ length: 6 }, (_, index) => `data/tenants/tenant-${index}.db`);
  const fresh = () => tenants.forEach((file) => writeFileSync(path.join(app.root, file), ""));
  fresh();
  for (const command of commands(block(blocks, "fleet-sqlite"))) await follow(app, command);
  const [json] = commands(block(blocks, "fleet-json"));
  const report = JSON.parse(await follow(app, json!)) as { ok: boolean; current: number; targets: Array<{ id: string; toVersion: number }> };
  assert.deepEqual([report.ok, report.current], [true, 6]);
  fresh();
  for (const command of commands(block(blocks, "fleet-canary"))) await follow(app, command);

  fresh();
  const ci = block(blocks, "fleet-ci").text;
  const run = /- run: (npx stepwise fleet .*)$/m.exec(ci)?.[1];
  assert.ok(run, "the CI job runs stepwise fleet");
  const migrated: string[] = [];
  for (const shard of [1, 2, 3, 4]) {
    const [command] = commands({ language: "sh", text: run.replace("${{ matrix.shard }}", String(shard)) });
    const part = JSON.parse(await follow(app, command!)) as typeof report;
    assert.ok(part.targets.every((target) => target.toVersion === 2));
    migrated.push(...part.targets.map((target) => target.id));
  }
  assert.deepEqual(migrated.sort(), [...tenants].sort(), "the four shards together are the fleet, each database once");
});

test("many-databases.md: PostgreSQL schemas by DATABASE_URL, databases and libSQL servers by URL file", { timeout: 300_000 }, async (t) => {
  const postgres = await project(t, "postgres");
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const client = new pg.Client({ connectionString: database.url });
  // The database may be dropped (its sessions ended) before this client's own end.
  client.on("error", () => undefined);
  await client.connect();
  t.after(() => client.end());
  await client.query("CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b; CREATE SCHEMA billing");
  for (const command of commands(block(blocks, "fleet-pg-schemas"))) await follow(postgres, command, { DATABASE_URL: database.url });
  const migrated = await client.query<{ schemaname: string }>("SELECT schemaname FROM pg_catalog.pg_tables WHERE tablename = 'items' ORDER BY schemaname");
  assert.deepEqual(
    migrated.rows.map((row) => row.schemaname),
    ["tenant_a", "tenant_b"],
  );

  const [libsqlCommand, pgCommand] = commands(block(blocks, "fleet-url-file"));
  writeFileSync(path.join(postgres.root, "databases.txt"), `${database.url}\n`);
  assert.match(await follow(postgres, pgCommand!), /1 database, latest version 2/);

  const unavailable = sqldUnavailableReason();
  if (unavailable !== null) return t.skip(unavailable);
  const sqlite = await project(t, "sqlite");
  const listed = block(blocks, "customers-txt")
    .text.split("\n")
    .filter((line) => /^libsql:\/\//.test(line));
  const servers = await Promise.all(listed.map(() => startSqld()));
  t.after(() => Promise.all(servers.map((server) => server.dispose())));
  let list = block(blocks, "customers-txt").text;
  listed.forEach((url, index) => (list = list.replace(url, servers[index]!.url)));
  writeFileSync(path.join(sqlite.root, "customers.txt"), list);
  assert.match(await follow(sqlite, libsqlCommand!, { LIBSQL_AUTH_TOKEN: "a-token" }), new RegExp(`${listed.length} databases in .*: ${listed.length} migrated`));
});
