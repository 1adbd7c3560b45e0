import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["shared/src/**/*.test.ts", "coordinator/src/**/*.test.ts", "agent/src/**/*.test.ts", "nkctl/src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    setupFiles: ["test/support/test-env.ts"],
    // One build of the daemons for the whole run; spawned processes use it (see the file).
    globalSetup: ["test/support/global-build.ts"],
  },
});
