// The API VIP invariant: at every instant the VIP is held by a node outside its disruption window (cordon to
// uncordon), except for the length of one VRRP failover.
import type { DisruptionWindow } from "../support/disruption-windows.js";

/** One look at the election: the holder was true at some instant in [fromMs, toMs] (the poll's read). */
export interface VipSample {
  readonly fromMs: number;
  readonly toMs: number;
  readonly holder: string | null;
}

/**
 * VRRP's master-down interval with keepalived's default advert_int of 1 s: 3 adverts plus the skew (at most 1 s).
 * A holder that stops without handing over (its keepalived killed, the machine reset) is replaced within it.
 */
export const VRRP_FAILOVER_MS = 4_000;

const at = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 23) : "never");

/** Why the sample is bad: no holder, or a holder in its own disruption window for the whole of the read. */
function badness(s: VipSample, windows: readonly DisruptionWindow[]): string | null {
  if (s.holder === null) return "no node held the VIP";
  const w = windows.find((w) => w.node === s.holder && w.fromMs <= s.fromMs && s.toMs <= w.toMs);
  return w ? `${s.holder} held the VIP inside its disruption window (${at(w.fromMs)} to ${at(w.toMs)})` : null;
}

/**
 * Samples in time order. Checking starts at the first holder (before that no system carried the VIP yet). A run of
 * bad samples is a violation when it lasts longer than `failoverMs` (0: the VIP must have been handed over before).
 */
export function vipViolations(samples: readonly VipSample[], windows: readonly DisruptionWindow[], failoverMs = VRRP_FAILOVER_MS): string[] {
  const first = samples.findIndex((s) => s.holder !== null);
  if (first < 0) return [];
  const out: string[] = [];
  let run: { readonly start: VipSample; end: VipSample; readonly why: string } | null = null;
  const close = (): void => {
    if (run && run.end.toMs - run.start.fromMs > failoverMs) {
      out.push(`${run.why} from ${at(run.start.fromMs)} to ${at(run.end.toMs)}, longer than one VRRP failover (${failoverMs} ms)`);
    }
    run = null;
  };
  for (const s of samples.slice(first)) {
    const why = badness(s, windows);
    if (why === null) close();
    else if (run === null) run = { start: s, end: s, why };
    else run.end = s;
  }
  close();
  return out;
}
