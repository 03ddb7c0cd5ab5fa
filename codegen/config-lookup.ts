/**
 * Where the bin looks for its config, and what each place held, for the runtime commands' "No
 * database given" error. It reports the files the config reader reads, and the config-like files it
 * does not read, since a `stepwise.config.ts` written by habit is the usual reason a setting is ignored.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { DatabaseLookup } from "../src/core/errors.js";
import { CONFIG_FILE_NAME } from "./config.js";

/** Config spellings other tools accept and stepwise does not read. */
const UNREAD_CONFIG_FILES = [
  "stepwise.config.ts",
  "stepwise.config.mts",
  "stepwise.config.cts",
  "stepwise.config.js",
  "stepwise.config.mjs",
  "stepwise.config.cjs",
  "stepwise.config.jsonc",
  "stepwise.config.yaml",
  "stepwise.config.yml",
  ".stepwiserc",
  ".stepwiserc.json",
];

/**
 * The config files at `projectRoot` and what each says about the database, in the order they are
 * read; unread look-alikes are listed after them. Never throws: an unreadable file is reported as such.
 */
export function describeConfigLookup(projectRoot: string): DatabaseLookup[] {
  const lookups: DatabaseLookup[] = [];
  const configFile = path.join(projectRoot, CONFIG_FILE_NAME);
  lookups.push({ place: configFile, found: existsSync(configFile) ? describeSettings(readJson(configFile), "the file") : "not found" });
  const packageFile = path.join(projectRoot, "package.json");
  if (!existsSync(packageFile)) {
    lookups.push({ place: packageFile, found: "not found (no package.json at or above the working folder, so this folder is taken as the project root)" });
  } else {
    const manifest = readJson(packageFile);
    const settings = manifest.ok && manifest.value !== null && typeof manifest.value === "object" ? (manifest.value as { stepwise?: unknown }).stepwise : undefined;
    lookups.push({
      place: packageFile,
      found: !manifest.ok ? manifest.problem : settings === undefined ? 'no "stepwise" key' : describeSettings({ ok: true, value: settings }, 'its "stepwise" key'),
    });
  }
  for (const name of UNREAD_CONFIG_FILES) {
    const file = path.join(projectRoot, name);
    if (existsSync(file)) lookups.push({ place: file, found: `exists, but is not read: the config is ${CONFIG_FILE_NAME} or the "stepwise" key of package.json` });
  }
  return lookups;
}

function describeSettings(read: { ok: true; value: unknown } | { ok: false; problem: string }, subject: string): string {
  if (!read.ok) return read.problem;
  if (read.value === null || typeof read.value !== "object" || Array.isArray(read.value)) return `${subject} is not an object`;
  const keys = Object.keys(read.value);
  if (keys.includes("database")) return `${subject} sets "database"`;
  return keys.length === 0 ? `${subject} is empty: no "database"` : `${subject} sets ${keys.map((key) => `"${key}"`).join(", ")}, but no "database"`;
}

function readJson(file: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(readFileSync(file, "utf8")) as unknown };
  } catch (error) {
    return { ok: false, problem: `unreadable (${(error as Error).message})` };
  }
}
