import Database from "better-sqlite3";
import { MigrationManager } from "../src/drivers/better-sqlite3.ts";
import { sqlEntry, tsEntry } from "./support/registry-builders.ts";
import { mkdtempSync } from "node:fs";
import path from "node:path";

function fresh(mode?: string) {
  const dir = mkdtempSync("/tmp/h49r2/sq-");
  const db = new Database(path.join(dir, "a.db"));
  if (mode) db.pragma(`journal_mode = ${mode}`);
  return db;
}
async function tryCase(name: string, fn: () => unknown) {
  try { const r = await fn(); console.log("OK  ", name, JSON.stringify(r)); }
  catch (e: any) { console.log("FAIL", name, e?.code, (e?.message ?? String(e)).slice(0, 300)); }
}
const C1 = sqlEntry(1, "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id));", { downSql: "DROP TABLE c; DROP TABLE p;" });

// temp_store
for (const mode of ["delete", "wal"]) {
await tryCase(`temp_store change in whole run (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA temp_store = MEMORY;"), sqlEntry(3, "CREATE TABLE t3(x);")]);
  const r = m.up({ transaction: "all" });
  return [r.steps.map(s=>s.version), db.pragma("temp_store", {simple:true})];
});
await tryCase(`temp_store with temp table in whole run (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA temp_store = MEMORY; CREATE TEMP TABLE scratch(x); INSERT INTO scratch VALUES (1); INSERT INTO p SELECT x FROM scratch;"), sqlEntry(3, "CREATE TABLE t3(x);")]);
  const r = m.up({ transaction: "all" });
  return [r.steps.map(s=>s.version), db.pragma("temp_store", {simple:true})];
});
await tryCase(`temp_store each (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA temp_store = MEMORY; CREATE TEMP TABLE scratch(x);"), sqlEntry(3, "CREATE TABLE t3(x);")]);
  const r = m.up();
  return [r.steps.map(s=>s.version), db.pragma("temp_store", {simple:true})];
});
// defer_foreign_keys across migrations
await tryCase(`defer_foreign_keys dangling then fixed (${mode})`, () => {
  const db = fresh(mode); db.pragma("foreign_keys = ON");
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA defer_foreign_keys = ON; INSERT INTO c VALUES (1, 5);"), sqlEntry(3, "INSERT INTO p VALUES (5);")]);
  const r = m.up({ transaction: "all" });
  return [r.steps.map(s=>s.version), db.pragma("defer_foreign_keys", {simple:true}), db.prepare("select count(*) n from c").get()];
});
await tryCase(`defer_foreign_keys dangling never fixed (${mode})`, () => {
  const db = fresh(mode); db.pragma("foreign_keys = ON");
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA defer_foreign_keys = ON; INSERT INTO c VALUES (1, 5);"), sqlEntry(3, "CREATE TABLE t3(x);")]);
  try { m.up({ transaction: "all" }); } catch (e: any) { return ["threw", e.code, e.details?.version, db.prepare("select name from sqlite_master where type='table'").all().map((r:any)=>r.name), db.pragma("defer_foreign_keys", {simple:true})]; }
  return ["no throw", db.prepare("select count(*) n from c").get(), db.pragma("foreign_key_check")];
});
// query_only
await tryCase(`query_only in whole run (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA query_only = ON;"), sqlEntry(3, "CREATE TABLE t3(x);")]);
  try { const r = m.up({ transaction: "all" }); return [r.steps.map(s=>s.version), db.pragma("query_only", {simple:true})]; }
  catch (e: any) { return ["threw", e.code, e.message.slice(0,200), db.pragma("query_only", {simple:true}), db.prepare("select name from sqlite_master where type='table'").all().map((r:any)=>r.name)]; }
});
// locking_mode exclusive
await tryCase(`locking_mode EXCLUSIVE whole run (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA locking_mode = EXCLUSIVE;"), sqlEntry(3, "CREATE TABLE t3(x);")]);
  const r = m.up({ transaction: "all" });
  const other = new Database(db.name);
  let w = "ok"; try { other.exec("CREATE TABLE zz(x)"); } catch (e: any) { w = e.message; }
  return [r.steps.map(s=>s.version), db.pragma("locking_mode", {simple:true}), db.pragma("main.locking_mode", {simple:true}), w];
});
await tryCase(`locking_mode EXCLUSIVE main. whole run (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA main.locking_mode = EXCLUSIVE; INSERT INTO p VALUES(1);"), sqlEntry(3, "CREATE TABLE t3(x);")]);
  const r = m.up({ transaction: "all" });
  const other = new Database(db.name);
  let w = "ok"; try { other.exec("CREATE TABLE zz(x)"); } catch (e: any) { w = e.message; }
  return [r.steps.map(s=>s.version), db.pragma("main.locking_mode", {simple:true}), w];
});
await tryCase(`locking_mode EXCLUSIVE + failing later migration (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA locking_mode = EXCLUSIVE; INSERT INTO p VALUES(1);"), sqlEntry(3, "CREATE TABLE t3(x); SELECT * FROM nope;")]);
  try { m.up({ transaction: "all" }); } catch (e: any) {
    const other = new Database(db.name);
    let w = "ok"; try { other.exec("CREATE TABLE zz(x)"); } catch (e2: any) { w = e2.message; }
    return ["threw", e.code, db.pragma("main.locking_mode", {simple:true}), w, db.prepare("select name from sqlite_master where type='table'").all().map((r:any)=>r.name)];
  }
  return "no throw";
});
// journal_mode
await tryCase(`journal_mode change in whole run (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA journal_mode = MEMORY;"), sqlEntry(3, "CREATE TABLE t3(x);")]);
  try { const r = m.up({ transaction: "all" }); return [r.steps.map(s=>s.version), db.pragma("journal_mode", {simple:true})]; }
  catch (e: any) { return ["threw", e.code, e.message.slice(0,200)]; }
});
// failing migration after settings change: settings back?
await tryCase(`failure after case_sensitive_like + recursive_triggers (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA case_sensitive_like = ON; PRAGMA recursive_triggers = ON; PRAGMA cache_size = 77;"), sqlEntry(3, "CREATE TABLE t3(x); SELECT * FROM nope;")]);
  try { m.up({ transaction: "all" }); } catch (e: any) {
    return ["threw", e.code, db.prepare("select 'a' like 'A' v").get(), db.pragma("recursive_triggers", {simple:true}), db.pragma("cache_size", {simple:true}), db.prepare("select name from sqlite_master where type='table'").all().map((r:any)=>r.name)];
  }
  return "no throw";
});
// failure in the migration that changed settings
await tryCase(`failure in same migration (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, sqlEntry(2, "PRAGMA case_sensitive_like = ON; SELECT * FROM nope;")]);
  try { m.up({ transaction: "all" }); } catch (e: any) {
    return ["threw", e.code, db.prepare("select 'a' like 'A' v").get()];
  }
  return "no throw";
});
// down --transaction all
await tryCase(`down all with PRAGMA (${mode})`, () => {
  const db = fresh(mode);
  const reg = [C1, sqlEntry(2, "CREATE TABLE t2(x);", { downSql: "PRAGMA case_sensitive_like = ON; DROP TABLE t2;" }), sqlEntry(3, "CREATE TABLE t3(x);", { downSql: "DROP TABLE t3;" })];
  const m = new MigrationManager(db, reg);
  m.up();
  const r = m.down({ to: 0, transaction: "all" });
  return [r.steps.map(s=>s.version), db.prepare("select 'a' like 'A' v").get()];
});
// TS migration setting pragma via db
await tryCase(`ts migration pragma (${mode})`, () => {
  const db = fresh(mode);
  const m = new MigrationManager(db, [C1, tsEntry(2, { up(d: any) { d.pragma("cache_size = 55"); d.exec("PRAGMA temp_store=2"); } }), tsEntry(3, { up(d: any) { d.exec(`CREATE TABLE t3 AS SELECT ${'1'} x`); } })]);
  const r = m.up({ transaction: "all" });
  return [r.steps.map(s=>s.version), db.pragma("cache_size", {simple:true}), db.pragma("temp_store", {simple:true})];
});
}
