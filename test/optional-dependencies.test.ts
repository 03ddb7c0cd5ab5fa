import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { findMissingPeers, MissingDependencyError, OPTIONAL_PEERS, type OptionalPeer } from "../codegen/optional-dependencies.js";
import { repoRoot } from "./support/project.js";

const manifest = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const peers = Object.keys(OPTIONAL_PEERS) as OptionalPeer[];

test("the bin's install advice matches the optional peer ranges in package.json", () => {
  for (const name of peers) {
    assert.equal(manifest.peerDependencies[name], `^${OPTIONAL_PEERS[name].major}.0.0`, name);
    assert.equal(manifest.peerDependenciesMeta[name]?.optional, true, name);
  }
  // Drivers are optional peers too (an app installs the one it uses); they are not codegen tools.
  const driverPeers = ["better-sqlite3", "libsql", "sql.js", "pg", "@libsql/client"];
  for (const name of driverPeers) assert.equal(manifest.peerDependenciesMeta[name]?.optional, true, name);
  const optionalToolPeers = Object.keys(manifest.peerDependenciesMeta).filter((name) => !name.startsWith("@types/") && !driverPeers.includes(name));
  assert.deepEqual(optionalToolPeers.sort(), [...peers].sort());
});

test("this repo develops against the versions it declares as peers", () => {
  for (const name of peers) {
    const installed = JSON.parse(readFileSync(path.join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version: string };
    assert.equal(Number(installed.version.split(".")[0]), OPTIONAL_PEERS[name].major, name);
  }
  assert.deepEqual(findMissingPeers(peers), []);
});

test("MissingDependencyError carries the packages and one install command for all of them", () => {
  const error = new MissingDependencyError("stepwise gen", ["ts-morph", "prettier"]);
  assert.equal(error.code, "MISSING_DEPENDENCY");
  assert.deepEqual(error.packages, ["ts-morph", "prettier"]);
  assert.equal(error.installCommand, `npm install --save-dev ts-morph@${OPTIONAL_PEERS["ts-morph"].major} prettier@${OPTIONAL_PEERS.prettier.major}`);
  assert.ok(error.message.includes(error.installCommand));
});
