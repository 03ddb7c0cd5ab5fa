/**
 * The workload every side runs: N migrations, each creating a table of five columns and an index, its
 * down dropping both. Written once per dialect and N into a temp project, in each tool's own format,
 * with the side programs compiled next to it (`bench/sides/<dialect>/<side>.ts`, one file each).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

/** The repository root, found from this file. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export type Dialect = "sqlite" | "pg";

/** One side: a program in `bench/sides/<dialect>/<id>.ts`; a peer's id is its npm package. */
export interface Side {
  readonly id: string;
  readonly transactions: string;
  /** False where the tool has no down migrations. */
  readonly rollsBack: boolean;
}

const side = (id: string, transactions: string, rollsBack = true): Side => ({ id, transactions, rollsBack });

/**
 * Every side: stepwise (a transaction per migration, its default), stepwise with `transaction: "all"` (the
 * grouping Kysely, Knex and drizzle use by default), the hand-written loop, then the peers. Each peer is
 * measured against the stepwise side that groups transactions as it does.
 */
export const SIDES: Readonly<Record<Dialect, readonly Side[]>> = {
  sqlite: [
    side("stepwise", "one per migration"),
    side("stepwise-all", "one for the run"),
    side("hand", "one per migration"),
    side("umzug", "one per migration"),
    side("kysely", "none (Kysely runs none on SQLite)"),
    side("knex", "one for the run"),
    side("drizzle-orm", "one for the run", false),
  ],
  pg: [
    side("stepwise", "one per migration"),
    side("stepwise-all", "one for the run"),
    side("hand", "one per migration"),
    side("node-pg-migrate", "one per migration"),
    side("kysely", "one for the run"),
    side("knex", "one for the run"),
    side("drizzle-orm", "one for the run", false),
  ],
};

/** A written workload: its folder (the side programs' working directory) and each side's program. */
export interface Workload {
  readonly dialect: Dialect;
  readonly size: number;
  readonly root: string;
  readonly program: (side: Side) => string;
}

/** The SQL of migration `version`, in `dialect`. */
function migrationSql(dialect: Dialect, version: number): { up: string; down: string } {
  const table = `bench_table_${version}`;
  const columns =
    dialect === "sqlite"
      ? "id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount INTEGER NOT NULL DEFAULT 0, note TEXT, created_at TEXT NOT NULL"
      : "id bigint PRIMARY KEY, name text NOT NULL, amount integer NOT NULL DEFAULT 0, note text, created_at timestamptz NOT NULL";
  return { up: `CREATE TABLE ${table} (${columns});\nCREATE INDEX idx_${table}_name ON ${table} (name);`, down: `DROP INDEX idx_${table}_name;\nDROP TABLE ${table};` };
}

/** Writes the workload into `root`: stepwise's migrations and registry, the peers' formats, the side programs. */
export async function createWorkload(dialect: Dialect, size: number, root: string): Promise<Workload> {
  const width = Math.max(4, String(size).length);
  const migrations = Array.from({ length: size }, (_, index) => ({
    version: index + 1,
    name: `${String(index + 1).padStart(width, "0")}_create_bench_table_${index + 1}`,
    ...migrationSql(dialect, index + 1),
  }));
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  };
  write("package.json", JSON.stringify({ name: "stepwise-bench-app", private: true, type: "module" }));
  write("tsconfig.json", JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, skipLibCheck: true } }));
  write("migrations.js", `export const migrations = ${JSON.stringify(migrations)};\n`);
  const journal = { version: "7", dialect: dialect === "sqlite" ? "sqlite" : "postgresql", entries: [] as object[] };
  for (const [index, migration] of migrations.entries()) {
    write(`migrations/${migration.name}.sql`, `-- migrate:up\n${migration.up}\n-- migrate:down\n${migration.down}\n`);
    if (dialect === "pg") write(`node-pg-migrate/${migration.name}.sql`, `-- Up Migration\n${migration.up}\n-- Down Migration\n${migration.down}\n`);
    write(`drizzle/${migration.name}.sql`, migration.up.replaceAll(";\n", ";\n--> statement-breakpoint\n"));
    journal.entries.push({ idx: index, version: "7", when: 1_700_000_000_000 + index, tag: migration.name, breakpoints: true });
  }
  write("drizzle/meta/_journal.json", JSON.stringify(journal));
  const gen = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(repoRoot, "codegen", "bin.ts"), "gen", "--dialect", dialect === "sqlite" ? "sqlite" : "postgres"], {
    cwd: root,
    encoding: "utf8",
  });
  if (gen.status !== 0) throw new Error(`stepwise gen failed in ${root}:\n${gen.stderr}`);
  await installPackages(root);
  await compileSides(
    root,
    SIDES[dialect].map((side) => ({ in: path.join(repoRoot, "bench", "sides", dialect, `${side.id}.ts`), out: side.id })),
    { "workload:registry": path.join(root, "generated", "registry.ts"), "workload:migrations": path.join(root, "migrations.js") },
  );
  return { dialect, size, root, program: (side) => path.join(root, "app", `${side.id}.mjs`) };
}

/** Bundles side programs into `root/app/<out>.mjs`, each `workload:<name>` import (bench/sides/workload.d.ts) resolved to the file `modules` names. */
export async function compileSides(root: string, entryPoints: { in: string; out: string }[], modules: Record<string, string>): Promise<void> {
  const plugin: Plugin = { name: "workload", setup: (esbuild) => esbuild.onResolve({ filter: /^workload:/ }, (args) => ({ path: modules[args.path]! })) };
  await build({
    entryPoints,
    outdir: path.join(root, "app"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    plugins: [plugin],
    logLevel: "error",
  });
}

/**
 * The workload's `node_modules`, as an app's install has it: stepwise-migrate's `src/` and `codegen/`
 * compiled to JavaScript file by file (as `npm run build` does) under the package's own `exports` and
 * bin, and the peers and drivers linked from this repo's (ts-morph and prettier left out, as in
 * production). Returns the bin's path.
 */
export async function installPackages(root: string): Promise<string> {
  const modules = path.join(root, "node_modules");
  const ours = path.join(modules, "stepwise-migrate");
  const sources = ["src", "codegen"].flatMap((dir) =>
    (readdirSync(path.join(repoRoot, dir), { recursive: true }) as string[]).filter((file) => file.endsWith(".ts")).map((file) => path.join(repoRoot, dir, file)),
  );
  await build({ entryPoints: sources, outbase: repoRoot, outdir: path.join(ours, "dist"), format: "esm", platform: "node", target: "node20", logLevel: "error" });
  const { name, version, type, exports, bin } = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(path.join(ours, "package.json"), JSON.stringify({ name, version, type, exports, bin }));
  // commander and tsx are the bin's (tsx loads a registry that imports something).
  for (const name of ["better-sqlite3", "pg", "commander", "tsx", "umzug", "kysely", "knex", "drizzle-orm", "node-pg-migrate"])
    symlinkSync(path.join(repoRoot, "node_modules", name), path.join(modules, name), "dir");
  return path.join(ours, "dist", "codegen", "bin.js");
}
