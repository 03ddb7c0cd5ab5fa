/**
 * Runs every side of a workload as whole processes, on a fresh database per side and round: fresh
 * apply, then no-op starts, then roll back all. One unmeasured warm-up round first; the side order
 * rotates every round, so a slow phase of a shared machine falls on all of them. After each process
 * the bench checks what the side reported and what it left in the database, so a broken side cannot
 * look fast.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { createTestDatabase } from "../test/support/postgres-server.js";
import { createWorkload, SIDES, type Dialect, type Side, type Workload } from "./workload.js";

/** One process: wall time from spawn to exit, its peak RSS, and what it did (checked). */
export interface Sample {
  readonly ms: number;
  readonly rssKiB: number;
  /** Migrations the side reported it ran. */
  readonly count: number;
  /** Workload tables in the database after it. */
  readonly tables: number;
}

export type Figure = "apply" | "noop" | "rollback";

/** Every sample of one side; `rollback` is empty for a tool without down migrations. */
export interface SideSamples extends Side, Record<Figure, Sample[]> {}

/** One dialect at one N. */
export interface Measured {
  readonly dialect: Dialect;
  readonly size: number;
  readonly rounds: number;
  readonly sides: readonly SideSamples[];
}

/** No-op starts per side and round: cheap, and the noisiest figure. */
const NOOP_RUNS = 3;

/** A fresh database for one side and round: what to pass the side, how many workload tables it holds, and how to drop it. */
interface FreshDatabase {
  readonly target: string;
  tables(): Promise<number>;
  drop(): Promise<void>;
}

async function freshDatabase(workload: Workload, name: string): Promise<FreshDatabase> {
  if (workload.dialect === "sqlite") {
    mkdirSync(path.join(workload.root, "db"), { recursive: true });
    const file = path.join(workload.root, "db", `${name}.db`);
    const tables = async () => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name LIKE 'bench\\_table\\_%' ESCAPE '\\'").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    return { target: file, tables, drop: async () => ["", "-wal", "-shm"].forEach((suffix) => rmSync(file + suffix, { force: true })) };
  }
  const database = await createTestDatabase();
  const tables = async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'bench\\_table\\_%'")).rows[0]!.n);
    } finally {
      await client.end();
    }
  };
  return { target: database.url, tables, drop: () => database.drop() };
}

/** Runs a Node program as a whole process and times it from spawn to exit; throws with its output when it fails, so a broken side cannot look fast. */
export function timeNodeProcess(label: string, args: readonly string[], cwd: string): { ms: number; stdout: string } {
  const started = performance.now();
  const child = spawnSync(process.execPath, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1" } });
  const ms = performance.now() - started;
  if (child.status !== 0) throw new Error(`${label} exited with ${child.status ?? child.signal}:\n${child.stdout.slice(-2000)}\n${child.stderr}`);
  return { ms, stdout: child.stdout };
}

/** Runs one side's program as a process, then checks that it ran `count` migrations and left `tables` workload tables. */
async function runSide(workload: Workload, side: Side, action: "up" | "down", database: FreshDatabase, expected: { count: number; tables: number }): Promise<Sample> {
  const { ms, stdout } = timeNodeProcess(`${side.id} ${action}`, [workload.program(side), action, database.target], workload.root);
  const { count, rssKiB } = JSON.parse(stdout) as { count: number; rssKiB: number };
  const tables = await database.tables();
  if (count !== expected.count || tables !== expected.tables) {
    throw new Error(`${side.id} ${action} ran ${count} migrations and left ${tables} workload tables; expected ${expected.count} and ${expected.tables}`);
  }
  return { ms, rssKiB, count, tables };
}

/** Measures every side of `workload` over `rounds` rounds, after one warm-up round. */
async function measure(workload: Workload, rounds: number, progress: (message: string) => void = () => undefined): Promise<Measured> {
  const n = workload.size;
  const sides: SideSamples[] = SIDES[workload.dialect].map((side) => ({ ...side, apply: [], noop: [], rollback: [] }));
  for (let round = 0; round <= rounds; round++) {
    progress(`[${workload.dialect}, N = ${n}] ${round === 0 ? "warm-up round" : `round ${round} of ${rounds}`}`);
    for (const side of sides.map((_, index) => sides[(index + round) % sides.length]!)) {
      const database = await freshDatabase(workload, `${side.id}-${round}`);
      try {
        const apply = await runSide(workload, side, "up", database, { count: n, tables: n });
        const noop: Sample[] = [];
        for (let run = 0; run < NOOP_RUNS; run++) noop.push(await runSide(workload, side, "up", database, { count: 0, tables: n }));
        const rollback = side.rollsBack ? [await runSide(workload, side, "down", database, { count: n, tables: 0 })] : [];
        if (round === 0) continue;
        side.apply.push(apply);
        side.noop.push(...noop);
        side.rollback.push(...rollback);
      } finally {
        await database.drop();
      }
    }
  }
  return { dialect: workload.dialect, size: n, rounds, sides };
}

/** Writes the workload for `dialect` at N = `size` into a temp folder, measures every side on it, and deletes it. */
export async function benchDialect(dialect: Dialect, size: number, rounds: number, progress?: (message: string) => void): Promise<Measured> {
  progress?.(`[${dialect}, N = ${size}] writing the workload, gen, compiling the sides`);
  const root = mkdtempSync(path.join(tmpdir(), `stepwise-bench-${dialect}-${size}-`));
  try {
    return await measure(await createWorkload(dialect, size, root), rounds, progress);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
