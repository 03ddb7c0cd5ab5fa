// The import rules of src/ and codegen/, checked by `npm run lint:deps` (part of `npm run lint`).
//
// Dependencies point one way. From the bottom:
//   src/shared    the SQL readers and file-name rules, usable by everything; imports nothing else here
//   src/core      the executor, its dialects (src/core/dialects), errors and types; imports only shared
//   src/drivers   one file per database library, over the core
//   src/safety    backups, restore, rehearsal, verify, repair, over the core (and, for the SQLite file
//                 copies, three driver modules: database-file.ts, sqlite-shared.ts, lock-holders.ts)
//   src/fleet     migrateMany and its pool, over the core alone
//   src/entries, src/index.ts   the package's entries, which re-export the layers below (the root
//                 entry: the core, the safety nets' list, src/safety/index.ts, and migrateMany)
//   src/cli       the command line, over everything but the entries
//   codegen/      `gen` and the bin, on top
// No cycle either, type-only imports included: a type import ties two files together for a reader
// and for the compiler as much as a value import does.

/** @type {import("dependency-cruiser").IConfiguration} */
export default {
  forbidden: [
    {
      name: "no-circular",
      comment: "No import cycle, type-only imports included: move the shared types into a file both sides import.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "shared-is-a-leaf",
      comment: "src/shared is usable by every layer, so it imports nothing outside itself.",
      severity: "error",
      from: { path: "^src/shared/" },
      to: { path: "^(src/|codegen/)", pathNot: "^src/shared/" },
    },
    {
      name: "core-imports-only-shared",
      comment: "src/core (with src/core/dialects) imports nothing of the package but src/shared: no driver, safety net, entry, CLI or codegen.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: "^(src/|codegen/)", pathNot: "^src/(core|shared)/" },
    },
    {
      name: "drivers-import-core",
      comment: "A driver builds on the core (and src/shared), never on the safety nets, the entries, the CLI or codegen.",
      severity: "error",
      from: { path: "^src/drivers/" },
      to: { path: "^(src/|codegen/)", pathNot: "^src/(core|shared|drivers)/" },
    },
    {
      name: "safety-imports-core",
      comment: "The safety nets build on the core (and src/shared); of the drivers, only the SQLite file helpers the file copies need.",
      severity: "error",
      from: { path: "^src/safety/" },
      to: { path: "^(src/|codegen/)", pathNot: "^src/(core|shared|safety)/|^src/drivers/(database-file|sqlite-shared|lock-holders)\\.ts$" },
    },
    {
      name: "fleet-imports-core",
      comment: "src/fleet (migrateMany and its pool) builds on the core (and src/shared) alone: a target's manager comes from the app's driver entry.",
      severity: "error",
      from: { path: "^src/fleet/" },
      to: { path: "^(src/|codegen/)", pathNot: "^src/(core|shared|fleet)/" },
    },
    {
      name: "root-entry-is-the-core",
      comment: "The root entry (src/index.ts) re-exports the core, the safety nets (src/safety/index.ts) and migrateMany; the drivers have entries of their own.",
      severity: "error",
      from: { path: "^src/index\\.ts$" },
      to: { path: "^(src/|codegen/)", pathNot: "^src/(core|shared)/|^src/safety/index\\.ts$|^src/fleet/migrate-many\\.ts$" },
    },
    {
      name: "entries-are-doors",
      comment: "Only the package (package.json exports) and the example app import the entries; nothing inside builds on them.",
      severity: "error",
      from: { path: "^(src/(core|shared|drivers|safety|fleet|cli)/|codegen/)" },
      to: { path: "^src/entries/" },
    },
    {
      name: "entries-below-cli",
      comment: "An entry re-exports the layers below it, never the CLI or codegen.",
      severity: "error",
      from: { path: "^src/entries/" },
      to: { path: "^(src/cli/|codegen/)" },
    },
    {
      name: "codegen-on-top",
      comment: "Nothing in src/ imports codegen/, which sits on top.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^codegen/" },
    },
  ],
  options: {
    // Type-only imports are dependencies too: without this they vanish before the check sees them.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    // The registry `gen` writes, which the example app imports, is no layer of its own.
    exclude: { path: "^generated/" },
  },
};
