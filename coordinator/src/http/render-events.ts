// Renders the recent-events list of the status page, newest first.
import type { EventView } from "../status/index.js";
import { escapeHtml, formatClock } from "./html-escape.js";

const MAX_FIELDS = 8;

function eventItem(e: EventView): string {
  const fields = Object.entries(e.fields)
    .slice(0, MAX_FIELDS)
    .map(([k, v]) => `<span class="field">${escapeHtml(k)}=${escapeHtml(v)}</span>`)
    .join(" ");
  const iso = new Date(e.timeMs).toISOString();
  const node = e.node === "" ? "" : ` <strong>${escapeHtml(e.node)}</strong>`;
  return (
    `<li data-seq="${e.seq}"><time datetime="${iso}" title="${iso}">${formatClock(e.timeMs)}</time> ` +
    `<span class="kind">${escapeHtml(e.kind)}</span>${node} <span class="msg">${escapeHtml(e.message)}</span>` +
    `${fields === "" ? "" : ` <span class="fields">${fields}</span>`}</li>`
  );
}

/** Inner HTML of the events list, newest first whatever order `events` come in. */
export function renderEvents(events: readonly EventView[]): string {
  if (events.length === 0) return `<li class="muted">No events yet.</li>`;
  return [...events].sort((a, b) => b.seq - a.seq).map(eventItem).join("");
}
