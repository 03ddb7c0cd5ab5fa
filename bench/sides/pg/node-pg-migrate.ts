/** node-pg-migrate 9's `runner` over its folder of SQL files, with its defaults (a transaction per migration, its advisory lock). */
import { runner } from "node-pg-migrate";
import { action, report, target } from "../side.js";

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const ran = await runner({ databaseUrl: target, dir: "node-pg-migrate", direction: action, count: Infinity, migrationsTable: "pgmigrations", logger: silent });
report(ran.length);
