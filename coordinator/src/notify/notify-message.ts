// Which journal events are rollout notifications, and the body each kind of target expects.
import type { NotifyEvent, NotifyTarget } from "../../../shared/src/inventory/index.js";
import type { EventRecord } from "../store/index.js";

/** Journal event kind → the notification it is. */
const EVENT_OF: Readonly<Record<string, NotifyEvent>> = {
  "revision-adopted": "rollout-started",
  "rollout-paused": "rollout-paused",
  "rollout-resumed": "rollout-resumed",
  "rollout-halted": "rollout-halted",
  "rollout-completed": "rollout-completed",
  "canary-awaiting-approval": "canary-awaiting-approval",
  "lease-released-failed": "node-failed",
  "lease-drain-failed": "node-failed",
  "node-rolled-back": "node-rolled-back",
  "lease-deadline-missed": "deadline-passed",
};

/**
 * The notifications an event can be, most specific first: a target gets the first one its filter takes. A node
 * that missed its reboot-return deadline did not come back: `node-did-not-return`, or `deadline-passed` for a
 * target that asks only for that.
 */
export function notificationsOf(event: EventRecord): NotifyEvent[] {
  const what = EVENT_OF[event.kind];
  if (!what) return [];
  if (event.kind === "lease-deadline-missed" && event.fields?.phase === "reboot-return") return ["node-did-not-return", what];
  return [what];
}

/** The notification `target` receives for `event`, if any. */
export function notificationFor(target: NotifyTarget, event: EventRecord): NotifyEvent | undefined {
  return notificationsOf(event).find((what) => target.events.length === 0 || target.events.includes(what));
}

export interface Outgoing {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** One line for people: "[homelab] rollout-halted n3 (a1b2c3d4e5f6): drain of n3 failed: ...". */
function line(cluster: string, what: NotifyEvent, event: EventRecord): string {
  const node = event.node ? ` ${event.node}` : "";
  const rev = event.revision ? ` (${event.revision.slice(0, 12)})` : "";
  return `[${cluster}] ${what}${node}${rev}: ${event.message}`;
}

export function outgoing(target: NotifyTarget, cluster: string, what: NotifyEvent, event: EventRecord): Outgoing {
  if (target.kind === "ntfy") {
    // ntfy publishes the body as the message; Title and Tags are its documented headers.
    const tags = what === "rollout-halted" || what === "node-failed" || what === "deadline-passed" ? "warning" : "information_source";
    return { body: line(cluster, what, event), headers: { "content-type": "text/plain; charset=utf-8", title: `nk ${cluster}: ${what}`, tags } };
  }
  if (target.kind === "slack") return { body: JSON.stringify({ text: line(cluster, what, event) }), headers: { "content-type": "application/json" } };
  const payload = { event: what, cluster, kind: event.kind, node: event.node ?? "", revision: event.revision ?? "", message: event.message, seq: event.seq, timeMs: event.timeMs };
  return { body: JSON.stringify(payload), headers: { "content-type": "application/json" } };
}
