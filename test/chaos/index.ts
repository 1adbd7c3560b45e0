// Public surface of the chaos library: the runner (used by chaos.test.ts and scripts/chaos-long.ts) and its parts.
export { runChaos, summaryLine, type ChaosRunOptions, type ChaosRunResult, type ScheduleResult } from "./chaos-runner.js";
export { ChaosCluster, CHAOS_NODES, type ChaosClusterOptions, type PushResult } from "./chaos-cluster.js";
export { ChaosDriver } from "./chaos-driver.js";
export { ChaosRecorder, type BootChange, type ExitRecord, type PushRecord } from "./chaos-recorder.js";
export { concurrencyViolations, convergedViolations, rebootViolations, settledViolations, readMachine, type MachineView } from "./chaos-invariants.js";
export { vipViolations, VRRP_FAILOVER_MS, type VipSample } from "./vip-invariant.js";
export { describeSchedule, makeSchedule, type ChaosAction, type ChaosSchedule, type ChaosStep, type PushChange } from "./chaos-schedule.js";
export { LeaseJournal, readDurableLeases, type Limits } from "./lease-journal.js";
export { SeededRandom, scheduleSeed } from "./seeded-random.js";
export { SCRIPTED_SCHEDULES, STUCK_REBOOT_LEASE, STUCK_SERVICE_RESTART_LEASE, type ScriptedSchedule } from "./scripted-schedules.js";
export { brief, waitFor, waitStatus } from "./status-wait.js";
