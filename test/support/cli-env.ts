// The environment for a CLI process a test spawns (nkctl): no user config and no NK_* settings, but the test
// run's build (NK_DIST_DIR, see global-build.ts) kept, or every spawn would compile the sources again through tsx
// (about a second of CPU each, and tests spawn nkctl hundreds of times).
import { join } from "node:path";

export function cliEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const build = process.env.NK_DIST_DIR;
  return { PATH: process.env.PATH ?? "", HOME: home, XDG_CONFIG_HOME: join(home, "xdg"), ...(build ? { NK_DIST_DIR: build } : {}), ...extra };
}
