/** The databases a `stepwise fleet` command works on: SQLite files (`--db '<glob>'`), a server's schemas (`--schema '<glob>'`), or URLs; then the shard of them this run takes. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "commander";
import { describeTargetError, type TargetError } from "../fleet/migrate-many.js";
import { DEFAULT_BUSY_TIMEOUT_MS } from "../core/options.js";
import { query } from "../core/step.js";
import type { MigrationRegistry } from "../core/types.js";
import { connectorFor, driverOf, offeredDrivers, resolvePath, setting, type CommandScope } from "./database-target.js";
import { connectsByUrl } from "./driver-names.js";
import { pgOnlyFlagRefusal, refusal } from "./errors.js";
import { expandFileGlob, globPartToRegExp, isGlob } from "./file-glob.js";
import { LIBSQL_AUTH_TOKEN_ENV, parseServerUrl, type ServerUrl } from "./database-path.js";

/**
 * One database of the fleet, its `id` naming it in reports and picking its shard: a SQLite file, or a URL (`server` as reports show it; `listed` when a pattern found its schema);
 * a server of several whose schemas could not be listed is one target that fails with `unlisted`, so the other servers go on.
 */
export type FleetTargetSpec =
  | { readonly id: string; readonly file: string }
  | { readonly id: string; readonly url: string; readonly server: string; readonly schema?: string; readonly listed?: boolean; readonly localFile?: string }
  | { readonly id: string; readonly unlisted: TargetError };

/** `--shard i/n`: this run takes the `index`-th of `count` parts. */
type Shard = { readonly index: number; readonly count: number };

/** Parses `--shard`: `i/n`, 1 ≤ i ≤ n. */
export function parseShard(value: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  const [index, count] = [Number(match?.[1]), Number(match?.[2])];
  if (!match || !Number.isSafeInteger(count) || index < 1 || index > count) throw new InvalidArgumentError("expected i/n with 1 <= i <= n, such as 2/4");
  return { index, count };
}

/** Whether the database named `id` falls in `shard`: by a hash of the id alone, so every machine splits a fleet the same way whatever order it lists it in. */
export function inShard(id: string, shard: Shard): boolean {
  return createHash("sha256").update(id).digest().readUInt32BE(0) % shard.count === shard.index - 1;
}

/** The fleet's databases, each once, in listing order, then `shard`'s part of them. */
export async function listFleetTargets(scope: CommandScope, urlFile: string | undefined, shard: Shard | undefined): Promise<FleetTargetSpec[]> {
  const driver = driverOf(scope);
  // Refused as for one database, rather than ignored: SQLite's busy timeout bounds every wait.
  if (scope.flags.lockTimeout !== undefined && driver !== "pg") throw pgOnlyFlagRefusal("--lock-timeout", driver, offeredDrivers(scope.session.props));
  const all = connectsByUrl(driver) ? await listServerTargets(scope, urlFile) : listFileTargets(scope, urlFile);
  const unique = [...new Map(all.map((target) => [target.id, target])).values()];
  // A server whose schemas could not be listed may hold some of every shard's: each shard reports it.
  return shard === undefined ? unique : unique.filter((target) => "unlisted" in target || inShard(target.id, shard));
}

/** The files `--db` (else the database setting) matches: ids in the pattern's spelling, relative to the working folder when it is. */
function listFileTargets(scope: CommandScope, urlFile: string | undefined): FleetTargetSpec[] {
  const { flags, session } = scope;
  const driver = driverOf(scope);
  if (urlFile !== undefined || flags.url !== undefined)
    throw refusal(`--url and --url-file are for --driver pg or libsql-client; the ${driver} driver opens SQLite files: pass --db '<glob>'.`, `pass --db '<glob>' instead of --url and --url-file`);
  if (flags.schema !== undefined) throw pgOnlyFlagRefusal("--schema", driver, offeredDrivers(session.props));
  const pattern = setting(flags.db, session.props.database);
  if (pattern == null || pattern.trim() === "") {
    // No driver named picks a SQLite one, but a fleet of servers is as likely: DATABASE_URL picks none. Only the ways this CLI's drivers have are named.
    const offered = offeredDrivers(session.props);
    const servers = [
      (offered.includes("pg") || offered.includes("libsql-client")) && "--url-file <file> listing one URL a line",
      offered.includes("pg") && "--driver pg --schema '<glob>' for PostgreSQL schemas",
    ].filter(Boolean);
    const orServers = servers.length === 0 ? "" : `; for servers, ${servers.join(", or ")}`;
    throw refusal(
      `No databases given: pass --db '<glob>', such as --db 'data/tenants/*.db' (quoted, so that the shell leaves the * to stepwise)${orServers}.`,
      `pass --db '<glob>', such as --db 'data/tenants/*.db'${orServers}`,
    );
  }
  const cwd = session.props.cwd ?? process.cwd();
  const files = expandFileGlob(pattern, cwd);
  if (files.length === 0)
    throw refusal(`No file matches ${JSON.stringify(pattern)}${isGlob(pattern) ? "" : " (a path with no * ? or [ names one file)"} in ${cwd}.`, `check the pattern of --db, relative to ${cwd}`);
  return files.map((file) => ({ id: file, file: resolvePath(session, file) }));
}

/** The URLs a `--url-file`'s `text` lists, one a line, each with its `file:line`; blank lines and `#` comments are skipped. */
export function listedUrls(text: string, urlFile: string): { readonly line: string; readonly source: string }[] {
  return text
    .split(/\r?\n/)
    .map((line, index) => ({ line: line.trim(), source: `${urlFile}:${index + 1}` }))
    .filter(({ line }) => line !== "" && !line.startsWith("#"));
}

/** The servers' databases: each URL of `--url-file` (else `--url`, the url setting, DATABASE_URL), and with `--schema` each of their schemas it matches. */
async function listServerTargets(scope: CommandScope, urlFile: string | undefined): Promise<FleetTargetSpec[]> {
  const { flags, session } = scope;
  const { props } = session;
  const driver = driverOf(scope);
  if (flags.db !== undefined)
    throw refusal(
      `--db is for the SQLite file drivers; the ${driver} driver connects by URL: pass --url, or --url-file <file> listing one URL a line.`,
      `pass --url, or --url-file <file> listing one URL a line, instead of --db`,
    );
  const parse = (url: string, source: string) => {
    // A driver's error may quote the URL it was given; the output boundary hides it from here on.
    session.output.hide(url);
    return parseServerUrl(driver, url, source, (file) => resolvePath(session, file));
  };
  let servers: ServerUrl[];
  if (urlFile !== undefined) {
    if (flags.url !== undefined) throw refusal("--url and --url-file both name the databases: pass one of them.", "pass --url or --url-file, not both");
    let text: string;
    try {
      text = readFileSync(resolvePath(session, urlFile), "utf8");
    } catch (error) {
      throw refusal(`Cannot read --url-file ${urlFile} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
    }
    servers = listedUrls(text, urlFile).map(({ line, source }) => parse(line, source));
    if (servers.length === 0) throw refusal(`--url-file ${urlFile} lists no URL (one a line; blank lines and # comments are skipped).`, `write one URL a line in ${urlFile}`);
  } else {
    const configured = setting(flags.url, props.url);
    const [url, source] = configured != null ? [configured, flags.url !== undefined ? "--url" : "the url setting"] : [session.output.io.env.DATABASE_URL, "DATABASE_URL"];
    if (url === undefined || url.trim() === "")
      throw refusal(
        `No database URL for the ${driver} driver: pass --url, or --url-file <file> listing one URL a line (tokens in ${LIBSQL_AUTH_TOKEN_ENV}), or set DATABASE_URL.`,
        `pass --url, or --url-file <file> listing one URL a line, or set DATABASE_URL`,
      );
    servers = [parse(url, source)];
  }
  const schema = setting(flags.schema, props.schema);
  if (schema === undefined) return servers.map((server) => ({ id: server.label, url: server.url, server: server.label, ...(server.file !== null && { localFile: server.file }) }));
  if (driver !== "pg") throw pgOnlyFlagRefusal("--schema", driver, offeredDrivers(props));
  const targets: FleetTargetSpec[] = [];
  for (const server of servers) {
    let names: string[];
    try {
      names = isGlob(schema) ? await listSchemas(scope, server, schema) : [schema];
    } catch (error) {
      // With one server there is nothing else to do: the command fails with the error.
      if (servers.length === 1) throw error;
      targets.push({ id: `${server.label}#${schema}`, unlisted: describeTargetError(error) });
      continue;
    }
    for (const name of names) {
      targets.push({ id: servers.length === 1 ? name : `${server.label}#${name}`, url: server.url, server: server.label, schema: name, listed: isGlob(schema) });
    }
  }
  if (targets.length === 0) throw refusal(`No schema matches ${JSON.stringify(schema)} on ${servers.map((server) => server.label).join(", ")}.`);
  return targets;
}

/** The schemas of `server` whose name `pattern` matches, PostgreSQL's own left out, sorted. */
async function listSchemas(scope: CommandScope, server: ServerUrl, pattern: string): Promise<string[]> {
  const connector = await connectorFor(scope, "read");
  const busyTimeoutMs = setting(scope.flags.busyTimeout, scope.session.props.busyTimeoutMs) ?? DEFAULT_BUSY_TIMEOUT_MS;
  const opened = await connector.open({ databasePath: server.label, url: server.url, busyTimeoutMs, migrations: [] as MigrationRegistry, props: {} });
  try {
    const rows = await opened.manager.run(query<{ name: string }>("SELECT nspname::text AS name FROM pg_catalog.pg_namespace"));
    const matcher = globPartToRegExp(pattern);
    return rows
      .map((row) => row.name)
      .filter((name) => matcher.test(name) && !/^(pg_|information_schema$)/.test(name))
      .sort();
  } finally {
    await opened.close();
  }
}
