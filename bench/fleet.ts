/**
 * The fleet figure: `stepwise fleet up` (fresh apply) and `stepwise fleet status` (no-op) over many
 * tenant databases with five migrations each, beside a hand-written pool doing the same work at the
 * same concurrency, at 1, 2 and all cores: SQLite files (the bin's worker threads against
 * `sides/fleet/hand-sqlite.ts`'s) and PostgreSQL schemas (the bin's pool of sessions against
 * `sides/fleet/hand-pg.ts`'s lanes). Each run is a whole process on a fresh fleet, checked: what it
 * reported, and a sample of the databases it left.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { createTestDatabase, type TestPostgresDatabase } from "../test/support/postgres-server.js";
import { timeNodeProcess } from "./measure.js";
import { medianMs } from "./report.js";
import { compileSides, installPackages, repoRoot } from "./workload.js";

export type FleetDialect = "sqlite" | "pg";
export type FleetSide = "stepwise" | "hand";
export type FleetFigure = "apply" | "status";

/** One run: its wall time, and how many databases and migrations it reported. */
export interface FleetSample {
  readonly ms: number;
  readonly databases: number;
  readonly count: number;
}

/** Every run of one side at one concurrency. */
export interface FleetRow extends Record<FleetFigure, FleetSample[]> {
  readonly concurrency: number;
  readonly side: FleetSide;
}

/** One dialect's fleet figure. */
export interface FleetMeasured {
  readonly dialect: FleetDialect;
  readonly databases: number;
  readonly rounds: number;
  readonly rows: readonly FleetRow[];
}

/** How many databases the warm-up runs each side on. */
const WARM_UP_DATABASES = 20;

/** The five migrations every tenant gets, in both dialects. */
const MIGRATIONS = [
  [
    "create_accounts",
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL)",
  ],
  [
    "create_invoices",
    "CREATE TABLE invoices (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts (id), total INTEGER NOT NULL)",
    "CREATE TABLE invoices (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id), total integer NOT NULL)",
  ],
  ["index_invoices", "CREATE INDEX invoices_account ON invoices (account_id)", "CREATE INDEX invoices_account ON invoices (account_id)"],
  ["add_plan", "ALTER TABLE accounts ADD COLUMN plan TEXT NOT NULL DEFAULT 'free'", "ALTER TABLE accounts ADD COLUMN plan text NOT NULL DEFAULT 'free'"],
  ["create_events", "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, at TEXT NOT NULL)", "CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, at timestamptz NOT NULL)"],
].map(([name, sqlite, postgres], index) => ({ version: index + 1, name: name!, sqlite: sqlite!, postgres: postgres! }));

/** 1, 2 and every core, once each. */
export function fleetConcurrencies(): number[] {
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return [...new Set([1, 2, cores])].sort((a, b) => a - b);
}

/** A temp project per dialect: the migrations and their registry, stepwise installed as an app has it (src and codegen built, its bin), the hand sides compiled. */
function createFleetWorkload(dialect: FleetDialect, root: string) {
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  };
  write("package.json", JSON.stringify({ name: "stepwise-fleet-bench", private: true, type: "module", stepwise: { dialect: dialect === "pg" ? "postgres" : "sqlite" } }));
  write("fleet-migrations.js", `export const migrations = ${JSON.stringify(MIGRATIONS)};\n`);
  for (const migration of MIGRATIONS) write(`migrations/00${migration.version}_${migration.name}.sql`, `-- migrate:up\n${dialect === "pg" ? migration.postgres : migration.sqlite};\n`);
  const gen = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(repoRoot, "codegen", "bin.ts"), "gen"], { cwd: root, encoding: "utf8" });
  if (gen.status !== 0) throw new Error(`stepwise gen failed in ${root}:\n${gen.stderr}`);
  return root;
}

/** A fresh fleet for one run: what to pass the sides, and how to check a sample of it afterwards. */
interface FreshFleet {
  readonly stepwiseArgs: (figure: FleetFigure) => string[];
  readonly handArgs: (figure: FleetFigure) => string[];
  /** How many of a sample of databases hold all five migrations in `side`'s history table. */
  migratedInSample(side: FleetSide): Promise<{ sample: number; migrated: number }>;
  drop(): Promise<void>;
}

/** About 25 databases spread over the fleet, the last one included. */
const sampleOf = <T>(items: readonly T[]) => items.filter((_, index) => index % Math.max(1, Math.floor(items.length / 25)) === 0 || index === items.length - 1);

async function freshFleet(dialect: FleetDialect, root: string, databases: number): Promise<FreshFleet> {
  const history = (side: FleetSide) => (side === "stepwise" ? "schema_migrations" : "hand_migrations");
  if (dialect === "sqlite") {
    const dir = path.join(root, "tenants");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const files = Array.from({ length: databases }, (_, index) => path.join(dir, `tenant-${String(index).padStart(6, "0")}.db`));
    for (const file of files) writeFileSync(file, "");
    return {
      stepwiseArgs: (figure) => ["fleet", figure === "apply" ? "up" : "status", "--db", "tenants/*.db"],
      handArgs: (figure) => [figure === "apply" ? "up" : "status", dir],
      migratedInSample: async (side) => {
        const sample = sampleOf(files);
        const migrated = sample.filter((file) => {
          const db = new Database(file, { readonly: true });
          try {
            return (db.prepare(`SELECT count(*) AS n FROM ${history(side)}`).get() as { n: number }).n === MIGRATIONS.length;
          } finally {
            db.close();
          }
        }).length;
        return { sample: sample.length, migrated };
      },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const database: TestPostgresDatabase = await createTestDatabase();
  const schemas = Array.from({ length: databases }, (_, index) => `tenant_${String(index).padStart(6, "0")}`);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query(schemas.map((schema) => `CREATE SCHEMA ${schema}`).join("; "));
  return {
    stepwiseArgs: (figure) => ["fleet", figure === "apply" ? "up" : "status", "--driver", "pg", "--url", database.url, "--schema", "tenant_*"],
    handArgs: (figure) => [figure === "apply" ? "up" : "status", database.url],
    migratedInSample: async (side) => {
      const sample = sampleOf(schemas);
      let migrated = 0;
      for (const schema of sample) if (Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.${history(side)}`)).rows[0]!.n) === MIGRATIONS.length) migrated++;
      return { sample: sample.length, migrated };
    },
    drop: async () => {
      await client.end();
      await database.drop();
    },
  };
}

/** What a stepwise run printed, as counts: `fleet up`'s summary line, `fleet status`'s histogram. */
function readStepwise(figure: FleetFigure, stdout: string): { databases: number; count: number } {
  const number = (text: string | undefined) => Number((text ?? "NaN").replaceAll(",", ""));
  if (figure === "apply") {
    const match = /^([\d,]+) databases? in .*: ([\d,]+) migrated, .*; ([\d,]+) migrations? applied$/m.exec(stdout);
    return { databases: number(match?.[1]), count: number(match?.[3]) };
  }
  const total = /^([\d,]+) databases?, latest version/m.exec(stdout)?.[1];
  const current = new RegExp(`^ {2}version ${MIGRATIONS.length} +\\S+ +([\\d,]+)`, "m").exec(stdout)?.[1];
  return { databases: number(total), count: number(current) };
}

/** Runs one side's figure as a process and checks it: every database reported, five migrations each (apply) or each at the latest (status). */
async function runFleetSide(
  side: FleetSide,
  figure: FleetFigure,
  fleet: FreshFleet,
  workload: { root: string; bin: string; dialect: FleetDialect },
  concurrency: number,
  databases: number,
): Promise<FleetSample> {
  const [command, args] =
    side === "stepwise"
      ? [workload.bin, [...fleet.stepwiseArgs(figure), "--concurrency", String(concurrency)]]
      : [path.join(workload.root, "app", `hand-${workload.dialect}.mjs`), [...fleet.handArgs(figure), String(concurrency)]];
  // stepwise exits 1 when a database is not current; the check below says which run went wrong.
  const { ms, stdout } = timeNodeProcess(`${side} ${figure} at concurrency ${concurrency}`, [command, ...args], workload.root);
  const reported = side === "stepwise" ? readStepwise(figure, stdout) : (JSON.parse(stdout) as { databases: number; count: number });
  const expected = { databases, count: figure === "apply" ? databases * MIGRATIONS.length : databases };
  if (reported.databases !== expected.databases || reported.count !== expected.count) {
    throw new Error(`${side} ${figure} reported ${reported.databases} databases and ${reported.count}; expected ${expected.databases} and ${expected.count}\n${stdout.slice(-2000)}`);
  }
  const { sample, migrated } = await fleet.migratedInSample(side);
  if (migrated !== sample) throw new Error(`${side} ${figure}: ${sample - migrated} of ${sample} sampled databases lack migrations`);
  return { ms, ...reported };
}

/**
 * Measures the fleet figure of `dialect` over `databases` tenants, `rounds` times per side and
 * concurrency (each a fresh fleet, the sides' order alternating), after a warm-up of each on a small fleet.
 */
export async function benchFleet(dialect: FleetDialect, databases: number, rounds: number, progress: (message: string) => void = () => undefined): Promise<FleetMeasured> {
  // In memory where Linux offers it: each side's own work is measured, not the disk's fsyncs, which both pay alike.
  const root = mkdtempSync(path.join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), `stepwise-bench-fleet-${dialect}-`));
  try {
    progress(`[fleet ${dialect}, ${databases} databases] gen, building stepwise and the hand-written sides`);
    createFleetWorkload(dialect, root);
    const workload = { root, dialect, bin: await installPackages(root) };
    const hand = (side: FleetDialect) => ({ in: path.join(repoRoot, "bench", "sides", "fleet", `hand-${side}.ts`), out: `hand-${side}` });
    await compileSides(root, [hand("sqlite"), hand("pg")], { "workload:fleet-migrations": path.join(root, "fleet-migrations.js") });
    const rows: FleetRow[] = fleetConcurrencies().flatMap((concurrency) => (["stepwise", "hand"] as const).map((side) => ({ concurrency, side, apply: [], status: [] })));
    // Warm-up on a small fleet: the disk cache holds each side's code before anything is measured.
    for (const row of rows) {
      progress(`[fleet ${dialect}, ${databases} databases] warm-up: ${row.side}, concurrency ${row.concurrency}`);
      const fleet = await freshFleet(dialect, root, Math.min(databases, WARM_UP_DATABASES));
      try {
        await runFleetSide(row.side, "apply", fleet, workload, row.concurrency, Math.min(databases, WARM_UP_DATABASES));
      } finally {
        await fleet.drop();
      }
    }
    for (let round = 1; round <= rounds; round++) {
      for (let index = 0; index < rows.length; index++) {
        // Each concurrency's two sides in turn, which goes first alternating by round.
        const current = rows[(index & ~1) + ((index + round) % 2)]!;
        progress(`[fleet ${dialect}, ${databases} databases] round ${round} of ${rounds}: ${current.side}, concurrency ${current.concurrency}`);
        const fleet = await freshFleet(dialect, root, databases);
        try {
          current.apply.push(await runFleetSide(current.side, "apply", fleet, workload, current.concurrency, databases));
          current.status.push(await runFleetSide(current.side, "status", fleet, workload, current.concurrency, databases));
        } finally {
          await fleet.drop();
        }
      }
    }
    return { dialect, databases, rounds, rows };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The fleet table: `median (min)` ms per cell, stepwise's median over the hand pool's at each concurrency, and the verdicts against 1.25×. */
export function renderFleet(measured: FleetMeasured): string {
  const what = measured.dialect === "sqlite" ? "SQLite files (better-sqlite3)" : "PostgreSQL schemas (pg, embedded server)";
  const lines = [
    `### Fleet: ${measured.databases.toLocaleString("en-US")} ${what}, 5 migrations each, ${measured.rounds} round${measured.rounds === 1 ? "" : "s"}`,
    "",
    "| concurrency | side | fresh apply, ms | no-op status, ms |",
    "|--:|---|--:|--:|",
  ];
  const verdicts: string[] = [];
  for (const row of measured.rows) {
    const hand = measured.rows.find((other) => other.concurrency === row.concurrency && other.side === "hand")!;
    const cell = (figure: FleetFigure) => {
      const text = `${medianMs(row[figure]).toFixed(0)} (${Math.min(...row[figure].map((sample) => sample.ms)).toFixed(0)})`;
      return row.side === "stepwise"
        ? text
        : `${text} · ${(medianMs(measured.rows.find((other) => other.concurrency === row.concurrency && other.side === "stepwise")![figure]) / medianMs(row[figure])).toFixed(2)}×`;
    };
    lines.push(`| ${row.concurrency} | ${row.side === "stepwise" ? "**stepwise fleet**" : "hand-written pool"} | ${cell("apply")} | ${cell("status")} |`);
    if (row.side === "stepwise") {
      const ratio = (figure: FleetFigure) => medianMs(row[figure]) / medianMs(hand[figure]);
      const verdict = (figure: FleetFigure, name: string) => `${name} ${ratio(figure).toFixed(2)}× (≤ 1.25×: ${ratio(figure) <= 1.25 ? "met" : "**not met**"})`;
      verdicts.push(`- concurrency ${row.concurrency}: stepwise takes the hand pool's ${verdict("apply", "fresh apply")}, ${verdict("status", "no-op status")}`);
    }
  }
  return [...lines, "", ...verdicts].join("\n");
}
