/**
 * Child of `database-files.test.ts`: the reads of a file stepwise makes that would block the whole
 * process forever on a FIFO (opened for reading, it waits for a writer), each given one. Prints what
 * each answered as JSON; the parent kills it when it does not finish.
 *
 *   node --import tsx test/support/fifo-opens.ts <empty folder>
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import Database from "better-sqlite3";
import { createBetterSqlite3Driver } from "../../src/drivers/better-sqlite3.js";
import { listBackups } from "../../src/safety/backup.js";
import { restoreBackup } from "../../src/safety/restore.js";

const dir = process.argv[2]!;
const fifo = (name: string): string => {
  const file = path.join(dir, name);
  if (spawnSync("mkfifo", [file]).status !== 0) throw new Error(`mkfifo ${file} failed`);
  return file;
};
const db = new Database(path.join(dir, "app.db"));
db.exec("CREATE TABLE t (x)");
const driver = createBetterSqlite3Driver(db);
const answers = {
  // A started row names an owner lock sidecar; a FIFO planted under that name.
  probe: driver.probeOwnerLock!(path.basename(fifo("app.db-stepwise-owner-planted"))),
  listed: listBackups(path.join(dir, "backups"), fifo("other.db")),
  restore: await restoreBackup({ driver, backupFile: fifo("backup.bak"), databasePath: path.join(dir, "restored.db") }).then(
    () => "restored",
    (error: { code?: string }) => error.code,
  ),
};
db.close();
process.stdout.write(JSON.stringify(answers));
