// A loopback TCP proxy that a test can cut: every connection dropped, new ones refused, until restored.
import { createConnection, createServer, type Server, type Socket } from "node:net";

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cuts = 0;
  /** Connections accepted and forwarded so far (for tests of the proxy itself). */
  forwarded = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** Listens on 127.0.0.1 (port 0 = any free port) and forwards to `target` on loopback. */
  static async start(target: { host?: string; port: number }, listenPort = 0): Promise<TcpProxy> {
    const host = target.host ?? "127.0.0.1";
    if (host !== "127.0.0.1" && host !== "::1" && host !== "localhost") throw new Error(`TcpProxy forwards to loopback only, not ${host}`);
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy?.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listenPort, "127.0.0.1", () => resolve());
    });
    proxy = new TcpProxy(server, (server.address() as { port: number }).port, { host, port: target.port });
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get isCut(): boolean {
    return this.cuts > 0;
  }

  /** Drops every open connection (RST) and refuses new ones until as many restore() calls. */
  cut(): void {
    this.cuts++;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  restore(): void {
    this.cuts = Math.max(0, this.cuts - 1);
  }

  /** Restores however many cuts are in force. */
  heal(): void {
    this.cuts = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    // A refused connection: the peer sees a reset at once, as from a firewall with reject.
    if (this.cuts > 0) return void client.resetAndDestroy();
    this.forwarded++;
    const upstream = createConnection({ host: this.target.host, port: this.target.port });
    this.track(client);
    this.track(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }
}
