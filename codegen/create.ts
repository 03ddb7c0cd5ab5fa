/**
 * `stepwise create "<description>"`: writes the next migration from a template. Its placeholder comments make `gen` refuse it (TEMPLATE_UNEDITED) until the change is written, so an unedited template
 * can never be applied and recorded; the registry is left as it was.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { usageError } from "../src/core/error-factories.js";
import type { SqlDialect } from "../src/core/types.js";
import { dialectOfEntry, entrySpecifier, type DriverEntry } from "../src/shared/package-name.js";
import { DOWN_MARKER, EMPTY_MARKER, TEMPLATE_PLACEHOLDER, UP_MARKER } from "../src/shared/sql-markers.js";
import type { Target } from "./config.js";
import { formatMigrationFileName, parseMigrationFileName, toSnakeCaseName, versionWidthOf, type MigrationKind } from "./migration-file.js";
import { errorCode, projectPath } from "./problems.js";
import { writeFileAtomic } from "./write-file.js";

/** Inputs for {@link createMigration}; paths are absolute. */
export interface CreateMigrationOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  readonly description: string;
  /** Default `"ts"`. */
  readonly kind?: MigrationKind;
  /**
   * The project's driver (the config's `driver`): a TypeScript template imports `defineMigration` from its entry, so `db` is that driver's connection, and is `async` where the driver is. Used when it
   * runs `dialect`; otherwise, and when `null`, the dialect's driver.
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
  if (name === "") throw usageError(`"${options.description}" gives no usable file name; describe the change in words, such as "add email to contacts".`);
  const migrations = listExistingMigrations(options.migrationsDir).flatMap((fileName) => {
    const parsed = parseMigrationFileName(fileName);
    return parsed.status === "migration" ? [parsed.migration] : [];
  });
  const version = Math.max(0, ...migrations.map((migration) => migration.version)) + 1;
  const absolutePath = path.join(options.migrationsDir, formatMigrationFileName(version, name, kind, versionWidthOf(migrations.map((migration) => migration.fileName))));
  const dialect = options.dialect ?? "sqlite";
  // A TypeScript template is written for the project's driver when it runs this dialect, else the dialect's (D1 for a D1 target).
  const driver = options.driver && dialectOfEntry(options.driver) === dialect ? options.driver : dialect === "postgres" ? "pg" : options.target === "d1" ? "d1" : "better-sqlite3";
  const text = kind === "sql" ? sqlTemplate(description, dialect) : tsTemplate(description, driver, dialect);
  // A new project's first `create` makes the folder.
  try {
    mkdirSync(options.migrationsDir, { recursive: true });
  } catch (error) {
    throw usageError(`Cannot create the migrations folder ${options.migrationsDir} (${errorCode(error)}); point --dir at a writable folder.`);
  }
  // Exclusive: a file of the same name that appeared meanwhile is never overwritten.
  writeFileAtomic(absolutePath, text, { exclusive: true });
  return { version, name, absolutePath, file: projectPath(options.projectRoot, absolutePath) };
}

/** How a driver's migration runs a statement, whether it is async, and what options its template sets. */
type TemplateShape = { readonly async: boolean; readonly parameter: string; readonly run: (sql: string) => string; readonly options?: readonly string[] };

/** The SQLite drivers' (`db.exec`), and the others'. */
const SYNC_EXEC: TemplateShape = { async: false, parameter: "db", run: (sql) => `db.exec(\`${sql}\`)` };
const TEMPLATE_SHAPES: Readonly<Partial<Record<DriverEntry, TemplateShape>>> = {
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

const EXAMPLE_SQL: Readonly<Record<SqlDialect, { readonly up: string; readonly down: string }>> = {
  sqlite: { up: "ALTER TABLE contacts ADD COLUMN nickname TEXT", down: "ALTER TABLE contacts DROP COLUMN nickname" },
  postgres: { up: "ALTER TABLE contacts ADD COLUMN nickname text", down: "ALTER TABLE contacts DROP COLUMN IF EXISTS nickname" },
};

/** The placeholders are comments, so the file compiles and reads as a guide; `defineMigration` comes from the driver's entry, which types `db`. */
function tsTemplate(description: string, driver: DriverEntry, dialect: SqlDialect): string {
  const shape = TEMPLATE_SHAPES[driver] ?? SYNC_EXEC;
  const example = EXAMPLE_SQL[dialect];
  const method = (name: string) => `${shape.async ? "async " : ""}${name}(${shape.parameter})`;
  const options = (shape.options ?? []).map((line) => `  ${line}\n`).join("");
  return `import { defineMigration } from ${JSON.stringify(entrySpecifier(driver))};

export default defineMigration({
  description: ${JSON.stringify(description)},
${options}  ${method("up")} {
    // ${TEMPLATE_PLACEHOLDER}: write the migration's code here, then delete this comment. For example: ${shape.run(example.up)};
  },
  ${method("down")} {
    // ${TEMPLATE_PLACEHOLDER}: undo the change here (or delete down to make the migration irreversible), then delete this comment. For example: ${shape.run(example.down)};
  },
});
`;
}

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

/** The folder's entry names; a path that exists but cannot hold migrations is a usage error. */
function listExistingMigrations(migrationsDir: string): string[] {
  if (!existsSync(migrationsDir)) return [];
  if (!statSync(migrationsDir).isDirectory()) throw usageError(`${migrationsDir} is a file, not a folder; point --dir (or "migrationsDir" in the config) at the folder that holds the migrations.`);
  try {
    return readdirSync(migrationsDir);
  } catch (error) {
    throw usageError(`Cannot list ${migrationsDir} (${errorCode(error)}); make it readable by the user running stepwise.`);
  }
}
