/**
 * Keeps passwords and tokens out of what the CLI prints, by structure: wherever stepwise prints a
 * URL or a connection string it knows (a server's label, what commander echoes of an argument, a
 * driver's error quoting the URL it was given), that string is parsed and its secret parts replaced:
 * the URL's password component, and the value of every parameter whose key names a secret
 * (`password`, `sslpassword`, `authToken`, in any case and any percent-encoding, in a URL's query or a
 * libpq `key=value` string). The output is never searched for a secret's text: a password of `a`
 * or `test` would otherwise be cut out of every word and JSON key that holds it. A secret that
 * stepwise never prints (`PGPASSWORD`, `LIBSQL_AUTH_TOKEN`) needs nothing.
 */

/** What a redacted secret is printed as. */
export const REDACTED = "****";

/** `scheme:` or `scheme://` at the start of a URL (a one-letter scheme is a Windows drive, not a URL). */
const SCHEME = /^\s*[A-Za-z][A-Za-z0-9+.-]+:(\/\/)?/;

/**
 * A `key=value` pair of a libpq or ADO.NET string (`host=h password='a b'`, `Password=x;`): a value
 * runs to the next space or `;`, or is quoted.
 */
const KEY_VALUE = /([^\s;&?=]+)(\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s;]*)/g;

/** Whether a key holds a secret as the clients read it, percent- and `+`-decoded: `authToken`, `password`, `sslpassword`. */
function isSecretKey(rawKey: string): boolean {
  const key = decode(rawKey.replaceAll("+", " ")).trim().toLowerCase();
  return key === "authtoken" || key.endsWith("password");
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A connection string with its secrets replaced, and the secrets it held. */
interface ParsedSecrets {
  readonly redacted: string;
  readonly secrets: readonly string[];
}

/** Parses `text` as a URL (with or without `//`) or a `key=value` string; see the module note. */
function parseSecrets(text: string): ParsedSecrets {
  const scheme = SCHEME.exec(text);
  if (!scheme) return redactKeyValues(text);
  const secrets: string[] = [];
  let head = scheme[0];
  let rest = text.slice(head.length);
  if (scheme[1]) {
    // The user part ends at the last "@" before the query: a password may hold an unencoded "@" or
    // "/", and is hidden whole. One with an unencoded "?" or "#" starts the query early, so without
    // an "@" before it, at the last "@" of all (redacting more than the password, never less).
    const queryStart = rest.search(/[?#]/);
    const beforeQuery = queryStart === -1 ? rest : rest.slice(0, queryStart);
    const at = beforeQuery.includes("@") ? beforeQuery.lastIndexOf("@") : rest.lastIndexOf("@");
    if (at !== -1) {
      const userinfo = rest.slice(0, at);
      const colon = userinfo.indexOf(":");
      if (colon !== -1) {
        secrets.push(userinfo.slice(colon + 1));
        head += `${userinfo.slice(0, colon)}:${REDACTED}@`;
        rest = rest.slice(at + 1);
      }
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

function redactKeyValues(text: string): ParsedSecrets {
  const secrets: string[] = [];
  const redacted = text.replace(KEY_VALUE, (whole, key: string, equals: string, value: string) => {
    if (!isSecretKey(key)) return whole;
    secrets.push(value);
    return `${key}${equals}${REDACTED}`;
  });
  return { redacted, secrets };
}

/**
 * The URL or connection string as stepwise prints it: its password and every secret parameter's
 * value replaced by `REDACTED` (`****`), everything else as given, so the user can tell which server
 * and database it is.
 */
export function redactConnectionString(url: string): string {
  return parseSecrets(url).redacted;
}

/** The secrets a URL or connection string holds (its password, each secret parameter's value), as written. */
export function findPasswords(text: string): string[] {
  return [...parseSecrets(text).secrets];
}

/**
 * `text` (a message commander wrote about the arguments) with every argument that holds a secret
 * replaced by its redacted form: the argument is the URL, parsed; its secret's text is not searched for.
 */
export function redactArguments(text: string, argv: readonly string[]): string {
  let out = text;
  for (const argument of argv) {
    // `--url=postgres://…` as one argument: the value after the flag.
    for (const candidate of new Set([argument, argument.replace(/^--?[\w-]+=/, "")])) {
      const redacted = redactConnectionString(candidate);
      if (redacted !== candidate) out = out.split(candidate).join(redacted);
    }
  }
  return out;
}

/**
 * Hides `url` in an error a driver threw while it held it, and in the errors it was caused by: each
 * message and stack that quotes the URL quotes `shown` (the URL redacted) instead. Returns `error`.
 */
export function hideUrlIn(error: unknown, url: string, shown: string): unknown {
  const forms = new Set([url, url.trim(), normalized(url)].filter((form) => form !== "" && form !== shown));
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

/** `url` as WHATWG `URL` writes it back (as some clients quote it), or `""` when it does not parse. */
function normalized(url: string): string {
  try {
    return new URL(url.trim()).href;
  } catch {
    return "";
  }
}
