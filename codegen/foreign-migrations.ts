/**
 * Another tool's migrations folder is recognised as a whole and gives one problem naming the tool and how to port (one per file would only hide them); a migration-named file in a subfolder is a
 * problem too.
 */
import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync, type Dirent } from "node:fs";
import path from "node:path";
import { isMigrationLike, parseMigrationFileName } from "./migration-file.js";
import { compareText, problemAt, tryOr, type Problem } from "./problems.js";
import { quoteForShell } from "../src/shared/shell-quote.js";

/** How deep below the migrations folder gen looks for migrations it would not read. */
export const NESTED_SCAN_DEPTH = 3;

/** A tool recognised by a file (relative to the migrations folder), with how to port its migrations by hand where `stepwise import` does not read them. */
interface ForeignTool {
  readonly tool: string;
  readonly evidence: string;
  readonly port?: string;
  /** Tools `stepwise import` reads whose folders look alike, when nothing in this one tells which it is, and why they look alike. */
  readonly either?: readonly string[];
  readonly alike?: string;
}

/** The tools `stepwise import` reads: the name the command takes is the name gen reports, lower-cased. */
const IMPORTABLE = new Set(["diesel", "sqlx", "dbmate", "golang-migrate", "goose", "flyway", "drizzle", "prisma", "knex", "kysely", "node-pg-migrate", "umzug", "wrangler"]);
const importId = (tool: string) => (IMPORTABLE.has(tool.toLowerCase()) ? tool.toLowerCase() : undefined);

/** Where each of two look-alike tools keeps its history, which tells the user which one applied the folder. */
const HISTORY_TABLES: Readonly<Record<string, string>> = {
  "golang-migrate": "schema_migrations (version, dirty)",
  sqlx: "_sqlx_migrations",
  drizzle: "__drizzle_migrations",
  wrangler: "d1_migrations (or the config's migrations_table)",
  prisma: "_prisma_migrations",
};

/** A version only a timestamp gives: eight digits or more. */
const TIMESTAMP_VERSION = /^(\d{8,})[_-]/;
const SCRIPT = /\.(?:[cm]?[jt]s|tsx|jsx)$/i;
const OTHER_LANGUAGE_TOOLS: Readonly<Record<string, string>> = {
  ".rb": "Rails (Active Record)",
  ".py": "Alembic or Django",
  ".php": "Laravel (or Phinx)",
  ".go": "goose or golang-migrate (Go migrations)",
  ".exs": "Ecto",
  ".java": "Flyway (Java migrations)",
};

/** Which tool's API a JavaScript or TypeScript migration that exports `up` takes. */
const SCRIPT_TOOLS: readonly { readonly tool: string; readonly pattern: RegExp }[] = [
  { tool: "TypeORM", pattern: /\bMigrationInterface\b|\bQueryRunner\b/ },
  { tool: "MikroORM", pattern: /\bextends\s+Migration\b/ },
  { tool: "Kysely", pattern: /\bKysely\s*</ },
  { tool: "node-pg-migrate", pattern: /\bMigrationBuilder\b|\bup\s*\(\s*pgm\b|\(\s*pgm\s*[,)]/ },
  { tool: "Sequelize", pattern: /\bqueryInterface\b|\bQueryInterface\b/ },
  { tool: "Umzug", pattern: /\bumzug\b|\bMigrationFn\b|\(\s*\{\s*context\b/i },
  { tool: "Knex", pattern: /\bknex\b|\bKnex\b/ },
];
const EXPORTS_UP = /\bexport\s+(?:async\s+)?function\s+up\b|\bexports\.up\b|\bexport\s+const\s+up\b|\bmodule\.exports\s*=\s*\{[^}]*\bup\b|\basync\s+up\s*\(\s*queryRunner|\bextends\s+Migration\b/;

const SQL_PORT = "write each as NNN_<name>.sql, numbered 001, 002, … in the order the tool applied them, with `-- migrate:up` before its SQL and `-- migrate:down` before the SQL that undoes it";
const SCRIPT_PORT =
  "write each as NNN_<name>.ts, numbered 001, 002, … in the order the tool applied them, exporting `defineMigration({ up(db) { … }, down(db) { … } })` imported from your driver's stepwise entry (`db` is that driver's connection), or as NNN_<name>.sql where it only runs SQL";

/** The problem for a folder of another tool's migrations, or `null`, from the names in it and one level down and the first bytes of files. */
export function findForeignMigrations(migrationsDir: string, label: string, entries: readonly Dirent[]): Problem | null {
  const files = entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  const folders = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const heads = new Map<string, string>();
  const head = (name: string) => heads.get(name) ?? heads.set(name, readHead(path.join(migrationsDir, name))).get(name)!;
  const found = recogniseByLayout(migrationsDir, files, folders) ?? recogniseByFileNames(migrationsDir, files, head);
  if (found === null) return null;
  const id = importId(found.tool);
  const aside = `${label}-${id}`;
  // import writes into the default folder unless told: the folder gen was pointed at, when it is another, goes on the command.
  const into = label === DEFAULT_MIGRATIONS_LABEL ? "" : ` --dir ${quoteForShell(label)}`;
  const message =
    found.either !== undefined
      ? `${label} holds ${found.tool} migrations: ${found.alike ?? "both tools name them <timestamp>_<name>.up.sql and .down.sql"}, and nothing here tells which applied them. ` +
        `Import them with the tool that applied them (the database holds ${found.either.map((tool) => `${HISTORY_TABLES[tool]} if ${tool} did`).join(", ")}): ` +
        `move the folder aside, "git mv ${quoteForShell(label)} ${quoteForShell(`${label}-imported`)} && stepwise import ${found.either.join("|")} ${quoteForShell(`${label}-imported`)}${into}" (a dry run that lists what it would write into ${label}; add --yes to write, and --empty-down if it asks), then "stepwise gen"`
      : id !== undefined
        ? `${label} holds ${found.tool} migrations, which stepwise does not read as they are: move the folder aside and import them, "git mv ${quoteForShell(label)} ${quoteForShell(aside)} && stepwise import ${id} ${quoteForShell(aside)}${into}" (a dry run that lists what it would write into ${label}; add --yes to write, and --empty-down if it asks), then "stepwise gen"`
        : `${label} holds ${found.tool} migrations, which stepwise does not read: to port them, ${found.port ?? SQL_PORT}. ` +
          `Port them into a new folder (point --dir, or "migrationsDir" in the config, at it) and keep the ${found.tool} folder out of the migrations folder; ` +
          `a database ${found.tool} already migrated is then adopted with "stepwise baseline <version> --old-table <the table ${found.tool} keeps its history in>", once the ported migrations reproduce its schema`;
  return { code: "FOREIGN_MIGRATIONS", file: path.posix.join(label, found.evidence), line: 1, column: 1, foreign: { tool: found.tool }, message };
}

/** The migrations folder import and gen use when nothing names another, as a problem labels it (relative to the project root). */
const DEFAULT_MIGRATIONS_LABEL = "migrations";

/** Where other tools keep their migrations by default, relative to the project root (`migrations-*`: a folder a user moved aside, as FOREIGN_MIGRATIONS advises). */
const WELL_KNOWN_FOLDERS = ["db/migrations", "prisma/migrations", "drizzle", "supabase/migrations", "database/migrations", "src/migrations"];

/**
 * For a migrations folder that does not exist: another tool's folder at a well-known place in the project, and the import that fills the missing folder from it (`label`: the missing folder,
 * as problems name it), or `null`. Only the tools `stepwise import` reads are named; others are for gen pointed at their folder to explain.
 */
export function findForeignFolderNearby(projectRoot: string, label: string): string | null {
  const asideFolders = tryOr(() => readdirSync(projectRoot, { withFileTypes: true }), [] as Dirent[]).flatMap((entry) =>
    entry.isDirectory() && entry.name.startsWith(`${DEFAULT_MIGRATIONS_LABEL}-`) ? [entry.name] : [],
  );
  for (const folder of [...WELL_KNOWN_FOLDERS, ...asideFolders.sort(compareText)]) {
    if (folder === label) continue;
    const dir = path.join(projectRoot, folder);
    const entries = tryOr(() => readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name)), null);
    if (entries === null) continue;
    const found = findForeignMigrations(dir, folder, entries)?.foreign?.tool;
    const id = found === undefined ? undefined : importId(found);
    const tools = found?.includes(" or ") ? found.toLowerCase().split(" or ").join("|") : id;
    if (tools === undefined) continue;
    const into = label === DEFAULT_MIGRATIONS_LABEL ? "" : ` --dir ${quoteForShell(label)}`;
    return `${folder} holds ${found} migrations: "stepwise import ${tools} ${quoteForShell(folder)}${into}" lists what it would write into ${label} (add --yes to write it, and --empty-down if it asks), then "stepwise gen"`;
  }
  return null;
}

/** A tool known by its folder's layout: a journal, a config file, or a subfolder per migration. */
function recogniseByLayout(migrationsDir: string, files: readonly string[], folders: readonly string[]): ForeignTool | null {
  const inFolder = (folder: string) => listFileNames(path.join(migrationsDir, folder));
  const layout = (tool: string, evidence: string | undefined, port?: string): ForeignTool | null => (evidence === undefined ? null : { tool, evidence, ...(port !== undefined && { port }) });
  // drizzle-kit 1.0 writes a folder per migration like Prisma's, with its snapshot beside the SQL and no journal.
  const drizzleFolders = folders.find((folder) => inFolder(folder).includes("migration.sql") && inFolder(folder).includes("snapshot.json"));
  const prisma = folders.find((folder) => inFolder(folder).includes("migration.sql"));
  const diesel = folders.flatMap((folder) => inFolder(folder).flatMap((name) => (name === "up.sql" || name === "down.sql" ? [`${folder}/${name}`] : [])));
  const alembic = folders.includes("versions") ? files.find((name) => name === "env.py" || name === "script.py.mako") : undefined;
  const liquibase = files.find((name) => /changelog.*\.(?:xml|ya?ml|json|sql)$/i.test(name));
  const drizzle1 = drizzleFolders && `${drizzleFolders}/snapshot.json`;
  return (
    drizzleOrWrangler(migrationsDir, layout("drizzle", folders.includes("meta") && inFolder("meta").includes("_journal.json") ? "meta/_journal.json" : undefined)) ??
    layout("Alembic", alembic, `${SQL_PORT} (\`alembic upgrade --sql\` prints each revision's SQL)`) ??
    layout("Liquibase", liquibase, `${SQL_PORT} (\`liquibase update-sql\` prints each changeset's SQL)`) ??
    wranglerFolders(migrationsDir, prisma !== undefined && !files.includes("migration_lock.toml") ? `${prisma}/migration.sql` : undefined) ??
    layout("drizzle-kit 1.0", drizzle1, `${SQL_PORT} (stepwise import reads drizzle-kit's journal layout, meta/_journal.json, not yet 1.0's folder per migration)`) ??
    layout("Prisma", prisma === undefined ? files.find((name) => name === "migration_lock.toml") : `${prisma}/migration.sql`) ??
    layout("Diesel", diesel[0])
  );
}

/** A tool known by its files' names and first lines, when they outnumber stepwise's own. */
function recogniseByFileNames(migrationsDir: string, files: readonly string[], head: (name: string) => string): ForeignTool | null {
  // One goose file copied among stepwise's own is that file's problem; the folder is the tool's when its shape outnumbers stepwise's. Counted only when some file has another tool's shape.
  let own: number | undefined;
  let wranglerConfigAbove: boolean | undefined;
  const found = (tool: string, matches: readonly string[], port?: string): ForeignTool | null =>
    matches.length > 0 && matches.length > (own ??= files.filter((name) => isOwnMigration(name, head)).length) ? { tool, evidence: matches[0]!, ...(port !== undefined && { port }) } : null;
  const sqlFiles = files.filter((name) => /\.sql$/i.test(name));
  const upDown = sqlFiles.filter((name) => /^\d+_.+\.(?:up|down)\.sql$/i.test(name));
  const timestamped = sqlFiles.filter((name) => TIMESTAMP_VERSION.test(name) && !upDown.includes(name));
  const scripts = files.filter((name) => SCRIPT.test(name) && isForeignScript(name, head(name)));
  const otherLanguage = files.filter((name) => /^\d/.test(name) && OTHER_LANGUAGE_TOOLS[path.extname(name).toLowerCase()] !== undefined);
  const upDownTool = (): ForeignTool | null => {
    const pairs = found("golang-migrate", upDown);
    if (pairs === null) return null;
    if (upDown.some((name) => head(name).startsWith("-- no-transaction")) || hasSqlxProjectFile(migrationsDir)) return { ...pairs, tool: "sqlx" };
    // `migrate create` and `sqlx migrate add -r` name files alike, by a 14-digit timestamp by default and with `-seq`/`--sequential` by a plain number: only the database's history table tells.
    return { ...pairs, tool: "golang-migrate or sqlx", either: ["golang-migrate", "sqlx"] };
  };
  const headed = (pattern: RegExp, among = sqlFiles) => among.filter((name) => pattern.test(head(name)));
  // wrangler d1 migrations: plain SQL named <number>_<name>.sql, started by `wrangler d1 migrations create`'s header line, or beside a Wrangler config.
  const wrangler = (name: string) =>
    /^\d+_/.test(name) && !/^--\s*migrate:/m.test(head(name)) && (/^-- Migration number: \d+/.test(head(name)) || (wranglerConfigAbove ??= hasWranglerConfig(migrationsDir)));
  const scriptTool = SCRIPT_TOOLS.find((candidate) => scripts.some((name) => candidate.pattern.test(head(name))))?.tool;
  return (
    found("Flyway", sqlFiles.filter(isFlywayName)) ??
    upDownTool() ??
    found("goose", headed(/^--\s*\+goose\s+up\b/im)) ??
    found("dbmate", headed(/^--\s*migrate:up\b/m, timestamped)) ??
    found("node-pg-migrate", headed(/^\s*--[\s-]*up\s+migration/im)) ??
    found("sqlx", timestamped) ??
    found("wrangler", sqlFiles.filter(wrangler)) ??
    found(scriptTool ?? "a JavaScript migration tool (Knex, Kysely, Umzug, node-pg-migrate or another)", scripts, SCRIPT_PORT) ??
    found(OTHER_LANGUAGE_TOOLS[path.extname(otherLanguage[0] ?? "").toLowerCase()] ?? "", otherLanguage, SQL_PORT)
  );
}

const isFlywayName = (name: string) => /^(?:[VUB]\d+(?:[._]\d+)*|R)__.+\.sql$/i.test(name);

/** Whether a Rust project holds the folder: sqlx's `sqlx.toml` or a `Cargo.toml` in it or above it, up to the project's root. */
const hasSqlxProjectFile = (migrationsDir: string) => holdsAbove(migrationsDir, (name) => name === "sqlx.toml" || name === "Cargo.toml");

/** Whether a file `matches` names is in the folder or above it, up to the project's root (the first folder with `package.json` or `.git`). */
function holdsAbove(migrationsDir: string, matches: (name: string) => boolean): boolean {
  for (let dir = migrationsDir; ; dir = path.dirname(dir)) {
    const names = tryOr(() => readdirSync(dir), [] as string[]);
    if (names.some(matches)) return true;
    if (names.includes("package.json") || names.includes(".git") || path.dirname(dir) === dir) return false;
  }
}

/**
 * drizzle-kit's folder under a Wrangler config: D1 projects generate with drizzle-kit and often apply with `wrangler d1 migrations apply` (its `d1_migrations`), not drizzle's migrator (its
 * `__drizzle_migrations`), and only the database tells which.
 */
function drizzleOrWrangler(migrationsDir: string, drizzle: ForeignTool | null): ForeignTool | null {
  if (drizzle === null || !hasWranglerConfig(migrationsDir)) return drizzle;
  return {
    ...drizzle,
    tool: "drizzle or wrangler",
    either: ["drizzle", "wrangler"],
    alike: "drizzle-kit wrote them, and a Wrangler config beside them may have had wrangler d1 migrations apply run them",
  };
}

/**
 * A folder per migration holding `migration.sql` (Prisma's layout, and drizzle-kit 1.0's) under a Wrangler config, and no `migration_lock.toml` (which only Prisma writes): wrangler applies
 * it through `migrations_pattern`, so it is Prisma's or wrangler's; `null` otherwise.
 */
function wranglerFolders(migrationsDir: string, evidence: string | undefined): ForeignTool | null {
  if (evidence === undefined || !hasWranglerConfig(migrationsDir)) return null;
  return {
    tool: "Prisma or wrangler",
    evidence,
    either: ["prisma", "wrangler"],
    alike:
      "each is a folder holding migration.sql, as Prisma and drizzle-kit 1.0 write them, and a Wrangler config beside them may have had wrangler d1 migrations apply run them (its migrations_pattern)",
  };
}

/** Whether a Wrangler config (wrangler.json, .jsonc or .toml) is in the folder or above it, up to the project's root. */
const hasWranglerConfig = (migrationsDir: string) => holdsAbove(migrationsDir, (name) => /^wrangler\.(?:jsonc?|toml)$/.test(name));

/** A file stepwise reads as its own: a valid name (a version no timestamp gives) and stepwise's marker or `defineMigration`. */
function isOwnMigration(name: string, head: (name: string) => string): boolean {
  const parsed = parseMigrationFileName(name);
  if (parsed.status !== "migration" || TIMESTAMP_VERSION.test(name)) return false;
  return parsed.migration.kind === "sql" ? /^--\s*migrate:(?:up|empty)\b/m.test(head(name)) : /\bdefineMigration\b/.test(head(name));
}

/** A JavaScript or TypeScript migration of another tool: it exports `up` its own way, and never calls `defineMigration`. */
function isForeignScript(name: string, head: string): boolean {
  if (/\bdefineMigration\b/.test(head)) return false;
  const timestampName = TIMESTAMP_VERSION.test(name) || /^\d{4}[-.]\d{2}[-.]\d{2}/.test(name);
  return EXPORTS_UP.test(head) || (timestampName && /\bup\b/.test(head));
}

/** One problem per subfolder holding a file named as a migration (to {@link NESTED_SCAN_DEPTH} levels): gen reads only the top level. */
export function findNestedMigrations(migrationsDir: string, label: string, entries: readonly Dirent[]): Problem[] {
  const problems: Problem[] = [];
  const root = tryOr(() => realpathSync(migrationsDir), migrationsDir);
  // With no migration at the top level the registry would be empty, so any SQL below (another tool's, in a shape not recognised) is reported rather than left out in silence.
  const matches = entries.some((entry) => isMigrationLike(entry.name)) ? isNamedAsMigration : isMigrationLike;
  for (const entry of entries) {
    // A folder named like a migration is reported as such (MIGRATION_NOT_A_FILE).
    if (!isFolder(migrationsDir, entry, root) || isMigrationLike(entry.name) || entry.name === "node_modules") continue;
    const found = findMigrationLikeFile(path.join(migrationsDir, entry.name), 1, matches, root);
    if (found === null) continue;
    const relative = `${entry.name}/${found}`;
    const what =
      matches === isMigrationLike
        ? `SQL or migration-like files (such as ${relative}) and ${label} itself holds no migration, so gen would write an empty registry`
        : `files named as migrations are (such as ${relative}), and gen reads only the top level of ${label}, so they would be left out of the registry`;
    const message = `${label}/${entry.name}/ holds ${what}; move each migration up into ${label} (numbered into its sequence; "stepwise import" ports another tool's), or, if they are not migrations, rename them so they do not start with a version`;
    problems.push(problemAt("MIGRATIONS_IN_SUBFOLDER", path.posix.join(label, relative), message));
  }
  return problems;
}

/** The first file below `dir` with a valid migration name; a `schema.sql` moved into `lib/`, as BAD_FILE_NAME advises, stays there in peace. */
function findMigrationLikeFile(dir: string, depth: number, matches: (name: string) => boolean, root: string): string | null {
  const entries = tryOr(() => readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name)), []);
  for (const entry of entries) {
    if (matches(entry.name) && (entry.isFile() || (entry.isSymbolicLink() && tryOr(() => statSync(path.join(dir, entry.name)).isFile(), false)))) return entry.name;
  }
  if (depth >= NESTED_SCAN_DEPTH) return null;
  for (const entry of entries) {
    if (!isFolder(dir, entry, root) || entry.name === "node_modules") continue;
    const found = findMigrationLikeFile(path.join(dir, entry.name), depth + 1, matches, root);
    if (found !== null) return `${entry.name}/${found}`;
  }
  return null;
}

/**
 * Whether `entry` of `dir` is a folder, or a link to one outside `root` (the migrations folder, real path): a linked folder of migrations is left out of the registry as surely as a real
 * one, while a link back into the folder or above it (a loop) holds nothing new.
 */
function isFolder(dir: string, entry: Dirent, root: string): boolean {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  const target = tryOr(() => (statSync(path.join(dir, entry.name)).isDirectory() ? realpathSync(path.join(dir, entry.name)) : null), null);
  const within = (inner: string, outer: string) => inner === outer || inner.startsWith(`${outer}${path.sep}`);
  return target !== null && !within(target, root) && !within(root, target);
}

function isNamedAsMigration(name: string): boolean {
  return parseMigrationFileName(name).status === "migration";
}

function listFileNames(dir: string): string[] {
  return tryOr(() => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isFile() ? [entry.name] : [])), []);
}

/** The first 4 KiB of a file: where every tool's marker sits. */
function readHead(file: string): string {
  return tryOr(() => {
    const fd = openSync(file, "r");
    try {
      const buffer = Buffer.alloc(4096);
      return buffer.toString("utf8", 0, readSync(fd, buffer, 0, buffer.length, 0));
    } finally {
      closeSync(fd);
    }
  }, "");
}
