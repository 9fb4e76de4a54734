// The built-in client's real-peer suite (test/node/node-client-*.test.ts) run by Deno: Deno
// implements node:test, node:net, node:tls and node:zlib, so the same files test the client on
// Deno's Node compatibility layer. The sources import `./x.js` for `./x.ts`, hence --sloppy-imports:
//   deno test --sloppy-imports --allow-net=127.0.0.1 --allow-read --allow-env --allow-run test/deno/node-client.test.ts
import "../node/node-client-basic.test.ts";
import "../node/node-client-handshake.test.ts";
import "../node/node-client-violations.test.ts";
import "../node/node-client-tls-proxy.test.ts";
import "../node/node-client-deflate.test.ts";
import "../node/node-client-peers.test.ts";
import "../node/node-client-entry.test.ts";
import "../node/node-client-frame-arena.test.ts";
import "../node/node-client-autobahn.test.ts";
import "../node/node-client-fuzz.test.ts";
import "../node/node-client-send-fuzz.test.ts";
import "../node/node-client-buffered.test.ts";
import "../node/node-client-held-frames.test.ts";
