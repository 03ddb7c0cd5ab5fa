/**
 * Test support: the Chromium to drive with playwright-core, which downloads no browser of its own.
 * `CHROMIUM_PATH` first, then the Debian/Ubuntu package's binaries (`.ci/run` installs `chromium`
 * when it is missing). `null` when none exists, so a test can skip and say why.
 */
import { accessSync, constants } from "node:fs";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

/** The path of an executable Chromium, or `null`. */
export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH;
  for (const candidate of fromEnv ? [fromEnv, ...CANDIDATES] : CANDIDATES) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not this one.
    }
  }
  return null;
}

/**
 * Launch flags. No sandbox: Chromium refuses to start as root with it (CI runs the suite as root,
 * from a clone under a 0700 folder), and as another user in a container it needs user namespaces
 * that containers often lack; the tests load only pages they built and serve on 127.0.0.1.
 * `/dev/shm` is often too small in containers.
 */
export function chromiumArgs(): string[] {
  return ["--no-sandbox", "--disable-dev-shm-usage"];
}
