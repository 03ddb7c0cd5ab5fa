/**
 * Test support, run as a child process under a heap limit: parses a SQL migration of `process.argv[2]` seed rows, one INSERT a line, and prints whether it parsed and the line its up
 * section starts on, as JSON.
 */
import { parseSqlMigrationSource } from "../../src/shared/sql-source.js";

const rows = Number(process.argv[2]);
const inserts = Array.from({ length: rows }, (_, index) => `INSERT INTO s (id, a, b) VALUES (${index + 1}, 'name ${index}; with semi', 'it''s -- not ${index}');`);
const parsed = parseSqlMigrationSource(`-- migrate:up\nCREATE TABLE s (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\n${inserts.join("\n")}\n-- migrate:down\nDROP TABLE s;\n`);
process.stdout.write(JSON.stringify({ ok: parsed.ok, upSqlLine: parsed.ok ? parsed.migration.upSqlLine : null }));
