// Renders the "Manifests" section of the status page: apply state, last error, and each object's outcome and health.
import type { ManifestsView } from "../manifests/manifests-view.js";
import { escapeHtml, formatAge, formatClock, shortRevision } from "./html-escape.js";

const TONE: Record<string, string> = { applied: "ok", applying: "busy", waiting: "busy", failed: "bad", manual: "warn", disabled: "warn", standby: "", idle: "" };
const ACTION_TONE: Record<string, string> = { created: "ok", configured: "ok", unchanged: "", pruned: "warn", kept: "", conflict: "bad", failed: "bad", skipped: "bad", pending: "busy" };
const HEALTH_TONE: Record<string, string> = { healthy: "ok", progressing: "busy", degraded: "bad", missing: "bad", unknown: "" };

function badge(word: string, tone: string | undefined): string {
  return `<span class="badge ${tone ?? ""}">${escapeHtml(word)}</span>`;
}

export function renderManifests(m: ManifestsView, nowMs: number): string {
  if (m.revision === "" && m.objects.length === 0) return "";
  const retry = m.nextRetryMs > 0 ? ` · retry at ${escapeHtml(formatClock(m.nextRetryMs))} UTC` : "";
  const attempted = m.lastAttemptMs > 0 ? ` · last attempt <span data-since="${m.lastAttemptMs}">${escapeHtml(formatAge(m.lastAttemptMs, nowMs))}</span>` : "";
  const applied = m.appliedRevision === "" ? "never applied" : `applied <code title="${escapeHtml(m.appliedRevision)}">${escapeHtml(shortRevision(m.appliedRevision))}</code>`;
  const head = `<p>${badge(m.state, TONE[m.state])} mode <code>${escapeHtml(m.mode)}</code> · ${applied}${m.failures > 0 ? ` · ${m.failures} failed attempt(s)` : ""}${attempted}${retry}</p>`;
  const error = m.error === "" ? "" : `<p class="reason bad" role="alert">${escapeHtml(m.error)}</p>`;
  const rows = m.objects
    .map((o) => `<tr><td><code>${escapeHtml(o.key)}</code></td><td>${escapeHtml(o.source)}</td><td>${badge(o.action, ACTION_TONE[o.action])}${o.message === "" ? "" : ` ${escapeHtml(o.message)}`}</td><td>${badge(o.health, HEALTH_TONE[o.health])}${o.healthDetail === "" ? "" : ` ${escapeHtml(o.healthDetail)}`}</td></tr>`)
    .join("");
  const table = m.objects.length === 0 ? "" : `<table class="manifests"><thead><tr><th>object</th><th>source</th><th>last apply</th><th>health</th></tr></thead><tbody>${rows}</tbody></table>`;
  return `<section id="manifests"><h2>Manifests</h2>${head}${error}${table}</section>`;
}
