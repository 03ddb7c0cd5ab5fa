/** golang-migrate: `<version>_<title>.up.sql` and `.down.sql`; versions are unsigned integers in numeric order. Its SQLite driver wraps each file in a transaction. */
import { compareNumeric, refuse, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

const FILE = /^(\d+)_(.*)\.(up|down)\.sql$/;

export const golangMigrate: ForeignTool = {
  order: "by version as a number (so 9_a runs before 10_b)",
  foreignKeysOff: true,
  read(source: SourceFolder): ForeignMigration[] {
    const byVersion = new Map<string, { up?: string; down?: string; title: string }>();
    for (const entry of source.list()) {
      const match = entry.isFile() ? FILE.exec(entry.name) : null;
      if (!match) continue;
      const version = BigInt(match[1]!).toString();
      const slot = byVersion.get(version) ?? { title: match[2]! };
      byVersion.set(version, slot);
      const direction = match[3] as "up" | "down";
      if (slot[direction] !== undefined) source.report(entry.name, 1, `a second ${direction} migration for version ${version} (also ${slot[direction]}), which golang-migrate refuses`);
      else slot[direction] = entry.name;
    }
    return [...byVersion]
      .sort(([a], [b]) => compareNumeric(a, b))
      .flatMap(([version, slot]): ForeignMigration[] => {
        if (slot.up === undefined) return refuse(source, slot.down!, 1, `a .down.sql without its .up.sql; add ${slot.down!.replace(/\.down\.sql$/, ".up.sql")} or remove it`);
        const up = source.read(slot.up);
        const down = slot.down === undefined ? undefined : source.read(slot.down);
        if (typeof up !== "string" || down === null) return [];
        return [
          {
            id: slot.up.replace(/\.up\.sql$/, ""),
            name: slot.title,
            up: { file: slot.up, line: 1, sql: up },
            down: down === undefined ? null : { file: slot.down!, line: 1, sql: down },
            transaction: true,
            sources: [slot.up, ...(slot.down === undefined ? [] : [slot.down])],
            history: { version },
          },
        ];
      });
  },
};
