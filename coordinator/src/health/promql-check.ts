// The PromQL gate: an instant query (GET /api/v1/query) whose every sample must satisfy a comparison.
import type { CheckSpec, PromqlOp } from "../../../shared/src/inventory/model.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import { get, readCapped } from "./fetch-capped.js";

type PromqlSpec = Extract<CheckSpec, { kind: "promql" }>;

const MAX_QUERY_BODY_BYTES = 4 << 20;

const COMPARE: Record<PromqlOp, (a: number, b: number) => boolean> = {
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
};

interface Sample {
  readonly labels: string;
  readonly value: number;
}

/** `{job="x", instance="y"}`, or the empty string for a label-less sample. */
function labelText(metric: Record<string, unknown> | undefined): string {
  const entries = Object.entries(metric ?? {}).filter(([k]) => k !== "__name__");
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${String(v)}"`).join(", ")}}`;
}

/** The samples of a vector or scalar answer; a string says why the answer is unusable. */
function samplesOf(json: unknown): Sample[] | string {
  const body = json as { status?: unknown; error?: unknown; errorType?: unknown; data?: { resultType?: unknown; result?: unknown } } | null;
  if (body?.status === "error") return `Prometheus refused the query: ${String(body.errorType ?? "error")}: ${String(body.error ?? "")}`;
  if (body?.status !== "success") return "Prometheus answered without status success";
  const { resultType, result } = body.data ?? {};
  const value = (pair: unknown): number => Number((pair as [number, string] | undefined)?.[1]);
  if (resultType === "scalar") return [{ labels: "", value: value(result) }];
  if (resultType === "vector" && Array.isArray(result)) {
    return result.map((r: { metric?: Record<string, unknown>; value?: unknown }) => ({ labels: labelText(r.metric), value: value(r.value) }));
  }
  return `the query returned a ${String(resultType)}, not an instant vector or scalar`;
}

export async function promqlCheck(spec: PromqlSpec, timeoutMs: number, signal?: AbortSignal): Promise<{ ok: boolean; message: string }> {
  const url = `${spec.url.replace(/\/+$/, "")}/api/v1/query?query=${encodeURIComponent(spec.query)}`;
  const res = await get(url, timeoutMs, signal, "application/json");
  const { text, truncated } = await readCapped(res, MAX_QUERY_BODY_BYTES);
  if (truncated) return { ok: false, message: `Prometheus answered with more than ${MAX_QUERY_BODY_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `Prometheus answered HTTP ${res.status} with invalid JSON: ${errorMessage(err)}` };
  }
  const samples = samplesOf(json);
  if (typeof samples === "string") return { ok: false, message: res.status === 200 ? samples : `HTTP ${res.status}: ${samples}` };
  const want = `${spec.op} ${spec.value}`;
  if (samples.length === 0) return { ok: spec.onEmpty === "pass", message: `the query returned no samples (on_empty: ${spec.onEmpty})` };
  const bad = samples.filter((s) => Number.isNaN(s.value) || !COMPARE[spec.op](s.value, spec.value));
  if (bad.length > 0) {
    const shown = bad.slice(0, 3).map((s) => `${s.labels}${s.labels ? " " : ""}${s.value}`).join(", ");
    return { ok: false, message: `${bad.length} of ${samples.length} sample(s) not ${want}: ${shown}${bad.length > 3 ? ", ..." : ""}` };
  }
  return { ok: true, message: samples.length === 1 ? `${samples[0]!.value} ${want}` : `all ${samples.length} samples ${want}` };
}
