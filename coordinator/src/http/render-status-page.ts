// Server-side rendering of the whole status page and of the fragments that SSE pushes to it.
import type { ClusterSnapshot, EventView, RevisionRollout } from "../status/index.js";
import { escapeHtml, formatAge } from "./html-escape.js";
import { PAGE_CSS, PAGE_SCRIPT } from "./page-assets.js";
import { renderBuilds } from "./render-builds.js";
import { renderEvents } from "./render-events.js";
import { renderNodeTable } from "./render-node-table.js";
import { renderManifests } from "./render-manifests.js";
import { renderPlans } from "./render-plans.js";
import { renderLeases, renderRollout } from "./render-rollout.js";
import { renderRolloutHistory, renderTimelines } from "./render-rollouts.js";

/** The document title: the cluster name first, so a tab or a wall screen says which cluster it is. */
export function pageTitle(s: ClusterSnapshot): string {
  const trouble = s.rollout.halted ? " · HALTED" : s.rollout.paused ? " · paused" : "";
  return `${s.cluster === "" ? "nk" : s.cluster}${trouble} · nk status`;
}

/** Inner HTML of `<main id="status">`: cluster header, warnings, rollout, its timeline, nodes, leases, manifests, rollout history. */
export function renderStatusFragment(s: ClusterSnapshot, nowMs: number, rollouts: readonly RevisionRollout[] = []): string {
  const role = s.leader ? "leader" : "standby";
  const meta =
    `<p class="meta">cluster <strong>${escapeHtml(s.cluster)}</strong> · coordinator ${escapeHtml(s.version)} · ${role}` +
    ` · snapshot <span data-since="${s.generatedAtMs}">${escapeHtml(formatAge(s.generatedAtMs, nowMs))}</span></p>`;
  const warnings = s.warnings.map((w) => `<p class="warning" role="alert">⚠ ${escapeHtml(w)}</p>`).join("");
  return `${meta}${warnings}${apiVipLine(s)}${renderRollout(s)}${renderTimelines(rollouts, nowMs)}${renderNodeTable(s.nodes, nowMs)}${renderBuilds(s.builds)}${renderLeases(s, nowMs)}${renderPlans(s.plans, nowMs)}${renderManifests(s.manifests, nowMs)}${renderRolloutHistory(rollouts, nowMs)}`;
}

/** Which node holds the API VIP: normally one; none for the moment of a VRRP failover, or while no carrier reports. */
function apiVipLine(s: ClusterSnapshot): string {
  if (s.apiVip === null) return "";
  const { address, holders } = s.apiVip;
  const who = holders.length === 0 ? `<span class="badge warn">held by no node</span>` : `held by <strong>${holders.map(escapeHtml).join(", ")}</strong>`;
  const split = holders.length > 1 ? ` <span class="badge bad">more than one holder</span>` : "";
  return `<p class="meta" id="api-vip">API VIP <code>${escapeHtml(address)}</code> ${who}${split}</p>`;
}

/** The full page, complete without JavaScript; the inline script only keeps it live. */
export function renderStatusPage(s: ClusterSnapshot, events: readonly EventView[], nowMs: number, rollouts: readonly RevisionRollout[] = []): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="color-scheme" content="light dark"><meta name="referrer" content="no-referrer">` +
    // An empty inline icon stops the browser asking for /favicon.ico.
    `<link rel="icon" href="data:,">` +
    `<title>${escapeHtml(pageTitle(s))}</title><style>${PAGE_CSS}</style></head><body>` +
    `<div class="bar"><h1><span class="brand">nk ·</span> ${escapeHtml(s.cluster)}</h1><span id="live" class="live">connecting…</span></div>` +
    `<main id="status" data-now="${nowMs}">${renderStatusFragment(s, nowMs, rollouts)}</main>` +
    `<section id="events-section"><h2>Recent events</h2><ol id="events">${renderEvents(events)}</ol></section>` +
    `<script>${PAGE_SCRIPT}</script></body></html>`
  );
}
