/**
 * `repair`: resolves an interrupted `transaction: false` migration (`--applied`, `--forget`), or
 * realigns recorded checksums with the registry after a deliberate edit (`--checksums`).
 */
import { Option, type Command } from "commander";
import { usageError } from "../../core/error-factories.js";
import type { MigrationRegistry } from "../../core/types.js";
import { describeRepair } from "../../safety/repair.js";
import { exitCodeOfChecksumRepair, formatChecksumRepair, repairChecksumsWith, REPAIRED_BY_ENV, resolveRepairedBy } from "../checksum-repair-command.js";
import { refuseMissingDatabase } from "../database-target.js";
import { parsePositiveInteger, singleValued } from "../parse-options.js";
import { repairWith } from "../safety-nets.js";
import { withManager } from "../with-manager.js";
import type { CommandKit } from "./command-kit.js";

/** What `repair` parses from its own flags. */
interface RepairOptions {
  applied?: number;
  forget?: number;
  checksums?: number | true;
  by?: string;
  yes?: boolean;
  json?: boolean;
}

/** Adds `repair`, which asks for `--yes` before it writes. */
export function addRepairCommand<R extends MigrationRegistry>(program: Command, kit: CommandKit<R>): void {
  program
    .command("repair")
    .description("resolve an interrupted transaction:false migration (--applied/--forget), or realign recorded checksums with the registry after a deliberate edit (--checksums)")
    .addOption(new Option("--applied <version>", "its changes are all in the database: record it as applied").argParser(singleValued(parsePositiveInteger)).conflicts(["forget", "checksums"]))
    .addOption(new Option("--forget <version>", "none of its changes are in the database: drop the attempt so up runs it again").argParser(singleValued(parsePositiveInteger)).conflicts("checksums"))
    .addOption(
      new Option(
        "--checksums [version]",
        "record the registry's checksum for applied migrations whose file was edited on purpose (all, or one version); shows the changes and exits 1 until --yes, and history records who and when",
      ).argParser(singleValued(parsePositiveInteger)),
    )
    .option("--by <name>", `with --checksums: who the repair is recorded as (default: $${REPAIRED_BY_ENV}, else the OS user)`, singleValued())
    .option("--yes", "confirm; repair only records what you checked, it does not inspect the schema")
    .option("--json", "print the result as JSON")
    .action((options: RepairOptions, command: Command) => (options.checksums !== undefined ? repairChecksums(kit, command, options) : repairIncomplete(kit, command, options)));
}

async function repairChecksums<R extends MigrationRegistry>(kit: CommandKit<R>, command: Command, options: RepairOptions): Promise<void> {
  const { session, output } = kit;
  refuseMissingDatabase(session, command, "nothing to repair");
  const apply = Boolean(options.yes);
  const repairedBy = resolveRepairedBy(options.by, session.io.env);
  await withManager(session, command, apply ? "write" : "read", async (manager) => {
    const result = await repairChecksumsWith(manager, { apply, version: options.checksums === true ? undefined : options.checksums, repairedBy });
    if (options.json) output.printJson(result);
    else output.print(formatChecksumRepair(result));
    output.exitCode = exitCodeOfChecksumRepair(result);
  });
}

async function repairIncomplete<R extends MigrationRegistry>(kit: CommandKit<R>, command: Command, options: RepairOptions): Promise<void> {
  const { session, output } = kit;
  if (options.by !== undefined) throw usageError("--by names who realigned checksums; it goes with --checksums.");
  const version = options.applied ?? options.forget;
  if (version === undefined) throw usageError("repair needs --applied <version>, --forget <version> or --checksums [version].");
  if (!options.yes) throw usageError("repair rewrites the history after you checked the database by hand; run it again with --yes to confirm.");
  refuseMissingDatabase(session, command, "nothing to repair");
  await withManager(session, command, "write", async (manager) => {
    const result = await repairWith(manager, { version, resolution: options.applied !== undefined ? "applied" : "forget" });
    if (options.json) output.printJson(result);
    else output.print(describeRepair(result));
  });
}
