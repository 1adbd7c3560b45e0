// Renders the node table of the status page: one row per node, drift and trouble highlighted.
import type { NodeView } from "../status/index.js";
import { escapeHtml, formatAge, shortRevision } from "./html-escape.js";
import { isConverged } from "./is-converged.js";

const MAX_ERROR_CHARS = 400;
const GOOD_PHASES = new Set(["idle", "confirmed"]);
const BAD_PHASES = new Set(["failed", "rolled-back"]);

function badge(text: string, tone: "ok" | "bad" | "warn" | "busy" | "muted", title = ""): string {
  const t = title === "" ? "" : ` title="${escapeHtml(title)}"`;
  return `<span class="badge ${tone}"${t}>${escapeHtml(text)}</span>`;
}

function revisionCell(node: NodeView): string {
  const desired = `<code title="${escapeHtml(node.desiredRevision)}">${escapeHtml(shortRevision(node.desiredRevision))}</code>`;
  if (isConverged(node)) return desired;
  const applied = `<code title="${escapeHtml(node.appliedRevision)}">${escapeHtml(shortRevision(node.appliedRevision))}</code>`;
  return `<span class="drift" title="applied differs from desired">${applied} → ${desired}</span>`;
}

function phaseCell(node: NodeView): string {
  const phase = node.phase === "" ? "unknown" : node.phase;
  const tone = GOOD_PHASES.has(phase) ? "ok" : BAD_PHASES.has(phase) ? "bad" : phase === "unknown" ? "muted" : "busy";
  return badge(phase, tone);
}

function healthCell(node: NodeView): string {
  if (node.healthy === null) return badge("unknown", "muted");
  const failing = node.checks.filter((c) => !c.ok);
  if (node.healthy && failing.length === 0) return badge("healthy", "ok");
  const checks = failing.map((c) => `<li title="${escapeHtml(c.message)}">${escapeHtml(c.name)}</li>`).join("");
  return `${badge(node.healthy ? "degraded" : "unhealthy", node.healthy ? "warn" : "bad")}${checks === "" ? "" : `<ul class="checks">${checks}</ul>`}`;
}

function kubeCell(node: NodeView): string {
  const ready = node.k8sReady === null ? badge("n/a", "muted", "no Kubernetes access") : node.k8sReady ? badge("Ready", "ok") : badge("NotReady", "bad");
  const state = node.cordoned ? `${ready} ${badge("cordoned", "warn")}` : ready;
  // The version the node's built system would run matters while it differs: agents wait for the servers (skew).
  const next = node.k3sNext !== "" && node.k3sNext !== node.k3sRunning ? ` → ${escapeHtml(node.k3sNext)}` : "";
  return node.k3sRunning === "" && next === "" ? state : `${state}<div class="sub">k3s ${escapeHtml(node.k3sRunning || "?")}${next}</div>`;
}

function agentCell(node: NodeView): string {
  const dot = `<span class="dot ${node.connected ? "on" : "off"}" title="${node.connected ? "connected" : "disconnected"}"></span>`;
  const version = node.agentVersion === "" ? "—" : escapeHtml(node.agentVersion);
  const enrolled = node.enrolled ? "" : ` ${badge("not enrolled", "warn")}`;
  return `${dot}${version}${enrolled}`;
}

function errorCell(node: NodeView): string {
  if (node.lastError === "") return "";
  const text = node.lastError.length > MAX_ERROR_CHARS ? `${node.lastError.slice(0, MAX_ERROR_CHARS)}…` : node.lastError;
  return `<span class="err">${escapeHtml(text)}</span>`;
}

function rowTone(node: NodeView): string {
  if (BAD_PHASES.has(node.phase) || node.healthy === false || node.k8sReady === false) return "bad";
  if (!node.connected || node.lastError !== "") return "warn";
  return "";
}

function nodeRow(node: NodeView, nowMs: number): string {
  const tone = rowTone(node);
  const cells = [
    ["Node", `<strong>${escapeHtml(node.name)}</strong> <span class="role">${escapeHtml(node.role)}</span>${node.holdsApiVip ? ` ${badge("API VIP", "ok", "holds the Kubernetes API VIP")}` : ""}<div class="sub">${escapeHtml(node.address)}</div>`],
    ["Revision", revisionCell(node)],
    ["Phase", phaseCell(node)],
    ["Health", healthCell(node)],
    ["Lease", node.leaseState === null ? "—" : badge(node.leaseState, "busy")],
    ["Kubernetes", kubeCell(node)],
    ["Agent", agentCell(node)],
    ["Last report", `<span data-since="${node.lastReportMs}">${escapeHtml(formatAge(node.lastReportMs, nowMs))}</span>`],
    ["Last error", errorCell(node)],
  ];
  const tds = cells.map(([label, html]) => `<td data-label="${label}">${html}</td>`).join("");
  return `<tr data-node="${escapeHtml(node.name)}"${tone === "" ? "" : ` class="row-${tone}"`}>${tds}</tr>`;
}

/** The nodes section: a table that turns into cards on narrow screens. */
export function renderNodeTable(nodes: readonly NodeView[], nowMs: number): string {
  if (nodes.length === 0) return `<section class="nodes"><h2>Nodes</h2><p class="muted">No nodes in the inventory yet.</p></section>`;
  const head = ["Node", "Revision", "Phase", "Health", "Lease", "Kubernetes", "Agent", "Last report", "Last error"].map((h) => `<th scope="col">${h}</th>`).join("");
  const rows = nodes.map((n) => nodeRow(n, nowMs)).join("");
  return `<section class="nodes"><h2>Nodes <span class="count">${nodes.length}</span></h2><div class="scroll"><table id="node-table"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div></section>`;
}
