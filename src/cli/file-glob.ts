/** The glob `stepwise fleet --db` takes, with no dependency: `*`, `?`, `[abc]`, `[!abc]`, `**`; a name starting with a dot matched only by a part that starts with one, as shells do. */
import { tryOr } from "../shared/try-or.js";
import { lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { databaseOfOwnerLock } from "../drivers/sqlite-shared.js";
import { isBackupFileName } from "../safety/backup.js";
import { escapeBytes } from "./database-path.js";
import { pathEncodingError } from "./errors.js";

/** Whether `text` holds a glob character. */
export function isGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

/** One part of a pattern (no `/`) as an anchored regular expression. */
export function globPartToRegExp(part: string): RegExp {
  let source = "";
  for (let index = 0; index < part.length; index++) {
    const char = part[index]!;
    const close = char === "[" ? part.indexOf("]", index + 2) : -1;
    if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else if (close !== -1) {
      const inside = part.slice(index + 1, close);
      source += `[${inside.startsWith("!") ? `^${escapeClass(inside.slice(1))}` : escapeClass(inside)}]`;
      index = close;
    } else source += char.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

const escapeClass = (text: string) => text.replace(/[\\\]^]/g, "\\$&");

/**
 * The files `pattern` matches, in its own spelling, sorted, each file once: of a file's spellings (links, hard links) the one through the fewest links, since two ids for one
 * database would count it twice, and an id an unrelated link could change would move it to another shard. Each `**` enters a folder once, so a link loop ends. Sidecars
 * (`-wal`, owner locks, backups) and folders are left out; a link to nothing is kept: opening it refuses it.
 */
export function expandFileGlob(pattern: string, cwd: string): string[] {
  const parts = pattern.split(/[\\/]/);
  // A trailing `**` means every file below, as in shells with globstar: `**/*`.
  if (parts.at(-1) === "**") parts.push("*");
  const firstMagic = parts.findIndex(isGlob);
  if (firstMagic === -1) return isFile(path.resolve(cwd, pattern)) || isDanglingLink(path.resolve(cwd, pattern)) ? [pattern] : [];
  const found: { file: string; links: number }[] = [];
  const entered = new Set<string>();
  // Folders wait by how many links their spelling went through, and are entered fewest first (in sort order within a round), so the first spelling to enter a folder under `**`,
  // the one that keeps it, is the most direct: a loop or a link sorted before the real folder cannot take a file's id from its direct path.
  const waiting: { shown: string; index: number }[][] = [];
  const visit = (shown: string, index: number, links: number) => {
    const real = path.resolve(cwd, shown === "" ? "." : shown);
    const part = parts[index]!;
    const join = (name: string) => (shown === "" ? name : shown.endsWith("/") ? `${shown}${name}` : `${shown}/${name}`);
    const enter = (name: string, next: number) => (waiting[links + (isSymbolicLink(path.join(real, name)) ? 1 : 0)] ??= []).push({ shown: join(name), index: next });
    if (index === parts.length - 1 && part !== "**") {
      for (const name of namesIn(real, part, "file"))
        if (!isSidecar(real, name) && (isFile(path.join(real, name)) || isDanglingLink(path.join(real, name))))
          found.push({ file: join(name), links: links + (isSymbolicLink(path.join(real, name)) ? 1 : 0) });
      return;
    }
    if (part === "**") {
      const key = `${index}:${realPathOf(real)}`;
      if (entered.has(key)) return;
      entered.add(key);
      visit(shown, index + 1, links);
      for (const name of namesIn(real, "*", "directory")) if (isDirectory(path.join(real, name))) enter(name, index);
      return;
    }
    for (const name of isGlob(part) ? namesIn(real, part, "directory") : [part]) if (isDirectory(path.join(real, name))) enter(name, index + 1);
  };
  // The parts before the first glob character are one folder: `data/tenants`, `/srv/app`, or none.
  visit(firstMagic === 0 ? "" : parts.slice(0, firstMagic).join("/") || "/", firstMagic, 0);
  for (let links = 0; links < waiting.length; links++)
    while ((waiting[links]?.length ?? 0) > 0) {
      const round = waiting[links]!.splice(0).sort((a, b) => compareSpelling(a.shown, b.shown) || a.index - b.index);
      for (const { shown, index } of round) visit(shown, index, links);
    }
  // Of a file's spellings, the one through the fewest links (ties: the first in sort order), so a file reachable directly keeps its direct path whatever links point at it.
  const files = new Map<string, { file: string; links: number }>();
  for (const spelling of found.sort((a, b) => compareSpelling(a.file, b.file))) {
    const identity = identityOf(path.resolve(cwd, spelling.file));
    const kept = files.get(identity);
    if (kept === undefined || spelling.links < kept.links) files.set(identity, spelling);
  }
  return [...files.values()].map(({ file }) => file).sort();
}

/**
 * SQLite's files beside a database in `dir` and stepwise's own (an owner lock, an `up --backup` snapshot): never a database of their own. Known by a name that says whose it is
 * and that database beside it, so a tenant that only happens to be named so (`audit-journal`) is still one.
 */
function isSidecar(dir: string, name: string): boolean {
  const owner = /^(.+)-(wal|shm|journal)$/.exec(name)?.[1] ?? databaseOfOwnerLock(name);
  return (owner !== null && isFile(path.join(dir, owner))) || isBackupFileName(name);
}

/** Sort order of two spellings, as `Array.prototype.sort` orders strings. */
const compareSpelling = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Whether `file` is a symbolic link itself; not when it cannot be read. */
function isSymbolicLink(file: string): boolean {
  return tryOr(() => lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink() === true, false);
}

/** One file's identity, the same for each of its names: device and inode, so hard links are one file too (SQLite keeps a journal per name, and two runs through two names could
 * corrupt it); its real path when it cannot be read. */
function identityOf(file: string): string {
  const stat = tryOr(() => statSync(file, { bigint: true, throwIfNoEntry: false }), undefined);
  return stat === undefined ? realPathOf(file) : `${stat.dev}:${stat.ino}`;
}

/** Where `file` really is, links resolved; itself when that cannot be read. */
function realPathOf(file: string): string {
  return tryOr(() => realpathSync(file), file);
}

/**
 * The names in `dir` that `part` matches, of the files or folders `kind` asks for (the caller checks the others); none when `dir` cannot be listed. A match of that kind whose name
 * is not UTF-8 is `PATH_NOT_UTF8`: stepwise could not open what it names, and a tenant left out in silence would read as migrated.
 */
function namesIn(dir: string, part: string, kind: "file" | "directory"): string[] {
  const matcher = globPartToRegExp(part);
  const entries = tryOr(() => readdirSync(dir, { encoding: "buffer" }), [] as Buffer[]);
  const names: string[] = [];
  for (const bytes of entries) {
    const name = bytes.toString("utf8");
    if (!matcher.test(name) || (name.startsWith(".") && !part.startsWith("."))) continue;
    if (Buffer.from(name, "utf8").equals(bytes)) names.push(name);
    else {
      const raw = Buffer.concat([Buffer.from(`${dir}/`), bytes]);
      const stat = statOf(raw);
      if (kind === "file" ? stat?.isFile() : stat?.isDirectory()) throw pathEncodingError(path.join(dir, name), escapeBytes(raw));
    }
  }
  return names;
}

/** Unreachable (no permission, a file on the way): not a match. */
const statOf = (file: string | Buffer) => tryOr(() => statSync(file, { throwIfNoEntry: false }), undefined);
const isFile = (file: string) => statOf(file)?.isFile() === true;
const isDirectory = (file: string) => statOf(file)?.isDirectory() === true;
/** A link to nothing, such as a database on a volume not mounted now: listed, so the run reports it (as `up --db` refuses it) rather than leaving that tenant out in silence. */
const isDanglingLink = (file: string) => statOf(file) === undefined && isSymbolicLink(file);
