// Alertmanager silences (API v2): which firing alerts an active silence covers, matched as Alertmanager does.
import { errorMessage } from "../../../shared/src/errors/index.js";
import { get, readCapped } from "./fetch-capped.js";

export interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  /** False for != and !~ (Alertmanager 0.22+); absent means equal. */
  readonly isEqual: boolean;
}

export interface Silence {
  readonly id: string;
  readonly matchers: readonly Matcher[];
  readonly createdBy: string;
}

/** Silences are few; a list bigger than this is not what Alertmanager sends. */
const MAX_SILENCES_BODY_BYTES = 4 << 20;

function matches(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const v = labels[m.name] ?? "";
  let hit: boolean;
  try {
    hit = m.isRegex ? new RegExp(`^(?:${m.value})$`).test(v) : v === m.value;
  } catch {
    hit = false;
  }
  return m.isEqual ? hit : !hit;
}

/** The first active silence that matches every label matcher, if any. */
export function silencedBy(silences: readonly Silence[], labels: Readonly<Record<string, string>>): Silence | undefined {
  return silences.find((s) => s.matchers.length > 0 && s.matchers.every((m) => matches(m, labels)));
}

/** Active silences from `GET <alertmanager>/api/v2/silences`; a string says why they could not be read. */
export async function activeSilences(alertmanager: string, timeoutMs: number, signal?: AbortSignal): Promise<Silence[] | string> {
  const res = await get(`${alertmanager.replace(/\/+$/, "")}/api/v2/silences`, timeoutMs, signal, "application/json");
  const { text, truncated } = await readCapped(res, MAX_SILENCES_BODY_BYTES);
  if (res.status !== 200) return `Alertmanager answered HTTP ${res.status}`;
  if (truncated) return `Alertmanager answered with more than ${MAX_SILENCES_BODY_BYTES} bytes of silences`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return `Alertmanager answered with invalid JSON: ${errorMessage(err)}`;
  }
  if (!Array.isArray(json)) return "Alertmanager answered without a list of silences";
  return json.flatMap((raw) => {
    const s = raw as { id?: unknown; status?: { state?: unknown }; matchers?: unknown; createdBy?: unknown } | null;
    if (s?.status?.state !== "active" || !Array.isArray(s.matchers)) return [];
    const matchers = (s.matchers as Array<{ name?: unknown; value?: unknown; isRegex?: unknown; isEqual?: unknown } | null>).map((m) => ({
      name: String(m?.name ?? ""),
      value: String(m?.value ?? ""),
      isRegex: m?.isRegex === true,
      isEqual: m?.isEqual !== false,
    }));
    return [{ id: String(s.id ?? ""), matchers, createdBy: String(s.createdBy ?? "") }];
  });
}
