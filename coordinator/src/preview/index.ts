// Public surface of coordinator/preview: preview refs, their plans, and the plan's summary and estimate.
export { PlanBook } from "./plan-book.js";
export { ASSUMED_WINDOW_MS, disruptionWindows, estimateRollout, planTotals, viewPlan, type Estimate, type NodePlanRecord, type PlanRecord, type PlanTotals, type PlanView, type RolloutLimits } from "./plan-summary.js";
export { PreviewService, type PreviewMessage, type PreviewServiceDeps } from "./preview-service.js";
