// Public surface of coordinator/kube: node readiness, cordon and drain through Kubernetes (or without it).
export type { KubeDriver, KubeNodeStatus, KubePod, DrainOptions, DrainResult, CordonResult } from "./kube-driver.js";
export { KubeClient, loadKubeConfig, type KubeClientOptions } from "./kube-client.js";
export { NO_KUBE_WARNING, NoKube } from "./no-kube.js";
export { systemDrainClock, type DrainClock } from "./drain-clock.js";
export { defaultDrainTuning, type DrainTuning } from "./drain-node.js";
