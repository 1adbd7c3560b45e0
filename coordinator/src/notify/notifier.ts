// Sends rollout notifications to the inventory's targets: off the lease engine's path, retried with backoff.
import { createHmac } from "node:crypto";
import type { NotifyTarget } from "../../../shared/src/inventory/index.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { Timers } from "../lease/index.js";
import type { EventRecord } from "../store/index.js";
import { notificationFor, outgoing, type Outgoing } from "./notify-message.js";

export type DeliveryOutcome = "delivered" | "retried" | "failed";

export interface NotifierDeps {
  /** The adopted inventory's targets, read at each event. */
  readonly targets: () => readonly NotifyTarget[];
  readonly cluster: () => string;
  /** A coordinator secret's value (the webhook HMAC key); never logged. */
  readonly secret: (name: string) => Promise<Buffer | undefined>;
  readonly timers: Timers;
  readonly log: Logger;
  readonly onDelivery?: (target: string, outcome: DeliveryOutcome) => void;
  /** Attempts per notification (default 6) and the first wait between them (default 2 s, doubling up to 5 min). */
  readonly maxAttempts?: number;
  readonly backoffMs?: number;
  /** Per attempt (default 10 s). */
  readonly timeoutMs?: number;
}

const MAX_BACKOFF_MS = 300_000;

export class Notifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: NotifierDeps) {}

  /** From the event journal: returns at once; delivery happens in the background. */
  notice(event: EventRecord): void {
    for (const target of this.deps.targets()) {
      const what = notificationFor(target, event);
      if (!what) continue;
      const run = this.deliver(target, outgoing(target, this.deps.cluster(), what, event)).finally(() => this.pending.delete(run));
      this.pending.add(run);
    }
  }

  /** Resolves once every notification noticed so far was delivered or given up (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async deliver(target: NotifyTarget, message: Outgoing): Promise<void> {
    const max = this.deps.maxAttempts ?? 6;
    let wait = this.deps.backoffMs ?? 2_000;
    for (let attempt = 1; ; attempt++) {
      const error = await this.attempt(target, message);
      if (error === "") {
        this.deps.onDelivery?.(target.name, "delivered");
        return;
      }
      if (attempt >= max) {
        this.deps.onDelivery?.(target.name, "failed");
        this.deps.log.warn({ target: target.name, attempts: attempt, error }, "notification given up");
        return;
      }
      this.deps.onDelivery?.(target.name, "retried");
      this.deps.log.info({ target: target.name, attempt, error, retryInMs: wait }, "notification failed; retrying");
      await new Promise<void>((resolve) => this.deps.timers.setTimeout(resolve, wait));
      wait = Math.min(wait * 2, MAX_BACKOFF_MS);
    }
  }

  /** Empty on success, else why the attempt failed. */
  private async attempt(target: NotifyTarget, message: Outgoing): Promise<string> {
    try {
      const headers: Record<string, string> = { ...message.headers };
      if (target.hmacSecret) {
        const key = await this.deps.secret(target.hmacSecret);
        if (!key) return `secret ${target.hmacSecret} is not set (nkctl secret set ${target.hmacSecret})`;
        headers["x-nk-signature"] = `sha256=${createHmac("sha256", key).update(message.body).digest("hex")}`;
      }
      const res = await fetch(target.url, { method: "POST", headers, body: message.body, signal: AbortSignal.timeout(this.deps.timeoutMs ?? 10_000) });
      await res.body?.cancel().catch(() => undefined);
      return res.ok ? "" : `HTTP ${res.status}`;
    } catch (err) {
      return errorMessage(err);
    }
  }
}
