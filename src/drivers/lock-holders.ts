/** Who holds a SQLite database: on Linux `/proc/locks` lists every POSIX lock with its pid and inode. */
import { nodeFs } from "../core/node-builtins.js";
import type { LockHolder } from "../core/errors.js";

/** The other processes holding POSIX locks on the database or its WAL index, writers first; empty in memory (`null`) or where `/proc/locks` is missing. */
export function findLockHolders(databasePath: string | null): LockHolder[] {
  if (!databasePath || databasePath === ":memory:") return [];
  const inodes = [databasePath, `${databasePath}-shm`].map((file) => {
    try {
      return nodeFs().statSync(file).ino;
    } catch {
      return undefined; // No WAL index: rollback-journal mode.
    }
  });
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
    if (pid === process.pid || !inodes.includes(Number(match[3]))) continue;
    if (byPid.get(pid) !== "write") byPid.set(pid, match[1]!.toUpperCase() === "WRITE" ? "write" : "read");
  }
  return [...byPid].map(([pid, lock]) => ({ pid, program: readProgram(pid), host: null, lock })).sort((a, b) => (a.lock === b.lock ? a.pid - b.pid : a.lock === "write" ? -1 : 1));
}

/** The program `pid` runs, never its arguments (they may carry a secret); `null` when unreadable. */
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

/** The program in `name`: its first word without folders, at most 64 characters; `null` for nothing. */
export function programName(name: string): string | null {
  const first = name.trim().split(/\s/)[0] ?? "";
  const base = first.slice(first.lastIndexOf("/") + 1).slice(0, 64);
  return base === "" ? null : base;
}
