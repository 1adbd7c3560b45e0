// Public surface of coordinator/rollout: the glue between leases, Kubernetes and health.
export { KubeDisruptionHooks, type KubeDisruptionHooksDeps } from "./kube-disruption-hooks.js";
export { catalogSettings, nodeHealthSource, clusterCheckSource, k3sVersionSource } from "./lease-sources.js";
export { isNewFailure } from "./failure-report.js";
export { disruptionHalt, type DisruptionHalt } from "./disruption-halt.js";
export { agentReportHandler, remoteReportHandler, type AgentReportHandlerDeps, type ReportHealth } from "./agent-report-handler.js";
