// Public surface of shared/import: turns the older inventory formats (nk3, csv plans) into inventory.yaml.
export type { ImportResult, ImportOptions } from "./import-result.js";
export { importNk3 } from "./import-nk3.js";
export { importPlans, type PlansInput } from "./import-plans.js";
export { nk3Hostname } from "./nk3-hostname.js";
