/**
 * golang-migrate: `<version>_<title>.up.sql` and `.down.sql`; versions are unsigned integers in numeric order. It takes any extension after `.up.`/`.down.` (its pattern is
 * `<version>_<title>.<up|down>.<anything>`), so a `.up..sql` typo or a `.up.pgsql` ran as a migration and is read as one here too. Its PostgreSQL driver sends a file as one query, which PostgreSQL runs as one implicit
 * transaction; its SQLite driver wraps each file in a transaction unless `x-no-tx-wrap` is set. A file that holds its own `BEGIN`/`COMMIT`, or what cannot run inside a transaction (CONCURRENTLY,
 * VACUUM), could only have run without one, so it is imported with `transaction:false`.
 */
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { settleTransaction } from "./own-transaction.js";
import { compareNumeric, refuse, runsInOneTransaction, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

const FILE = /^(\d+)_(.*)\.(up|down)\.(.*)$/;
/** golang-migrate parses a version as an unsigned 64-bit integer and skips a file whose version does not fit. */
const MAX_VERSION = 2n ** 64n - 1n;

/** The reader `stepwise import --from golang-migrate` uses for golang-migrate's migrations folder, read as the comment above says the tool reads it. */
export const golangMigrate: ForeignTool = {
  order: "by version as a number (so 9_a runs before 10_b)",
  foreignKeysOff: true,
  historyTable: "schema_migrations",
  read(source: SourceFolder, dialect: SqlDialect): ForeignMigration[] {
    const byVersion = new Map<string, { up?: string; down?: string }>();
    for (const entry of source.list()) {
      const match = entry.isFile() ? FILE.exec(entry.name) : null;
      if (!match) continue;
      // Skipped by golang-migrate, so it never ran; imported, it would run as the newest migration.
      if (BigInt(match[1]!) > MAX_VERSION) {
        source.report(entry.name, 1, `version ${match[1]}, which golang-migrate skips without a word (it takes 0 to ${MAX_VERSION}), so it never ran; renumber it, or delete it`);
        continue;
      }
      const version = BigInt(match[1]!).toString();
      const slot = byVersion.get(version) ?? {};
      byVersion.set(version, slot);
      const direction = match[3] as "up" | "down";
      if (slot[direction] !== undefined) source.report(entry.name, 1, `a second ${direction} migration for version ${version} (also ${slot[direction]}), which golang-migrate refuses`);
      else slot[direction] = entry.name;
    }
    return [...byVersion]
      .sort(([a], [b]) => compareNumeric(a, b))
      .flatMap(([version, slot]): ForeignMigration[] => {
        if (slot.up === undefined) {
          // golang-migrate's title takes all it can, so the direction is the file name's last `.down.`.
          return refuse(source, slot.down!, 1, `a down migration without its up; add ${slot.down!.replace(/^([\s\S]*)\.down\./, "$1.up.")} or remove it`);
        }
        const up = source.read(slot.up);
        const down = slot.down === undefined ? undefined : source.read(slot.down);
        if (typeof up !== "string" || down === null) return [];
        const upSection = { file: slot.up, line: 1, sql: up };
        const downSection = down === undefined ? null : { file: slot.down!, line: 1, sql: down };
        const run = (section: typeof upSection) => ({ section, transaction: runsInOneTransaction(section.sql, dialect) });
        // The up file names the migration.
        const [, digits, title] = FILE.exec(slot.up)!;
        return [
          {
            id: `${digits}_${title}`,
            name: title!,
            up: upSection,
            down: downSection,
            transaction: settleTransaction(source, run(upSection), downSection && run(downSection), dialect, "golang-migrate"),
            sources: [slot.up, ...(slot.down === undefined ? [] : [slot.down])],
            history: { version },
          },
        ];
      });
  },
};
