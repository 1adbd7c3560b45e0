// A quiet period counted in events, not in time: "nothing was granted while the nodes kept reporting" holds only if
// reports did arrive, and a loaded machine can fit none into a fixed sleep.
import type { GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { eventually } from "./eventually.js";

/**
 * Resolves once each of `nodes` has sent `count` reports after the call (each report is a trigger for the
 * coordinator's lease decision), as seen in the status's lastReportMs; bounded by `timeoutMs`.
 */
export async function reportsSeen(status: () => Promise<GetStatusResponse>, nodes: readonly string[], count = 2, timeoutMs = 60_000): Promise<void> {
  const seen = new Map(nodes.map((n) => [n, new Set<number>()]));
  const since = Date.now();
  await eventually(
    async () => {
      for (const n of (await status()).nodes) if (n.lastReportMs >= since) seen.get(n.name)?.add(n.lastReportMs);
      return [...seen.values()].every((s) => s.size >= count) || undefined;
    },
    timeoutMs,
    `${count} reports from each of ${nodes.join(", ")}`,
  );
}
