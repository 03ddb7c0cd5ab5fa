/**
 * Keeps passwords and tokens out of what the CLI prints, by structure: where stepwise prints a URL or
 * connection string it knows (a server's label, commander's echo of an argument, a driver's error
 * quoting its URL), that string is parsed and its secret parts replaced: the URL's password, and every
 * parameter whose key names a secret (`password`, `sslpassword`, `authToken`, in any case and
 * percent-encoding, in a query or a libpq `key=value` string). Output is never searched for a
 * secret's text: a password of `a` would otherwise be cut out of every word holding it.
 */

const REDACTED = "****";

/** `scheme:` or `scheme://` at the start of a URL (a one-letter scheme is a Windows drive, not a URL). */
const SCHEME = /^\s*[A-Za-z][A-Za-z0-9+.-]+:(\/\/)?/;

/** A `key=value` pair of a libpq or ADO.NET string: a value runs to the next space or `;`, or is quoted. */
const KEY_VALUE = /([^\s;&?=]+)(\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s;]*)/g;

/** Whether a key holds a secret as the clients read it, percent- and `+`-decoded. */
function isSecretKey(rawKey: string): boolean {
  let key = rawKey.replaceAll("+", " ");
  try {
    key = decodeURIComponent(key);
  } catch {
    // Not percent-encoded after all: read as written.
  }
  key = key.trim().toLowerCase();
  return key === "authtoken" || key.endsWith("password");
}

/** `text` (a URL, with or without `//`, or a `key=value` string) with its secrets replaced, and the secrets. */
function parseSecrets(text: string): { readonly redacted: string; readonly secrets: string[] } {
  const secrets: string[] = [];
  const scheme = SCHEME.exec(text);
  if (!scheme) {
    const redacted = text.replace(KEY_VALUE, (whole, key: string, equals: string, value: string) => (isSecretKey(key) ? (secrets.push(value), `${key}${equals}${REDACTED}`) : whole));
    return { redacted, secrets };
  }
  let head = scheme[0];
  let rest = text.slice(head.length);
  if (scheme[1]) {
    // The user part ends at the last "@" before the query, so a password with an unencoded "@" or "/"
    // is hidden whole; one with an unencoded "?" or "#" ends it early, so then at the last "@" of all.
    const queryStart = rest.search(/[?#]/);
    const beforeQuery = queryStart === -1 ? rest : rest.slice(0, queryStart);
    const at = beforeQuery.includes("@") ? beforeQuery.lastIndexOf("@") : rest.lastIndexOf("@");
    const colon = at === -1 ? -1 : rest.slice(0, at).indexOf(":");
    if (colon !== -1) {
      secrets.push(rest.slice(colon + 1, at));
      head += `${rest.slice(0, colon)}:${REDACTED}@`;
      rest = rest.slice(at + 1);
    }
  }
  const query = rest.indexOf("?");
  if (query === -1) return { redacted: head + rest, secrets };
  const pairs = rest
    .slice(query + 1)
    .split("&")
    .map((pair) => {
      const equals = pair.indexOf("=");
      if (equals === -1 || !isSecretKey(pair.slice(0, equals))) return pair;
      secrets.push(pair.slice(equals + 1));
      return `${pair.slice(0, equals)}=${REDACTED}`;
    });
  return { redacted: `${head}${rest.slice(0, query + 1)}${pairs.join("&")}`, secrets };
}

/** The URL or connection string as stepwise prints it: every secret `****`, the rest as given. */
export function redactConnectionString(url: string): string {
  return parseSecrets(url).redacted;
}

/** The secrets a URL or connection string holds (its password, each secret parameter's value), as written. */
export function findPasswords(text: string): string[] {
  return parseSecrets(text).secrets;
}

/** `text` (what commander wrote about the arguments) with each argument holding a secret, or the value of a `--flag=value` one, redacted. */
export function redactArguments(text: string, argv: readonly string[]): string {
  let out = text;
  for (const argument of argv) {
    for (const candidate of new Set([argument, argument.replace(/^--?[\w-]+=/, "")])) {
      const redacted = redactConnectionString(candidate);
      if (redacted !== candidate) out = out.split(candidate).join(redacted);
    }
  }
  return out;
}

/** Hides `url` (also as WHATWG `URL` writes it back) in the message and stack of `error` and its causes. Returns `error`. */
export function hideUrlIn(error: unknown, url: string): unknown {
  const shown = redactConnectionString(url);
  let normalized = "";
  try {
    normalized = new URL(url.trim()).href;
  } catch {
    // Not a URL: only its own forms can be quoted.
  }
  const forms = [...new Set([url, url.trim(), normalized])].filter((form) => form !== "" && form !== shown);
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    for (const form of forms) {
      if (current.message.includes(form)) current.message = current.message.split(form).join(shown);
      if (current.stack?.includes(form)) current.stack = current.stack.split(form).join(shown);
    }
  }
  return error;
}
