// Runs the coordinator's own cluster checks: HTTP endpoints, Prometheus alerts and PromQL gates (command checks go to agents).
import type { CheckSpec, ClusterCheck } from "../../../shared/src/inventory/model.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { CheckOutcome } from "./check-dispatcher.js";
import { formatSeconds } from "./health-timers.js";
import { get, readCapped } from "./fetch-capped.js";
import { prometheusCheck } from "./prometheus-alerts.js";
import { promqlCheck } from "./promql-check.js";

type HttpSpec = Extract<CheckSpec, { kind: "http" }>;

/** Bytes of an HTTP check's body read for matching; health endpoints answer in bytes, not megabytes. */
export const MAX_HTTP_CHECK_BODY_BYTES = 1 << 20;
export { MAX_PROMETHEUS_BODY_BYTES } from "./prometheus-alerts.js";

export class CheckRunner {
  constructor(private readonly now: () => number = Date.now) {}

  /** Never throws: connection errors, timeouts and bad answers are failing outcomes carrying the error. */
  async run(check: ClusterCheck, signal?: AbortSignal): Promise<CheckOutcome> {
    const timeoutMs = Math.round(check.timeoutSeconds * 1_000);
    const spec = check.spec;
    try {
      if (spec.kind === "http") return this.outcome(check.name, await httpCheck(spec, timeoutMs, signal));
      if (spec.kind === "prometheus") return this.outcome(check.name, await prometheusCheck(spec, timeoutMs, signal));
      if (spec.kind === "promql") return this.outcome(check.name, await promqlCheck(spec, timeoutMs, signal));
      return this.outcome(check.name, { ok: false, message: "command checks run on agents, not on the coordinator" });
    } catch (err) {
      return this.outcome(check.name, { ok: false, message: describeFetchError(err, timeoutMs) });
    }
  }

  private outcome(name: string, r: { ok: boolean; message: string }): CheckOutcome {
    return { name, ok: r.ok, message: r.message, observedAtMs: this.now() };
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

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return err.name === "TimeoutError" ? `no answer within ${formatSeconds(timeoutMs)}` : "check aborted";
  }
  const cause = err instanceof Error ? err.cause : undefined;
  return cause === undefined ? errorMessage(err) : `${errorMessage(err)}: ${errorMessage(cause)}`;
}
