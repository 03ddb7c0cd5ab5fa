/**
 * The benchmark's workload: a real project folder with N migrations, each creating a table with a few
 * columns and an index, its down dropping them. Every tenth migration is TypeScript, so the registry
 * exercises both kinds; the rest are SQL, as most schema changes are.
 *
 * The same SQL text is returned as data, so the raw better-sqlite3 baseline runs exactly what the
 * migrations run.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, found from this file. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** One migration of the workload, as the raw baseline needs it. */
export interface WorkloadMigration {
  readonly version: number;
  readonly name: string;
  readonly kind: "sql" | "ts";
  readonly upSql: string;
  readonly downSql: string;
}

/** A generated project: where things are, and what the migrations do. */
export interface Workload {
  readonly size: number;
  readonly root: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  /** The app that imports the registry, opens the database and calls `migrate()`. */
  readonly appEntry: string;
  /** The floor: opens the database and runs one SELECT, importing nothing of stepwise. */
  readonly floorEntry: string;
  /** The floor plus importing the registry, to isolate what loading the registry costs. */
  readonly registryOnlyEntry: string;
  readonly migrations: readonly WorkloadMigration[];
}

/** How often a migration is TypeScript rather than SQL. */
export const TS_MIGRATION_EVERY = 10;

/** The pragmas both stepwise and the raw baseline run with: what a typical app sets. */
export const CONNECTION_PRAGMAS = ["journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"] as const;

/** The SQL of migration `version`; every `tsEvery`-th migration is TypeScript (1: all of them). */
export function describeWorkloadMigration(version: number, tsEvery: number = TS_MIGRATION_EVERY): WorkloadMigration {
  const table = `bench_table_${version}`;
  return {
    version,
    name: `create_bench_table_${version}`,
    kind: version % tsEvery === 0 ? "ts" : "sql",
    upSql:
      `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount INTEGER NOT NULL DEFAULT 0, ` +
      `note TEXT, created_at TEXT NOT NULL);\nCREATE INDEX idx_${table}_name ON ${table} (name);`,
    downSql: `DROP INDEX idx_${table}_name;\nDROP TABLE ${table};`,
  };
}

/**
 * Writes a project with `size` migrations into a new temp folder (under `parentDir` when given): the
 * migrations, package.json, tsconfig, a `node_modules/stepwise-migrate` that points at this repo's source, a
 * link to this repo's driver libraries, and the start-up programs. The registry is not generated.
 * With `tsEvery` 1 every migration is TypeScript: the registry of an app that writes only those.
 */
export function createWorkload(size: number, parentDir: string = tmpdir(), tsEvery: number = TS_MIGRATION_EVERY): Workload {
  const root = mkdtempSync(path.join(parentDir, `stepwise-bench-${size}${tsEvery === 1 ? "-ts" : ""}-`));
  const migrationsDir = path.join(root, "migrations");
  mkdirSync(migrationsDir, { recursive: true });
  const width = Math.max(3, String(size).length);
  const migrations: WorkloadMigration[] = [];
  for (let version = 1; version <= size; version++) {
    const migration = describeWorkloadMigration(version, tsEvery);
    migrations.push(migration);
    const base = `${String(version).padStart(width, "0")}_${migration.name}`;
    if (migration.kind === "sql") {
      writeFileSync(path.join(migrationsDir, `${base}.sql`), `-- description: Bench table ${version}\n-- migrate:up\n${migration.upSql}\n-- migrate:down\n${migration.downSql}\n`);
    } else {
      writeFileSync(
        path.join(migrationsDir, `${base}.ts`),
        `import { defineMigration } from "stepwise-migrate";\n\n` +
          `export default defineMigration({\n  description: "Bench table ${version}",\n` +
          `  up(db) {\n    db.exec(${JSON.stringify(migration.upSql)});\n  },\n` +
          `  down(db) {\n    db.exec(${JSON.stringify(migration.downSql)});\n  },\n});\n`,
      );
    }
  }

  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "stepwise-bench-app", private: true, type: "module" }, null, 2));
  writeFileSync(
    path.join(root, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, skipLibCheck: true } }, null, 2),
  );
  const modules = path.join(root, "node_modules");
  const stub = path.join(modules, "stepwise-migrate");
  mkdirSync(stub, { recursive: true });
  const entries = ["better-sqlite3", "node-sqlite", "bun-sqlite", "libsql", "sql-js"];
  const exports = Object.fromEntries([[".", "./index.ts"], ...entries.map((entry) => [`./${entry}`, `./${entry}.ts`])]);
  writeFileSync(path.join(stub, "package.json"), JSON.stringify({ name: "stepwise-migrate", type: "module", exports }));
  // The sources through a link, so the specifier is a plain "./src/index.ts" that esbuild and tsx both
  // follow: a file URL is tsx's alone, and a path up to the repo breaks on a "#" or "%" in its name.
  symlinkSync(path.join(repoRoot, "src"), path.join(stub, "src"), "dir");
  writeFileSync(path.join(stub, "index.ts"), `export * from "./src/index.ts";\n`);
  for (const entry of entries) writeFileSync(path.join(stub, `${entry}.ts`), `export * from "./src/entries/${entry}.ts";\n`);
  for (const library of ["better-sqlite3", "libsql", "sql.js"]) symlinkSync(path.join(repoRoot, "node_modules", library), path.join(modules, library), "dir");

  const pragmas = CONNECTION_PRAGMAS.map((pragma) => `db.pragma(${JSON.stringify(pragma)});`).join("\n");
  const appEntry = path.join(root, "src", "app.ts");
  const floorEntry = path.join(root, "src", "floor.ts");
  const registryOnlyEntry = path.join(root, "src", "registry-only.ts");
  mkdirSync(path.dirname(appEntry), { recursive: true });
  writeFileSync(
    appEntry,
    `import Database from "better-sqlite3";\nimport { migrate } from "stepwise-migrate/better-sqlite3";\nimport { migrations } from "../generated/registry.js";\n\n` +
      `const db = new Database(process.argv[2]!);\n${pragmas}\nmigrate(db, migrations);\ndb.close();\n`,
  );
  writeFileSync(
    floorEntry,
    `import Database from "better-sqlite3";\n\n` + `const db = new Database(process.argv[2]!);\n${pragmas}\ndb.prepare("SELECT version, checksum FROM schema_migrations").all();\ndb.close();\n`,
  );
  writeFileSync(
    registryOnlyEntry,
    `import Database from "better-sqlite3";\nimport { migrations } from "../generated/registry.js";\n\n` +
      `const db = new Database(process.argv[2]!);\n${pragmas}\ndb.prepare("SELECT version, checksum FROM schema_migrations").all();\n` +
      `if (migrations.length !== ${size}) throw new Error("wrong registry");\ndb.close();\n`,
  );
  return { size, root, migrationsDir, registryFile: path.join(root, "generated", "registry.ts"), appEntry, floorEntry, registryOnlyEntry, migrations };
}
