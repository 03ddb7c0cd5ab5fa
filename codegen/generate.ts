/**
 * `stepwise gen`: scan, validate, render, format, then write atomically or, with `check`, compare. Nothing is written unless every step succeeded, so a failed run leaves the old registry as it was.
 */
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import path from "node:path";
import { ts } from "ts-morph";
import type { RegistryChangeKind } from "../src/core/errors.js";
import type { SqlDialect } from "../src/core/types.js";
import { describeBrokenLink, findBrokenLink } from "./broken-link.js";
import type { Target } from "./config.js";
import { genCommandOf } from "./gen-command.js";
import { findCurrentRegistry, fingerprintGenInputs, forgetRegistry, genCacheKeyFor, realPathOfFolder, rememberCurrentRegistry } from "./gen-cache.js";
import { isMigrationLike, parseMigrationFileName } from "./migration-file.js";
import { errorCode, joinLines, problemAt, projectPath, sortProblems, tryOr, type Problem } from "./problems.js";
import { REGISTRY_HEADER, renderRegistry } from "./render.js";
import { resolveImportExtension, scanMigrations, type ScannedMigration } from "./scan.js";
import { unwrapExpression } from "./ts-checksum.js";
import { canonicalizeSql } from "../src/shared/checksum.js";
import { writeFileAtomic } from "../src/safety/write-file.js";

/** Inputs for {@link generateRegistry}; paths are absolute. */
export interface GenerateOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  /** Compare with the file on disk instead of writing. Default `false`. */
  readonly check?: boolean;
  /** Module the registry imports types from. Default: the package's name (`PACKAGE_NAME`). */
  readonly runtimeModule?: string;
  /**
   * The SQL dialect the migrations are written in (`sqlite` or `postgres`): how their SQL is tokenised, checked and hashed, and what the registry records for the runtime to check against its driver.
   * Default `sqlite`.
   */
  readonly dialect?: SqlDialect;
  /** The runtime the registry is for, when it restricts migrations (`d1`: SQL only). */
  readonly target?: Target | null;
  /** Folder for the content-hash cache (see `gen-cache.ts`) that skips scanning and formatting when no input changed. Default `null`: no cache. The bin passes `node_modules/.cache/stepwise`. */
  readonly cacheDir?: string | null;
}

/** What happened. `problems` is empty exactly when `ok` is true. */
export interface GenerateResult {
  readonly ok: boolean;
  /** `written` (the file changed), `unchanged` (already current, nothing written), `stale` (`check` found a difference) or `invalid` (the migrations have problems; nothing was written). */
  readonly status: "written" | "unchanged" | "stale" | "invalid";
  readonly problems: readonly Problem[];
  readonly registryFile: string;
  readonly migrationCount: number;
  readonly latestVersion: number;
}

/** The registry text `gen` would write now, or the problems that stop it. */
export type RegistrySourceResult =
  | { readonly ok: true; readonly source: string; readonly migrations: readonly ScannedMigration[] }
  | { readonly ok: false; readonly problems: readonly Problem[]; readonly migrations: readonly ScannedMigration[] };

/** Runs `gen` or `gen --check`. Throws only for I/O failures, such as `FILE_WRITE_FAILED` (the old registry is then kept). */
export async function generateRegistry(options: GenerateOptions): Promise<GenerateResult> {
  const label = projectPath(options.projectRoot, options.registryFile);
  const result = (status: GenerateResult["status"], problems: readonly Problem[], migrations: readonly { version: number }[] = []): GenerateResult => {
    return { ok: problems.length === 0, status, problems, registryFile: options.registryFile, migrationCount: migrations.length, latestVersion: migrations.at(-1)?.version ?? 0 };
  };
  const previous = readPreviousRegistry(options, label);
  if (typeof previous === "object" && previous !== null) {
    // Every problem at once: the migrations' own are still worth fixing while the registry path is.
    const built = await buildRegistrySource(options);
    return result("invalid", [previous, ...(built.ok ? [] : built.problems)], built.migrations);
  }
  const cacheDir = options.cacheDir ?? null;
  const key = genCacheKeyFor(options);
  const fingerprint = cacheDir === null ? null : fingerprintGenInputs(key);
  const known = fingerprint === null ? null : findCurrentRegistry(cacheDir!, key, fingerprint);
  if (known) return { ...result("unchanged", []), migrationCount: known.migrationCount, latestVersion: known.latestVersion };
  if (cacheDir !== null) forgetRegistry(cacheDir, key);
  // A registry of the other dialect is another registry (an app on both keeps one per dialect), never overwritten.
  const dialect = options.dialect ?? "sqlite";
  const recorded = previous === null ? null : (readRecordedDialect(previous) ?? (readRecordedEntries(previous).size > 0 ? "sqlite" : null));
  if (recorded !== null && recorded !== dialect) {
    const message = `${label} was generated for ${recorded}, and this run is for ${dialect}; point --out (or "registryFile" for ${dialect} in the config) at this dialect's own registry, such as generated/registry.${dialect}.ts, or delete ${label} if the project really moves to ${dialect}`;
    return result(options.check ? "stale" : "invalid", [problemAt("REGISTRY_DIALECT_CHANGED", label, message)]);
  }
  const built = await buildRegistrySource(options);
  if (!built.ok) return result("invalid", withDeletedMigrations(built.problems, built.migrations, previous, options.projectRoot, label), built.migrations);
  // Line breaks aside: a checkout that made them CRLF (git's `core.autocrlf`) holds the same registry, since a template literal reads a CRLF as LF and a carriage return that is data is written `\r`.
  const current = previous !== null && (previous === built.source || previous.replace(/\r\n/g, "\n") === built.source.replace(/\r\n/g, "\n"));
  if (!current && options.check) return result("stale", describeStaleness(previous, built.migrations, label, genCommandOf(options.projectRoot, { ...options, dialect }), dialect), built.migrations);
  if (!current) writeFileAtomic(options.registryFile, built.source);
  // The cache vouches for the bytes on disk, which a current registry keeps.
  if (fingerprint !== null) rememberCurrentRegistry(cacheDir!, key, fingerprint, current ? previous : built.source, built.migrations);
  return result(current ? "unchanged" : "written", [], built.migrations);
}

/** The registry's text (`null`: absent), or what stops gen reading (a pipe would block) or overwriting it. */
function readPreviousRegistry(options: GenerateOptions, label: string): string | null | Problem {
  const unwritable = (message: string) => problemAt("REGISTRY_UNWRITABLE", label, message);
  const refuse = (what: string) =>
    unwritable(`${label} ${what}, so gen will not overwrite it with the registry; point --out (or "registryFile" in the config) at a file such as generated/registry.ts`);
  // The registry is TypeScript: in a .js file Node would fail at its first type annotation, while the bin (which loads it through tsx) runs it.
  // A declaration file (.d.ts) is never compiled to JavaScript, so the app would import types and nothing to run.
  if (!/\.[mc]?ts$/.test(options.registryFile) || /\.d\.[mc]?ts$/.test(options.registryFile)) {
    const what = /\.d\.[mc]?ts$/.test(options.registryFile) ? "a declaration file name, which TypeScript never compiles to JavaScript," : "no TypeScript file name,";
    return unwritable(`${label} is ${what} and the registry is TypeScript, which the app compiles; point --out (or "registryFile" in the config) at a .ts file such as generated/registry.ts`);
  }
  // By real paths: through a symbolic link to the folder (or to one above it) the registry would land there all the same, and fail every later gen as a migration.
  if (realPathOfFolder(path.dirname(options.registryFile)) === realPathOfFolder(options.migrationsDir) && isMigrationLike(path.basename(options.registryFile))) {
    const through = path.resolve(path.dirname(options.registryFile)) === path.resolve(options.migrationsDir) ? "" : " (which its folder is, through a symbolic link)";
    return refuse(`is named like a migration in the migrations folder${through}`);
  }
  // A link on the way that leads nowhere would fail the write with ENOENT or ELOOP, which names neither the link nor the fix.
  const broken = findBrokenLink(path.dirname(options.registryFile));
  if (broken !== null) {
    const linkLabel = projectPath(options.projectRoot, broken.link);
    const message = `the registry cannot be written here: ${describeBrokenLink(broken, linkLabel)}; point the link at an existing folder, replace it with a folder, or choose another --out path (or "registryFile" in the config)`;
    return { ...unwritable(message), link: { file: linkLabel, target: broken.target, kind: broken.kind } };
  }
  for (let dir = path.dirname(options.registryFile); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const stats = tryOr(() => statSync(dir), null);
    if (stats?.isDirectory()) break;
    if (stats) {
      const message = `the registry cannot be written here: ${projectPath(options.projectRoot, dir)} is a file, not a folder; choose another --out path (or "registryFile" in the config), or move that file away`;
      return unwritable(message);
    }
  }
  // gen replaces the registry by renaming a new file over it, which would replace a link and leave the file it names (say, shared with another package) stale; its imports are relative to where it is.
  if (tryOr(() => lstatSync(options.registryFile).isSymbolicLink(), false)) {
    const target = tryOr(() => JSON.stringify(readlinkSync(options.registryFile)), "an unreadable target");
    const message = `${label} is a symbolic link to ${target}, which gen would replace with a file of its own while the file it names stayed as it was; point --out (or "registryFile" in the config) at the file the link names, or replace the link with that file`;
    return unwritable(message);
  }
  const stats = tryOr(() => statSync(options.registryFile), null);
  if (stats && !stats.isFile()) {
    const what = stats.isDirectory() ? "a folder" : "not a regular file (a pipe, socket or device)";
    return problemAt("REGISTRY_UNREADABLE", label, `${label} is ${what}, not the registry file; remove it, or point --out (or "registryFile" in the config) at a file such as generated/registry.ts`);
  }
  let text: string;
  try {
    text = readFileSync(options.registryFile, "utf8");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return null;
    return problemAt("REGISTRY_UNREADABLE", label, `cannot read the registry (${errorCode(error)}); make ${label} a readable file, or delete it and run "stepwise gen"`);
  }
  // A formatter or a licence banner may put a few lines above the header.
  const head = text.slice(0, 4096);
  return head.trim() === "" || head.includes(REGISTRY_HEADER) ? text : refuse(`exists and is not a registry written by stepwise gen (it lacks the "${REGISTRY_HEADER}" header)`);
}

/** Scans, renders and formats without touching the registry file: what {@link generateRegistry} would write. */
export async function buildRegistrySource(options: Pick<GenerateOptions, "projectRoot" | "migrationsDir" | "registryFile" | "runtimeModule" | "dialect" | "target">): Promise<RegistrySourceResult> {
  const dialect = options.dialect ?? "sqlite";
  const { migrations, problems } = scanMigrations({ projectRoot: options.projectRoot, migrationsDir: options.migrationsDir, dialect, target: options.target });
  const d1 = `this project's registry is for D1 ("target": "d1"), which applies a migration atomically only as one batch of SQL with its history row; a TypeScript migration cannot be atomic there. Write it as a .sql migration, or, if it may be left half done, add transaction: false to its defineMigration`;
  for (const migration of options.target === "d1" ? migrations : []) if (migration.kind === "ts" && migration.transaction) problems.push(problemAt("TS_MIGRATION_ON_D1", migration.file, d1));
  const unimportable = migrations.some((migration) => migration.kind === "ts") ? (unimportablePath(options) ?? registryFolderLinked(options)) : null;
  if (unimportable !== null) problems.push(unimportable);
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems), migrations };
  const migrationsDirLabel = projectPath(options.projectRoot, options.migrationsDir) || ".";
  const importExtension = resolveImportExtension(options.projectRoot, options.registryFile);
  const source = renderRegistry({ migrations, registryFile: options.registryFile, importExtension, migrationsDirLabel, runtimeModule: options.runtimeModule, dialect });
  const prettier = await import("prettier");
  try {
    // No config cache: a long-lived process (a watcher) must see an edited config. babel-ts prints the registry's literals as the typescript parser does, in about half the time.
    const config = (await prettier.resolveConfig(options.registryFile, { ...(await projectFormatterConfig(prettier, options)).options, useCache: false })) ?? {};
    const formatted = await prettier.format(source, { ...config, parser: "babel-ts", filepath: options.registryFile });
    const changed = firstChangedValue(source, formatted);
    if (changed === null) return { ok: true, source: formatted, migrations };
    // A plugin may rewrite what it formats (SQL in a template literal), and the app would then run other SQL than the file's under its checksum.
    const configFile = (await projectFormatterConfig(prettier, options).catch(() => null))?.file ?? null;
    const message = `prettier, with this project's config, changed the registry's values and not only their layout (${changed}), so the app would run other SQL than the files hold; remove the plugin or option that rewrites code from the config that applies to the registry, or give the registry an override without it`;
    return { ok: false, problems: [problemAt("FORMATTER_FAILED", projectPath(options.projectRoot, configFile ?? options.registryFile), message)], migrations };
  } catch (error) {
    // A config prettier cannot parse (or a plugin it cannot load) is the project's to fix, reported at the config file.
    const configFile = (await projectFormatterConfig(prettier, options).catch(() => null))?.file ?? null;
    const reason = joinLines(error instanceof Error ? error.message : String(error), 2);
    const fix = configFile ? "this config file" : "the prettier config that applies to the registry";
    const message = `prettier could not format the registry with this project's config (${reason}); fix ${fix}, then run "stepwise gen" again`;
    return { ok: false, problems: [problemAt("FORMATTER_FAILED", projectPath(options.projectRoot, configFile ?? options.registryFile), message)], migrations };
  }
}

/**
 * Where prettier may read the registry's style: the repository that holds the project (the nearest folder at or above it with a `.git` or `.hg`: a monorepo's root config applies
 * to its packages), else the project alone; never a folder above that, such as a developer's home `.prettierrc` or `.editorconfig`, since the registry must be the same bytes on every
 * machine. `config`: the nearest prettier config inside that boundary (`file`) or, with none, the project's package.json (which then holds none), so prettier searches no further;
 * `editorconfig`: whether prettier's own search for `.editorconfig` files meets none above the boundary.
 */
async function projectFormatterConfig(
  prettier: { resolveConfigFile(file: string): Promise<string | null> },
  options: { projectRoot: string; registryFile: string },
): Promise<{ options: { config?: string; editorconfig: boolean }; file: string | null }> {
  const isRepository = (dir: string) => [".git", ".hg"].some((marker) => existsSync(path.join(dir, marker)));
  let boundary = path.resolve(options.projectRoot);
  for (let dir = boundary; ; dir = path.dirname(dir)) {
    if (isRepository(dir)) boundary = dir;
    if (isRepository(dir) || path.dirname(dir) === dir) break;
  }
  const inside = (file: string) => {
    const relative = path.relative(boundary, path.resolve(file));
    return !/^\.\.(\/|\\|$)/.test(relative) && !path.isAbsolute(relative);
  };
  const found = await prettier.resolveConfigFile(options.registryFile);
  const packageJson = path.join(options.projectRoot, "package.json");
  const config = found !== null && inside(found) ? found : existsSync(packageJson) ? packageJson : undefined;
  let editorconfig = config !== undefined;
  for (let dir = path.dirname(path.resolve(options.registryFile)); editorconfig; dir = path.dirname(dir)) {
    if (!inside(dir) && existsSync(path.join(dir, ".editorconfig"))) editorconfig = false;
    if (isRepository(dir) || path.dirname(dir) === dir) break;
  }
  return { options: { ...(config === undefined ? {} : { config }), editorconfig }, file: config === found ? found : null };
}

/** The values of `source` in order (literals and names, property names as names), comments and punctuation left out, the imports as a set (a plugin may sort them): what formatting may not change. */
function valuesOf(source: string): string[] {
  const imports: string[] = [];
  const visit = (node: ts.Node, values: string[]): void => {
    if (ts.isImportDeclaration(node)) {
      const own: string[] = [];
      ts.forEachChild(node, (child) => visit(child, own));
      return void imports.push(own.join(" "));
    }
    if (ts.isStringLiteral(node) && ts.isPropertyAssignment(node.parent) && node.parent.name === node) values.push(`name ${node.text}`);
    else if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) values.push(`text ${JSON.stringify(node.text)}`);
    else if (ts.isNumericLiteral(node)) values.push(`number ${Number(node.text)}`);
    else if (ts.isIdentifier(node)) values.push(`name ${node.text}`);
    else if (node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword || node.kind === ts.SyntaxKind.NullKeyword) values.push(`name ${node.getText()}`);
    ts.forEachChild(node, (child) => visit(child, values));
  };
  const values: string[] = [];
  visit(ts.createSourceFile("registry.ts", source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS), values);
  return [...values, ...imports.sort()];
}

/** The first value `formatted` holds other than `rendered` does, shortened for a message; `null` when formatting changed only the layout. */
function firstChangedValue(rendered: string, formatted: string): string | null {
  const [before, after] = [valuesOf(rendered), valuesOf(formatted)];
  const index = before.findIndex((value, at) => value !== after[at]);
  const at = index === -1 ? (after.length === before.length ? -1 : before.length) : index;
  if (at === -1) return null;
  const shorten = (value: string | undefined) => (value === undefined ? "nothing" : value.length > 80 ? `${value.slice(0, 77)}...` : value);
  return `${shorten(before[at])} became ${shorten(after[at])}`;
}

/**
 * The registry imports each TypeScript migration by its path from the registry; Node resolves that as a URL, in which `#`, `%` and `?` start a fragment, an escape and a
 * query: `v%31` would load `v1`. Refused rather than escaped, since TypeScript reads the same path as a file name.
 */
function unimportablePath(options: Pick<GenerateOptions, "projectRoot" | "migrationsDir" | "registryFile">): Problem | null {
  const fromRegistry = path.relative(path.dirname(options.registryFile), options.migrationsDir);
  const found = /[#%?]/.exec(fromRegistry);
  if (found === null) return null;
  const label = projectPath(options.projectRoot, options.migrationsDir) || ".";
  const message = `the registry would import the migrations through "${fromRegistry.split(path.sep).join("/")}", whose "${found[0]}" Node reads as part of a URL, so they would fail to load or load other files; rename the folder without #, % or ?`;
  return problemAt("MIGRATIONS_DIR_UNIMPORTABLE", label, message);
}

/**
 * The registry imports each migration by a path relative to its own folder, which tsc and gen read from the folder as written, while Node (and bundlers) resolve it from the folder the registry
 * really is in: when a folder on the registry's path is a symbolic link, the same import can load another file there, or none. Refused where it would, as a link in place of the registry file is.
 */
function registryFolderLinked(options: Pick<GenerateOptions, "projectRoot" | "migrationsDir" | "registryFile">): Problem | null {
  const dir = path.dirname(options.registryFile);
  const realDir = realPathOfFolder(dir);
  const imported = path.relative(dir, options.migrationsDir);
  if (realPathOfFolder(path.resolve(realDir, imported)) === realPathOfFolder(options.migrationsDir)) return null;
  const label = projectPath(options.projectRoot, options.registryFile);
  const [shown, real] = [projectPath(options.projectRoot, dir) || ".", projectPath(options.projectRoot, realDir)];
  const message = `${shown} is reached through a symbolic link to ${real}, from where Node resolves the registry's imports, so "${imported.split(path.sep).join("/")}/…" would load files other than ${projectPath(options.projectRoot, options.migrationsDir) || "."}; point --out (or "registryFile" in the config) at a folder reached without a link, such as ${real}`;
  return problemAt("REGISTRY_UNWRITABLE", label, message);
}

/**
 * `problems` with each version gap that a migration the registry still lists, and the folder no longer has under any number, used to fill: it was deleted, and renumbering the
 * rest (the gap's usual fix) makes every database that applied it refuse them, so the way out is to restore it.
 */
function withDeletedMigrations(problems: readonly Problem[], migrations: readonly ScannedMigration[], previous: string | null, projectRoot: string, label: string): Problem[] {
  if (previous === null || !problems.some((problem) => problem.code === "VERSION_GAP")) return [...problems];
  const names = new Set(migrations.map((migration) => migration.name));
  const deleted = [...readRecordedEntries(previous).keys()].flatMap((file) => {
    const parsed = parseMigrationFileName(path.posix.basename(file));
    return parsed.status === "migration" && !names.has(parsed.migration.name) && !existsSync(path.join(projectRoot, file)) ? [{ file, version: parsed.migration.version }] : [];
  });
  return problems.map((problem) => {
    const gap = problem.code === "VERSION_GAP" ? problem.missingVersions : undefined;
    const files = deleted.filter(({ version }) => gap !== undefined && version >= gap.from && version <= gap.to).map(({ file }) => file);
    if (files.length === 0) return problem;
    const which = files.length === 1 ? `${files[0]}, which ${label} still lists, was deleted` : `${files.join(", ")}, which ${label} still lists, were deleted`;
    const restore = `if a database applied ${files.length === 1 ? "it" : "them"}, restore ${files.length === 1 ? "it" : "them"} ("git checkout -- ${files.join(" ")}") and undo ${files.length === 1 ? "it" : "them"} in a new migration instead, since that database refuses renumbered migrations (CHECKSUM_MISMATCH)`;
    return { ...problem, message: `${problem.message}; but ${which}: ${restore}`, deletedFiles: files };
  });
}

/** Names what changed, so `--check` says which migration was not registered rather than just "differs". */
function describeStaleness(previous: string | null, migrations: readonly ScannedMigration[], label: string, genCommand: string, dialect: SqlDialect): Problem[] {
  const stale = (file: string, line: number, change: RegistryChangeKind, message: string, relatedFiles: readonly string[] = [], changed = file): Problem => ({
    ...problemAt("REGISTRY_STALE", file, `${message}; run "${genCommand}" and commit ${label}`),
    line,
    ...(relatedFiles.length > 0 ? { relatedFiles } : {}),
    staleness: { change, file: changed },
  });
  if (previous === null) return [stale(label, 1, "registry", "the registry does not exist")];
  const recorded = readRecordedEntries(previous);
  const problems: Problem[] = [];
  for (const migration of migrations) {
    const entry = recorded.get(migration.file);
    recorded.delete(migration.file);
    if (entry === undefined) problems.push(stale(migration.file, 1, "added", `this migration is not in ${label}`));
    // A SQL description sits in a comment, outside the checksum, so it is compared on its own.
    // The checksum leaves out layout and comments, which the inlined SQL (and its error positions) keep: a file edited so is stale too. SQL that differs in meaning under the
    // same checksum was edited in the registry, which the last line reports.
    else if (entry.checksum !== migration.checksum || entry.description !== migration.description || (migration.kind === "sql" && sameMeaningOtherText(entry, migration, dialect))) {
      const imports = migration.localImports ?? [];
      const what = imports.length === 0 ? "this migration" : `this migration or a file it imports (${imports.join(", ")})`;
      problems.push(stale(migration.file, 1, "changed", `${what} changed since ${label} was generated`, imports));
    } else if (entry.async !== migration.async) {
      // The sync API's refusal of async migrations rests on the mark, so a wrong mark is stale too.
      problems.push(stale(migration.file, 1, "changed", `${label} records this migration as ${entry.async ? "async" : "sync"}, but it is not`));
    }
  }
  for (const entry of recorded.values()) problems.push(stale(label, entry.line, "removed", `the registry still lists ${entry.file}, which no longer exists`, [], entry.file));
  if (problems.length === 0) problems.push(stale(label, 1, "registry", "the registry differs from what gen writes (edited by hand, or formatted differently)"));
  return sortProblems(problems);
}

/** Whether the registry's SQL for a migration differs from its file's in layout or comments alone, in it or above it (which moves the lines its errors are placed at). */
function sameMeaningOtherText(
  recorded: { upSql: string | null | undefined; downSql: string | null | undefined; sqlLines: string | undefined },
  migration: ScannedMigration,
  dialect: SqlDialect,
): boolean {
  const pairs = [
    [recorded.upSql, migration.upSql],
    [recorded.downSql, migration.downSql],
  ] as const;
  const canonical = (sql: string | null | undefined) => (typeof sql === "string" ? canonicalizeSql(sql, dialect) : sql);
  const lines = JSON.stringify([migration.sqlLines?.[0] ?? 1, migration.sqlLines?.[1] ?? null]);
  const otherText = pairs.some(([inRegistry, inFile]) => inRegistry !== inFile) || (recorded.sqlLines !== undefined && recorded.sqlLines !== lines);
  return otherText && pairs.every(([inRegistry, inFile]) => canonical(inRegistry) === canonical(inFile));
}

/**
 * The object literals of a registry's `export const migrations = [...]`, keyed by `file`, parsed (the project's prettier config decides quotes and breaks); an entry without a readable `file` is left
 * out. `line` is 1-based; `description` `undefined`: no readable field.
 */
export function readRecordedEntries(registrySource: string) {
  const sourceFile = ts.createSourceFile("registry.ts", registrySource, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const entries = new Map<
    string,
    {
      file: string;
      checksum: string | null;
      description: string | null | undefined;
      upSql: string | null | undefined;
      downSql: string | null | undefined;
      sqlLines: string | undefined;
      line: number;
      async: boolean;
    }
  >();
  const list = readConstant(sourceFile, "migrations");
  for (const element of list && ts.isArrayLiteralExpression(list) ? list.elements : []) {
    if (!ts.isObjectLiteralExpression(element)) continue;
    const fields = new Map<string, ts.Expression>();
    for (const property of element.properties) {
      if (ts.isPropertyAssignment(property) && (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name))) fields.set(property.name.text, unwrapExpression(property.initializer));
    }
    const [file, checksum] = [literalOf(fields.get("file")), literalOf(fields.get("checksum"))];
    if (typeof file !== "string") continue;
    entries.set(file, {
      file,
      checksum: typeof checksum === "string" ? checksum : null,
      description: fields.has("description") ? literalOf(fields.get("description")) : undefined,
      upSql: literalOf(fields.get("upSql")),
      downSql: literalOf(fields.get("downSql")),
      sqlLines: linesOf(fields.get("sqlLines")),
      line: sourceFile.getLineAndCharacterOfPosition(element.getStart(sourceFile)).line + 1,
      async: fields.get("async")?.kind === ts.SyntaxKind.TrueKeyword,
    });
  }
  return entries;
}

/** The dialect a registry records (`export const dialect = "postgres"`), or `null`. */
export function readRecordedDialect(registrySource: string): string | null {
  const value = literalOf(readConstant(ts.createSourceFile("registry.ts", registrySource, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS), "dialect"));
  return typeof value === "string" ? value : null;
}

function readConstant(sourceFile: ts.SourceFile, name: string): ts.Expression | undefined {
  for (const statement of sourceFile.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const declaration = statement.declarationList.declarations.find((each) => ts.isIdentifier(each.name) && each.name.text === name);
    if (declaration?.initializer) return unwrapExpression(declaration.initializer);
  }
  return undefined;
}

/** A `sqlLines: [up, down]` pair as JSON, `undefined` when it is not one. */
function linesOf(node: ts.Expression | undefined): string | undefined {
  if (node === undefined || !ts.isArrayLiteralExpression(node) || node.elements.length !== 2) return undefined;
  const values = node.elements.map((element) => (ts.isNumericLiteral(element) ? Number(element.text) : element.kind === ts.SyntaxKind.NullKeyword ? null : undefined));
  return values.includes(undefined) ? undefined : JSON.stringify(values);
}

/** A string literal's text, `null` for `null`, `undefined` for anything else. */
function literalOf(node: ts.Expression | undefined): string | null | undefined {
  if (node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) return node.text;
  return node?.kind === ts.SyntaxKind.NullKeyword ? null : undefined;
}
