/**
 * The tls.connect options for one of our TlsOptions, shared by the connection to the WebSocket
 * server (`tls`) and to an https:// proxy (`proxyTls`): the same verification rules for both.
 */
import net from "node:net";
import type tls from "node:tls";
import type { TlsOptions } from "./options.js";

export function tlsConnectOptions(host: string, t: TlsOptions): tls.ConnectionOptions {
  return {
    host,
    // RFC 6066 §3: SNI carries DNS names only, never an IP literal.
    servername: t.servername ?? (net.isIP(host) ? undefined : host),
    ca: t.ca as tls.ConnectionOptions["ca"],
    cert: t.cert as tls.ConnectionOptions["cert"],
    key: t.key as tls.ConnectionOptions["key"],
    // Verification is on unless turned off explicitly.
    rejectUnauthorized: t.rejectUnauthorized !== false,
  };
}
