/**
 * `stepwise create "<description>"`: writes the next migration from a template. Its placeholder comments make `gen` refuse it (TEMPLATE_UNEDITED) until the change is written, so an unedited template
 * can never be applied and recorded; the registry is left as it was.
 */
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { usageError } from "../src/core/error-factories.js";
import { StepwiseError } from "../src/core/errors.js";
import type { SqlDialect } from "../src/core/types.js";
import { makeFolders } from "../src/safety/backup.js";
import { dialectOfEntry, entrySpecifier, type DriverEntry } from "../src/shared/package-name.js";
import { DOWN_MARKER, EMPTY_MARKER, findHiddenMarkers, TEMPLATE_PLACEHOLDER, UP_MARKER } from "../src/shared/sql-markers.js";
import { describeBrokenLink, findBrokenLink } from "./broken-link.js";
import type { Target } from "./config.js";
import { formatMigrationFileName, heldVersion, parseMigrationFileName, toSnakeCaseName, versionWidthOf, type MigrationKind } from "./migration-file.js";
import { errorCode, projectPath } from "./problems.js";
import { writeFileAtomic } from "../src/safety/write-file.js";

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
 * Creates the migration after the highest version any entry of the folder holds (a refused name's too, as `gen` counts it). Runs at the same time on one folder each get their own version:
 * each writes its file, then withdraws and tries again if another entry holds the same version.
 *
 * @throws `USAGE` when the description leaves no usable name, or (for SQL) holds a marker `gen` would refuse in its comment.
 * @throws `FILE_WRITE_FAILED` when the migration cannot be written in full, or other runs kept taking its version; nothing is then left behind.
 * @throws `VERSIONS_EXHAUSTED` when an entry of the folder holds version 2^53 - 1 or more, so no version after it is one `gen` accepts.
 */
export async function createMigration(options: CreateMigrationOptions): Promise<CreateMigrationResult> {
  const kind = options.kind ?? "ts";
  const description = options.description.trim();
  const name = toSnakeCaseName(description);
  if (name === "") {
    throw usageError(`"${options.description}" gives no usable file name (a name keeps only the letters a-z and digits 0-9); describe the change in words, such as "add email to contacts".`);
  }
  const hidden = kind === "sql" ? findHiddenMarkers(`-- description: ${description}`, true)[0] : undefined;
  if (hidden !== undefined) {
    throw usageError(
      `"${options.description}" holds "${hidden.marker.slice(3)}", which gen refuses inside the description's comment (it would read as a marker that comment swallows); describe the change without it.`,
    );
  }
  const dialect = options.dialect ?? "sqlite";
  // A TypeScript template is written for the project's driver when it runs this dialect, else the dialect's (D1 for a D1 target).
  const driver = options.driver && dialectOfEntry(options.driver) === dialect ? options.driver : dialect === "postgres" ? "pg" : options.target === "d1" ? "d1" : "better-sqlite3";
  const text = kind === "sql" ? sqlTemplate(description, dialect) : tsTemplate(description, driver, dialect);
  // Checked before the folder is made, so a file in its place is named as such.
  listFolder(options.migrationsDir);
  // A new project's first `create` makes the folder.
  try {
    makeFolders(options.migrationsDir);
  } catch (error) {
    throw usageError(`Cannot create the migrations folder ${options.migrationsDir} (${errorCode(error)}); point --dir at a writable folder.`);
  }
  const { version, absolutePath } = await claimVersion(options.migrationsDir, (version, width) => formatMigrationFileName(version, name, kind, width), text);
  return { version, name, absolutePath, file: projectPath(options.projectRoot, absolutePath) };
}

/** Tries before `create` gives up on a folder where other runs keep taking the version it chose. */
const MAX_CLAIM_ATTEMPTS = 30;

/**
 * Writes `text` under the next free version without a lock, which a crash would leave behind. The file is written exclusively, then the folder is listed again; if any other entry holds the same
 * version, this run withdraws its file and tries again after a random delay. Every run writes before it lists, so of two runs on one version the one that lists last sees the other's file (unless that
 * run already withdrew) and withdraws: two never both keep it (both may withdraw, and the delay settles that). A retry takes the lowest free version from where the first try started, so a version
 * that every claimant withdrew from is taken again rather than left as a gap below one another run kept.
 */
async function claimVersion(migrationsDir: string, fileNameOf: (version: number, width: number) => string, text: string): Promise<{ version: number; absolutePath: string }> {
  let first: number | null = null;
  let absolutePath = "";
  for (let attempt = 1; attempt <= MAX_CLAIM_ATTEMPTS; attempt++) {
    const entries = listFolder(migrationsDir);
    const held = heldVersions(entries);
    first ??= Math.max(0, ...held) + 1;
    let version = first;
    while (held.has(version) && Number.isSafeInteger(version)) version++;
    if (!Number.isSafeInteger(version)) {
      const message = `No version is free below 2^53 after the newest migration in ${migrationsDir}; gen accepts no larger one. Nothing was created.`;
      throw new StepwiseError("VERSIONS_EXHAUSTED", message, { migrationsDir });
    }
    const fileName = fileNameOf(version, versionWidthOf(entries.filter((entry) => parseMigrationFileName(entry).status === "migration")));
    absolutePath = path.join(migrationsDir, fileName);
    if (writeIfAbsent(absolutePath, text)) {
      const rival = listFolder(migrationsDir).some((entry) => entry !== fileName && heldVersion(parseMigrationFileName(entry)) === version);
      if (!rival) return { version, absolutePath };
      rmSync(absolutePath, { force: true });
    }
    // Random and growing, so runs that withdrew together try again at different times.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** Math.min(attempt, 6)));
  }
  const bytes = Buffer.byteLength(text);
  const message = `Could not write ${absolutePath}: other runs of stepwise create took the same version ${MAX_CLAIM_ATTEMPTS} times in a row. Nothing was left behind; run it again.`;
  throw new StepwiseError("FILE_WRITE_FAILED", message, { file: absolutePath, step: "link", systemCode: "EEXIST", bytesWritten: bytes, bytesExpected: bytes });
}

/** Every version an entry holds, as the scan counts it; one whose version is too large to read holds 2^53, so none is free after it. */
function heldVersions(entries: readonly string[]): Set<number> {
  return new Set(
    entries.flatMap((entry) => {
      const parsed = parseMigrationFileName(entry);
      return heldVersion(parsed) ?? (parsed.status === "malformed" && parsed.problem.versionTooLarge ? 2 ** 53 : []);
    }),
  );
}

/** Writes `file` exclusively; `false` when a file of that name appeared since the folder was listed (another run of the same description). */
function writeIfAbsent(file: string, text: string): boolean {
  try {
    writeFileAtomic(file, text, { exclusive: true });
    return true;
  } catch (error) {
    if (error instanceof StepwiseError && error.is("FILE_WRITE_FAILED") && error.details.systemCode === "EEXIST") return false;
    throw error;
  }
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
  // The description is one \`--\` comment line: a line break in it (a lone CR too, which gen refuses as SQL_CR_LINE_BREAKS) or a NUL (SQL_NUL_BYTE) would make a file gen refuses.
  return `-- description: ${description.replace(/[\r\n\0]+/g, " ")}
${UP_MARKER}
-- ${TEMPLATE_PLACEHOLDER}: write the migration's SQL here, then delete this comment. For example:
-- ${example.up};
-- (A migration that deliberately does nothing: replace these comments with "${EMPTY_MARKER} <why>".)

${DOWN_MARKER}
-- ${TEMPLATE_PLACEHOLDER}: undo the change here (or delete this section to make the migration irreversible), then delete this comment. For example:
-- ${example.down};
`;
}

/** The folder's entry names (none when it does not exist yet); a path that exists but cannot hold migrations is a usage error. */
function listFolder(migrationsDir: string): string[] {
  // A link in the folder's place that leads nowhere would be written through, and fail as ENOENT or ELOOP naming neither the link nor the fix.
  const broken = existsSync(migrationsDir) ? null : findBrokenLink(migrationsDir);
  if (broken !== null) throw usageError(`${describeBrokenLink(broken, broken.link)}; point the link at the folder that holds the migrations, or replace it with that folder.`);
  if (!existsSync(migrationsDir)) return [];
  if (!statSync(migrationsDir).isDirectory()) throw usageError(`${migrationsDir} is a file, not a folder; point --dir (or "migrationsDir" in the config) at the folder that holds the migrations.`);
  try {
    return readdirSync(migrationsDir);
  } catch (error) {
    throw usageError(`Cannot list ${migrationsDir} (${errorCode(error)}); make it readable by the user running stepwise.`);
  }
}
