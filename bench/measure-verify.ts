/**
 * The start-up `verify` (issue 13.10): `verifySchema` replaying the migrations (cold: no stored
 * expected schema) against `verifySchema` answered from the expected schema `migrate({ verifySchema })`
 * stored, with `status()` as the baseline, all on one better-sqlite3 database with a data migration
 * that seeds `seedRows` rows (200,000 by default, the case), in the same process and the same
 * run, rounds interleaved so a slow phase of a shared machine lands on every side.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { migrate, MigrationManager } from "../src/entries/better-sqlite3.js";
import { verifySchema } from "../src/safety/index.js";
import type { MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { summarize, timeMs } from "./stats.js";

/** Options for {@link measureVerify}. */
export interface VerifyBenchOptions {
  /** Rows the seed migration inserts. Default {@link DEFAULT_VERIFY_SEED_ROWS}. */
  readonly seedRows?: number;
  /** Measured rounds per side. Default 5. */
  readonly rounds?: number;
}

/** The seed: 200,000 rows. */
export const DEFAULT_VERIFY_SEED_ROWS = 200_000;

/** Samples in milliseconds, and the medians' ratios to `status`. */
export interface VerifyBenchResult {
  readonly seedRows: number;
  readonly samplesMs: { readonly status: number[]; readonly verifyCold: number[]; readonly verifyCached: number[] };
  readonly medianMs: { readonly status: number; readonly verifyCold: number; readonly verifyCached: number };
  /** `verifyCold / status` and `verifyCached / status`, and how many times faster the cached verify is than the cold one. */
  readonly ratios: { readonly coldToStatus: number; readonly cachedToStatus: number; readonly coldToCached: number };
}

function sqlEntry(version: number, name: string, upSql: string): MigrationEntry {
  return {
    kind: "sql",
    version,
    name,
    file: `migrations/${String(version).padStart(3, "0")}_${name}.sql`,
    description: null,
    checksum: `bench-${version}-${name}`,
    reversible: false,
    transaction: true,
    disableForeignKeys: false,
    upSql,
    downSql: null,
  };
}

/** A small app's history: tables, an index, a trigger, and a seed that dominates any replay. */
function buildRegistry(seedRows: number): MigrationRegistry {
  return [
    sqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, updated_at TEXT);\nCREATE INDEX contacts_email ON contacts (email);"),
    sqlEntry(2, "messages", "CREATE TABLE messages (id INTEGER PRIMARY KEY, contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE, body TEXT NOT NULL);"),
    sqlEntry(
      3,
      "seed_contacts",
      `INSERT INTO contacts (name, email) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${seedRows}) SELECT 'contact ' || i, 'c' || i || '@example.com' FROM n;`,
    ),
    sqlEntry(4, "touch_trigger", "CREATE TRIGGER contacts_touch AFTER UPDATE ON contacts BEGIN UPDATE contacts SET updated_at = datetime('now') WHERE id = NEW.id; END;"),
  ];
}

/**
 * Measures `status`, a cold `verifySchema` and a cached one on a migrated database, `rounds` times
 * each, interleaved, after one unmeasured warm-up of each.
 */
export function measureVerify(options: VerifyBenchOptions = {}): VerifyBenchResult {
  const seedRows = options.seedRows ?? DEFAULT_VERIFY_SEED_ROWS;
  const rounds = options.rounds ?? 5;
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-bench-verify-"));
  const db = new Database(path.join(dir, "app.db"));
  try {
    db.pragma("journal_mode = WAL");
    const migrations = buildRegistry(seedRows);
    migrate(db, migrations);
    // Stores the expected schema, as the second start of an app does.
    migrate(db, migrations, { verifySchema });
    const cacheTable = "schema_migrations_expected_schema";
    const stored = db.prepare(`SELECT * FROM ${cacheTable}`).all() as { cache_key: string; version: number; snapshot: string }[];
    if (stored.length !== 1) throw new Error("migrate({ verifySchema }) stored no expected schema");
    const manager = new MigrationManager(db, migrations);
    const restore = db.prepare(`INSERT INTO ${cacheTable} (cache_key, version, snapshot) VALUES (?, ?, ?)`);
    const sides = {
      status: () => manager.status(),
      verifyCold: () => {
        db.exec(`DELETE FROM ${cacheTable}`);
        try {
          if (!verifySchema(manager).ok) throw new Error("verify found drift");
        } finally {
          restore.run(stored[0]!.cache_key, stored[0]!.version, stored[0]!.snapshot);
        }
      },
      verifyCached: () => {
        if (!verifySchema(manager).ok) throw new Error("verify found drift");
      },
    };
    const samplesMs = { status: [] as number[], verifyCold: [] as number[], verifyCached: [] as number[] };
    for (const run of Object.values(sides)) run();
    for (let round = 0; round < rounds; round++) {
      for (const [side, run] of Object.entries(sides) as [keyof typeof sides, () => unknown][]) samplesMs[side].push(timeMs(run));
    }
    const median = (samples: number[]) => summarize(samples).median;
    const medianMs = { status: median(samplesMs.status), verifyCold: median(samplesMs.verifyCold), verifyCached: median(samplesMs.verifyCached) };
    return {
      seedRows,
      samplesMs,
      medianMs,
      ratios: { coldToStatus: medianMs.verifyCold / medianMs.status, cachedToStatus: medianMs.verifyCached / medianMs.status, coldToCached: medianMs.verifyCold / medianMs.verifyCached },
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures as a markdown table. */
export function renderVerifyMarkdown(result: VerifyBenchResult): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const ratio = (value: number) => `${value.toFixed(1)}×`;
  return [
    `## Start-up verify (seed of ${result.seedRows.toLocaleString("en-US")} rows, better-sqlite3)`,
    "",
    "| figure | median | ratio to `status` |",
    "|---|---|---|",
    `| \`status()\` (baseline) | ${ms(result.medianMs.status)} | 1.0× |`,
    `| \`verifySchema\`, cold (replays every migration, the seed included) | ${ms(result.medianMs.verifyCold)} | ${ratio(result.ratios.coldToStatus)} |`,
    `| \`verifySchema\`, expected schema stored by \`migrate({ verifySchema })\` | ${ms(result.medianMs.verifyCached)} | ${ratio(result.ratios.cachedToStatus)} |`,
    "",
    `The stored schema makes verify ${ratio(result.ratios.coldToCached)} faster than replaying.`,
  ].join("\n");
}
