// The Prometheus alert check: firing alerts block, unless excluded or silenced in Alertmanager.
import type { CheckSpec } from "../../../shared/src/inventory/model.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import { activeSilences, silencedBy, type Silence } from "./alert-silences.js";
import { get, readCapped } from "./fetch-capped.js";

type PrometheusSpec = Extract<CheckSpec, { kind: "prometheus" }>;

/** Prometheus' alert list of a large cluster can be big, but not this big. */
export const MAX_PROMETHEUS_BODY_BYTES = 16 << 20;

interface Alert {
  readonly name: string;
  readonly state: string;
  readonly labels: Readonly<Record<string, string>>;
}

export async function prometheusCheck(spec: PrometheusSpec, timeoutMs: number, signal?: AbortSignal): Promise<{ ok: boolean; message: string }> {
  const res = await get(`${spec.url.replace(/\/+$/, "")}/api/v1/alerts`, timeoutMs, signal, "application/json");
  const { text, truncated } = await readCapped(res, MAX_PROMETHEUS_BODY_BYTES);
  if (res.status !== 200) return { ok: false, message: `Prometheus answered HTTP ${res.status}` };
  if (truncated) return { ok: false, message: `Prometheus answered with more than ${MAX_PROMETHEUS_BODY_BYTES} bytes of alerts; nk reads no more` };
  const alerts = parseAlerts(text);
  if (typeof alerts === "string") return { ok: false, message: alerts };
  const firing = alerts.filter((a) => a.state === "firing");
  const chosen = firing.filter((a) => (spec.include.length === 0 || spec.include.includes(a.name)) && !spec.exclude.includes(a.name));
  // Silences are read only when they could change the answer, and a silence list that cannot be read fails the check.
  let silences: Silence[] = [];
  if (spec.alertmanager && !spec.silencedBlocks && chosen.length > 0) {
    const read = await activeSilences(spec.alertmanager, timeoutMs, signal);
    if (typeof read === "string") return { ok: false, message: `alerts firing (${summarize(chosen.map((a) => a.name))}) and silences unknown: ${read}` };
    silences = read;
  }
  const silenced = chosen.filter((a) => silencedBy(silences, a.labels));
  const counts = chosen.filter((a) => !silenced.includes(a)).map((a) => a.name);
  const ignored = [...new Set(firing.filter((a) => !chosen.includes(a)).map((a) => a.name))].sort();
  const muted = [...new Set(silenced.map((a) => a.name))].sort();
  const notes = [ignored.length > 0 ? `ignored: ${ignored.join(", ")}` : "", muted.length > 0 ? `silenced: ${muted.join(", ")}` : ""].filter(Boolean).join("; ");
  if (counts.length > 0) return { ok: false, message: `alerts firing: ${summarize(counts)}${muted.length > 0 ? ` (silenced: ${muted.join(", ")})` : ""}` };
  return { ok: true, message: notes === "" ? "no alerts firing" : `no blocking alerts firing (${notes})` };
}

/** Alert names sorted, repeated ones counted: "CephHealthWarning, KubeNodeNotReady x2". */
function summarize(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([n, c]) => (c > 1 ? `${n} x${c}` : n)).join(", ");
}

function parseAlerts(text: string): Alert[] | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return `Prometheus answered with invalid JSON: ${errorMessage(err)}`;
  }
  const data = (json as { status?: unknown; data?: { alerts?: unknown } } | null)?.data;
  if ((json as { status?: unknown } | null)?.status !== "success" || !Array.isArray(data?.alerts)) {
    return "Prometheus answered without a successful data.alerts list";
  }
  return (data.alerts as unknown[]).map((a) => {
    const alert = a as { labels?: Record<string, unknown>; state?: unknown } | null;
    const labels = Object.fromEntries(Object.entries(alert?.labels ?? {}).filter((e): e is [string, string] => typeof e[1] === "string"));
    return { name: labels.alertname ?? "(unnamed)", state: typeof alert?.state === "string" ? alert.state : "", labels };
  });
}

