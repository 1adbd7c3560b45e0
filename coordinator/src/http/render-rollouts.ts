// Renders the rollout timelines (current and previous revision) and the per-revision history table of the status page.
import type { RevisionRollout } from "../status/index.js";
import { escapeHtml, formatAge, formatClock, shortRevision } from "./html-escape.js";
import { table } from "./render-rollout.js";
import { formatSpan, OUTCOME_TONE, renderLegend, renderTimelineChart } from "./render-timeline.js";

/** Rollouts the page asks the StatusSource for: the history table's rows (the first two also get a chart). */
export const ROLLOUT_HISTORY_LIMIT = 10;
const CHARTS = 2;

function outcomeBadge(r: RevisionRollout): string {
  const title = r.haltReason === "" ? "" : ` title="${escapeHtml(r.haltReason)}"`;
  return `<span class="badge ${OUTCOME_TONE[r.outcome]}"${title}>${escapeHtml(r.outcome.replace("-", " "))}</span>`;
}

function revisionCode(r: RevisionRollout): string {
  return `<code title="${escapeHtml(r.revision)}">${escapeHtml(shortRevision(r.revision))}</code>`;
}

/** The commit's author (e-mail on hover), and the HTTP user the push came in as when that is another name. */
function pushedBy(r: RevisionRollout): string {
  const author = r.commit ? `<span title="${escapeHtml(r.commit.email)}">${escapeHtml(r.commit.author)}</span>` : "";
  const same = r.commit !== null && r.commit.author.toLowerCase() === r.pushedBy.toLowerCase();
  const via = r.pushedBy === "" || same ? "" : `<span class="sub">pushed as ${escapeHtml(r.pushedBy)}</span>`;
  if (author === "" && via === "") return `<span class="muted">unknown</span>`;
  return [author, via].filter((p) => p !== "").join(" ");
}

function took(r: RevisionRollout, nowMs: number): string {
  if (r.endedAtMs !== null) return formatSpan(r.endedAtMs - r.adoptedAtMs);
  return `<span class="busy">${formatSpan(nowMs - r.adoptedAtMs)} so far</span>`;
}

function chartCard(r: RevisionRollout, label: string, nowMs: number): string {
  const subject = r.commit ? ` <span class="subject">${escapeHtml(r.commit.subject)}</span>` : "";
  const facts = [
    `adopted <time datetime="${new Date(r.adoptedAtMs).toISOString()}">${formatClock(r.adoptedAtMs)}</time>`,
    `took ${took(r, nowMs)}`,
    `${r.reboots} reboot${r.reboots === 1 ? "" : "s"}`,
    `${r.nodes.length} node${r.nodes.length === 1 ? "" : "s"} moved`,
  ];
  return (
    `<div class="tl-card" data-revision="${escapeHtml(r.revision)}"><div class="tl-head">` +
    `<span class="tl-label">${label}</span> ${revisionCode(r)}${subject} ${outcomeBadge(r)}` +
    `<span class="tl-facts">${pushedBy(r)} · ${facts.join(" · ")}</span></div>${renderTimelineChart(r, nowMs)}</div>`
  );
}

/** The live timeline of the newest rollout and of the one before it. */
export function renderTimelines(rollouts: readonly RevisionRollout[], nowMs: number): string {
  if (rollouts.length === 0) return "";
  const cards = rollouts.slice(0, CHARTS).map((r, i) => chartCard(r, i === 0 ? "Current" : "Previous", nowMs));
  return `<section id="timeline"><h2>Rollout timeline</h2>${renderLegend()}${cards.join("")}</section>`;
}

/** One row per revision: who pushed, when, how long the rollout took, how many reboots, how it ended. */
export function renderRolloutHistory(rollouts: readonly RevisionRollout[], nowMs: number): string {
  if (rollouts.length === 0) return "";
  const rows = rollouts.map((r): [string, string][] => {
    const subject = r.commit ? `<div class="sub">${escapeHtml(r.commit.subject)}</div>` : "";
    const done = r.nodes.filter((n) => n.outcome === "done").length;
    return [
      ["Revision", `${revisionCode(r)}${subject}`],
      ["Pushed by", pushedBy(r)],
      ["Adopted", `<span data-since="${r.adoptedAtMs}">${escapeHtml(formatAge(r.adoptedAtMs, nowMs))}</span> <span class="sub">${formatClock(r.adoptedAtMs)}</span>`],
      ["Took", took(r, nowMs)],
      ["Nodes done", `${done}/${r.changed.length}`],
      ["Reboots", String(r.reboots)],
      ["Outcome", outcomeBadge(r)],
    ];
  });
  const head = ["Revision", "Pushed by", "Adopted", "Took", "Nodes done", "Reboots", "Outcome"];
  return `<section id="history"><h2>Rollout history <span class="count">${rollouts.length}</span></h2>${table("history-table", head, rows, rollouts.map((r) => `data-revision="${escapeHtml(r.revision)}"`))}</section>`;
}
