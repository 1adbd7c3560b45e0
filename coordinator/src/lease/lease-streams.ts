// Per-node listeners of AcquireLease streams; each listener hears a view only when it changed.
import type { LeaseView } from "../status/index.js";

interface Subscriber {
  readonly listener: (lease: LeaseView) => void;
  last: string;
}

export class LeaseStreams {
  private readonly byNode = new Map<string, Set<Subscriber>>();

  constructor(private readonly onListenerError: (node: string, err: unknown) => void) {}

  subscribe(node: string, listener: (lease: LeaseView) => void): () => void {
    const sub: Subscriber = { listener, last: "" };
    let set = this.byNode.get(node);
    if (!set) this.byNode.set(node, (set = new Set()));
    set.add(sub);
    return () => {
      set.delete(sub);
      if (set.size === 0 && this.byNode.get(node) === set) this.byNode.delete(node);
    };
  }

  nodes(): string[] {
    return [...this.byNode.keys()];
  }

  publish(node: string, view: LeaseView): void {
    const text = JSON.stringify(view);
    for (const sub of [...(this.byNode.get(node) ?? [])]) {
      if (sub.last === text) continue;
      sub.last = text;
      try {
        sub.listener(view);
      } catch (err) {
        // One broken stream must not stop the others or the grant that caused the update.
        this.onListenerError(node, err);
      }
    }
  }
}
