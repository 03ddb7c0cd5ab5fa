/**
 * `stepwise-migrate/sql-js` in a real browser page (issue 14): the whole entry, bundled for the browser by
 * esbuild with no Node built-in available, runs in headless Chromium on sql.js. Every call an app
 * can make either works or refuses with its typed code; none may reach for Node (`process`, `Buffer`,
 * `node:` modules), which a page does not have, in the page itself and in a module Worker (where an
 * app keeps a database off the main thread). Skips, saying why, only when no Chromium is installed.
 */
import assert from "node:assert/strict";
import { copyFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { chromiumArgs, findChromium } from "./support/chromium.js";
import { makeTempDir, repoRoot } from "./support/project.js";
import { startStaticServer } from "./support/static-server.js";
import type { ProbeResult } from "./browser/runtime-probe.js";

const chromiumPath = findChromium();
const skip = chromiumPath === null ? "no Chromium found (set CHROMIUM_PATH, or apt-get install -y chromium; .ci/run does)" : false;
if (skip) process.stderr.write(`browser-runtime.test.ts skipped: ${skip}\n`);

/**
 * Bundles the probe page for the browser. `platform: "browser"` fails the build on a `node:` import
 * anywhere in the entry's graph, even one that tree-shaking would drop; the metafile is checked too.
 */
async function bundleProbe(site: string): Promise<void> {
  const bundle = await build({
    entryPoints: [path.join(repoRoot, "test", "browser", "runtime-probe.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: path.join(site, "probe.js"),
    metafile: true,
    logLevel: "silent",
  });
  const nodeImports = Object.values(bundle.metafile.inputs).flatMap((input) => input.imports.filter((imported) => imported.path.startsWith("node:")).map((imported) => imported.path));
  assert.deepEqual(nodeImports, []);
}

test("the whole stepwise-migrate/sql-js entry bundles for the browser with no Node built-in", async (t) => {
  await bundleProbe(makeTempDir(t, "stepwise-browser-bundle-"));
});

test("every call of stepwise-migrate/sql-js works or refuses with its code in a Chromium page and Worker, with no Node built-in", { skip, timeout: 300_000 }, async (t) => {
  const site = makeTempDir(t, "stepwise-browser-runtime-");
  await bundleProbe(site);
  copyFileSync(path.join(repoRoot, "node_modules", "sql.js", "dist", "sql-wasm.wasm"), path.join(site, "sql-wasm.wasm"));
  writeFileSync(path.join(site, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/probe.js"></script>`);
  // The Worker's results reach the page as a message; a Worker that fails to load reports its error.
  writeFileSync(
    path.join(site, "worker.html"),
    `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module">
      const worker = new Worker("/probe.js", { type: "module" });
      worker.onmessage = (event) => { globalThis.probeResults = event.data; globalThis.probeDone = true; };
      worker.onerror = (event) => { globalThis.probeResults = [{ name: "worker", ok: false, code: null, detail: event.message }]; globalThis.probeDone = true; };
    </script>`,
  );

  const server = await startStaticServer(site);
  t.after(() => server.close());
  // A second name for the same server, which Chromium resolves to 127.0.0.1 but does not count as a
  // secure context (only localhost and HTTPS are): there crypto.randomUUID does not exist.
  const insecureHost = "stepwise-probe.test";
  const browser = await chromium.launch({ executablePath: chromiumPath!, args: [...chromiumArgs(), `--host-resolver-rules=MAP ${insecureHost} 127.0.0.1`] });
  t.after(() => browser.close());
  for (const [origin, secure] of [
    [server.url, true],
    [`${server.url}worker.html`, true],
    [server.url.replace("127.0.0.1", insecureHost), false],
    [`${server.url.replace("127.0.0.1", insecureHost)}worker.html`, false],
  ] as const) {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(error.message));
    await page.goto(origin);
    await page
      .waitForFunction(() => (globalThis as { probeDone?: boolean }).probeDone === true, undefined, { timeout: 60_000 })
      .catch((error: unknown) => {
        throw new Error(`the probe page at ${origin} never finished; its console errors: ${JSON.stringify(consoleErrors)}`, { cause: error });
      });
    assert.equal(await page.evaluate(() => (globalThis as { isSecureContext?: boolean }).isSecureContext), secure, origin);
    const results = await page.evaluate(() => (globalThis as { probeResults?: ProbeResult[] }).probeResults!);
    const outcome = Object.fromEntries(results.map((result) => [result.name, result.ok ? `ok ${result.detail}` : `${result.code ?? "crash"} ${result.code ? "" : result.detail}`.trim()]));
    assert.deepEqual(
      outcome,
      {
        rehearseUp: "ok 3",
        up: "ok [1,2,3]",
        "batch walked every BLOB key": "ok 4",
        status: "ok 3",
        history: "ok 3",
        verifySchema: "ok true",
        upWithBackup: "DRIVER_CAPABILITY_MISSING",
        down: "ok 0",
        "up again": "ok 3",
        "failing migration outside a transaction": "MIGRATION_FAILED",
        "up after the interrupted migration": "INCOMPLETE_MIGRATION",
        repairIncompleteMigration: 'ok "forget"',
        baselineDatabase: "ok [1]",
      },
      origin,
    );
    assert.deepEqual(consoleErrors, [], origin);
    await page.close();
  }
});
