/**
 * Where a connection's main database really lives on disk. Two processes can reach one file by
 * different strings (a symlink, a relative path opened before a `chdir`, `./a/../a.db`); anything
 * stepwise places next to the database, or reads from it directly, must agree across all of them, so
 * it is located from the path SQLite itself resolved when it opened the file, with symlinks resolved.
 */
import { realpathSync } from "node:fs";
import path from "node:path";
import type { Database } from "./types.js";

/**
 * The absolute path, symlinks resolved, of `db`'s main database file; `null` for an in-memory or
 * temporary database, which no other process can open.
 *
 * SQLite made the name absolute at open time (`PRAGMA database_list`), so a later `chdir` does not
 * move it. A file not created yet resolves through its folder, so the answer is the same before and
 * after the first write.
 */
export function resolveDatabaseFile(db: Database): string | null {
  if (db.memory) return null;
  let opened = "";
  try {
    const main = (db.pragma("database_list") as Array<{ name: string; file: string }>).find((row) => row.name === "main");
    opened = main?.file ?? "";
  } catch {
    // A closed connection cannot be asked; its name is the best remaining answer.
    opened = db.name;
  }
  if (opened === "") return null;
  const absolute = path.resolve(opened);
  try {
    return realpathSync(absolute);
  } catch {
    try {
      return path.join(realpathSync(path.dirname(absolute)), path.basename(absolute));
    } catch {
      return absolute;
    }
  }
}
