// A loopback TCP proxy that a test can cut (every connection reset, new ones refused, until restored) or stall (no
// byte carried either way and nothing closed, as on a link that drops packets, until unstalled).
import { createConnection, createServer, type Server, type Socket } from "node:net";

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<{ readonly client: Socket; readonly upstream: Socket }>();
  private cuts = 0;
  private stalls = 0;
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

  get isStalled(): boolean {
    return this.stalls > 0;
  }

  /**
   * Carries no more bytes on any connection, open or new, and closes none, until as many unstall() calls: the peers
   * learn of it only through their own timeouts, as behind a firewall that drops packets. Bytes sent meanwhile wait
   * in the sockets' buffers and flow on afterwards, as TCP would retransmit them.
   */
  stall(): void {
    if (this.stalls++ === 0) for (const pair of this.pairs) this.hold(pair);
  }

  unstall(): void {
    if (this.stalls === 0) return;
    if (--this.stalls === 0) for (const pair of this.pairs) this.carry(pair);
  }

  /** Restores however many cuts and stalls are in force. */
  heal(): void {
    this.cuts = 0;
    if (this.stalls > 0) {
      this.stalls = 1;
      this.unstall();
    }
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
    const pair = { client, upstream };
    this.track(client);
    this.track(upstream);
    this.pairs.add(pair);
    const drop = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    if (this.stalls === 0) this.carry(pair);
    else this.hold(pair);
  }

  private carry(pair: { client: Socket; upstream: Socket }): void {
    pair.client.pipe(pair.upstream);
    pair.upstream.pipe(pair.client);
  }

  private hold(pair: { client: Socket; upstream: Socket }): void {
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    pair.client.pause();
    pair.upstream.pause();
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }
}
