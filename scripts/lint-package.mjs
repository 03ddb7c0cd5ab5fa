// `npm run lint:package`: lints the package as npm would publish it, not as it sits in the repo. It
// packs once (`prepack` rebuilds dist/ and scripts/pack-manifest.mjs strips the repo-only fields,
// `postpack` restores them) into a temp folder, checks the tarball's name and contents, then runs
// publint and arethetypeswrong on that tarball, so both see the published manifest and files.
//
// attw runs with `--profile esm-only`. The package is ESM only ("type": "module", every export a
// `types` + `default` pair with no `require` condition): a CommonJS app loads it with Node's
// require() of ES modules (Node 20.19+, 22.12+). That profile ignores the two CommonJS resolution
// modes (node10, and node16 from a CJS file), whose "ESM (dynamic import only)" only restates that;
// node16 from ESM and bundler resolution must still pass for every entry. node10 (tsc's resolution
// for "module": "commonjs") reads no `exports`: `typesVersions` gives it each subpath's types, and
// test/packaging.test.ts type-checks every entry under it.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
/** What may be published: the compiled runtime and codegen, the manual the README and help point to, and the files npm always adds. */
const PUBLISHED = /^(package\.json|README\.md|LICENSE|docs\/[\w-]+\.md|dist\/(src|codegen)\/[\w/.-]+\.(js|d\.ts))$/;

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", stdio: options.capture ? ["ignore", "pipe", "inherit"] : "inherit" });
  if (result.error) throw result.error;
  return result;
}

const destination = mkdtempSync(path.join(tmpdir(), "stepwise-lint-package-"));
const failures = [];
try {
  const packed = run("npm", ["pack", "--json", "--pack-destination", destination], { capture: true });
  if (packed.status !== 0) throw new Error(`npm pack exited ${packed.status}`);
  // Lifecycle scripts print to stdout before npm's JSON report.
  const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("[")));
  const expectedName = `${report.name}-${report.version}.tgz`;
  if (report.name !== "stepwise-migrate" || report.filename !== expectedName) failures.push(`the tarball is ${report.filename}, not stepwise-migrate-${report.version}.tgz`);
  const stray = report.files.map((file) => file.path).filter((file) => !PUBLISHED.test(file));
  if (stray.length > 0) failures.push(`the tarball holds files outside dist/src, dist/codegen, docs/*.md, README.md, LICENSE and package.json: ${stray.join(", ")}`);
  for (const required of ["package.json", "README.md", "LICENSE"]) {
    if (!report.files.some((file) => file.path === required)) failures.push(`the tarball has no ${required}`);
  }
  const tarball = path.join(destination, report.filename);
  console.log(`Packed ${report.filename}: ${report.files.length} files.`);

  if (run(bin("publint"), ["--strict", tarball]).status !== 0) failures.push("publint reported problems");
  if (run(bin("attw"), [tarball, "--profile", "esm-only", "--format", "table-flipped"]).status !== 0) failures.push("arethetypeswrong reported problems");
} finally {
  rmSync(destination, { recursive: true, force: true });
}

if (failures.length > 0) {
  for (const failure of failures) console.error(`lint:package: ${failure}`);
  process.exitCode = 1;
}
