/**
 * Who is running a `transaction: false` migration. Such a migration commits a `started` history row,
 * runs without holding the write lock, then marks the row applied. Another process that meets the
 * row must tell "still running elsewhere" (wait) from "crashed half way" (stop and ask a person), so
 * the row records its owner: host, pid and a token unique to the process.
 *
 * The row also names the owner lock the process holds while it runs (see `owner-lock.ts`): a file
 * lock the operating system releases when the process dies, whatever its pid. That is the answer
 * whenever the row has one and the database is a file, and it is right across PID namespaces (two
 * containers sharing a volume) and across hosts, where pids mean nothing.
 *
 * Rows without a lock (written before it existed, or by an in-memory database) fall back to the pid:
 * the token answers pid reuse inside one host's process table, which is common in containers where
 * the app is always pid 1: a row with our own pid but another token was written by a dead
 * predecessor. A pid reused by an unrelated process still reads as alive there; the cost is a wait of
 * at most the busy timeout, then `MIGRATION_IN_PROGRESS`, never a wrong answer.
 */
import { nodeFs, nodeOs } from "./node-builtins.js";

/** What a `started` row records about the process running it. */
export interface MigrationOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  /** The owner lock's file name next to the database (see `owner-lock.ts`); `null` when none was held. */
  readonly lockFile: string | null;
}

/**
 * `self`: this process (a nested call, which cannot be waited for); `alive`: its owner lock is held,
 * or (without a lock) its pid runs on this host; `dead`: gone, or never recorded; `unknown`: no lock
 * to probe and on another host, so only time can tell.
 */
export type OwnerLiveness = "self" | "alive" | "dead" | "unknown";

let processToken: string | undefined;

/**
 * This process's token, made on first use: only a run that writes or judges a `started` row needs
 * it, and importing node:crypto at module load cost every no-op start its whole module graph
 * (about 14 ms under Node 24). The Web Crypto global is there on every runtime stepwise supports.
 */
function currentProcessToken(): string {
  // randomUUID exists only in a secure context: a page served over plain HTTP has getRandomValues alone.
  const random = globalThis.crypto;
  processToken ??= typeof random.randomUUID === "function" ? random.randomUUID() : Array.from(random.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
  return processToken;
}

/**
 * Whether this runtime has processes at all. A Worker isolate (workerd: Durable Objects, D1) has no
 * `process`, pid or host name; there the token alone names the owner, and another's liveness is unknown.
 */
function hasProcess(): boolean {
  return typeof process !== "undefined" && typeof process.pid === "number";
}

/** The host name recorded for an owner in a runtime without processes. */
const ISOLATE_HOST = "(isolate)";

/** This process, as it records itself in a `started` row, holding the owner lock `lockFile` (or none). */
export function currentMigrationOwner(lockFile: string | null = null): MigrationOwner {
  if (!hasProcess()) return { pid: 0, host: ISOLATE_HOST, token: currentProcessToken(), lockFile };
  return { pid: process.pid, host: nodeOs().hostname(), token: currentProcessToken(), lockFile };
}

/** The text stored in the history table's `owner` column. */
export function serializeMigrationOwner(owner: MigrationOwner): string {
  return JSON.stringify(owner);
}

/** Reads an `owner` column; `null` for an empty or foreign value. */
export function parseMigrationOwner(text: string | null): MigrationOwner | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<MigrationOwner>;
    if (Number.isSafeInteger(value.pid) && typeof value.host === "string" && typeof value.token === "string") {
      // Rows written before the owner lock existed have no lockFile.
      return { pid: value.pid!, host: value.host, token: value.token, lockFile: typeof value.lockFile === "string" ? value.lockFile : null };
    }
  } catch {
    // Written by something else; treat as unowned.
  }
  return null;
}

/**
 * Whether the recorded owner may still be running the migration: by its owner lock when the row
 * names one and the driver probed it (`lock`, `null` when not probed), else by its host and pid.
 */
export function assessMigrationOwner(owner: MigrationOwner | null, lock: "held" | "free" | "unknown" | null): OwnerLiveness {
  if (owner === null) return "dead";
  if (!hasProcess()) return owner.token === currentProcessToken() ? "self" : "unknown";
  if (owner.token === currentProcessToken() && owner.pid === process.pid) return "self";
  if (owner.lockFile !== null && lock !== null) {
    if (lock === "held") return "alive";
    if (lock === "free") return "dead";
  }
  if (owner.host !== nodeOs().hostname()) return "unknown";
  // Our pid with another token: a predecessor that had our pid and is gone.
  if (owner.pid === process.pid) return "dead";
  return isProcessAlive(owner.pid) ? "alive" : "dead";
}

function isProcessAlive(pid: number): boolean {
  try {
    // Signal 0 checks existence and permission without delivering anything.
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // A killed child that its parent has not reaped yet still answers signal 0; Linux shows it as Z.
  try {
    const stat = nodeFs().readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return true;
  }
}
