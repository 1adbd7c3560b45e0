// Simulated agents for the fan-out benchmark: many nodes' WatchDesired streams, several per gRPC channel, with arrival times.
import { performance } from "node:perf_hooks";
import { Client, credentials, Metadata, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { WatchDesiredRequest } from "../../shared/src/proto/gen/nk/v1/agent.js";
import { AUTH_HEADER, NODE_HEADER, bearer } from "../../shared/src/wire/index.js";

/** Wall-clock milliseconds with sub-millisecond precision, comparable across this process. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface PeekedDesired {
  readonly node: string;
  readonly revision: string;
  readonly bytes: number;
}

function varint(buf: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new Error("truncated varint");
}

/**
 * Reads `desired.node` (1) and `desired.revision` (2) of a WatchDesiredResponse without decoding the
 * bundle files: one process stands in for thousands of agents, so its per-message work must stay
 * far below the coordinator's (a real agent decodes one message on its own machine).
 */
export function peekDesired(buf: Buffer): PeekedDesired {
  if (buf[0] !== 0x0a) throw new Error("WatchDesiredResponse without desired");
  const [length, start] = varint(buf, 1);
  let at = start;
  let node = "";
  let revision = "";
  while (at < start + length && (node === "" || revision === "")) {
    const [tag, afterTag] = varint(buf, at);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      at = varint(buf, afterTag)[1];
      continue;
    }
    if (wire !== 2) throw new Error(`unexpected wire type ${wire}`);
    const [size, body] = varint(buf, afterTag);
    if (field === 1) node = buf.toString("utf8", body, body + size);
    if (field === 2) revision = buf.toString("utf8", body, body + size);
    at = body + size;
  }
  return { node, revision, bytes: buf.length };
}

export interface SimNode {
  readonly name: string;
  readonly token: string;
}

export interface FanoutAgentsOptions {
  readonly address: string;
  readonly caPem: string;
  readonly nodes: readonly SimNode[];
  /** Node streams per channel (one HTTP/2 connection each); below the server's max_concurrent_streams (64). */
  readonly streamsPerChannel: number;
}

interface Slot {
  revision: string;
  atMs: number;
  bytes: number;
}

/** Holds one WatchDesired stream per node and records when each node's latest revision arrived. */
export class FanoutAgents {
  private readonly channels: Client[] = [];
  private readonly calls: ClientReadableStream<PeekedDesired>[] = [];
  private readonly slots = new Map<string, Slot>();
  private target = "";
  private atTarget = 0;
  private waiter: (() => void) | null = null;
  readonly errors: string[] = [];
  messages = 0;

  constructor(private readonly options: FanoutAgentsOptions) {}

  get channelCount(): number {
    return this.channels.length;
  }

  get openStreams(): number {
    return this.calls.length - this.errors.length;
  }

  open(): void {
    const creds = credentials.createSsl(Buffer.from(this.options.caPem));
    const { nodes, streamsPerChannel } = this.options;
    for (let i = 0; i < nodes.length; i += streamsPerChannel) {
      // A local subchannel pool: without it every channel to the same address shares one connection.
      this.channels.push(
        new Client(this.options.address, creds, {
          "grpc.use_local_subchannel_pool": 1,
          "grpc.max_receive_message_length": 64 * 1024 * 1024,
          "grpc.keepalive_time_ms": 20_000,
          "grpc.keepalive_timeout_ms": 10_000,
        }),
      );
    }
    nodes.forEach((node, i) => {
      const channel = this.channels[Math.floor(i / streamsPerChannel)]!;
      const md = new Metadata();
      md.set(AUTH_HEADER, bearer(node.token));
      md.set(NODE_HEADER, node.name);
      const call = channel.makeServerStreamRequest<WatchDesiredRequest, PeekedDesired>(
        "/nk.v1.AgentService/WatchDesired",
        (req) => Buffer.from(WatchDesiredRequest.encode(req).finish()),
        peekDesired,
        { node: node.name, knownSha256: "" },
        md,
      );
      call.on("data", (d: PeekedDesired) => this.received(node.name, d));
      call.on("error", (err: ServiceError) => {
        if (err.code !== 1) this.errors.push(`${node.name}: ${err.code} ${err.details}`);
      });
      this.calls.push(call);
    });
  }

  private received(node: string, d: PeekedDesired): void {
    const atMs = nowMs();
    this.messages++;
    if (d.node !== node) this.errors.push(`${node}: got ${d.node}'s bundle`);
    const slot = this.slots.get(node);
    const wasAtTarget = slot?.revision === this.target;
    if (slot) Object.assign(slot, { revision: d.revision, atMs, bytes: d.bytes });
    else this.slots.set(node, { revision: d.revision, atMs, bytes: d.bytes });
    if (d.revision === this.target && !wasAtTarget && ++this.atTarget === this.options.nodes.length) this.waiter?.();
  }

  /** Resolves once every node's latest message carries `revision`; rejects after `timeoutMs`. */
  waitAll(revision: string, timeoutMs: number): Promise<void> {
    this.target = revision;
    this.atTarget = [...this.slots.values()].filter((s) => s.revision === revision).length;
    if (this.atTarget === this.options.nodes.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`${this.atTarget}/${this.options.nodes.length} streams got ${revision.slice(0, 12)} within ${timeoutMs} ms; errors: ${this.errors.slice(0, 3).join("; ")}`));
      }, timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = null;
        resolve();
      };
    });
  }

  /** Arrival time of every node's latest message (all at the awaited revision after waitAll). */
  arrivals(): number[] {
    return [...this.slots.values()].map((s) => s.atMs);
  }

  meanMessageBytes(): number {
    const slots = [...this.slots.values()];
    return slots.reduce((n, s) => n + s.bytes, 0) / Math.max(1, slots.length);
  }

  close(): void {
    for (const call of this.calls) call.cancel();
    for (const channel of this.channels) channel.close();
  }
}
