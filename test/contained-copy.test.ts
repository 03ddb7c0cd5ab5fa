/**
 * A rehearsal (`rehearseUp`, the CLI's `up --dry-run`) and `verifySchema` run the migrations on a
 * private copy, and change nothing outside it: a migration that reaches another file from the copy's
 * connection (`ATTACH` in its SQL or through its TypeScript body's connection, `VACUUM INTO`, the
 * library's `backup`) is refused before the statement runs, and fails as a migration naming its file.
 * Each `verify` once added a row to a file a migration attached.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { caught, createItems, sqlEntry, tsEntry } from "./support/registry-builders.js";
import { rehearseUp, verifySchema } from "../src/safety/index.js";
import type { MigrationEntry } from "../src/core/types.js";
import { factsOf } from "./support/stepwise-failure.js";

/** What each way of reaching another file looks like as migration 2, writing `side`. */
function reachers(side: string): ReadonlyArray<readonly [string, MigrationEntry]> {
  const quoted = `'${side.replace(/'/g, "''")}'`;
  return [
    ["SQL ATTACH (transaction: false)", sqlEntry(2, `ATTACH DATABASE ${quoted} AS side;\nCREATE TABLE side.log (x);\nINSERT INTO side.log VALUES (1);`, { transaction: false })],
    ["SQL VACUUM INTO (transaction: false)", sqlEntry(2, `VACUUM INTO ${quoted};`, { transaction: false })],
    [
      "TypeScript body's ATTACH on its connection",
      tsEntry(2, { up: (db) => void db.exec(`ATTACH DATABASE ${quoted} AS side; CREATE TABLE side.log (x); INSERT INTO side.log VALUES (1);`), transaction: false }, { transaction: false }),
    ],
    ["SQL ATTACH of an expression that starts with an empty name", sqlEntry(2, `ATTACH DATABASE '' || ${quoted} AS side;\nCREATE TABLE side.log (x);`, { transaction: false })],
    ["TypeScript body's backup() call", tsEntry(2, { up: (db) => void (db as unknown as { backup(file: string): unknown }).backup(side), transaction: false }, { transaction: false })],
  ];
}

function assertRefused(error: unknown, context: string): void {
  const failure = factsOf(error) as { code?: unknown; version?: unknown; file?: unknown; cause?: { name?: unknown } };
  assert.equal(failure.code, "MIGRATION_FAILED", `${context}: ${String((error as Error).message)}`);
  assert.equal(failure.version, 2, context);
  assert.equal(typeof failure.file, "string", context);
  assert.equal(failure.cause?.name, "OutsideCopyRefusedError", context);
}

await describeEachDriver("a rehearsal or verify changes nothing outside its copy", (h) => {
  for (const index of [0, 1, 2, 3, 4]) {
    test(`rehearseUp: ${reachers("x")[index]![0]} is REHEARSAL_REFUSED, and the other file is not written`, (t) =>
      h.withDatabase((db: TestDatabase) => {
        if (h.lacks(t, "snapshot")) return;
        const side = path.join(db.dir, "side.db");
        const manager = db.manager([createItems, reachers(side)[index]![1]]);
        manager.up({ to: 1 });
        const connection = (manager as unknown as { db: object }).db;
        if (index === 4 && typeof (connection as { backup?: unknown }).backup !== "function") {
          // A library without backup() (sql.js): the real run fails the same way, and the rehearsal says so.
          assert.equal(rehearseUp(manager).rehearsal.failure?.code, "MIGRATION_FAILED");
        } else {
          // The copy cannot contain it, so the rehearsal cannot say what the real run does: refused, not reported as the real run's failure.
          const refused = caught(() => rehearseUp(manager));
          assert.deepEqual([refused.code, refused.version, refused.obstacle, refused.rehearsableTo], ["REHEARSAL_REFUSED", 2, "reaches-another-file", null]);
        }
        assert.equal(existsSync(side), false, "the rehearsal wrote the other file");
      }));
  }

  test("verifySchema: a migration that ATTACHes a database is refused in the replay, naming the migration", (t) =>
    h.withDatabase((db: TestDatabase) => {
      if (h.lacks(t, "snapshot")) return;
      // A file in the database's folder (sql.js's own file system has no such folder: a name there); one in memory reaches no file, so its replay runs.
      const side = h.name === "sql.js" ? "'side.db'" : `'${path.join(db.dir, "side.db").replace(/'/g, "''")}'`;
      for (const [target, refused] of [
        [side, true],
        ["':memory:'", false],
      ] as const) {
        const manager = db.manager([createItems, sqlEntry(2, `ATTACH DATABASE ${target} AS side;\nCREATE TABLE side.log (x);\nDETACH DATABASE side;`, { transaction: false })]);
        if (target === side) manager.up();
        let error: unknown = null;
        try {
          verifySchema(manager);
        } catch (thrown) {
          error = thrown;
        }
        if (refused) assertRefused(error, h.name);
        else assert.equal(error, null, `${h.name}: ${String(error)}`);
      }
    }));
});
