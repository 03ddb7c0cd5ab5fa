/** Keeps passwords and tokens out of what the CLI prints, by the structure of the URLs it knows; never by searching for a secret's text: a password `a` would cut every word. */
import { tryOr } from "../shared/try-or.js";

const REDACTED = "****";

/** `scheme:` or `scheme://` at the start of a URL (a one-letter scheme is a Windows drive, not a URL). */
const SCHEME = /^\s*[A-Za-z][A-Za-z0-9+.-]+:(\/\/)?/;

/** A `key=value` pair of a libpq or ADO.NET string: a value runs to the next space or `;`, or is quoted. */
const KEY_VALUE = /([^\s;&?=]+)(\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s;]*)/g;

/** Whether a key holds a secret as the clients read it, percent- and `+`-decoded. */
function isSecretKey(rawKey: string): boolean {
  // Not percent-encoded after all: read as written.
  const key = tryOr(() => decodeURIComponent(rawKey.replaceAll("+", " ")), rawKey.replaceAll("+", " "))
    .trim()
    .toLowerCase();
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

/** The filter at the CLI's output boundary: a string given to `hide` that holds a secret is printed redacted, in each form a client writes it back and quoted as JSON. */
export function createRedactor(): { hide(value: string): void; redact(text: string): string } {
  let forms: (readonly [form: string, shown: string])[] = [];
  return {
    hide(value) {
      // Not a URL: only its own forms can be quoted.
      const normalized = tryOr(() => new URL(value.trim()).href, "");
      for (const given of new Set([value, value.trim(), normalized])) {
        for (let [form, shown, depth] = [given, redactConnectionString(given), 0]; form !== shown && depth < 3; depth++) {
          if (!forms.some(([known]) => known === form)) forms = [...forms, [form, shown] as const].sort(([a], [b]) => b.length - a.length);
          [form, shown] = [JSON.stringify(form).slice(1, -1), JSON.stringify(shown).slice(1, -1)];
        }
      }
    },
    redact: (text) => forms.reduce((out, [form, shown]) => (out.includes(form) ? out.split(form).join(shown) : out), text),
  };
}
