// `npm run api`: writes the public API report of every package entry to api/<entry>.api.md with
// API Extractor, from the declarations tsc emits into dist/. The reports are committed, so a change to
// what the package exports shows up in review as a change to these files.
//
// `--check` (run by `npm run lint`) writes nothing and fails when an entry's surface differs from
// its committed report: run `npm run api` and commit the result when the change is deliberate.
// `--built` skips the build when dist/ was just built (lint runs it after `lint:package`, whose pack
// builds dist/).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Extractor, ExtractorConfig, ExtractorLogLevel } from "@microsoft/api-extractor";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const reportFolder = path.join(root, "api");
const packageJsonPath = path.join(root, "package.json");
const manifest = JSON.parse(readFileSync(packageJsonPath, "utf8"));

if (!process.argv.includes("--built")) {
  const build = spawnSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

/** `"./better-sqlite3"` → `better-sqlite3`; the root entry's report is `index`. */
const reportName = (entry) => (entry === "." ? "index" : entry.slice(2).replaceAll("/", "-"));

const entries = Object.entries(manifest.exports).filter(([, target]) => typeof target === "object" && target.types);
if (!check) mkdirSync(reportFolder, { recursive: true });
const failures = [];
for (const [entry, target] of entries) {
  const typesPath = path.join(root, target.types);
  if (!existsSync(typesPath)) {
    failures.push(`${entry}: ${target.types} does not exist (is dist/ built?)`);
    continue;
  }
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: typesPath,
      compiler: { tsconfigFilePath: path.join(root, "tsconfig.build.json") },
      apiReport: { enabled: true, reportFolder, reportTempFolder: path.join(root, "dist", "api-temp"), reportFileName: reportName(entry) },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        // The reports record the surface; TypeDoc (`npm run docs`) already checks the TSDoc and that
        // every type a signature names is documented and exported.
        extractorMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
      },
    },
    configObjectFullPath: path.join(root, "api-extractor.json"),
    packageJsonFullPath: packageJsonPath,
  });
  const result = Extractor.invoke(config, {
    localBuild: !check,
    showVerboseMessages: false,
    messageCallback: (message) => {
      if (message.logLevel === ExtractorLogLevel.Warning || message.logLevel === ExtractorLogLevel.Error) message.handled = false;
      else message.handled = true;
    },
  });
  if (check && result.apiReportChanged) failures.push(`${entry}: its surface differs from api/${reportName(entry)}.api.md`);
  if (!result.succeeded && !result.apiReportChanged) failures.push(`${entry}: API Extractor failed (${result.errorCount} errors)`);
}
rmSync(path.join(root, "dist", "api-temp"), { recursive: true, force: true });

const expected = new Set(entries.map(([entry]) => `${reportName(entry)}.api.md`));
const stale = existsSync(reportFolder) ? readdirSync(reportFolder).filter((file) => !expected.has(file)) : [];
if (check && stale.length > 0) failures.push(`api/ holds reports of no entry: ${stale.join(", ")}`);
if (!check) for (const file of stale) rmSync(path.join(reportFolder, file));

if (failures.length > 0) {
  for (const failure of failures) console.error(`api: ${failure}`);
  console.error("Run `npm run api` and commit api/ when the change to the public surface is deliberate.");
  process.exitCode = 1;
} else {
  console.log(`api: ${entries.length} entries ${check ? "match api/" : "written to api/"}.`);
}
