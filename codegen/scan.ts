/**
 * Reads the migrations folder: classifies each file by name, parses TypeScript migrations with
 * ts-morph and SQL ones with the shared parser, and checks the version rules across the folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Project } from "ts-morph";
import { parseMigrationFileName, type MigrationKind } from "../src/migration-file.js";
import { decodeSourceBytes } from "../src/source-text.js";
import { parseSqlMigrationSource } from "../src/sql-source.js";
import { followLocalImports } from "./local-imports.js";
import { toPortablePath } from "./portable-path.js";
import type { Problem } from "./problems.js";
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
  readonly reversible: boolean;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  /** SQL migrations only. */
  readonly upSql?: string;
  readonly downSql?: string | null;
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
}

/** Scans `migrationsDir`. Never throws for bad input: every issue becomes a {@link Problem}. */
export function scanMigrations(options: ScanOptions): ScanResult {
  const problems: Problem[] = [];
  const relative = (absolute: string) => toPortablePath(path.relative(options.projectRoot, absolute));
  if (!existsSync(options.migrationsDir) || !statSync(options.migrationsDir).isDirectory()) {
    problems.push({
      code: "MIGRATIONS_DIR_MISSING",
      file: relative(options.migrationsDir),
      line: 1,
      column: 1,
      message: `the migrations folder does not exist; create it with "stepwise create", or point to it with --dir`,
    });
    return { migrations: [], problems };
  }

  const project = new Project({
    useInMemoryFileSystem: true,
    skipLoadingLibFiles: true,
    compilerOptions: { allowJs: false, noLib: true },
  });
  const migrations: ScannedMigration[] = [];
  const fileNames = readdirSync(options.migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();

  for (const fileName of fileNames) {
    const parsedName = parseMigrationFileName(fileName);
    const absolutePath = path.join(options.migrationsDir, fileName);
    const file = relative(absolutePath);
    if (parsedName.status === "ignored") continue;
    if (parsedName.status === "malformed") {
      problems.push({ code: "BAD_FILE_NAME", file, line: 1, column: 1, message: `not a valid migration file name: ${parsedName.problem.reason}` });
      continue;
    }
    const { version, name, kind } = parsedName.migration;
    const decoded = decodeSourceBytes(readFileSync(absolutePath));
    if (!decoded.ok) {
      problems.push({ code: "FILE_NOT_UTF8", file, line: decoded.line, column: decoded.column, message: decoded.message });
      continue;
    }
    const source = decoded.text;
    const base = { version, name, kind, file, absolutePath };
    if (kind === "sql") {
      const result = parseSqlMigrationSource(source);
      if (!result.ok) {
        for (const problem of result.problems) problems.push({ ...problem, file });
        continue;
      }
      const { migration } = result;
      migrations.push({
        ...base,
        description: migration.description,
        checksum: migration.checksum,
        reversible: migration.downSql !== null,
        transaction: migration.transaction,
        disableForeignKeys: migration.disableForeignKeys,
        upSql: migration.upSql,
        downSql: migration.downSql,
      });
    } else {
      const normalized = source.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
      const sourceFile = project.createSourceFile(`/migrations/${fileName}`, normalized, { overwrite: true });
      const result = analyzeTsMigration(sourceFile, file);
      const imports = result.ok ? followLocalImports({ absolutePath, sourceFile: sourceFile.compilerNode, ownChecksum: result.facts.checksum, relative }) : null;
      project.removeSourceFile(sourceFile);
      if (!result.ok) {
        problems.push(...result.problems);
        continue;
      }
      if (imports!.problems.length > 0) {
        problems.push(...imports!.problems);
        continue;
      }
      migrations.push({ ...base, ...result.facts, checksum: imports!.checksum, dependencies: imports!.probed, localImports: imports!.files });
    }
  }

  problems.push(...checkVersions(fileNames, options.migrationsDir, relative));
  migrations.sort((a, b) => a.version - b.version);
  return { migrations, problems };
}

/**
 * Versions must be unique and run 1, 2, 3… with no gaps. Files that failed their own checks still
 * hold their version, so a broken file is not also reported as a gap.
 */
function checkVersions(
  fileNames: readonly string[],
  migrationsDir: string,
  relative: (absolute: string) => string,
): Problem[] {
  const problems: Problem[] = [];
  const filesByVersion = new Map<number, string[]>();
  for (const fileName of fileNames) {
    const parsed = parseMigrationFileName(fileName);
    if (parsed.status !== "migration") continue;
    const list = filesByVersion.get(parsed.migration.version) ?? [];
    list.push(relative(path.join(migrationsDir, fileName)));
    filesByVersion.set(parsed.migration.version, list);
  }
  for (const [version, files] of filesByVersion) {
    if (files.length < 2) continue;
    for (const file of files) {
      const others = files.filter((other) => other !== file);
      problems.push({
        code: "DUPLICATE_VERSION",
        file,
        line: 1,
        column: 1,
        message: `version ${version} is also used by ${others.join(", ")}; give one of them the next free version (renumber it and run "stepwise gen")`,
      });
    }
  }

  const versions = [...filesByVersion.keys()].sort((a, b) => a - b);
  if (versions.length === 0) return problems;
  if (versions[0]! > 1) {
    const first = filesByVersion.get(versions[0]!)![0]!;
    problems.push({
      code: "VERSIONS_DO_NOT_START_AT_ONE",
      file: first,
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
    const file = filesByVersion.get(current)![0]!;
    problems.push({
      code: "VERSION_GAP",
      file,
      line: 1,
      column: 1,
      message: `version${current - previous > 2 ? "s" : ""} ${missing} ${current - previous > 2 ? "are" : "is"} missing between ${filesByVersion.get(previous)![0]} and this file; renumber so versions have no gaps`,
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

