/**
 * Checksums follow meaning, not formatting. Each variant is written to a real migrations folder and
 * scanned exactly as `gen` scans it, so BOM and line-ending handling are covered too.
 */
import { readRecordedEntries } from "../codegen/generate.js";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import * as prettier from "prettier";
import { scanMigrations } from "../codegen/scan.js";
import { makeTempDir, repoRoot } from "./support/project.js";

function checksummer(t: { after(fn: () => void): void }) {
  const root = makeTempDir(t);
  let count = 0;
  return (kind: "ts" | "sql", text: string): string => {
    const migrationsDir = path.join(root, `variant-${++count}`);
    mkdirSync(migrationsDir);
    writeFileSync(path.join(migrationsDir, `001_variant.${kind}`), text);
    const scan = scanMigrations({ projectRoot: root, migrationsDir });
    assert.deepEqual(scan.problems, [], `variant ${count} must be a valid migration:\n${text}`);
    return scan.migrations[0]!.checksum;
  };
}

const baseTs = `import { defineMigration } from "stepwise-migrate";

export default defineMigration({
  description: "Nicknames for contacts",
  up(db) {
    db.exec("ALTER TABLE contacts ADD COLUMN nickname TEXT");
    const rows = db.prepare("SELECT id, first_name FROM contacts").all() as { id: number; first_name: string }[];
    for (const row of rows) {
      const nickname = (row.first_name + "-" + row.id).toLowerCase();
      db.prepare("UPDATE contacts SET nickname = ? WHERE id = ?").run(nickname, row.id);
    }
  },
  down(db) {
    db.exec(\`ALTER TABLE contacts DROP COLUMN nickname\`);
  },
});
`;

/** The same migration as someone might type it before running prettier. */
const sloppyTs = `import {defineMigration} from 'stepwise-migrate'
// Added for the nickname feature.
export default defineMigration({
  "description": 'Nicknames for contacts',
  /** Adds the column and backfills it. */
  up(db) {
    ((db.exec('ALTER TABLE contacts ADD COLUMN nickname TEXT')))
    const rows = (db.prepare("SELECT id, first_name FROM contacts").all()) as ({ id: number, first_name: string })[]
    for (const row of rows) {
      const nickname = (((row.first_name + '-') + row.id)).toLowerCase() /* lower-case */
      db.prepare("UPDATE contacts SET nickname = ? WHERE id = ?").run(nickname, row.id,)
    };
  },
  down (db) { db.exec(\`ALTER TABLE contacts DROP COLUMN nickname\`) },
})
`;

test("formatting-only edits leave a TypeScript migration's checksum unchanged", async (t) => {
  const checksumOf = checksummer(t);
  const base = checksumOf("ts", baseTs);
  const prettierDefault = await prettier.format(sloppyTs, { parser: "typescript" });
  const prettierOther = await prettier.format(baseTs, { parser: "typescript", singleQuote: true, semi: false, trailingComma: "none", printWidth: 40, tabWidth: 4 });
  assert.notEqual(prettierDefault, sloppyTs, "prettier must really have rewritten the file");
  assert.notEqual(prettierOther, baseTs);

  const variants: Record<string, string> = {
    "prettier over a sloppy file": prettierDefault,
    "prettier with other options": prettierOther,
    "the sloppy file itself": sloppyTs,
    "CRLF line endings": baseTs.replace(/\n/g, "\r\n"),
    "a BOM": `\uFEFF${baseTs}`,
    "a BOM and CRLF": `\uFEFF${baseTs.replace(/\n/g, "\r\n")}`,
    "single quotes": baseTs.replace(/"([^"]*)"/g, "'$1'"),
    "no semicolons": baseTs.replace(/;\n/g, "\n"),
    "no trailing commas": baseTs.replace(/,\n(\s*)([}\])])/g, "\n$1$2"),
    "redundant parentheses": baseTs.replace('db.exec("ALTER', '(db.exec)(("ALTER').replace('nickname TEXT")', 'nickname TEXT"))'),
    "a line comment": baseTs.replace("  up(db) {", "  // Why: contacts asked for short names.\n  up(db) {"),
    "an edited comment": sloppyTs.replace("Added for the nickname feature.", "Nicknames, see the design notes."),
    "a block comment inside code": baseTs.replace("for (const row", "/* backfill */ for (const row"),
    "extra blank lines and indentation": baseTs.replace(/\n/g, "\n\n").replace(/ {2}/g, "\t"),
  };
  for (const [what, text] of Object.entries(variants)) {
    assert.equal(checksumOf("ts", text), base, `${what} must not change the checksum`);
  }
});

test("code changes change a TypeScript migration's checksum, each one differently", (t) => {
  const checksumOf = checksummer(t);
  const base = checksumOf("ts", baseTs);
  const edits: Record<string, string> = {
    "SQL text": baseTs.replace("nickname TEXT", "nickname TEXT NOT NULL DEFAULT ''"),
    "a string's content": baseTs.replace('"-"', '" "'),
    "an identifier": baseTs.replace(/row\.id\)/, "row.first_name)"),
    "an operator": baseTs.replace('+ "-" +', '+ "-" -'),
    "precedence (parentheses that matter)": baseTs.replace('(row.first_name + "-" + row.id).toLowerCase()', 'row.first_name + ("-" + row.id).toLowerCase()'),
    "a statement removed": baseTs.replace('      db.prepare("UPDATE contacts SET nickname = ? WHERE id = ?").run(nickname, row.id);\n', ""),
    "const to let": baseTs.replace("const nickname", "let nickname"),
    "transaction flag": baseTs.replace("  down(db) {", "  transaction: false,\n  down(db) {"),
    "disableForeignKeys flag": baseTs.replace("  down(db) {", "  disableForeignKeys: true,\n  down(db) {"),
    "down removed": baseTs.replace(/ {2}down\(db\) \{\n.*\n {2}\},\n/, ""),
    "a template literal's content": baseTs.replace("`ALTER TABLE contacts DROP COLUMN nickname`", "`ALTER TABLE contacts DROP COLUMN  nickname`"),
  };
  const seen = new Map<string, string>([[base, "the original"]]);
  for (const [what, text] of Object.entries(edits)) {
    assert.notEqual(text, baseTs, `the edit "${what}" must apply`);
    const checksum = checksumOf("ts", text);
    assert.ok(!seen.has(checksum), `${what} gives the same checksum as ${seen.get(checksum)}`);
    seen.set(checksum, what);
  }
});

test("running prettier for real over the repo's TypeScript migrations keeps their committed checksums", async (t) => {
  const checksumOf = checksummerForRepo(t);
  const registry = readFileSync(path.join(repoRoot, "generated", "registry.ts"), "utf8");
  for (const fileName of ["002_add_contact_preferences.ts", "005_backfill_normalized_phone.ts"]) {
    const source = readFileSync(path.join(repoRoot, "migrations", fileName), "utf8");
    const committed = readRecordedEntries(registry).get(`migrations/${fileName}`)?.checksum;
    assert.ok(committed, `the registry lists ${fileName}`);
    const reformatted = await prettier.format(source, { parser: "typescript", singleQuote: true, semi: false, printWidth: 60, arrowParens: "avoid" });
    assert.notEqual(reformatted, source);
    assert.equal(checksumOf(reformatted), committed, fileName);
  }
});

function checksummerForRepo(t: { after(fn: () => void): void }) {
  const checksumOf = checksummer(t);
  return (text: string) => checksumOf("ts", text);
}

const baseSql = `-- description: Contacts
-- migrate:up
CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL DEFAULT 'no  name',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_contacts_name ON contacts (name);
-- migrate:down
DROP TABLE contacts;
`;

test("formatting-only edits leave a SQL migration's checksum unchanged", (t) => {
  const checksumOf = checksummer(t);
  const base = checksumOf("sql", baseSql);
  const variants: Record<string, string> = {
    "CRLF line endings": baseSql.replace(/\n/g, "\r\n"),
    "a BOM": `\uFEFF${baseSql}`,
    "a BOM and CRLF": `\uFEFF${baseSql.replace(/\n/g, "\r\n")}`,
    "a line comment": baseSql.replace("CREATE INDEX", "-- Lookups by name are common.\nCREATE INDEX"),
    "a trailing comment": baseSql.replace("id INTEGER PRIMARY KEY,", "id INTEGER PRIMARY KEY, -- rowid alias"),
    "a block comment": baseSql.replace("DROP TABLE", "/* undo */ DROP TABLE"),
    "the description comment": baseSql.replace("-- description: Contacts", "-- description: All contacts"),
    "reflowed whitespace": baseSql.replace("CREATE TABLE contacts (\n  id INTEGER PRIMARY KEY,\n", "CREATE   TABLE contacts(id    INTEGER PRIMARY KEY ,\n\n\t"),
    "blank lines around sections": baseSql.replace("-- migrate:up\n", "-- migrate:up\n\n\n").replace("\n-- migrate:down", "\n\n-- migrate:down") + "\n\n",
  };
  for (const [what, text] of Object.entries(variants)) {
    assert.equal(checksumOf("sql", text), base, `${what} must not change the checksum`);
  }
});

test("SQL changes and flag changes change a SQL migration's checksum, each one differently", (t) => {
  const checksumOf = checksummer(t);
  const base = checksumOf("sql", baseSql);
  const edits: Record<string, string> = {
    "a column type": baseSql.replace("name TEXT NOT NULL", "name BLOB NOT NULL"),
    "whitespace inside a string literal": baseSql.replace("'no  name'", "'no name'"),
    "a statement added": baseSql.replace("-- migrate:down", "CREATE INDEX idx_contacts_created_at ON contacts (created_at);\n-- migrate:down"),
    "the down SQL": baseSql.replace("DROP TABLE contacts;", "DROP TABLE IF EXISTS contacts;"),
    "the down section removed": baseSql.replace("-- migrate:down\nDROP TABLE contacts;\n", ""),
    "transaction:false": baseSql.replace("-- migrate:up", "-- migrate:up transaction:false"),
    "foreign_keys:off": baseSql.replace("-- migrate:up", "-- migrate:up foreign_keys:off"),
    "SQL moved from up to down": baseSql.replace("CREATE INDEX idx_contacts_name ON contacts (name);\n-- migrate:down\n", "-- migrate:down\nCREATE INDEX idx_contacts_name ON contacts (name);\n"),
  };
  const seen = new Map<string, string>([[base, "the original"]]);
  for (const [what, text] of Object.entries(edits)) {
    assert.notEqual(text, baseSql, `the edit "${what}" must apply`);
    const checksum = checksumOf("sql", text);
    assert.ok(!seen.has(checksum), `${what} gives the same checksum as ${seen.get(checksum)}`);
    seen.set(checksum, what);
  }
});

test("transaction:true on the marker is the default, so writing it out keeps the checksum", (t) => {
  const checksumOf = checksummer(t);
  assert.equal(checksumOf("sql", baseSql.replace("-- migrate:up", "-- migrate:up transaction:true")), checksumOf("sql", baseSql));
});
