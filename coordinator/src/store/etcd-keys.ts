// The etcd key layout of the EtcdStore under one prefix (default "/nk/").
import { NkError } from "../../../shared/src/errors/index.js";

export const DEFAULT_ETCD_PREFIX = "/nk/";

/** Zero-padded to 16 digits (2^53 has 16), so key order is numeric order. */
export function pad(seq: number): string {
  return String(seq).padStart(16, "0");
}

/**
 * `nodes/<n>` NodeRecord without telemetry · `telemetry/<n>/hello|report` best-effort, blind puts ·
 * `leases/<n>` · `leases-version` bumped with every change of the holder set · `fencing` counters ·
 * `queue/<seq>` + `queue-index/<n>` + `queue-seq` · `rollout` · `secrets/<name>` raw value +
 * `secret-meta/<name>` · `events/<seq>` + `events-seq` · `election/<name>/` (LeaderElection).
 */
export class EtcdKeys {
  constructor(readonly prefix: string = DEFAULT_ETCD_PREFIX) {
    if (!prefix.endsWith("/")) throw new NkError("INVALID_ARGUMENT", `etcd key prefix ${JSON.stringify(prefix)} must end with "/"`);
  }

  readonly nodes = (): string => `${this.prefix}nodes/`;
  readonly node = (name: string): string => `${this.nodes()}${name}`;
  readonly telemetryAll = (): string => `${this.prefix}telemetry/`;
  readonly telemetry = (name: string): string => `${this.telemetryAll()}${name}/`;
  readonly hello = (name: string): string => `${this.telemetry(name)}hello`;
  readonly report = (name: string): string => `${this.telemetry(name)}report`;

  readonly leases = (): string => `${this.prefix}leases/`;
  readonly lease = (node: string): string => `${this.leases()}${node}`;
  readonly leasesVersion = (): string => `${this.prefix}leases-version`;
  readonly fencing = (): string => `${this.prefix}fencing`;

  readonly queue = (): string => `${this.prefix}queue/`;
  readonly queueEntry = (seq: string): string => `${this.queue()}${seq}`;
  readonly queueIndex = (node: string): string => `${this.prefix}queue-index/${node}`;
  readonly queueSeq = (): string => `${this.prefix}queue-seq`;

  readonly rollout = (): string => `${this.prefix}rollout`;

  readonly secret = (name: string): string => `${this.prefix}secrets/${name}`;
  readonly secretMetas = (): string => `${this.prefix}secret-meta/`;
  readonly secretMeta = (name: string): string => `${this.secretMetas()}${name}`;

  readonly events = (): string => `${this.prefix}events/`;
  readonly event = (seq: number): string => `${this.events()}${pad(seq)}`;
  readonly eventsSeq = (): string => `${this.prefix}events-seq`;

  /** Name of a key below `base` (e.g. a node name below nodes/). */
  static tail(key: Buffer, base: string): string {
    return key.toString("utf8").slice(base.length);
  }
}
