/**
 * `stepwise squash --to K`: replays migrations 1..K on an empty database of the project's dialect (as `gen --check` does), reads the schema they built as DDL and the rows they left as INSERTs, and
 * renders the one migration that replaces them, with the record `gen` and the runtime need (see squash-record.ts) and a review mark on whatever carries data.
 */
import path from "node:path";
import { withFix } from "../../src/cli/error-fix.js";
import { StepwiseError } from "../../src/core/errors.js";
import { exec, query, type Step } from "../../src/core/step.js";
import { GUARD_TABLE_PREFIX } from "../../src/core/transaction-guard.js";
import type { MigrationEntry, MigrationRegistry, SqlDialect, SqlMigrationEntry } from "../../src/core/types.js";
import { parseSqlMigrationSource } from "../../src/shared/sql-source.js";
import { readFullSchemaOf } from "../../src/safety/schema-reader.js";
import { stepwiseTableNames } from "../../src/safety/checksum-repair-log.js";
import { splitSqlStatements, tokenizeSql } from "../../src/shared/postgres-tokens.js";
import { openReplayDatabase, type ReplayCheckOptions, type ReplayDatabase } from "../replay.js";
import type { SchemaDdl } from "./squash-ddl.js";
import { readPostgresDdl } from "./squash-postgres.js";
import { compareSchemaPrints, printSchema, renderSquashRecord, REVIEW_MARK, type ObjectPrint, type ReplacedMigration } from "./squash-record.js";
import { readCatalogCensus, readObjectsElsewhere } from "./squash-census.js";
import { readRowPrints } from "./squash-rows.js";
import { readSqliteDdl } from "./squash-sqlite.js";
import { escapeControlCharacters } from "../problems.js";
import { scanMigrations } from "../scan.js";

/**
 * One place a reviewer must look at: rows the migrations left in a table, a statement of theirs that changed rows, a TypeScript migration (whose effect on rows cannot be read), a SQLite file
 * setting they set (which the squash's one transaction cannot), or on PostgreSQL what they built in another schema (which a squash does not build).
 */
export interface SquashReviewItem {
  readonly kind: "seed-rows" | "data-statement" | "typescript" | "file-setting" | "other-schema";
  /** The table (`seed-rows`), the object as `schema.name (kind)` (`other-schema`), or the squashed migration's file. */
  readonly subject: string;
  /** `data-statement`, `file-setting`: the line of the file it starts on; else `null`. */
  readonly line: number | null;
  /** `seed-rows`: how many; else `null`. */
  readonly rows: number | null;
  /** `data-statement`, `file-setting`: its first words. */
  readonly statement: string | null;
}

/** What `stepwise squash` would write. Plain data, printed by `--json` (without `text`). */
export interface SquashPlan {
  /** The squash's version, K: it replaces 1..K. */
  readonly version: number;
  readonly dialect: SqlDialect;
  /** The file it writes, project-relative. */
  readonly file: string;
  /** The migration files it deletes (git history keeps them), project-relative. */
  readonly removed: readonly string[];
  /** How many migrations follow it, unchanged. */
  readonly kept: number;
  /** How many objects of each kind the squash builds. */
  readonly objects: Readonly<Record<string, number>>;
  readonly review: readonly SquashReviewItem[];
  /** The squash migration's text. */
  readonly text: string;
}

/** Inputs for {@link planSquash}: the replay's own, the registry as loaded, and K. */
export interface SquashOptions extends ReplayCheckOptions {
  readonly migrationsDir: string;
  readonly to: number;
}

/** Checks K, replays 1..K, renders the squash and proves it builds the same schema. Throws `SQUASH_TARGET_INVALID`, `SQUASH_REPLAY_UNAVAILABLE`, `SQUASH_NOT_FAITHFUL`, or a migration's failure. */
export async function planSquash(options: SquashOptions, migrations: MigrationRegistry): Promise<SquashPlan> {
  const { to, dialect } = options;
  const latest = migrations.length;
  const earlier = migrations.findLast((entry) => entry.squashedInto === entry.version);
  // The targets squash takes: above any earlier squash, and 2 or more; none when the folder's newest is below that.
  const lowest = Math.max(2, (earlier?.version ?? 0) + 1);
  const nothing = lowest > latest;
  const range = nothing
    ? `there is nothing to squash: it needs two migrations or more${earlier === undefined ? "" : ` above the earlier squash (${earlier.version})`}, and the newest is ${latest}; add migrations first`
    : `pass --to ${lowest === latest ? latest : `a version from ${lowest} to ${latest}`}`;
  const invalid = (reason: string, fix = range) =>
    withFix(new StepwiseError("SQUASH_TARGET_INVALID", `Cannot squash to ${to}: ${reason}${nothing ? `; ${range}` : ""}. Nothing was written.`, { target: to, latest, reason }), fix);
  if (!Number.isSafeInteger(to) || to < 2) throw invalid("squash replaces migrations 1 to K with one, so K is a version of 2 or more");
  if (to > latest) throw invalid(`the newest migration is ${latest}`);
  if (earlier !== undefined && to <= earlier.version) throw invalid(`migrations 1 to ${earlier.version} are already one squash (${earlier.file}); squash to a version above it`);
  const replaced = migrations.slice(0, to);
  const imported = findKeptImportsOfReplaced(options, migrations);
  if (imported.length > 0) {
    const list = imported.map(({ importer, file }) => `${importer} imports ${file}`).join(", ");
    const highest = Math.max(...imported.map((each) => each.version));
    const move = `move what ${imported.length === 1 ? "it imports" : "they import"} into a file that is not a migration (and run "stepwise gen")`;
    throw invalid(
      `${list}, which the squash deletes, so ${imported.length === 1 ? "that migration" : "those migrations"} would no longer load: ${move}, or squash to ${highest}`,
      `${move}, or pass --to ${highest}`,
    );
  }
  const squashed = await replaySchemaDdl(options, migrations);
  // Nothing read is most often the wrong place read (a PostgreSQL "schema" the migrations do not build in), and a squash of it would build nothing.
  const where = dialect === "postgres" ? `schema ${options.schema ?? "public"}` : "the database";
  if (squashed.prints.length === 0 && squashed.ddl.seeds.length === 0) {
    const fix =
      dialect === "postgres"
        ? `check the "schema" setting: the migrations may build in another schema than ${options.schema ?? "public"}`
        : `squash to a version whose migrations build tables, views, indexes or triggers`;
    throw invalid(`migrations 1 to ${to} build nothing in ${where} that squash reads, so the squash would build nothing`, fix);
  }
  if (squashed.ddl.uncarried?.length) throw notFaithful(to, squashed.ddl.uncarried);
  const review = [
    ...squashed.elsewhere.map((name) => ({ kind: "other-schema" as const, subject: name, line: null, rows: null, statement: null })),
    ...findDataStatements(replaced, dialect),
    ...squashed.ddl.seeds.map((seed) => ({ kind: "seed-rows" as const, subject: seed.table, line: null, rows: seed.statements.length, statement: null })),
  ];
  const own = migrations[to - 1]!;
  const digits = /^\d+/.exec(path.basename(own.file))![0].length;
  const folder = path.posix.dirname(own.file);
  const file = `${folder === "." ? "" : `${folder}/`}${String(to).padStart(digits, "0")}_squash_1_to_${to}.sql`;
  const record = replaced.map((entry): ReplacedMigration => ({ version: entry.version, name: entry.name, checksums: [entry.checksum, ...(entry.legacyChecksum?.split(" ") ?? [])] }));
  const text = renderSquash({ to, dialect, record, schema: squashed.prints, ddl: squashed.ddl, review });
  await proveSquash(options, file, text, squashed.prints, squashed.rows);
  const objects: Record<string, number> = {};
  for (const statement of [...squashed.ddl.statements, ...squashed.ddl.after]) if (statement.name !== "" && statement.kind !== "setting") objects[statement.kind] = (objects[statement.kind] ?? 0) + 1;
  // A file an earlier squash replaced is already gone; the squash itself is one file.
  const removed = [...new Set(replaced.map((entry) => entry.file))];
  return { version: to, dialect, file, removed, kept: latest - to, objects, review, text };
}

/**
 * Each later TypeScript migration that imports, directly or through a helper, a migration file squash would delete: gen would refuse the folder the squash leaves, so it is refused before the
 * replay, naming both files, and the dry run says so too.
 */
function findKeptImportsOfReplaced(options: SquashOptions, migrations: MigrationRegistry): { importer: string; file: string; version: number }[] {
  if (!migrations.slice(options.to).some((entry) => entry.kind === "ts")) return [];
  const removed = new Set(migrations.slice(0, options.to).map((entry) => entry.file));
  const { migrations: scanned } = scanMigrations({ projectRoot: options.projectRoot, migrationsDir: options.migrationsDir, dialect: options.dialect, target: options.target ?? null });
  return scanned
    .filter((migration) => migration.version > options.to)
    .flatMap((migration) => (migration.localImports ?? []).filter((file) => removed.has(file)).map((file) => ({ importer: migration.file, file, version: migration.version })));
}

/** The schema migrations 1..K build, read on an empty database of the dialect after applying them. */
async function replaySchemaDdl(options: SquashOptions, migrations: MigrationRegistry) {
  if (options.dialect === "postgres" && !options.url) {
    throw unavailable("no-server", `a postgres registry replays on a server, and none is configured: set "url" in the config or DATABASE_URL (the role needs CREATEDB for a scratch database)`);
  }
  return withReplayDatabase(options, migrations, async (manager) => {
    await manager.up({ to: options.to });
    const reserved = await manager.run(readReservedTables(options));
    if (reserved.length > 0)
      throw notFaithful(
        options.to,
        reserved.map((name) => `table "${name}" bears a name stepwise keeps for its own tables, which a squash leaves out: rename it in a migration before squashing`),
      );
    const snapshot = await manager.run(readFullSchemaOf(manager));
    const exclude = stepwiseTableNames(options.tableName);
    const ddl: SchemaDdl = await manager.run(options.dialect === "postgres" ? readPostgresDdl(options.schema ?? "public", exclude) : readSqliteDdl(exclude));
    const schema = options.schema ?? "public";
    return {
      prints: printSchema(snapshot),
      ddl,
      elsewhere: await manager.run(readObjectsElsewhere(options.dialect, schema)),
      rows: [...(await manager.run(readRowPrints(options.dialect, schema, exclude))), ...(await manager.run(readCatalogCensus(options.dialect, schema, exclude)))],
    };
  });
}

/** The tables migrations 1..K made under a name stepwise keeps for its own (its guard's prefix, the safety nets' tables), which none of its own leaves in a replay. */
function* readReservedTables(options: SquashOptions): Step<string[]> {
  const sql = options.dialect === "postgres" ? "SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = ?" : "SELECT name FROM sqlite_master WHERE type = 'table'";
  const own = stepwiseTableNames(options.tableName)
    .slice(1)
    .map((name) => name.toLowerCase());
  const rows = yield* query<{ name: string }>(sql, options.dialect === "postgres" ? [options.schema ?? "public"] : []);
  return rows.map((row) => row.name).filter((name) => name.toLowerCase().startsWith(GUARD_TABLE_PREFIX) || own.includes(name.toLowerCase()));
}

/** Runs `use` on an empty database of the dialect holding nothing but `migrations`' history, with foreign keys enforced on SQLite as `gen --check` does; drops it after. */
async function withReplayDatabase<T>(options: SquashOptions, migrations: MigrationRegistry, use: (manager: ReplayDatabase["manager"]) => Promise<T>): Promise<T> {
  const database = await openReplayDatabase(options, migrations);
  if ("code" in database) throw unavailable(database.code, database.reason);
  try {
    if (options.dialect === "sqlite") await database.manager.run(exec("PRAGMA foreign_keys = ON"));
    return await use(database.manager);
  } finally {
    await database.close();
  }
}

/**
 * Applies the squash alone to an empty database and compares what it builds, and the rows it holds (before review deletes any), with what 1..K built and left: what the readers cannot carry
 * is refused here, before anything is written.
 */
async function proveSquash(options: SquashOptions, file: string, text: string, prints: readonly ObjectPrint[], rows: readonly ObjectPrint[]): Promise<void> {
  const parsed = parseSqlMigrationSource(text, { dialect: options.dialect });
  if (!parsed.ok) throw new Error(`stepwise squash wrote a migration gen cannot read: ${parsed.problems.map((problem) => `${problem.line}: ${problem.message}`).join("; ")}`);
  const { upSql, disableForeignKeys, checksum } = parsed.migration;
  const entry: SqlMigrationEntry = {
    kind: "sql",
    version: 1,
    name: "squash",
    file,
    description: null,
    checksum,
    reversible: false,
    transaction: true,
    disableForeignKeys,
    upSql,
    downSql: null,
    dialect: options.dialect,
  };
  const differences = await withReplayDatabase(options, [entry], async (manager) => {
    try {
      await manager.up({ to: 1 });
    } catch (error) {
      // What it wrote in an order or a form the database refuses is a gap of squash's, not the migrations'.
      let root: unknown = error;
      while (root instanceof StepwiseError && root.cause !== undefined) root = root.cause;
      return [`applying it failed: ${(root instanceof Error ? root.message : String(root)).split("\n")[0]}`];
    }
    const schema = compareSchemaPrints(prints, printSchema(await manager.run(readFullSchemaOf(manager))));
    const [where, exclude] = [options.schema ?? "public", stepwiseTableNames(options.tableName)];
    const built = [...(await manager.run(readRowPrints(options.dialect, where, exclude))), ...(await manager.run(readCatalogCensus(options.dialect, where, exclude)))];
    // A composite or range type is both in the schema read and in the catalog's census: one phrase for it.
    return [...new Set([...schema, ...compareSchemaPrints(rows, built)])];
  });
  if (differences.length > 0) throw notFaithful(options.to, differences);
}

/** `SQUASH_NOT_FAITHFUL`: what migrations 1..`to` built that the squash would not (`differences`). */
function notFaithful(to: number, differences: readonly string[]): StepwiseError<"SQUASH_NOT_FAITHFUL"> {
  const message = `Cannot squash to ${to}: the squash it wrote does not build the schema migrations 1 to ${to} build, or hold the rows they left (${differences.join(", ")}), so something there is beyond what squash reads. Nothing was written. Squash to an earlier version, before the migration that made it.`;
  return new StepwiseError("SQUASH_NOT_FAITHFUL", message, { target: to, differences: [...differences] });
}

const unavailable = (code: string, reason: string) =>
  new StepwiseError("SQUASH_REPLAY_UNAVAILABLE", `stepwise squash replays the migrations to read the schema they build, and cannot here (${code}): ${reason}`, { reason: code });

/** A kind of statement (`index`, `table setting`) as a heading or a count names it: `indexes`, `table settings`; one of it when `count` is 1. */
export function kindName(kind: string, count = 2): string {
  return count === 1 || kind.endsWith("statistics") ? kind : kind.endsWith("index") ? `${kind}es` : `${kind}s`;
}

/** The pragma a `PRAGMA [schema.]name = value` or `PRAGMA [schema.]name(value)` statement sets, upper-case; `null` for another statement or a pragma that only reads. */
function pragmaSetting(tokens: readonly { kind: string; text: string }[]): string | null {
  const [keyword, ...rest] = tokens.filter((token) => token.kind !== "whitespace" && !token.kind.endsWith("comment"));
  if (keyword?.text.toUpperCase() !== "PRAGMA") return null;
  const [name, after] = rest[1]?.text === "." ? [rest[2], rest[3]] : [rest[0], rest[1]];
  return name !== undefined && (after?.text === "=" || after?.text === "(") ? name.text.toUpperCase() : null;
}

/** The settings SQLite keeps in the database file that it changes only outside a transaction (or before the first table), so a squash cannot carry them. */
const FILE_SETTINGS = new Set(["JOURNAL_MODE", "AUTO_VACUUM", "PAGE_SIZE", "ENCODING"]);
// DO and CALL run code that may move rows, so they are shown too.
const DATA_WORDS = new Set(["INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "COPY", "TRUNCATE", "DO", "CALL"]);

/** `CREATE TABLE ... AS SELECT` (or `WITH`, `VALUES`, `TABLE`) and PostgreSQL's `SELECT ... INTO`: statements that fill a new table with rows, which are data too. */
function copiesRows(words: readonly string[]): boolean {
  if (words[0] === "SELECT") return words.includes("INTO");
  if (words[0] !== "CREATE") return false;
  const as = words.indexOf("AS");
  const table = words.indexOf("TABLE");
  return table !== -1 && as > table && !words.slice(0, as).includes("VIEW") && ["SELECT", "WITH", "VALUES", "TABLE"].includes(words[as + 1] ?? "");
}

/** The statements of the squashed SQL migrations that change rows, and each TypeScript migration among them. An earlier squash's rows are read again as rows, not flagged twice. */
function findDataStatements(replaced: readonly MigrationEntry[], dialect: SqlDialect): SquashReviewItem[] {
  const items: SquashReviewItem[] = [];
  for (const entry of replaced) {
    if (entry.squashedInto !== undefined) continue;
    if (entry.kind === "ts") {
      items.push({ kind: "typescript", subject: entry.file, line: null, rows: null, statement: null });
      continue;
    }
    const firstLine = (entry.sqlLines?.[0] ?? 1) - 1;
    for (const { tokens } of splitSqlStatements(tokenizeSql(entry.upSql, dialect), dialect)) {
      const words = tokens.filter((token) => token.kind === "word").map((token) => token.text.toUpperCase());
      const setsFile = dialect === "sqlite" && FILE_SETTINGS.has(pragmaSetting(tokens) ?? "");
      const changesRows = DATA_WORDS.has(words[0] ?? "") || (words[0] === "WITH" && words.some((word) => DATA_WORDS.has(word))) || copiesRows(words);
      if (!changesRows && !setsFile) continue;
      const last = tokens.at(-1)!;
      const statement = entry.upSql
        .slice(tokens[0]!.offset, last.offset + last.text.length)
        .replace(/\s+/g, " ")
        .slice(0, 100);
      items.push({ kind: changesRows ? "data-statement" : "file-setting", subject: entry.file, line: firstLine + tokens[0]!.line, rows: null, statement });
    }
  }
  return items;
}

/** The squash migration's text: the record, the review notes, then the DDL and rows under `-- migrate:up`. */
function renderSquash(fields: {
  to: number;
  dialect: SqlDialect;
  record: readonly ReplacedMigration[];
  schema: ReturnType<typeof printSchema>;
  ddl: SchemaDdl;
  review: readonly SquashReviewItem[];
}): string {
  const { to, ddl } = fields;
  const lines = [
    `-- description: Squash of migrations 1 to ${to}: the schema they built, at once`,
    `-- Written by "stepwise squash --to ${to}". The comments below are its record: the migrations it replaced, with the checksums a database that ran them`,
    `-- holds, and a fingerprint of each object they built, which "stepwise gen --check" compares with what this file builds. Do not edit them.`,
    ...renderSquashRecord(to, fields.record, fields.schema),
  ];
  // Each kind of review item under its note: the statements that changed rows, what was built elsewhere, then SQLite's file settings.
  const notes = [
    [
      ["data-statement", "typescript"],
      `${REVIEW_MARK} the squashed migrations changed rows here. Databases at version ${to} or beyond ran these already, and a fresh database gets their result as`,
      `-- the rows below (if any); what they did to rows of a database in use cannot be carried. Read them, then delete this line.`,
    ],
    [
      ["other-schema"],
      `${REVIEW_MARK} the squashed migrations also built these outside the schema a squash builds in, and a fresh database built from it lacks them. If the app needs`,
      `-- them, make them in a migration after this one (or squash to a version before the migration that made them); then delete this line.`,
    ],
    [
      ["file-setting"],
      `${REVIEW_MARK} the squashed migrations set these settings, which SQLite keeps in the database file and changes only outside a transaction: this squash runs in one, so a`,
      `-- fresh database built from it keeps SQLite's defaults. Set them where the app opens the database, or squash to a version before them; then delete this line.`,
    ],
  ] as const;
  const describe = (item: SquashReviewItem) =>
    item.kind === "typescript"
      ? `--   ${escapeControlCharacters(item.subject)}: a TypeScript migration (what it did to rows is not read)`
      : `--   ${escapeControlCharacters(item.subject)}${item.line === null ? "" : `:${item.line}: ${escapeControlCharacters(item.statement!)}`}`;
  for (const [kinds, ...note] of notes) {
    const items = fields.review.filter((item) => (kinds as readonly string[]).includes(item.kind));
    if (items.length > 0) lines.push("", ...note, ...items.map(describe));
  }
  // Rows in any table order: stepwise turns foreign keys off for the migration and checks them before it commits.
  const foreignKeysOff = fields.dialect === "sqlite" && ddl.seeds.length > 0;
  lines.push("", `-- migrate:up${foreignKeysOff ? " foreign_keys:off" : ""}`);
  const section = (statements: SchemaDdl["statements"]) => {
    let kind = "";
    for (const statement of statements) {
      if (statement.kind !== kind) lines.push("", `-- ${kindName(statement.kind)}`);
      kind = statement.kind;
      lines.push(statement.sql);
    }
  };
  section(ddl.statements);
  for (const seed of ddl.seeds) {
    lines.push(
      "",
      // A name may hold a line break, which would end the comment and leave the rest of the line as SQL.
      `${REVIEW_MARK} the squashed migrations left ${seed.statements.length} row${seed.statements.length === 1 ? "" : "s"} in ${escapeControlCharacters(seed.table)}, which a fresh database gets from the INSERTs below.`,
      `-- Keep them if they are data the app needs (lookup rows), delete them if not; then delete this line.`,
      ...seed.statements,
    );
  }
  section(ddl.after);
  return `${lines.join("\n")}\n`;
}
