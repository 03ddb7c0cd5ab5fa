/**
 * `stepwise create "<description>"`: writes the next migration from a template and regenerates the
 * registry, so the new file is registered the moment it exists.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { UsageError } from "../src/core/errors.js";
import type { SqlDialect } from "../src/core/types.js";
import { DEFAULT_VERSION_WIDTH, formatMigrationFileName, parseMigrationFileName, toSnakeCaseName, type MigrationKind } from "../src/shared/migration-file.js";
import { generateRegistry, type GenerateResult } from "./generate.js";
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
  /** The dialect the registry is regenerated for (see `GenerateOptions.dialect`). Default `sqlite`. */
  readonly dialect?: SqlDialect;
}

/** The new file, and the outcome of regenerating the registry. */
export interface CreateMigrationResult {
  readonly version: number;
  readonly name: string;
  readonly absolutePath: string;
  /** Relative to the project root. */
  readonly file: string;
  readonly generate: GenerateResult;
}

/**
 * Creates the migration after the highest existing version.
 *
 * @throws UsageError when the description leaves no usable name.
 * @throws FileWriteError when the migration or the registry cannot be written in full; neither is
 * then left behind changed.
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
  const text = kind === "sql" ? sqlTemplate(description, fileName.replace(/\.sql$/, "")) : tsTemplate(description, runtimeModule);
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

  let generate: GenerateResult;
  try {
    generate = await generateRegistry({
      projectRoot: options.projectRoot,
      migrationsDir: options.migrationsDir,
      registryFile: options.registryFile,
      runtimeModule,
      dialect: options.dialect ?? "sqlite",
    });
  } catch (error) {
    // The registry could not be written (a full disk): take the untouched template back, so a failed
    // create leaves the project as it was rather than with a migration the registry lacks.
    try {
      rmSync(absolutePath, { force: true });
    } catch {
      // The registry failure is the one to report.
    }
    throw error;
  }
  return { version, name, absolutePath, file: toPortablePath(path.relative(options.projectRoot, absolutePath)), generate };
}

function tsTemplate(description: string, runtimeModule: string): string {
  return `import { defineMigration } from ${JSON.stringify(runtimeModule)};

export default defineMigration({
  description: ${JSON.stringify(description)},
  up(db) {
    db.exec(\`
      -- Write the change here, for example:
      -- ALTER TABLE contacts ADD COLUMN nickname TEXT;
    \`);
  },
  down(db) {
    db.exec(\`
      -- Undo the change here, for example:
      -- ALTER TABLE contacts DROP COLUMN nickname;
    \`);
  },
});
`;
}

/**
 * The SQL template must pass \`gen\` at once (an empty up section is refused), so it carries a no-op
 * statement that names itself as the thing to replace.
 */
function sqlTemplate(description: string, label: string): string {
  return `-- description: ${description.replace(/\r?\n/g, " ")}
-- migrate:up
-- Replace the placeholder with the change, for example:
-- ALTER TABLE contacts ADD COLUMN nickname TEXT;
SELECT 'placeholder: write migration ${label} up';

-- migrate:down
-- Replace the placeholder with the undo, for example:
-- ALTER TABLE contacts DROP COLUMN nickname;
SELECT 'placeholder: write migration ${label} down';
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
