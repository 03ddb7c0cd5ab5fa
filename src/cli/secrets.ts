/**
 * Keeps database passwords out of everything the CLI prints. A connection URL reaches the CLI from
 * `--url`, the config or `DATABASE_URL`, and libpq's `PGPASSWORD` may hold the password instead;
 * any of them can end up inside a message (commander echoing a bad flag, a driver's error, a stack
 * trace). So the passwords are collected from every place they can come from, before anything runs,
 * and every line written to stdout or stderr is redacted at that one boundary. The passwords are
 * found by text, not by parsing the URL: one that fails to parse must be redacted too.
 */

/** What a redacted secret is printed as. */
export const REDACTED = "****";

/**
 * A `key=value` pair in a query string or a libpq `key=value` string. The key is matched after
 * percent-decoding, because the clients decode it: `@libsql/client` reads `auth%54oken=` as its
 * token, pg-connection-string reads `pass%77ord=` as the password. A backslash ends a value: in
 * `--json` output the closing quote is escaped (`\"`), and the redaction must leave the JSON valid.
 */
const PARAMETER = /([^\s&?#;'"=\\]+)(=)([^&\s'"#\\]*)/g;

/** Whether a (decoded) query key holds a secret: `authToken`, `password`, `sslpassword`, any case. */
function isSecretKey(rawKey: string): boolean {
  const key = decode(rawKey.replaceAll("+", " ")).toLowerCase();
  return key === "authtoken" || key.endsWith("password");
}

/** Removes known passwords from text about to be printed. */
export interface SecretRedactor {
  /** Adds the passwords a connection string (or any argument that may be one) carries. */
  addFromConnectionString(text: string): void;
  /** Adds a password given on its own (`PGPASSWORD`). */
  addSecret(secret: string): void;
  /** `text` with every known password, and every secret parameter's value (`password=`, `authToken=`, encoded keys too), replaced by {@link REDACTED}. */
  redact(text: string): string;
}

/** A redactor that knows no secret yet. */
export function createSecretRedactor(): SecretRedactor {
  const secrets = new Set<string>();
  const addSecret = (secret: string) => {
    if (secret === "") return;
    // As typed, as the URL decodes it, as a URL encodes it, and as JSON escapes it: the forms output can take.
    for (const form of [secret, decode(secret), encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) {
      if (form !== "") secrets.add(form);
    }
  };
  return {
    addSecret,
    addFromConnectionString(text) {
      for (const password of findPasswords(text)) addSecret(password);
    },
    redact(text) {
      // Longest first, so a password that contains another one is removed whole.
      let out = text;
      for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(REDACTED);
      return redactParameters(out);
    },
  };
}

/**
 * Every password-like part of `text` (possibly none): the userinfo's password of a `scheme://user:password@host`
 * URL, read both up to the last `@` of the authority and up to the last `@` of the whole text (an
 * unencoded `/` or `?` in the password ends the authority early, so the URL no longer parses), and
 * every value of a parameter whose percent-decoded key is `authToken` or ends in `password` (any
 * case; split on `&`, so each pair is read alone). Redacting a candidate that is not the password costs nothing.
 */
export function findPasswords(text: string): string[] {
  const found: string[] = [];
  const scheme = /^\s*[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text);
  if (scheme) {
    const rest = text.slice(scheme[0].length);
    const authorityEnd = rest.search(/[/?#]/);
    for (const userinfo of [userinfoOf(rest), userinfoOf(authorityEnd === -1 ? rest : rest.slice(0, authorityEnd))]) {
      if (userinfo === null) continue;
      const colon = userinfo.indexOf(":");
      if (colon !== -1) found.push(userinfo.slice(colon + 1));
    }
  }
  for (const match of text.matchAll(PARAMETER)) if (isSecretKey(match[1]!)) found.push(match[3]!);
  return found;
}

/** The part before the last `@`, or `null` without one. */
function userinfoOf(text: string): string | null {
  const at = text.lastIndexOf("@");
  return at === -1 ? null : text.slice(0, at);
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The URL as `info` and `status` show it: the password, and any `password=` parameter, replaced by
 * {@link REDACTED}, everything else as given, so the user can tell which server and database it is.
 */
export function redactConnectionString(url: string): string {
  const scheme = /^\s*[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url);
  let out = url;
  if (scheme) {
    // Up to the last "@": a password with an unencoded "@" or "/" is hidden whole.
    const rest = url.slice(scheme[0].length);
    const userinfo = userinfoOf(rest);
    const colon = userinfo?.indexOf(":") ?? -1;
    if (userinfo !== null && colon !== -1) out = `${scheme[0]}${userinfo.slice(0, colon)}:${REDACTED}${rest.slice(userinfo.length)}`;
  }
  return redactParameters(out);
}

/** `text` with the value of every secret-holding `key=value` pair ({@link isSecretKey}) replaced by {@link REDACTED}. */
function redactParameters(text: string): string {
  return text.replace(PARAMETER, (whole, key: string, equals: string) => (isSecretKey(key) ? `${key}${equals}${REDACTED}` : whole));
}
