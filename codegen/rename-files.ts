/**
 * Renames a set of files, and rewrites some, all or none: `stepwise rebase` must never leave half a
 * renumbering behind, which would be worse than the collision it set out to fix.
 *
 * Each file first moves to a temporary name in its own folder, then to its new name, so a set whose
 * new names are other members' old names (003 → 004 while 004 → 005) never overwrites one. Every
 * step taken is journaled; when one fails, the journal is undone in reverse, and the error says
 * whether that succeeded.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "./write-file.js";
import { rebaseRenameFailedError, rebaseConflictError } from "./rebase-errors.js";

/** One file to move. Paths are absolute. */
export interface FileMove {
  readonly from: string;
  readonly to: string;
}

/** One file to give new content, named by its path after the moves. */
export interface FileRewrite {
  readonly file: string;
  readonly text: string;
  /** What to put back if a later step fails. */
  readonly originalText: string;
}

/** The file system calls the renaming makes; tests substitute one to fail a chosen step. */
export interface RenameFileSystem {
  renameSync(from: string, to: string): void;
  existsSync(file: string): boolean;
  /** Replaces a file's text atomically. */
  writeFileSync(file: string, text: string): void;
}

const DEFAULT_FILE_SYSTEM: RenameFileSystem = {
  renameSync: fs.renameSync,
  existsSync: fs.existsSync,
  writeFileSync: (file, text) => writeFileAtomic(file, text),
};

type JournalEntry = { readonly kind: "rename"; readonly from: string; readonly to: string } | { readonly kind: "rewrite"; readonly file: string; readonly originalText: string };

/**
 * Moves every file in `moves`, then applies `rewrites`, or changes nothing.
 *
 * @throws `REBASE_CONFLICT` when a new name is taken by a file that is not itself being moved.
 * @throws `REBASE_RENAME_FAILED` when a step fails; `restored` says whether everything was put back.
 */
export function renameFilesAtomically(moves: readonly FileMove[], rewrites: readonly FileRewrite[], options: { fileSystem?: RenameFileSystem; label?: (file: string) => string } = {}): void {
  const io = options.fileSystem ?? DEFAULT_FILE_SYSTEM;
  const label = options.label ?? ((file: string) => file);
  const leaving = new Set(moves.map((move) => move.from));
  const taken = moves.filter((move) => io.existsSync(move.to) && !leaving.has(move.to)).map((move) => label(move.to));
  if (taken.length > 0) throw rebaseConflictError({ reason: "target-exists", files: taken, base: "" });

  const journal: JournalEntry[] = [];
  const token = `${process.pid}.${randomBytes(4).toString("hex")}`;
  const staged = moves.map((move, index) => ({ ...move, temporary: path.join(path.dirname(move.from), `.stepwise-rebase.${token}.${index}.tmp`) }));
  let current = "";
  try {
    for (const move of staged) {
      current = move.from;
      io.renameSync(move.from, move.temporary);
      journal.push({ kind: "rename", from: move.from, to: move.temporary });
    }
    for (const move of staged) {
      current = move.to;
      io.renameSync(move.temporary, move.to);
      journal.push({ kind: "rename", from: move.temporary, to: move.to });
    }
    for (const rewrite of rewrites) {
      current = rewrite.file;
      io.writeFileSync(rewrite.file, rewrite.text);
      journal.push({ kind: "rewrite", file: rewrite.file, originalText: rewrite.originalText });
    }
  } catch (error) {
    const pending = undo(journal, io);
    const systemCode = (error as NodeJS.ErrnoException).code ?? (error as { systemCode?: string }).systemCode ?? null;
    throw rebaseRenameFailedError({ file: label(current), systemCode, restored: pending.length === 0, pending: pending.map((step) => `${label(step.to)} → ${label(step.from)}`), cause: error });
  }
}

/** Undoes the journal in reverse; returns the renames that could not be undone (a failed rewrite is retried as is). */
function undo(journal: readonly JournalEntry[], io: RenameFileSystem): { from: string; to: string }[] {
  const pending: { from: string; to: string }[] = [];
  for (const entry of [...journal].reverse()) {
    try {
      if (entry.kind === "rename") io.renameSync(entry.to, entry.from);
      else io.writeFileSync(entry.file, entry.originalText);
    } catch {
      if (entry.kind === "rename") pending.push({ from: entry.from, to: entry.to });
      else pending.push({ from: entry.file, to: `${entry.file} (its original text)` });
    }
  }
  return pending;
}
