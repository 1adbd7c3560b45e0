// Whether a process of this host still runs: for pid lock files left by a process that was killed outright.

/** True for a live pid, also one of another user (EPERM); false once it is gone. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
