// This machine's boot: a lock written before a reboot (a power loss) names a pid that may now be another process's.
import { readFileSync } from "node:fs";

let cached: string | null | undefined;

/** The kernel's id of the current boot, or null where there is none to read (not Linux). */
export function bootId(): string | null {
  if (cached === undefined) {
    try {
      cached = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
    } catch {
      cached = null;
    }
  }
  return cached;
}
