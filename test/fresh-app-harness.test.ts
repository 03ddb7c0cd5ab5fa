/** The fresh-app harness itself: a copy of the template runs the packed bin. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createFreshApp } from "./support/fresh-app.js";
import { describeRun } from "./support/packed-app.js";

test("a fresh app from the packed tarball runs the installed bin", { timeout: 600_000 }, async (t) => {
  const app = await createFreshApp(t);
  app.write("migrations/001_first.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n");
  const gen = await app.stepwise(["gen"]);
  assert.equal(gen.code, 0, describeRun(gen));
  const up = await app.stepwise(["up", "--db", "app.db"]);
  assert.equal(up.code, 0, describeRun(up));
  const version = await app.stepwise(["version", "--db", "app.db"]);
  assert.equal(version.stdout.trim(), "1", describeRun(version));
});
