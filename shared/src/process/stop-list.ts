// A daemon's shutdown sequence: parts register how to stop as they start; stop runs them newest first, once.
import type { Logger } from "pino";

export type StopStep = () => Promise<void> | void;

export class StopList {
  private readonly steps: StopStep[] = [];

  constructor(private readonly log: Logger) {}

  /** In start order: what started last depends on what started before it, so it stops first. */
  push(...steps: StopStep[]): void {
    this.steps.push(...steps);
  }

  /** Every step runs even when an earlier one fails (logged): a half-stopped process would hold ports and locks. */
  async stop(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await Promise.resolve().then(step).catch((err: unknown) => this.log.warn({ err }, "error while stopping"));
  }
}
