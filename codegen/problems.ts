/**
 * What `gen` reports: every problem is collected before failing, each with a stable code and a
 * position printed as `file:line:col: message`, which editors and CI annotations link to.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { CliContext } from "../src/cli/cli-props.js";
import type { RegistryChangeKind } from "../src/core/errors.js";
import type { SqlSourceProblemCode } from "../src/shared/sql-source.js";
import { decodeSourceBytes } from "../src/shared/source-text.js";
import { isInstanceSafely } from "../src/core/error-factories.js";
import { tryOr } from "../src/shared/try-or.js";

export { closestName } from "../src/core/error-factories.js";

/** Every code `stepwise gen` can report (docs/errors.md is generated from these comments). */
export type ProblemCode =
  | SqlSourceProblemCode
  // Group: The migrations folder
  /** The migrations folder does not exist, or is a symbolic link to nothing (`link` names it). Fix: Create it (`stepwise create` does), or point to it with `--dir` (`migrationsDir` in the config); a link, at the folder that holds the migrations. */
  | "MIGRATIONS_DIR_MISSING"
  /** The migrations path is a file, not a folder. Fix: Point `--dir` (or `migrationsDir`) at the folder that holds the migrations. */
  | "MIGRATIONS_DIR_NOT_A_FOLDER"
  /** The migrations folder cannot be opened or listed, or is a symbolic link that leads back to itself (`link` names it). Fix: Make it readable by the user running stepwise (for example `chmod 755`); a link, point it at the folder that holds the migrations. */
  | "MIGRATIONS_DIR_UNREADABLE"
  /** The path from the registry to the migrations folder holds `#`, `%` or `?`: Node reads an import's path as a URL, where these start a fragment, an escape or a query, so the registry's imports
   * would fail or load other files. Fix: Rename the folder (or the one between it and the registry) without those characters. */
  | "MIGRATIONS_DIR_UNIMPORTABLE"
  /** An entry named like a migration (it starts with a digit, or ends in `.sql`) that is not `<version>_<name>.sql` or `.ts`: `002_b.SQL`, `003_c.mts`, `007-g.sql`, a trailing space.
   * Fix: Rename it as the message says, or move it out of the folder. */
  | "BAD_FILE_NAME"
  /** A migration name that is a folder, pipe, socket or device rather than a regular file. Fix: Replace it with the migration file, or remove it. */
  | "MIGRATION_NOT_A_FILE"
  /** A migration that is a symbolic link: stepwise reads only regular files, so the registry and checksums follow what is in the folder. Fix: Replace the link with a copy of the file. */
  | "MIGRATION_SYMLINK"
  /** A migration file, or a local file a TypeScript migration imports, that cannot be read. Fix: Make it readable by the user running stepwise (for example `chmod 644`). */
  | "MIGRATION_UNREADABLE"
  /** A migration, or a file it imports, is not UTF-8; the problem points at the first bad byte. Fix: Save the file as UTF-8. */
  | "FILE_NOT_UTF8"
  /** The folder holds another tool's migrations (Diesel, Prisma, drizzle, Flyway, golang-migrate, Knex, TypeORM, …); `foreign.tool` names it ("golang-migrate or sqlx" when nothing tells
   * those two apart; "drizzle or wrangler" for drizzle-kit's folder under a Wrangler config, which either may have applied). No registry is written from it.
   * Fix: For a tool `stepwise import` reads (Diesel, sqlx, dbmate, golang-migrate, goose, Flyway, drizzle, Prisma, Knex, Kysely, node-pg-migrate, Umzug, wrangler), move the folder aside and run
   * `stepwise import <tool> <dir>` as the message prints, then `stepwise gen`; for another tool, port them to stepwise's file format as the message describes. Or point `--dir` at stepwise's own folder. */
  | "FOREIGN_MIGRATIONS"
  /** A file named as a migration in a subfolder (to three levels down), which `gen` would not read. Fix: Move it up into the migrations folder, or rename it if it is a helper. */
  | "MIGRATIONS_IN_SUBFOLDER"
  /** Two migrations with one version, usually after merging two branches that each added one.
   * Fix: Give one of them the next free version and run `stepwise gen`; after a merge, `stepwise rebase` renumbers the branch's own migrations. */
  | "DUPLICATE_VERSION"
  /** The first migration's version is not 1. Fix: Renumber it to `001`. */
  | "VERSIONS_DO_NOT_START_AT_ONE"
  /**
   * Versions are missing between two migrations (`missingVersions` says which; `deletedFiles`, those the registry still lists that were deleted). Fix: Renumber so that versions have no
   * gaps; a deleted migration a database applied is restored instead, and undone by a new one.
   */
  | "VERSION_GAP"
  // Group: TypeScript migrations
  /** A TypeScript migration, or a local file it imports, does not parse. Fix: Fix the syntax error at the position given. */
  | "TS_SYNTAX_ERROR"
  /** A TypeScript migration has no default export. Fix: Write `export default defineMigration({ up(db) { ... } })`. */
  | "TS_NO_DEFAULT_EXPORT"
  /** A second default export in a migration file. Fix: Keep exactly one. */
  | "TS_MULTIPLE_DEFAULT_EXPORTS"
  /** The default export is not a `defineMigration({ ... })` call, so codegen cannot read it without running it.
   * Fix: Export `defineMigration({ ... })`, imported from `stepwise-migrate` or your driver's entry (`stepwise-migrate/better-sqlite3`, `stepwise-migrate/pg`…). */
  | "TS_NOT_DEFINE_MIGRATION"
  /** `defineMigration` is imported from somewhere other than a stepwise entry (a local file, another package, `stepwise-migrate/cli`, or another export renamed), declared in the file itself, or
   * not imported at all, so codegen cannot know what the call does.
   * Fix: Import `defineMigration` from `stepwise-migrate` or from your driver's entry. */
  | "TS_DEFINE_MIGRATION_SOURCE"
  /** `defineMigration` is not given one object literal written in place. Fix: Write `defineMigration({ up(db) { ... } })`. */
  | "TS_NOT_OBJECT_LITERAL"
  /** A spread, accessor or computed property name in the migration's object hides its options from codegen. Fix: Write each property out by name. */
  | "TS_UNSUPPORTED_PROPERTY"
  /** A property `defineMigration` does not know (the message suggests the nearest). Fix: Use the properties `description`, `up`, `down`, `transaction`, `disableForeignKeys`. */
  | "TS_UNKNOWN_PROPERTY"
  /** A property given twice. Fix: Keep one. */
  | "TS_DUPLICATE_PROPERTY"
  /** The migration has no `up`. Fix: Add `up(db) { ... }`. */
  | "TS_MISSING_UP"
  /** `up` or `down` is not a function (or is a generator, which would run nothing when called), names one the file assigns again or declares twice, so the function that runs may not be the one gen read, or names one nothing defines when the file runs (a `declare function` or `declare const`, overload signatures without their implementation, a method without a body). Fix: Write `up(db) { ... }`, or refer to a plain function declared once in the same file, with `const` or `function`, and its body. */
  | "TS_NOT_A_FUNCTION"
  /** `description`, `transaction` or `disableForeignKeys` is not a literal, so codegen cannot read it without running the file.
   * Fix: Write a string literal for `description`, and `true` or `false` for the flags. */
  | "TS_NON_LITERAL_OPTION"
  /** A transactional TypeScript migration in a project whose config says `"target": "d1"`: D1 cannot apply one atomically.
   * Fix: Write the change as a `.sql` migration, or mark the TypeScript one `transaction: false` if it may be left half done. */
  | "TS_MIGRATION_ON_D1"
  /** A local import of a migration (a relative path, a tsconfig `paths` alias, a package.json `#import`) resolves to no file, so its checksum could not cover it.
   * Fix: Fix the path (or the `imports`/`exports` entry it goes through), or create the file. */
  | "TS_IMPORT_NOT_FOUND"
  /** The tsconfig.json tsx uses for the project (the nearest at or above it), or a file it extends, has a syntax error, such as a stray `}`: tsx reads past it and still applies its `paths` and
   * `baseUrl`, so codegen cannot tell which files a migration's non-relative imports load. Fix: Fix the file at the line the problem names. */
  | "TSCONFIG_INVALID"
  /** A migration loads a file with a specifier computed at run time (a dynamic `import()` or `require` of a variable), so codegen cannot tell which file it loads and its checksum could not cover it.
   * Fix: Import the file with a string literal. */
  | "TS_UNTRACEABLE_IMPORT"
  /** A raw NUL byte in a TypeScript migration's source. Fix: Write it as the escape `\0` (or `\u0000`) inside the string, or delete it. */
  | "TS_NUL_BYTE"
  /** A TypeScript migration, or a local file it imports, nests code thousands of levels deep (a chain of `? :` or `else if`, parentheses or calls inside one another), past the stack of TypeScript's
   * parser, which `tsc` shares. A long chain of `+` or of method calls is read whatever its length.
   * Fix: Flatten it: an array of strings joined, a lookup object or a `switch`; or move seed data into a `.sql` migration. */
  | "TS_TOO_DEEPLY_NESTED"
  // Group: The registry
  /** `gen --check`: the committed registry differs from what `gen` would write now, or does not exist (`staleness` says how: `added`, `changed`, `removed`, `registry`).
   * Fix: Run `stepwise gen` (the message names the project's own script, such as `npm run gen`) and commit the registry. */
  | "REGISTRY_STALE"
  /** The registry file was generated for the other SQL dialect than this run's; `gen` will not overwrite it.
   * Fix: Point `--out` (or the dialect's `registryFile`) at that dialect's own registry, such as `generated/registry.postgres.ts`, or delete the file if the project changed dialect. */
  | "REGISTRY_DIALECT_CHANGED"
  /** `stepwise gen` (`--check` too) could not read the registry file it compares and rewrites: its path is a folder, a pipe or a file it may not read. (The runtime commands, such as `status`
   * and `up`, report a registry they cannot import as `REGISTRY_LOAD_FAILED`.)
   * Fix: Remove it, or point `--out` (`registryFile`) at a file such as `generated/registry.ts`. */
  | "REGISTRY_UNREADABLE"
  /** The registry cannot be written where configured: a file stands where a folder of its path should be, or the path does not end in `.ts`, `.mts` or `.cts` (the registry is TypeScript), or names a declaration file (`.d.ts`), which is never compiled to JavaScript, or is named like a migration in the migrations folder (reached as written or through a symbolic link), where every later `gen` would read it as one, or is a symbolic link, which replacing the registry would replace, or sits in a folder reached through a symbolic link from where its imports of TypeScript migrations would load other files (Node resolves them from the folder the registry really is in), or a symbolic link on its path leads nowhere (to nothing, or back to itself; `link` names it).
   * Fix: Choose another `--out` path (or `registryFile`), a `.ts` file, or move that file away; point a link that leads nowhere at an existing folder. */
  | "REGISTRY_UNWRITABLE"
  /** prettier could not format the registry with the project's prettier config, or the config (a plugin) changed the registry's values, such as its inlined SQL, and not only their layout. The
   * previous registry is kept.
   * Fix: Fix the prettier config that applies to the registry (remove the plugin or option that rewrites code, or give the registry an override without it), then run `stepwise gen` again. */
  | "FORMATTER_FAILED"
  // Group: Branches and the replay
  /** `gen --check --base REF`: the base branch uses this migration's version for a different migration (`base` names its file). Merged, the two would be a `DUPLICATE_VERSION`. For a squash, also a
   * version below its own that the base now has as another migration (the base squashed too): squash again on top of the base.
   * Fix: Run `stepwise rebase` (`--base REF`) to renumber this branch's migrations after the base's newest. */
  | "VERSION_TAKEN_ON_BASE"
  /** `gen --check`'s replay: applying this migration on an empty database failed, at the statement given (for a TypeScript or JavaScript body, the line its stack names in the project: an imported
   * migration's original rather than its wrapper, as the runtime's `Thrown at` does). It would fail at deploy too. Fix: Fix the migration at the location given. */
  | "REPLAY_FAILED"
  /** `gen --check`'s replay: rolling back the newest migration failed. Fix: Fix the migration's down section at the location given. */
  | "REPLAY_DOWN_FAILED"
  /** `gen --check`'s replay: the registry cannot be imported, so the app could not start either (a migration that throws when it is imported, or a package it needs that is not installed, named at
   * its import).
   * Fix: Fix the error the message names, in the migration or a file it imports: install the package, or import `defineMigration` from the entry of the driver the app uses. */
  | "REPLAY_REGISTRY_UNLOADABLE"
  /** `gen --check`'s replay could not run here: no SQLite driver loads, no PostgreSQL server is configured or no scratch database could be made, or tsx is missing. A warning, unless `--require-replay` makes it a failure.
   * Fix: Install a SQLite driver (sql.js builds nothing), give a PostgreSQL registry a server (`DATABASE_URL`, a role with `CREATEDB`), or pass `--no-replay` where a replay is not wanted. */
  | "REPLAY_SKIPPED"
  /** The migration drops or replaces a table that other tables reference with foreign keys enforced: on a database with rows the drop is refused or deletes the children's rows, even if the empty replay passed.
   * Fix: Put `foreign_keys:off` on the `-- migrate:up` line (`disableForeignKeys: true`), and stepwise checks the keys before committing; where the driver cannot switch foreign keys off, change the table in place with `ALTER TABLE`. */
  | "FOREIGN_KEY_PARENT_REBUILT"
  // Group: Squashed history
  /** A migration written by `stepwise squash` whose record (the `-- stepwise:squash`, `-- stepwise:replaces` and `-- stepwise:schema` comments at its top) cannot be read, or names another version than the file's.
   * Fix: Restore the record as squash wrote it (`git checkout` the file), or run `stepwise squash` again from the original migrations. */
  | "SQUASH_RECORD_INVALID"
  /** A migration written by `stepwise squash` still holds a `-- stepwise:review` line: rows the squashed migrations inserted, or statements of theirs that moved data, which a fresh database gets from the SQL below it.
   * Fix: Read the note, keep, change or delete the SQL below it, then delete the `-- stepwise:review` line. */
  | "SQUASH_REVIEW_PENDING"
  /** `gen --check`'s replay: the squash migration no longer builds the schema the migrations it replaced built (the record's fingerprints), such as after an edit; the message names what differs.
   * Fix: Undo the edit (`git checkout` the file); to change the schema, add a new migration after it instead. */
  | "SQUASH_SCHEMA_CHANGED";

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
  /** `VERSION_GAP` only: the migrations in the gap that the registry still lists and the folder lost, deleted rather than misnumbered (restore them if a database applied them). */
  readonly deletedFiles?: readonly string[];
  /** `REGISTRY_STALE` only: the local imports whose content the migration's checksum also covers. */
  readonly relatedFiles?: readonly string[];
  /** `REGISTRY_STALE` only: what differs, for the runtime commands' refusal. */
  readonly staleness?: { readonly change: RegistryChangeKind; readonly file: string };
  /** A problem in a file a migration imports (directly or through others): the migration (project-relative), the files from it to this one, and how many other migrations reach it too. */
  readonly importedBy?: { readonly migration: string; readonly through: readonly string[]; readonly others: number };
  /** `FOREIGN_MIGRATIONS` only: the tool whose migrations the folder holds (`Diesel`, `Flyway`, `sqlx`, …). */
  readonly foreign?: { readonly tool: string };
  /** `VERSION_TAKEN_ON_BASE` only: the base branch's file with the same version, and the ref it was read from. */
  readonly base?: { readonly ref: string; readonly file: string; readonly version: number };
  /** `BAD_FILE_NAME` only: the migration that already holds the version the refused name reads, so the message offers the next free version rather than a rename that would take that one's (or overwrite it). */
  readonly takenBy?: string;
  /** `REGISTRY_UNWRITABLE`, `MIGRATIONS_DIR_MISSING` and `MIGRATIONS_DIR_UNREADABLE` only: the symbolic link on the path that leads nowhere (project-relative), what it names, and whether that is missing or a loop. */
  readonly link?: { readonly file: string; readonly target: string; readonly kind: "dangling" | "loop" };
}

/** A problem at the start of `file`. */
export function problemAt(code: ProblemCode, file: string, message: string): Problem {
  return { code, file, line: 1, column: 1, message };
}

/** The non-blank lines of `text`, trimmed, at most `most` of them, as one line. */
export function joinLines(text: string, most = Infinity): string {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .slice(0, most)
    .join(" ");
}

/** Adds `found` to `problems` and returns `null`, so a refusal is one `return`. */
export function addProblems(problems: Problem[], ...found: readonly Problem[]): null {
  problems.push(...found);
  return null;
}

export { tryOr };

/** A file's bytes and text, or `null` after adding to `problems` that it cannot be read (`unreadable`) or is not UTF-8 (`FILE_NOT_UTF8`, at the first bad byte). */
export function readSourceText(absolutePath: string, file: string, problems: Problem[], unreadable: (error: unknown) => Problem): { bytes: Buffer; text: string } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolutePath);
  } catch (error) {
    return addProblems(problems, unreadable(error));
  }
  const decoded = decodeSourceBytes(bytes);
  return decoded.ok ? { bytes, text: decoded.text } : addProblems(problems, { code: "FILE_NOT_UTF8", file, line: decoded.line, column: decoded.column, message: decoded.message });
}

/** A failed system call's code (`ENOENT`), or the error's message when it has none. */
export function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

/** `absolute` relative to `from`, with forward slashes on every platform, so output does not depend on the OS. */
export function projectPath(from: string, absolute: string): string {
  return path.relative(from, absolute).split(path.sep).join("/");
}

/** `file:line:col: message [CODE]`, the format compilers use, so terminals and CI link to the spot. */
export function formatProblem(problem: Problem): string {
  return `${escapeControlCharacters(problem.file)}:${problem.line}:${problem.column}: ${escapeControlCharacters(problem.message)} [${problem.code}]`;
}

/**
 * Each control character (C0, DEL, C1, U+2028/2029) as its JSON-style escape: a file name may hold a
 * line break or a terminal escape, which printed raw would split the line or reach the terminal.
 */
export function escapeControlCharacters(text: string): string {
  const named: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => named[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The first `file:line:col` in the stacks of `error` and its causes whose file `accept`s. */
export function findStackLocation(error: unknown, accept: (file: string) => boolean): { file: string; line: number; column: number } | null {
  // A hostile thrown value (a getter that throws) has no location to give, and must not fail gen's report.
  for (let current = error, depth = 0; isInstanceSafely(current, Error) && depth < 8; current = tryOr(() => current.cause, undefined), depth++) {
    for (const match of tryOr(() => String(current.stack ?? ""), "").matchAll(/((?:file:\/\/)?\/[^\s()]+?):(\d+):(\d+)/g)) {
      const file = match[1]!.startsWith("file://") ? new URL(match[1]!).pathname : match[1]!;
      if (accept(file)) return { file, line: Number(match[2]), column: Number(match[3]) };
    }
  }
  return null;
}

/** What a successful `gen` did, as the bin prints it: `Wrote generated/registry.ts (3 migrations, latest version 3).` */
export function describeGenerated(result: { status: string; registryFile: string; migrationCount: number; latestVersion: number }, projectRoot: string): string {
  const label = path.relative(projectRoot, result.registryFile);
  const count = `${result.migrationCount} migration${result.migrationCount === 1 ? "" : "s"}, latest version ${result.latestVersion}`;
  return result.status === "unchanged" ? `${label} is up to date (${count}).` : `Wrote ${label} (${count}).`;
}

/** Prints each problem on stderr, then how many there are and that nothing was written. */
export function printProblems(problems: readonly Problem[], context: CliContext): void {
  for (const problem of problems) context.io.stderr(`${formatProblem(problem)}\n`);
  context.io.stderr(`${context.palette.red(`${problems.length} problem${problems.length === 1 ? "" : "s"}`)}; nothing was written.\n`);
}

/** Orders problems by file, then position, then code, so output is stable from run to run. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort((a, b) => compareText(a.file, b.file) || a.line - b.line || a.column - b.column || compareText(a.code, b.code));
}

/** Code-unit order, the same on every machine (unlike `localeCompare`). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
