/**
 * Where a connection's main database really lives on disk. Two processes can reach one file by
 * different strings (a symlink, a relative path opened before a `chdir`, `./a/../a.db`); anything
 * stepwise places next to the database must agree across all of them, so it is located from the path
 * SQLite itself resolved when it opened the file (`PRAGMA database_list`, which a driver reads with
 * its own library), with symlinks resolved. Library-agnostic: it takes that name, never a connection.
 */
import { nodeFs, nodePath } from "../core/node-builtins.js";

/**
 * The absolute path, symlinks resolved, of the database file SQLite reported as `opened`; `null` for
 * an in-memory or temporary database (`null` or `""`), which no other process can open.
 *
 * SQLite made the name absolute at open time, so a later `chdir` does not move it. A file not created
 * yet resolves through its folder, so the answer is the same before and after the first write.
 */
export function resolveDatabaseFile(opened: string | null): string | null {
  if (opened === null || opened === "" || opened === ":memory:") return null;
  const absolute = nodePath().resolve(opened);
  try {
    return nodeFs().realpathSync(absolute);
  } catch {
    try {
      return nodePath().join(nodeFs().realpathSync(nodePath().dirname(absolute)), nodePath().basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/**
 * The main database's file as SQLite reports it in `PRAGMA database_list` rows, or `""` when the
 * rows name none (in memory). Drivers pass the rows their library read.
 */
export function mainDatabaseFile(rows: ReadonlyArray<{ name?: unknown; file?: unknown }>): string {
  const main = rows.find((row) => row.name === "main");
  return typeof main?.file === "string" ? main.file : "";
}
