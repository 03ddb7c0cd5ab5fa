/**
 * The floor for `gen` and `gen --check`: a process that only reads and hashes every file in the
 * migrations folder, which any check that trusts nothing has to do.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const dir = process.argv[2]!;
const hash = createHash("sha256");
for (const name of readdirSync(dir).sort()) hash.update(readFileSync(path.join(dir, name)));
hash.digest("hex");
