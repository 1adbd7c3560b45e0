// Makes an HTTPS server answer a plain-HTTP request with a readable error instead of a dropped connection.
import type { Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";

/** The first byte of every TLS connection: a handshake record. */
const TLS_HANDSHAKE = 0x16;
/** A client that sends nothing is dropped by the TLS layer's own timeouts; this only bounds the sniff. */
const SNIFF_TIMEOUT_MS = 30_000;
/** How long a refused client may keep its half of the connection open after the answer. */
const CLOSE_TIMEOUT_MS = 5_000;

function plainHttpAnswer(): string {
  const body =
    "This port speaks HTTPS only: use https:// and trust the coordinator's CA (<stateDir>/tls/ca.crt),\n" +
    "e.g. git -c http.sslCAInfo=/path/to/ca.crt clone https://coordinator.lan:7080/git/inventory.git\n" +
    "or curl --cacert /path/to/ca.crt https://coordinator.lan:7080/\n";
  return `HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/**
 * Looks at the first byte of each connection: a TLS handshake goes on to the server's own TLS listener (the peeked
 * byte is put back, and node's TLS socket replays buffered bytes), anything else gets a plain 400 naming https://.
 */
export function refusePlainHttp(server: HttpsServer): void {
  const tlsListeners = server.listeners("connection") as Array<(socket: Socket) => void>;
  server.removeAllListeners("connection");
  // Connections that have sent nothing yet are idle too: close() must not wait for them.
  const sniffing = new Set<Socket>();
  const closeIdle = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => {
    for (const socket of sniffing) socket.destroy();
    closeIdle();
  };
  server.on("connection", (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), SNIFF_TIMEOUT_MS);
    sniffing.add(socket);
    const done = (): void => {
      clearTimeout(timer);
      sniffing.delete(socket);
    };
    const sniff = (): void => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) return void socket.once("readable", sniff);
      done();
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE) {
        for (const listener of tlsListeners) listener.call(server, socket);
        return;
      }
      // Drain what the client still sends, so its FIN is seen and the socket closes (server.close() waits for it).
      socket.on("error", () => undefined);
      socket.resume();
      socket.setTimeout(CLOSE_TIMEOUT_MS, () => socket.destroy());
      socket.end(plainHttpAnswer());
    };
    socket.on("error", done);
    socket.once("close", done);
    // A client that hangs up before saying anything: nothing to answer.
    socket.once("end", () => sniffing.has(socket) && socket.destroy());
    sniff();
  });
}
