// HTML escaping and the small text formatters the status page uses; everything from outside goes through escapeHtml.

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for element content and quoted attribute values alike. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

/** First 8 characters of a git revision, or an em dash when there is none. */
export function shortRevision(revision: string): string {
  return revision === "" ? "—" : revision.slice(0, 8);
}

/** "4s", "12m", "3h", "2d": compact enough for a table cell on a phone. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** Age of a past timestamp relative to now, "never" for 0. */
export function formatAge(thenMs: number, nowMs: number): string {
  return thenMs <= 0 ? "never" : `${formatDuration(nowMs - thenMs)} ago`;
}

/** Wall-clock time of day in UTC, e.g. "14:03:27"; the full ISO time goes in the title attribute. */
export function formatClock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
