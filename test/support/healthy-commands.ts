/** The example inventory's programs, as a healthy simulated node answers them. */
export const HEALTHY_COMMANDS: Readonly<Record<string, { stdout: string; exitCode?: number }>> = {
  "ceph health": { stdout: "HEALTH_OK\n" },
  "test -e /dev/sda": { stdout: "" },
};
