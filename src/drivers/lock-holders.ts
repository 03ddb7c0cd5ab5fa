/**
 * SQLite reports only "database is locked", never by whom. On Linux the kernel lists every POSIX
 * lock in `/proc/locks` with the owning pid and the file's inode, which is enough to name the
 * process holding the database (rollback journal: locks on the file itself; WAL: on `-shm`).
 * Elsewhere this finds nothing and the error says so in general terms.
 */
import { nodeFs } from "../core/node-builtins.js";
import type { LockHolder } from "../core/errors.js";

/**
 * The other processes holding POSIX locks on the database file or its WAL index, writers first.
 * Best effort: empty on platforms without `/proc/locks`, for `:memory:`, or when nothing matches.
 */
export function findLockHolders(databasePath: string): LockHolder[] {
  if (!databasePath || databasePath === ":memory:") return [];
  const inodes = new Set<number>();
  for (const file of [databasePath, `${databasePath}-shm`]) {
    try {
      inodes.add(nodeFs().statSync(file).ino);
    } catch {
      // No WAL index: the database is in rollback-journal mode.
    }
  }
  let table: string;
  try {
    table = nodeFs().readFileSync("/proc/locks", "utf8");
  } catch {
    return [];
  }
  const byPid = new Map<number, "write" | "read">();
  for (const line of table.split("\n")) {
    // "1: POSIX  ADVISORY  WRITE 4242 fd:01:1234567 1073741825 1073741825"
    const match = /^\d+:\s+POSIX\s+\S+\s+(READ|WRITE)\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/i.exec(line.trim() + " ");
    if (!match) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || !inodes.has(Number(match[3]))) continue;
    const lock = match[1]!.toUpperCase() === "WRITE" ? "write" : "read";
    if (byPid.get(pid) !== "write") byPid.set(pid, lock);
  }
  return [...byPid].map(([pid, lock]) => ({ pid, program: readProgram(pid), host: null, lock })).sort((a, b) => (a.lock === b.lock ? a.pid - b.pid : a.lock === "write" ? -1 : 1));
}

/**
 * The program `pid` runs, never its arguments (another process's command line may carry a key or a
 * password): the file name of its `argv[0]`, else the kernel's name for it (`comm`); `null` when
 * neither can be read.
 */
function readProgram(pid: number): string | null {
  const read = (file: string) => {
    try {
      return nodeFs().readFileSync(`/proc/${pid}/${file}`, "utf8");
    } catch {
      return "";
    }
  };
  return programName(read("cmdline").split("\0")[0] ?? "") ?? programName(read("comm"));
}

/**
 * The program in `name`: its first word (a process may rewrite its `argv[0]` to a whole command
 * line), without the folders, at most 64 characters; `null` for nothing.
 */
export function programName(name: string): string | null {
  const first = name.trim().split(/\s/)[0] ?? "";
  const base = first.slice(first.lastIndexOf("/") + 1).slice(0, 64);
  return base === "" ? null : base;
}
