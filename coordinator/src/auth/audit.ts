// Audit lines: who (the token's name) did what to which target, when, with what outcome; stored as "audit" events.
import type { EventInput } from "../store/index.js";

export const AUDIT_EVENT_KIND = "audit";

export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  /** A node, token or secret name; never a value. */
  readonly target: string;
  readonly outcome: string;
}

/** The event that records an entry: the fields for machines, the message for the status page's events. */
export function auditEvent(e: AuditEntry): EventInput {
  const target = e.target ? ` ${e.target}` : "";
  return { kind: AUDIT_EVENT_KIND, message: `${e.actor}: ${e.action}${target}: ${e.outcome}`, fields: { actor: e.actor, action: e.action, target: e.target, outcome: e.outcome } };
}

/** The names a request carries (node, name, nodes); values and reasons are left out on purpose. */
export function auditTarget(request: unknown): string {
  const r = (request ?? {}) as { node?: unknown; name?: unknown; nodes?: unknown };
  const single = [r.node, r.name].filter((v): v is string => typeof v === "string" && v !== "");
  return [...single, ...(Array.isArray(r.nodes) ? [nodeList(r.nodes.map(String))] : [])].join(" ");
}

/** A batch's nodes in one bounded line: the count, then the first few names. */
function nodeList(nodes: readonly string[]): string {
  const shown = nodes.slice(0, AUDIT_NAMES_SHOWN).join(", ");
  return nodes.length > AUDIT_NAMES_SHOWN ? `${nodes.length} nodes: ${shown}, …` : `${nodes.length} nodes: ${shown}`;
}

const AUDIT_NAMES_SHOWN = 5;
