/**
 * DATABASE_LOCKED names who holds the lock by process id and program, never by its arguments: another
 * process's command line may carry a key or a password (`--api-key=…`), and the error reaches logs and
 * `--json`. Each driver that can name holders is run through the in-process CLI against a real lock
 * held by another process (a SQLite file's POSIX lock, PostgreSQL's run lock held by another session);
 * `restore` names a locked backup's holder the same way.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import pg from "pg";
import { parseDriverName } from "../src/cli/driver-names.js";
import { runLockKey } from "../src/drivers/pg.js";
import { DRIVERS, describeEachDriver } from "./support/driver-matrix.js";
import { jsonError, runInProcess } from "./support/in-process-cli.js";
import { startLockHolder } from "./support/lock-holder.js";
import { makeTempDir } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { sqlEntry } from "./support/registry-builders.js";

/** What the other process's command line carries, and no output may. */
const SECRET_ARGUMENT = "--api-key=sk_live_Holder7Secret";
const SECRET = "sk_live_Holder7Secret";

/** The name the holder runs as: the runtime's own executable (node, or bun). */
const PROGRAM = path.basename(process.execPath);

const registry = [sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY)")];

await describeEachDriver("DATABASE_LOCKED names the holder by pid and program", (h) => {
  // The CLI opens the package's own drivers; a driver written in test/ is no --driver of it.
  if (!DRIVERS.includes(h.underTest)) return;
  test("up, through the CLI: the holder's pid, program and lock, and none of its arguments", async (t) => {
    if (h.lacks(t, "lockHolders")) return;
    const file = path.join(makeTempDir(t), "app.db");
    const holder = await startLockHolder(t, file, "writer", [SECRET_ARGUMENT]);
    const run = await runInProcess({ migrations: registry }, ["--driver", parseDriverName(h.name, "--driver"), "--db", file, "--busy-timeout", "50", "up", "--json"]);
    const error = jsonError(run);
    assert.equal(error.code, "DATABASE_LOCKED");
    if (process.platform === "linux") assert.deepEqual(error.holders, [{ pid: holder.child.pid, program: PROGRAM, host: null, lock: "write" }]);
    assert.ok(!(run.stdout + run.stderr).includes(SECRET), run.stdout + run.stderr);
    if (process.platform === "linux") assert.match(error.message, new RegExp(`process ${holder.child.pid} \\(${PROGRAM}, write\\)`));
  });

  test("restore of a backup another process holds: the same pid and program, none of its arguments", async (t) => {
    if (h.lacks(t, "lockHolders", "openFile", "onlineBackup")) return;
    const dir = makeTempDir(t);
    const backup = path.join(dir, "app.db.bak");
    const seed = await h.open(backup);
    seed.exec("CREATE TABLE seeded (id INTEGER)");
    seed.close();
    const holder = await startLockHolder(t, backup, "exclusive", [SECRET_ARGUMENT]);
    const run = await runInProcess({ migrations: registry }, [
      "--driver",
      parseDriverName(h.name, "--driver"),
      "--db",
      path.join(dir, "app.db"),
      "--busy-timeout",
      "50",
      "restore",
      backup,
      "--yes",
      "--json",
    ]);
    const error = jsonError(run);
    assert.deepEqual([error.code, error.file], ["DATABASE_LOCKED", backup]);
    if (process.platform === "linux") assert.deepEqual(error.holders, [{ pid: holder.child.pid, program: PROGRAM, host: null, lock: "write" }]);
    assert.ok(!(run.stdout + run.stderr).includes(SECRET), run.stdout + run.stderr);
  });
});

test("pg: DATABASE_LOCKED names the session holding the run lock by its pid, program (application_name's first word) and host", async (t) => {
  const database = await createTestDatabase();
  const holder = new pg.Client({ connectionString: database.url, application_name: `migrator ${SECRET_ARGUMENT}` });
  await holder.connect();
  // Hooks run in order: the holder's session ends before its database is dropped.
  t.after(() => holder.end());
  t.after(() => database.drop());
  await holder.query("SELECT pg_advisory_lock($1::bigint)", [await runLockKey("public", "schema_migrations")]);
  const holderPid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
  const run = await runInProcess({ migrations: registry.map((entry) => ({ ...entry, dialect: "postgres" as const })) }, [
    "--driver",
    "pg",
    "--url",
    database.url,
    "--busy-timeout",
    "50",
    "up",
    "--json",
  ]);
  const error = jsonError(run);
  assert.equal(error.code, "DATABASE_LOCKED");
  assert.deepEqual(error.holders, [{ pid: holderPid, program: "migrator", host: "127.0.0.1", lock: "write" }]);
  assert.ok(!(run.stdout + run.stderr).includes(SECRET), run.stdout + run.stderr);
});
