// Runs the coordinator's own cluster checks: HTTP endpoints and Prometheus alerts (command checks go to agents).
import type { CheckSpec, ClusterCheck } from "../../../shared/src/inventory/model.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { CheckOutcome } from "./check-dispatcher.js";
import { formatSeconds } from "./health-timers.js";

type HttpSpec = Extract<CheckSpec, { kind: "http" }>;
type PrometheusSpec = Extract<CheckSpec, { kind: "prometheus" }>;

/** Bytes of an HTTP check's body read for matching; health endpoints answer in bytes, not megabytes. */
export const MAX_HTTP_CHECK_BODY_BYTES = 1 << 20;
/** Prometheus' alert list of a large cluster can be big, but not this big. */
export const MAX_PROMETHEUS_BODY_BYTES = 16 << 20;

interface Alert {
  readonly name: string;
  readonly state: string;
}

export class CheckRunner {
  constructor(private readonly now: () => number = Date.now) {}

  /** Never throws: connection errors, timeouts and bad answers are failing outcomes carrying the error. */
  async run(check: ClusterCheck, signal?: AbortSignal): Promise<CheckOutcome> {
    const timeoutMs = Math.round(check.timeoutSeconds * 1_000);
    const spec = check.spec;
    try {
      if (spec.kind === "http") return this.outcome(check.name, await httpCheck(spec, timeoutMs, signal));
      if (spec.kind === "prometheus") return this.outcome(check.name, await prometheusCheck(spec, timeoutMs, signal));
      return this.outcome(check.name, { ok: false, message: "command checks run on agents, not on the coordinator" });
    } catch (err) {
      return this.outcome(check.name, { ok: false, message: describeFetchError(err, timeoutMs) });
    }
  }

  private outcome(name: string, r: { ok: boolean; message: string }): CheckOutcome {
    return { name, ok: r.ok, message: r.message, observedAtMs: this.now() };
  }
}

async function get(url: string, timeoutMs: number, signal: AbortSignal | undefined, accept: string): Promise<Response> {
  const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
  return fetch(url, { headers: { accept }, signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]) });
}

/**
 * At most `max` bytes of the body; the rest is never read (the connection is dropped), so a huge
 * or endless answer costs no more memory than that.
 */
export async function readCapped(res: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  if (res.body === null) return { text: "", truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: Buffer.concat(chunks).toString("utf8"), truncated: false };
    if (size + value.length > max) {
      chunks.push(value.subarray(0, max - size));
      await reader.cancel().catch(() => undefined);
      return { text: Buffer.concat(chunks).toString("utf8"), truncated: true };
    }
    chunks.push(value);
    size += value.length;
  }
}

async function httpCheck(spec: HttpSpec, timeoutMs: number, signal?: AbortSignal): Promise<{ ok: boolean; message: string }> {
  const res = await get(spec.url, timeoutMs, signal, "*/*");
  const { text: body, truncated } = await readCapped(res, MAX_HTTP_CHECK_BODY_BYTES);
  if (res.status !== spec.expectStatus) return { ok: false, message: `expected HTTP ${spec.expectStatus}, got ${res.status}` };
  if (spec.expectBody !== undefined && !body.includes(spec.expectBody)) {
    const note = truncated ? ` (only its first ${MAX_HTTP_CHECK_BODY_BYTES} bytes are read)` : "";
    return { ok: false, message: `HTTP ${res.status} but the body does not contain ${JSON.stringify(spec.expectBody)}${note}` };
  }
  return { ok: true, message: `HTTP ${res.status}` };
}

async function prometheusCheck(spec: PrometheusSpec, timeoutMs: number, signal?: AbortSignal): Promise<{ ok: boolean; message: string }> {
  const res = await get(`${spec.url.replace(/\/+$/, "")}/api/v1/alerts`, timeoutMs, signal, "application/json");
  const { text, truncated } = await readCapped(res, MAX_PROMETHEUS_BODY_BYTES);
  if (res.status !== 200) return { ok: false, message: `Prometheus answered HTTP ${res.status}` };
  if (truncated) return { ok: false, message: `Prometheus answered with more than ${MAX_PROMETHEUS_BODY_BYTES} bytes of alerts; nk reads no more` };
  const alerts = parseAlerts(text);
  if (typeof alerts === "string") return { ok: false, message: alerts };
  const firing = alerts.filter((a) => a.state === "firing").map((a) => a.name);
  const counts = (spec.include.length === 0 ? firing : firing.filter((n) => spec.include.includes(n))).filter((n) => !spec.exclude.includes(n));
  const ignored = [...new Set(firing.filter((n) => !counts.includes(n)))].sort();
  if (counts.length > 0) return { ok: false, message: `alerts firing: ${summarize(counts)}` };
  return { ok: true, message: ignored.length === 0 ? "no alerts firing" : `no blocking alerts firing (ignored: ${ignored.join(", ")})` };
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
    const alert = a as { labels?: { alertname?: unknown }; state?: unknown } | null;
    const name = alert?.labels?.alertname;
    return { name: typeof name === "string" ? name : "(unnamed)", state: typeof alert?.state === "string" ? alert.state : "" };
  });
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return err.name === "TimeoutError" ? `no answer within ${formatSeconds(timeoutMs)}` : "check aborted";
  }
  const cause = err instanceof Error ? err.cause : undefined;
  return cause === undefined ? errorMessage(err) : `${errorMessage(err)}: ${errorMessage(cause)}`;
}
