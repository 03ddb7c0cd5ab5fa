/**
 * The registry is the same bytes on every machine: prettier's config and `.editorconfig` are read from
 * the repository that holds the project (a monorepo's root too; the project alone without a `.git`),
 * never from a folder above it, such as a developer's home folder.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTestProject, makeTempDir } from "./support/project.js";

const migration = `-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n`;

async function registryBytes(t: { after(fn: () => void): void }, setup: { git: boolean; gitAbove?: boolean; above?: Record<string, string>; inside?: Record<string, string> }): Promise<string> {
  const home = makeTempDir(t);
  if (setup.gitAbove) mkdirSync(path.join(home, ".git"));
  for (const [name, text] of Object.entries(setup.above ?? {})) writeFileSync(path.join(home, name), text);
  const project = createTestProject(t, { parentDir: home });
  if (setup.git) mkdirSync(path.join(project.root, ".git"));
  for (const [name, text] of Object.entries(setup.inside ?? {})) writeFileSync(path.join(project.root, name), text);
  project.writeMigration("001_init.sql", migration);
  const result = await project.generate();
  assert.ok(result.ok, JSON.stringify(result));
  return readFileSync(project.registryFile, "utf8");
}

test("a prettier config or .editorconfig above the project does not change the registry; the project's own do", async (t) => {
  const plain = await registryBytes(t, { git: true });
  const tabs = await registryBytes(t, { git: true, inside: { ".prettierrc": '{ "useTabs": true, "semi": false }' } });
  assert.notEqual(tabs, plain, "the project's own .prettierrc applies");
  for (const git of [true, false]) {
    assert.equal(await registryBytes(t, { git, above: { ".prettierrc": '{ "useTabs": true, "semi": false }' } }), plain, `a .prettierrc above, .git: ${git}`);
    assert.equal(await registryBytes(t, { git, above: { "package.json": '{ "prettier": { "semi": false } }' } }), plain, `a package.json's prettier key above, .git: ${git}`);
    assert.equal(await registryBytes(t, { git, above: { ".editorconfig": "[*]\nindent_style = tab\n" } }), plain, `an .editorconfig above, .git: ${git}`);
    assert.equal(await registryBytes(t, { git, above: { ".prettierrc": '{ "semi": true }' }, inside: { ".prettierrc": '{ "useTabs": true, "semi": false }' } }), tabs, `both, .git: ${git}`);
    assert.notEqual(await registryBytes(t, { git, inside: { ".editorconfig": "root = true\n[*]\nindent_style = tab\n" } }), plain, `the project's .editorconfig, .git: ${git}`);
  }
});

test("a monorepo's root prettier config applies to a project inside it: the repository's files are the same on every machine", async (t) => {
  const plain = await registryBytes(t, { git: false, gitAbove: true });
  const tabs = await registryBytes(t, { git: false, gitAbove: true, above: { ".prettierrc": '{ "useTabs": true, "semi": false }' } });
  assert.notEqual(tabs, plain, "the repository root's .prettierrc applies");
});
