/**
 * Issue 13, items 5 and 10, through the real bin of a fresh app installed from the packed tarball.
 *
 * 5: what used to fail only at deploy (`up` in production) fails `gen --check` in CI, at the file and
 *    line: a typo, and the ported 56-migration history whose 018 rebuilds a referenced table with
 *    foreign keys on. The deploy-time error of that rebuild names the fix too.
 * 10: the app's start-up check, `migrate(db, migrations, { verifySchema })`, stores the expected
 *    schema on its first verified start and answers from it afterwards; drift is still refused, and
 *    `stepwise verify` reads the same stored schema.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createFreshApp, type FreshApp } from "./support/fresh-app.js";
import { describeRun } from "./support/packed-app.js";
import { parseProblemLines } from "./support/problem-lines.js";
import { fixturesDir } from "./support/project.js";

const TIMEOUT = { timeout: 900_000 };

function copyPortedHistory(app: FreshApp): void {
  const source = path.join(fixturesDir, "ported-tracker-history");
  for (const name of readdirSync(source)) app.write(`migrations/${name}`, readFileSync(path.join(source, name), "utf8"));
}

test("13.5 a typo passes gen but fails gen --check at its line, before any deploy", TIMEOUT, async (t) => {
  const app = await createFreshApp(t);
  app.write("migrations/001_contacts.sql", "-- migrate:up\nCREATE TABLE contacts (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE contacts;\n");
  app.write("migrations/002_tags.sql", "-- migrate:up\nCREAT TABLE tags (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE tags;\n");
  const gen = await app.stepwise(["gen"]);
  assert.equal(gen.code, 0, describeRun(gen));
  const check = await app.stepwise(["gen", "--check"]);
  assert.equal(check.code, 1, describeRun(check));
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_tags.sql", line: 2, column: 1, code: "REPLAY_FAILED" }]);
  assert.equal(app.exists("app.db"), false);
});

test("13.5 the ported 56-migration history: gen --check names 018's DROP TABLE and the flag; up names the flag too; with it everything applies", TIMEOUT, async (t) => {
  const app = await createFreshApp(t);
  copyPortedHistory(app);
  assert.equal((await app.stepwise(["gen"])).code, 0);
  const check = await app.stepwise(["gen", "--check"]);
  assert.equal(check.code, 1, describeRun(check));
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/018_roles_rank_integer.sql", line: 10, column: 1, code: "FOREIGN_KEY_PARENT_REBUILT" }]);
  assert.ok(check.stderr.includes("-- migrate:up foreign_keys:off"), describeRun(check));

  // Deployed anyway: the runtime error now says what to do.
  const up = await app.stepwise(["up", "--db", "app.db"]);
  assert.equal(up.code, 1, describeRun(up));
  assert.ok(up.stderr.includes("-- migrate:up foreign_keys:off") && up.stderr.includes("roles"), describeRun(up));
  assert.equal((await app.stepwise(["version", "--db", "app.db"])).stdout.trim(), "17");

  const file = "migrations/018_roles_rank_integer.sql";
  app.write(file, app.read(file).replace("-- migrate:up\n", "-- migrate:up foreign_keys:off\n"));
  assert.equal((await app.stepwise(["gen"])).code, 0);
  const fixed = await app.stepwise(["gen", "--check"]);
  assert.equal(fixed.code, 0, describeRun(fixed));
  const applied = await app.stepwise(["up", "--db", "app.db"]);
  assert.equal(applied.code, 0, describeRun(applied));
  assert.equal((await app.stepwise(["version", "--db", "app.db"])).stdout.trim(), "56");
});

test("13.10 the start-up verify stores the expected schema, answers from it on later starts, and still refuses drift", TIMEOUT, async (t) => {
  const app = await createFreshApp(t);
  app.write("migrations/001_contacts.sql", "-- migrate:up\nCREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX contacts_name ON contacts (name);\n");
  app.write("migrations/002_seed.sql", "-- migrate:up\nINSERT INTO contacts (name) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT 'c' || i FROM n;\n");
  assert.equal((await app.stepwise(["gen"])).code, 0);
  app.write(
    "start.ts",
    `import Database from "better-sqlite3";
import { verifySchema } from "stepwise-migrate";
import { migrate } from "stepwise-migrate/better-sqlite3";
import { migrations } from "./generated/registry.js";

const db = new Database("app.db");
if (process.argv[2] === "drift") db.exec("DROP INDEX contacts_name");
try {
  migrate(db, migrations, { verifySchema });
  const exists = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'schema_migrations_expected_schema'").get() as { n: number }).n;
  const stored = exists ? db.prepare("SELECT version FROM schema_migrations_expected_schema").all() : [];
  console.log(JSON.stringify({ ok: true, stored }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, code: (error as { code?: string }).code }));
} finally {
  db.close();
}
`,
  );
  const start = async (...args: string[]) => {
    const result = await app.node(["--import", "tsx", "start.ts", ...args]);
    assert.equal(result.code, 0, describeRun(result));
    return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { ok: boolean; stored?: { version: number }[]; code?: string };
  };
  const first = await start();
  assert.deepEqual(first, { ok: true, stored: [] }, "the first start (nothing applied yet) stored nothing");
  const second = await start();
  assert.deepEqual(second, { ok: true, stored: [{ version: 2 }] });
  const third = await start();
  assert.deepEqual(third, { ok: true, stored: [{ version: 2 }] });
  const verify = await app.stepwise(["verify", "--db", "app.db"]);
  assert.equal(verify.code, 0, describeRun(verify));
  const drifted = await start("drift");
  assert.deepEqual(drifted, { ok: false, code: "SCHEMA_DRIFT" });
  const verifyDrift = await app.stepwise(["verify", "--db", "app.db"]);
  assert.equal(verifyDrift.code, 1, describeRun(verifyDrift));
});
