/**
 * The page: load sql.js, open the database stored in IndexedDB (or a new one), migrate it with the
 * registry that `stepwise gen` compiled, store it again, and show where it stands. When migrating
 * fails, `#error` shows the error's stable `code`, `#app` gets `data-state="error"`, and the page
 * still shows the database, which stepwise left as it was.
 */
import initSqlJs, { type Database } from "sql.js";
import wasmUrl from "sql.js/dist/sql-wasm.wasm?url";
import { MigrationManager } from "stepwise-migrate/sql-js";
import { migrations } from "./generated/registry.js";
import { loadDatabaseBytes, saveDatabaseBytes } from "./storage.js";

const element = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const app = element("app");

async function start(): Promise<void> {
  const SQL = await initSqlJs({ locateFile: () => wasmUrl });
  const db = new SQL.Database(await loadDatabaseBytes());
  // sql.js opens with foreign keys off: without this, note_tags' ON DELETE CASCADE would never fire.
  db.exec("PRAGMA foreign_keys = ON");
  const manager = new MigrationManager(db, migrations);
  try {
    const result = manager.up();
    app.dataset.ranSteps = result.steps.map((step) => step.version).join(" ");
    // Stored only when something ran: an unchanged database needs no write.
    if (result.steps.length > 0) await saveDatabaseBytes(db.export());
  } catch (error) {
    showError(error);
  }
  render(db, manager);
  element<HTMLFormElement>("note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = element<HTMLInputElement>("note-body");
    db.run("INSERT INTO notes (body) VALUES (?)", [input.value]);
    input.value = "";
    render(db, manager);
    app.dataset.state = "saving";
    saveDatabaseBytes(db.export()).then(() => (app.dataset.state = "ready"), showError);
  });
  if (app.dataset.state !== "error") app.dataset.state = "ready";
}

/** Shows the status (plain data from `manager.status()`), the tables and the notes. */
function render(db: Database, manager: MigrationManager<typeof migrations>): void {
  const status = manager.status();
  element("schema-version").textContent = String(status.currentVersion);
  element("latest-version").textContent = String(status.latestVersion);
  element("migrations").replaceChildren(
    ...status.migrations.map((row) => {
      const item = document.createElement("li");
      item.dataset.version = String(row.version);
      item.dataset.state = row.state;
      item.textContent = `${row.version} ${row.name}: ${row.state}${row.appliedAt ? ` at ${row.appliedAt}` : ""}`;
      return item;
    }),
  );
  const tables = db.exec("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")[0]?.values ?? [];
  element("tables").replaceChildren(
    ...tables.map(([name]) => {
      const columns = db.exec(`SELECT name FROM pragma_table_info(?)`, [String(name)])[0]?.values.map(([column]) => String(column)) ?? [];
      const item = document.createElement("li");
      item.dataset.table = String(name);
      item.dataset.columns = columns.join(" ");
      item.textContent = `${String(name)} (${columns.join(", ")})`;
      return item;
    }),
  );
  const notes = tables.some(([name]) => name === "notes") ? (db.exec("SELECT id, body FROM notes ORDER BY id")[0]?.values ?? []) : [];
  element("notes").replaceChildren(
    ...notes.map(([id, body]) => {
      const item = document.createElement("li");
      item.dataset.noteId = String(id);
      item.textContent = String(body);
      return item;
    }),
  );
}

function showError(error: unknown): void {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "UNEXPECTED";
  const shown = element("error");
  shown.hidden = false;
  shown.dataset.code = code;
  shown.textContent = error instanceof Error ? `${code}: ${error.message}` : `${code}: ${String(error)}`;
  app.dataset.state = "error";
}

start().catch(showError);
