// Fan-out of desired bundles to the agents' open WatchDesired streams, per node.
import type { NodeDesired } from "../inventory/index.js";

export type DesiredListener = (desired: NodeDesired) => void;

export class DesiredFeed {
  private readonly watchers = new Map<string, Set<DesiredListener>>();

  watch(node: string, listener: DesiredListener): () => void {
    let set = this.watchers.get(node);
    if (!set) this.watchers.set(node, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0 && this.watchers.get(node) === set) this.watchers.delete(node);
    };
  }

  publish(desired: NodeDesired): number {
    const set = this.watchers.get(desired.node.name);
    if (!set) return 0;
    for (const listener of [...set]) listener(desired);
    return set.size;
  }

  streamCount(): number {
    let n = 0;
    for (const set of this.watchers.values()) n += set.size;
    return n;
  }
}
