// Parses what switch-to-configuration dry-activate prints (to stderr, one "would …" line per action).
import type { DryActivateResult } from "./system.js";

const LINES: ReadonlyArray<readonly [RegExp, keyof DryActivateResult]> = [
  [/^would stop the following units: (.*)$/, "stopUnits"],
  [/^would restart the following units: (.*)$/, "restartUnits"],
  [/^would reload the following units: (.*)$/, "reloadUnits"],
  [/^would start the following units: (.*)$/, "startUnits"],
];

export function parseDryActivate(output: string): DryActivateResult {
  const result: Record<keyof DryActivateResult, string[]> = { stopUnits: [], restartUnits: [], reloadUnits: [], startUnits: [] };
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    for (const [re, key] of LINES) {
      const m = re.exec(line);
      if (!m?.[1]) continue;
      for (const unit of m[1].split(/[,\s]+/)) if (unit) result[key].push(unit);
    }
  }
  return result;
}

/** Units a switch would interrupt: restarted, or stopped now and started again after activation. */
export function interruptedUnits(d: DryActivateResult): string[] {
  return [...new Set([...d.restartUnits, ...d.stopUnits])].sort();
}
