// Fan-out of messages to the agents' open WatchDesired streams, per node: desired bundles, and preview requests.
import type { NodeDesired } from "../inventory/index.js";

export class NodeFeed<T> {
  private readonly watchers = new Map<string, Set<(value: T) => void>>();

  watch(node: string, listener: (value: T) => void): () => void {
    let set = this.watchers.get(node);
    if (!set) this.watchers.set(node, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0 && this.watchers.get(node) === set) this.watchers.delete(node);
    };
  }

  /** Returns how many streams it reached. */
  publishTo(node: string, value: T): number {
    const set = this.watchers.get(node);
    if (!set) return 0;
    for (const listener of [...set]) listener(value);
    return set.size;
  }

  streamCount(): number {
    let n = 0;
    for (const set of this.watchers.values()) n += set.size;
    return n;
  }
}

export type DesiredListener = (desired: NodeDesired) => void;

export class DesiredFeed extends NodeFeed<NodeDesired> {
  /** Nodes whose new bundle the catalog holds but an adoption has not published yet (builders mode plans it first). */
  private readonly unpublished = new Set<string>();

  publish(desired: NodeDesired): number {
    return this.publishTo(desired.node.name, desired);
  }

  /** An adoption took these nodes' bundles into the catalog; their publish comes (and reaches every stream) later. */
  willPublish(nodes: Iterable<string>): void {
    for (const node of nodes) this.unpublished.add(node);
  }

  /** The adoption's publish is over (or failed): the catalog's bundles of these nodes are the streams' to send. */
  published(nodes: Iterable<string>): void {
    for (const node of nodes) this.unpublished.delete(node);
  }

  /** A stream opening now leaves this node's catalog bundle to the adoption's publish. */
  isUnpublished(node: string): boolean {
    return this.unpublished.has(node);
  }
}
