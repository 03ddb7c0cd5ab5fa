/**
 * stepwise beside the tools a SQLite app would pick instead, on better-sqlite3: the hand-written
 * loop, Umzug, Kysely's `Migrator`, Knex's migrator and drizzle's migrator. Every side applies,
 * starts with nothing to do and rolls back the same SQL on a database file of its own, with the same
 * connection pragmas, in one process; the sides take turns in an order that rotates each round, so a
 * slow phase of a shared machine falls on all of them. Each side opens its own connection per call,
 * as an app's start-up does. drizzle has no down migrations, so it has no roll-back figure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate as drizzleMigrate } from "drizzle-orm/better-sqlite3/migrator";
import knex, { type Knex } from "knex";
import { type Kysely, SqliteDialect, sql } from "kysely";
import { tsImport } from "tsx/esm/api";
import { Umzug } from "umzug";
import type { MigrationRegistry } from "../src/core/types.js";
import { MigrationManager, migrate } from "../src/entries/better-sqlite3.js";
import { applyRawPerMigration, CREATE_HISTORY, rollbackRawPerMigration, type RawMigration } from "./raw-baseline.js";
import { kyselyActions, type KyselyMigrations } from "./kysely-side.js";
import { summarize, type Summary } from "./stats.js";
import { runChildOrThrow, tsxLoader } from "./child.js";
import { CONNECTION_PRAGMAS, createWorkload, repoRoot } from "./workload.js";

/** One side: how it applies everything, starts with nothing pending, and rolls everything back. */
interface SqlitePeerSide {
  readonly id: string;
  readonly label: string;
  readonly transactions: "one per migration" | "one for the run";
  apply(file: string): Promise<void>;
  noopStart(file: string): Promise<void>;
  /** Absent where the tool has no down migrations. */
  rollbackAll?(file: string): Promise<void>;
}

/** One side's times in milliseconds. */
export interface SqlitePeerResult {
  readonly id: string;
  readonly label: string;
  readonly transactions: SqlitePeerSide["transactions"];
  readonly apply: Summary;
  readonly noopStart: Summary;
  readonly rollbackAll: Summary | null;
}

/** Every side at one size. */
export interface SqlitePeersResult {
  readonly size: number;
  readonly rounds: number;
  readonly sides: readonly SqlitePeerResult[];
}

function open(file: string): Database.Database {
  const db = new Database(file);
  for (const pragma of CONNECTION_PRAGMAS) db.pragma(pragma);
  return db;
}

async function withDatabase<T>(file: string, action: (db: Database.Database) => T | Promise<T>): Promise<T> {
  const db = open(file);
  try {
    return await action(db);
  } finally {
    db.close();
  }
}

/** The statements of a workload script: Kysely and Knex prepare one statement at a time. */
const statementsOf = (script: string): string[] =>
  script
    .split(";\n")
    .map((statement) => statement.trim().replace(/;$/, ""))
    .filter((statement) => statement !== "");

function stepwiseSide(registry: MigrationRegistry): SqlitePeerSide {
  return {
    id: "stepwise",
    label: "stepwise (`up()`, `migrate()`, `down({ to: 0 })`)",
    transactions: "one per migration",
    apply: (file) => withDatabase(file, (db) => void new MigrationManager(db, registry).up()),
    noopStart: (file) =>
      withDatabase(file, (db) => {
        if (migrate(db, registry).steps.length !== 0) throw new Error("stepwise's no-op start applied something");
      }),
    rollbackAll: (file) =>
      withDatabase(file, (db) => {
        if (new MigrationManager(db, registry).down({ to: 0 }).toVersion !== 0) throw new Error("stepwise's rollback left migrations applied");
      }),
  };
}

/** The floor (`raw-baseline.ts`): per migration `BEGIN`, the SQL, one history `INSERT`, `COMMIT`. */
function handSide(raw: readonly RawMigration[]): SqlitePeerSide {
  return {
    id: "hand",
    label: "hand-written better-sqlite3 loop",
    transactions: "one per migration",
    apply: (file) => withDatabase(file, (db) => applyRawPerMigration(db, raw)),
    noopStart: (file) =>
      withDatabase(file, (db) => {
        db.exec(CREATE_HISTORY);
        const applied = new Set((db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map((row) => row.version));
        if (raw.some((migration) => !applied.has(migration.version))) throw new Error("the hand loop's no-op start found work");
      }),
    rollbackAll: (file) => withDatabase(file, (db) => rollbackRawPerMigration(db, raw)),
  };
}

/** Umzug 3 with its storage in a table of the same database, each migration in a transaction of its own. */
function umzugSide(raw: readonly RawMigration[]): SqlitePeerSide {
  const umzugOf = (db: Database.Database) => {
    db.exec("CREATE TABLE IF NOT EXISTS umzug_migrations (name TEXT PRIMARY KEY)");
    return new Umzug({
      migrations: raw.map((migration) => ({
        name: migration.name,
        up: async () => db.transaction(() => db.exec(migration.upSql))(),
        down: async () => db.transaction(() => db.exec(migration.downSql))(),
      })),
      context: db,
      logger: undefined,
      storage: {
        logMigration: async ({ name }) => void db.prepare("INSERT INTO umzug_migrations (name) VALUES (?)").run(name),
        unlogMigration: async ({ name }) => void db.prepare("DELETE FROM umzug_migrations WHERE name = ?").run(name),
        executed: async () => (db.prepare("SELECT name FROM umzug_migrations").all() as { name: string }[]).map((row) => row.name),
      },
    });
  };
  return {
    id: "umzug",
    label: "Umzug 3 (a transaction per migration, its storage in the database)",
    transactions: "one per migration",
    apply: (file) => withDatabase(file, async (db) => void (await umzugOf(db).up())),
    noopStart: (file) =>
      withDatabase(file, async (db) => {
        if ((await umzugOf(db).up()).length !== 0) throw new Error("Umzug's no-op start applied something");
      }),
    rollbackAll: (file) => withDatabase(file, async (db) => void (await umzugOf(db).down({ to: 0 }))),
  };
}

/** Kysely's `Migrator` over an in-memory provider, on its SQLite dialect over better-sqlite3. */
function kyselySide(raw: readonly RawMigration[]): SqlitePeerSide {
  const run = (script: string) => async (db: Kysely<unknown>) => {
    for (const statement of statementsOf(script)) await sql.raw(statement).execute(db);
  };
  const provided: KyselyMigrations = {};
  for (const migration of raw) provided[migration.name] = { up: run(migration.upSql), down: run(migration.downSql) };
  return {
    id: "kysely",
    label: "Kysely 0.28 (`Migrator`, in-memory provider)",
    transactions: "one for the run",
    ...kyselyActions(provided, (file) => new SqliteDialect({ database: open(file) })),
  };
}

/** Knex's migrator over a custom migration source, on its better-sqlite3 client. */
function knexSide(raw: readonly RawMigration[]): SqlitePeerSide {
  const run = (script: string) => async (db: Knex) => {
    for (const statement of statementsOf(script)) await db.raw(statement);
  };
  const migrationSource: Knex.MigrationSource<RawMigration> = {
    getMigrations: async () => [...raw],
    getMigrationName: (migration) => migration.name,
    getMigration: async (migration) => ({ up: run(migration.upSql), down: run(migration.downSql) }),
  };
  const withKnex = async <T>(file: string, action: (db: Knex) => Promise<T>): Promise<T> => {
    const db = knex({
      client: "better-sqlite3",
      connection: { filename: file },
      useNullAsDefault: true,
      pool: {
        min: 0,
        max: 1,
        afterCreate: (connection: Database.Database, done: (error: Error | null, connection: Database.Database) => void) => {
          for (const pragma of CONNECTION_PRAGMAS) connection.pragma(pragma);
          done(null, connection);
        },
      },
      log: { warn: () => undefined, deprecate: () => undefined, debug: () => undefined, error: () => undefined },
    });
    try {
      return await action(db);
    } finally {
      await db.destroy();
    }
  };
  return {
    id: "knex",
    label: "Knex 3 (`migrate.latest`, custom source)",
    transactions: "one for the run",
    apply: (file) => withKnex(file, async (db) => void (await db.migrate.latest({ migrationSource }))),
    noopStart: (file) =>
      withKnex(file, async (db) => {
        const [, ran] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
        if (ran.length !== 0) throw new Error("Knex's no-op start applied something");
      }),
    rollbackAll: (file) => withKnex(file, async (db) => void (await db.migrate.rollback({ migrationSource }, true))),
  };
}

/**
 * drizzle's better-sqlite3 migrator over a drizzle-kit folder written for the workload: one
 * `<tag>.sql` per migration, its statements split by `--> statement-breakpoint`, and
 * `meta/_journal.json` listing them. It applies everything pending in one transaction.
 */
function drizzleSide(raw: readonly RawMigration[], folder: string): SqlitePeerSide {
  mkdirSync(path.join(folder, "meta"), { recursive: true });
  const entries = raw.map((migration, index) => {
    const tag = `${String(index).padStart(4, "0")}_${migration.name}`;
    writeFileSync(path.join(folder, `${tag}.sql`), statementsOf(migration.upSql).join(";\n--> statement-breakpoint\n") + ";\n");
    return { idx: index, version: "6", when: 1_700_000_000_000 + index, tag, breakpoints: true };
  });
  writeFileSync(path.join(folder, "meta", "_journal.json"), JSON.stringify({ version: "7", dialect: "sqlite", entries }, null, 2));
  const tables = (db: Database.Database) => (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name LIKE 'bench_table_%'").get() as { n: number }).n;
  return {
    id: "drizzle",
    label: "drizzle-orm 0.45 (`migrate`, drizzle-kit folder)",
    transactions: "one for the run",
    apply: (file) => withDatabase(file, (db) => drizzleMigrate(drizzle(db), { migrationsFolder: folder })),
    noopStart: (file) =>
      withDatabase(file, (db) => {
        const before = tables(db);
        drizzleMigrate(drizzle(db), { migrationsFolder: folder });
        if (tables(db) !== before) throw new Error("drizzle's no-op start applied something");
      }),
  };
}

/**
 * The workload every side runs: `size` SQL migrations (the bench's tables and indexes), as a stepwise
 * project whose registry the real `gen` writes, and as the plain SQL the peers take.
 */
export async function preparePeerWorkload(size: number, parentDir: string = tmpdir()): Promise<{ registry: MigrationRegistry; raw: RawMigration[]; root: string }> {
  const workload = createWorkload(size, parentDir, Number.POSITIVE_INFINITY);
  runChildOrThrow(["--import", tsxLoader], path.join(repoRoot, "codegen", "bin.ts"), ["gen"], { cwd: workload.root });
  const { migrations: registry } = (await tsImport(pathToFileURL(workload.registryFile).href, import.meta.url)) as { migrations: MigrationRegistry };
  const raw = workload.migrations.map((migration, index) => ({ ...migration, checksum: registry[index]!.checksum }));
  return { registry, raw, root: workload.root };
}

/**
 * Measures every side on `raw` (the workload's migrations with the checksums `registry` gives them):
 * per round, in an order that rotates, each side applies to a fresh file, starts `noopRuns` times
 * with nothing to do, and rolls back; one unmeasured round first.
 */
export async function measureSqlitePeers(
  registry: MigrationRegistry,
  raw: readonly RawMigration[],
  options: { readonly rounds: number; readonly noopRuns: number },
  progress: (message: string) => void = () => undefined,
): Promise<SqlitePeersResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-bench-peers-"));
  try {
    const sides = [stepwiseSide(registry), handSide(raw), umzugSide(raw), kyselySide(raw), knexSide(raw), drizzleSide(raw, path.join(dir, "drizzle"))];
    const samples = new Map(sides.map((side) => [side.id, { apply: [] as number[], noopStart: [] as number[], rollbackAll: [] as number[] }]));
    let file = 0;
    for (let round = -1; round < options.rounds; round++) {
      progress(`N=${raw.length} peers: round ${round + 1} of ${options.rounds}${round < 0 ? " (warm-up)" : ""}`);
      const start = Math.max(round, 0) % sides.length;
      for (const side of [...sides.slice(start), ...sides.slice(0, start)]) {
        const database = path.join(dir, `${side.id}-${file++}.db`);
        const apply = await timeAsync(() => side.apply(database));
        const built = await workloadTables(database);
        if (built !== raw.length) throw new Error(`${side.id}'s apply built ${built} of the ${raw.length} workload tables`);
        const noops: number[] = [];
        for (let run = 0; run < options.noopRuns; run++) noops.push(await timeAsync(() => side.noopStart(database)));
        const rollback = side.rollbackAll ? await timeAsync(() => side.rollbackAll!(database)) : null;
        const left = await workloadTables(database);
        if (rollback !== null && left !== 0) throw new Error(`${side.id}'s rollback left ${left} workload tables`);
        for (const suffix of ["", "-wal", "-shm"]) rmSync(database + suffix, { force: true });
        if (round < 0) continue;
        const kept = samples.get(side.id)!;
        kept.apply.push(apply);
        kept.noopStart.push(...noops);
        if (rollback !== null) kept.rollbackAll.push(rollback);
      }
    }
    return {
      size: raw.length,
      rounds: options.rounds,
      sides: sides.map((side) => {
        const kept = samples.get(side.id)!;
        return {
          id: side.id,
          label: side.label,
          transactions: side.transactions,
          apply: summarize(kept.apply),
          noopStart: summarize(kept.noopStart),
          rollbackAll: kept.rollbackAll.length > 0 ? summarize(kept.rollbackAll) : null,
        };
      }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The workload's tables in `file`. */
const workloadTables = (file: string): Promise<number> =>
  withDatabase(file, (db) => (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name LIKE 'bench\\_table\\_%' ESCAPE '\\'").get() as { n: number }).n);

async function timeAsync(action: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

/** The peer table as markdown: each side's medians, and stepwise's median over the side's. */
export function renderSqlitePeers(result: SqlitePeersResult): string {
  const stepwise = result.sides.find((side) => side.id === "stepwise")!;
  const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
  const cell = (mine: Summary | null, theirs: Summary | null) => (theirs === null || mine === null ? "—" : `${ms(theirs.median)} (stepwise ${(mine.median / theirs.median).toFixed(2)}×)`);
  const lines = [
    `### SQLite peers, N = ${result.size.toLocaleString("en-US")} (better-sqlite3, in one process, ${result.rounds} rounds; stepwise's median over the side's, lower is better)`,
    "",
    "| side | transactions | fresh apply, ms | no-op start, ms | roll back all, ms |",
    "|---|---|--:|--:|--:|",
    ...result.sides.map(
      (side) =>
        `| ${side.label} | ${side.transactions} | ${side === stepwise ? ms(side.apply.median) : cell(stepwise.apply, side.apply)} | ${side === stepwise ? ms(side.noopStart.median) : cell(stepwise.noopStart, side.noopStart)} | ${side === stepwise ? ms(side.rollbackAll!.median) : cell(stepwise.rollbackAll, side.rollbackAll)} |`,
    ),
  ];
  return lines.join("\n");
}
