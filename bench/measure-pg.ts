/**
 * The PostgreSQL benchmark: one embedded server for the run, a fresh database per side and round,
 * and every side (stepwise, the hand-written loop, node-pg-migrate, Kysely, Knex) applying, starting
 * with nothing to do and rolling back the same workload. The sides take turns in an order that
 * rotates each round, so a slow phase of a shared machine falls on all of them.
 */
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import pg from "pg";
import { createTestDatabase } from "../test/support/postgres-server.js";
import { createPgSides, type PgSide } from "./pg-sides.js";
import { benchTableName, createPgWorkload, type PgWorkload } from "./pg-workload.js";
import { measureInterleavedNoOp, type InterleavedNoOpResult } from "./pg-noop-interleaved.js";
import { measureInterleavedApply, type InterleavedApplyResult } from "./pg-apply-interleaved.js";
import { summarize, type Summary } from "./stats.js";

/** What to run. */
export interface PgBenchOptions {
  readonly size: number;
  /** Measured rounds: each side applies, starts `noopRuns` times and rolls back once per round. */
  readonly rounds: number;
  readonly noopRuns: number;
  /** No-op starts a side in the interleaved phase after the rounds (`pg-noop-interleaved.ts`); 0 skips it. */
  readonly noopInterleaved: number;
  /**
   * The interleaved phase of fresh apply and roll-back-all (`pg-apply-interleaved.ts`): `pairs` rounds
   * on a workload of `size` migrations; `pairs: 0` skips it.
   */
  readonly applyInterleaved: { readonly size: number; readonly pairs: number };
  /** Unmeasured rounds first, so every library's code is compiled before it is timed. */
  readonly warmupRounds: number;
  readonly workDir?: string;
  readonly keep?: boolean;
  readonly onProgress?: (message: string) => void;
}

/** One side's times, in milliseconds, and the schema it left. */
export interface PgSideResult {
  readonly id: string;
  readonly label: string;
  readonly transactions: PgSide["transactions"];
  readonly apply: Summary;
  readonly noopStart: Summary;
  readonly rollbackAll: Summary;
  /** The schema after its apply, tracking tables left out: one line per column and per index. */
  readonly schema: readonly string[];
  /** Workload tables left after its rollback (none when it rolled back everything). */
  readonly leftAfterRollback: readonly string[];
}

/** Everything one run of the PostgreSQL benchmark measured. */
export interface PgBenchResult {
  readonly startedAt: string;
  readonly node: string;
  readonly serverVersion: string;
  readonly size: number;
  readonly rounds: number;
  readonly noopRuns: number;
  readonly sides: readonly PgSideResult[];
  /** The no-op start measured start by start against the hand loop and Kysely; `null` when skipped. */
  readonly noopInterleaved: InterleavedNoOpResult | null;
  /** Fresh apply and roll-back-all measured apply by apply against the hand loops and the peers; `null` when skipped. */
  readonly applyInterleaved: InterleavedApplyResult | null;
}

/**
 * The default counts: the rounds at N = 1,000 (about 5 minutes on 2 cores), then the interleaved
 * apply phase at N = 300 with 40 rounds (about 10 minutes; see bench/README.md, session 11, for why
 * that size and count).
 */
export const DEFAULT_PG_BENCH = { size: 1_000, rounds: 5, noopRuns: 5, noopInterleaved: 150, applyInterleaved: { size: 300, pairs: 40 }, warmupRounds: 1 } as const;

const FIGURES = ["apply", "noopStart", "rollbackAll"] as const;

/** The schema of `public` as text, each side's tracking tables left out. */
async function readSchema(url: string, trackingTables: readonly string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const columns = await client.query<{ line: string }>(
      `SELECT format('column %s.%s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END) AS line
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND NOT (c.relname = ANY($1))`,
      [trackingTables],
    );
    const indexes = await client.query<{ line: string }>(
      `SELECT format('index %s on %s: %s', i.relname, t.relname, pg_get_indexdef(i.oid)) AS line
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND NOT (t.relname = ANY($1))`,
      [trackingTables],
    );
    return [...columns.rows, ...indexes.rows].map((row) => row.line).sort();
  } finally {
    await client.end();
  }
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
  } finally {
    await client.end();
  }
}

async function timed(action: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

/** Runs the PostgreSQL benchmark. */
export async function runPgBench(options: PgBenchOptions): Promise<PgBenchResult> {
  const progress = (message: string) => options.onProgress?.(`[pg, N=${options.size}] ${message}`);
  progress("workload and gen --dialect postgres");
  const workload = await createPgWorkload(options.size, options.workDir);
  try {
    const sides = createPgSides(workload);
    const samples = new Map(sides.map((side) => [side.id, { apply: [] as number[], noopStart: [] as number[], rollbackAll: [] as number[] }]));
    const schemas = new Map<string, string[]>();
    const leftovers = new Map<string, string[]>();
    let version = "";
    const totalRounds = options.warmupRounds + options.rounds;
    for (let round = 0; round < totalRounds; round++) {
      const measured = round >= options.warmupRounds;
      progress(`${measured ? "round" : "warm-up round"} ${measured ? round - options.warmupRounds + 1 : round + 1}`);
      // Rotating the order moves each side through every slot of the round.
      const order = sides.map((_, index) => sides[(index + round) % sides.length]!);
      for (const side of order) {
        const database = await createTestDatabase();
        try {
          version ||= await serverVersion(database.url);
          const apply = await timed(() => side.apply(database.url));
          const noop: number[] = [];
          for (let run = 0; run < options.noopRuns; run++) noop.push(await timed(() => side.noopStart(database.url)));
          if (!schemas.has(side.id)) schemas.set(side.id, await readSchema(database.url, side.trackingTables));
          const rollback = await timed(() => side.rollbackAll(database.url));
          if (!leftovers.has(side.id)) leftovers.set(side.id, await leftWorkloadTables(database.url, options.size));
          if (!measured) continue;
          const bucket = samples.get(side.id)!;
          bucket.apply.push(apply);
          bucket.noopStart.push(...noop);
          bucket.rollbackAll.push(rollback);
        } finally {
          await database.drop();
        }
      }
    }
    const noopInterleaved = options.noopInterleaved > 0 ? await measureInterleavedNoOp(sides, options.noopInterleaved, () => loadavg()[0]!, progress) : null;
    const applyInterleaved = options.applyInterleaved.pairs > 0 ? await measureApplyInterleaved(options, workload, progress) : null;
    return {
      startedAt: new Date().toISOString(),
      node: process.version,
      serverVersion: version,
      size: options.size,
      rounds: options.rounds,
      noopRuns: options.noopRuns,
      sides: sides.map((side) => {
        const bucket = samples.get(side.id)!;
        return {
          id: side.id,
          label: side.label,
          transactions: side.transactions,
          ...(Object.fromEntries(FIGURES.map((figure) => [figure, summarize(bucket[figure])])) as Record<(typeof FIGURES)[number], Summary>),
          schema: schemas.get(side.id) ?? [],
          leftAfterRollback: leftovers.get(side.id) ?? [],
        };
      }),
      noopInterleaved,
      applyInterleaved,
    };
  } finally {
    if (!options.keep) rmSync(workload.root, { recursive: true, force: true });
  }
}

/** The interleaved apply phase, on the rounds' workload when the sizes agree, else on one of its own. */
async function measureApplyInterleaved(options: PgBenchOptions, rounds: PgWorkload, progress: (message: string) => void): Promise<InterleavedApplyResult> {
  const { size, pairs } = options.applyInterleaved;
  if (size === rounds.size) return measureInterleavedApply(createPgSides(rounds), size, pairs, () => loadavg()[0]!, progress);
  progress(`workload and gen --dialect postgres for the interleaved apply (N = ${size})`);
  const workload = await createPgWorkload(size, options.workDir);
  try {
    return await measureInterleavedApply(createPgSides(workload), size, pairs, () => loadavg()[0]!, progress);
  } finally {
    if (!options.keep) rmSync(workload.root, { recursive: true, force: true });
  }
}

/** The workload's tables still present: none, after a complete rollback. */
async function leftWorkloadTables(url: string, size: number): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const names = Array.from({ length: size }, (_, index) => benchTableName(index + 1));
    const { rows } = await client.query<{ relname: string }>(`SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY($1) ORDER BY relname`, [names]);
    return rows.map((row) => row.relname);
  } finally {
    await client.end();
  }
}
