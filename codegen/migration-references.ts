/**
 * When `stepwise rebase` renames a migration, a file that imports it by a relative path (a later
 * migration reusing an earlier one's helper, say) would stop resolving. This finds those imports in
 * the migrations folder (subfolders included) and rewrites just the renamed file's name inside each
 * specifier, keeping its extension or lack of one, its quotes and everything around it.
 *
 * Only relative specifiers are followed: an alias (tsconfig `paths`, a package.json `#import`) names
 * a file the user chose to reach indirectly, so a renamed migration there is left to `gen`, which
 * reports an import it cannot resolve.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { ts } from "ts-morph";

/** A file whose text changes, by its path before any rename. */
export interface ReferenceRewrite {
  readonly file: string;
  readonly text: string;
  readonly originalText: string;
  /** The specifiers changed, `old → new`. */
  readonly changes: readonly string[];
}

const SCRIPT_FILE = /\.(?:[cm]?[jt]sx?)$/;
const SPECIFIER_EXTENSION = /\.(?:[cm]?[jt]sx?)$/;

/**
 * The rewrites that keep every relative import of a moved file working. `moves` maps an old absolute
 * path to its new one; paths in the result are the files' old paths.
 */
export function findReferenceRewrites(migrationsDir: string, moves: ReadonlyMap<string, string>): ReferenceRewrite[] {
  const movedStems = new Map<string, string>();
  for (const [from, to] of moves) movedStems.set(stripExtension(from), path.basename(stripExtension(to)));
  const rewrites: ReferenceRewrite[] = [];
  for (const file of listScriptFiles(migrationsDir)) {
    const originalText = readFileSync(file, "utf8");
    const edits: { start: number; end: number; replacement: string }[] = [];
    for (const reference of ts.preProcessFile(originalText, true, true).importedFiles) {
      const specifier = reference.fileName;
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
      const newStem = movedStems.get(stripExtension(path.resolve(path.dirname(file), specifier)));
      if (newStem === undefined) continue;
      // preProcessFile's position is the opening quote's.
      const start = originalText.indexOf(specifier, reference.pos);
      if (start === -1) continue;
      const base = specifier.slice(specifier.lastIndexOf("/") + 1);
      const extension = SPECIFIER_EXTENSION.exec(base)?.[0] ?? "";
      const replacement = `${specifier.slice(0, specifier.length - base.length)}${newStem}${extension}`;
      edits.push({ start, end: start + specifier.length, replacement });
    }
    if (edits.length === 0) continue;
    let text = originalText;
    for (const edit of [...edits].sort((a, b) => b.start - a.start)) text = text.slice(0, edit.start) + edit.replacement + text.slice(edit.end);
    rewrites.push({ file, text, originalText, changes: edits.map((edit) => `${originalText.slice(edit.start, edit.end)} → ${edit.replacement}`) });
  }
  return rewrites;
}

function stripExtension(file: string): string {
  return file.replace(SPECIFIER_EXTENSION, "").replace(/\.sql$/, "");
}

function listScriptFiles(folder: string): string[] {
  const files: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch {
    return files;
  }
  for (const entry of entries.sort()) {
    if (entry === "node_modules" || entry.startsWith(".")) continue;
    const absolute = path.join(folder, entry);
    try {
      const stats = statSync(absolute);
      if (stats.isDirectory()) files.push(...listScriptFiles(absolute));
      else if (stats.isFile() && SCRIPT_FILE.test(entry) && !entry.endsWith(".d.ts")) files.push(absolute);
    } catch {
      // Unreadable: gen reports what matters.
    }
  }
  return files;
}
