/**
 * Say what a failed TLS connection means. Node, Deno and Bun report a TLS alert from the peer with
 * the same error code (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED) but with their TLS library's own
 * text: OpenSSL's "800C…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate
 * required:…/rec_layer_s3.c:1601:SSL alert number 116", rustls' "received fatal alert:
 * CertificateRequired", BoringSSL's "…:OPENSSL_internal:TLSV1_ALERT_CERTIFICATE_REQUIRED". The
 * code names the alert (RFC 8446 §6.2), so the message is built from it, with what to check.
 */

/** What the usual alerts mean for a client; `%` is the option holding the TLS settings. */
const ALERT_HINTS: Readonly<Record<string, string>> = {
  certificate_required: "it wants a client certificate (%.cert, %.key)",
  bad_certificate: "it refused our client certificate (%.cert, %.key)",
  unknown_ca: "it does not trust the issuer of our client certificate (%.cert)",
  certificate_expired: "it refused our client certificate as expired (%.cert)",
  certificate_unknown: "it refused our client certificate (%.cert)",
  protocol_version: "no TLS version that both sides accept",
  // TLS 1.2 servers also send it for a client certificate they require and did not get.
  handshake_failure: "it accepts none of the parameters we offered (TLS version, cipher suites, or a client certificate it requires: %.cert, %.key)",
  unrecognized_name: "it does not serve the host name we asked for (%.servername)",
  access_denied: "it refused us access",
};

/**
 * Certificate checks that fail on our side with a readable message of their own ("self-signed
 * certificate", "unable to verify the first certificate"): the server's chain does not end at a CA
 * we trust.
 */
const UNTRUSTED = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
]);

/**
 * The text of a connection error: for a TLS alert its name and meaning, for an untrusted
 * certificate a pointer to `ca`, else the runtime's message. `option` is "tls" or "proxyTls".
 */
export function connectionErrorText(error: Error, option: "tls" | "proxyTls"): string {
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code != "string") return error.message;
  // OpenSSL prefixes alert codes with the protocol version that defined them (SSLV3, TLSV1,
  // TLSV13); unrecognized_name has no ALERT_ in its name (ERR_SSL_TLSV1_UNRECOGNIZED_NAME).
  const alert = /^ERR_SSL_(?:SSLV3|TLSV1\d?)_(?:ALERT_)?([A-Z_]+)$/.exec(code)?.[1]?.toLowerCase();
  if (alert !== undefined) {
    const hint = ALERT_HINTS[alert]?.replaceAll("%", option);
    return `TLS alert "${alert.replaceAll("_", " ")}" from the peer${hint === undefined ? "" : `: ${hint}`}`;
  }
  return UNTRUSTED.has(code) ? `${error.message} (the certificate's issuer is not trusted; ${option}.ca adds a CA)` : error.message;
}
