/**
 * Writes a file so that readers see either the old bytes or the complete new ones, never a prefix.
 *
 * The text goes to a temporary file in the same folder (a rename across folders could cross devices),
 * every byte is written (`write` may write fewer bytes than asked on a nearly full disk or past a file
 * size limit, so the count is checked and the rest retried), the file is flushed, and only then is it
 * renamed over the target, or, for a file that must not exist yet, hard-linked to it. Any failure
 * removes the temporary file and throws `FILE_WRITE_FAILED`, leaving the target untouched.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import path from "node:path";
import type { FileWriteStep } from "../src/core/errors.js";
import { fileWriteError } from "../src/core/error-factories.js";

/** The file system calls a write makes; tests substitute one to fail a chosen step. */
export interface AtomicWriteFileSystem {
  openSync(file: string, flags: string, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  linkSync(existing: string, target: string): void;
  rmSync(file: string, options: { force: boolean }): void;
  mkdirSync(dir: string, options: { recursive: true }): unknown;
}

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Fail with `EEXIST` instead of replacing an existing file (for `create`). Default `false`. */
  readonly exclusive?: boolean;
  /** Default: `node:fs`. */
  readonly fileSystem?: AtomicWriteFileSystem;
}

/**
 * Replaces (or, with `exclusive`, creates) `file` with `text` atomically, creating its folder when
 * needed.
 *
 * @throws `FILE_WRITE_FAILED` when any step fails; the target is then as it was and no temporary file remains.
 */
export function writeFileAtomic(file: string, text: string, options: AtomicWriteOptions = {}): void {
  const io = options.fileSystem ?? fs;
  const bytes = Buffer.from(text, "utf8");
  const dir = path.dirname(file);
  const temporary = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let step: FileWriteStep = "create-temporary";
  let written = 0;
  let fd: number | null = null;
  try {
    io.mkdirSync(dir, { recursive: true });
    fd = io.openSync(temporary, "wx", 0o666);
    step = "write";
    while (written < bytes.length) {
      const count = io.writeSync(fd, bytes, written, bytes.length - written);
      // A zero-byte write would loop forever; the disk has no room left for us.
      if (count <= 0) throw Object.assign(new Error(`write made no progress at byte ${written}`), { code: "ENOSPC" });
      written += count;
    }
    step = "flush";
    io.fsyncSync(fd);
    step = "close";
    const closing = fd;
    fd = null;
    io.closeSync(closing);
    if (options.exclusive) {
      step = "link";
      linkOrRenameIfAbsent(io, temporary, file);
    } else {
      step = "rename";
      io.renameSync(temporary, file);
    }
  } catch (error) {
    if (fd !== null) {
      try {
        io.closeSync(fd);
      } catch {
        // The write already failed; that failure is the one to report.
      }
    }
    try {
      io.rmSync(temporary, { force: true });
    } catch {
      // Nothing more can be done about a temporary file that cannot be removed.
    }
    throw fileWriteError({
      file,
      step,
      systemCode: (error as NodeJS.ErrnoException).code ?? null,
      bytesWritten: written,
      bytesExpected: bytes.length,
      cause: error,
    });
  }
  flushDirectory(dir);
}

/**
 * A hard link never replaces an existing file, so two `create`s cannot overwrite each other. File
 * systems without hard links (FAT, some network mounts) get a rename after an existence check.
 */
function linkOrRenameIfAbsent(io: AtomicWriteFileSystem, temporary: string, file: string): void {
  try {
    io.linkSync(temporary, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") throw error;
    if (fs.existsSync(file)) throw Object.assign(new Error(`${file} already exists`), { code: "EEXIST" });
    io.renameSync(temporary, file);
    return;
  }
  io.rmSync(temporary, { force: true });
}

/**
 * Makes the rename itself durable. Best effort: some file systems refuse to open or flush a folder,
 * and by now the new file is complete and in place, so failing here would misreport what happened.
 */
function flushDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // See above.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
