// What one agent's WatchDesired stream is sent: this coordinator's desired bundle, only while the store names it.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { DesiredCatalog, NodeDesired } from "../inventory/index.js";
import type { DesiredFeed } from "./desired-feed.js";
import type { NodeRegistry } from "./node-registry.js";

export interface DesiredStreamDeps {
  readonly node: string;
  readonly catalog: DesiredCatalog;
  readonly registry: NodeRegistry;
  readonly feed: DesiredFeed;
  /** Writes the bundle to the stream; false when it was held back for another reason (builders mode: its build). */
  readonly write: (desired: NodeDesired) => boolean;
  /** A bundle published by an adoption was written to the stream. */
  readonly onDelivered?: (desired: NodeDesired) => void;
  /** The stream began (true) or stopped (false) holding a bundle back (a gauge: one that stays up needs a look). */
  readonly onHeldBack?: (held: boolean) => void;
  /** First wait before reading the node's record again when the read at open failed (doubling up to 8 s). */
  readonly readRetryMs?: number;
  readonly log: Logger;
}

/**
 * With several coordinators each serves its own catalog, which can trail the store (its upstream sync has not fetched
 * the newest push yet, or it restarted on an older main) or lead it (its write failed with etcd cut off). A trailing
 * catalog would hand an agent an older bundle than the one it runs: HA chaos seed 26300722 sent a node a bundle it had
 * rolled back from three revisions earlier, and it reported "rolled back" while running the newest one. So a bundle
 * goes out only when it is the one the store names for the node (or the store names none yet); one held back goes out
 * when the store comes to name it (another coordinator's write, or this one's retried adoption) or this coordinator
 * catches up. A single coordinator writes its file store before any publish, so it holds a bundle back only while a
 * failed write waits for its retry.
 */
export class DesiredStream {
  /** The sha256 last written to this stream. */
  private written: string | undefined;
  /** The newest bundle the store rule kept from this stream; sent when the store comes to name it. */
  private heldBack: NodeDesired | undefined;
  private closed = false;
  private readonly stops: Array<() => void> = [];
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly deps: DesiredStreamDeps) {}

  /** Sends the current desired bundle, then follows adoptions and the store. */
  async open(): Promise<void> {
    const { node, catalog, registry, feed, log } = this.deps;
    const deliver = (desired: NodeDesired): void => {
      if (this.offer(desired)) this.deps.onDelivered?.(desired);
    };
    this.stops.push(
      feed.watch(node, deliver),
      // What this stream was handed and held back, not the catalog: that may be mid-adoption, before builders mode
      // planned it (its publish comes next, and replaces the held bundle). Nothing mid-adoption is ever held.
      registry.desiredStored.watch(node, (sha256) => {
        if (this.heldBack?.bundle.sha256 === sha256) deliver(this.heldBack);
      }),
    );
    if (!catalog.get(node)) log.warn({ node }, "agent connected but the inventory has no such node");
    await this.sendCurrent(this.deps.readRetryMs ?? 1000);
  }

  /**
   * Reads the node's record from a shared store, then offers the catalog's bundle: an agent that moved here from a
   * coordinator cut off, say, may run a bundle this one has not adopted yet. When the read fails the last copy may be
   * that old, so the bundle is held back (and goes out if the store is heard to name it) and the read tried again.
   */
  private async sendCurrent(delayMs: number, failures = 0): Promise<void> {
    const { node, catalog, registry, feed, log } = this.deps;
    try {
      await registry.refresh(node);
    } catch (err) {
      if (this.closed) return;
      // Warned once per stream: with etcd down every stream of this coordinator is here.
      const fields = { node, err: errorMessage(err), retryMs: delayMs };
      if (failures === 0) log.warn(fields, "cannot read the node's record from the store; holding its bundle back until a read succeeds");
      else log.debug(fields, "still cannot read the node's record from the store");
      const current = catalog.get(node);
      if (current && !feed.isUnpublished(node) && this.written !== current.bundle.sha256) this.hold(current);
      // Jittered, so that thousands of streams do not read in lockstep once etcd is back.
      const wait = delayMs * (0.75 + Math.random() / 2);
      this.retry = setTimeout(() => {
        this.sendCurrent(Math.min(delayMs * 2, 8000), failures + 1).catch((e: unknown) => log.warn({ node, err: errorMessage(e) }, "cannot send the node's desired bundle"));
      }, wait).unref();
      return;
    }
    const current = catalog.get(node);
    // Mid-adoption, the catalog's bundle may not be planned yet (builders mode): the publish brings it.
    if (current && !feed.isUnpublished(node) && this.written !== current.bundle.sha256) this.offer(current);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.hold(undefined);
    for (const stop of this.stops.splice(0)) stop();
  }

  private hold(desired: NodeDesired | undefined): void {
    if ((this.heldBack === undefined) !== (desired === undefined)) this.deps.onHeldBack?.(desired !== undefined);
    this.heldBack = desired;
  }

  private offer(desired: NodeDesired): boolean {
    if (this.closed) return false;
    const stored = this.deps.registry.get(this.deps.node)?.desired;
    if (stored !== undefined && stored.sha256 !== desired.bundle.sha256) {
      if (this.heldBack?.bundle.sha256 !== desired.bundle.sha256) {
        this.deps.log.info({ node: this.deps.node, rev: desired.revision, sha: desired.bundle.sha256.slice(0, 12), stored: stored.sha256.slice(0, 12), storedRev: stored.revision }, "desired bundle held back: the store names another one for this node");
      }
      this.hold(desired);
      return false;
    }
    this.hold(undefined);
    if (!this.deps.write(desired)) return false;
    this.written = desired.bundle.sha256;
    return true;
  }
}
