// Renders the rollout summary and the lease holders and queue of the status page.
import type { ClusterSnapshot, LeaseView, RolloutView } from "../status/index.js";
import { escapeHtml, formatAge, formatDuration, shortRevision } from "./html-escape.js";
import { isConverged } from "./is-converged.js";

function rolloutState(r: RolloutView): { word: string; tone: string; reason: string } {
  if (r.halted) return { word: "halted", tone: "bad", reason: r.haltReason };
  if (r.paused) return { word: "paused", tone: "warn", reason: r.pauseReason };
  if (r.nodesTotal > 0 && r.nodesConverged >= r.nodesTotal) return { word: "converged", tone: "ok", reason: "" };
  return { word: "rolling out", tone: "busy", reason: "" };
}

/** How the canary stage reads at a glance: waiting for an operator stands out. */
const STAGE_TONE: Readonly<Record<string, string>> = { canary: "busy", soaking: "busy", "awaiting-approval": "warn", done: "ok" };

function stat(label: string, value: string, tone = ""): string {
  return `<div class="stat${tone === "" ? "" : ` ${tone}`}"><span class="v">${value}</span><span class="k">${escapeHtml(label)}</span></div>`;
}

/** The summary card: rollout revision and state, why grants are blocked, convergence and fleet counts. */
export function renderRollout(s: ClusterSnapshot): string {
  const r = s.rollout;
  const state = rolloutState(r);
  const reason = state.reason === "" ? "" : `<p class="reason ${state.tone}">${escapeHtml(state.reason)}</p>`;
  const blocked = r.blockedReason === "" ? "" : `<p class="blocked"><span class="k">Next grant blocked:</span> ${escapeHtml(r.blockedReason)}</p>`;
  const stage = r.stage === "" ? "" : `<p class="stage"><span class="k">Canary stage:</span> <span class="badge ${STAGE_TONE[r.stage] ?? ""}">${escapeHtml(r.stage)}</span></p>`;
  const connected = s.nodes.filter((n) => n.connected).length;
  const unhealthy = s.nodes.filter((n) => n.healthy === false).length;
  const drifted = s.nodes.filter((n) => !isConverged(n)).length;
  const stats = [
    stat("converged", `${r.nodesConverged}/${r.nodesTotal}`, r.nodesTotal > 0 && r.nodesConverged >= r.nodesTotal ? "ok" : ""),
    stat("connected", `${connected}/${s.nodes.length}`, connected < s.nodes.length ? "warn" : ""),
    stat("unhealthy", String(unhealthy), unhealthy > 0 ? "bad" : ""),
    stat("drifted", String(drifted), drifted > 0 ? "warn" : ""),
    stat("leases held", String(s.leases.length)),
    stat("queued", String(s.queue.length)),
  ].join("");
  return (
    `<section class="rollout r-${state.tone}"><div class="rollout-head">` +
    `<span class="badge ${state.tone} big">${escapeHtml(state.word)}</span>` +
    `<span>revision <code title="${escapeHtml(r.revision)}">${escapeHtml(shortRevision(r.revision))}</code></span>` +
    `<meter min="0" max="${Math.max(1, r.nodesTotal)}" value="${r.nodesConverged}" title="${r.nodesConverged} of ${r.nodesTotal} converged"></meter>` +
    `</div>${reason}${stage}${blocked}<div class="stats">${stats}</div></section>`
  );
}

function deadlineText(lease: LeaseView, nowMs: number): string {
  if (lease.phaseDeadlineMs <= 0) return "—";
  const left = lease.phaseDeadlineMs - nowMs;
  const text = left >= 0 ? `in ${formatDuration(left)}` : `overdue ${formatDuration(-left)}`;
  return `<span class="${left >= 0 ? "" : "bad-text"}" data-until="${lease.phaseDeadlineMs}">${text}</span>`;
}

function since(ms: number, nowMs: number): string {
  return `<span data-since="${ms}">${escapeHtml(formatAge(ms, nowMs))}</span>`;
}

/** A table whose cells carry their column name, for the card layout on a phone; `rowAttrs` are escaped attributes per row. */
export function table(id: string, head: readonly string[], rows: readonly (readonly [string, string][])[], rowAttrs: readonly string[] = []): string {
  const th = head.map((h) => `<th scope="col">${h}</th>`).join("");
  const body = rows
    .map((cells, i) => `<tr${rowAttrs[i] ? ` ${rowAttrs[i]}` : ""}>${cells.map(([label, html]) => `<td data-label="${label}">${html}</td>`).join("")}</tr>`)
    .join("");
  return `<div class="scroll"><table id="${id}"><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** Lease holders and the FIFO queue with each request's position and why it waits. */
export function renderLeases(s: ClusterSnapshot, nowMs: number): string {
  const held =
    s.leases.length === 0
      ? `<p class="muted">No lease held.</p>`
      : table(
          "lease-table",
          ["Node", "Kind", "State", "Fencing", "Revision", "Granted", "Phase deadline"],
          s.leases.map((l) => [
            ["Node", `<strong>${escapeHtml(l.node)}</strong> <span class="role">${escapeHtml(l.role)}</span>`],
            ["Kind", escapeHtml(l.kind)],
            ["State", `<span class="badge busy">${escapeHtml(l.state)}</span>${l.etcdSnapshot ? ` <span class="muted">etcd snapshot <code>${escapeHtml(l.etcdSnapshot)}</code></span>` : ""}`],
            ["Fencing", String(l.fencingToken)],
            ["Revision", `<code>${escapeHtml(shortRevision(l.revision))}</code>`],
            ["Granted", since(l.grantedAtMs, nowMs)],
            ["Phase deadline", deadlineText(l, nowMs)],
          ]),
        );
  const queue =
    s.queue.length === 0
      ? `<p class="muted">Queue empty.</p>`
      : table(
          "queue-table",
          ["#", "Node", "Kind", "Requested", "Waiting because"],
          s.queue.map((l) => [
            ["#", String(l.queuePosition)],
            ["Node", `<strong>${escapeHtml(l.node)}</strong> <span class="role">${escapeHtml(l.role)}</span>`],
            ["Kind", escapeHtml(l.kind)],
            ["Requested", since(l.requestedAtMs, nowMs)],
            ["Waiting because", escapeHtml(l.waitingReason)],
          ]),
        );
  return `<section class="leases"><h2>Leases <span class="count">${s.leases.length}</span></h2>${held}<h2>Queue <span class="count">${s.queue.length}</span></h2>${queue}</section>`;
}
