/**
 * `stepwise import <tool> <dir>`: reads another tool's SQL migrations in that tool's order and plans stepwise files for them, numbered 1..N, each checked as `gen` would check it before anything is
 * written; then writes every file and the map, or nothing.
 */
import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { usageError } from "../../src/core/error-factories.js";
import { StepwiseError } from "../../src/core/errors.js";
import { DEFAULT_TABLE_NAME } from "../../src/core/history.js";
import { DESCRIPTION_PREFIX, DOWN_MARKER, EMPTY_MARKER, UP_MARKER } from "../../src/shared/sql-markers.js";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { parseSqlMigrationSource, type SqlSourceProblem } from "../../src/shared/sql-source.js";
import { tokenizeSql } from "../../src/shared/postgres-tokens.js";
import { canonicalizeSql } from "../../src/shared/checksum.js";
import { describeImportedBy, importedFileProblems } from "../local-imports.js";
import { formatMigrationFileName, isMigrationLike, toSnakeCaseName } from "../migration-file.js";
import { escapeControlCharacters, projectPath, tryOr } from "../problems.js";
import { writeFileAtomic } from "../../src/safety/write-file.js";
import { IMPORT_MAP_FILE } from "./import-help.js";
import { dbmate } from "./read-dbmate.js";
import { diesel } from "./read-diesel.js";
import { drizzle } from "./read-drizzle.js";
import { flyway } from "./read-flyway.js";
import { golangMigrate } from "./read-golang-migrate.js";
import { goose } from "./read-goose.js";
import { knex } from "./read-knex.js";
import { kysely } from "./read-kysely.js";
import { nodePgMigrate } from "./read-node-pg-migrate.js";
import { umzug } from "./read-umzug.js";
import { helperPath, renderWrapper, wrapperEntry } from "./render-wrapper.js";
import { prisma } from "./read-prisma.js";
import { sqlx } from "./read-sqlx.js";
import { wrangler } from "./read-wrangler.js";
import { findMarkerLookalikes } from "./marker-lookalikes.js";
import { findHistoryTableReferences, findStepwiseTableReferences } from "./own-history-table.js";
import { countStatements, fileLineOf } from "./own-transaction.js";
import { findTransactionNeeds, openSourceFolder, type ForeignMigration, type ForeignTool, type SourceProblem, type SourceSection } from "./source.js";

/** The tools `import` reads, by the name the command takes. */
export const IMPORT_TOOLS: Readonly<Record<string, ForeignTool>> = {
  diesel,
  sqlx,
  dbmate,
  "golang-migrate": golangMigrate,
  goose,
  flyway,
  drizzle,
  prisma,
  knex,
  kysely,
  "node-pg-migrate": nodePgMigrate,
  umzug,
  wrangler,
};
/** How an empty or missing down is imported: no down section (`down` refuses the migration), or a down that does nothing. */
export type EmptyDownChoice = "irreversible" | "no-op";

/** What `import` is asked to do; paths absolute. */
export interface ImportOptions {
  readonly tool: string;
  readonly sourceDir: string;
  readonly migrationsDir: string;
  readonly projectRoot: string;
  readonly dialect: SqlDialect;
  readonly emptyDown: EmptyDownChoice | undefined;
  /** The project's driver (`null`: none named), whose entry a JavaScript tool's wrappers import `defineMigration` from. */
  readonly driver?: string | null;
  /** Umzug's glob, as the project gave it: only the files its name part matches are migrations. */
  readonly glob?: string;
  /** stepwise's own history table (the config's `tableName`; default `schema_migrations`), which no imported statement may name. */
  readonly tableName?: string;
  /** The PostgreSQL schema stepwise's table is in (the config's `schema`; `null`: the default one). */
  readonly schema?: string | null;
}

/** One migration to write; plain data, so `--json` is `JSON.stringify`. */
export interface PlannedMigration {
  readonly version: number;
  readonly file: string;
  readonly originalId: string;
  readonly sources: readonly { readonly file: string; readonly sha256: string }[];
  readonly transaction: boolean;
  readonly foreignKeysOff: boolean;
  /** How many `PRAGMA foreign_keys` statements became comments, `foreign_keys:off` doing their work. */
  readonly foreignKeysPragmas: number;
  /** `sql`: the tool's down; `module`: the JavaScript migration's own down (node-pg-migrate's reverse of up included); `no-op`/`none`: it had none (or an empty one) and `--empty-down` decided; `empty-up`: the tool's up ran nothing, marked `-- migrate:empty`. */
  readonly down: "sql" | "module" | "no-op" | "none";
  readonly emptyUp: boolean;
  readonly history: Readonly<Record<string, string | number | null>>;
  /** Other values of a `history` column the tool accepts too; absent when it has none. */
  readonly accepted?: Readonly<Record<string, readonly string[]>>;
  readonly text: string;
}

/** The whole import, checked, ready to write. */
export interface ImportPlan {
  readonly tool: string;
  readonly order: string;
  readonly source: string;
  readonly migrationsDir: string;
  readonly mapFile: string;
  readonly migrations: readonly PlannedMigration[];
  readonly mapText: string;
  /** The helper a JavaScript tool's wrappers call, written once into the migrations folder (`file` relative to it). */
  readonly helpers: readonly { readonly file: string; readonly text: string }[];
}

/** `IMPORT_SOURCE_INVALID` for the problems, at their paths under `source`; its message lists one cause met in many files (every CommonJS file of a folder under `"type": "module"`) once, with its files. */
function sourceInvalid(tool: string, source: string, problems: readonly SourceProblem[]): StepwiseError<"IMPORT_SOURCE_INVALID"> {
  // A file a migration imports from outside the folder is named from the project's root (`db/knex/../../lib/a.js` as `lib/a.js`).
  const at = (file: string) => (file === "" ? source : file.startsWith("../") ? path.posix.normalize(`${source}/${file}`) : `${source}/${file}`);
  // A file name may hold a line break or a terminal escape; the problems' `file` fields keep it exactly.
  const place = (file: string) => escapeControlCharacters(at(file));
  const byMessage = new Map<string, SourceProblem[]>();
  for (const problem of problems) byMessage.set(problem.message, [...(byMessage.get(problem.message) ?? []), problem]);
  const list = [...byMessage]
    .map(([message, places]) =>
      places.length === 1 ? `  ${place(places[0]!.file)}:${places[0]!.line}: ${message}` : `  ${message}; in:\n${places.map((problem) => `    ${place(problem.file)}:${problem.line}`).join("\n")}`,
    )
    .join("\n");
  return new StepwiseError("IMPORT_SOURCE_INVALID", `${problems.length} problem${problems.length === 1 ? "" : "s"} in the ${tool} migrations of ${source}, so nothing was written:\n${list}`, {
    tool,
    dir: source,
    problems: problems.map((problem) => ({ ...problem, file: at(problem.file) })),
  });
}

/** Reads, orders and renders every migration, and checks each rendered file as `gen` would; throws before anything is written. */
export function planImport(options: ImportOptions): ImportPlan {
  const { tool, sourceDir, migrationsDir, projectRoot, dialect, emptyDown } = options;
  const reader = IMPORT_TOOLS[tool]!;
  const serving = reader.serve;
  const entry = serving === undefined ? null : wrapperEntry(dialect, options.driver ?? null);
  if (entry !== null && "served" in entry) {
    throw usageError(
      `stepwise serves ${tool}'s API over the ${entry.served.join(" or ")} driver on ${dialect}, not ${options.driver}; import with --driver ${entry.served[0]} (the wrappers import defineMigration from its entry).`,
    );
  }
  const source = projectPath(projectRoot, sourceDir) || ".";
  const folder = openSourceFolder(sourceDir);
  const isFolder = tryOr(() => statSync(sourceDir).isDirectory(), null);
  const found = isFolder === true ? reader.read(folder, dialect, options.glob === undefined ? {} : { glob: options.glob }) : [];
  const invalid = (problems: readonly SourceProblem[]) => sourceInvalid(tool, source, problems);
  if (folder.problems.length > 0) throw invalid(folder.problems);
  if (found.length === 0) {
    const why = isFolder === null ? "does not exist" : isFolder ? `holds no ${tool} migrations` : "is a file, not a folder";
    throw invalid([{ file: "", line: 1, message: `${source} ${why}; name the folder that holds the ${tool} migrations` }]);
  }
  const isEmpty = (section: SourceSection) => isOnlyComments(section.sql, dialect);
  if (emptyDown === undefined) refuseEmptyDowns(tool, source, found, isEmpty);
  const width = Math.max(3, String(found.length).length);
  const problems: SourceProblem[] = [];
  const migrations = found.map((migration, index): PlannedMigration => {
    const version = index + 1;
    const file = formatMigrationFileName(version, toSnakeCaseName(migration.name) || "migration", migration.module ? "ts" : "sql", width);
    const sources = migration.sources.map((relative) => ({ file: relative, sha256: folder.hash(relative) }));
    if (migration.module === undefined) {
      const planned = renderMigration(migration, { tool, reader, version, file, dialect, emptyDown: emptyDown ?? "irreversible", isEmpty, stepwiseTable: [options.tableName, options.schema] });
      problems.push(...planned.problems);
      return { ...planned.migration, sources };
    }
    // An ES module specifier is a URL: these characters would name another file (or none), and a bundler reads them otherwise again.
    const unsafe = /[\\%#?\u0000-\u001f]/.exec(path.relative(migrationsDir, path.join(sourceDir, migration.module.file)).split(path.sep).join("/"));
    if (unsafe !== null)
      problems.push({
        file: migration.module.file,
        line: 1,
        message: `its path holds ${JSON.stringify(unsafe[0])}, which an import specifier cannot name as written (a URL reads \\ as /, and %, #, ? and control characters otherwise); rename the file or folder before importing`,
      });
    // gen follows each wrapper into its original: what it would refuse there is refused here, at its place under the source folder, before anything is written.
    for (const problem of importedFileProblems(path.join(sourceDir, migration.module.file), projectRoot)) {
      const file = path.relative(sourceDir, path.resolve(projectRoot, problem.file)).split(path.sep).join("/");
      // A file several migrations import is one problem, naming the first of them and counting the others.
      const same = problem.importedBy && problems.findIndex((other) => other.importedBy && other.file === file && other.line === problem.line && other.code === problem.code);
      if (same !== undefined && same !== -1) {
        const { importedBy, message } = problems[same]!;
        const others = importedBy!.others + 1;
        const base = message.slice(0, message.lastIndexOf(` (${describeImportedBy(importedBy!.migration, importedBy!.through, importedBy!.others)})`));
        problems[same] = { ...problems[same]!, importedBy: { ...importedBy!, others }, message: `${base} (${describeImportedBy(importedBy!.migration, importedBy!.through, others)})` };
        continue;
      }
      problems.push({ file, line: problem.line, message: problem.message, code: problem.code, ...(problem.importedBy && { importedBy: problem.importedBy }) });
    }
    const down = migration.down !== null ? "module" : emptyDown === "no-op" ? "no-op" : "none";
    return {
      version,
      file,
      originalId: migration.id,
      transaction: migration.transaction,
      foreignKeysOff: false,
      foreignKeysPragmas: 0,
      down,
      emptyUp: false,
      history: migration.history,
      text: renderWrapper(migration, { tool, serve: serving!, entry: (entry as { entry: string }).entry, migrationsDir, sourceDir, down, sourceLabel: source }),
      sources,
    };
  });
  // A helper many migrations import is one problem, however many import it.
  const distinct = [...new Map(problems.map((problem) => [`${problem.file}\0${problem.line}\0${problem.message}`, problem])).values()];
  if (distinct.length > 0) throw invalid(distinct);
  const mapFile = path.join(migrationsDir, IMPORT_MAP_FILE);
  const oldTable = reader.oldTable?.(folder);
  const map = {
    format: "stepwise-import-map/1",
    tool,
    source,
    ...(oldTable !== undefined && oldTable !== reader.historyTable && { oldTable }),
    migrations: migrations.map(({ version, file, originalId, sources, history, accepted }) => ({ version, file, originalId, sources, history, ...(accepted && { accepted }) })),
  };
  return {
    tool,
    order: reader.order,
    source,
    migrationsDir: projectPath(projectRoot, migrationsDir),
    mapFile: projectPath(projectRoot, mapFile),
    migrations,
    mapText: `${JSON.stringify(map, null, 2)}\n`,
    helpers: serving === undefined ? [] : [{ file: helperPath(serving), text: serving.text(dialect) }],
  };
}

/** `IMPORT_EMPTY_DOWN` when a migration has no down, or one of only comments, and the import was not told how to import such downs. */
function refuseEmptyDowns(tool: string, source: string, found: readonly ForeignMigration[], isEmpty: (section: SourceSection) => boolean): void {
  const lacking = found.filter((migration) => migration.down === null || (migration.module === undefined && isEmpty(migration.down)));
  if (lacking.length > 0) {
    // A missing down has no file of its own: the up file stands for it, a path that exists.
    const files = lacking.map((migration) => `${source}/${migration.down?.file ?? migration.up.file}`);
    const shown = files.slice(0, 10).join(", ") + (files.length > 10 ? `, and ${files.length - 10} more` : "");
    throw new StepwiseError(
      "IMPORT_EMPTY_DOWN",
      `${lacking.length} of the ${found.length} ${tool} migrations have an empty or no down (${shown}). Say how to import them: --empty-down irreversible (no down: "stepwise down" refuses to pass them) or --empty-down no-op (a down that does nothing). Nothing was written.`,
      { tool, files },
    );
  }
}

/** A section that holds no SQL: only comments, whitespace and `;`. */
function isOnlyComments(sql: string, dialect: SqlDialect): boolean {
  const parsed = parseSqlMigrationSource(`${UP_MARKER}\n${sql}`, { dialect });
  return !parsed.ok && parsed.problems.some((problem) => problem.code === "SQL_EMPTY_UP");
}

/** How `renderMigration` is called: the tool, the file's place, and how empty sections are told and imported. */
interface RenderContext {
  readonly tool: string;
  readonly reader: ForeignTool;
  readonly version: number;
  readonly file: string;
  readonly dialect: SqlDialect;
  readonly emptyDown: EmptyDownChoice;
  readonly isEmpty: (section: SourceSection) => boolean;
  /** stepwise's own history table and its schema, as the options give them (absent: the defaults). */
  readonly stepwiseTable: readonly [name: string | undefined, schema: string | null | undefined];
}

/** A stretch of the rendered file, with the source section it came from (`null`: a line stepwise wrote), so a problem in the output is reported at its source line. */
interface RenderedChunk {
  readonly text: string;
  readonly from: SourceSection | null;
}

/** One stepwise file: the description naming the original, the up marker with the flags the tool's run needs, the sections as written; and `gen`'s problems with it, at the source's lines. */
function renderMigration(source: ForeignMigration, context: RenderContext, keepPragmas = false): { migration: Omit<PlannedMigration, "sources">; problems: SourceProblem[] } {
  const { tool, dialect } = context;
  const { migration, pragmas } = keepPragmas ? { migration: source, pragmas: 0 } : commentOutForeignKeysPragmas(source, dialect);
  const foreignKeysOff = ((context.reader.foreignKeysOff && dialect === "sqlite") || (pragmas > 0 && !context.reader.foreignKeysPragmasIgnored)) && migration.transaction;
  const { chunks, emptyUp, down } = renderChunks(migration, context, foreignKeysOff);
  const text = chunks.map((chunk) => chunk.text).join("");
  const parsed = parseSqlMigrationSource(text, { dialect });
  // The tool ran it outside a transaction, and something in it cannot run inside one (a VACUUM, or its own BEGIN … COMMIT between the pragmas, SQLite's rebuild recipe as written): its pragmas stay
  // statements, run outside a transaction as the tool ran them.
  const outside = !parsed.ok && parsed.problems.some((problem) => problem.code === "SQL_NEEDS_NO_TRANSACTION" || problem.code === "SQL_TRANSACTION_CONTROL");
  if (pragmas > 0 && !source.transaction && outside) return renderMigration(source, context, true);
  // A `-- migrate:down` line in the tool's SQL, a comment to the tool, would cut the migration short where no down marker of ours makes it a duplicate.
  const splitAt =
    parsed.ok && down === "none" && parsed.migration.downSqlLine !== null
      ? text.split("\n").findLastIndex((line, index) => index < parsed.migration.downSqlLine! && line.startsWith(DOWN_MARKER)) + 1
      : 0;
  const found: readonly RenderedProblem[] = parsed.ok
    ? splitAt > 0
      ? [{ line: splitAt, column: 1, code: null, message: `a line stepwise reads as its "${DOWN_MARKER}" marker, where ${tool} ran what follows as part of the up; reword that comment or remove it` }]
      : []
    : parsed.problems;
  const carried = parsed.ok && splitAt === 0 ? sectionCarriedOn(migration, parsed.migration, down, tool, dialect) : null;
  // The tool's comments that stepwise would read as markers are refused at their own lines, not as the rendered file's duplicates.
  const lookalikes = [migration.up, ...(migration.down ? [migration.down] : [])].flatMap((section) => {
    const toolTable = findHistoryTableReferences(section, tool, context.reader.historyTable, dialect);
    // Where the tool's table bears stepwise's name (dbmate's and golang-migrate's schema_migrations), the tool's problem says it.
    const stepwiseTable = findStepwiseTableReferences(section, context.stepwiseTable[0] ?? DEFAULT_TABLE_NAME, context.stepwiseTable[1] ?? null, dialect).filter(
      (problem) => !toolTable.some((other) => other.line === problem.line),
    );
    return [...findMarkerLookalikes(section, tool, dialect), ...toolTable, ...stepwiseTable];
  });
  return {
    migration: {
      version: context.version,
      file: context.file,
      originalId: migration.id,
      transaction: migration.transaction,
      foreignKeysOff,
      foreignKeysPragmas: pragmas,
      down,
      emptyUp,
      history: migration.history,
      ...(migration.accepted && { accepted: migration.accepted }),
      text,
    },
    problems: lookalikes.length > 0 ? lookalikes : carried ? [carried] : found.map((problem) => locateProblem(problem, { text, chunks, migration, context })),
  };
}

/**
 * A section stepwise would read otherwise than the tool ran it: SQLite and the tools end a comment or string left open at the end of a section's file or marker, but in the one file the
 * import writes it runs on over the marker after it, so the up would run the down's SQL and the down vanish. Refused at the line where it opens, or `null` when the sections read as written.
 */
function sectionCarriedOn(migration: ForeignMigration, parsed: { upSql: string; downSql: string | null }, down: PlannedMigration["down"], tool: string, dialect: SqlDialect): SourceProblem | null {
  // The file read back has LF line breaks, inside strings and bodies too.
  const canonical = (sql: string | null) => (sql === null ? null : canonicalizeSql(sql.replace(/\r\n/g, "\n"), dialect));
  const downAsWritten = down === "sql" ? migration.down!.sql : null;
  if (canonical(parsed.upSql) === canonical(migration.up.sql) && (down === "no-op" || canonical(parsed.downSql) === canonical(downAsWritten))) return null;
  // Only a token left open explains it; any other difference would be the import's own, not the file's to fix.
  for (const section of [migration.up, ...(migration.down ? [migration.down] : [])]) {
    const open = tokenizeSql(section.sql, dialect).find((token) => token.unterminated);
    if (open === undefined) continue;
    const what = open.kind.includes("comment") ? "a comment" : open.kind === "string" ? "a string" : "a quoted name";
    return {
      file: section.file,
      line: fileLineOf(section, open.line),
      message: `${what} opened here is left open to the end of the ${section === migration.up ? "up" : "down"}, which ${tool} ends there, but in the one file the import writes it would run on over the next marker (the up running the down's SQL); close it in ${section.file}, then import again`,
    };
  }
  return null;
}

/** `PRAGMA foreign_keys = …;`, which does nothing inside a transaction. */
const FOREIGN_KEYS_PRAGMA = /\bPRAGMA\s+foreign_keys\s*=\s*\w+\s*;/gi;

/**
 * A migration that switches foreign keys itself (drizzle-kit's and Prisma's table rebuilds) gets the flag that does it within a transaction; its pragmas, refused there, become comments. Only
 * pragmas the tool ran count: not one inside a comment or a string.
 */
function commentOutForeignKeysPragmas(migration: ForeignMigration, dialect: SqlDialect): { migration: ForeignMigration; pragmas: number } {
  const words = new Set(dialect === "sqlite" ? tokenizeSql(migration.up.sql).flatMap((token) => (token.kind === "word" ? [token.offset] : [])) : []);
  const pragmas = [...migration.up.sql.matchAll(FOREIGN_KEYS_PRAGMA)].filter((match) => words.has(match.index)).length;
  if (pragmas === 0) return { migration, pragmas };
  const sql = migration.up.sql.replace(FOREIGN_KEYS_PRAGMA, (statement: string, offset: number) => (words.has(offset) ? `/* ${statement} */` : statement));
  return { migration: { ...migration, transaction: true, up: { ...migration.up, sql } }, pragmas };
}

/** The rendered file's chunks: description, preamble, up marker with its flags, up, and the down as `--empty-down` decides. */
function renderChunks(migration: ForeignMigration, context: RenderContext, foreignKeysOff: boolean): { chunks: RenderedChunk[]; emptyUp: boolean; down: PlannedMigration["down"] } {
  const { tool } = context;
  const chunks: RenderedChunk[] = [];
  const add = (text: string, from: SourceSection | null = null) => chunks.push({ text: text === "" || text.endsWith("\n") || from === null ? text : `${text}\n`, from });
  const flags = [...(migration.transaction ? [] : ["transaction:false"]), ...(foreignKeysOff ? ["foreign_keys:off"] : [])];
  add(`${DESCRIPTION_PREFIX} imported from ${tool} ${migration.id}\n`, { ...migration.up, line: 1 });
  if (migration.preamble) add(migration.preamble.sql, migration.preamble);
  add(`${[UP_MARKER, ...flags].join(" ")}\n`, migration.up);
  const emptyUp = context.isEmpty(migration.up);
  if (emptyUp) add(`${EMPTY_MARKER} the ${tool} migration ran no SQL\n`);
  add(migration.up.sql, migration.up);
  const downIsSql = migration.down !== null && !context.isEmpty(migration.down);
  const down = downIsSql ? "sql" : context.emptyDown === "no-op" ? "no-op" : "none";
  if (down !== "none") add(`${DOWN_MARKER}\n`, migration.down ?? migration.up);
  if (down === "no-op") add(`${EMPTY_MARKER} the ${tool} migration had ${migration.down === null ? "no down" : "an empty down"} (imported with --empty-down no-op)\n`);
  if (down !== "none" && migration.down !== null) add(migration.down.sql, migration.down);
  return { chunks, emptyUp, down };
}

/** A problem `gen` found in the rendered file, at its line there (`code` null: one the import found). */
type RenderedProblem = Omit<SqlSourceProblem, "code"> & { readonly code: string | null };

/** A problem of the rendered file at the source line it came from; a transaction problem says what the tool did and the fix in the tool's terms. */
function locateProblem(problem: RenderedProblem, rendered: { text: string; chunks: readonly RenderedChunk[]; migration: ForeignMigration; context: RenderContext }): SourceProblem {
  const { chunks, migration, context } = rendered;
  // The chunk that holds the problem's line (or the last), and the rendered line it starts at.
  let [index, line] = [0, 1];
  for (; index < chunks.length - 1; index++) {
    const lines = chunks[index]!.text.split("\n").length - 1;
    if (problem.line < line + lines) break;
    line += lines;
  }
  const from = chunks[index]!.from ?? migration.up;
  const at = fileLineOf(from, Math.max(0, problem.line - line) + 1);
  if (problem.code === null) return { file: from.file, line: at, message: problem.message };
  const statement = rendered.text.split("\n")[problem.line - 1]!.slice(problem.column - 1);
  const direction = from === migration.down ? "down" : "up";
  const message = describeTransactionProblem({ code: problem.code, statement, direction, section: from, migration, context }) ?? problem.message;
  return { file: from.file, line: at, message: `${message} [${problem.code}]`, code: problem.code };
}

/**
 * The message for SQL that cannot run inside stepwise's transaction, in a migration the tool ran in one, built from what is known: the statement, the direction it is in, whether that direction
 * controls the tool's transaction itself, and the tool's mark for running that direction outside one. `null` for other problems, or a tool with no such mark (its message stays `gen`'s).
 */
function describeTransactionProblem(facts: { code: string; statement: string; direction: "up" | "down"; section: SourceSection; migration: ForeignMigration; context: RenderContext }): string | null {
  const { code, direction, migration, context } = facts;
  const { tool, reader, dialect } = context;
  if (code !== "SQL_NEEDS_NO_TRANSACTION" && code !== "SQL_TRANSACTION_CONTROL") return null;
  const text = facts.statement.split(";")[0]!.trim();
  const statement = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
  if (reader.noTransactionMark === undefined)
    return code === "SQL_TRANSACTION_CONTROL" && reader.transactionControlFix !== undefined ? `${statement} controls the transaction ${tool} ran it in; ${reader.transactionControlFix}` : null;
  const needs = findTransactionNeeds(facts.section.sql, dialect);
  const mark = direction === "down" ? (reader.downNoTransactionMark ?? reader.noTransactionMark) : reader.noTransactionMark;
  const both = direction === "down" ? reader.downNoTransactionMark === undefined : reader.downNoTransactionMark === undefined && migration.down !== null;
  // A down taken out of the transaction its atomic, several-statement up runs in is refused in turn (DOWN_NEEDS_NO_TRANSACTION), so the mark is no fix there.
  const markHelps = direction === "up" || both || countStatements(migration.up.sql, dialect) <= 1;
  const markFix = `make ${tool} run it outside a transaction (it does when ${mark}${both ? "; its up and down then both run outside one" : ""})`;
  if (needs.controls) {
    const own = `delete the ${direction}'s own transaction statements (BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE)`;
    const fix = needs.outside
      ? markHelps
        ? `${own} and ${markFix}`
        : `${own} and rewrite what needs no transaction so it runs in one`
      : markHelps
        ? `${own} (it then runs in one transaction), or ${markFix}`
        : own;
    return `${statement} is in ${direction === "up" ? "an" : "a"} ${direction} that controls the transaction ${tool} ran it in, and stepwise runs it in one too, where a later failure could no longer be rolled back; ${fix}, and import again`;
  }
  const database = dialect === "postgres" ? "PostgreSQL" : "SQLite";
  const fix = markHelps
    ? `${markFix}, or change the statement so it runs inside one`
    : `change the statement so it runs inside one (the up runs in a transaction, and stepwise runs both directions alike)`;
  return `${statement}: ${database} cannot run this inside a transaction, and ${tool} ran this ${direction} in one, where it fails the same way; ${fix}, and import again`;
}

/** Refuses (`IMPORT_TARGET_NOT_EMPTY`) a migrations folder that holds anything migration-like, an earlier map, the helper import would write, or the tool's folder (which `gen` would then find there). */
export function checkImportTarget(plan: ImportPlan, migrationsDir: string): void {
  const within = path.relative(plan.migrationsDir, plan.source);
  const holder = within === "" || within.startsWith("..") || path.isAbsolute(within) ? null : within.split(path.sep)[0];
  const entries = tryOr(() => readdirSync(migrationsDir), [] as string[]);
  const helpers = plan.helpers.filter((helper) => existsSync(path.join(migrationsDir, helper.file))).map((helper) => helper.file);
  const existing = [...entries.filter((name) => isMigrationLike(name) || name === IMPORT_MAP_FILE || name === holder), ...helpers].sort();
  if (existing.length > 0) throw targetNotEmptyError(plan, existing);
}

/**
 * Writes the plan: refuses (`IMPORT_TARGET_NOT_EMPTY`) when the folder already holds migrations, then writes each file, never over an existing one, and the map last; a failure removes what this run
 * wrote, the folders it created included.
 */
export function writeImport(plan: ImportPlan, migrationsDir: string): void {
  checkImportTarget(plan, migrationsDir);
  const written: string[] = [];
  // The folders this run creates, deepest first, removed again on a failure.
  const created: string[] = [];
  for (let dir = migrationsDir; !existsSync(dir) && path.dirname(dir) !== dir; dir = path.dirname(dir)) created.push(dir);
  try {
    for (const { file, text } of [...plan.migrations, ...plan.helpers, { file: IMPORT_MAP_FILE, text: plan.mapText }]) {
      const target = path.join(migrationsDir, file);
      for (let dir = path.dirname(target); !existsSync(dir) && dir !== migrationsDir; dir = path.dirname(dir)) created.unshift(dir);
      writeFileAtomic(target, text, { exclusive: true });
      written.push(target);
    }
  } catch (error) {
    for (const file of written) rmSync(file, { force: true });
    for (const dir of created) tryOr(() => rmdirSync(dir), undefined);
    throw error;
  }
}

/** `IMPORT_TARGET_NOT_EMPTY`: the folder already holds migrations (often the tool's own, when importing in place). */
function targetNotEmptyError(plan: Pick<ImportPlan, "migrationsDir" | "source" | "tool" | "migrations">, files: readonly string[]): StepwiseError<"IMPORT_TARGET_NOT_EMPTY"> {
  // The folder given holds a config that names the target as its migrations folder (wrangler's migrations_dir): the files read are in it.
  const readsTarget = plan.migrations.some((migration) => migration.sources.some((source) => path.posix.join(plan.source, source.file).startsWith(`${plan.migrationsDir}/`)));
  const inPlace = plan.migrationsDir === plan.source || readsTarget;
  const inside = !inPlace && plan.source.startsWith(`${plan.migrationsDir}/`);
  const fix = inPlace
    ? `it is the ${plan.tool} folder itself: move that aside first (git mv ${plan.migrationsDir} ${plan.migrationsDir}-${plan.tool}), then run "stepwise import ${plan.tool} ${plan.migrationsDir}-${plan.tool}"`
    : inside
      ? `it holds the ${plan.tool} folder: move that out first (git mv ${plan.source} ${plan.tool}-migrations), then run "stepwise import ${plan.tool} ${plan.tool}-migrations"`
      : `import into an empty folder (--dir, or "migrationsDir" in the config), or remove these first`;
  const shown = files.slice(0, 5).join(", ") + (files.length > 5 ? `, and ${files.length - 5} more` : "");
  return new StepwiseError("IMPORT_TARGET_NOT_EMPTY", `${plan.migrationsDir} already holds migrations (${shown}), and import never writes over or among them: ${fix}. Nothing was written.`, {
    dir: plan.migrationsDir,
    files,
  });
}
