// Public surface of shared/inventory: the model, validation and diagnostics formatting.
export type * from "./model.js";
export { BOOT_LOADERS, NODE_SYSTEMS, NOTIFY_EVENTS } from "./model.js";
export { InventoryTextMemo } from "./inventory-text-memo.js";
export { validateRepo, validateInventoryText, INVENTORY_FILE, type ValidationResult, type ValidateOptions } from "./validate-repo.js";
export { formatDiagnostic, hasErrors } from "./format-diagnostic.js";
export { parseIpv4, formatIpv4, subnetOf, inSubnet } from "./ipv4.js";
export { NIXOS_CHANNEL } from "./parse-cluster.js";
export { DEVICE_PATH } from "./parse-boot.js";
export { buildFallbackOf, LOCAL_BUILD } from "./parse-build.js";
export { matchesSelector, poolLimit, poolMembers, formatLimit, type Labels } from "./pool-members.js";
export { vipCarrierNames } from "./api-vip.js";
export { isTimeZone } from "./parse-rollout-policy.js";
export { parseCron, cronMatchesDay, type CronSchedule, type CronParse } from "./cron-expression.js";
