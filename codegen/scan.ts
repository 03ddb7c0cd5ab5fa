/**
 * Reads the migrations folder: classifies each entry by name, parses TypeScript migrations with
 * ts-morph and SQL ones with the shared parser, and checks the version rules across the folder.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, type Dirent } from "node:fs";
import path from "node:path";
import { Project, SyntaxKind, ts, type Node, type Type } from "ts-morph";
import type { SqlDialect } from "../src/core/types.js";
import { TEMPLATE_PLACEHOLDER } from "../src/shared/sql-markers.js";
import { parseSqlMigrationSource } from "../src/shared/sql-source.js";
import { decodeSourceBytes } from "../src/shared/source-text.js";
import { findForeignMigrations, findNestedMigrations } from "./foreign-migrations.js";
import { followLocalImports } from "./local-imports.js";
import { parseMigrationFileName, type MigrationKind } from "./migration-file.js";
import { addProblems, compareText, problemAt, projectPath, type Problem, type ProblemCode } from "./problems.js";
import { analyzeTsMigration } from "./ts-migration.js";

/** A migration that passed every per-file check. */
export interface ScannedMigration {
  readonly version: number;
  readonly name: string;
  readonly kind: MigrationKind;
  /** Relative to the project root, forward slashes. */
  readonly file: string;
  readonly absolutePath: string;
  readonly description: string | null;
  readonly checksum: string;
  /** TypeScript only: the checksums earlier releases recorded for this source, where they differ, space-separated. */
  readonly legacyChecksum?: string | null;
  readonly reversible: boolean;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  /** `up` or `down` is async (TypeScript only). */
  readonly async: boolean;
  /** SQL only. */
  readonly upSql?: string;
  readonly downSql?: string | null;
  /** SQL only: the file's lines where `upSql` and `downSql` begin. */
  readonly sqlLines?: readonly [up: number, down: number | null];
  /** TypeScript only: the files outside the folder that its checksum covers or that were looked for, with their SHA-256 (`null`: absent), for the gen cache. */
  readonly dependencies?: readonly { readonly file: string; readonly sha256: string | null }[];
  /** TypeScript only: the project files it imports, directly or not, project-relative. */
  readonly localImports?: readonly string[];
}

/** Everything found in the folder. The migrations are in version order; problems are unsorted. */
export interface ScanResult {
  readonly migrations: ScannedMigration[];
  readonly problems: Problem[];
}

/** Where to scan. */
export interface ScanOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  /** Default `sqlite`. */
  readonly dialect?: SqlDialect;
}

/** Scans `migrationsDir`. Never throws for bad input: every issue becomes a {@link Problem}. */
export function scanMigrations(options: ScanOptions): ScanResult {
  const { projectRoot, migrationsDir } = options;
  const dialect = options.dialect ?? "sqlite";
  const label = projectPath(projectRoot, migrationsDir);
  const problems: Problem[] = [];
  const entries = readMigrationsFolder(migrationsDir, label, problems);
  if (entries === null) return { migrations: [], problems };
  // Another tool's folder is one problem, not one per file its names break.
  const foreign = findForeignMigrations(migrationsDir, label, entries);
  if (foreign !== null) return { migrations: [], problems: [foreign] };
  problems.push(...findNestedMigrations(migrationsDir, label, entries));

  const project = new Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true, compilerOptions: { allowJs: false, noLib: true } });
  const returnsThenable = createReturnTypeChecker(projectRoot);
  const migrations: ScannedMigration[] = [];
  // Every entry that names a version, valid or not, so a refused file still fills its place.
  const holders: { version: number; file: string; valid: boolean }[] = [];
  for (const entry of entries) {
    const parsed = parseMigrationFileName(entry.name);
    if (parsed.status === "ignored") continue;
    const absolutePath = path.join(migrationsDir, entry.name);
    const file = projectPath(projectRoot, absolutePath);
    const quoted = JSON.stringify(entry.name);
    const version = parsed.status === "migration" ? parsed.migration.version : parsed.problem.version;
    if (version !== null) holders.push({ version, file, valid: parsed.status === "migration" });
    const notAFile = describeNonFileEntry(entry, absolutePath, quoted);
    if (notAFile) problems.push(problemAt(notAFile.code, file, notAFile.message));
    else if (parsed.status === "malformed") problems.push(problemAt("BAD_FILE_NAME", file, `not a valid migration file name ${quoted}: ${parsed.problem.reason}`));
    else {
      const source = readMigrationSource(absolutePath, file, quoted, problems);
      if (source === null) continue;
      const base = { version: version!, name: parsed.migration.name, kind: parsed.migration.kind, file, absolutePath };
      const scanned = base.kind === "sql" ? scanSqlMigration(source, base, dialect, problems) : scanTsMigration(source, base, { project, projectRoot, dialect, returnsThenable }, problems);
      if (scanned) migrations.push(scanned);
    }
  }
  problems.push(...checkVersions(holders));
  return { migrations: migrations.sort((a, b) => a.version - b.version), problems };
}

type MigrationBase = Pick<ScannedMigration, "version" | "name" | "kind" | "file" | "absolutePath">;

/** A migration file's decoded text, or `null` after reporting that it cannot be read or is not UTF-8. */
function readMigrationSource(absolutePath: string, file: string, quoted: string, problems: Problem[]): string | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolutePath);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return addProblems(problems, problemAt("MIGRATION_UNREADABLE", file, `cannot read this migration (${reason}); make it readable by the user running stepwise (for example chmod 644 ${quoted})`));
  }
  const decoded = decodeSourceBytes(bytes);
  return decoded.ok ? decoded.text : addProblems(problems, { code: "FILE_NOT_UTF8", file, line: decoded.line, column: decoded.column, message: decoded.message });
}

function scanSqlMigration(source: string, base: MigrationBase, dialect: SqlDialect, problems: Problem[]): ScannedMigration | null {
  const result = parseSqlMigrationSource(source, { dialect });
  if (!result.ok) return addProblems(problems, ...result.problems.map((problem) => ({ ...problem, file: base.file })));
  const { migration } = result;
  return {
    ...base,
    // A deliberately empty migration with no description of its own is described by its reason.
    description: migration.description ?? migration.emptyUpReason,
    checksum: migration.checksum,
    reversible: migration.downSql !== null,
    transaction: migration.transaction,
    disableForeignKeys: migration.disableForeignKeys,
    async: false,
    upSql: migration.upSql,
    downSql: migration.downSql,
    sqlLines: [migration.upSqlLine, migration.downSqlLine],
  };
}

/** What scanning a TypeScript migration shares with the others of the same scan. */
interface TsScanContext {
  readonly project: Project;
  readonly projectRoot: string;
  readonly dialect: SqlDialect;
  readonly returnsThenable: (absolutePath: string, text: string, fn: Node) => boolean;
}

/** A `.ts` migration: its `defineMigration` call, the local files it imports, and its checksum over both. */
function scanTsMigration(source: string, base: MigrationBase, context: TsScanContext, problems: Problem[]): ScannedMigration | null {
  const text = source.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const sourceFile = context.project.createSourceFile(`/migrations/${path.basename(base.absolutePath)}`, text, { overwrite: true });
  try {
    const placeholders = findTemplatePlaceholders(sourceFile.compilerNode, base.file);
    if (placeholders.length > 0) return addProblems(problems, ...placeholders);
    const result = analyzeTsMigration(sourceFile, base.file, { returnsThenable: (fn) => context.returnsThenable(base.absolutePath, text, fn) });
    if (!result.ok) return addProblems(problems, ...result.problems);
    const { earlierChecksums, ...facts } = result.facts;
    const imports = followLocalImports({
      absolutePath: base.absolutePath,
      sourceFile: sourceFile.compilerNode,
      ownChecksum: facts.checksum,
      earlierOwnChecksums: earlierChecksums,
      projectRoot: context.projectRoot,
    });
    if (imports.problems.length > 0) return addProblems(problems, ...imports.problems);
    if (facts.disableForeignKeys && context.dialect === "postgres") {
      const property = sourceFile.getDescendantsOfKind(SyntaxKind.PropertyAssignment).find((node) => node.getName() === "disableForeignKeys");
      const at = property ? sourceFile.getLineAndColumnAtPos(property.getStart()) : { line: 1, column: 1 };
      const message = `"disableForeignKeys: true" is SQLite's PRAGMA foreign_keys, which PostgreSQL does not have; remove it, and declare the constraints DEFERRABLE and run SET CONSTRAINTS ALL DEFERRED in the migration if rows must break them until it commits`;
      return addProblems(problems, { code: "FOREIGN_KEYS_FLAG_UNSUPPORTED", file: base.file, ...at, message });
    }
    return { ...base, ...facts, checksum: imports.checksum, legacyChecksum: imports.legacyChecksum, dependencies: imports.probed, localImports: imports.files };
  } finally {
    context.project.removeSourceFile(sourceFile);
  }
}

/** The folder's entries in name order, or `null` after reporting why it cannot be listed. */
function readMigrationsFolder(migrationsDir: string, label: string, problems: Problem[]): Dirent[] | null {
  const refuse = (code: ProblemCode, message: string) => addProblems(problems, problemAt(code, label, message));
  const notAFolder = (what: string) => `${what}; point --dir (or "migrationsDir" in the config) at the folder that holds the migrations`;
  const reason = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  let stats;
  try {
    stats = statSync(migrationsDir);
  } catch (error) {
    if (reason(error) === "ENOENT") return refuse("MIGRATIONS_DIR_MISSING", `the migrations folder does not exist; create it with "stepwise create", or point to it with --dir`);
    if (reason(error) === "ENOTDIR") return refuse("MIGRATIONS_DIR_NOT_A_FOLDER", notAFolder("a part of this path is a file, not a folder"));
    return refuse("MIGRATIONS_DIR_UNREADABLE", `cannot open the migrations folder (${reason(error)}); make it readable by the user running stepwise`);
  }
  if (!stats.isDirectory()) return refuse("MIGRATIONS_DIR_NOT_A_FOLDER", notAFolder("this is a file, not a folder"));
  try {
    return readdirSync(migrationsDir, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name));
  } catch (error) {
    return refuse("MIGRATIONS_DIR_UNREADABLE", `cannot list the migrations folder (${reason(error)}); make it readable by the user running stepwise (for example chmod 755 on it)`);
  }
}

/** A migration is a regular file; a symbolic link is refused, since its target can change while nothing in the folder does. */
function describeNonFileEntry(entry: Dirent, absolutePath: string, quoted: string): { code: "MIGRATION_SYMLINK" | "MIGRATION_NOT_A_FILE"; message: string } | null {
  if (entry.isSymbolicLink()) {
    let target = "an unreadable target";
    try {
      target = JSON.stringify(readlinkSync(absolutePath));
    } catch {
      // The link itself is the problem either way.
    }
    const message = `${quoted} is a symbolic link to ${target}; stepwise reads only regular files, so that the registry and checksums follow what is in this folder: replace the link with a copy of the file`;
    return { code: "MIGRATION_SYMLINK", message };
  }
  if (entry.isDirectory()) {
    const message = `${quoted} is a folder named like a migration; a migration is a file. Rename the folder so it does not start with a digit (helper code can live in a folder such as lib/)`;
    return { code: "MIGRATION_NOT_A_FILE", message };
  }
  if (!entry.isFile()) return { code: "MIGRATION_NOT_A_FILE", message: `${quoted} is not a regular file (a pipe, socket or device); replace it with the migration file, or remove it` };
  return null;
}

/**
 * Versions are unique and run 1, 2, 3… with no gaps. A file refused for its own reasons still holds
 * its version, so it is not also reported as a gap; only validly named files count as duplicates.
 */
function checkVersions(holders: readonly { version: number; file: string; valid: boolean }[]): Problem[] {
  const problems: Problem[] = [];
  const filesByVersion = new Map<number, string[]>();
  for (const holder of holders) filesByVersion.set(holder.version, [...(filesByVersion.get(holder.version) ?? []), ...(holder.valid ? [holder.file] : [])]);
  const firstFile = (version: number) => filesByVersion.get(version)![0] ?? holders.find((holder) => holder.version === version)!.file;
  for (const [version, files] of filesByVersion) {
    if (files.length < 2) continue;
    for (const file of files) {
      const others = files.filter((other) => other !== file).join(", ");
      const message = `version ${version} is also used by ${others}; give one of them the next free version (renumber it and run "stepwise gen"; after merging a branch, "stepwise rebase" renumbers the branch's own migrations)`;
      problems.push(problemAt("DUPLICATE_VERSION", file, message));
    }
  }
  const versions = [...filesByVersion.keys()].sort((a, b) => a - b);
  if (versions.length > 0 && versions[0]! > 1) {
    problems.push(problemAt("VERSIONS_DO_NOT_START_AT_ONE", firstFile(versions[0]!), `versions must start at 1, but the first is ${versions[0]}; renumber it to 001`));
  }
  for (let i = 1; i < versions.length; i++) {
    const [from, to] = [versions[i - 1]! + 1, versions[i]! - 1];
    if (from > to) continue;
    const missing = from === to ? String(from) : to - from < 5 ? Array.from({ length: to - from + 1 }, (_, k) => from + k).join(", ") : `${from}–${to}`;
    const message = `version${from === to ? ` ${missing} is` : `s ${missing} are`} missing between ${firstFile(from - 1)} and this file; renumber so versions have no gaps`;
    problems.push({ ...problemAt("VERSION_GAP", firstFile(to + 1), message), missingVersions: { from, to } });
  }
  return problems;
}

/**
 * One `TEMPLATE_UNEDITED` per comment that still holds `create`'s placeholder, naming the method it
 * sits in, so an unedited template fails `gen` instead of being applied as a no-op. Only comments
 * count: the word in a string is the migration's own data.
 */
function findTemplatePlaceholders(sourceFile: ts.SourceFile, file: string): Problem[] {
  const text = sourceFile.getFullText();
  const seen = new Set<number>();
  const problems: Problem[] = [];
  const visit = (node: ts.Node, method: string | null): void => {
    const isMethod = (ts.isMethodDeclaration(node) || ts.isPropertyAssignment(node)) && ts.isIdentifier(node.name) && (node.name.text === "up" || node.name.text === "down");
    const name = isMethod ? (node.name as ts.Identifier).text : method;
    // Every comment is trivia around some token; trailing ranges catch `up(db) { // …`, which leading ranges skip.
    for (const range of [...(ts.getLeadingCommentRanges(text, node.pos) ?? []), ...(ts.getTrailingCommentRanges(text, node.end) ?? [])]) {
      if (seen.has(range.pos) || !text.slice(range.pos, range.end).includes(TEMPLATE_PLACEHOLDER)) continue;
      seen.add(range.pos);
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(range.pos);
      const fix =
        name === "down"
          ? "write the code that undoes the migration in down (or delete down to make the migration irreversible), then delete this comment"
          : "write the migration's code in up, then delete this comment";
      problems.push({ code: "TEMPLATE_UNEDITED", file, line: line + 1, column: character + 1, message: `this is still the placeholder "stepwise create" wrote (${TEMPLATE_PLACEHOLDER}); ${fix}` });
    }
    for (const child of node.getChildren(sourceFile)) visit(child, name);
  };
  visit(sourceFile, null);
  return problems;
}

/**
 * Whether a function returns a thenable, by TypeScript's checker on a second project with the
 * project's tsconfig (the scan's own has no libraries), opened the first time it is needed.
 */
function createReturnTypeChecker(projectRoot: string): TsScanContext["returnsThenable"] {
  let project: Project | null = null;
  const isThenable = (type: Type, at: Node): boolean => {
    if (type.isAny() || type.isUnknown()) return false;
    if (type.isUnion()) return type.getUnionTypes().some((member) => isThenable(member, at));
    const then = type.getProperty("then");
    return then !== undefined && then.getTypeAtLocation(at).getCallSignatures().length > 0;
  };
  return (absolutePath, text, fn) => {
    try {
      const tsConfigFilePath = path.join(projectRoot, "tsconfig.json");
      project ??= existsSync(tsConfigFilePath)
        ? new Project({ tsConfigFilePath, skipAddingFilesFromTsConfig: true, compilerOptions: { noEmit: true, skipLibCheck: true } })
        : new Project({
            compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, noEmit: true },
          });
      const twin = project.createSourceFile(absolutePath, text, { overwrite: true }).getDescendantAtStartWithWidth(fn.getStart(), fn.getWidth());
      const signature = twin?.getType().getCallSignatures()[0];
      return signature !== undefined && isThenable(signature.getReturnType(), twin!);
    } catch {
      return false;
    }
  };
}

/** How the registry's relative imports end. */
export type ImportExtension = ".js" | ".ts";

/**
 * `.js` works under every module resolution (TypeScript maps it to the source, tsc's output runs under
 * Node, bundlers map it back); `.ts` only where the project imports `.ts` files itself
 * (`allowImportingTsExtensions` or `rewriteRelativeImportExtensions` in its tsconfig).
 */
export function resolveImportExtension(projectRoot: string): ImportExtension {
  const tsconfigPath = path.join(projectRoot, "tsconfig.json");
  if (!existsSync(tsconfigPath)) return ".js";
  const read = ts.readConfigFile(tsconfigPath, (file) => readFileSync(file, "utf8"));
  if (read.error) return ".js";
  const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, projectRoot, undefined, tsconfigPath);
  return options.allowImportingTsExtensions || options.rewriteRelativeImportExtensions ? ".ts" : ".js";
}
