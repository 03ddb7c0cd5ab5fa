/**
 * `stepwise create "<description>"`: writes the next migration from a template. The template is not
 * a migration yet: its placeholder comments ({@link TEMPLATE_PLACEHOLDER}) make `gen` refuse it until
 * the change is written, so the registry is not regenerated here and an unedited template can never
 * be applied and recorded.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import type { SqlDialect } from "../src/core/types.js";
import { DEFAULT_VERSION_WIDTH, formatMigrationFileName, parseMigrationFileName, toSnakeCaseName, type MigrationKind } from "./migration-file.js";
import { dialectOfEntry, entrySpecifier, type DriverEntry } from "../src/shared/package-name.js";
import { DOWN_MARKER, EMPTY_MARKER, TEMPLATE_PLACEHOLDER, UP_MARKER } from "../src/shared/sql-markers.js";
import type { Target } from "./d1-target.js";
import { toPortablePath } from "./portable-path.js";
import { writeFileAtomic } from "./write-file.js";
import { usageError } from "../src/core/error-factories.js";

/** Inputs for {@link createMigration}; paths are absolute. */
export interface CreateMigrationOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  readonly description: string;
  /** Default `"ts"`. */
  readonly kind?: MigrationKind;
  /**
   * The project's driver (the config's `driver`): a TypeScript template imports `defineMigration` from
   * its entry, so `db` is that driver's connection, and is `async` where the driver is. Used when it
   * runs `dialect`; otherwise, and when `null`, the dialect's driver (`templateDriverFor`).
   */
  readonly driver?: DriverEntry | null;
  /** The config's `target`: `d1` makes D1 the driver when none is named. */
  readonly target?: Target | null;
  /** The dialect the template is written for. Default `sqlite`. */
  readonly dialect?: SqlDialect;
}

/** The new file; the registry is left as it was until the template is edited and `gen` runs. */
export interface CreateMigrationResult {
  readonly version: number;
  readonly name: string;
  readonly absolutePath: string;
  /** Relative to the project root. */
  readonly file: string;
}

/**
 * Creates the migration after the highest existing version.
 *
 * @throws `USAGE` when the description leaves no usable name.
 * @throws `FILE_WRITE_FAILED` when the migration cannot be written in full; nothing is then left behind.
 */
export async function createMigration(options: CreateMigrationOptions): Promise<CreateMigrationResult> {
  const kind = options.kind ?? "ts";
  const description = options.description.trim();
  const name = toSnakeCaseName(description);
  if (name === "") {
    throw usageError(`"${options.description}" gives no usable file name; describe the change in words, such as "add email to contacts".`);
  }

  let highest = 0;
  let width = DEFAULT_VERSION_WIDTH;
  const existing = listExistingMigrations(options.migrationsDir);
  for (const fileName of existing) {
    const parsed = parseMigrationFileName(fileName);
    if (parsed.status !== "migration") continue;
    highest = Math.max(highest, parsed.migration.version);
    width = Math.max(width, fileName.indexOf("_"));
  }
  const version = highest + 1;
  const fileName = formatMigrationFileName(version, name, kind, width);
  const absolutePath = path.join(options.migrationsDir, fileName);
  if (path.dirname(absolutePath) !== path.resolve(options.migrationsDir)) {
    throw usageError(`Refusing to write outside ${options.migrationsDir}.`);
  }

  const dialect = options.dialect ?? "sqlite";
  const text = kind === "sql" ? sqlTemplate(description, dialect) : tsTemplate(description, templateDriverFor({ ...options, dialect }), dialect);
  // A new project's first `create` is what makes the folder.
  try {
    mkdirSync(options.migrationsDir, { recursive: true });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw usageError(`Cannot create the migrations folder ${options.migrationsDir} (${reason}); point --dir at a writable folder.`);
  }
  // Atomic and exclusive: a full disk leaves no half-written migration, and a file of the same name
  // that appeared meanwhile is never overwritten.
  writeFileAtomic(absolutePath, text, { exclusive: true });
  return { version, name, absolutePath, file: toPortablePath(path.relative(options.projectRoot, absolutePath)) };
}

/**
 * The driver a TypeScript template is written for: the project's own when it runs `dialect`, else
 * `pg` for postgres, D1 for a D1 target, and the bin's default (better-sqlite3) otherwise.
 */
export function templateDriverFor(options: { readonly driver?: DriverEntry | null; readonly target?: Target | null; readonly dialect: SqlDialect }): DriverEntry {
  if (options.driver && dialectOfEntry(options.driver) === options.dialect) return options.driver;
  if (options.dialect === "postgres") return "pg";
  return options.target === "d1" ? "d1" : "better-sqlite3";
}

/** How a driver's migration runs a statement, and what else its template says. */
interface TemplateShape {
  readonly async: boolean;
  /** The parameter's name: the connection the body receives. */
  readonly parameter: string;
  /** A call that runs `sql` on it. */
  readonly run: (sql: string) => string;
  /** Lines of options before `up`, with their reasons. */
  readonly options?: readonly string[];
}

const SYNC_EXEC: TemplateShape = { async: false, parameter: "db", run: (sql) => `db.exec(\`${sql}\`)` };

const TEMPLATE_SHAPES: Readonly<Record<DriverEntry, TemplateShape>> = {
  "better-sqlite3": SYNC_EXEC,
  "node-sqlite": SYNC_EXEC,
  "bun-sqlite": SYNC_EXEC,
  libsql: SYNC_EXEC,
  "sql-js": SYNC_EXEC,
  // The body receives ctx.storage.sql, inside a transactionSync that cannot stay open across an await.
  "durable-objects": { async: false, parameter: "sql", run: (sql) => `sql.exec(\`${sql}\`)` },
  pg: { async: true, parameter: "db", run: (sql) => `await db.query(\`${sql}\`)` },
  "libsql-client": { async: true, parameter: "db", run: (sql) => `await db.execute(\`${sql}\`)` },
  d1: {
    async: true,
    parameter: "db",
    run: (sql) => `await db.prepare(\`${sql}\`).run()`,
    options: [
      "// D1 applies a migration atomically only as one batch of SQL, so a TypeScript one runs outside any",
      "// transaction and a failure leaves it half done: prefer `stepwise create --sql` where SQL can do it.",
      "transaction: false,",
    ],
  },
};

/** What the examples do, in each dialect's words. */
const EXAMPLE_SQL: Readonly<Record<SqlDialect, { readonly up: string; readonly down: string }>> = {
  sqlite: { up: "ALTER TABLE contacts ADD COLUMN nickname TEXT", down: "ALTER TABLE contacts DROP COLUMN nickname" },
  postgres: { up: "ALTER TABLE contacts ADD COLUMN nickname text", down: "ALTER TABLE contacts DROP COLUMN IF EXISTS nickname" },
};

/**
 * The placeholders are comments, so the file compiles and reads as a guide; `gen` refuses each one
 * that is left (TEMPLATE_UNEDITED), down's included, so a half-edited template fails too. It imports
 * `defineMigration` from the driver's entry, which types the connection (the root entry's is generic,
 * `unknown` without a driver in the program); which entry it names is outside the checksum.
 */
function tsTemplate(description: string, driver: DriverEntry, dialect: SqlDialect): string {
  const shape = TEMPLATE_SHAPES[driver];
  const example = EXAMPLE_SQL[dialect];
  const upMethod = `${shape.async ? "async " : ""}up(${shape.parameter})`;
  const downMethod = `${shape.async ? "async " : ""}down(${shape.parameter})`;
  const options = (shape.options ?? []).map((line) => `  ${line}\n`).join("");
  return `import { defineMigration } from ${JSON.stringify(entrySpecifier(driver))};

export default defineMigration({
  description: ${JSON.stringify(description)},
${options}  ${upMethod} {
    // ${TEMPLATE_PLACEHOLDER}: write the migration's code here, then delete this comment. For example:
    // ${shape.run(example.up)};
  },
  ${downMethod} {
    // ${TEMPLATE_PLACEHOLDER}: undo the change here (or delete down to make the migration irreversible), then delete this comment. For example:
    // ${shape.run(example.down)};
  },
});
`;
}

/**
 * No placeholder statement: an unedited section holds only comments, and the placeholder comment
 * makes \`gen\` say what to write there. A migration that deliberately does nothing says so with
 * {@link EMPTY_MARKER}.
 */
function sqlTemplate(description: string, dialect: SqlDialect): string {
  const example = EXAMPLE_SQL[dialect];
  return `-- description: ${description.replace(/\r?\n/g, " ")}
${UP_MARKER}
-- ${TEMPLATE_PLACEHOLDER}: write the migration's SQL here, then delete this comment. For example:
-- ${example.up};
-- (A migration that deliberately does nothing: replace these comments with "${EMPTY_MARKER} <why>".)

${DOWN_MARKER}
-- ${TEMPLATE_PLACEHOLDER}: undo the change here (or delete this section to make the migration irreversible), then delete this comment. For example:
-- ${example.down};
`;
}

/** The folder's entry names; a path that exists but cannot hold migrations is a usage error, not a crash. */
function listExistingMigrations(migrationsDir: string): string[] {
  if (!existsSync(migrationsDir)) return [];
  if (!statSync(migrationsDir).isDirectory()) {
    throw usageError(`${migrationsDir} is a file, not a folder; point --dir (or "migrationsDir" in the config) at the folder that holds the migrations.`);
  }
  try {
    return readdirSync(migrationsDir);
  } catch (error) {
    throw usageError(`Cannot list ${migrationsDir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); make it readable by the user running stepwise.`);
  }
}
