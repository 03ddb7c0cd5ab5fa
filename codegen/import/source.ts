/** What every reader of another tool's migrations returns, and the file helpers they share. */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, statSync, type Dirent } from "node:fs";
import path from "node:path";
import { decodeSourceBytes } from "../../src/shared/source-text.js";
import { tokenizeSql } from "../../src/shared/postgres-tokens.js";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { reportStatementProblems } from "../../src/shared/sql-statement-checks.js";
import { compareText, errorCode, escapeControlCharacters, tryOr, type Problem } from "../problems.js";

/** A stretch of a source file: its text exactly as read (a leading BOM dropped), and where it starts (`file` relative to the source folder, `line` 1-based). */
export interface SourceSection {
  readonly file: string;
  readonly line: number;
  readonly sql: string;
  /** Where the text resumes after a line the reader dropped: from line `at` of `sql` (0-based), the file's `line`. */
  readonly breaks?: readonly { readonly at: number; readonly line: number }[];
}

/** One migration as its tool defines it, in the tool's order. */
export interface ForeignMigration {
  /** The folder or file name that names it in the source folder. */
  readonly id: string;
  /** The words of its name, made into a stepwise name by the writer. */
  readonly name: string;
  /** Comments above the tool's up marker, kept above stepwise's. */
  readonly preamble?: SourceSection;
  readonly up: SourceSection;
  /** `null`: the tool has no down for it. */
  readonly down: SourceSection | null;
  /** Whether the tool ran it inside a transaction. */
  readonly transaction: boolean;
  /** Every file read for it, relative to the source folder. */
  readonly sources: readonly string[];
  /** What the tool's history table records for it, by that table's column names: what adopting a database matches on; `null` for a fact the import looked for and did not find. */
  readonly history: Readonly<Record<string, string | number | null>>;
  /** Other values of a `history` column the tool accepts for the same file too (Prisma: the checksum of the script with its line endings changed). */
  readonly accepted?: Readonly<Record<string, readonly string[]>>;
  /** A JavaScript or TypeScript migration: imported as a wrapper that runs this file unchanged, its tool's API served; `up`/`down` then only say where it is and whether it has a down. */
  readonly module?: ModuleMigration;
}

/** A JavaScript or TypeScript migration of the tool, run unchanged by a stepwise wrapper. */
export interface ModuleMigration {
  /** The file, relative to the source folder. */
  readonly file: string;
  /** Earlier files of the folder the wrapper imports too (node-pg-migrate's shorthands accumulate in file order). */
  readonly alsoImports?: readonly string[];
  /** Plain data the serving function takes, written into the wrapper as a literal. */
  readonly options?: Readonly<Record<string, unknown>>;
}

/** How a tool's JavaScript migrations are served: the helper file `import` writes once, and the function each wrapper calls. */
export interface ModuleServing {
  /** The helper's file name, written into the migrations folder's `lib/`. */
  readonly helper: string;
  /** The function of the helper each wrapper calls. */
  readonly run: string;
  /** The helper's text for a project of this dialect. */
  text(dialect: SqlDialect): string;
}

/** A reason a source file cannot be imported, at its line. */
export interface SourceProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
  /** What kind of problem it is, for a caller that acts on it: `gen`'s statement codes (`SQL_NEEDS_NO_TRANSACTION`, …) and import's own (`DOWN_NEEDS_NO_TRANSACTION`); absent for the rest. */
  readonly code?: string;
  /** Another line of the same file the problem is about (goose's `ENVSUB ON`: the line it would change). */
  readonly relatedLine?: number;
  /** A file the migrations import: the first migration that reaches it, the files on the way, and how many other migrations reach it. */
  readonly importedBy?: Problem["importedBy"];
}

/** One tool's reader: its migrations in the order the tool applies them, or problems. */
export interface ForeignTool {
  /** How the tool orders migrations, for the docs and the dry run. */
  readonly order: string;
  /** On SQLite the tool runs migrations with foreign keys off (the connection's default it leaves alone), so stepwise imports its transactional ones with `foreign_keys:off`; absent: it leaves them on. */
  readonly foreignKeysOff?: boolean;
  /** The tool runs each file inside a transaction where SQLite ignores `PRAGMA foreign_keys` (D1's batch): its pragmas become comments, and the migration gets no `foreign_keys:off`. */
  readonly foreignKeysPragmasIgnored?: boolean;
  /** The tool's own history table by its default name: a migration's statement that names it is refused (see `own-history-table.ts`). */
  readonly historyTable?: string;
  /** How one of the tool's migrations says it runs outside a transaction, named in the fix for SQL that cannot run inside one (the tool ran it in a transaction too, where it fails). */
  readonly noTransactionMark?: string;
  /** For a tool with no mark that runs its migrations in one transaction of its own: the fix for a migration that controls that transaction in a shape the import does not take. */
  readonly transactionControlFix?: string;
  /** How the down alone says it runs outside a transaction, for a tool that marks each direction on its own (`noTransactionMark` is then the up's); absent when one mark covers both. */
  readonly downNoTransactionMark?: string;
  read(source: SourceFolder, dialect: SqlDialect, options?: { readonly glob?: string }): readonly ForeignMigration[];
  /** The history table the tool's own config names for this folder (wrangler's `migrations_table`), which the map records for adopt; `undefined`: the default. */
  oldTable?(source: SourceFolder): string | undefined;
  /** Set for a tool whose migrations are JavaScript or TypeScript. */
  readonly serve?: ModuleServing;
}

/** An entry of the source folder; a symbolic link counts as what it points to (a broken one as a file, so reading it reports it), since most tools read through links. */
export interface SourceEntry {
  readonly name: string;
  /** Set for a symbolic link, which a tool that lists only regular files and folders (wrangler) never reads. */
  readonly link?: true;
  isFile(): boolean;
  isDirectory(): boolean;
}

/** The source folder, read once, with problems collected as they are found. */
export interface SourceFolder {
  readonly dir: string;
  readonly problems: SourceProblem[];
  /** The entries of `relative` (`""`: the folder itself), hidden ones left out, sorted by name as JavaScript compares strings (UTF-16 code units), which is how dbmate, Prisma, Knex and Umzug order them. */
  list(relative?: string): SourceEntry[];
  /** A file's text (a leading BOM dropped), or `null` after reporting why it cannot be read; `undefined` when it does not exist. */
  read(relative: string): string | null | undefined;
  /** A digest of a file's bytes as they are on disk (a BOM included, as the tools hash them), hex; `rewrite` changes the bytes (as text) first. */
  hash(relative: string, algorithm?: "sha256" | "sha384", rewrite?: (text: string) => string): string;
  report(file: string, line: number, message: string, fields?: Pick<SourceProblem, "code" | "relatedLine">): void;
}

/** Opens `dir` as a {@link SourceFolder}. */
export function openSourceFolder(dir: string): SourceFolder {
  const problems: SourceProblem[] = [];
  const bytes = new Map<string, Buffer>();
  const report = (file: string, line: number, message: string, fields?: Pick<SourceProblem, "code" | "relatedLine">) => void problems.push({ file, line, message, ...fields });
  // The readers' name patterns (`^\d+.*\.sql$`) stop at a line break, so such an entry was left out as no migration; the tool may still run it (Go's `.` matches a CR, a plain listing takes any name).
  const lineBreakNames = new Set<string>();
  const reportLineBreakName = (file: string): boolean => {
    if (!/[\n\r\u2028\u2029]/.test(file)) return false;
    if (!lineBreakNames.has(file)) {
      lineBreakNames.add(file);
      report(
        file,
        1,
        `the name ${escapeControlCharacters(JSON.stringify(path.basename(file)))} holds a line break, which the tool may read past but no stepwise file name can hold; rename it without the line break (keeping its version), or move it out of the folder if it is no migration`,
      );
    }
    return true;
  };
  return {
    dir,
    problems,
    report,
    list: (relative = "") =>
      tryOr(() => readdirSync(path.join(dir, relative), { withFileTypes: true }), [] as Dirent[])
        .filter((entry) => !entry.name.startsWith("."))
        .filter((entry) => !reportLineBreakName(relative === "" ? entry.name : `${relative}/${entry.name}`))
        .map((entry): SourceEntry => (entry.isSymbolicLink() ? followLink(path.join(dir, relative, entry.name), entry.name) : entry))
        .sort((a, b) => compareText(a.name, b.name)),
    read(relative) {
      let raw: Buffer;
      try {
        raw = readFileSync(path.join(dir, relative));
      } catch (error) {
        const broken = errorCode(error) === "ENOENT" && tryOr(() => lstatSync(path.join(dir, relative)).isSymbolicLink(), false);
        if (errorCode(error) === "ENOENT" && !broken) return undefined;
        report(relative, 1, broken ? "a symbolic link to nothing; point it at the migration or remove it" : `cannot be read (${errorCode(error)}); make it readable by the user running stepwise`);
        return null;
      }
      bytes.set(relative, raw);
      const decoded = decodeSourceBytes(raw);
      if (!decoded.ok) {
        report(relative, decoded.line, decoded.message);
        return null;
      }
      return decoded.text.replace(/^\uFEFF/, "");
    },
    hash(relative, algorithm = "sha256", rewrite) {
      const raw = bytes.get(relative) ?? readFileSync(path.join(dir, relative));
      return createHash(algorithm)
        .update(rewrite ? Buffer.from(rewrite(raw.toString("utf8")), "utf8") : raw)
        .digest("hex");
    },
  };
}

function followLink(file: string, name: string): SourceEntry {
  const target = tryOr(() => statSync(file), null);
  return { name, link: true, isFile: () => target?.isFile() ?? true, isDirectory: () => target?.isDirectory() ?? false };
}

/** The digests of `file` rewritten each way, those that differ from its plain one (each once). */
export function rewrittenChecksums(source: SourceFolder, file: string, algorithm: "sha256" | "sha384", ...rewrites: ((text: string) => string)[]): string[] {
  const plain = source.hash(file, algorithm);
  return [...new Set(rewrites.map((rewrite) => source.hash(file, algorithm, rewrite)))].filter((checksum) => checksum !== plain);
}

/** The SHA-256 of `file` with CRLF made LF, and with every LF made CRLF: a file checked out with other line endings than where it was applied (git's `core.autocrlf`) still matches. */
export const lineEndingChecksums = (source: SourceFolder, file: string): string[] =>
  rewrittenChecksums(
    source,
    file,
    "sha256",
    (text) => text.replaceAll("\r\n", "\n"),
    (text) => text.replaceAll("\n", "\r\n"),
  );

/** Orders decimal digit strings by value (leading zeros and any length). */
export function compareNumeric(a: string, b: string): number {
  const [x, y] = [BigInt(a), BigInt(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The 1-based line of `index` in `text`. */
export function lineAt(text: string, index: number): number {
  let line = 1;
  for (let at = text.indexOf("\n"); at !== -1 && at < index; at = text.indexOf("\n", at + 1)) line++;
  return line;
}

/** `text` from `start` as a section of `file`. */
export function sectionOf(file: string, text: string, start: number, end = text.length): SourceSection {
  return { file, line: lineAt(text, start), sql: text.slice(start, end) };
}

/** The index just past the line that holds `index` (its line break included). */
export function endOfLine(text: string, index: number): number {
  const at = text.indexOf("\n", index);
  return at === -1 ? text.length : at + 1;
}

/** The 1-based line of the first line of SQL (not blank, not a `--` comment) before `end`, which a tool refuses above its up marker; `null` for none. */
export function lineOfSqlBefore(text: string, end: number): number | null {
  const index = text
    .slice(0, end)
    .split("\n")
    .findIndex((line) => line.trim() !== "" && !line.trim().startsWith("--"));
  return index === -1 ? null : index + 1;
}

/** Reports two migrations of one version, which the tool itself refuses. */
export function reportDuplicates<T extends { key: string; file: string }>(source: SourceFolder, items: readonly T[], what: string): void {
  const seen = new Map<string, string>();
  for (const item of items) {
    const first = seen.get(item.key);
    if (first === undefined) seen.set(item.key, item.file);
    else source.report(item.file, 1, `${what} ${item.key} is also ${first}'s; the tool refuses two migrations with one version, so rename one`);
  }
}

/** Reports a problem and gives no migration, so a refusal is one `return`. */
export function refuse(source: SourceFolder, file: string, line: number, message: string, fields?: Pick<SourceProblem, "code" | "relatedLine">): [] {
  source.report(file, line, message, fields);
  return [];
}

/**
 * Whether PostgreSQL could have run the script in one transaction: nothing in it is refused inside one (CONCURRENTLY, VACUUM, …), and it does not manage transactions itself. Prisma and Flyway
 * run a script that fails this outside a transaction.
 */
export function runsInOneTransaction(sql: string, dialect: SqlDialect): boolean {
  const needs = findTransactionNeeds(sql, dialect);
  return !needs.controls && !needs.outside;
}

/**
 * What in `sql` keeps it from running inside a transaction: statements that control a transaction (`controls`), and ones the database refuses inside one (`outside`); `line`: the first of
 * either (1-based in `sql`), or `null`.
 */
export function findTransactionNeeds(sql: string, dialect: SqlDialect): { controls: boolean; outside: boolean; line: number | null } {
  const needs = { controls: false, outside: false, line: null as number | null };
  reportStatementProblems(tokenizeSql(sql, dialect), { transaction: true, disableForeignKeys: true }, dialect, (code, line) => {
    if (code === "SQL_TRANSACTION_CONTROL") needs.controls = true;
    else if (code === "SQL_NEEDS_NO_TRANSACTION") needs.outside = true;
    else return;
    needs.line ??= line;
  });
  return needs;
}

/** What a tool's own name for its database means to stepwise: a dialect it runs, or `null` for one it does not (MySQL, SQL Server, …). */
const TOOL_DIALECTS: Readonly<Record<string, SqlDialect>> = { sqlite: "sqlite", turso: "sqlite", postgresql: "postgres", postgres: "postgres", pg: "postgres" };

/**
 * Refuses a folder whose tool records that its SQL was written for another database than the project's (Prisma's `migration_lock.toml` provider, drizzle-kit's journal dialect): that SQL
 * would fail at `gen --check` or `up`, far from its cause. `named` is the tool's word, found in `text` (the file `file`); `true` when the folder fits the project.
 */
export function checkToolDialect(source: SourceFolder, file: string, text: string, named: string, dialect: SqlDialect): boolean {
  const wanted = TOOL_DIALECTS[named.toLowerCase()];
  if (wanted === dialect) return true;
  const at = lineAt(text, Math.max(0, text.indexOf(`"${named}"`)));
  source.report(
    file,
    at,
    wanted === undefined
      ? `these migrations were written for ${named}, and stepwise runs SQLite and PostgreSQL only; they cannot be imported`
      : `these migrations were written for ${wanted === "postgres" ? "PostgreSQL" : "SQLite"} (${named}), and this project's dialect is ${dialect}; import them into a ${wanted} project (--dialect ${wanted}, or "dialect": "${wanted}" in the config)`,
  );
  return false;
}
