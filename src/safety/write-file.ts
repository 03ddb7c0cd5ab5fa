/**
 * Writes a file so readers see the old bytes or all the new ones, never a prefix: a temporary file in the same folder, every byte written (a short write on a full disk is retried), flushed, then
 * renamed over the target, or, for a file that must not exist yet, hard-linked to it. Every file stepwise writes outside a database goes through it: gen's registry and cache, create, import,
 * squash, rebase and adopt's `--write-sql`.
 */
import { isFull } from "../core/error-factories.js";
import { StepwiseError, type FileWriteStep, type StepwiseErrorDetails } from "../core/errors.js";
import { nodeCrypto, nodeFs, nodePath } from "../core/node-builtins.js";
import { makeFolders } from "./backup.js";
import { tryOr } from "../shared/try-or.js";

/** The file system calls a write makes; tests substitute one to fail a chosen step. */
export interface AtomicWriteFileSystem {
  openSync(file: string, flags: string, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  linkSync(existing: string, target: string): void;
  rmSync(file: string, options: { force: boolean }): void;
  mkdirSync(dir: string, options?: { recursive?: boolean }): unknown;
}

/**
 * Replaces (or, with `exclusive`, creates: `EEXIST` when it exists, for `create`) `file` with `text` (UTF-8) or bytes atomically, creating its folder when needed; `fileSystem` defaults to `node:fs`.
 *
 * @throws `FILE_WRITE_FAILED` when any step fails; the target is then as it was and no temporary file remains.
 */
export function writeFileAtomic(file: string, text: string | Uint8Array, options: { exclusive?: boolean; fileSystem?: AtomicWriteFileSystem } = {}): void {
  const [fs, path] = [nodeFs(), nodePath()];
  const io = options.fileSystem ?? fs;
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  const dir = path.dirname(file);
  const temporary = path.join(dir, `.${path.basename(file)}.${process.pid}.${nodeCrypto().randomBytes(6).toString("hex")}.tmp`);
  let step: FileWriteStep = "create-temporary";
  let written = 0;
  let fd: number | null = null;
  try {
    makeFolders(dir, (folder) => io.mkdirSync(folder));
    fd = io.openSync(temporary, "wx", 0o666);
    step = "write";
    while (written < bytes.length) {
      const count = io.writeSync(fd, bytes, written, bytes.length - written);
      // A zero-byte write would loop forever: the disk has no room left.
      if (count <= 0) throw Object.assign(new Error(`write made no progress at byte ${written}`), { code: "ENOSPC" });
      written += count;
    }
    step = "flush";
    io.fsyncSync(fd);
    step = "close";
    const closing = fd;
    fd = null;
    io.closeSync(closing);
    step = options.exclusive ? "link" : "rename";
    if (options.exclusive) linkIfAbsent(io, temporary, file);
    else io.renameSync(temporary, file);
  } catch (error) {
    // The write already failed; that failure is the one to report.
    if (fd !== null) tryOr(() => io.closeSync(fd!), undefined);
    tryOr(() => io.rmSync(temporary, { force: true }), undefined);
    throw fileWriteError({ file, step, systemCode: (error as NodeJS.ErrnoException).code ?? null, bytesWritten: written, bytesExpected: bytes.length, cause: error });
  }
  // Best effort: the rename is durable once the folder is flushed, and some file systems refuse that; the new file is in place either way.
  const dirFd = tryOr(() => fs.openSync(dir, "r"), null);
  if (dirFd !== null) tryOr(() => fs.fsyncSync(dirFd), undefined);
  if (dirFd !== null) tryOr(() => fs.closeSync(dirFd), undefined);
}

/** A hard link never replaces an existing file; where hard links are unsupported, a rename after an existence check. */
function linkIfAbsent(io: AtomicWriteFileSystem, temporary: string, file: string): void {
  try {
    io.linkSync(temporary, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") throw error;
    if (nodeFs().existsSync(file)) throw Object.assign(new Error(`${file} already exists`), { code: "EEXIST" });
    io.renameSync(temporary, file);
    return;
  }
  io.rmSync(temporary, { force: true });
}

/** `FILE_WRITE_FAILED`: `file` was not replaced, and the temporary copy was removed. */
function fileWriteError(fields: StepwiseErrorDetails["FILE_WRITE_FAILED"] & { cause: unknown }) {
  const { file, step, systemCode, bytesWritten, bytesExpected } = fields;
  const fix = isFull(systemCode) ? "Free disk space (or raise the quota or file size limit) and run it again." : "Check that the folder is writable and on a healthy disk, then run it again.";
  const message = `Could not write ${file} (${systemCode ?? "error"} during ${step}${step === "write" ? ` after ${bytesWritten} of ${bytesExpected} bytes` : ""}). Nothing was replaced: the file is as it was before, and the temporary copy was removed. ${fix}`;
  return new StepwiseError("FILE_WRITE_FAILED", message, { file, step, systemCode, bytesWritten, bytesExpected }, { cause: fields.cause });
}
