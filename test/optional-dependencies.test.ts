import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { findMissingPeers, OPTIONAL_PEERS, type OptionalPeer, missingDependencyError } from "../codegen/optional-dependencies.js";
import { repoRoot } from "./support/project.js";

const manifest = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const peers = Object.keys(OPTIONAL_PEERS) as OptionalPeer[];

test("the codegen tools are not declared as peers, so npm never counts them as production; the drivers are optional peers", () => {
  // An optional peer of a production dependency that the app holds as a devDependency is marked
  // devOptional in the app's lockfile, and `npm ci --omit=dev` keeps it (test/adoption-install.test.ts).
  for (const name of [...peers, "typescript", "@types/better-sqlite3", "@types/sql.js"]) {
    assert.equal(manifest.peerDependencies[name], undefined, name);
    assert.equal(manifest.peerDependenciesMeta[name], undefined, name);
    assert.equal(manifest.dependencies[name], undefined, name);
  }
  const driverPeers = ["better-sqlite3", "libsql", "sql.js", "pg", "@libsql/client"];
  for (const name of driverPeers) assert.equal(manifest.peerDependenciesMeta[name]?.optional, true, name);
  assert.deepEqual(Object.keys(manifest.peerDependencies).sort(), [...driverPeers].sort());
});

test("this repo develops against the major versions the bin supports", () => {
  for (const name of peers) {
    const installed = JSON.parse(readFileSync(path.join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version: string };
    assert.equal(Number(installed.version.split(".")[0]), OPTIONAL_PEERS[name].major, name);
  }
  assert.deepEqual(findMissingPeers(peers), []);
});

test("`MISSING_DEPENDENCY` carries the packages and one install command for all of them", () => {
  const error = missingDependencyError("stepwise gen", ["ts-morph", "prettier"]);
  assert.equal(error.code, "MISSING_DEPENDENCY");
  assert.deepEqual(error.details.packages, ["ts-morph", "prettier"]);
  assert.equal(error.details.installCommand, `npm install --save-dev ts-morph@${OPTIONAL_PEERS["ts-morph"].major} prettier@${OPTIONAL_PEERS.prettier.major}`);
  assert.ok(error.message.includes(error.details.installCommand));
  // Run through pnpm (its npm_config_user_agent), the command is pnpm's.
  const agent = process.env.npm_config_user_agent;
  process.env.npm_config_user_agent = "pnpm/9.12.0 npm/? node/v20.18.0 linux x64";
  try {
    const throughPnpm = missingDependencyError("stepwise gen", ["tsx"]);
    assert.equal(throughPnpm.details.installCommand, `pnpm add --save-dev tsx@${OPTIONAL_PEERS.tsx.major}`);
  } finally {
    if (agent === undefined) delete process.env.npm_config_user_agent;
    else process.env.npm_config_user_agent = agent;
  }
});
