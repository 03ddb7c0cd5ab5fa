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
 * Launch flags: Chromium refuses to run as root with its sandbox on (CI runs the tests as root), and
 * `/dev/shm` is often too small in containers.
 */
export function chromiumArgs(): string[] {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  return [...(root ? ["--no-sandbox"] : []), "--disable-dev-shm-usage"];
}
