/**
 * Reads the migrations folder: classifies each file by name, parses TypeScript migrations with
 * ts-morph and SQL ones with the shared parser, and checks the version rules across the folder.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, type Dirent } from "node:fs";
import path from "node:path";
import { Project, SyntaxKind, ts, type Node, type SourceFile, type Type } from "ts-morph";
import type { SqlDialect } from "../src/core/types.js";
import { parseMigrationFileName, type MigrationKind } from "./migration-file.js";
import { decodeSourceBytes } from "../src/shared/source-text.js";
import { parseSqlMigrationSource } from "../src/shared/sql-source.js";
import { followLocalImports } from "./local-imports.js";
import { findForeignMigrations, findNestedMigrations } from "./foreign-migrations.js";
import { toPortablePath } from "./portable-path.js";
import type { Problem } from "./problems.js";
import { analyzeTsMigration } from "./ts-migration.js";
import { TEMPLATE_PLACEHOLDER } from "../src/shared/sql-markers.js";

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
  /** TypeScript migrations only: the checksums earlier releases recorded for the same source, where they differ, space-separated (see `MigrationEntryBase.legacyChecksum`). */
  readonly legacyChecksum?: string | null;
  readonly reversible: boolean;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  /** `up` or `down` is async (TypeScript migrations only; SQL ones never are). */
  readonly async: boolean;
  /** SQL migrations only. */
  readonly upSql?: string;
  readonly downSql?: string | null;
  /** SQL migrations only: the file's lines where `upSql` and `downSql` begin (see `SqlMigrationEntry.sqlLines`). */
  readonly sqlLines?: readonly [up: number, down: number | null];
  /**
   * TypeScript migrations only: the files outside the migrations folder that its checksum covers
   * (local imports, followed transitively) or that were looked for while resolving them, with the
   * SHA-256 of the bytes read (`null`: absent), so the gen cache can tell when one changes.
   */
  readonly dependencies?: readonly { readonly file: string; readonly sha256: string | null }[];
  /** TypeScript migrations only: the project files it imports, directly or not, project-relative. */
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
  /** The dialect the SQL migrations are written in, for their checks and checksums. Default `sqlite`. */
  readonly dialect?: SqlDialect;
}

/** Scans `migrationsDir`. Never throws for bad input: every issue becomes a {@link Problem}. */
export function scanMigrations(options: ScanOptions): ScanResult {
  const problems: Problem[] = [];
  const relative = (absolute: string) => toPortablePath(path.relative(options.projectRoot, absolute));
  const label = relative(options.migrationsDir);
  const entries = readMigrationsFolder(options.migrationsDir, label, problems);
  if (entries === null) return { migrations: [], problems };
  // Another tool's folder is one problem, not one per file its names break.
  const foreign = findForeignMigrations(options.migrationsDir, label, entries);
  if (foreign !== null) return { migrations: [], problems: [foreign] };
  problems.push(...findNestedMigrations(options.migrationsDir, label, entries));

  const project = new Project({
    useInMemoryFileSystem: true,
    skipLoadingLibFiles: true,
    compilerOptions: { allowJs: false, noLib: true },
  });
  // The type checker, on the real files, only for the rare function the syntax cannot classify.
  const types = createReturnTypeChecker(options.projectRoot);
  const migrations: ScannedMigration[] = [];
  // Every entry that names a version, valid or not, so a refused file still fills its place.
  const versionHolders: VersionHolder[] = [];

  const tsContext: TsScanContext = { project, types, relative, projectRoot: options.projectRoot, dialect: options.dialect ?? "sqlite" };
  for (const entry of entries) {
    const fileName = entry.name;
    const parsedName = parseMigrationFileName(fileName);
    if (parsedName.status === "ignored") continue;
    const absolutePath = path.join(options.migrationsDir, fileName);
    const file = relative(absolutePath);
    const at = { file, line: 1, column: 1 };
    const quoted = JSON.stringify(fileName);
    const version = parsedName.status === "migration" ? parsedName.migration.version : parsedName.problem.version;
    if (version !== null) versionHolders.push({ version, file, valid: parsedName.status === "migration" });

    const entryProblem = describeNonFileEntry(entry, absolutePath, quoted);
    if (entryProblem) {
      problems.push({ ...at, ...entryProblem });
      continue;
    }
    if (parsedName.status === "malformed") {
      problems.push({ ...at, code: "BAD_FILE_NAME", message: `not a valid migration file name ${quoted}: ${parsedName.problem.reason}` });
      continue;
    }
    const read = readMigrationSource(absolutePath, file, quoted);
    if ("problem" in read) {
      problems.push(read.problem);
      continue;
    }
    const { name, kind } = parsedName.migration;
    const base = { version: version!, name, kind, file, absolutePath };
    const scanned = kind === "sql" ? scanSqlMigration(read.source, base, options.dialect ?? "sqlite") : scanTsMigration(read.source, base, fileName, tsContext);
    if ("problems" in scanned) problems.push(...scanned.problems);
    else migrations.push(scanned.migration);
  }

  problems.push(...checkVersions(versionHolders));
  migrations.sort((a, b) => a.version - b.version);
  return { migrations, problems };
}

/** What one migration file gave: its entry, or the problems that keep it out of the registry. */
type ScanOutcome = { readonly migration: ScannedMigration } | { readonly problems: readonly Problem[] };

/** The fields every scanned migration has, from its file's name and place. */
type MigrationBase = Pick<ScannedMigration, "version" | "name" | "kind" | "file" | "absolutePath">;

/** What scanning a TypeScript migration shares with the others of the same scan. */
interface TsScanContext {
  readonly project: Project;
  readonly types: ReturnType<typeof createReturnTypeChecker>;
  readonly relative: (absolute: string) => string;
  readonly projectRoot: string;
  readonly dialect: SqlDialect;
}

/** A migration file's text, decoded, or the problem that it cannot be read or is not UTF-8. */
function readMigrationSource(absolutePath: string, file: string, quoted: string): { readonly source: string } | { readonly problem: Problem } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolutePath);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return {
      problem: {
        file,
        line: 1,
        column: 1,
        code: "MIGRATION_UNREADABLE",
        message: `cannot read this migration (${reason}); make it readable by the user running stepwise (for example chmod 644 ${quoted})`,
      },
    };
  }
  const decoded = decodeSourceBytes(bytes);
  if (!decoded.ok) return { problem: { code: "FILE_NOT_UTF8", file, line: decoded.line, column: decoded.column, message: decoded.message } };
  return { source: decoded.text };
}

/** A `.sql` migration: its markers, checks and checksum in `dialect`. */
function scanSqlMigration(source: string, base: MigrationBase, dialect: SqlDialect): ScanOutcome {
  const result = parseSqlMigrationSource(source, { dialect });
  if (!result.ok) return { problems: result.problems.map((problem) => ({ ...problem, file: base.file })) };
  const { migration } = result;
  return {
    migration: {
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
    },
  };
}

/** A `.ts` migration: its `defineMigration` call, the local files it imports, and its checksum over both. */
function scanTsMigration(source: string, base: MigrationBase, fileName: string, context: TsScanContext): ScanOutcome {
  const { file, absolutePath } = base;
  const normalized = source.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const sourceFile = context.project.createSourceFile(`/migrations/${fileName}`, normalized, { overwrite: true });
  const placeholders = findTsTemplatePlaceholders(sourceFile.compilerNode, file);
  if (placeholders.length > 0) {
    context.project.removeSourceFile(sourceFile);
    return { problems: placeholders };
  }
  const result = analyzeTsMigration(sourceFile, file, { returnsThenable: (fn) => context.types.returnsThenable(absolutePath, normalized, fn) });
  const imports = result.ok
    ? followLocalImports({
        absolutePath,
        sourceFile: sourceFile.compilerNode,
        ownChecksum: result.facts.checksum,
        earlierOwnChecksums: result.facts.earlierChecksums,
        relative: context.relative,
        projectRoot: context.projectRoot,
      })
    : null;
  // Where a postgres migration's `disableForeignKeys` is, read before the file leaves the project.
  const foreignKeysAt = result.ok && result.facts.disableForeignKeys && context.dialect === "postgres" ? findPropertyPosition(sourceFile, "disableForeignKeys") : null;
  context.project.removeSourceFile(sourceFile);
  if (!result.ok) return { problems: result.problems };
  if (imports!.problems.length > 0) return { problems: imports!.problems };
  if (result.facts.disableForeignKeys && context.dialect === "postgres") {
    return {
      problems: [
        {
          file,
          ...foreignKeysAt!,
          code: "FOREIGN_KEYS_FLAG_UNSUPPORTED",
          message: `"disableForeignKeys: true" is SQLite's PRAGMA foreign_keys, which PostgreSQL does not have; remove it, and declare the constraints DEFERRABLE and run SET CONSTRAINTS ALL DEFERRED in the migration if rows must break them until it commits`,
        },
      ],
    };
  }
  const { earlierChecksums: _earlier, ...facts } = result.facts;
  return { migration: { ...base, ...facts, checksum: imports!.checksum, legacyChecksum: imports!.legacyChecksum, dependencies: imports!.probed, localImports: imports!.files } };
}

/** The line and column of the object property `name` in `sourceFile`, or the file's start. */
function findPropertyPosition(sourceFile: SourceFile, name: string): { line: number; column: number } {
  const property = sourceFile.getDescendantsOfKind(SyntaxKind.PropertyAssignment).find((node) => node.getName() === name);
  return property ? sourceFile.getLineAndColumnAtPos(property.getStart()) : { line: 1, column: 1 };
}

/** One entry that names a version; `valid` when its name follows the rules. */
interface VersionHolder {
  readonly version: number;
  readonly file: string;
  readonly valid: boolean;
}

/** The folder's entries in name order, or `null` (with a problem saying why) when it cannot be listed. */
function readMigrationsFolder(migrationsDir: string, label: string, problems: Problem[]): Dirent[] | null {
  const at = { file: label, line: 1, column: 1 };
  let stats;
  try {
    stats = statSync(migrationsDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      problems.push({ ...at, code: "MIGRATIONS_DIR_MISSING", message: `the migrations folder does not exist; create it with "stepwise create", or point to it with --dir` });
    } else if (code === "ENOTDIR") {
      problems.push({
        ...at,
        code: "MIGRATIONS_DIR_NOT_A_FOLDER",
        message: `a part of this path is a file, not a folder; point --dir (or "migrationsDir" in the config) at the folder that holds the migrations`,
      });
    } else {
      problems.push({ ...at, code: "MIGRATIONS_DIR_UNREADABLE", message: `cannot open the migrations folder (${code ?? (error as Error).message}); make it readable by the user running stepwise` });
    }
    return null;
  }
  if (!stats.isDirectory()) {
    problems.push({ ...at, code: "MIGRATIONS_DIR_NOT_A_FOLDER", message: `this is a file, not a folder; point --dir (or "migrationsDir" in the config) at the folder that holds the migrations` });
    return null;
  }
  try {
    return readdirSync(migrationsDir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    problems.push({ ...at, code: "MIGRATIONS_DIR_UNREADABLE", message: `cannot list the migrations folder (${code}); make it readable by the user running stepwise (for example chmod 755 on it)` });
    return null;
  }
}

/**
 * A migration is a regular file. A symbolic link is refused rather than followed: the registry,
 * the checksum and the gen cache must all follow what is committed in this folder, and a link's
 * target can change without anything here changing.
 */
function describeNonFileEntry(entry: Dirent, absolutePath: string, quoted: string): Pick<Problem, "code" | "message"> | null {
  if (entry.isSymbolicLink()) {
    let target = "an unreadable target";
    try {
      target = JSON.stringify(readlinkSync(absolutePath));
    } catch {
      // Keep the generic wording; the link itself is the problem either way.
    }
    return {
      code: "MIGRATION_SYMLINK",
      message: `${quoted} is a symbolic link to ${target}; stepwise reads only regular files, so that the registry and checksums follow what is in this folder: replace the link with a copy of the file`,
    };
  }
  if (entry.isDirectory()) {
    return {
      code: "MIGRATION_NOT_A_FILE",
      message: `${quoted} is a folder named like a migration; a migration is a file. Rename the folder so it does not start with a digit (helper code can live in a folder such as lib/)`,
    };
  }
  if (!entry.isFile()) {
    return { code: "MIGRATION_NOT_A_FILE", message: `${quoted} is not a regular file (a pipe, socket or device); replace it with the migration file, or remove it` };
  }
  return null;
}

/**
 * Versions must be unique and run 1, 2, 3… with no gaps. Files that failed their own checks, even
 * on their name, still hold their version, so a broken file is not also reported as a gap; only
 * validly named files are compared for duplicates.
 */
function checkVersions(holders: readonly VersionHolder[]): Problem[] {
  const problems: Problem[] = [];
  const filesByVersion = new Map<number, string[]>();
  for (const holder of holders) {
    const list = filesByVersion.get(holder.version) ?? [];
    if (holder.valid) list.push(holder.file);
    filesByVersion.set(holder.version, list);
  }
  const firstFile = (version: number) => filesByVersion.get(version)![0] ?? holders.find((holder) => holder.version === version)!.file;
  for (const [version, files] of filesByVersion) {
    if (files.length < 2) continue;
    for (const file of files) {
      const others = files.filter((other) => other !== file);
      problems.push({
        code: "DUPLICATE_VERSION",
        file,
        line: 1,
        column: 1,
        message: `version ${version} is also used by ${others.join(", ")}; give one of them the next free version (renumber it and run "stepwise gen"; after merging a branch, "stepwise rebase" renumbers the branch's own migrations)`,
      });
    }
  }

  const versions = [...filesByVersion.keys()].sort((a, b) => a - b);
  if (versions.length === 0) return problems;
  if (versions[0]! > 1) {
    problems.push({
      code: "VERSIONS_DO_NOT_START_AT_ONE",
      file: firstFile(versions[0]!),
      line: 1,
      column: 1,
      message: `versions must start at 1, but the first is ${versions[0]}; renumber it to ${String(1).padStart(3, "0")}`,
    });
  }
  for (let i = 1; i < versions.length; i++) {
    const previous = versions[i - 1]!;
    const current = versions[i]!;
    if (current - previous <= 1) continue;
    const missing = describeRange(previous + 1, current - 1);
    problems.push({
      code: "VERSION_GAP",
      file: firstFile(current),
      line: 1,
      column: 1,
      message: `version${current - previous > 2 ? "s" : ""} ${missing} ${current - previous > 2 ? "are" : "is"} missing between ${firstFile(previous)} and this file; renumber so versions have no gaps`,
      missingVersions: { from: previous + 1, to: current - 1 },
    });
  }
  return problems;
}

function describeRange(from: number, to: number): string {
  if (from === to) return String(from);
  if (to - from < 5) return Array.from({ length: to - from + 1 }, (_, i) => from + i).join(", ");
  return `${from}–${to}`;
}

/**
 * One `TEMPLATE_UNEDITED` problem per comment of a TypeScript migration that holds `create`'s
 * placeholder ({@link TEMPLATE_PLACEHOLDER}), naming the method it sits in, so an unedited or
 * half-edited template fails `gen` instead of being applied as a no-op and recorded (the SQL half is
 * in `src/shared/sql-source.ts`). Only comments count: the word in a string or a template literal is
 * the migration's own data.
 */
function findTsTemplatePlaceholders(sourceFile: ts.SourceFile, file: string): Problem[] {
  const text = sourceFile.getFullText();
  const seen = new Set<number>();
  const problems: Problem[] = [];
  const visit = (node: ts.Node, method: string | null): void => {
    const name = methodName(node) ?? method;
    // A comment is trivia around some token; every token is reached by walking children with tokens.
    // Leading ranges skip a comment on the same line as the token before it (`up(db) { // …`), which
    // is that token's trailing comment, so both are read.
    const ranges = [...(ts.getLeadingCommentRanges(text, node.pos) ?? []), ...(ts.getTrailingCommentRanges(text, node.end) ?? [])];
    for (const range of ranges) {
      if (seen.has(range.pos)) continue;
      seen.add(range.pos);
      if (!text.slice(range.pos, range.end).includes(TEMPLATE_PLACEHOLDER)) continue;
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

/** `up`/`down` for `up(db) {…}` and `down: (db) => …`; `null` for any other node. */
function methodName(node: ts.Node): string | null {
  if ((ts.isMethodDeclaration(node) || ts.isPropertyAssignment(node)) && ts.isIdentifier(node.name)) {
    const name = node.name.text;
    return name === "up" || name === "down" ? name : null;
  }
  return null;
}

/**
 * Asks TypeScript's checker whether a migration function returns a promise, for the one case the
 * syntax cannot settle: a function that is neither `async` nor annotated and returns a value
 * (`up(db) { return query(db) }`, `up: (db) => db.exec(...)`). The scan's own project is in memory
 * with no libraries, so such a function is checked in a second project on the real files, with the
 * project's tsconfig (its `paths`, its `lib`), created the first time it is needed: a folder of
 * ordinary migrations never pays for it.
 */
interface ReturnTypeChecker {
  /**
   * Whether the function at `fn`'s position in the migration `absolutePath` (whose analysed text is
   * `text`) returns a thenable. A return type the checker cannot resolve (`any`, `unknown`, an error)
   * is not a thenable.
   */
  returnsThenable(absolutePath: string, text: string, fn: Node): boolean;
}

/** A checker for the migrations of the project at `projectRoot`. */
function createReturnTypeChecker(projectRoot: string): ReturnTypeChecker {
  let project: Project | null = null;
  const open = (): Project => {
    const tsConfigFilePath = path.join(projectRoot, "tsconfig.json");
    project ??= existsSync(tsConfigFilePath)
      ? new Project({ tsConfigFilePath, skipAddingFilesFromTsConfig: true, compilerOptions: { noEmit: true, skipLibCheck: true } })
      : new Project({
          compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, noEmit: true },
        });
    return project;
  };
  return {
    returnsThenable(absolutePath, text, fn) {
      try {
        const sourceFile = open().createSourceFile(absolutePath, text, { overwrite: true });
        const twin = sourceFile.getDescendantAtStartWithWidth(fn.getStart(), fn.getWidth());
        const signature = twin ? twin.getType().getCallSignatures()[0] : undefined;
        return signature !== undefined && isThenable(signature.getReturnType(), twin!);
      } catch {
        // A project the checker cannot load (a broken tsconfig) tells us nothing; the syntax said sync.
        return false;
      }
    },
  };
}

/** A type with a callable `then`, or a union one of whose members has one. */
function isThenable(type: Type, at: Node): boolean {
  if (type.isAny() || type.isUnknown()) return false;
  if (type.isUnion()) return type.getUnionTypes().some((member) => isThenable(member, at));
  const then = type.getProperty("then");
  return then !== undefined && then.getTypeAtLocation(at).getCallSignatures().length > 0;
}

/** How relative imports end, following the project's TypeScript module resolution. */
export type ImportExtension = ".js" | ".ts";

/**
 * The ending of the registry's relative imports of TypeScript migrations, from `tsconfig.json`
 * (following `extends`) in `projectRoot`. `.js` works under every resolution TypeScript offers
 * (node16/nodenext, bundler, node10, CommonJS): TypeScript maps it to the `.ts` source, tsc's output
 * runs under Node as it is, and bundlers (esbuild, Vite, Rollup's TypeScript plugin, Bun) map it back
 * too. An extensionless specifier, which bundler resolution would also accept, fails under Node
 * once tsc has compiled it (ERR_MODULE_NOT_FOUND). The one exception is a project that imports `.ts`
 * files directly (`allowImportingTsExtensions`, whose sources run as they are, or
 * `rewriteRelativeImportExtensions`, whose emit rewrites them to `.js`): there `.ts` is what works.
 */
export function resolveImportExtension(projectRoot: string): ImportExtension {
  const tsconfigPath = path.join(projectRoot, "tsconfig.json");
  if (!existsSync(tsconfigPath)) return ".js";
  const read = ts.readConfigFile(tsconfigPath, (file) => readFileSync(file, "utf8"));
  if (read.error) return ".js";
  const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, projectRoot, undefined, tsconfigPath);
  return options.allowImportingTsExtensions || options.rewriteRelativeImportExtensions ? ".ts" : ".js";
}
