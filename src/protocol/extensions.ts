/**
 * Parser for Sec-WebSocket-Extensions values (RFC 6455 §9.1):
 *   extension-list = 1#extension
 *   extension      = extension-token *( ";" extension-param )
 *   extension-param = token [ "=" ( token | quoted-string ) ]
 * A quoted value must itself be a token once unquoted.
 */
import { createError } from "../errors.js";

export interface ExtensionElement {
  /** Extension token, lower-cased. */
  name: string;
  /** Parameters in order; a parameter without a value is `true`. Names are lower-cased. */
  params: Array<[name: string, value: string | true]>;
}

/** RFC 7230 §3.2.6 tchar. */
export function isTokenChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    (c > 0x20 && c < 0x7f && "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)))
  );
}

export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) if (!isTokenChar(value.charCodeAt(i))) return false;
  return true;
}

function fail(value: string, why: string): never {
  throw createError("ERR_HANDSHAKE", `Invalid Sec-WebSocket-Extensions "${value}": ${why} (RFC 6455 §9.1)`);
}

/** Parse an extensions header value; throws ERR_HANDSHAKE on a syntax error. */
export function parseExtensions(value: string): ExtensionElement[] {
  const result: ExtensionElement[] = [];
  let i = 0;
  const n = value.length;
  const skipSpace = (): void => {
    while (i < n && (value[i] === " " || value[i] === "\t")) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    if (i === start) fail(value, `expected a token at offset ${start}`);
    return value.slice(start, i);
  };
  for (;;) {
    skipSpace();
    // 1#element allows empty list elements (RFC 7230 §7): skip stray commas.
    if (value[i] === ",") {
      i++;
      continue;
    }
    if (i >= n) break;
    const element: ExtensionElement = { name: readToken().toLowerCase(), params: [] };
    skipSpace();
    while (value[i] === ";") {
      i++;
      skipSpace();
      const name = readToken().toLowerCase();
      skipSpace();
      let paramValue: string | true = true;
      if (value[i] === "=") {
        i++;
        skipSpace();
        if (value[i] === '"') {
          i++;
          let unquoted = "";
          while (i < n && value[i] !== '"') {
            if (value[i] === "\\") i++;
            if (i >= n) break;
            unquoted += value[i];
            i++;
          }
          if (i >= n) fail(value, "unterminated quoted string");
          i++;
          if (!isToken(unquoted)) fail(value, `quoted value "${unquoted}" is not a token`);
          paramValue = unquoted;
        } else {
          paramValue = readToken();
        }
        skipSpace();
      }
      element.params.push([name, paramValue]);
    }
    result.push(element);
    skipSpace();
    if (i >= n) break;
    if (value[i] !== ",") fail(value, `unexpected "${value[i]!}" at offset ${i}`);
    i++;
  }
  if (result.length === 0) fail(value, "no extension");
  return result;
}
