/** The `import` command: plans the import, prints it, and with `--yes` writes it. */
import path from "node:path";
import type { CliContext } from "../../src/cli/cli-props.js";
import { withFix } from "../../src/cli/error-fix.js";
import { usageError } from "../../src/core/error-factories.js";
import type { StepwiseSettings } from "../config.js";
import { globToRegExp } from "./glob-pattern.js";
import type { ImportFlags } from "./import-help.js";
import { checkImportTarget, IMPORT_TOOLS, planImport, writeImport, type EmptyDownChoice } from "./import-plan.js";
import { genCommandOf } from "../gen-command.js";

/** Runs `stepwise import <tool> <dir>` for the bin. */
export function runImport(tool: string, dir: string, flags: ImportFlags, settings: StepwiseSettings, context: CliContext): void {
  const tools = Object.keys(IMPORT_TOOLS).join(", ");
  if (!Object.hasOwn(IMPORT_TOOLS, tool)) throw withFix(usageError(`stepwise cannot import "${tool}" migrations; it imports ${tools}.`), `name one of the tools import reads: ${tools}`);
  if (flags.emptyDown !== undefined && flags.emptyDown !== "irreversible" && flags.emptyDown !== "no-op") {
    throw withFix(usageError(`--empty-down takes irreversible or no-op, not "${flags.emptyDown}".`), "pass --empty-down irreversible or --empty-down no-op");
  }
  if (flags.glob !== undefined && tool !== "umzug") {
    throw withFix(usageError(`--glob is for umzug, whose files are what the project's glob finds; ${tool} chooses its own files.`), "leave out --glob");
  }
  if (flags.glob !== undefined && globToRegExp(flags.glob) === null) {
    throw withFix(
      usageError(`--glob "${flags.glob}" is not a pattern import reads: give the one the project's Umzug was given, with *, ?, {a,b} or [..] in its file-name part only (import reads one folder).`),
      "pass --glob the pattern the project's Umzug was given, with *, ?, {a,b} or [..] in its file-name part only",
    );
  }
  const plan = planImport({
    tool,
    sourceDir: path.resolve(settings.projectRoot, dir),
    migrationsDir: settings.migrationsDir,
    projectRoot: settings.projectRoot,
    dialect: settings.dialect,
    emptyDown: flags.emptyDown as EmptyDownChoice | undefined,
    driver: settings.driver,
    tableName: settings.tableName,
    schema: settings.schema,
    ...(flags.glob === undefined ? {} : { glob: flags.glob }),
  });
  checkImportTarget(plan, settings.migrationsDir);
  if (flags.yes) writeImport(plan, settings.migrationsDir);
  if (flags.json) {
    const { mapText: _map, migrations, helpers, ...rest } = plan;
    context.io.stdout(
      `${JSON.stringify({ ...rest, written: Boolean(flags.yes), migrations: migrations.map(({ text: _text, ...migration }) => migration), helpers: helpers.map((helper) => helper.file) }, null, 2)}\n`,
    );
    return;
  }
  const lines = plan.migrations.map((migration) => {
    const notes = [
      migration.transaction ? null : "transaction:false",
      migration.foreignKeysOff
        ? `foreign_keys:off${migration.foreignKeysPragmas > 0 ? " (for its PRAGMA foreign_keys lines, now comments)" : ""}`
        : migration.foreignKeysPragmas > 0
          ? "PRAGMA foreign_keys lines now comments (they did nothing in the tool's transaction)"
          : null,
      migration.emptyUp ? "empty up" : null,
      migration.down === "sql" || migration.down === "module" ? null : migration.down === "no-op" ? "down: no-op" : "irreversible",
    ].filter((note) => note !== null);
    return `  ${plan.migrationsDir}/${migration.file}  <- ${migration.originalId}${notes.length > 0 ? `  (${notes.join(", ")})` : ""}`;
  });
  const verb = flags.yes ? "Wrote" : "Would write";
  context.io.stdout(
    `${verb} ${plan.migrations.length} migration${plan.migrations.length === 1 ? "" : "s"} from ${plan.source} (${tool}, ordered ${plan.order}):\n${lines.join("\n")}${plan.helpers.map((helper) => `\n  ${plan.migrationsDir}/${helper.file}`).join("")}\n  ${plan.mapFile}\n`,
  );
  context.io.stderr(
    flags.yes
      ? `Next: run "${genCommandOf(settings.projectRoot, settings)}", check the migrations, and commit them with ${plan.mapFile}.\n`
      : `Nothing was written (a dry run); run it again with --yes to write these files.\n`,
  );
}
