/**
 * The child process of the multi-process tests, for every driver: `migrate-child.ts <driver> <mode> …`,
 * run in the driver's own runtime (`childCommand` in `driver-matrix.ts`). It opens the library's
 * native connection as an app would and migrates through that driver's entry, so one program covers
 * better-sqlite3, node:sqlite, bun:sqlite, libsql and (`probe` and `serve`) libsql-client on a file alike. Every line it prints is written with
 * `writeSync`, so a parent that kills it has seen everything it printed.
 *
 * Modes:
 * - `probe`: prints `{"capabilities": …}` as the driver declares them here, or `{"unloadable": reason}`.
 * - `serve <registry.ts>`: a long-lived worker. Prints `{"ready": true}`, then for every request line
 *   `{ databasePath, startAt, sideEffectLog }` on stdin waits until `startAt` (so all workers start
 *   together), opens its own connection, runs `up` and answers a {@link WorkerReply} line. Exits 0
 *   when stdin ends.
 * - `replay <registry.ts> <database>`: applies everything to a fresh file and prints the
 *   {@link ReplayReport}: the database's digest after each version, and each migration's duration.
 * - `crash <registry.ts> <database> <delete|wal>`: prints `state <Inspection>` (the file as this run
 *   found it, read through the driver), `ready`, `migrating N` as each migration starts, and `done
 *   <Inspection>` at the end. An interrupted `transaction: false` migration makes `up` refuse; the
 *   child prints `refused {code, version}`, resolves it as an operator would ("forget": its fixture
 *   migration is safe to run again) and carries on. The parent kills it at random points.
 */
import { mkdtempSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { SUITE_DRIVERS, LIBSQL_CLIENT_FILE, unloadableReason, type DriverEntry } from "./driver-matrix.js";
import { digestDatabase, type DatabaseDigest, type DigestReader } from "./database-digest.js";
import { StepwiseError } from "../../src/core/errors.js";
import { repairIncompleteMigration } from "../../src/safety/repair.js";
import type { MigrationEvent } from "../../src/core/events.js";
import type { SyncMigrationManager } from "../../src/core/manager.js";
import type { MigrationRegistry } from "../../src/core/types.js";

/** What the parent sends a `serve` worker for one trial. */
export interface WorkerRequest {
  readonly databasePath: string;
  readonly startAt: number;
  readonly sideEffectLog: string;
}

/** What a `serve` worker answers. */
export type WorkerReply =
  | { readonly ok: true; readonly ran: number[]; readonly skipped: number[] }
  | { readonly ok: false; readonly code: string | null; readonly version: number | null; readonly nativeCode: string | null; readonly message: string };

/** What `replay` prints: `digests[v]` is the database after version `v` (0: before any). */
export interface ReplayReport {
  readonly digests: DatabaseDigest[];
  readonly durations: number[];
}

/** A database as a `crash` run found or left it, read through the driver under test. */
export interface Inspection {
  readonly history: Array<{ version: number; state: string }>;
  readonly digest: DatabaseDigest;
  readonly integrity: string;
  readonly foreignKeyViolations: number;
}

const [driverName, mode, ...args] = process.argv.slice(2);
/** The sync drivers, and libsql-client on a file (whose manager's methods return promises: `serve` awaits them). */
const CHILD_DRIVERS = [...SUITE_DRIVERS, LIBSQL_CLIENT_FILE];
const underTest = CHILD_DRIVERS.find((candidate) => candidate.name === driverName);
if (!underTest || !mode) throw new Error(`usage: migrate-child.ts <${CHILD_DRIVERS.map((d) => d.name).join("|")}> <probe|serve|replay|crash> …`);

function print(line: string): void {
  writeSync(1, `${line}\n`);
}

async function loadRegistry(file: string | undefined): Promise<MigrationRegistry> {
  if (!file) throw new Error(`${mode} needs <registry.ts>`);
  return ((await import(pathToFileURL(file).href)) as { migrations: MigrationRegistry }).migrations;
}

/** A manager of the driver's own entry on a fresh native connection to `file`. */
async function openManager(entry: DriverEntry, file: string, migrations: MigrationRegistry, onEvent?: (event: MigrationEvent) => void) {
  const native = await underTest!.open(file);
  const manager = new entry.MigrationManager(native as never, migrations, onEvent ? { onEvent } : {});
  return { manager, close: () => void native.close() };
}

function inspect(reader: DigestReader): Inspection {
  const hasHistory = reader.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", []).length > 0;
  const history = hasHistory ? reader.query("SELECT version, state FROM schema_migrations ORDER BY version", []).map((row) => ({ version: Number(row.version), state: String(row.state) })) : [];
  return {
    history,
    digest: digestDatabase(reader),
    integrity: String(Object.values(reader.query("PRAGMA integrity_check", [])[0] ?? {})[0]),
    foreignKeyViolations: reader.query("PRAGMA foreign_key_check", []).length,
  };
}

async function probe(): Promise<void> {
  const unloadable = await unloadableReason(underTest!);
  if (unloadable !== null) return print(JSON.stringify({ unloadable }));
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-child-probe-"));
  try {
    const { manager, close } = await openManager(await underTest!.load(), path.join(dir, "probe.db"), []);
    print(JSON.stringify({ capabilities: manager.driver.capabilities }));
    close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function serve(): Promise<void> {
  const entry = await underTest!.load();
  const migrations = await loadRegistry(args[0]);
  const answer = async (request: WorkerRequest): Promise<WorkerReply> => {
    process.env.STEPWISE_SIDE_EFFECT_LOG = request.sideEffectLog;
    const skipped: number[] = [];
    const { manager, close } = await openManager(entry, request.databasePath, migrations, (event) => {
      if (event.type === "skipped") skipped.push(event.version);
    });
    try {
      // Awaited: libsql-client's manager returns a promise (a sync manager's result passes through).
      const result = await Promise.resolve(manager.up());
      return { ok: true, ran: result.steps.map((step) => step.version), skipped };
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      return {
        ok: false,
        code: error instanceof StepwiseError ? error.code : null,
        version: error instanceof StepwiseError && "version" in error.details && typeof error.details.version === "number" ? error.details.version : null,
        nativeCode: manager.driver.classifyError(error).nativeCode ?? (cause === undefined ? null : manager.driver.classifyError(cause).nativeCode),
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      };
    } finally {
      close();
    }
  };
  let buffered = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      const request = JSON.parse(buffered.slice(0, end)) as WorkerRequest;
      buffered = buffered.slice(end + 1);
      setTimeout(() => void answer(request).then((reply) => print(JSON.stringify(reply))), Math.max(0, request.startAt - Date.now()));
    }
  });
  process.stdin.on("end", () => process.exit(0));
  print(JSON.stringify({ ready: true }));
}

async function replay(): Promise<void> {
  const migrations = await loadRegistry(args[0]);
  const durations: number[] = [0];
  const digests: DatabaseDigest[] = [];
  let reader: DigestReader | null = null;
  const { manager, close } = await openManager(await underTest!.load(), args[1]!, migrations, (event) => {
    if (event.type !== "migrated") return;
    durations[event.version] = event.durationMs;
    digests[event.version] = digestDatabase(reader!);
  });
  reader = manager.driver;
  manager.driver.exec("PRAGMA foreign_keys = ON");
  digests[0] = digestDatabase(reader);
  manager.up();
  close();
  print(JSON.stringify({ digests, durations } satisfies ReplayReport));
}

async function crash(): Promise<void> {
  const migrations = await loadRegistry(args[0]);
  const { manager, close } = await openManager(await underTest!.load(), args[1]!, migrations, (event) => {
    if (event.type === "migrating") print(`migrating ${event.version}`);
  });
  manager.driver.exec(`PRAGMA journal_mode = ${args[2] === "wal" ? "WAL" : "DELETE"}`);
  manager.driver.exec("PRAGMA foreign_keys = ON");
  print(`state ${JSON.stringify(inspect(manager.driver))}`);
  print("ready");
  try {
    manager.up();
  } catch (error) {
    if (!(error instanceof StepwiseError && error.is("INCOMPLETE_MIGRATION"))) throw error;
    const { version } = error.details;
    print(`refused ${JSON.stringify({ code: error.code, version })}`);
    repairIncompleteMigration(manager as SyncMigrationManager<unknown>, { version, resolution: "forget" });
    manager.up();
  }
  print(`done ${JSON.stringify(inspect(manager.driver))}`);
  close();
}

const modes: Record<string, () => Promise<void>> = { probe, serve, replay, crash };
const run = modes[mode];
if (!run) throw new Error(`unknown mode ${mode}`);
await run();
