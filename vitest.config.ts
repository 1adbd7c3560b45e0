import { defineConfig } from "vitest/config";
import { LongestFirstSequencer } from "./test/support/longest-first-sequencer.js";

export default defineConfig({
  test: {
    // Bounds for a test that hangs, not speed goals: a suite run beside a CPU hog (scripts/test-under-load.sh) takes
    // two to three times as long for every process start, so 30 s failed hooks that start a cluster.
    testTimeout: 90_000,
    hookTimeout: 90_000,
    pool: "forks",
    // Two files at once on any machine (vitest's default on 2 cores is one): the end-to-end files spend much of their
    // time waiting on simulated reboots and timers, so two overlap well (full suite: 1,018 s at load 5-15 with two).
    maxWorkers: 2,
    // Longest files first, also on a fresh clone without vitest's duration cache (see the file).
    sequence: { sequencer: LongestFirstSequencer },
    setupFiles: ["test/support/test-env.ts"],
    projects: [
      {
        // The packages' own tests share one module graph per worker: they keep no state between files (registries,
        // clocks and servers belong to instances), and loading gRPC, zod and the generated code again for each of
        // 160 files cost more time than most of those files' tests.
        extends: true,
        test: { name: "unit", include: ["shared/src/**/*.test.ts", "coordinator/src/**/*.test.ts", "agent/src/**/*.test.ts", "nkctl/src/**/*.test.ts"], isolate: false },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          // One build of the daemons for the whole run; spawned processes use it (see the file).
          globalSetup: ["test/support/global-build.ts"],
        },
      },
    ],
  },
});
