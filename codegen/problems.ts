/**
 * Codegen collects every problem before failing, so one run shows everything to fix. Each has a
 * stable code for tests and scripts, and a position for `file:line:col: message` output that editors
 * and CI annotations understand.
 */
import type { SqlSourceProblemCode } from "../src/shared/sql-source.js";

/** Every code `stepwise gen` can report. */
export type ProblemCode =
  | SqlSourceProblemCode
  | "MIGRATIONS_DIR_MISSING"
  | "MIGRATIONS_DIR_NOT_A_FOLDER"
  | "MIGRATIONS_DIR_UNREADABLE"
  | "BAD_FILE_NAME"
  | "MIGRATION_NOT_A_FILE"
  | "MIGRATION_SYMLINK"
  | "MIGRATION_UNREADABLE"
  | "FOREIGN_MIGRATIONS"
  | "MIGRATIONS_IN_SUBFOLDER"
  | "DUPLICATE_VERSION"
  | "VERSIONS_DO_NOT_START_AT_ONE"
  | "VERSION_GAP"
  | "TS_SYNTAX_ERROR"
  | "TS_NO_DEFAULT_EXPORT"
  | "TS_MULTIPLE_DEFAULT_EXPORTS"
  | "TS_NOT_DEFINE_MIGRATION"
  | "TS_MIGRATION_ON_D1"
  | "TS_DEFINE_MIGRATION_SOURCE"
  | "TS_NOT_OBJECT_LITERAL"
  | "TS_UNSUPPORTED_PROPERTY"
  | "TS_UNKNOWN_PROPERTY"
  | "TS_DUPLICATE_PROPERTY"
  | "TS_MISSING_UP"
  | "TS_NOT_A_FUNCTION"
  | "TS_NON_LITERAL_OPTION"
  | "FOREIGN_KEYS_WITHOUT_TRANSACTION"
  | "REGISTRY_STALE"
  | "REGISTRY_DIALECT_CHANGED"
  | "REGISTRY_UNREADABLE"
  | "FILE_NOT_UTF8"
  | "TS_IMPORT_NOT_FOUND"
  | "TS_UNTRACEABLE_IMPORT"
  | "TS_NUL_BYTE"
  | "REGISTRY_UNWRITABLE"
  | "FORMATTER_FAILED"
  | "VERSION_TAKEN_ON_BASE"
  | "REPLAY_FAILED"
  | "REPLAY_DOWN_FAILED"
  | "REPLAY_REGISTRY_UNLOADABLE"
  | "REPLAY_SKIPPED"
  | "FOREIGN_KEY_PARENT_REBUILT";

/** One thing wrong, with where it is and how to fix it. */
export interface Problem {
  readonly code: ProblemCode;
  /** Path relative to the project root, with forward slashes. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  readonly message: string;
  /** `VERSION_GAP` only: the versions missing just before this file, inclusive, for scripts and tests. */
  readonly missingVersions?: { readonly from: number; readonly to: number };
  /** `REGISTRY_STALE` only: the local imports whose content the migration's checksum also covers. */
  readonly relatedFiles?: readonly string[];
  /** `REGISTRY_STALE` only: what differs, for the runtime commands' refusal (`RegistryStaleError`). */
  readonly staleness?: { readonly change: RegistryChangeKind; readonly file: string };
  /** `FOREIGN_MIGRATIONS` only: the tool whose migrations the folder holds (`Diesel`, `Flyway`, `sqlx`, …). */
  readonly foreign?: { readonly tool: string };
  /** `VERSION_TAKEN_ON_BASE` only: the base branch's file with the same version, and the ref it was read from. */
  readonly base?: { readonly ref: string; readonly file: string; readonly version: number };
}

/**
 * How the migrations folder differs from the registry: a migration `added` to the folder, `changed`
 * in it (or in a local file it imports), `removed` from it, or the `registry` itself missing or
 * edited by hand. A renamed file is one `removed` and one `added`.
 */
export type RegistryChangeKind = "added" | "changed" | "removed" | "registry";

/** `file:line:col: message [CODE]`, the format compilers use, so terminals and CI link to the spot. */
export function formatProblem(problem: Problem): string {
  return `${escapeControlCharacters(problem.file)}:${problem.line}:${problem.column}: ${escapeControlCharacters(problem.message)} [${problem.code}]`;
}

/**
 * A file name may hold a line break or a terminal escape sequence, and messages quote names: printed
 * raw, one would split the `file:line:col` line in two and the other would reach the terminal. Each
 * control character (C0, DEL, C1, and the Unicode line and paragraph separators) becomes its
 * JSON-style escape, so every problem stays one inert line.
 *
 * @example
 * escapeControlCharacters("migrations/002_x\n.sql"); // "migrations/002_x\\n.sql"
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => CONTROL_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const CONTROL_ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };

/** Orders problems by file, then position, so output is stable from run to run. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}
