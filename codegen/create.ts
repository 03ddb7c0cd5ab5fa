/**
 * `stepwise create "<description>"`: writes the next migration from a template. The template is not
 * a migration yet: its placeholder comments ({@link TEMPLATE_PLACEHOLDER}) make `gen` refuse it until
 * the change is written, so the registry is not regenerated here and an unedited template can never
 * be applied and recorded.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { UsageError } from "../src/core/errors.js";
import type { SqlDialect } from "../src/core/types.js";
import { DEFAULT_VERSION_WIDTH, formatMigrationFileName, parseMigrationFileName, toSnakeCaseName, type MigrationKind } from "../src/shared/migration-file.js";
import { DOWN_MARKER, EMPTY_MARKER, TEMPLATE_PLACEHOLDER, UP_MARKER } from "../src/shared/sql-markers.js";
import { toPortablePath } from "./portable-path.js";
import { writeFileAtomic } from "./write-file.js";

/** Inputs for {@link createMigration}; paths are absolute. */
export interface CreateMigrationOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly registryFile: string;
  readonly description: string;
  /** Default `"ts"`. */
  readonly kind?: MigrationKind;
  /** Module the template imports `defineMigration` from. Default `"stepwise"`. */
  readonly runtimeModule?: string;
  /** The dialect the template is written for: a postgres TypeScript template awaits `db.query`. Default `sqlite`. */
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
 * @throws UsageError when the description leaves no usable name.
 * @throws FileWriteError when the migration cannot be written in full; nothing is then left behind.
 */
export async function createMigration(options: CreateMigrationOptions): Promise<CreateMigrationResult> {
  const kind = options.kind ?? "ts";
  const description = options.description.trim();
  const name = toSnakeCaseName(description);
  if (name === "") {
    throw new UsageError(`"${options.description}" gives no usable file name; describe the change in words, such as "add email to contacts".`);
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
    throw new UsageError(`Refusing to write outside ${options.migrationsDir}.`);
  }

  const runtimeModule = options.runtimeModule ?? "stepwise";
  const text = kind === "sql" ? sqlTemplate(description) : tsTemplate(description, runtimeModule, options.dialect ?? "sqlite");
  // A new project's first `create` is what makes the folder.
  try {
    mkdirSync(options.migrationsDir, { recursive: true });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UsageError(`Cannot create the migrations folder ${options.migrationsDir} (${reason}); point --dir at a writable folder.`);
  }
  // Atomic and exclusive: a full disk leaves no half-written migration, and a file of the same name
  // that appeared meanwhile is never overwritten.
  writeFileAtomic(absolutePath, text, { exclusive: true });
  return { version, name, absolutePath, file: toPortablePath(path.relative(options.projectRoot, absolutePath)) };
}

/**
 * The placeholders are comments, so the file compiles and reads as a guide; `gen` refuses each one
 * that is left (TEMPLATE_UNEDITED), down's included, so a half-edited template fails too.
 */
function tsTemplate(description: string, runtimeModule: string, dialect: SqlDialect): string {
  const [asyncKeyword, run] = dialect === "postgres" ? ["async ", "await db.query"] : ["", "db.exec"];
  return `import { defineMigration } from ${JSON.stringify(runtimeModule)};

export default defineMigration({
  description: ${JSON.stringify(description)},
  ${asyncKeyword}up(db) {
    // ${TEMPLATE_PLACEHOLDER}: write the migration's code here, then delete this comment. For example:
    // ${run}(\`ALTER TABLE contacts ADD COLUMN nickname TEXT\`);
  },
  ${asyncKeyword}down(db) {
    // ${TEMPLATE_PLACEHOLDER}: undo the change here (or delete down to make the migration irreversible), then delete this comment. For example:
    // ${run}(\`ALTER TABLE contacts DROP COLUMN nickname\`);
  },
});
`;
}

/**
 * No placeholder statement: an unedited section holds only comments, and the placeholder comment
 * makes \`gen\` say what to write there. A migration that deliberately does nothing says so with
 * {@link EMPTY_MARKER}.
 */
function sqlTemplate(description: string): string {
  return `-- description: ${description.replace(/\r?\n/g, " ")}
${UP_MARKER}
-- ${TEMPLATE_PLACEHOLDER}: write the migration's SQL here, then delete this comment. For example:
-- ALTER TABLE contacts ADD COLUMN nickname TEXT;
-- (A migration that deliberately does nothing: replace these comments with "${EMPTY_MARKER} <why>".)

${DOWN_MARKER}
-- ${TEMPLATE_PLACEHOLDER}: undo the change here (or delete this section to make the migration irreversible), then delete this comment. For example:
-- ALTER TABLE contacts DROP COLUMN nickname;
`;
}

/** The folder's entry names; a path that exists but cannot hold migrations is a usage error, not a crash. */
function listExistingMigrations(migrationsDir: string): string[] {
  if (!existsSync(migrationsDir)) return [];
  if (!statSync(migrationsDir).isDirectory()) {
    throw new UsageError(`${migrationsDir} is a file, not a folder; point --dir (or "migrationsDir" in the config) at the folder that holds the migrations.`);
  }
  try {
    return readdirSync(migrationsDir);
  } catch (error) {
    throw new UsageError(`Cannot list ${migrationsDir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); make it readable by the user running stepwise.`);
  }
}
