/** stepwise on better-sqlite3: `up()` and `down({ to: 0 })`, the whole run in one transaction (`transaction: "all"`). */
import Database from "better-sqlite3";
import { MigrationManager } from "stepwise-migrate/better-sqlite3";
import { migrations } from "workload:registry";
import { action, report, SQLITE_PRAGMAS, target } from "../side.js";

const db = new Database(target);
for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
const manager = new MigrationManager(db, migrations);
const result = action === "up" ? manager.up({ transaction: "all" }) : manager.down({ to: 0, transaction: "all" });
db.close();
report(result.steps.length);
