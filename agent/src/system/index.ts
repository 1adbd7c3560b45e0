// Public surface of agent/system: the System interface, the real NixOS driver and the simulated one.
export { storeHashOf, type ActivationResult, type BuildResult, type CheckRun, type DryActivateResult, type System } from "./system.js";
export { EXIT_NOT_FOUND, EXIT_TIMEOUT, type CommandResult, type CommandRunner, type RunOptions } from "./command-runner.js";
export { ProcessRunner } from "./process-runner.js";
export { RecordingRunner, type RecordedCall } from "./recording-runner.js";
export { NixosSystem, SYSTEM_PROFILE, type NixosSystemOptions } from "./nixos-system.js";
export { SimSystem, SIM_REBOOT_EXIT_CODE, type SimSystemOptions } from "./sim-system.js";
export type { SimDurations } from "./sim-timing.js";
export { FAULT_KINDS, readFaults, writeFaults, type FaultKind, type Faults } from "./sim-faults.js";
export { readSimVip, simVipHolder, vipHolder, vrrpPriorityOf, SIM_VIP_FILES, type SimVipView } from "./sim-vip.js";
export { deriveSystem, initialSystem, type SimSystemMeta } from "./sim-derive.js";
export { k3sVersionOfStorePath, memoK3sVersion } from "./k3s-version.js";
export { memoPerStorePath } from "./store-path-memo.js";
export { rememberThisBoot, type ThisBoot } from "./this-boot.js";
export { parseDryActivate, interruptedUnits } from "./dry-activate.js";
export { readBundleDir, writeBundleDir } from "./bundle-dir.js";
export { commandsPath, simulatedCommand, type SimCommands } from "./sim-commands.js";
export { fetchArgv, fetchClosure, STORE_PATH, type CacheSource } from "./nix-fetch.js";
export { pushSimCache, readSimCache, simCacheDir, type SimCacheEntry } from "./sim-cache.js";
