/** Where a connection's main database really lives on disk: processes may reach one file by different strings (a symlink, a relative path before a `chdir`), so what sits next to it is found from
 * there. */
import { nodeFs, nodePath } from "../core/node-builtins.js";
import type { FileKind } from "../core/errors.js";

/** The absolute real path of the file SQLite reported as `opened` (`null` in memory); a file not created yet resolves through its folder. */
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

/** The main database's file in `PRAGMA database_list` rows, or `null` (in memory). */
export function mainDatabaseFile(rows: ReadonlyArray<{ name?: unknown; file?: unknown }>): string | null {
  const main = rows.find((row) => row.name === "main");
  return typeof main?.file === "string" && main.file !== "" ? main.file : null;
}

/** What `file` is on disk, without opening it (a FIFO would block), through symlinks unless `follow` is false. */
export function fileKindAt(file: string, follow = true): FileKind {
  const stats = follow ? nodeFs().statSync(file, { throwIfNoEntry: false }) : nodeFs().lstatSync(file, { throwIfNoEntry: false });
  if (stats === undefined) return "missing";
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "directory";
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isFIFO()) return "fifo";
  if (stats.isSocket()) return "socket";
  return stats.isCharacterDevice() ? "character-device" : "block-device";
}

/** The mode of a file holding the database's data: owner read-write, never more for others than the database has. */
export function privateModeFor(databaseFile: string | null): number {
  const stats = databaseFile === null ? undefined : nodeFs().statSync(databaseFile, { throwIfNoEntry: false });
  return 0o600 | ((stats?.mode ?? 0) & 0o066);
}

/** Creates `file`, empty, with exactly `mode`; `EEXIST` when anything is there, a symlink included. */
export function createFileExclusively(file: string, mode: number): void {
  const fs = nodeFs();
  const fd = fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, mode);
  try {
    // Whatever the umask.
    fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}
