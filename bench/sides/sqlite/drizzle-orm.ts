/** drizzle's better-sqlite3 migrator over a drizzle-kit folder; it applies a run in one transaction and has no down migrations. */
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { report, SQLITE_PRAGMAS, target } from "../side.js";

const db = new Database(target);
for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
const applied = () =>
  (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = '__drizzle_migrations'").get() as { n: number }).n === 0
    ? 0
    : (db.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number }).n;
const before = applied();
migrate(drizzle(db), { migrationsFolder: "drizzle" });
report(applied() - before);
db.close();
