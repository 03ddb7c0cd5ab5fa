/**
 * A child process that holds a connection to a database in a given way, for tests that need a lock
 * (or a page cache, or a crash) held by another process rather than another connection.
 *
 * Usage: lock-holder.ts <database> <role>
 * - `reader`: rollback journal; holds a read transaction (a SHARED lock).
 * - `writer`: rollback journal; holds a write transaction (BEGIN IMMEDIATE, a RESERVED lock).
 * - `wal-reader`: WAL mode; holds a read transaction (an old snapshot).
 * - `wal-writer`: WAL mode; holds a write transaction (BEGIN IMMEDIATE).
 * - `exclusive`: rollback journal; holds an EXCLUSIVE lock, so nobody else can even read.
 * - `idle`: opens, reads once (filling its page cache), holds nothing.
 * - `wal-crash`: WAL mode; commits a row into `crash_marker` and waits to be killed, leaving a `-wal`.
 * It prints `ready` once in place. On stdin, `release` ends its transaction (prints `released`),
 * `release-after <ms>` ends it that much later (prints `scheduled` at once),
 * `read <table>` prints that table's rows as JSON, `exit` exits.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";

/** What a test controls of the child. */
export interface LockHolder {
  readonly child: ChildProcessWithoutNullStreams;
  /** Sends a command and resolves with the next line the child prints. */
  send(command: string): Promise<string>;
  /** Kills the child (SIGKILL) and waits for it to be gone. */
  kill(): Promise<void>;
}

/** The roles the child can play; see the file comment. */
export type LockHolderRole = "reader" | "writer" | "wal-reader" | "wal-writer" | "exclusive" | "idle" | "wal-crash";

/**
 * Starts the child and resolves once it prints `ready`; it is killed when the test ends. `extraArgs`
 * go on its command line after the role, unread: what a process's arguments may hold (a key, a
 * password) that nothing stepwise reports about it may show.
 */
export async function startLockHolder(t: { after(fn: () => void | Promise<void>): void }, databasePath: string, role: LockHolderRole, extraArgs: readonly string[] = []): Promise<LockHolder> {
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), fileURLToPath(import.meta.url), databasePath, role, ...extraArgs], { stdio: ["pipe", "pipe", "pipe"] });
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      waiting.push(resolve);
      child.once("exit", (code) => reject(new Error(`lock holder exited (${code}): ${stderr}`)));
    });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const holder: LockHolder = {
    child,
    send(command) {
      const line = nextLine();
      child.stdin.write(`${command}\n`);
      return line;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
  t.after(() => holder.kill());
  const ready = await nextLine();
  if (ready !== "ready") throw new Error(`lock holder said ${ready}: ${stderr}`);
  return holder;
}

/** The module names, as strings, so the type checker (which has no Bun types) does not resolve them. */
const BUN_SQLITE: string = "bun:sqlite";
const NODE_SQLITE: string = "node:sqlite";

/** What the roles call on the child's connection. */
interface HolderDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): { get(): unknown; all(): unknown[] };
  readonly inTransaction: boolean;
  close(): unknown;
}

/**
 * The child's connection, in the program the test runs as (the holder is named by it): better-sqlite3
 * under the Node it was built for, bun:sqlite under Bun, node:sqlite under another Node.
 */
async function openHolderDatabase(file: string): Promise<HolderDatabase> {
  if (process.versions.bun !== undefined) {
    const bun = (await import(BUN_SQLITE)) as { Database: new (file: string) => HolderDatabase };
    return new bun.Database(file);
  }
  try {
    return new Database(file);
  } catch {
    const { DatabaseSync } = (await import(NODE_SQLITE)) as { DatabaseSync: new (file: string) => Omit<HolderDatabase, "inTransaction"> & { readonly isTransaction: boolean } };
    const db = new DatabaseSync(file);
    return {
      exec: (sql) => db.exec(sql),
      prepare: (sql) => db.prepare(sql),
      close: () => db.close(),
      get inTransaction() {
        return db.isTransaction;
      },
    };
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [databasePath, role] = process.argv.slice(2) as [string, LockHolderRole];
  const db = await openHolderDatabase(databasePath);
  if (role === "reader") {
    db.exec("BEGIN");
    db.prepare("SELECT count(*) FROM sqlite_master").get();
  } else if (role === "writer") {
    db.exec("BEGIN IMMEDIATE");
  } else if (role === "wal-reader") {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("BEGIN");
    db.prepare("SELECT count(*) FROM sqlite_master").get();
  } else if (role === "wal-writer") {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("BEGIN IMMEDIATE");
  } else if (role === "exclusive") {
    db.exec("BEGIN EXCLUSIVE");
  } else if (role === "idle") {
    db.prepare("SELECT * FROM sqlite_master").all();
  } else if (role === "wal-crash") {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA wal_autocheckpoint = 0");
    db.exec("CREATE TABLE IF NOT EXISTS crash_marker (note TEXT); INSERT INTO crash_marker VALUES ('only in the -wal')");
  }
  process.stdout.write("ready\n");
  createInterface({ input: process.stdin }).on("line", (line) => {
    const [command, argument] = line.split(" ");
    if (command === "release") {
      if (db.inTransaction) db.exec("COMMIT");
      process.stdout.write("released\n");
    } else if (command === "release-after") {
      // For a parent that will be blocked in a synchronous wait when the lock should go.
      setTimeout(() => {
        if (db.inTransaction) db.exec("COMMIT");
      }, Number(argument));
      process.stdout.write("scheduled\n");
    } else if (command === "read") {
      process.stdout.write(`${JSON.stringify(db.prepare(`SELECT * FROM "${argument}"`).all())}\n`);
    } else if (command === "exit") {
      db.close();
      process.exit(0);
    }
  });
}
