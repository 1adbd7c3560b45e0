// Renders the "Preview plans" section of the status page: the latest plans, per node outcome and reason.
import type { PlanView } from "../preview/index.js";
import { escapeHtml, formatAge, shortRevision } from "./html-escape.js";

const TONE: Record<string, string> = { reboot: "bad", restart: "warn", switch: "ok", "no-op": "", "build-failed": "bad", cancelled: "warn", pending: "busy", building: "busy" };
/** The page shows this many plans, newest first; nkctl plan list shows them all. */
export const PAGE_PLAN_LIMIT = 3;

export function renderPlans(plans: readonly PlanView[] | undefined, nowMs: number): string {
  if (!plans || plans.length === 0) return "";
  const cards = plans.slice(0, PAGE_PLAN_LIMIT).map((p) => {
    const rows = p.nodes
      .map((n) => `<tr data-node="${escapeHtml(n.node)}"><td>${escapeHtml(n.node)}</td><td><span class="badge ${TONE[n.outcome] ?? ""}">${escapeHtml(n.outcome)}</span></td><td>${escapeHtml(n.reason)}</td></tr>`)
      .join("");
    const made = `<span data-since="${p.createdAtMs}">${escapeHtml(formatAge(p.createdAtMs, nowMs))}</span>`;
    return (
      `<article class="plan" data-plan="${escapeHtml(p.name)}"><h3>${escapeHtml(p.name)} <code title="${escapeHtml(p.revision)}">${escapeHtml(shortRevision(p.revision))}</code>${p.complete ? "" : ' <span class="badge busy">building</span>'}</h3>` +
      `<p class="summary">${escapeHtml(p.summary)} · made ${made}</p><p class="meta">${escapeHtml(p.estimate.basis)}</p>` +
      `<table class="plan-nodes"><thead><tr><th>node</th><th>outcome</th><th>reason</th></tr></thead><tbody>${rows}</tbody></table></article>`
    );
  });
  return `<section id="plans"><h2>Preview plans</h2>${cards.join("")}</section>`;
}
