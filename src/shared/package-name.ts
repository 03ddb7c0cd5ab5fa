/** The name apps install stepwise by and import it from (`import … from "stepwise-migrate/pg"`). */
export const PACKAGE_NAME = "stepwise-migrate";

/** Every name stepwise's entries are imported under: the published one and `stepwise`, its earlier name, so older migrations keep their checksums. */
export const PACKAGE_NAMES: readonly string[] = [PACKAGE_NAME, "stepwise"];

/** The driver entries, `<package>/<entry>`: each exports `defineMigration` with `db` typed as that driver's connection. */
export const DRIVER_ENTRIES = ["better-sqlite3", "node-sqlite", "bun-sqlite", "libsql", "sql-js", "libsql-client", "pg", "durable-objects", "d1"] as const;

/** One of {@link DRIVER_ENTRIES}. */
export type DriverEntry = (typeof DRIVER_ENTRIES)[number];

/** The SQL dialect of the databases a driver entry's connection reaches. */
export function dialectOfEntry(entry: DriverEntry): "sqlite" | "postgres" {
  return entry === "pg" ? "postgres" : "sqlite";
}

/** The specifier of `entry` (`null`: the root entry) under {@link PACKAGE_NAME}. */
export function entrySpecifier(entry: DriverEntry | null): string {
  return entry === null ? PACKAGE_NAME : `${PACKAGE_NAME}/${entry}`;
}

/** The entry `specifier` names under any of {@link PACKAGE_NAMES}: `""` for the root, the subpath for another (`"pg"`), `null` for another package. */
export function packageSubpathOf(specifier: string): string | null {
  for (const name of PACKAGE_NAMES) {
    if (specifier === name) return "";
    if (specifier.startsWith(`${name}/`)) return specifier.slice(name.length + 1);
  }
  return null;
}

/** Whether `specifier` is the root entry or a driver entry, under any of {@link PACKAGE_NAMES}. */
export function isDefineMigrationSource(specifier: string): boolean {
  const subpath = packageSubpathOf(specifier);
  return subpath === "" || (DRIVER_ENTRIES as readonly string[]).includes(subpath ?? "");
}
