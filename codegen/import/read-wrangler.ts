/**
 * wrangler (`wrangler d1 migrations apply`): the `.sql` files of a D1 binding's `migrations_dir` (default `migrations`, beside the Wrangler config), or those its `migrations_pattern` matches,
 * ordered by the leading integer of each path segment, then as strings. Each file runs as one D1 batch, which is atomic, together with the `INSERT` of its name (the path relative to
 * `migrations_dir`) into `d1_migrations` (or `migrations_table`). No downs.
 */
import path from "node:path";
import { tokenizeSql } from "../../src/shared/postgres-tokens.js";
import { compareText } from "../problems.js";
import { globToRegExp } from "./glob-pattern.js";
import { findHistoryTableReferences } from "./own-history-table.js";
import { lineAt, refuse, type ForeignMigration, type ForeignTool, type SourceFolder } from "./source.js";

/** The config files wrangler looks for, in its order, in a folder and then in each folder above it. */
const CONFIG_FILES = ["wrangler.json", "wrangler.jsonc", "wrangler.toml"];
const DEFAULT_DIR = "migrations";
const DEFAULT_TABLE = "d1_migrations";

/** One `d1_databases` entry's migration settings, as written (`undefined`: not set). */
interface Binding {
  readonly binding?: string;
  readonly migrations_dir?: string;
  readonly migrations_table?: string;
  readonly migrations_pattern?: string;
}

/** Where the migrations of the folder import was given are, and the table wrangler records them in. */
interface WranglerLayout {
  /** The migrations folder, relative to the source folder (`""`: the source folder itself). */
  readonly dir: string;
  /** The pattern's segments below that folder (`["*.sql"]` by default). */
  readonly segments: readonly string[];
  /** The table wrangler records them in; `undefined` when the bindings that name this folder record it in different tables (one per environment's database). */
  readonly table: string | undefined;
  /** Every table those bindings record it in. */
  readonly tables: readonly string[];
}

/** The reader `stepwise import --from wrangler` uses for wrangler (D1)'s migrations folder, read as the comment above says the tool reads it. */
export const wrangler: ForeignTool = {
  order: "as wrangler d1 migrations apply runs them: by the number each path segment starts with (0002_b.sql before 10_a.sql), numbered before unnumbered, then by name as a string",
  // D1 enforces foreign keys, and runs each file in its batch's transaction, where a PRAGMA foreign_keys does nothing.
  foreignKeysPragmasIgnored: true,
  historyTable: DEFAULT_TABLE,
  transactionControlFix:
    "wrangler runs each file as one D1 batch, which is its transaction, and only a first `BEGIN TRANSACTION;` and `COMMIT;` (the shape of a sqlite3 .dump) are left out of it (by wrangler on a local database); D1 refuses any other transaction statement, so take it out, and import again",
  oldTable: (source) => layoutOf(source)?.table,
  read(source: SourceFolder, dialect): ForeignMigration[] {
    // D1 is SQLite: its migrations would fail on PostgreSQL, far from their cause.
    if (dialect !== "sqlite")
      return refuse(source, "", 1, "wrangler's migrations are D1's, written for SQLite, and this project's dialect is postgres; import them into a sqlite project (--dialect sqlite)");
    const layout = layoutOf(source);
    if (layout === null) return [];
    const names = listMatching(source, layout);
    return names.flatMap((name): ForeignMigration[] => {
      const file = layout.dir === "" ? name : `${layout.dir}/${name}`;
      const text = source.read(file);
      if (typeof text !== "string") return [];
      const sql = trimDumpTransaction(source, file, text);
      if (sql === null) return [];
      // The plan refuses statements on d1_migrations; one on the table the config names instead is refused here.
      for (const table of layout.tables.filter((name) => name !== DEFAULT_TABLE))
        for (const problem of findHistoryTableReferences({ file, line: 1, sql }, "wrangler", table, dialect)) source.report(problem.file, problem.line, problem.message, problem);
      const id = name.replace(/\/migration\.sql$|\.sql$/, "");
      const base = id.slice(id.lastIndexOf("/") + 1);
      return [
        {
          id,
          name: base.replace(/^\d+_?/, ""),
          up: { file, line: 1, sql },
          down: null,
          transaction: true,
          sources: [file],
          // wrangler records the file's path relative to migrations_dir, extension included.
          history: { name },
        },
      ];
    });
  },
};

/** The layout wrangler's config gives `source`; `null` after reporting a config that cannot be read or does not say which folder. */
function layoutOf(source: SourceFolder): WranglerLayout | null {
  const found = findConfig(source);
  if (found === null) return { dir: "", segments: ["*.sql"], table: DEFAULT_TABLE, tables: [DEFAULT_TABLE] };
  const bindings = readBindings(source, found.file);
  if (bindings === null) return null;
  const resolve = (binding: Binding) => path.resolve(source.dir, found.up, normalize(binding.migrations_dir ?? DEFAULT_DIR));
  const atSource = found.up === "";
  // Given the project folder: every binding must name the same folder, table and pattern. Given a migrations folder: the binding that names it (or, none doing so, the table all bindings share).
  const chosen = atSource ? bindings : bindings.filter((binding) => resolve(binding) === path.resolve(source.dir));
  // Given the folder itself, bindings (an env's database beside the top level's) may record the same files in tables of their own: adopt is then told which with --old-table.
  const settings = new Set(chosen.map((binding) => JSON.stringify([resolve(binding), atSource ? (binding.migrations_table ?? DEFAULT_TABLE) : null, binding.migrations_pattern ?? null])));
  if (settings.size > 1) {
    source.report(
      found.file,
      1,
      `its D1 bindings (${chosen.map((binding) => binding.binding ?? "?").join(", ")}) name different migrations folders or tables; import one binding's migrations_dir itself (stepwise import wrangler <that folder>), and adopt with --old-table <its migrations_table> if it names one`,
    );
    return null;
  }
  const binding = chosen[0];
  const tables = new Set((chosen.length > 0 ? chosen : bindings).map((entry) => entry.migrations_table ?? DEFAULT_TABLE));
  const table = tables.size === 1 ? [...tables][0]! : chosen.length > 0 ? undefined : DEFAULT_TABLE;
  // Relative to the folder read, whatever the config wrote (an absolute path, `./db/../migrations`).
  const dir = !atSource ? "" : binding === undefined ? DEFAULT_DIR : path.relative(source.dir, resolve(binding)).split(path.sep).join("/");
  // A folder no binding names (one moved aside to import from) is read with the pattern below migrations_dir that every binding gives, as it takes the table they share.
  const below = new Set((binding === undefined ? bindings : [binding]).map(patternBelowDir));
  if (below.size > 1) {
    source.report(
      found.file,
      1,
      `its D1 bindings (${bindings.map((entry) => entry.binding ?? "?").join(", ")}) name different migrations_pattern, and none names this folder as its migrations_dir; import one binding's migrations_dir itself (stepwise import wrangler <that folder>)`,
    );
    return null;
  }
  const [segments = "*.sql"] = below;
  if (segments === null) {
    const pattern = (binding ?? bindings.find((entry) => entry.migrations_pattern !== undefined))?.migrations_pattern;
    source.report(
      found.file,
      1,
      `migrations_pattern "${pattern}" is not one import reads: it must come with migrations_dir and start with it, as wrangler requires, and hold no ** (list the folders it reaches instead)`,
    );
    return null;
  }
  return { dir, segments: segments.split("/"), table, tables: table === undefined ? [...tables] : [table] };
}

/** The binding's `migrations_pattern` below its `migrations_dir` (`*.sql` without one), or `null` for one wrangler or import refuses. */
function patternBelowDir(binding: Binding): string | null {
  if (binding.migrations_pattern === undefined) return "*.sql";
  const pattern = normalize(binding.migrations_pattern);
  // wrangler refuses a pattern without migrations_dir, and one that does not start with it.
  const configDir = binding.migrations_dir === undefined ? null : normalize(binding.migrations_dir);
  const below = configDir === null ? null : configDir === "." ? pattern : pattern.startsWith(`${configDir}/`) ? pattern.slice(configDir.length + 1) : null;
  return below === null || below.split("/").some((segment) => segment === "**" || globToRegExp(segment) === null) ? null : below;
}

/** `p` with forward slashes, no `./`, no trailing `/`, as wrangler compares paths. */
function normalize(p: string): string {
  const normal = path.posix.normalize(p.replace(/\\/g, "/"));
  return normal.endsWith("/") && normal !== "/" ? normal.slice(0, -1) : normal;
}

/** The nearest Wrangler config, in `source`'s folder or one above it, as wrangler finds it; `up` is its folder relative to `source`. */
function findConfig(source: SourceFolder): { file: string; up: string } | null {
  let up = "";
  for (let dir = path.resolve(source.dir); ; dir = path.dirname(dir)) {
    for (const name of CONFIG_FILES) {
      const file = up === "" ? name : `${up}/${name}`;
      if (source.read(file) !== undefined) return { file, up };
    }
    if (path.dirname(dir) === dir) return null;
    up = up === "" ? ".." : `${up}/..`;
  }
}

/** Every `d1_databases` entry of the config, top level and under `env`; `null` after reporting a config that cannot be read. */
function readBindings(source: SourceFolder, file: string): Binding[] | null {
  const text = source.read(file);
  if (typeof text !== "string") return null;
  if (file.endsWith(".toml")) return readTomlBindings(text);
  let config: { d1_databases?: unknown; env?: Record<string, { d1_databases?: unknown }> };
  try {
    config = JSON.parse(withoutJsonComments(text)) as typeof config;
  } catch (error) {
    source.report(file, 1, `not valid JSON (${(error as Error).message}), which wrangler refuses too`);
    return null;
  }
  const lists = [config?.d1_databases, ...Object.values(config?.env ?? {}).map((env) => env?.d1_databases)];
  return lists.flatMap((list) => (Array.isArray(list) ? (list as unknown[]).filter((entry): entry is Binding => typeof entry === "object" && entry !== null) : []));
}

/** JSONC as JSON: comments and trailing commas dropped, strings untouched. */
function withoutJsonComments(text: string): string {
  return text.replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\/|,(\s*[}\]])/g, (match, string: string | undefined, closing: string | undefined) => string ?? closing ?? "");
}

/** A TOML key (bare, or quoted as TOML allows: `"migrations_dir" = …`) and its string value: basic (`"…"`, with escapes) or literal (`'…'`). */
const TOML_STRING = /^\s*(?:([A-Za-z0-9_-]+)|"([A-Za-z0-9_-]+)"|'([A-Za-z0-9_-]+)')\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')/;

/** The `[[d1_databases]]` and `[[env.<name>.d1_databases]]` tables of a wrangler.toml, and inline `d1_databases = [{ … }]` arrays: the string keys each sets. */
function readTomlBindings(text: string): Binding[] {
  const bindings: Record<string, string>[] = [];
  let current: Record<string, string> | null = null;
  const lines = text.split(/\r?\n/);
  const keyOf = (match: RegExpExecArray) => (match[1] ?? match[2] ?? match[3])!;
  const stringOf = (match: RegExpExecArray) => match[5] ?? JSON.parse(`"${match[4]!}"`);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.replace(/^\s+/, "");
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(line);
    if (header !== null) {
      // TOML allows quotes and spaces around a dotted key's dots: [[ env . staging . "d1_databases" ]].
      const name = header[1]!.replace(/["'\s]/g, "");
      current = line.startsWith("[[") && /(^|\.)d1_databases$/.test(name) ? {} : null;
      if (current !== null) bindings.push(current);
      continue;
    }
    if (/^(?:[\w"'.\s-]+\.\s*)?["']?d1_databases["']?\s*=\s*\[/.test(line)) {
      // An inline array of inline tables, up to its closing bracket.
      let inline = line;
      while (!/\]\s*(#.*)?$/.test(inline) && index + 1 < lines.length) inline += ` ${lines[++index]!}`;
      for (const table of inline.matchAll(/\{([^}]*)\}/g)) {
        const entry: Record<string, string> = {};
        for (const part of table[1]!.split(/,(?=\s*["']?[A-Za-z0-9_-]+["']?\s*=)/)) {
          const match = TOML_STRING.exec(part);
          if (match !== null) entry[keyOf(match)] = stringOf(match);
        }
        bindings.push(entry);
      }
      continue;
    }
    const match = current === null ? null : TOML_STRING.exec(line);
    if (match !== null) current![keyOf(match)] = stringOf(match);
  }
  return bindings;
}

/** The files under the migrations folder the pattern's segments match, as paths relative to it, in wrangler's order. */
function listMatching(source: SourceFolder, layout: WranglerLayout): string[] {
  const found: string[] = [];
  const walk = (relative: string, depth: number) => {
    const matcher = globToRegExp(layout.segments[depth]!)!;
    const last = depth === layout.segments.length - 1;
    const at = [layout.dir, relative].filter((part) => part !== "").join("/");
    for (const entry of source.list(at)) {
      if (!matcher.test(entry.name)) continue;
      const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
      // wrangler lists with readdir's file types, where a link is neither a file nor a folder: it never ran one, though stepwise would.
      if (entry.link === true && (last ? entry.isFile() : entry.isDirectory())) {
        const file = [layout.dir, child].filter((part) => part !== "").join("/");
        source.report(
          file,
          1,
          `a symbolic link, which wrangler d1 migrations apply skips (it reads only regular files and folders), so D1 never ran it as a migration; replace the link with a copy of its target for wrangler to apply it, or remove it, then import again`,
        );
        continue;
      }
      if (last && entry.isFile()) found.push(child);
      else if (!last && entry.isDirectory()) walk(child, depth + 1);
    }
  };
  walk("", 0);
  return found.sort(compareMigrationPaths);
}

/** wrangler's order: segment by segment, the leading integer of each (`parseInt` of what precedes its first `_`), numbered before unnumbered, then as strings. */
export function compareMigrationPaths(a: string, b: string): number {
  const [x, y] = [a.split("/"), b.split("/")];
  for (let index = 0; index < Math.min(x.length, y.length); index++) {
    const [p, q] = [x[index]!, y[index]!];
    const [m, n] = [Number.parseInt(p.split("_")[0]!, 10), Number.parseInt(q.split("_")[0]!, 10)];
    if (m !== n && (Number.isFinite(m) || Number.isFinite(n))) return !Number.isFinite(n) ? -1 : !Number.isFinite(m) ? 1 : m - n;
    if (p !== q) return compareText(p, q);
  }
  return x.length - y.length;
}

/**
 * What D1 runs for a file: a file that says `BEGIN TRANSACTION` (a sqlite3 `.dump`) loses its first `BEGIN TRANSACTION;` and its first `COMMIT;`, D1's batch being the transaction (as
 * comments here, where they are statements): wrangler strips them for a local database, and sends a remote one the file unchanged for D1's API to handle. One that still says it after that
 * is refused, as wrangler refuses it. `null` after reporting.
 */
function trimDumpTransaction(source: SourceFolder, file: string, text: string): string | null {
  if (!text.includes("BEGIN TRANSACTION")) return text;
  const second = text.replace("BEGIN TRANSACTION;", "").replace("COMMIT;", "").includes("BEGIN TRANSACTION");
  if (second) {
    const at = text.indexOf("BEGIN TRANSACTION", text.indexOf("BEGIN TRANSACTION;") + 1);
    refuse(source, file, lineAt(text, Math.max(0, at)), "a second BEGIN TRANSACTION, which wrangler refuses (it runs the file in one D1 transaction); take the file's own transaction statements out");
    return null;
  }
  let sql = text;
  for (const statement of ["BEGIN TRANSACTION;", "COMMIT;"]) {
    const at = sql.indexOf(statement);
    if (at === -1) continue;
    const isStatement = tokenizeSql(sql).some((token) => token.kind === "word" && token.offset === at);
    sql = `${sql.slice(0, at)}${isStatement ? `/* ${statement} */` : ""}${sql.slice(at + statement.length)}`;
  }
  return sql;
}
