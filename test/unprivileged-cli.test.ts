/**
 * The helper that runs the real bin as `nobody` for the read-only tests. `npm test` runs from
 * wherever the repo was cloned: root's home, a `mktemp -d` folder, a path with spaces, a clone made
 * under umask 077. None of these may keep the unprivileged child from loading the bin.
 */
import assert from "node:assert/strict";
import { chmodSync, cpSync, lstatSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { copyInstalledPackage } from "./support/packed-app.js";
import { makeTempDir, repoRoot } from "./support/project.js";
import { prepareUnprivilegedCli, STAGED_SOURCES, unprivilegedCliPackages } from "./support/unprivileged-cli.js";

/** Takes every permission but the owner's, as a clone made under umask 077 has them. */
function restrictToOwner(entry: string): void {
  const stat = lstatSync(entry);
  if (stat.isSymbolicLink()) return;
  chmodSync(entry, stat.mode & 0o700);
  if (stat.isDirectory()) for (const child of readdirSync(entry)) restrictToOwner(path.join(entry, child));
}

test("from a checkout only root can reach (a 0700 parent, umask 077 files, a space and an é in the path), the bin runs as nobody and migrates", async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip("not root: the bin runs as the current user, who can read the checkout wherever it is");
    return;
  }
  const privateParent = makeTempDir(t, "stepwise-private-clone-");
  assert.equal(lstatSync(privateParent).mode & 0o077, 0, "mkdtemp makes a folder only its owner can enter");
  const checkout = path.join(privateParent, "my proj é", "stepwise");
  for (const entry of STAGED_SOURCES) cpSync(path.join(repoRoot, entry), path.join(checkout, entry), { recursive: true });
  for (const name of unprivilegedCliPackages()) {
    copyInstalledPackage(name, path.join(repoRoot, "node_modules"), path.join(checkout, "node_modules"), { dependencies: true, optionalDependencies: true });
  }
  restrictToOwner(privateParent);

  const cli = prepareUnprivilegedCli({ checkout });
  t.after(() => cli.dispose());
  if (cli.unavailable) {
    t.skip(cli.unavailable);
    return;
  }
  const project = cli.createProject(t, { fixture: "fk-parent-rebuild" });
  await project.load();
  const file = project.databasePath();

  const result = await cli.run(["up", "--db", file], { cwd: project.root });
  assert.equal(result.code, 0, result.stderr);
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  const versions = db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all();
  assert.deepEqual(versions, [1, 2]);
  assert.equal(lstatSync(file).uid, cli.account?.uid, "the child, not root, created the database");
});
