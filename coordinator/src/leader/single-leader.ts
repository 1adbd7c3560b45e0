// Leadership for a lone coordinator (file store): always the leader until it resigns at shutdown.
import type { Leadership } from "./leadership.js";

export class SingleLeader implements Leadership {
  private leading = true;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(private readonly id: string) {}

  isLeader(): boolean {
    return this.leading;
  }

  leaderId(): string | undefined {
    return this.leading ? this.id : undefined;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async resign(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    for (const listener of this.listeners) listener(false);
  }
}
