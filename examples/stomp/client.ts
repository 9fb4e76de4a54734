/**
 * A small STOMP client over ResilientWebSocket, showing the typed features together:
 * - subprotocol negotiation: offers v12.stomp, v11.stomp, v10.stomp with one codec each (`codecs`)
 *   and `requireProtocol`, so a server that is not a STOMP endpoint fails for good;
 * - typed routing by the `command` field (`route(ws, "MESSAGE", …, { field: "command" })`);
 * - request/response: STOMP receipts are the correlation id (`receipt` out, `receipt-id` back), so
 *   `publish` and `subscribe` resolve when the broker confirmed them, and time out otherwise;
 * - reconnects: each new connection sends CONNECT and re-subscribes; unconfirmed frames are re-sent.
 *
 * STOMP requires CONNECT to be the first frame of a connection, so this client never lets frames
 * wait in the WebSocket queue (which flushes before `open` listeners run): it sends only once the
 * broker answered CONNECTED, and otherwise waits for that.
 */
import { ResilientWebSocket, correlate, route, type Requester } from "../../src/index.js";
import type { ResilientOptions } from "../../src/client/options.js";
import type { RequestOptions } from "../../src/client/request.js";
import { STOMP_SUBPROTOCOLS, stompCodecs, type ClientFrame, type ServerFrame, type StompFrame } from "./codec.js";

export interface StompClientOptions
  extends Omit<ResilientOptions<ServerFrame, ClientFrame>, "protocols" | "codec" | "codecs" | "requireProtocol"> {
  login?: string;
  passcode?: string;
  /** The STOMP `host` header (RabbitMQ: the virtual host). @default "/" */
  vhost?: string;
  /** Subprotocols offered. @default ["v12.stomp", "v11.stomp", "v10.stomp"] */
  protocols?: string[];
  /** Time for the broker to confirm a frame (receipt). @default 10_000 */
  receiptTimeout?: number;
  /** ERROR frames that answer no receipt (RabbitMQ: an unknown destination, a refused login…). */
  onError?: (frame: StompFrame<"ERROR">) => void;
}

export type MessageHandler = (frame: StompFrame<"MESSAGE">) => void;

export class StompClient {
  readonly ws: ResilientWebSocket<ServerFrame, ClientFrame>;
  /** The CONNECTED frame of the current connection, once received. */
  session: StompFrame<"CONNECTED"> | undefined;
  /** `active` once the broker confirmed it: only those are renewed on a new connection (a pending
   * SUBSCRIBE is re-sent by request() itself; sending both would reuse its id, which brokers refuse). */
  /** Request/response with STOMP receipts as the correlation ids. */
  #rpc: Requester<ServerFrame, ClientFrame>;
  #subscriptions = new Map<string, { destination: string; handler: MessageHandler; active: boolean }>();
  #nextSubscription = 0;
  #waiting: Array<{ resolve(): void; reject(error: Error): void }> = [];

  constructor(url: string | URL, options: StompClientOptions = {}) {
    const { login = "guest", passcode = "guest", vhost = "/", receiptTimeout = 10_000, protocols, onError, ...rest } = options;
    this.ws = new ResilientWebSocket<ServerFrame, ClientFrame>(url, {
      ...rest,
      protocols: protocols ?? [...STOMP_SUBPROTOCOLS],
      codecs: stompCodecs(),
      requireProtocol: true,
    });
    this.#rpc = correlate(this.ws, {
      setId: (frame, id) => ({ ...frame, headers: { ...frame.headers, receipt: String(id) } }),
      // An ERROR caused by a frame with a receipt carries its receipt-id: it answers that request.
      getId: (frame) => (frame.command === "RECEIPT" || frame.command === "ERROR" ? frame.headers["receipt-id"] : undefined),
      timeout: receiptTimeout,
    });
    this.ws.on("open", () => {
      // "v12.stomp" → "1.2": CONNECT asks for exactly the negotiated version.
      const version = `${this.ws.protocol[1]}.${this.ws.protocol[2]}`;
      this.ws.send({
        command: "CONNECT",
        headers: { "accept-version": version, host: vhost, login, passcode, "heart-beat": "0,0" },
        body: "",
      });
    });
    this.ws.on("statechange", ({ from, to }) => {
      if (from === "open") this.session = undefined;
      if (to === "closed") for (const w of this.#waiting.splice(0)) w.reject(new Error("STOMP client closed"));
    });
    route(this.ws, "CONNECTED", (frame) => {
      this.session = frame;
      for (const [id, { destination, active }] of this.#subscriptions) {
        if (active) this.ws.send({ command: "SUBSCRIBE", headers: { id, destination }, body: "" });
      }
      for (const w of this.#waiting.splice(0)) w.resolve();
    }, { field: "command" });
    route(this.ws, "ERROR", (frame) => onError?.(frame), { field: "command" });
    route(this.ws, "MESSAGE", (frame) => this.#subscriptions.get(frame.headers.subscription ?? "")?.handler(frame), {
      field: "command",
    });
  }

  /** Resolves once the broker accepted CONNECT on the current connection. */
  connected(): Promise<void> {
    if (this.session) return Promise.resolve();
    if (this.ws.state === "closed") return Promise.reject(new Error("STOMP client closed"));
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** SEND with a receipt: resolves when the broker has the message, rejects with its ERROR. */
  async publish(destination: string, body: string, headers: Record<string, string> = {}, options?: RequestOptions): Promise<void> {
    await this.#confirm({ command: "SEND", headers: { ...headers, destination }, body }, options);
  }

  /** SUBSCRIBE with a receipt; kept across reconnects. Resolves to an unsubscribe function. */
  async subscribe(destination: string, handler: MessageHandler): Promise<() => Promise<void>> {
    const id = String(this.#nextSubscription++);
    const subscription = { destination, handler, active: false };
    this.#subscriptions.set(id, subscription);
    try {
      await this.#confirm({ command: "SUBSCRIBE", headers: { id, destination }, body: "" });
      subscription.active = true;
    } catch (error) {
      this.#subscriptions.delete(id);
      throw error;
    }
    return async () => {
      this.#subscriptions.delete(id);
      await this.#confirm({ command: "UNSUBSCRIBE", headers: { id }, body: "" });
    };
  }

  /**
   * DISCONNECT, then close for good. The spec's graceful way waits for the DISCONNECT receipt;
   * RabbitMQ's web-stomp closes the WebSocket instead of sending it, so whichever comes first ends
   * the wait (`resend: false`: a DISCONNECT must not be replayed on a new connection).
   */
  async disconnect(): Promise<void> {
    if (this.session) {
      const receipt = this.#rpc.request({ command: "DISCONNECT", headers: {}, body: "" }, { timeout: 2_000, resend: false });
      const left = new Promise<void>((resolve) => {
        const off: () => void = this.ws.on("statechange", ({ from }) => {
          if (from === "open") off(), resolve();
        });
      });
      await Promise.race([receipt.catch(() => undefined), left]);
    }
    this.ws.close();
  }

  async #confirm(frame: ClientFrame, options?: RequestOptions): Promise<StompFrame<"RECEIPT">> {
    await this.connected();
    const reply = await this.#rpc.request(frame, options);
    if (reply.command === "ERROR") {
      throw new Error(`STOMP ERROR for ${frame.command}: ${reply.headers.message ?? ""} ${reply.body}`.trim());
    }
    return reply as StompFrame<"RECEIPT">;
  }
}
