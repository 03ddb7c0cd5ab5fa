/**
 * Who runs a `transaction: false` migration, recorded in its `started` row so another process can tell "still running elsewhere" from "crashed": by the owner lock it names
 * (released by the operating system when the process dies), else by its pid, with a per-process token against pid reuse. The token names the attempt too, so another run in this
 * process (a second manager, a Worker's concurrent request) can tell an attempt still running here from one that failed.
 */
import { nodeFs, nodeOs } from "./node-builtins.js";
import { randomHex } from "./transaction-guard.js";
import type { StepwiseErrorDetails } from "./errors.js";

/** What a `started` row records about the process running it. */
export interface MigrationOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  /** The owner lock's file name, or the server session; `null` when none was held. */
  readonly lockFile: string | null;
  /** When the owning process started (ms since the epoch), to tell another thread of this process from a predecessor that had its pid; `null` when unknown. */
  readonly processStart: number | null;
}

/** `self`: an attempt of this process that ended; `alive`: one running here, or its lock is held, or its pid runs here; `dead`: gone; `unknown`: on another host or isolate, with no
 * lock to probe. */
export type OwnerLiveness = "self" | "alive" | "dead" | "unknown";

let token: string | undefined;
let attempts = 0;
/** The tokens of this process's attempts that are running now. */
const running = new Set<string>();

/** Made on first use: a Worker may not draw random values at start-up. */
const processToken = (): string => (token ??= randomHex(16));

/** A Worker isolate has no process: the token alone names the owner. With `nodejs_compat` workerd gives it a `process` with a pid, but no `node:os` (or a stand-in every isolate shares). */
const hasProcess = (): boolean =>
  typeof process !== "undefined" && typeof process.pid === "number" && (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent !== "Cloudflare-Workers";

/** This process, as it records itself in a `started` row for a new attempt, holding the owner lock `lockFile`. */
export function currentMigrationOwner(lockFile: string | null = null): MigrationOwner {
  const attempt = `${processToken()}.${++attempts}`;
  return hasProcess()
    ? { pid: process.pid, host: nodeOs().hostname(), token: attempt, lockFile, processStart: processStart() }
    : { pid: 0, host: "(isolate)", token: attempt, lockFile, processStart: null };
}

/** This process's start, the same in each of its threads (each has its own token); to the second, as two readings of it differ by rounding. */
const processStart = (): number => Math.round(Date.now() / 1000 - process.uptime());

/** Marks `owner`'s attempt as running in this process until the returned function is called. */
export function holdOwnership(owner: MigrationOwner): () => void {
  running.add(owner.token);
  return () => void running.delete(owner.token);
}

/** The text stored in the history table's `owner` column. */
export function serializeMigrationOwner(owner: MigrationOwner): string {
  return JSON.stringify(owner);
}

/** Reads an `owner` column; `null` for an empty or foreign value. */
export function parseMigrationOwner(text: string | null): MigrationOwner | null {
  try {
    const value = JSON.parse(text || "null") as Partial<MigrationOwner> | null;
    if (Number.isSafeInteger(value?.pid) && typeof value?.host === "string" && typeof value.token === "string") {
      return {
        pid: value.pid!,
        host: value.host,
        token: value.token,
        lockFile: typeof value.lockFile === "string" ? value.lockFile : null,
        processStart: typeof value.processStart === "number" ? value.processStart : null,
      };
    }
  } catch {
    // Written by something else; treat as unowned.
  }
  return null;
}

/** Whether the recorded owner may still run the migration: by its lock when probed (`lock`), else by its host and pid. */
export function assessMigrationOwner(owner: MigrationOwner | null, lock: "held" | "free" | "unknown" | null): OwnerLiveness {
  if (owner === null) return "dead";
  if (owner.token.split(".")[0] === processToken() && owner.pid === (hasProcess() ? process.pid : 0)) return running.has(owner.token) ? "alive" : "self";
  if (owner.lockFile !== null && (lock === "held" || lock === "free")) return lock === "held" ? "alive" : "dead";
  if (!hasProcess() || owner.host !== nodeOs().hostname()) return "unknown";
  // Our pid with another token: another thread of this process (it may still run the migration), or a predecessor that had our pid and is gone.
  if (owner.pid === process.pid) return owner.processStart !== null && Math.abs(owner.processStart - processStart()) <= 1 ? "unknown" : "dead";
  return isProcessAlive(owner.pid) ? "alive" : "dead";
}

/** Who runs a `started` row, as `MIGRATION_IN_PROGRESS` reports it: its process, and on PostgreSQL the backend its row names as its session (`pg-backend:<pid>:…`). */
export function ownerDetails(owner: MigrationOwner | null): Pick<StepwiseErrorDetails["MIGRATION_IN_PROGRESS"], "owner" | "serverSession"> {
  const session = /^pg-backend:(\d+):/.exec(owner?.lockFile ?? "")?.[1];
  return { owner: owner && { pid: owner.pid, host: owner.host }, ...(session !== undefined && { serverSession: Number(session) }) };
}

/** Whether a process of this host (this pid namespace) runs as `pid`; a zombie does not. */
export function isProcessAlive(pid: number): boolean {
  // 0 and below name a process group (or every process), which answers signal 0 whoever recorded it.
  if (pid < 1) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // A killed child its parent has not reaped still answers signal 0; Linux shows it as Z.
  try {
    const stat = nodeFs().readFileSync(`/proc/${pid}/stat`, "utf8");
    return !["Z", "X"].includes(stat.charAt(stat.lastIndexOf(")") + 2));
  } catch {
    return true;
  }
}
