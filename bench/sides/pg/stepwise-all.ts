/** stepwise on `pg`: `up()` and `down({ to: 0 })`, the whole run in one transaction (`transaction: "all"`). */
import pg from "pg";
import { MigrationManager } from "stepwise-migrate/pg";
import { migrations } from "workload:registry";
import { action, report, target } from "../side.js";

const client = new pg.Client({ connectionString: target });
await client.connect();
const manager = new MigrationManager(client, migrations);
const result = action === "up" ? await manager.up({ transaction: "all" }) : await manager.down({ to: 0, transaction: "all" });
await client.end();
report(result.steps.length);
