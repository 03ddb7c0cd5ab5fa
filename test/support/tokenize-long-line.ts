/**
 * Test support, run as a child process so a hang guard can kill it: tokenises one INSERT of
 * `process.argv[2]` rows on a single line followed by `COMMIT` on the next, and prints the position
 * the tokeniser gave that `COMMIT`, with the line's length, as JSON.
 */
import { tokenizeSql } from "../../src/shared/postgres-tokens.js";

const rows = Number(process.argv[2]);
const line = "INSERT INTO t VALUES " + "('a;b'),".repeat(rows) + "('z');";
const commit = tokenizeSql(`${line}\nCOMMIT;`).find((token) => token.text === "COMMIT");
process.stdout.write(JSON.stringify({ lineLength: line.length, line: commit?.line, column: commit?.column, offset: commit?.offset }));
