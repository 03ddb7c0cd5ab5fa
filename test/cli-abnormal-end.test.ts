/**
 * How the real bin reports a run that ends abnormally, as docs/cli.md promises every run: an exit code
 * of 0, 1 or 2, every error as `error [CODE]: message` on stderr, and under `--json` one value on stdout.
 * Only a process shows these (its exit code, its streams), so each runs the bin as a child.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { test } from "node:test";
import { binArgs } from "./support/compiled-bin.js";
import { cliNode, createTestProject } from "./support/project.js";

const CREATE_T = "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n";

test("stdout that cannot be written (a full disk) fails the run with an error on stderr; a closed pipe stays quiet", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_t.sql", CREATE_T);
  await project.generateAsBin();
  const full = openSync("/dev/full", "w");
  t.after(() => closeSync(full));
  for (const args of [["status", "--json"], ["version"]]) {
    const result = spawnSync(cliNode(), [...binArgs(), "--db", project.databasePath(), ...args], {
      cwd: project.root,
      stdio: ["ignore", full, "pipe"],
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    assert.equal(result.status, 1, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /^error \[UNEXPECTED\]: stdout could not be written \(ENOSPC/m);
  }
  // The reader of a pipe that stopped reading (`| head -1`) has what it wanted.
  const piped = spawnSync("sh", ["-c", `"$0" "$@" | head -c 1 >/dev/null`, cliNode(), ...binArgs(), "--db", project.databasePath(), "status", "--json"], { cwd: project.root, encoding: "utf8" });
  assert.equal(piped.stderr, "");
});
