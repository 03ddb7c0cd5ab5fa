/**
 * The database's bytes in IndexedDB. sql.js keeps its database in WebAssembly memory only, so the
 * page stores `db.export()` after every change and hands the bytes back to `new SQL.Database()` on
 * the next load. One object store, one key: the whole database is one value.
 */
const DATABASE_NAME = "stepwise-example";
const STORE = "sqlite";
const KEY = "app.db";

function openStore(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error(`IndexedDB refused to open ${DATABASE_NAME}`));
  });
}

function settle<T>(request: IDBRequest<T>, transaction: IDBTransaction): Promise<T> {
  return new Promise((resolve, reject) => {
    // Resolved on the transaction's completion, not the request's success: only then is the write durable.
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = () => reject(transaction.error ?? request.error ?? new Error("IndexedDB transaction failed"));
    transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB transaction aborted"));
  });
}

/** The stored database, or `undefined` on the first visit. */
export async function loadDatabaseBytes(): Promise<Uint8Array | undefined> {
  const store = await openStore();
  try {
    const transaction = store.transaction(STORE, "readonly");
    const value: unknown = await settle(transaction.objectStore(STORE).get(KEY), transaction);
    return value instanceof Uint8Array ? value : undefined;
  } finally {
    store.close();
  }
}

/** Stores the database's bytes, replacing the previous copy in one IndexedDB transaction. */
export async function saveDatabaseBytes(bytes: Uint8Array): Promise<void> {
  const store = await openStore();
  try {
    const transaction = store.transaction(STORE, "readwrite");
    await settle(transaction.objectStore(STORE).put(bytes, KEY), transaction);
  } finally {
    store.close();
  }
}
