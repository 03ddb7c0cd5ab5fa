/**
 * Every CLI command refused on a database that does not exist yet creates nothing: no file, no
 * folder, whatever refused it (usage, a missing database, an unknown target version, a capability,
 * the runtime or a read-only driver). The bin's own function runs under each driver's runtime (one
 * child process of Node 24 or Bun runs the whole series, listing the project after each command), on
 * a project whose configured database sits in folders that do not exist either; read commands
 * create nothing whether they answer or refuse.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { DRIVERS } from "./support/driver-matrix.js";
import { binUnderRuntime, cliDriverName } from "./support/bin-under-runtime.js";
import { createTestProject } from "./support/project.js";

/** Commands that must be refused here (nothing to act on, or a bad request), each with why. */
const REFUSED: ReadonlyArray<readonly string[]> = [
  ["up", "--to", "99"], // a version the registry lacks
  ["up", "--to", "1", "--to", "2"], // a single-valued option given twice
  ["up", "--dry-run", "--backup"], // options that exclude each other
  ["reset"], // no --yes
  ["down"], // nothing to revert
  ["down", "--to", "0", "--steps", "1"],
  ["repair", "--applied", "1", "--yes"],
  ["baseline", "1"],
  ["restore", "no-such-backup.db", "--yes"],
  ["--db", "data/new/app.db", "--db", "data/other/app.db", "up"],
  ["up", "--backup", "package.json/backups"], // a backup folder that cannot be made: checked before the database's file is
];

/** Commands that read: they may answer (an empty database) or refuse, and never create. */
const READS: ReadonlyArray<readonly string[]> = [["status"], ["history"], ["version"], ["info"], ["verify"], ["up", "--dry-run"]];

for (const driver of DRIVERS) {
  test(`CLI --driver ${cliDriverName(driver)}: every command refused on a database that does not exist yet is typed and creates no file or folder; reads create nothing`, async (t) => {
    const runner = binUnderRuntime(driver);
    if ("skip" in runner) return void t.skip(runner.skip);
    const project = createTestProject(t, { fixture: "runtime/side-effects", packageJson: { stepwise: { database: "data/new/app.db", driver: cliDriverName(driver) } } });
    await project.load();
    const before = readdirSync(project.root).sort();
    const commands = [...REFUSED, ...READS];
    const results = await runner.runMany(
      project.root,
      commands.map((args) => [...args, "--json"]),
    );
    for (const [index, args] of commands.entries()) {
      const result = results[index]!;
      const label = args.join(" ");
      if (REFUSED.includes(args)) assert.notEqual(result.code, 0, `${label} was not refused:\n${result.stdout}`);
      if (result.code !== 0) {
        // A read may also exit 1 with its own report (a rehearsal whose migration fails on this library).
        const { error } = JSON.parse(result.stdout) as { error?: { code: unknown } };
        if (REFUSED.includes(args) || error !== undefined) assert.equal(typeof error?.code, "string", `${label}: ${result.stdout}\n${result.stderr}`);
        assert.doesNotMatch(result.stderr, /unexpected error/, label);
      }
      assert.deepEqual(result.entries, before, `${label} (exit ${result.code}) created something`);
    }
    assert.equal(results.length, commands.length);
  });
}
