/** Adopting a database another tool migrated: its history table read in that tool's shape, mapped through `stepwise import`'s map, and recorded the way `baseline` records. */
import { alreadyManagedError, migrationsUpTo } from "./errors.js";
import { ADOPTED_SUFFIX } from "../core/error-factories.js";
import { StepwiseError } from "../core/errors.js";
import { quoteIdentifier } from "../core/batch-walk.js";
import { stepwiseTableNames } from "./checksum-repair-log.js";
import { EQ } from "../core/dialects/postgres.js";
import { exec, query, queryValue, run, type Step } from "../core/step.js";
import { recordBaseline, refuseManagedDatabase, type BaselineResult } from "./baseline.js";
import { adoptedTablesOf, inWriteTransaction, tableExists, writeAdoptionRecord, postgresSchemaOf, requireReplay, runSafetyNet, type SafetyNetManager, requireManager } from "./schema-reader.js";
import { optionsObject } from "../core/options.js";
import { quoteForShell } from "../shared/shell-quote.js";

/** One migration of `stepwise-import-map.json`, as adopt reads it. */
type MapEntry = {
  readonly version: number;
  readonly originalId: string;
  readonly history: Readonly<Record<string, string | number | null>>;
  /** Other values of a `history` column the tool accepts for the same file too (Prisma's checksum of the script with its line endings changed, sqlx's without carriage returns). */
  readonly accepted?: Readonly<Record<string, readonly string[]>>;
};

/**
 * A migration as the tool's table records it: `id` matches the map's `history[key]`; `rolled-back` counts as not applied (the tool would run it again), any other state but `applied` is refused.
 * `baselineScript`: the tool ran its baseline script (Flyway's B, on an empty database) for this row. `code`: the tool ran code of this kind for it (Flyway's `JDBC`), which import does not read, so
 * its checksum (none, or the code's own) is not compared with the file standing for it.
 */
type Recorded = { id: string; state: string; checksum?: string; baselineScript?: true; code?: string };

/** Where a tool keeps its history and how to read it: `key` and `checksum` name the map's `history` fields. */
type ToolHistory = {
  table: string;
  postgresSchema?: string;
  key: string;
  checksum?: string;
  /** Another form of the map's checksum the tool accepts too. */
  legacyChecksum?: (expected: string) => string;
  columns: string;
  orderBy?: string;
  /** Default: each row records its `key` column's migration as applied. */
  read?: (rows: Row[]) => Recorded[];
  upTo?: true;
  /** The tool may keep its history in a file instead (Umzug's JSONStorage): the migrations that file's parsed JSON records, or `null` when it is not in the tool's shape. */
  file?: (content: unknown) => Recorded[] | null;
  /** The tool records migrations in the order it ran them (`orderBy`) and may run them out of name order: adopt refuses a history not in version order. */
  ordered?: true;
  /** How the tool itself applies migrations missing below its newest, for `ADOPT_HISTORY_GAP`'s advice. */
  gapFix?: string;
  /** Recorded ids the tool runs after every versioned migration it has pending (Flyway's repeatable scripts), and how its plain run applies what is missing below only such ids: those are pending, not skipped. */
  runsLast?: { readonly ids: (id: string) => boolean; readonly fix: string };
  /** Whether a `baseline` row of version `baseline` stands for migration `id` as applied (Flyway's baseline covers every version at or below it). */
  baselineCovers?: (baseline: string, id: string) => boolean;
  /** The id a map entry's `history` is recorded under, when it is not `history[key]` (Flyway's repeatable scripts have no version). */
  mapId?: (history: Readonly<Record<string, string | number | null>>) => string;
  /** Recorded ids the tool runs again whenever their text changes (Flyway's repeatable scripts), for `ADOPT_CHECKSUM_MISMATCH`'s advice. */
  rerunsChanged?: (id: string) => boolean;
  /** The tool records a script's file name with its extension, which a build changes (`.ts` to `.js`): a recorded name matches an imported one of another script extension. */
  scriptNames?: true;
};
type Row = Record<string, unknown>;

const text = (value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString("hex") : String(value));
/** A BLOB (SQLite) or BYTEA (PostgreSQL, which stepwise's pg connection reads as `\x` text) as hex. */
const hex = (value: unknown) => text(value).replace(/^\\x/, "");
const truthy = (value: unknown) => value === true || value === 1 || value === "1" || value === "t" || value === "true";
/** A script's file name without its JavaScript or TypeScript extension. */
const stripScriptExtension = (name: string) => name.replace(/\.[cm]?[jt]s$/i, "");
/** The newest row per id wins (rows come oldest first). */
const latestBy = (rows: Row[], column: string) => [...new Map(rows.map((row) => [text(row[column]), row])).entries()];

/** The migrations the tool's history rows record, as its `read` reads them. */
const recordedIn = (history: ToolHistory, rows: Row[]): Recorded[] => history.read?.(rows) ?? rows.map((row) => ({ id: text(row[history.key]), state: "applied" }));
/** The tool's history rows in `oldTable`, oldest first. */
const readToolRows = (history: ToolHistory, oldTable: string) => query<Row>(`SELECT ${history.columns} FROM ${oldTable}${history.orderBy ? ` ORDER BY ${history.orderBy}` : ""}`);

/** A Flyway repeatable script's id, from its description: it has no version, and no version starts so. */
const REPEATABLE = "R__";
const repeatableId = (description: unknown) => `${REPEATABLE}${text(description)}`;

/** Flyway's row types for a migration it ran as code rather than as a SQL script: Java (`JDBC`, `SPRING_JDBC`), a script run by an interpreter (`SCRIPT`), or a resolver's own (`CUSTOM`). */
const FLYWAY_CODE_TYPES = new Set(["JDBC", "SPRING_JDBC", "SCRIPT", "CUSTOM"]);

/** Orders Flyway versions as Flyway does: parts split at `.` or `_`, compared as numbers, missing parts 0 (`1.9` < `1.10`, `1` = `1.0`). */
function compareFlywayVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((version) => version.split(/[._]/).map((part) => (/^\d+$/.test(part) ? BigInt(part) : 0n)));
  for (let index = 0; index < Math.max(x!.length, y!.length); index++) {
    const [p, q] = [x![index] ?? 0n, y![index] ?? 0n];
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

/** A table of a row per applied migration, `id` numbering them in the order they ran and `name` naming each. */
const NAME_ROW_PER_RUN = { key: "name", columns: "id, name", orderBy: "id", ordered: true } as const;

/** Each tool's history table, in the shape its documentation and source give it. */
const TOOLS: Readonly<Record<string, ToolHistory>> = {
  diesel: {
    table: "__diesel_schema_migrations",
    key: "version",
    columns: "version",
    gapFix: "diesel migration run applies every migration it has not recorded",
  },
  sqlx: {
    table: "_sqlx_migrations",
    key: "version",
    checksum: "checksum",
    columns: "version, success, checksum",
    read: (rows) => rows.map((row) => ({ id: text(row.version), state: truthy(row.success) ? "applied" : "failed", checksum: hex(row.checksum) })),
    gapFix: "sqlx migrate run applies every migration it has not recorded",
  },
  dbmate: {
    table: "schema_migrations",
    key: "version",
    columns: "version",
    gapFix: "dbmate up applies every migration it has not recorded",
  },
  // One row: the newest version applied, every earlier one implied; -1 after migrating down to nothing.
  "golang-migrate": {
    table: "schema_migrations",
    key: "version",
    columns: "version, dirty",
    upTo: true,
    // A dirty -1 is a down of migration 1 that died part way, which the tool refuses to go on from as it does any dirty row.
    read: (rows) => rows.filter((row) => text(row.version) !== "-1" || truthy(row.dirty)).map((row) => ({ id: text(row.version), state: truthy(row.dirty) ? "dirty" : "applied" })),
  },
  // A row per up (is_applied true) and down (false); the newest row of a version is its state; goose writes version 0 when it creates the table.
  goose: {
    table: "goose_db_version",
    key: "version_id",
    columns: "version_id, is_applied",
    orderBy: "id",
    read: (rows) =>
      latestBy(rows, "version_id")
        .filter(([id]) => id !== "0")
        .map(([id, row]) => ({ id, state: truthy(row.is_applied) ? "applied" : "rolled-back" })),
    gapFix: "goose up -allow-missing applies them (plain goose up refuses a history with missing migrations)",
  },
  // Rows by installed_rank; SCHEMA (the schema Flyway created) is no migration; an UNDO_SQL row undid its version; a repeatable script's rows (no version) are found by description, the newest
  // one counting (Flyway runs it again when it changes).
  flyway: {
    table: "flyway_schema_history",
    key: "version",
    checksum: "checksum",
    columns: "version, description, type, checksum, success",
    orderBy: "installed_rank",
    mapId: (history) => (history.version === undefined ? repeatableId(history.description) : text(history.version)),
    rerunsChanged: (id) => id.startsWith(REPEATABLE),
    read: (rows) =>
      latestBy(
        rows.filter((row) => row.type !== "SCHEMA").map((row) => ({ ...row, id: row.version === null ? repeatableId(row.description) : text(row.version) })),
        "id",
      ).map(([id, row]) => ({
        id,
        state: !truthy(row.success)
          ? "failed"
          : row.type === "UNDO_SQL"
            ? "rolled-back"
            : row.type === "SQL" || row.type === "SQL_BASELINE" || FLYWAY_CODE_TYPES.has(text(row.type))
              ? "applied"
              : row.type === "BASELINE"
                ? "baseline"
                : `type ${text(row.type)}`,
        ...(FLYWAY_CODE_TYPES.has(text(row.type)) ? { code: text(row.type) } : { checksum: text(row.checksum) }),
        ...(row.type === "SQL_BASELINE" && { baselineScript: true as const }),
      })),
    gapFix: "flyway migrate -outOfOrder=true applies them (plain migrate reports them ignored)",
    // A repeatable script ran before a V script was added: plain migrate runs that V script (and not the unchanged repeatable again).
    runsLast: { ids: (id) => id.startsWith(REPEATABLE), fix: "flyway migrate applies them, as they are pending, not skipped: the repeatable scripts above them are the last Flyway ran" },
    // flyway baseline (or baselineOnMigrate) marks every version at or below its own as applied without running it.
    baselineCovers: (baseline, id) => !id.startsWith(REPEATABLE) && compareFlywayVersions(id, baseline) <= 0,
  },
  // drizzle's migrator compares the journal's `when` with created_at, so that is the id; hash is the SQL file's SHA-256.
  drizzle: {
    table: "__drizzle_migrations",
    postgresSchema: "drizzle",
    key: "created_at",
    checksum: "hash",
    columns: "hash, created_at",
    read: (rows) => rows.map((row) => ({ id: text(row.created_at), state: "applied", checksum: text(row.hash) })),
    // Its migrator runs only journal entries newer than the newest created_at, so it never fills a gap.
    gapFix:
      "drizzle's migrator runs only journal entries newer than the newest row, so it will never apply them: run their SQL yourself and insert their rows (hash, created_at) into its table, or remove the newer rows and migrate with drizzle again",
  },
  // A row per attempt: finished and not rolled back is applied; a later attempt may follow a rolled-back one.
  prisma: {
    table: "_prisma_migrations",
    key: "migration_name",
    checksum: "checksum",
    columns: "migration_name, checksum, finished_at, rolled_back_at",
    orderBy: "started_at",
    // Early Prisma wrote each byte without its leading zero (prisma-engines#1887), and Prisma still accepts those rows.
    legacyChecksum: (expected) => expected.replace(/[0-9a-f]{2}/g, (byte) => parseInt(byte, 16).toString(16)),
    read: (rows) =>
      latestBy(rows, "migration_name").map(([id]) => {
        const attempts = rows.filter((row) => text(row.migration_name) === id);
        const applied = attempts.find((row) => row.finished_at !== null && row.rolled_back_at === null);
        const state = applied ? "applied" : attempts.some((row) => row.rolled_back_at === null) ? "failed" : "rolled-back";
        return { id, state, checksum: text((applied ?? attempts.at(-1)!).checksum) };
      }),
    gapFix: "prisma migrate deploy applies every migration it has not recorded",
  },
  // A row per applied migration, name with its extension; knex_migrations_lock beside it is the old table too. Knex runs a file added with an earlier name after later ones.
  knex: {
    table: "knex_migrations",
    ...NAME_ROW_PER_RUN,
    scriptNames: true,
  },
  // A row per applied migration; its ISO timestamp orders them, and rows of one millisecond ran in name order (code units, as Kysely sorts); kysely_migration_lock beside it is the old table too.
  // allowUnorderedMigrations lets names run out of order.
  kysely: {
    table: "kysely_migration",
    key: "name",
    columns: 'name, "timestamp"',
    ordered: true,
    read: (rows) =>
      rows
        .map((row) => ({ id: text(row.name), at: text(row.timestamp) }))
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map(({ id }) => ({ id, state: "applied" })),
  },
  // A row per applied migration (name without extension, run_on); checkOrder: false lets names run out of order.
  "node-pg-migrate": {
    table: "pgmigrations",
    ...NAME_ROW_PER_RUN,
  },
  // wrangler d1 migrations apply: a row per applied file (its path below migrations_dir) in the file's own D1 batch; it applies every file it has no row for, after the newest, so in id order.
  wrangler: {
    table: "d1_migrations",
    ...NAME_ROW_PER_RUN,
    gapFix: "wrangler d1 migrations apply applies every migration it has not recorded",
  },
  // SequelizeStorage: a row per applied migration, its file name, in a table with no order (Umzug runs pending migrations in name order).
  // JSONStorage instead: a file holding the JSON array of those names, in the order Umzug ran them.
  umzug: {
    table: "SequelizeMeta",
    key: "name",
    columns: "name",
    scriptNames: true,
    file: (content) => (Array.isArray(content) && content.every((name) => typeof name === "string") ? content.map((id: string) => ({ id, state: "applied" })) : null),
  },
};

/** Options for {@link adoptDatabase}. */
export interface AdoptOptions {
  /** Where the map was read from, for messages. */
  readonly mapFile: string;
  /** Drop the old tool's history table in the same transaction. Default `false`: kept, and left out of `baseline` and `verify`. */
  readonly dropOldTable?: boolean;
  /** The tool's history kept in a file instead of a table (Umzug's JSONStorage): its name for messages, and its parsed JSON, or why it could not be read (`unreadable`: it does not exist, or its parse error). */
  readonly historyFile?: { readonly file: string; readonly content: unknown; readonly unreadable?: string };
  /** The old tool's history table when it was configured to name it otherwise: `name`, or `schema.name` on PostgreSQL (a part double-quoted when it holds a dot or a quote). Default: the tool's own name. */
  readonly oldTable?: string;
}

/** What {@link adoptDatabase} did. Plain data. */
export interface AdoptResult extends Omit<BaselineResult, "forced" | "differences" | "drift" | "oldTables"> {
  readonly tool: string;
  /** The old tool's history table, as written in SQL. */
  readonly oldTable: string;
  readonly oldTableDropped: boolean;
  /** True when an earlier run adopted the database: nothing changed. */
  readonly alreadyAdopted: boolean;
  /** The migrations the map holds; `up` applies those above `version`. */
  readonly imported: number;
}

/**
 * Adopts a database the tool named in `map` migrated: reads that tool's history table, maps each applied migration to its imported version, and when they are 1..k, checksums agree and the schema
 * matches migrations 1..k, records them as applied and records the adoption, in one transaction.
 */
export function adoptDatabase(manager: SafetyNetManager, map: unknown, options: AdoptOptions): AdoptResult | Promise<AdoptResult> {
  requireManager(manager, "adoptDatabase");
  return runSafetyNet(
    manager,
    () => {
      requireReplay(manager, "adoptDatabase");
      optionsObject(options, "adoptDatabase", ["mapFile", "dropOldTable", "historyFile", "oldTable"]);
      const named = options.oldTable === undefined ? undefined : parseOldTable(options.oldTable, postgresSchemaOf(manager) !== undefined);
      const read = readMap(map, options.mapFile, manager.migrations.length);
      // The table the tool's own config named, which import recorded in the map (wrangler's migrations_table).
      // The name as the tool's config holds it, not --old-table's syntax: wrangler quotes it, so a dot in it is part of the name.
      const fromMap = named ?? (read.oldTable === undefined ? undefined : { name: read.oldTable });
      return adopt(manager, read, fromMap, options);
    },
    "adoptDatabase",
  );
}

/** The map's tool and migrations, checked; `ADOPT_MAP_INVALID` otherwise. */
function readMap(map: unknown, file: string, latest: number): { tool: string; migrations: readonly MapEntry[]; oldTable?: string } {
  const invalid = (reason: string) => new StepwiseError("ADOPT_MAP_INVALID", `${file} cannot be adopted from: ${reason}.`, { file, reason });
  const value = map as { format?: unknown; tool?: unknown; migrations?: unknown; oldTable?: unknown };
  if (value?.format !== "stepwise-import-map/1" || !Array.isArray(value.migrations)) throw invalid('it is not a "stepwise-import-map/1" map written by stepwise import');
  if (typeof value.tool !== "string" || !Object.hasOwn(TOOLS, value.tool)) throw invalid(`adopt reads ${Object.keys(TOOLS).join(", ")}, not ${String(value.tool)}`);
  const migrations = value.migrations as MapEntry[];
  if (migrations.some((entry, index) => entry?.version !== index + 1 || typeof entry.history !== "object")) throw invalid("its migrations are not versions 1..N each with a history");
  if (migrations.length > latest) throw invalid(`it maps ${migrations.length} migrations and the registry holds ${latest}; run "stepwise gen" after the import`);
  if (value.oldTable !== undefined && typeof value.oldTable !== "string") throw invalid("its oldTable is not a table name");
  return { tool: value.tool, migrations, ...(typeof value.oldTable === "string" && { oldTable: value.oldTable }) };
}

/** `--old-table`'s value read as `name` or `schema.name`, each part bare or double-quoted (`""` for a quote inside); `ADOPT_OLD_TABLE_INVALID` otherwise. */
export function parseOldTable(value: string, postgres: boolean): { readonly schema?: string; readonly name: string } {
  const invalid = (reason: string) => new StepwiseError("ADOPT_OLD_TABLE_INVALID", `--old-table ${JSON.stringify(value)} cannot name a history table: ${reason}.`, { value, reason });
  const parts: string[] = [];
  for (let rest = value; ;) {
    const [whole, quoted, bare] = /^(?:"((?:[^"]|"")*)"|([^".]*))/.exec(rest)!;
    parts.push(quoted === undefined ? bare! : quoted.replaceAll('""', '"'));
    rest = rest.slice(whole.length);
    if (rest === "") break;
    if (!rest.startsWith(".")) throw invalid('a double quote must open and close a whole part, as in "my.schema"."my""table"');
    rest = rest.slice(1);
  }
  if (parts.length > 2) throw invalid("it has more than one dot outside double quotes; give name or schema.name");
  if (parts.some((part) => part === "" || part.includes("\0"))) throw invalid("a part is empty or holds a NUL character");
  if (parts.length === 2 && !postgres) throw invalid("a schema is PostgreSQL's, and this database is SQLite: give the table's name alone");
  // PostgreSQL cuts a longer name to 63 bytes, which would read another table than the one named.
  if (postgres && parts.some((part) => new TextEncoder().encode(part).length > 63)) throw invalid("PostgreSQL names are at most 63 bytes");
  if (!postgres && /^sqlite_/i.test(parts[0]!)) throw invalid("names starting sqlite_ are SQLite's own tables");
  return parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

/** The `stepwise baseline` command that records `version` leaving out the old tool's `oldTables`, each word as a shell reads it back: `ADOPT_UNKNOWN_MIGRATION`'s message and the CLI's fix both print it. */
export function baselineCommand(version: number, oldTables: readonly string[]): string {
  return ["stepwise", "baseline", String(version), ...oldTables.flatMap((table) => ["--old-table", quoteForShell(table)])].join(" ");
}

/** `table`, schema-qualified on PostgreSQL, as SQL writes it. */
const qualified = (schema: string | null | undefined, table: string) => (schema == null ? quoteIdentifier(table) : `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`);

/** `ADOPT_HISTORY_MISSING` for a database without the tool's table `oldTable`; `elsewhere` says where else the history may be: a file, or a table of another name. */
function historyMissingError(
  tool: string,
  { table, schema, oldTable }: { table: string; schema: string | undefined; oldTable: string },
  elsewhere: "file" | "name" | null,
  otherTools: readonly string[],
) {
  const other =
    elsewhere === "file"
      ? ` (or, if ${tool} kept its history in a file, name it with --history-file)`
      : elsewhere === "name"
        ? ` (if ${tool} was configured to name its table otherwise, pass that name with --old-table)`
        : "";
  // drizzle-kit's folder applied by wrangler (D1), or the like: the map is another tool's import than the one that migrated the database.
  const held =
    otherTools.length === 0
      ? ""
      : ` It holds the history table of ${otherTools.join(" or ")}: if that tool migrated it, import the folder with "stepwise import ${otherTools[0]}" into an empty folder (--dir) and adopt with the map that writes (--map).`;
  const message = `This database has no ${oldTable}, ${tool}'s history table, so there is nothing to adopt${other}; point --db/--url at the database ${tool} migrated.${held}`;
  return new StepwiseError("ADOPT_HISTORY_MISSING", message, { tool, table, schema: schema ?? null, ...(otherTools.length > 0 && { otherTools }) });
}

/** The tools adopt reads whose history table (by its default name, when it is not stepwise's own) this database holds, besides `tool`. */
function* otherToolsHere(tool: string, appSchema: string | undefined, own: readonly string[]): Step<string[]> {
  const found: string[] = [];
  for (const [name, other] of Object.entries(TOOLS)) {
    const mine = (other.postgresSchema === undefined || appSchema === undefined) && own.some((table) => table.toLowerCase() === other.table.toLowerCase());
    if (name !== tool && !mine && (yield* tableExists(appSchema === undefined ? undefined : (other.postgresSchema ?? appSchema), other.table))) found.push(name);
  }
  return found;
}

function* adopt(
  manager: SafetyNetManager,
  map: { tool: string; migrations: readonly MapEntry[] },
  named: { readonly schema?: string; readonly name: string } | undefined,
  options: AdoptOptions,
): Step<AdoptResult> {
  const { tool, migrations } = map;
  const history = TOOLS[tool]!;
  const table = named?.name ?? history.table;
  const appSchema = postgresSchemaOf(manager);
  const schema = appSchema === undefined ? undefined : (named?.schema ?? history.postgresSchema ?? appSchema);
  const oldTable = qualified(schema, table);
  const store = manager.executor.store;
  const base = { tool, oldTable, imported: migrations.length };
  if (yield* store.companionExists(ADOPTED_SUFFIX)) return { ...base, ...(yield* readEarlierAdoption(manager, options, map, { table, schema })) };
  // SQLite's names match whatever their case; PostgreSQL's only as written.
  const sameName = (name: string) => (schema === undefined ? name.toLowerCase() === table.toLowerCase() : name === table);
  if (schema === appSchema && stepwiseTableNames(manager.tableName).some(sameName)) {
    throw new StepwiseError(
      "ADOPT_TABLE_CLASH",
      `${tool}'s history table is ${table}, which is stepwise's history table name (or one of its own tables) too, so both cannot be kept: give stepwise's another name (--table stepwise_migrations, or "tableName" in the config), then adopt.`,
      { tool, table },
    );
  }
  const fromFile = options.historyFile;
  const readRecorded = function* (): Step<Recorded[]> {
    try {
      return recordedIn(history, yield* readToolRows(history, oldTable));
    } catch (error) {
      // dbmate and golang-migrate both name theirs schema_migrations: a table of the name, but another tool's.
      throw new StepwiseError(
        "ADOPT_HISTORY_MISSING",
        `${oldTable} is not ${tool}'s history table (it lacks the columns ${history.columns}): another tool made it. Check that --map is the import of the tool that migrated this database.`,
        { tool, table, schema: schema ?? null },
        { cause: error },
      );
    }
  };
  let recorded: Recorded[];
  if (fromFile !== undefined) recorded = readHistoryFile(tool, history, fromFile);
  else {
    if (!(yield* tableExists(schema, table))) {
      yield* refuseManagedDatabase(manager, tool);
      const elsewhere = history.file !== undefined ? "file" : options.oldTable === undefined ? "name" : null;
      throw historyMissingError(tool, { table, schema, oldTable }, elsewhere, yield* otherToolsHere(tool, appSchema, stepwiseTableNames(manager.tableName)));
    }
    yield* refuseWhileLocked(tool, schema, table);
    recorded = yield* readRecorded();
  }
  // A history file leaves no table of the tool's in the database: the record names the file, marked dropped so no table is ever left out of the schema for it.
  const tables = fromFile === undefined ? adoptedTablesOf(tool, table) : [];
  const version = resolveApplied(tool, history, migrations, recorded, tables);
  const dropped = fromFile === undefined && Boolean(options.dropOldTable);
  refuseInsideSquash(manager, tool, version);
  const result = yield* recordBaseline(
    manager,
    version,
    {},
    {
      tool,
      foreign: schema === appSchema ? tables : [],
      *alsoWrite() {
        if (fromFile !== undefined) return yield* writeAdoptionRecord(manager, tool, version, [{ table: fromFile.file, schema: undefined, dropped: true }]);
        // The tool may have migrated since its table was read: under the write lock (on PostgreSQL, the table's own), what is recorded must be what the checks judged.
        if (schema !== undefined) yield* exec(`LOCK TABLE ${oldTable} IN SHARE ROW EXCLUSIVE MODE`);
        if (JSON.stringify(yield* readRecorded()) !== JSON.stringify(recorded)) {
          throw new StepwiseError("ADOPT_HISTORY_CHANGED", `${tool} wrote to ${oldTable} while adopt ran, so what adopt checked is out of date; nothing was written. Stop ${tool}, then adopt again.`, {
            tool,
            table,
            adoptedVersion: null,
            toolVersion: null,
            currentVersion: null,
          });
        }
        if (dropped) yield* dropOldTable(tool, schema, table, appSchema);
        yield* writeAdoptionRecord(manager, tool, version, [{ table, schema, dropped }]);
      },
    },
  );
  return { ...base, oldTable: fromFile?.file ?? oldTable, version: result.version, recorded: result.recorded, oldTableDropped: dropped, alreadyAdopted: false };
}

/** The migrations a history file (Umzug's JSONStorage) records; `ADOPT_HISTORY_MISSING` when it is unreadable or not the tool's. */
function readHistoryFile(tool: string, history: ToolHistory, historyFile: NonNullable<AdoptOptions["historyFile"]>): Recorded[] {
  const recorded = historyFile.unreadable === undefined ? (history.file?.(historyFile.content) ?? null) : null;
  if (recorded !== null) return recorded;
  const reason = history.file === undefined ? `${tool} keeps its history in a table, not a file` : (historyFile.unreadable ?? `it is not ${tool}'s history file`);
  throw new StepwiseError("ADOPT_HISTORY_MISSING", `${historyFile.file} cannot be adopted from: ${reason}. Name the file the tool wrote, or leave out --history-file to read its table.`, {
    tool,
    table: historyFile.file,
    schema: null,
    reason,
  });
}

/**
 * `DATABASE_INSIDE_SQUASH` when the tool left the database part way through migrations a squash replaced: stepwise has only the squash, which builds them all, so the old tool must finish them.
 * (The next version's entry names the squash, as the planner reads it.)
 */
function refuseInsideSquash(manager: SafetyNetManager, tool: string, version: number): void {
  const squash = version > 0 ? manager.migrations[version]?.squashedInto : undefined;
  if (squash === undefined) return;
  const file = manager.migrations[squash - 1]!.file;
  const message = `${tool} brought this database to version ${version}, inside migrations 1 to ${squash}, which ${file} replaces since they were squashed: stepwise no longer has the migrations between, so it cannot bring the database to version ${squash}. Nothing was written.\nMigrate it to version ${squash} or beyond with ${tool} first, then adopt again.`;
  throw new StepwiseError("DATABASE_INSIDE_SQUASH", message, { version, squashVersion: squash, file });
}

/** The column of the lock table beside the history (`<table>_lock`) a tool sets while it migrates: Knex's `is_locked`, which `knex migrate:unlock` clears; Kysely's built-in adapters lock otherwise and never set theirs. */
const TOOL_LOCKS: Readonly<Record<string, string>> = { knex: "is_locked" };

/** Refuses while the old tool holds its lock: it is migrating now, or a run died holding it, as the tool itself then refuses to migrate. */
function* refuseWhileLocked(tool: string, schema: string | undefined, table: string): Step<void> {
  const column = TOOL_LOCKS[tool];
  if (column === undefined) return;
  const lockTable = `${table}_lock`;
  if (!(yield* tableExists(schema, lockTable))) return;
  const rows = yield* query<Row>(`SELECT ${quoteIdentifier(column)} AS locked FROM ${qualified(schema, lockTable)}`);
  if (!rows.some((row) => truthy(row.locked))) return;
  throw new StepwiseError(
    "ADOPT_TOOL_LOCKED",
    `${tool} holds its migration lock (${lockTable}.${column} is set): it is migrating this database now, or a run of it died holding the lock and may have left a migration half done; nothing was written. Stop ${tool}; if none is running, check the schema, release the lock with ${tool} (knex migrate:unlock), then adopt.`,
    { tool, table: lockTable },
  );
}

/**
 * What an earlier run adopted, whichever map this run was given; a table it kept is dropped now when asked, the record saying so. When that kept table is the map's tool's and the tool applied
 * more since, those migrations are recorded now, checked as the first run checks (see {@link recordToolRunSince}).
 */
function* readEarlierAdoption(
  manager: SafetyNetManager,
  options: AdoptOptions,
  map: { tool: string; migrations: readonly MapEntry[] },
  toolTable: { table: string; schema: string | undefined },
): Step<Partial<AdoptResult> & Pick<AdoptResult, "version" | "recorded" | "oldTableDropped" | "alreadyAdopted">> {
  const store = manager.executor.store;
  const record = store.companionTable(ADOPTED_SUFFIX);
  const rows = yield* query<AdoptionRow>(`SELECT tool, old_table, old_schema, version, dropped FROM ${record}`);
  const [row] = rows;
  const adopted = Number(row?.version ?? 0);
  if (row !== undefined && !Object.hasOwn(TOOLS, row.tool)) return yield* readBaselineBeside(manager, map, rows, toolTable);
  if (row === undefined) return { version: adopted, recorded: upTo(adopted), oldTableDropped: false, alreadyAdopted: true };
  const oldTable = qualified(row.old_schema, row.old_table);
  const dropNow = options.dropOldTable === true && !truthy(row.dropped);
  // The old tool can still run while its table (or history file, named again) is kept; what it applied since is read from there (only through its own tool's map).
  const file = options.historyFile !== undefined && map.tool === row.tool ? readHistoryFile(row.tool, TOOLS[row.tool]!, options.historyFile) : undefined;
  const kept = file === undefined && !truthy(row.dropped) && map.tool === row.tool && (yield* tableExists(row.old_schema ?? undefined, row.old_table));
  const since = kept || file !== undefined ? yield* recordToolRunSince(manager, map, row, dropNow, file) : undefined;
  if (since !== undefined) return { tool: row.tool, oldTable, ...since, oldTableDropped: dropNow, alreadyAdopted: false };
  if (dropNow) {
    const history = TOOLS[row.tool]!;
    const seen = kept ? JSON.stringify(recordedIn(history, yield* readToolRows(history, oldTable))) : undefined;
    yield* inWriteTransaction(function* () {
      if (seen !== undefined) yield* refuseChangedSince(row, seen, adopted, adopted);
      yield* dropOldTable(row.tool, row.old_schema ?? undefined, row.old_table, postgresSchemaOf(manager));
      yield* exec(`UPDATE ${record} SET dropped = 1`);
    });
  }
  return { tool: row.tool, oldTable, version: adopted, recorded: upTo(adopted), oldTableDropped: dropNow || truthy(row.dropped), alreadyAdopted: true };
}

/** The adoption record's row: the old tool (`baseline` for `baseline --old-table`), its table, and the version adopted at. `baselined`: read from a baseline's record, as an adoption. */
type AdoptionRow = { tool: string; old_table: string; old_schema: string | null; version: number | string; dropped: number | boolean; baselined?: true };

/**
 * Adopt on a database `baseline --old-table` recorded: when the tables it left out include the map's tool's history table, that is an adoption at the baseline's version with the table kept, and
 * what the tool applied since is recorded (or refused) as after an adoption; the table stays (drop it by hand). Otherwise `ALREADY_MANAGED`: which of the tool's migrations the history holds
 * is unknown.
 */
function* readBaselineBeside(
  manager: SafetyNetManager,
  map: { tool: string; migrations: readonly MapEntry[] },
  rows: readonly AdoptionRow[],
  { table, schema }: { table: string; schema: string | undefined },
): Step<Partial<AdoptResult> & Pick<AdoptResult, "version" | "recorded" | "oldTableDropped" | "alreadyAdopted">> {
  // SQLite's names match whatever their case; PostgreSQL's only as written.
  const named = (row: AdoptionRow) => (schema === undefined ? row.old_table.toLowerCase() === table.toLowerCase() : row.old_table === table && row.old_schema === schema);
  const match = rows.find((row) => named(row) && !truthy(row.dropped));
  const managed = function* () {
    return alreadyManagedError((yield* manager.executor.store.readKeys()).at(-1)?.version ?? Number(rows[0]!.version), manager.tableName, map.tool);
  };
  if (match === undefined || !(yield* tableExists(match.old_schema ?? undefined, match.old_table))) throw yield* managed();
  try {
    yield* readToolRows(TOOLS[map.tool]!, qualified(match.old_schema, match.old_table));
  } catch {
    // A table of the tool's name that another tool made (Rails' schema_migrations for golang-migrate's): no history of the tool's to read.
    throw yield* managed();
  }
  const since = yield* recordToolRunSince(manager, map, { ...match, tool: map.tool, baselined: true }, false);
  const version = since?.version ?? Number(match.version);
  return { tool: map.tool, oldTable: qualified(match.old_schema, match.old_table), version, recorded: since?.recorded ?? upTo(version), oldTableDropped: false, alreadyAdopted: since === undefined };
}

/** Versions 1..`version`. */
const upTo = (version: number) => Array.from({ length: version }, (_, index) => index + 1);

/** `ADOPT_HISTORY_CHANGED` for a later run: the old tool's table no longer records what it recorded. */
const changedSince = (row: AdoptionRow, message: string, versions: { adoptedVersion: number; toolVersion: number | null; currentVersion: number | null }) =>
  new StepwiseError("ADOPT_HISTORY_CHANGED", message, { tool: row.tool, table: row.old_table, ...versions });

/** Inside the write: the old tool's table still records `seen`, what the checks judged; it may have migrated since it was read. */
function* refuseChangedSince(row: AdoptionRow, seen: string, adopted: number, current: number): Step<void> {
  const history = TOOLS[row.tool]!;
  const oldTable = qualified(row.old_schema, row.old_table);
  if (row.old_schema !== null) yield* exec(`LOCK TABLE ${oldTable} IN SHARE ROW EXCLUSIVE MODE`);
  if (JSON.stringify(recordedIn(history, yield* readToolRows(history, oldTable))) === seen) return;
  throw changedSince(row, `${row.tool} wrote to ${oldTable} while adopt ran, so what adopt checked is out of date; nothing was written. Stop ${row.tool}, then adopt again.`, {
    adoptedVersion: adopted,
    toolVersion: null,
    currentVersion: current,
  });
}

/**
 * A later adopt, when the old tool's kept table records more than was adopted (it ran again: its table is what it reads): records those migrations as applied without running them, checked
 * as the first run checks (map, checksums, order, gaps, its lock, the schema), and moves the adoption record to that version; `undefined` when the tool records what was adopted.
 * `ADOPT_HISTORY_CHANGED` when that cannot be right: the tool rolled back since (stepwise's history still records those migrations), or stepwise's history moved since too (both migrated it).
 */
function* recordToolRunSince(
  manager: SafetyNetManager,
  map: { tool: string; migrations: readonly MapEntry[] },
  row: AdoptionRow,
  dropNow: boolean,
  file?: Recorded[],
): Step<{ version: number; recorded: readonly number[] } | undefined> {
  const { tool } = row;
  const history = TOOLS[tool]!;
  const schema = row.old_schema ?? undefined;
  const oldTable = qualified(schema, row.old_table);
  const store = manager.executor.store;
  const adopted = Number(row.version);
  // A history file (Umzug's JSONStorage) is read as the first run read it: no lock, no table to leave out or read again under the write lock.
  if (file === undefined) yield* refuseWhileLocked(tool, schema, row.old_table);
  const rows = file ?? recordedIn(history, yield* readToolRows(history, oldTable));
  const tables = file === undefined ? adoptedTablesOf(tool, row.old_table) : [];
  const version = resolveApplied(tool, history, map.migrations, rows, tables);
  if (version === adopted) return undefined;
  const current = (yield* store.readKeys()).at(-1)?.version ?? 0;
  const versions = { adoptedVersion: adopted, toolVersion: version, currentVersion: current };
  const records = version === 0 ? "no migration" : migrationsUpTo(version);
  if (version < adopted) {
    throw changedSince(
      row,
      `${tool} records ${records} in ${oldTable}, but ${adoptedAt(row, adopted)}: ${tool} rolled back ${rangeOf(version + 1, adopted)} since, which stepwise's history still records as applied; nothing was written. Migrate the database forward with ${tool} again, to version ${adopted} or beyond, then adopt again: it records what ${tool} applied past ${adopted}.`,
      versions,
    );
  }
  if (current !== adopted) {
    throw changedSince(
      row,
      `${tool} records ${records} in ${oldTable}, and stepwise's history is at version ${current}, but ${adoptedAt(row, adopted)}: both migrated it since, each from its own history, so a migration may have run under both; nothing was written. Check the schema ("stepwise verify") and the data those migrations change, and repair them by hand; then delete the rows ${tool} recorded after the adoption from ${oldTable} (or drop it), and stop ${tool}'s deployments.`,
      versions,
    );
  }
  refuseInsideSquash(manager, tool, version);
  const seen = JSON.stringify(rows);
  const appSchema = postgresSchemaOf(manager);
  const record = store.companionTable(ADOPTED_SUFFIX);
  const result = yield* recordBaseline(
    manager,
    version,
    {},
    {
      tool,
      foreign: schema === appSchema ? tables : [],
      since: adopted,
      // stepwise's history must still end where the adoption left it: a run of up since would be a migration of its own.
      *guard() {
        const now = (yield* store.readKeys()).at(-1)?.version ?? 0;
        if (now !== adopted) throw changedSince(row, `stepwise's history reached version ${now} while adopt ran; nothing was written. Adopt again.`, { ...versions, currentVersion: now });
      },
      *alsoWrite() {
        if (file === undefined) yield* refuseChangedSince(row, seen, adopted, current);
        if (dropNow) yield* dropOldTable(tool, schema, row.old_table, appSchema);
        yield* run(`UPDATE ${record} SET version = ?${dropNow ? ", dropped = 1" : ""}`, [version]);
      },
    },
  );
  return { version: result.version, recorded: result.recorded };
}

/** How a later run's messages name the version the adoption (or a baseline that left the tool's table out) recorded. */
const adoptedAt = (row: AdoptionRow, version: number) => (row.baselined ? `stepwise baseline recorded this database at version ${version}` : `this database was adopted at version ${version}`);

/** `migration 3`, or `migrations 3..5`. */
const rangeOf = (from: number, to: number) => (from === to ? `migration ${from}` : `migrations ${from}..${to}`);

/**
 * Drops the old tool's tables (its history, and Knex's and Kysely's lock table beside it); when the tool made a schema of its own for them (drizzle's `drizzle`, or its `migrationsSchema`) and
 * nothing else is left in that schema, the schema goes too, as it came with the tool.
 */
function* dropOldTable(tool: string, schema: string | undefined, table: string, appSchema: string | undefined): Step<void> {
  for (const name of adoptedTablesOf(tool, table)) yield* exec(`DROP TABLE IF EXISTS ${qualified(schema, name)}`);
  if (schema === undefined || schema === appSchema || TOOLS[tool]?.postgresSchema === undefined) return;
  // Every object in a schema depends on it in pg_depend, which is how DROP SCHEMA RESTRICT finds them.
  const left = yield* queryValue<number | string>(
    `SELECT count(*) FROM pg_catalog.pg_depend AS d JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} d.refobjid WHERE d.refclassid ${EQ} 'pg_catalog.pg_namespace'::pg_catalog.regclass AND n.nspname ${EQ} ?`,
    [schema],
  );
  if (!Number(left)) yield* exec(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} RESTRICT`);
}

/** Finds a recorded migration's map entry: by its id, or (for a tool that records script names) by the name without its extension, when no other imported name fits. */
type Lookup = (recorded: Recorded) => MapEntry | undefined;

/** The version k the tool brought the database to (map entries 1..k); refuses failed, unknown, mismatched and gapped histories. A rolled-back migration is not applied: the tool would run it again. */
function resolveApplied(tool: string, history: ToolHistory, migrations: readonly MapEntry[], all: readonly Recorded[], toolTables: readonly string[] = []): number {
  const idOf = (entry: MapEntry) => history.mapId?.(entry.history) ?? text(entry.history[history.key]);
  const byId = new Map(migrations.map((entry) => [idOf(entry), entry]));
  const baselines = findBaselines(tool, history, migrations, all, byId, idOf, toolTables);
  const recorded = all.filter((entry) => entry.state !== "rolled-back" && !baselines.includes(entry));
  refuseFailed(tool, recorded, migrations.map(idOf), byId);
  const lookup = lookupOf(history, byId, sharedIds(history, migrations, recorded, idOf));
  refuseUnknown(tool, recorded, lookup);
  refuseMismatched(tool, history, recorded, lookup);
  const order = recorded.map((entry) => lookup(entry)!.version);
  if (history.ordered) refuseUnordered(tool, recorded, order, toolTables);
  // Rows the baseline script replaced stand for it even when none is at its version: findBaselines returns them only once they reach the newest script it replaced.
  const implied = migrations.filter((entry) =>
    baselines.some((baseline) => history.baselineCovers!(baseline.id, idOf(entry)) || (baseline.state === "applied" && entry.history.type === "SQL_BASELINE")),
  );
  const versions = [...new Set([...implied.map((entry) => entry.version), ...order])];
  const newest = Math.max(0, ...versions);
  if (!history.upTo) refuseGap(tool, history, migrations.slice(0, newest), versions, recorded, order);
  return newest;
}

/**
 * The recorded rows that stand for versions rather than being checked as migrations: the tool's `baseline` rows, and, when the import starts with a baseline script (Flyway's B), every applied row
 * at or below its version that is not that script's own: the V scripts it replaced, and older baseline scripts a database ran when they were the newest. `ADOPT_UNKNOWN_MIGRATION` when those
 * rows stop below the newest V script it replaced that the import saw (`replacedThrough`), or below its own version when the import saw none.
 */
function findBaselines(
  tool: string,
  history: ToolHistory,
  migrations: readonly MapEntry[],
  all: readonly Recorded[],
  byId: ReadonlyMap<string, MapEntry>,
  idOf: (entry: MapEntry) => string,
  toolTables: readonly string[],
): Recorded[] {
  const covers = history.baselineCovers;
  if (covers === undefined) return [];
  const baselineScript = migrations.find((entry) => entry.history.type === "SQL_BASELINE");
  const covered = baselineScript === undefined ? "" : idOf(baselineScript);
  // The imported script's own row (an empty database Flyway built from it) is checked as a migration, its checksum included; any other row it covers was replaced by it.
  const replaced = all.filter(
    (entry) =>
      baselineScript !== undefined &&
      entry.state === "applied" &&
      !(entry.baselineScript && byId.get(entry.id) === baselineScript) &&
      [undefined, baselineScript].includes(byId.get(entry.id)) &&
      covers(covered, entry.id),
  );
  // Only a database that ran every V script the baseline script replaced has its schema: one that reached the newest of those the import saw, or the baseline's own version. Below that it is at a
  // version no imported migration builds; the tool's migrate runs the rest of them, since it never runs a baseline script on a database it already migrated.
  // A map written before import recorded `replacedThrough` (the field absent, where a newer import writes null for none) does not say whether the folder held those scripts.
  const through = baselineScript?.history.replacedThrough;
  const reached = typeof through === "string" ? text(through) : covered;
  if (replaced.length > 0 && !replaced.some((entry) => covers(entry.id, reached))) {
    const ids = replaced.map((entry) => entry.id);
    const below = `${tool} records ${ids.join(", ")}, below the baseline script ${baselineScript!.originalId} the import starts with`;
    if (typeof through === "string")
      throw new StepwiseError("ADOPT_UNKNOWN_MIGRATION", `${below}; migrate the database to ${reached} with ${tool} first, then adopt.`, { tool, ids, migrateTo: reached });
    const baselineVersion = baselineScript!.version;
    const baseline = `"${baselineCommand(baselineVersion, toolTables)}"`;
    const message =
      through === undefined
        ? `${below}; this map was written before stepwise import recorded the newest script the baseline script replaced, so whether the database ran them all is unknown: import the ${tool} folder again into an empty folder (--dir) and adopt with the map it writes (--map), or, if the folder no longer holds those scripts and the database ran them all, record it with ${baseline}, which checks its schema first.`
        : `${below}; the scripts it replaced are not in the folder, so which of them the database lacks is unknown: if it ran them all, record it with ${baseline}, which checks its schema first.`;
    throw new StepwiseError("ADOPT_UNKNOWN_MIGRATION", message, { tool, ids, migrateTo: null, baselineVersion, oldTables: toolTables, ...(through === undefined && { mapOutdated: true }) });
  }
  return all.filter((entry) => entry.state === "baseline" || replaced.includes(entry));
}

/** `ADOPT_MIGRATION_FAILED` when a recorded migration is in any state but applied; `ids` are the map's in its order. */
function refuseFailed(tool: string, recorded: readonly Recorded[], ids: readonly string[], byId: ReadonlyMap<string, MapEntry>): void {
  const failed = recorded.filter((entry) => entry.state !== "applied").map(({ id, state }) => ({ id, state }));
  if (failed.length === 0) return;
  const list = failed.map((entry) => `${entry.id} (${entry.state})`).join(", ");
  const stuck = `${tool} records ${list}, so the database is not at a version stepwise can record`;
  const [dirty] = failed;
  if (tool === "golang-migrate" && failed.length === 1 && dirty !== undefined) {
    // golang-migrate keeps one row: the version whose up died part way, or -1 for migration 1's down. Its own way out is fixing the database by hand, then "migrate force" to the version it is at.
    const down = dirty.id === "-1";
    const at = down ? 0 : ids.indexOf(dirty.id);
    const original = byId.get(ids[at] ?? "")?.originalId;
    const file = original === undefined ? null : `${original}.${down ? "down" : "up"}.sql`;
    const [finished, undone] = down ? ["-1", ids[0] ?? "1"] : [dirty.id, at > 0 ? ids[at - 1]! : "-1"];
    const force = { finished, undone };
    throw new StepwiseError(
      "ADOPT_MIGRATION_FAILED",
      `${stuck}: ${file ?? `migration ${dirty.id}`} failed part way. Fix the database by hand (finish or undo what it did), then run "migrate force ${finished}" if you finished it, or "migrate force ${undone}" if you undid it, and adopt.`,
      { tool, migrations: [{ ...dirty, file }], force },
    );
  }
  throw new StepwiseError("ADOPT_MIGRATION_FAILED", `${stuck}; finish or roll ${failed.length === 1 ? "it" : "them"} back with ${tool}, then adopt.`, { tool, migrations: failed });
}

/** How a recorded id finds its map entry. */
function lookupOf(history: ToolHistory, byId: ReadonlyMap<string, MapEntry>, shared: ReadonlyMap<Recorded, MapEntry>): Lookup {
  const byStem = new Map<string, MapEntry | null>();
  if (history.scriptNames) for (const [id, entry] of byId) byStem.set(stripScriptExtension(id), byStem.has(stripScriptExtension(id)) ? null : entry);
  // A database migrated from compiled dist/*.js, imported from the .ts source (or the other way): the name differs only by its extension, when no other imported name fits.
  return (recorded) => shared.get(recorded) ?? byId.get(recorded.id) ?? byStem.get(stripScriptExtension(recorded.id)) ?? undefined;
}

/**
 * The map entries of recorded rows whose id several entries share (drizzle's journal may give two entries one `when`, and its migrator records both under it): each row takes, in the order
 * recorded, the first such entry not yet taken whose checksum it matches, else the first not yet taken.
 */
function sharedIds(history: ToolHistory, migrations: readonly MapEntry[], recorded: readonly Recorded[], idOf: (entry: MapEntry) => string): Map<Recorded, MapEntry> {
  const byId = new Map<string, MapEntry[]>();
  for (const entry of migrations) byId.set(idOf(entry), [...(byId.get(idOf(entry)) ?? []), entry]);
  const taken = new Map<Recorded, MapEntry>();
  const used = new Set<MapEntry>();
  for (const row of recorded) {
    const free = (byId.get(row.id) ?? []).filter((entry) => !used.has(entry));
    if ((byId.get(row.id)?.length ?? 0) < 2 || free.length === 0) continue;
    const entry = free.find((each) => row.checksum !== undefined && acceptsChecksum(history, each, row.checksum)) ?? free[0]!;
    taken.set(row, entry);
    used.add(entry);
  }
  return taken;
}

/** Whether `checksum`, as the tool recorded it, is one the map accepts for `entry`: its file's, another the import listed (`accepted`), or either in the tool's legacy form. */
function acceptsChecksum(history: ToolHistory, entry: MapEntry, checksum: string | undefined): boolean {
  if (history.checksum === undefined) return false;
  const accepted = [text(entry.history[history.checksum]), ...(entry.accepted?.[history.checksum] ?? [])];
  return accepted.some((value) => checksum === value || checksum === history.legacyChecksum?.(value));
}

/** `ADOPT_UNKNOWN_MIGRATION` when the map holds no entry for a recorded migration. */
function refuseUnknown(tool: string, recorded: readonly Recorded[], lookup: Lookup): void {
  const unknown = recorded.filter((entry) => lookup(entry) === undefined);
  if (unknown.length === 0) return;
  const code = unknown.filter((entry) => entry.code !== undefined);
  // A migration the tool ran as code (Flyway's Java) is in no folder import reads: importing the folder again finds it no more than before.
  const fix =
    code.length === 0
      ? "import the folder this database was migrated from, then adopt."
      : `${tool} ran ${code.map((entry) => `${entry.id} (${entry.code})`).join(", ")} as code, which stepwise import does not read: write each as a SQL script of its version in the imported folder, doing what the code did (or nothing, where a database built from empty needs none of it, as a backfill of rows), import again, then adopt, which compares the schema with what the scripts build.`;
  throw new StepwiseError("ADOPT_UNKNOWN_MIGRATION", `${tool} records ${unknown.map((entry) => entry.id).join(", ")}, which the import map does not hold; ${fix}`, {
    tool,
    ids: unknown.map((entry) => entry.id),
    ...(code.length > 0 && { ranAsCode: code.map(({ id, code: kind }) => ({ id, type: kind! })) }),
  });
}

/** `ADOPT_CHECKSUM_MISMATCH` when the tool's checksum of a recorded migration is none the map accepts for its file. */
function refuseMismatched(tool: string, history: ToolHistory, recorded: readonly Recorded[], lookup: Lookup): void {
  const mismatched = recorded.flatMap((entry) => {
    const mapped = lookup(entry)!;
    const expected = history.checksum === undefined ? undefined : text(mapped.history[history.checksum]);
    return expected === undefined || entry.code !== undefined || acceptsChecksum(history, mapped, entry.checksum)
      ? []
      : [{ id: entry.id, version: mapped.version, recorded: entry.checksum ?? "", expected }];
  });
  if (mismatched.length === 0) return;
  throw new StepwiseError(
    "ADOPT_CHECKSUM_MISMATCH",
    `${tool}'s checksum of ${mismatched.map((entry) => entry.id).join(", ")} differs from the imported file's: the database ran another text. ${
      mismatched.every((entry) => history.rerunsChanged?.(entry.id))
        ? `A changed repeatable script runs again at the next "${tool} migrate": run that, then adopt.`
        : "Import the migrations it ran, then adopt."
    }`,
    { tool, migrations: mismatched },
  );
}

/** `ADOPT_HISTORY_UNORDERED` when the tool ran the recorded migrations (`order`: their versions, as run) out of version order. */
function refuseUnordered(tool: string, recorded: readonly Recorded[], order: readonly number[], toolTables: readonly string[]): void {
  if (!order.some((version, index) => index > 0 && version < order[index - 1]!)) return;
  const applied = recorded.map((entry, index) => ({ id: entry.id, version: order[index]! }));
  const newest = Math.max(...order);
  // baseline compares every table with what the migrations build, and the tool's history tables (none for a history file) are none of theirs.
  const drop = toolTables.length === 0 ? "" : `drop ${toolTables.join(" and ")} (${tool}'s history, which stepwise does not need) and `;
  throw new StepwiseError(
    "ADOPT_HISTORY_UNORDERED",
    `${tool} ran ${applied.map((entry) => `${entry.version} (${entry.id})`).join(", ")} in that order, not in the order of their imported versions, so this database may not have the schema versions 1..${newest} build; nothing was written. Compare it with a fresh database built by the imported migrations, and if they match, ${drop}record it with "stepwise baseline ${newest}".`,
    { tool, applied },
  );
}

/**
 * `ADOPT_HISTORY_GAP` when an entry of `prefix` (the map up to the newest applied) is not among `versions`. When only scripts the tool runs last (Flyway's repeatable) were recorded above the first
 * missing one, the tool's plain run applies them, and the advice says so.
 */
function refuseGap(tool: string, history: ToolHistory, prefix: readonly MapEntry[], versions: readonly number[], recorded: readonly Recorded[], order: readonly number[]): void {
  const missing = prefix.filter((entry) => !versions.includes(entry.version));
  if (missing.length === 0) return;
  const above = recorded.filter((_, index) => order[index]! > missing[0]!.version);
  const pending = history.runsLast !== undefined && above.every((entry) => history.runsLast!.ids(entry.id));
  const fix = pending ? history.runsLast!.fix : (history.gapFix ?? `with ${tool}`);
  throw new StepwiseError(
    "ADOPT_HISTORY_GAP",
    `${tool} applied migration ${prefix.length} but not ${missing.map((entry) => `${entry.version} (${entry.originalId})`).join(", ")}, so the database is not at one version; apply them first (${fix}), then adopt.`,
    { tool, applied: [...versions].sort((a, b) => a - b), missing: missing.map((entry) => ({ version: entry.version, id: entry.originalId })) },
  );
}
