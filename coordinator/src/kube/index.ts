// Public surface of coordinator/kube: node readiness, cordon and drain through Kubernetes (or without it).
export type { KubeDriver, KubeNodeStatus, KubePod, DrainOptions, DrainResult, CordonResult } from "./kube-driver.js";
// KubeClient and loadKubeConfig (kube-client.js) are imported by path where Kubernetes is configured: they load
// client-node, which costs every coordinator start 1.7 s of CPU otherwise.
export { NO_KUBE_WARNING, NoKube } from "./no-kube.js";
export { systemDrainClock, type DrainClock } from "./drain-clock.js";
export { assertMayAct, boundedCall, KUBE_CALL_TIMEOUT_MS } from "./call-timeout.js";
