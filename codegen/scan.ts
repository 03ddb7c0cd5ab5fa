/** Reads the migrations folder: classifies each entry by name, parses TypeScript migrations with ts-morph and SQL ones with the shared parser, and checks the version rules across the folder. */
import { parseJson } from "../src/shared/source-text.js";
import { readdirSync, readFileSync, readlinkSync, statSync, type Dirent } from "node:fs";
import path from "node:path";
import { ts } from "ts-morph";
import type { SqlDialect } from "../src/core/types.js";
import { parseSqlMigrationSource, type SqlSourceOptions } from "../src/shared/sql-source.js";
import { describeBrokenLink, findBrokenLink } from "./broken-link.js";
import { findForeignFolderNearby, findForeignMigrations, findNestedMigrations } from "./foreign-migrations.js";
import { followLocalImports, readTsconfig } from "./local-imports.js";
import { formatMigrationFileName, heldVersion, parseMigrationFileName, versionWidthOf, type MigrationKind } from "./migration-file.js";
import { addProblems, compareText, errorCode, problemAt, projectPath, readSourceText, tryOr, type Problem, type ProblemCode } from "./problems.js";
import { analyzeTsMigration, createReturnTypeChecker, parseTypeScript } from "./ts-migration.js";
import { readNestedCode } from "./ts-walk.js";
import { readSquashRecord, type ReplacedMigration } from "./squash/squash-record.js";

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
  /** SQL only: the migrations `stepwise squash` replaced with this one (versions 1 to its own), from its record. */
  readonly replaced?: readonly ReplacedMigration[];
  /** SQL only: a squash whose record cannot be read, which still holds the versions below its own. */
  readonly holdsVersionsBelow?: boolean;
}

/** Everything found in the folder. The migrations are in version order; problems are unsorted. */
export interface ScanResult {
  readonly migrations: ScannedMigration[];
  readonly problems: Problem[];
}

/** Scans `migrationsDir`. Never throws for bad input: every issue becomes a {@link Problem}. */
export function scanMigrations(options: { projectRoot: string; migrationsDir: string; dialect?: SqlDialect; target?: string | null }): ScanResult {
  const { projectRoot, migrationsDir } = options;
  const dialect = options.dialect ?? "sqlite";
  // The project root itself is ".", so a path built on the label never starts at the file system's root.
  const label = projectPath(projectRoot, migrationsDir) || ".";
  const problems: Problem[] = [];
  const entries = readMigrationsFolder(migrationsDir, label, problems, projectRoot);
  if (entries === null) {
    // No folder at all: another tool's at a well-known place is likely what the project means to port.
    const nearby = problems[0]?.code === "MIGRATIONS_DIR_MISSING" ? findForeignFolderNearby(projectRoot, label) : null;
    return { migrations: [], problems: nearby === null ? problems : [{ ...problems[0]!, message: `${problems[0]!.message}; or, ${nearby}` }] };
  }
  // Another tool's folder is one problem, not one per file its names break.
  const foreign = findForeignMigrations(migrationsDir, label, entries);
  if (foreign !== null) return { migrations: [], problems: [foreign] };
  problems.push(...findNestedMigrations(migrationsDir, label, entries));

  const checker = createReturnTypeChecker(projectRoot);
  const migrations: ScannedMigration[] = [];
  // Every entry that names a version, valid or not, so a refused file still fills its place.
  const holders: VersionHolder[] = [];
  const misnamed: MisnamedEntry[] = [];
  for (const entry of entries) {
    const parsed = parseMigrationFileName(entry.name);
    if (parsed.status === "ignored") continue;
    const absolutePath = path.join(migrationsDir, entry.name);
    const file = projectPath(projectRoot, absolutePath);
    const quoted = JSON.stringify(entry.name);
    const version = heldVersion(parsed);
    if (version !== null) holders.push({ version, file, valid: parsed.status === "migration" });
    const notAFile = describeNonFileEntry(entry, absolutePath, quoted);
    if (notAFile) problems.push(problemAt(notAFile.code, file, notAFile.message));
    else if (parsed.status === "malformed") {
      problems.push(problemAt("BAD_FILE_NAME", file, badFileNameMessage(quoted, parsed.problem.reason)));
      if (version !== null) misnamed.push({ index: problems.length - 1, version, quoted, problem: parsed.problem });
    } else {
      const source = readSourceText(absolutePath, file, problems, (error) =>
        problemAt("MIGRATION_UNREADABLE", file, `cannot read this migration (${errorCode(error)}); make it readable by the user running stepwise (for example chmod 644 ${quoted})`),
      )?.text;
      if (source === undefined) continue;
      const base = { version: version!, name: parsed.migration.name, kind: parsed.migration.kind, file, absolutePath };
      const scanned =
        base.kind === "sql" ? scanSqlMigration(source, base, { dialect, batchOnly: options.target === "d1" }, problems) : scanTsMigration(source, base, { projectRoot, dialect, checker }, problems);
      if (scanned) migrations.push(scanned);
      // The versions a squash replaced stay taken, by it.
      for (const replaced of scanned?.replaced?.slice(0, -1) ?? []) holders.push({ version: replaced.version, file, valid: true });
      if (scanned?.holdsVersionsBelow && version! > 1) holders.push({ from: 1, version: version! - 1, file, valid: true });
    }
  }
  redirectTakenRenames(problems, misnamed, holders, entries);
  problems.push(...checkVersions(holders));
  // A problem in a file several migrations import (a tsconfig.json) is reported once.
  const unique = [...new Map(problems.map((problem) => [JSON.stringify(problem), problem])).values()];
  return { migrations: migrations.sort((a, b) => a.version - b.version), problems: unique };
}

/** `BAD_FILE_NAME`'s message for the entry `quoted`, refused for `reason`. */
const badFileNameMessage = (quoted: string, reason: string) => `not a valid migration file name ${quoted}: ${reason}`;

/** A refused name that reads a version: its problem's place in the list, the name as messages quote it, and why it was refused. */
interface MisnamedEntry {
  readonly index: number;
  readonly version: number;
  readonly quoted: string;
  readonly problem: Extract<ReturnType<typeof parseMigrationFileName>, { status: "malformed" }>["problem"];
}

/**
 * A refused name whose version a valid migration holds (`001_A.sql` beside `001_a.sql`, `002-x.sql` beside `002_x.sql`): the rename its message offers would overwrite that migration, or take its
 * version; the message offers the next free version instead, or deleting the file if it is a stray copy.
 */
function redirectTakenRenames(problems: Problem[], misnamed: readonly MisnamedEntry[], holders: readonly VersionHolder[], entries: readonly Dirent[]): void {
  if (misnamed.length === 0) return;
  const next = Math.max(...holders.map((holder) => holder.version)) + 1;
  const width = versionWidthOf(entries.map((entry) => entry.name));
  for (const { index, version, quoted, problem } of misnamed) {
    const { suggestedName } = problem;
    const taken = holders.find((holder) => holder.valid && holder.version === version && holder.file !== problems[index]!.file);
    if (taken === undefined) continue;
    const suggested = suggestedName === null ? null : parseMigrationFileName(suggestedName);
    const rename =
      suggested?.status === "migration" && Number.isSafeInteger(next) ? `, or rename it to ${formatMigrationFileName(next, suggested.migration.name, suggested.migration.kind, width)}` : "";
    const overwrite = suggestedName !== null && path.posix.basename(taken.file) === suggestedName ? ", under the very name offered, which a rename would overwrite" : "";
    const advice = `; ${taken.file} already holds version ${version}${overwrite}: delete this file if it is a stray copy of that migration${rename}`;
    problems[index] = { ...problems[index]!, message: badFileNameMessage(quoted, problem.reasonWithRenameAdvice(advice)), takenBy: taken.file };
  }
}

type MigrationBase = Pick<ScannedMigration, "version" | "name" | "kind" | "file" | "absolutePath">;

function scanSqlMigration(source: string, base: MigrationBase, options: SqlSourceOptions, problems: Problem[]): ScannedMigration | null {
  const result = parseSqlMigrationSource(source, options);
  if (!result.ok) return addProblems(problems, ...result.problems.map((problem) => ({ ...problem, file: base.file })));
  const { migration } = result;
  const squash = readSquashRecord(source);
  // An unreadable record still holds the versions below the file's, so the problem is the record's alone.
  // Held as a range, never listed: a version may be as large as 2^53 - 1.
  const holding = { ...base, description: null, checksum: "", reversible: false, transaction: true, disableForeignKeys: false, async: false, holdsVersionsBelow: true };
  if (squash !== null && "reason" in squash) {
    problems.push({ ...problemAt("SQUASH_RECORD_INVALID", base.file, `this squash's record cannot be read: ${squash.reason}`), line: squash.line });
    return holding;
  }
  if (squash !== null && squash.record.version !== base.version) {
    const message = `this squash's record says it replaced migrations 1 to ${squash.record.version}, but the file is version ${base.version}; name the file with version ${squash.record.version}`;
    problems.push({ ...problemAt("SQUASH_RECORD_INVALID", base.file, message), line: squash.record.line });
    return holding;
  }
  if (squash !== null && squash.record.reviewLines.length > 0) {
    const message = `stepwise squash flagged this for review: read the note on this line (rows the squashed migrations inserted, or statements that moved data), keep or change the SQL below it, then delete the "-- stepwise:review" line`;
    // Still scanned: the versions it replaced stay taken.
    problems.push(...squash.record.reviewLines.map((line) => ({ ...problemAt("SQUASH_REVIEW_PENDING", base.file, message), line })));
  }
  return {
    ...base,
    ...(squash === null ? {} : { replaced: squash.record.replaced }),
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

/** A `.ts` migration: its `defineMigration` call, the local files it imports, and its checksum over both. */
function scanTsMigration(
  source: string,
  base: MigrationBase,
  context: { projectRoot: string; dialect: SqlDialect; checker: ReturnType<typeof createReturnTypeChecker> },
  problems: Problem[],
): ScannedMigration | null {
  const analyzed = readNestedCode(base.file, problems, () => {
    const sourceFile = parseTypeScript(base.absolutePath, source);
    return { sourceFile, result: analyzeTsMigration(sourceFile, base.file, context.dialect, context.checker(base.absolutePath, sourceFile)) };
  });
  if (analyzed === null) return null;
  const { sourceFile, result } = analyzed;
  if (!result.ok) return addProblems(problems, ...result.problems);
  const { earlierChecksums, ...facts } = result.facts;
  const imports = followLocalImports({ absolutePath: base.absolutePath, sourceFile, ownChecksum: facts.checksum, earlierOwnChecksums: earlierChecksums, projectRoot: context.projectRoot });
  if (imports.problems.length > 0) return addProblems(problems, ...imports.problems);
  return { ...base, ...facts, checksum: imports.checksum, legacyChecksum: imports.legacyChecksum, dependencies: imports.probed, localImports: imports.files };
}

/** The folder's entries in name order, or `null` after reporting why it cannot be listed. */
function readMigrationsFolder(migrationsDir: string, label: string, problems: Problem[], projectRoot: string): Dirent[] | null {
  const refuse = (code: ProblemCode, message: string) => addProblems(problems, problemAt(code, label, message));
  const notAFolder = (what: string) => `${what}; point --dir (or "migrationsDir" in the config) at the folder that holds the migrations`;
  let stats;
  try {
    stats = statSync(migrationsDir);
  } catch (error) {
    const broken = errorCode(error) === "ENOENT" || errorCode(error) === "ELOOP" ? findBrokenLink(migrationsDir) : null;
    if (broken !== null) {
      const linkLabel = projectPath(projectRoot, broken.link) || ".";
      const message = `${describeBrokenLink(broken, linkLabel)}; point the link at the folder that holds the migrations, or replace it with that folder`;
      const code = broken.kind === "loop" ? "MIGRATIONS_DIR_UNREADABLE" : "MIGRATIONS_DIR_MISSING";
      return addProblems(problems, { ...problemAt(code, label, message), link: { file: linkLabel, target: broken.target, kind: broken.kind } });
    }
    if (errorCode(error) === "ENOENT") return refuse("MIGRATIONS_DIR_MISSING", `the migrations folder does not exist; create it with "stepwise create", or point to it with --dir`);
    if (errorCode(error) === "ENOTDIR") return refuse("MIGRATIONS_DIR_NOT_A_FOLDER", notAFolder("a part of this path is a file, not a folder"));
    return refuse("MIGRATIONS_DIR_UNREADABLE", `cannot open the migrations folder (${errorCode(error)}); make it readable by the user running stepwise`);
  }
  if (!stats.isDirectory()) return refuse("MIGRATIONS_DIR_NOT_A_FOLDER", notAFolder("this is a file, not a folder"));
  try {
    return readdirSync(migrationsDir, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name));
  } catch (error) {
    return refuse("MIGRATIONS_DIR_UNREADABLE", `cannot list the migrations folder (${errorCode(error)}); make it readable by the user running stepwise (for example chmod 755 on it)`);
  }
}

/** A migration is a regular file; a symbolic link is refused, since its target can change while nothing in the folder does. */
function describeNonFileEntry(entry: Dirent, absolutePath: string, quoted: string): { code: "MIGRATION_SYMLINK" | "MIGRATION_NOT_A_FILE"; message: string } | null {
  if (entry.isSymbolicLink()) {
    const target = tryOr(() => JSON.stringify(readlinkSync(absolutePath)), "an unreadable target");
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

/** An entry's claim on a version, or (with `from`) on every version from `from` to `version`: a squash whose record cannot be read. */
interface VersionHolder {
  readonly version: number;
  readonly from?: number;
  readonly file: string;
  readonly valid: boolean;
}

/**
 * Versions are unique and run 1, 2, 3… with no gaps; a refused file still holds its version, but only valid names count as duplicates. The work is in the number of holders, never in the size of a
 * version, which may be as large as 2^53 - 1 (timestamps such as 20240101120000 are common in other tools' folders).
 */
function checkVersions(holders: readonly VersionHolder[]): Problem[] {
  const problems: Problem[] = [];
  const filesByVersion = new Map<number, string[]>();
  const hold = (version: number, holder: VersionHolder) => filesByVersion.set(version, [...(filesByVersion.get(version) ?? []), ...(holder.valid ? [holder.file] : [])]);
  const [points, ranges] = [holders.filter((holder) => holder.from === undefined), holders.filter((holder) => holder.from !== undefined)];
  for (const holder of points) hold(holder.version, holder);
  // A range is listed only at its first version and where another entry holds a version inside it: enough to find every duplicate without walking it.
  const named = new Set([...filesByVersion.keys(), ...ranges.map((range) => range.from!)]);
  for (const range of ranges) for (const version of named) if (version >= range.from! && version <= range.version) hold(version, range);
  const holderAt = (version: number) => holders.find((holder) => (holder.from ?? holder.version) <= version && version <= holder.version)!.file;
  const firstFile = (version: number) => filesByVersion.get(version)?.[0] ?? holderAt(version);
  for (const [version, files] of filesByVersion) {
    if (files.length < 2) continue;
    for (const file of files) {
      const others = files.filter((other) => other !== file).join(", ");
      const message = `version ${version} is also used by ${others}; give one of them the next free version (renumber it and run "stepwise gen"; after merging a branch, "stepwise rebase" renumbers the branch's own migrations)`;
      problems.push(problemAt("DUPLICATE_VERSION", file, message));
    }
  }
  const spans = holders.map((holder) => ({ from: holder.from ?? holder.version, to: holder.version })).sort((a, b) => a.from - b.from);
  if (spans.length > 0 && spans[0]!.from > 1) {
    problems.push(problemAt("VERSIONS_DO_NOT_START_AT_ONE", firstFile(spans[0]!.from), `versions must start at 1, but the first is ${spans[0]!.from}; renumber it to 001`));
  }
  let reached = spans[0]?.to ?? 0;
  for (const span of spans.slice(1)) {
    const [from, to] = [reached + 1, span.from - 1];
    reached = Math.max(reached, span.to);
    if (from > to) continue;
    const missing = from === to ? String(from) : to - from < 5 ? Array.from({ length: to - from + 1 }, (_, k) => from + k).join(", ") : `${from}–${to}`;
    const message = `version${from === to ? ` ${missing} is` : `s ${missing} are`} missing between ${firstFile(from - 1)} and this file; renumber so versions have no gaps`;
    problems.push({ ...problemAt("VERSION_GAP", firstFile(to + 1), message), missingVersions: { from, to } });
  }
  return problems;
}

/** How the registry's relative imports end: `""` is no extension. */
export type ImportExtension = ".js" | ".ts" | "";

/**
 * `.js` works under every module resolution tsc has; `.ts` only where the project's tsconfig lets it
 * import `.ts` files itself. A registry that compiles to CommonJS (`"module": "commonjs"`, or node16 /
 * nodenext in a package that is not `"type": "module"`, as NestJS apps are) gets no extension, as the
 * project's own imports have: the tools that run such sources with Node's CommonJS resolver (ts-node,
 * Jest) do not map `./x.js` to `x.ts`.
 */
export function resolveImportExtension(projectRoot: string, registryFile: string): ImportExtension {
  const options = readTsconfig(projectRoot);
  if (options?.allowImportingTsExtensions || options?.rewriteRelativeImportExtensions) return ".ts";
  const module = options?.module;
  if (module === ts.ModuleKind.CommonJS) return "";
  const nodeModules = module !== undefined && module >= ts.ModuleKind.Node16 && module <= ts.ModuleKind.NodeNext;
  return nodeModules && !/\.mts$/.test(registryFile) && (/\.cts$/.test(registryFile) || packageTypeOf(path.dirname(registryFile)) !== "module") ? "" : ".js";
}

/** The `type` of the nearest package.json at or above `dir` (Node's rule for a `.ts`/`.js` file's format). */
function packageTypeOf(dir: string): unknown {
  for (let at = dir; ; at = path.dirname(at)) {
    const manifest = tryOr(() => parseJson(readFileSync(path.join(at, "package.json"), "utf8")) as { type?: unknown } | null, undefined);
    if (manifest !== undefined) return manifest?.type;
    if (path.dirname(at) === at) return undefined;
  }
}
