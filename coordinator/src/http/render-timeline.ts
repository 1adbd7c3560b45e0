// Renders a rollout as an inline SVG timeline: one row per node, its lease phases as bars on a shared time axis.
import { TIMELINE_PHASES, type NodeRollout, type RevisionRollout, type RolloutOutcome } from "../status/index.js";
import { escapeHtml, formatClock, shortRevision } from "./html-escape.js";

// SVG user units; the chart scales to its box, which keeps a minimum width (it scrolls on a phone).
const WIDTH = 1000;
const LABEL_W = 130;
const RIGHT_PAD = 18;
const AXIS_H = 24;
const ROW_H = 26;
const BAR_H = 16;
const MIN_SPAN_MS = 10_000;
const TICK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
const MAX_TICKS = 8;

export const OUTCOME_TONE: Readonly<Record<RolloutOutcome, string>> = { "rolling-out": "busy", converged: "ok", halted: "bad", failed: "bad", superseded: "muted" };

/** "45s", "2m 05s", "1h 03m": precise enough to compare phases of one rollout. */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** Axis labels relative to the adoption: "+0", "+30s", "+1m 30s". */
function tickLabel(ms: number): string {
  return ms === 0 ? "+0" : `+${formatSpan(ms).replace(/ 00s$/, "")}`;
}

function tickStepMs(spanMs: number): number {
  const step = TICK_STEPS_S.find((s) => (spanMs / 1000) / s <= MAX_TICKS) ?? TICK_STEPS_S[TICK_STEPS_S.length - 1]!;
  return step * 1000;
}

function num(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

interface Scale {
  readonly x: (ms: number) => number;
  readonly fromMs: number;
  readonly toMs: number;
}

function scaleFor(r: RevisionRollout, nowMs: number): Scale {
  const fromMs = r.adoptedAtMs;
  const toMs = Math.max(r.endedAtMs ?? nowMs, fromMs + MIN_SPAN_MS);
  const plot = WIDTH - LABEL_W - RIGHT_PAD;
  return { fromMs, toMs, x: (ms) => LABEL_W + (Math.min(Math.max(ms, fromMs), toMs) - fromMs) * (plot / (toMs - fromMs)) };
}

function axis(scale: Scale, height: number): string {
  const step = tickStepMs(scale.toMs - scale.fromMs);
  const parts: string[] = [];
  for (let t = 0; scale.fromMs + t <= scale.toMs; t += step) {
    const x = num(scale.x(scale.fromMs + t));
    parts.push(`<line class="grid" x1="${x}" y1="${AXIS_H - 4}" x2="${x}" y2="${height}"/><text class="tick" x="${x}" y="${AXIS_H - 9}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  return parts.join("");
}

function nodeRow(n: NodeRollout, i: number, scale: Scale, nowMs: number): string {
  const y = AXIS_H + i * ROW_H;
  const barY = num(y + (ROW_H - BAR_H) / 2);
  const tone = n.outcome === "failed" ? " bad" : n.outcome === "in-progress" ? " busy" : "";
  const parts = [
    `<text class="node${tone}" x="${LABEL_W - 10}" y="${num(y + ROW_H / 2 + 4.5)}" text-anchor="end">${escapeHtml(n.node)}${n.rebooted ? " ⟳" : ""}</text>`,
  ];
  for (const s of n.spans) {
    const end = s.endMs ?? nowMs;
    const x1 = scale.x(s.startMs);
    const w = Math.max(2, scale.x(end) - x1);
    const open = s.endMs === null ? " open" : "";
    const title = `${n.node}: ${s.phase} ${formatClock(s.startMs)}–${s.endMs === null ? "now" : formatClock(s.endMs)} (${formatSpan(end - s.startMs)})`;
    parts.push(
      `<rect class="span ph-${s.phase}${open}" data-node="${escapeHtml(n.node)}" data-phase="${s.phase}" data-start="${s.startMs}" x="${num(x1)}" y="${barY}" width="${num(w)}" height="${BAR_H}" rx="3"><title>${escapeHtml(title)}</title></rect>`,
    );
  }
  const last = n.spans[n.spans.length - 1];
  if (n.outcome === "failed" && last) {
    const x = num(Math.min(scale.x(last.endMs ?? nowMs) + 9, WIDTH - 6));
    parts.push(`<text class="failed-mark" x="${x}" y="${num(y + ROW_H / 2 + 5)}" text-anchor="middle">✕<title>${escapeHtml(`${n.node} failed and rolled back`)}</title></text>`);
  }
  if (n.appliedAtMs !== null) {
    const x = scale.x(n.appliedAtMs);
    const cy = y + ROW_H / 2;
    const d = 6;
    parts.push(
      `<path class="applied" data-node="${escapeHtml(n.node)}" d="M${num(x)} ${num(cy - d)}L${num(x + d)} ${num(cy)}L${num(x)} ${num(cy + d)}L${num(x - d)} ${num(cy)}Z"><title>${escapeHtml(`${n.node}: switched to this revision at ${formatClock(n.appliedAtMs)}`)}</title></path>`,
    );
  }
  return `<g class="tl-row" data-node="${escapeHtml(n.node)}">${parts.join("")}</g>`;
}

/** The chart of one rollout; nodes top to bottom in the order they started. */
export function renderTimelineChart(r: RevisionRollout, nowMs: number): string {
  if (r.nodes.length === 0) return `<p class="muted">No node changed with this revision.</p>`;
  const scale = scaleFor(r, nowMs);
  const height = AXIS_H + r.nodes.length * ROW_H + 4;
  const nowLine =
    r.endedAtMs === null && nowMs <= scale.toMs
      ? `<line class="now" x1="${num(scale.x(nowMs))}" y1="${AXIS_H - 4}" x2="${num(scale.x(nowMs))}" y2="${height}"><title>now</title></line>`
      : "";
  // Every other row shaded, under the grid and the bars, so a bar is easy to follow to its node.
  const stripes = r.nodes.map((_, i) => (i % 2 === 1 ? `<rect class="stripe" x="0" y="${AXIS_H + i * ROW_H}" width="${WIDTH}" height="${ROW_H}"/>` : "")).join("");
  const label = `Rollout of ${shortRevision(r.revision)}: ${r.nodes.map((n) => n.node).join(", ")}`;
  return (
    `<div class="tl-scroll"><svg class="timeline" viewBox="0 0 ${WIDTH} ${height}" preserveAspectRatio="xMinYMin meet" role="img" aria-label="${escapeHtml(label)}">` +
    `${stripes}${axis(scale, height)}${r.nodes.map((n, i) => nodeRow(n, i, scale, nowMs)).join("")}${nowLine}</svg></div>`
  );
}

/** Swatches naming each bar colour, once per page. */
export function renderLegend(): string {
  const items = TIMELINE_PHASES.map((p) => `<span class="lg"><span class="sw ph-${p}"></span>${p}</span>`);
  items.push(`<span class="lg"><span class="sw applied"></span>switched</span>`, `<span class="lg">⟳ rebooted</span>`);
  return `<p class="legend">${items.join("")}</p>`;
}
