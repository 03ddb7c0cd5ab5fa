/**
 * Where in a migration's own file a failure happened, read from the stack of what it threw. The
 * executor's frames say nothing a user can act on; the migration's frame does. Node maps the stack
 * through source maps when they are on (tsx turns them on for the bin; a bundled app runs with
 * `--enable-source-maps` or `process.setSourceMapsEnabled(true)`), so a bundled app's frame names
 * `migrations/002_….ts:LINE` as well.
 */
import { fileURLToPath } from "node:url";
import { StepwiseError } from "../core/errors.js";

/** A position in a project file, 1-based. */
export interface SourceLocation {
  /** The project-relative file, as the error names it (such as `migrations/002_add_email.ts`). */
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** `(path:line:col)` or a bare `path:line:col` at the end of a stack frame. */
const FRAME = /^\s*at (?:.*?\()?(.+?):(\d+):(\d+)\)?\s*$/;

/**
 * The first frame of `thrown`'s stack, or of a cause down its chain, that lies in `file` (a
 * project-relative path such as `migrations/002_x.ts`); `null` when none does, as for a `.sql`
 * migration, whose statements have no frames, or a value thrown without a stack.
 */
export function locateInFile(thrown: unknown, file: string): SourceLocation | null {
  const wanted = normalize(file);
  const seen = new Set<unknown>();
  for (let current = thrown; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    for (const line of (current.stack ?? "").split("\n")) {
      const match = FRAME.exec(line);
      if (!match) continue;
      const framePath = normalize(toPath(match[1]!));
      if (framePath === wanted || framePath.endsWith(`/${wanted}`)) return { file, line: Number(match[2]), column: Number(match[3]) };
    }
  }
  return null;
}

/**
 * The location of a failure that names the migration it happened in: the error's own `location`
 * (a SQL migration's failing statement, MIGRATION_FAILED's `location`), else, for a stepwise error
 * with a string `file` (MIGRATION_FAILED and its kin) whose `cause` is what the migration threw, its
 * frame in that file.
 */
export function locateFailure(error: unknown): SourceLocation | null {
  if (!(error instanceof Error)) return null;
  const fields = (error instanceof StepwiseError ? error.details : error) as { location?: unknown; file?: unknown };
  const own = fields.location as Partial<SourceLocation> | null | undefined;
  if (own && typeof own.file === "string" && typeof own.line === "number" && typeof own.column === "number") return { file: own.file, line: own.line, column: own.column };
  const file = fields.file;
  if (typeof file !== "string" || error.cause === undefined) return null;
  return locateInFile(error.cause, file);
}

/** The whole stack of `error` and each cause down its chain, for `--verbose`. */
export function formatStackChain(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let current: unknown = error; current !== undefined && !seen.has(current); current = current instanceof Error ? current.cause : undefined) {
    seen.add(current);
    const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
    parts.push(parts.length === 0 ? text : `Caused by: ${text}`);
  }
  return parts.join("\n");
}

function toPath(location: string): string {
  if (!location.startsWith("file://")) return location;
  try {
    return fileURLToPath(location);
  } catch {
    return location;
  }
}

function normalize(file: string): string {
  return file.replace(/\\/g, "/").replace(/^\.\//, "");
}
