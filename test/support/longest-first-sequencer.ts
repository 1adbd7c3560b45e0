// Orders test files longest first, so the two workers finish together instead of one running a long file alone at
// the end. vitest's own order uses the durations cached by an earlier run; a fresh clone (CI) has none and falls back
// to file size, which put the short-sourced but long-running chaos files last. Files without a cached duration use the
// expected durations below (ms, measured on an idle 2-core machine; only the long files need an entry: a stale figure
// costs ordering quality, never correctness).
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

export const EXPECTED_MS: Readonly<Record<string, number>> = {
  "test/chaos/chaos.test.ts": 95_000,
  "test/etcd/multi-coordinator.test.ts": 95_000,
  "test/chaos/chaos-ha.test.ts": 60_000,
  "test/coordinator/restart-recovery.test.ts": 38_000,
  "test/e2e/preview-plan.test.ts": 35_000,
  "test/lease/pause-and-checks.test.ts": 33_000,
  "test/e2e/rolling-upgrade.test.ts": 32_000,
  "test/lease/node-lost.test.ts": 30_000,
  "test/agent/reboot-rollback.test.ts": 30_000,
  "test/agent/kill-before-reboot.test.ts": 30_000,
  "test/e2e/builders-mode.test.ts": 27_000,
  "test/lease/disruption-limit.test.ts": 26_000,
  "test/agent/kill-around-reboot.test.ts": 25_000,
  "test/e2e/push-failures.test.ts": 24_000,
  "test/lease/coordinator-kill.test.ts": 23_000,
  "test/e2e/agent-self-update.test.ts": 23_000,
  "test/agent/apply-outcomes.test.ts": 22_000,
  "test/e2e/vip-handover.test.ts": 22_000,
  "test/e2e/version-skew.test.ts": 21_500,
  "coordinator/src/git/upstream-follower.test.ts": 21_000,
  "test/nkctl-offline.test.ts": 12_000,
};

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // The base order (failed first, then cached duration, else size) breaks ties, so a file without an entry keeps it.
    const base = await super.sort(files);
    const rank = new Map(base.map((spec, i) => [spec, i]));
    const expected = (spec: TestSpecification): number => {
      const path = relative(this.ctx.config.root, spec.moduleId).split("\\").join("/");
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`);
      return cached?.duration ?? EXPECTED_MS[path] ?? 0;
    };
    return [...base].sort((a, b) => expected(b) - expected(a) || rank.get(a)! - rank.get(b)!);
  }
}
