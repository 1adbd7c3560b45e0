// How the simulator reads its machine's small state files (a line or a short JSON): in one synchronous call. The
// promise API took four thread-pool round trips per file (open, stat, read, close), and the simulated agents of a
// test run read these files on every health check: that was about a sixth of their CPU.
import { readFileSync } from "node:fs";

/** The file's text, or null when it does not exist; other errors are thrown. */
export function readSmallFile(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}
