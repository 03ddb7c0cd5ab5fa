/**
 * `gen` and `create` on a disk that cannot take the whole file: a real short write (a file size limit
 * set with `ulimit -f` around the real bin, always run), a real full file system (a tiny tmpfs, run
 * when this machine lets us mount one), and every other failing step injected in-process. In each
 * case the command fails with FILE_WRITE_FAILED, the old registry is kept byte for byte, no temporary
 * or half-written file remains, and the gen cache never vouches for bytes that are not on disk.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import * as fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { writeFileAtomic, type AtomicWriteFileSystem } from "../src/safety/write-file.js";
import { createTestProject, readBytes, runCli, runCliWithFileSizeLimit, type TestProject } from "./support/project.js";
import { StepwiseError } from "../src/core/errors.js";

/** A SQL migration whose text alone is bigger than `bytes`, so the registry that inlines it is too. */
function bulkySqlMigration(bytes: number): string {
  const columns = Array.from({ length: Math.ceil(bytes / 40) }, (_, i) => `  column_number_${String(i).padStart(5, "0")} TEXT`);
  return `-- migrate:up\nCREATE TABLE bulky (\n  id INTEGER PRIMARY KEY,\n${columns.join(",\n")}\n);\n-- migrate:down\nDROP TABLE bulky;\n`;
}

function assertOnlyRegistryIn(project: TestProject): void {
  assert.deepEqual(readdirSync(path.dirname(project.registryFile)), ["registry.ts"], "a temporary file was left behind");
}

test("gen through the real bin under a file size limit fails with FILE_WRITE_FAILED, keeps the old registry, and --check still fails", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const first = await runCli(["gen"], { cwd: project.root });
  assert.equal(first.code, 0, first.stderr);
  const before = readBytes(project.registryFile);
  assert.ok(before.length < 8192, "the first registry fits under the limit");
  project.writeMigration("006_bulky.sql", bulkySqlMigration(16384));

  const limited = await runCliWithFileSizeLimit(["gen"], project.root, 8);
  assert.equal(limited.code, 1, limited.stdout + limited.stderr);
  assert.match(limited.stderr, /error \[FILE_WRITE_FAILED\]/);
  assert.match(limited.stderr, /EFBIG during write after 8192 of \d+ bytes/);
  assert.doesNotMatch(limited.stdout, /Wrote/);
  assert.ok(readBytes(project.registryFile).equals(before), "the registry changed");
  assertOnlyRegistryIn(project);

  // The cache must not vouch for the old registry against the new inputs.
  for (const args of [
    ["gen", "--check"],
    ["gen", "--check", "--no-cache"],
  ]) {
    const check = await runCli(args, { cwd: project.root });
    assert.equal(check.code, 1, `${args.join(" ")}: ${check.stdout}`);
    assert.match(check.stderr, /migrations\/006_bulky\.sql:1:1: .*\[REGISTRY_STALE\]/);
  }

  const retry = await runCli(["gen"], { cwd: project.root });
  assert.equal(retry.code, 0, retry.stderr);
  assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 0);
});

test("create through the real bin under a file size limit leaves no migration file and no changed registry", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  project.writeMigration("006_bulky.sql", bulkySqlMigration(8192));
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const registryBefore = readBytes(project.registryFile);
  const migrationsBefore = readdirSync(project.migrationsDir).sort();

  // 0 KiB: not even the template can be written (create writes only the template; the registry waits for gen).
  const nothingFits = await runCliWithFileSizeLimit(["create", "add nicknames", "--sql"], project.root, 0);
  assert.equal(nothingFits.code, 1, nothingFits.stdout + nothingFits.stderr);
  assert.match(nothingFits.stderr, /\[FILE_WRITE_FAILED\]/);
  assert.match(nothingFits.stderr, /007_add_nicknames\.sql \(EFBIG during write after 0 of \d+ bytes\)/);

  assert.deepEqual(readdirSync(project.migrationsDir).sort(), migrationsBefore, "a migration file or temporary file was left");
  assert.ok(readBytes(project.registryFile).equals(registryBefore));
  assertOnlyRegistryIn(project);
  const created = await runCli(["create", "add nicknames"], { cwd: project.root });
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout.trim(), "migrations/007_add_nicknames.ts");
});

/** Mounts a tmpfs of `sizeKiB` at `dir`; returns why not when this machine does not allow it. */
function mountTinyTmpfs(dir: string, sizeKiB: number): string | null {
  mkdirSync(dir, { recursive: true });
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k`, "tmpfs", dir], { encoding: "utf8" });
  if (mounted.error) return `mount is not available (${mounted.error.message})`;
  if (mounted.status !== 0) return `mount -t tmpfs failed: ${mounted.stderr.trim() || `exit ${mounted.status}`}`;
  return null;
}

test("gen through the real bin on a full file system (tmpfs) fails with ENOSPC and keeps the old registry", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const generatedDir = path.dirname(project.registryFile);
  const whyNot = mountTinyTmpfs(generatedDir, 64);
  if (whyNot) {
    console.log(`skipped: ${whyNot}`);
    t.skip(whyNot);
    return;
  }
  // Unmounted here, not in an after hook: the temp folder's removal would run first and hit EBUSY.
  try {
    assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
    const before = readBytes(project.registryFile);
    project.writeMigration("006_bulky.sql", bulkySqlMigration(8192));

    // Fill the file system, then free one page: the new registry's first 4 KiB fit, the rest does not.
    const filler = path.join(generatedDir, "filler");
    try {
      for (;;) appendFileSync(filler, Buffer.alloc(4096, 1));
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
    }
    truncateSync(filler, fs.statSync(filler).size - 4096);

    const full = await runCli(["gen"], { cwd: project.root });
    assert.equal(full.code, 1, full.stdout + full.stderr);
    assert.match(full.stderr, /\[FILE_WRITE_FAILED\]/);
    assert.match(full.stderr, /ENOSPC during write/);
    assert.ok(readBytes(project.registryFile).equals(before), "the registry changed");
    assert.deepEqual(readdirSync(generatedDir).sort(), ["filler", "registry.ts"]);
    assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 1);

    rmSync(filler);
    assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
    assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 0);
  } finally {
    spawnSync("umount", [generatedDir]);
  }
});

type Failure = { step: "open" | "write" | "fsync" | "rename" | "link"; code: string };

/** node:fs, with one chosen call failing as the operating system would. */
function failingFileSystem(failure: Failure, options: { maxBytesPerWrite?: number } = {}): AtomicWriteFileSystem {
  const fail = () => {
    throw Object.assign(new Error(`${failure.code}: injected`), { code: failure.code });
  };
  return {
    openSync: (file, flags, mode) => (failure.step === "open" ? fail() : fs.openSync(file, flags, mode)),
    writeSync: (fd, buffer, offset, length) => {
      if (failure.step === "write") {
        // A short write first, as a nearly full disk gives, then the error.
        if (offset === 0) return fs.writeSync(fd, buffer, offset, Math.min(length, 10));
        return fail();
      }
      return fs.writeSync(fd, buffer, offset, Math.min(length, options.maxBytesPerWrite ?? length));
    },
    fsyncSync: (fd) => (failure.step === "fsync" ? fail() : fs.fsyncSync(fd)),
    closeSync: (fd) => fs.closeSync(fd),
    renameSync: (from, to) => (failure.step === "rename" ? fail() : fs.renameSync(from, to)),
    linkSync: (from, to) => (failure.step === "link" ? fail() : fs.linkSync(from, to)),
    rmSync: (file, rmOptions) => fs.rmSync(file, rmOptions),
    mkdirSync: (dir, mkdirOptions) => fs.mkdirSync(dir, mkdirOptions),
  };
}

test("every failing step of an atomic write (in-process) throws FILE_WRITE_FAILED and leaves the target and folder as they were", (t) => {
  const project = createTestProject(t);
  const dir = path.join(project.root, "out");
  mkdirSync(dir);
  const target = path.join(dir, "registry.ts");
  writeFileSync(target, "the old registry\n");
  const cases: Array<[Failure, string]> = [
    [{ step: "open", code: "EACCES" }, "create-temporary"],
    [{ step: "write", code: "ENOSPC" }, "write"],
    [{ step: "write", code: "EDQUOT" }, "write"],
    [{ step: "write", code: "EIO" }, "write"],
    [{ step: "fsync", code: "EIO" }, "flush"],
    [{ step: "rename", code: "EXDEV" }, "rename"],
    [{ step: "rename", code: "EACCES" }, "rename"],
  ];
  for (const [failure, step] of cases) {
    assert.throws(
      () => writeFileAtomic(target, "x".repeat(1000), { fileSystem: failingFileSystem(failure) }),
      (error: StepwiseError<"FILE_WRITE_FAILED">) => {
        assert.ok(error instanceof StepwiseError && error.is("FILE_WRITE_FAILED"));
        assert.deepEqual(
          { code: error.code, file: error.details.file, step: error.details.step, systemCode: error.details.systemCode, expected: error.details.bytesExpected },
          { code: "FILE_WRITE_FAILED", file: target, step, systemCode: failure.code, expected: 1000 },
        );
        if (failure.step === "write") assert.equal(error.details.bytesWritten, 10);
        return true;
      },
    );
    assert.equal(readFileSync(target, "utf8"), "the old registry\n", `${failure.step} ${failure.code}`);
    assert.deepEqual(readdirSync(dir), ["registry.ts"], `${failure.step} ${failure.code}: a temporary file was left`);
  }

  // Short writes that make progress are retried until every byte is on disk.
  const text = "é".repeat(700);
  writeFileAtomic(target, text, { fileSystem: failingFileSystem({ step: "link", code: "unused" }, { maxBytesPerWrite: 7 }) });
  assert.equal(readFileSync(target, "utf8"), text);

  // Exclusive (create): an existing file is never replaced, and a failed link leaves nothing.
  const fresh = path.join(dir, "001_new.sql");
  assert.throws(
    () => writeFileAtomic(target, "new", { exclusive: true }),
    (error: StepwiseError<"FILE_WRITE_FAILED">) => error.details.systemCode === "EEXIST" && error.details.step === "link",
  );
  assert.throws(() => writeFileAtomic(fresh, "new", { exclusive: true, fileSystem: failingFileSystem({ step: "link", code: "EIO" }) }), { code: "FILE_WRITE_FAILED" });
  assert.deepEqual(readdirSync(dir), ["registry.ts"]);
  assert.equal(readFileSync(target, "utf8"), text);
});

test("the gen cache hashes the registry on disk: a truncated or edited registry fails --check through the bin", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const good = readBytes(project.registryFile);
  const damaged: Array<[string, Buffer]> = [
    ["truncated to half", good.subarray(0, Math.floor(good.length / 2))],
    ["truncated by one byte", good.subarray(0, good.length - 1)],
    ["emptied", Buffer.alloc(0)],
    ["one checksum edited", Buffer.from(good.toString("utf8").replace(/(")([0-9a-f])(?=[0-9a-f]{63}")/, (_, head: string, c: string) => `${head}${c === "0" ? "1" : "0"}`))],
  ];
  for (const [what, bytes] of damaged) {
    assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 0, `${what}: the cache was primed`);
    writeFileSync(project.registryFile, bytes);
    const check = await runCli(["gen", "--check"], { cwd: project.root });
    assert.equal(check.code, 1, `${what}: ${check.stdout}`);
    assert.match(check.stderr, /\[REGISTRY_STALE\]/, what);
    writeFileSync(project.registryFile, good);
  }
});

test("a corrupt, truncated or unwritable gen cache never fails gen and never passes a stale registry", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const cacheDir = path.join(project.root, "node_modules", ".cache", "stepwise");
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const [entryName] = readdirSync(cacheDir);
  assert.ok(entryName, "gen wrote a cache entry");
  const entryFile = path.join(cacheDir, entryName);
  const entry = readFileSync(entryFile, "utf8");
  const good = readBytes(project.registryFile);
  const stale = () => writeFileSync(project.registryFile, `${good.toString("utf8")}// edited by hand\n`);

  const corruptions: Array<[string, () => void]> = [
    ["truncated entry", () => writeFileSync(entryFile, entry.slice(0, entry.length / 2))],
    ["binary garbage", () => writeFileSync(entryFile, Buffer.from([0xff, 0x00, 0xfe, 0x7b]))],
    ["entry with a malformed hash", () => writeFileSync(entryFile, entry.replace(/"registrySha256":"[0-9a-f]+"/, '"registrySha256":"zz"'))],
    ["entry is a folder", () => (rmSync(entryFile, { force: true }), mkdirSync(entryFile))],
    ["cache folder is a file", () => (rmSync(cacheDir, { recursive: true }), writeFileSync(cacheDir, "not a folder"))],
  ];
  for (const [what, corrupt] of corruptions) {
    corrupt();
    const written = await runCli(["gen"], { cwd: project.root });
    assert.equal(written.code, 0, `${what}: ${written.stderr}`);
    stale();
    const check = await runCli(["gen", "--check"], { cwd: project.root });
    assert.equal(check.code, 1, `${what}: a stale registry passed`);
    assert.match(check.stderr, /\[REGISTRY_STALE\]/);
    writeFileSync(project.registryFile, good);
  }
  rmSync(cacheDir, { recursive: true, force: true });
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  assert.ok(existsSync(entryFile), "with the damage gone, gen caches again");
  assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 0);
});
