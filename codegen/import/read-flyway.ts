/**
 * Flyway (SQL migrations): `V<version>__<description>.sql`, with an optional `U<version>__<description>.sql` undo. A version is numbers separated by `.` or `_`, compared part by part as numbers
 * (1.9 before 1.10; 1.0 equals 1). Flyway scans the folder and its subfolders. Each runs in a transaction unless its `<file>.conf` says `executeInTransaction=false`, or, on PostgreSQL, it holds
 * what cannot run in one (Flyway's parser runs such a script outside a transaction); the undo script is decided the same way. As for the other SQL tools, the up decides the migration's transaction (`settleTransaction`). A baseline script (`B<version>__`) is what Flyway runs on an empty database instead of every V at or below
 * its version: the newest one is imported as the first migration, those V scripts left out. Repeatable scripts (`R__<description>`), which Flyway runs after the versioned ones, ordered by
 * description, and again whenever they change, are imported after them, run once: a later change is a new migration.
 */
import { realpathSync } from "node:fs";
import path from "node:path";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { compareText, tryOr } from "../problems.js";
import { settleTransaction, type DirectionRun } from "./own-transaction.js";
import { compareNumeric, lineAt, refuse, runsInOneTransaction, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

const FILE = /^([VUBR])(\d+(?:[._]\d+)*)?__(.+)\.sql$/;
/** An SQL callback Flyway runs during `migrate` (`afterMigrate.sql`, `beforeEachMigrate__grants.sql`, …); those of other commands (clean, info, repair, undo, baseline) never run there. */
const MIGRATE_CALLBACK = /^((?:before|after)(?:Each)?(?:Migrate\w*|Repeatables|Versioned|Connect|CreateSchema|Validate\w*)|createSchema)(?:__.*)?\.sql$/;

/** The reader `stepwise import --from flyway` uses for Flyway's migrations folder, read as the comment above says the tool reads it. */
export const flyway: ForeignTool = {
  order: "by version, compared part by part as numbers (1.9, then 1.10, then 2; 1_2 is 1.2)",
  foreignKeysOff: true,
  noTransactionMark: "its `<script>.conf` says `executeInTransaction=false` (on PostgreSQL, also when its parser finds a statement that cannot run in one)",
  downNoTransactionMark: "its undo script's `<script>.conf` says `executeInTransaction=false` (on PostgreSQL, also when its parser finds a statement that cannot run in one)",
  read(source: SourceFolder, dialect): ForeignMigration[] {
    const byVersion = new Map<string, Slot>();
    const baselines = new Map<string, Slot>();
    const repeatables = new Map<string, Slot>();
    for (const file of listFiles(source)) {
      const callback = MIGRATE_CALLBACK.exec(path.posix.basename(file));
      if (callback !== null) {
        source.report(
          file,
          1,
          `a Flyway callback (${callback[1]}), which Flyway runs around every migrate and stepwise has no counterpart for; make what it does a migration, or run it from your deploy step after "stepwise up", and move it out of the folder`,
        );
        continue;
      }
      const match = FILE.exec(path.posix.basename(file));
      if (!match) continue;
      const [, prefix, raw] = match;
      if (prefix === "R") {
        const description = match[3]!.replaceAll("_", " ");
        if (raw !== undefined) source.report(file, 1, "a repeatable migration has no version: R__<description>.sql");
        else if (repeatables.has(description)) source.report(file, 1, `its description is also ${repeatables.get(description)!.version}'s, which Flyway refuses for two repeatable migrations`);
        else repeatables.set(description, { parts: [], description: match[3]!, raw: "", version: file });
        continue;
      }
      if (raw === undefined) {
        source.report(file, 1, `a ${prefix === "B" ? "baseline" : "versioned"} migration needs a version after ${prefix}`);
        continue;
      }
      // Trailing zero parts do not count: Flyway holds 1.0 and 1 equal.
      const parts = raw.split(/[._]/).map((part) => BigInt(part).toString());
      while (parts.length > 1 && parts.at(-1) === "0") parts.pop();
      const key = parts.join(".");
      const slots = prefix === "B" ? baselines : byVersion;
      const slot = slots.get(key) ?? { parts, description: match[3]!, raw: raw.replaceAll("_", ".") };
      slots.set(key, slot);
      const kind = prefix === "U" ? "undo" : "version";
      // The V (or B) script names the migration and spells the version Flyway records, whichever of the pair was listed first (U sorts before V).
      if (kind === "version" && slot.version === undefined) Object.assign(slot, { description: match[3]!, raw: raw.replaceAll("_", ".") });
      if (slot[kind] !== undefined) source.report(file, 1, `version ${key} is also ${slot[kind]}'s, which Flyway refuses${otherLocation(slot[kind]!, file)}`);
      else slot[kind] = file;
    }
    // On an empty database Flyway runs the newest baseline script, then only the V scripts above it.
    const baseline = [...baselines.values()].sort(compareVersions).at(-1);
    const ordered = [...byVersion.values()].sort(compareVersions);
    const versions = ordered.filter((slot) => baseline === undefined || compareVersions(slot, baseline) > 0);
    // A database Flyway migrated before the baseline script existed never runs it: it is at the baseline once it ran the newest V script the baseline left out, which need not be at its version.
    const replaced = baseline && ordered.filter((slot) => slot.version !== undefined && compareVersions(slot, baseline) <= 0).at(-1);
    // After the versioned ones Flyway runs each repeatable script it has not run with its current checksum, ordered by description: on an empty database, all of them.
    const repeatable = [...repeatables.entries()].sort(([a], [b]) => compareText(a, b)).map(([, slot]) => slot);
    return [...(baseline === undefined ? [] : [baseline]), ...versions, ...repeatable].flatMap((slot) =>
      readSlot(source, dialect, slot, { repeatable: repeatable.includes(slot), baseline: slot === baseline, replacedThrough: replaced?.raw ?? null }),
    );
  },
};

/**
 * One slot's migration: its V (or B, or R) script and its undo, each run in a transaction or not as its `.conf` or Flyway's parser decides, and the history row Flyway wrote for it. `role` says
 * whether it is a repeatable script (its row has no version) or the baseline (its row records the newest V script it replaced).
 */
function readSlot(source: SourceFolder, dialect: SqlDialect, slot: Slot, role: { repeatable: boolean; baseline: boolean; replacedThrough: string | null }): ForeignMigration[] {
  if (slot.version === undefined) return refuse(source, slot.undo!, 1, `an undo script without its V${slot.raw}__ migration; remove it or add the migration`);
  const up = source.read(slot.version);
  const down = slot.undo === undefined ? undefined : source.read(slot.undo);
  const conf = source.read(`${slot.version}.conf`);
  const undoConf = slot.undo === undefined ? undefined : source.read(`${slot.undo}.conf`);
  if (typeof up !== "string" || down === null || conf === null || undoConf === null) return [];
  // Flyway decides each script, undo included, on its own: its `.conf`, or on PostgreSQL its parser.
  const run = (file: string, sql: string, settings: string | undefined): DirectionRun => {
    const mark = /^\s*executeInTransaction\s*=\s*(\S+)/m.exec(settings ?? "");
    const section = { file, line: 1, sql };
    if (mark?.[1]!.toLowerCase() === "false") return { section, transaction: false, markLine: lineAt(settings!, mark.index + mark[0].search(/\S/)), markFile: `${file}.conf` };
    return { section, transaction: dialect !== "postgres" || runsInOneTransaction(sql, dialect) };
  };
  const [upRun, downRun] = [run(slot.version, up, conf), down === undefined ? null : run(slot.undo!, down, undoConf)];
  for (const { file, sql } of [upRun.section, ...(downRun ? [downRun.section] : [])]) {
    const placeholder = sql.search(/\$\{[^}\n]*\}/);
    if (placeholder !== -1)
      return refuse(source, file, lineAt(sql, placeholder), "a Flyway placeholder, which Flyway replaces when it runs the script and stepwise would run as written; write the value in");
  }
  return [
    {
      id: slot.version.replace(/\.sql$/, ""),
      name: slot.description,
      up: upRun.section,
      down: downRun?.section ?? null,
      transaction: settleTransaction(source, upRun, downRun, dialect, "Flyway"),
      sources: [slot.version, ...(slot.undo === undefined ? [] : [slot.undo]), ...(conf === undefined ? [] : [`${slot.version}.conf`]), ...(undoConf === undefined ? [] : [`${slot.undo}.conf`])],
      // A repeatable script's row has no version: Flyway finds it by its description.
      history: {
        ...(!role.repeatable && { version: slot.raw }),
        description: slot.description.replaceAll("_", " "),
        script: path.posix.basename(slot.version),
        checksum: flywayChecksum(up),
        ...(role.baseline && { type: "SQL_BASELINE", replacedThrough: role.replacedThrough }),
      },
    },
  ];
}

/**
 * The advice for two scripts of one version in different subfolders: often one folder per database (`db/migration/postgresql`, `db/migration/h2`), each a Flyway location of its own, which
 * Flyway never scans together.
 */
function otherLocation(first: string, second: string): string {
  const [a, b] = [first, second].map((file) => file.split("/")[0]!);
  if (a === b || !first.includes("/") || !second.includes("/")) return "";
  return ` in one location; if ${a}/ and ${b}/ are the locations of different databases, import the one this project's database uses (its folder as <dir>)`;
}

/** The V (or B) script and its undo of one version. */
type Slot = { parts: string[]; version?: string; undo?: string; description: string; raw: string };

/** Every file under the folder, relative to it, subfolders included (each real folder once, so a link cannot loop). */
function listFiles(source: SourceFolder, relative = "", seen = new Set<string>()): string[] {
  const real = tryOr(() => realpathSync(path.join(source.dir, relative)), relative);
  if (seen.has(real)) return [];
  seen.add(real);
  return source.list(relative).flatMap((entry) => {
    const file = relative === "" ? entry.name : `${relative}/${entry.name}`;
    return entry.isDirectory() ? listFiles(source, file, seen) : entry.isFile() ? [file] : [];
  });
}

/** Flyway's order of versions: part by part, as numbers. */
function compareVersions({ parts: a }: Slot, { parts: b }: Slot): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const order = compareNumeric(a[index] ?? "0", b[index] ?? "0");
    if (order !== 0) return order;
  }
  return 0;
}

/** Flyway's checksum: CRC-32 over the script's lines without their line breaks, as a signed 32-bit integer. */
function flywayChecksum(text: string): number {
  let crc = 0xffffffff;
  for (const line of text.split(/\r\n|\r|\n/)) {
    for (const byte of Buffer.from(line, "utf8")) {
      crc ^= byte;
      for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    }
  }
  return (crc ^ 0xffffffff) | 0;
}
