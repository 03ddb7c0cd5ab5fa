/**
 * Checks a PostgreSQL connection URL before the `pg` package sees it. pg hands a URL it cannot parse
 * to WHATWG `URL`, whose error carries the whole input; so a URL is checked here first, and every
 * refusal names where the URL came from and what is wrong with its shape, never its text: it may
 * hold a password.
 */
import { usageError } from "../core/error-factories.js";

/** The schemes `pg` reads as PostgreSQL URLs. */
const POSTGRES_SCHEMES = new Set(["postgres:", "postgresql:"]);

/** How a URL is written, for the refusals. */
const EXAMPLE = "postgres://user@host:5432/database";

/**
 * `url`, checked: a `postgres://` or `postgresql://` URL that parses, with a host and with a user
 * and password that decode. `source` (`"--url"`, `"DATABASE_URL"`, the config's path) is named in
 * the refusals.
 *
 * @throws `USAGE` naming `source` and the problem, never the URL's text.
 */
export function parsePostgresUrl(url: string, source: string): string {
  const trimmed = url.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\//.exec(trimmed)?.[1]?.toLowerCase() ?? null;
  if (scheme === null || !POSTGRES_SCHEMES.has(scheme)) {
    throw usageError(`${source} is not a PostgreSQL URL (${scheme === null ? "it has no scheme://" : `its scheme is ${scheme}//`}); the pg driver needs one such as ${EXAMPLE}. Nothing was changed.`);
  }
  // pg ignores a fragment, and a # in the user name or password ends the authority early: either way
  // the text after it (maybe the password) would reach the labels the CLI prints.
  if (trimmed.includes("#")) {
    throw usageError(`${source} holds a #, which starts a URL fragment: percent-encode a # in the user name or password as %23, and remove any fragment. Nothing was changed.`);
  }
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    throw usageError(
      `${source} is not a valid URL. Write it as ${EXAMPLE}, and percent-encode any @, :, / or ? in the user name or password (%40, %3A, %2F, %3F), ` +
        `or leave the password out of the URL and set PGPASSWORD. Nothing was changed.`,
    );
  }
  for (const [part, value] of [
    ["user name", parsed.username],
    ["password", parsed.password],
  ] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      throw usageError(`The ${part} in ${source} has a % that does not start an escape such as %25 (for % itself). Nothing was changed.`);
    }
  }
  return trimmed;
}
