// The node checks of the applied bundle, for health reports: a newer desired bundle must not make them vanish.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { NodeCheckSpec } from "../apply/index.js";

interface ChecksFile {
  readonly node?: ReadonlyArray<{ name: string; command: string[]; expect: string; timeoutSeconds: number }>;
}

/**
 * Remembers the checks of the desired bundles seen, keyed by sha256; a bundle applied before this agent
 * started (and since superseded) has its checks read back from its nk/checks.json on disk.
 */
export class AppliedChecks {
  private readonly bySha = new Map<string, readonly NodeCheckSpec[]>();

  constructor(private readonly bundleRoot: string) {}

  /** A desired bundle arrived; only it and the applied one (`keepSha`) stay remembered. */
  remember(sha256: string, checks: readonly NodeCheckSpec[], keepSha: string | undefined): void {
    this.bySha.set(sha256, checks);
    for (const sha of [...this.bySha.keys()]) if (sha !== sha256 && sha !== keepSha) this.bySha.delete(sha);
  }

  /** Checks of the bundle `sha256` (none before the first apply, or when its bundle is gone). */
  async of(sha256: string | undefined): Promise<readonly NodeCheckSpec[]> {
    if (!sha256) return [];
    const known = this.bySha.get(sha256);
    if (known) return known;
    let checks: NodeCheckSpec[] = [];
    try {
      const file = JSON.parse(await readFile(join(this.bundleRoot, sha256, "nk", "checks.json"), "utf8")) as ChecksFile;
      checks = (file.node ?? []).map((c) => ({ name: c.name, command: c.command, expect: c.expect, timeoutMs: c.timeoutSeconds * 1000 }));
    } catch {
      // No bundle on disk (never applied by this agent, or removed): nothing to check beyond the unit.
    }
    this.bySha.set(sha256, checks);
    return checks;
  }
}
