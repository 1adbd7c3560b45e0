// Renders the "Builds" section of the status page (builders mode): per revision the counts, per node its job.
import type { BuildJobView } from "../build/build-farm.js";
import { escapeHtml, shortRevision } from "./html-escape.js";

const TONE: Record<BuildJobView["state"], string> = { queued: "", building: "busy", pushed: "ok", failed: "bad" };
const STATES = ["queued", "building", "pushed", "failed"] as const;

/** "2 pushed, 1 building": the non-zero states of a group of jobs, in pipeline order. */
export function buildCountsText(jobs: readonly BuildJobView[]): string {
  return STATES.map((s) => [s, jobs.filter((j) => j.state === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(", ");
}

/** Jobs grouped by revision, in the order their first node appears. */
export function byRevision(jobs: readonly BuildJobView[]): Map<string, BuildJobView[]> {
  const out = new Map<string, BuildJobView[]>();
  for (const j of jobs) out.set(j.revision, [...(out.get(j.revision) ?? []), j]);
  return out;
}

const DISRUPTION_TONE: Record<string, string> = { reboot: "bad", switch: "ok", "no-op": "", unknown: "warn" };

/** A pushed build's expected disruption (from the builder's boot paths, before the node fetches): badge and why. */
function expectedCell(j: BuildJobView): string {
  if (j.disruption === "") return "";
  return `<span class="badge ${DISRUPTION_TONE[j.disruption] ?? ""}">${escapeHtml(j.disruption)}</span> ${escapeHtml(j.disruptionReason)}`;
}

/** Empty outside builders mode (no `builds` in the snapshot). */
export function renderBuilds(builds: readonly BuildJobView[] | undefined): string {
  if (builds === undefined) return "";
  if (builds.length === 0) return `<section id="builds"><h2>Builds</h2><p class="meta">no build jobs yet</p></section>`;
  const groups = [...byRevision(builds)].map(([revision, jobs]) => {
    const rows = jobs
      .map(
        (j) =>
          `<tr data-node="${escapeHtml(j.node)}"><td>${escapeHtml(j.node)}</td><td><span class="badge ${TONE[j.state]}">${escapeHtml(j.state)}</span></td>` +
          `<td>${escapeHtml(j.builder || "-")}</td><td>${escapeHtml(j.error)}</td><td class="expected">${expectedCell(j)}</td></tr>`,
      )
      .join("");
    return (
      `<h3 data-revision="${escapeHtml(revision)}"><code title="${escapeHtml(revision)}">${escapeHtml(shortRevision(revision))}</code> ${escapeHtml(buildCountsText(jobs))}</h3>` +
      `<table class="builds"><thead><tr><th>node</th><th>state</th><th>builder</th><th>error</th><th>expected disruption</th></tr></thead><tbody>${rows}</tbody></table>`
    );
  });
  return `<section id="builds"><h2>Builds</h2>${groups.join("")}</section>`;
}
