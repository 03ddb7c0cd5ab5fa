/**
 * Issue 13, item 3, in a fresh app made from the packed tarball, through the installed bin: the trap
 * (`create`, edit, `up` without `gen`, then `gen`: CHECKSUM_MISMATCH, and before this the only way out
 * was `reset`) and the way out, `repair --checksums`: a report that changes nothing, `--yes`, a clean
 * `status`, a working `down`, and `history` showing who realigned what and when. Then a TypeScript
 * migration's description edited alone, which must not mismatch.
 *
 * Where the dev loop no longer lets the registry go stale (the bin regenerates or refuses first), the
 * same mismatch is made the other way a team meets it: a deliberate edit of an applied migration.
 *
 *   node --import tsx --test test/adoption-checksums.test.ts
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createFreshApp, type FreshApp } from "./support/fresh-app.js";
import { describeRun } from "./support/packed-app.js";

const NOTES = "-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n-- migrate:down\nDROP TABLE notes;\n";

/** Migration 2 as the developer writes it over `create`'s template; `type` is what a later deliberate edit touches. */
const addColor = (type: string, description = "add color") => `import { defineMigration } from "stepwise-migrate";

export default defineMigration({
  description: ${JSON.stringify(description)},
  up(db) {
    db.exec("ALTER TABLE notes ADD COLUMN color ${type}");
  },
  down(db) {
    db.exec("ALTER TABLE notes DROP COLUMN color");
  },
});
`;

async function ok(app: FreshApp, args: string[], env?: Record<string, string | undefined>) {
  const run = await app.stepwise(args, env ? { env } : undefined);
  assert.equal(run.code, 0, `${args.join(" ")}\n${describeRun(run)}`);
  return run;
}

test("issue 13.3: create, edit, up without gen, gen: CHECKSUM_MISMATCH names repair --checksums; the report, --yes, status clean, down works, history shows it", { timeout: 900_000 }, async (t) => {
  const app = await createFreshApp(t);
  app.write("migrations/001_notes.sql", NOTES);
  await ok(app, ["gen"]);
  await ok(app, ["up", "--db", "app.db"]);

  const created = await ok(app, ["create", "add color"]);
  const file = created.stdout.match(/migrations\/\S+\.ts/)?.[0] ?? "migrations/002_add_color.ts";
  assert.ok(app.exists(file), describeRun(created));
  app.write(file, addColor("TEXT"));
  // The trap: up without gen. Where the dev loop refuses or regenerates first, it does not record the
  // placeholder's checksum, and the mismatch comes from a deliberate edit after up instead.
  await app.stepwise(["up", "--db", "app.db"]);
  await ok(app, ["gen"]);
  if ((await app.stepwise(["status", "--db", "app.db"])).code === 0) {
    await ok(app, ["up", "--db", "app.db"]);
    app.write(file, addColor("TEXT DEFAULT NULL"));
    await ok(app, ["gen"]);
  }

  const status = await app.stepwise(["status", "--db", "app.db", "--json"]);
  assert.equal(status.code, 1, describeRun(status));
  const problem = (JSON.parse(status.stdout) as { problem: { code: string; message: string; fix: { command: string } } }).problem;
  assert.equal(problem.code, "CHECKSUM_MISMATCH");
  assert.equal(problem.fix.command, "stepwise repair --db app.db --checksums 2");
  assert.match(problem.message, /"stepwise repair --db app\.db --checksums 2"/);
  const down = await app.stepwise(["down", "--db", "app.db"]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /CHECKSUM_MISMATCH[\s\S]*"stepwise repair --db app\.db --checksums 2"/);

  const report = await app.stepwise(["repair", "--checksums", "--db", "app.db", "--json"]);
  assert.equal(report.code, 1, describeRun(report));
  const planned = JSON.parse(report.stdout) as { applied: boolean; realignments: Array<{ version: number; file: string }> };
  assert.equal(planned.applied, false);
  assert.deepEqual(
    planned.realignments.map((change) => [change.version, change.file]),
    [[2, file]],
  );
  assert.equal((await app.stepwise(["status", "--db", "app.db"])).code, 1, "the report changed nothing");

  const repaired = await ok(app, ["repair", "--checksums", "--yes", "--by", "dev@laptop", "--db", "app.db"]);
  assert.match(repaired.stdout, /Realigned 1 checksum/);
  await ok(app, ["status", "--db", "app.db"]);
  const again = await ok(app, ["repair", "--checksums", "--yes", "--db", "app.db"]);
  assert.match(again.stdout, /nothing to repair/);

  const history = JSON.parse((await ok(app, ["history", "--db", "app.db", "--json"])).stdout) as Array<{
    version: number;
    checksumRepairs?: Array<{ repairedBy: string; oldChecksum: string; newChecksum: string }>;
  }>;
  const events = history.find((row) => row.version === 2)?.checksumRepairs ?? [];
  assert.equal(events.length, 1);
  assert.equal(events[0]!.repairedBy, "dev@laptop");
  assert.notEqual(events[0]!.oldChecksum, events[0]!.newChecksum);
  assert.match((await ok(app, ["history", "--db", "app.db"])).stdout, /Checksum repairs[\s\S]*002_add_color\s+by dev@laptop/);

  const reverted = await ok(app, ["down", "--db", "app.db", "--json"]);
  assert.deepEqual(
    (JSON.parse(reverted.stdout) as { steps: Array<{ version: number }> }).steps.map((step) => step.version),
    [2],
  );
  await ok(app, ["up", "--db", "app.db"]);

  // The description alone, edited after it ran: gen, and the database still matches.
  app.write(file, app.read(file).replace(/description: "[^"]*"/, 'description: "Add a color to each note"'));
  await ok(app, ["gen"]);
  await ok(app, ["status", "--db", "app.db"]);
});
