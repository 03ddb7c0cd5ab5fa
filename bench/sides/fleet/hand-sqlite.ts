/**
 * The floor for a fleet of SQLite files: a hand-written worker pool on better-sqlite3, each worker
 * taking the next file as it frees (one thread at concurrency 1), a transaction per migration.
 *
 *   hand-sqlite.mjs up|status <folder> <concurrency>   prints {"databases", "count"}: migrations applied, or databases at the latest version
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { migrations } from "workload:fleet-migrations";

/** Applies what `file` lacks (the count applied), or says whether it is at the latest version (1 or 0). */
function work(file: string, action: string): number {
  const db = new Database(file);
  try {
    db.pragma("busy_timeout = 30000");
    if (action === "status") {
      const has = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'hand_migrations'").get() !== undefined;
      const at = has ? (db.prepare("SELECT max(version) AS v FROM hand_migrations").get() as { v: number | null }).v : null;
      return at === migrations.length ? 1 : 0;
    }
    db.exec("CREATE TABLE IF NOT EXISTS hand_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    const applied = new Set((db.prepare("SELECT version FROM hand_migrations").all() as { version: number }[]).map((row) => row.version));
    const insert = db.prepare("INSERT INTO hand_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    let count = 0;
    for (const migration of migrations.filter((each) => !applied.has(each.version))) {
      db.exec("BEGIN IMMEDIATE");
      db.exec(migration.sqlite);
      insert.run(migration.version, migration.name, new Date().toISOString());
      db.exec("COMMIT");
      count++;
    }
    return count;
  } finally {
    db.close();
  }
}

if (isMainThread) {
  const [action = "up", folder = ".", concurrency = "1"] = process.argv.slice(2);
  const files = readdirSync(folder)
    .filter((name) => name.endsWith(".db"))
    .map((name) => path.join(folder, name));
  let count = 0;
  if (Number(concurrency) === 1) for (const file of files) count += work(file, action);
  else {
    let next = 0;
    const lane = () =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: action });
        const feed = () => (next < files.length ? worker.postMessage(files[next++]) : void worker.terminate().then(() => resolve()));
        worker.on("message", (n: number) => {
          count += n;
          feed();
        });
        worker.on("error", reject);
        feed();
      });
    await Promise.all(Array.from({ length: Number(concurrency) }, lane));
  }
  process.stdout.write(`${JSON.stringify({ databases: files.length, count })}\n`);
} else {
  parentPort!.on("message", (file: string) => parentPort!.postMessage(work(file, workerData as string)));
}
