// The status the fake's stand-in controllers write at once: workloads become available, Jobs complete, namespaces are Active.
import type { Json } from "./field-paths.js";

export function simulatedStatus(group: string, kind: string, obj: Json): Json | null {
  const spec = (obj["spec"] ?? {}) as Json;
  const generation = Number((obj["metadata"] as Json)["generation"] ?? 1);
  const replicas = typeof spec["replicas"] === "number" ? spec["replicas"] : 1;
  const now = new Date().toISOString();
  if (group === "" && kind === "Namespace") return { phase: "Active" };
  if (group === "apps" && kind === "Deployment") {
    return {
      observedGeneration: generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [{ type: "Available", status: "True", reason: "MinimumReplicasAvailable", lastTransitionTime: now }, { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", lastTransitionTime: now }],
    };
  }
  if (group === "apps" && kind === "StatefulSet") return { observedGeneration: generation, replicas, readyReplicas: replicas, currentReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas };
  if (group === "apps" && kind === "DaemonSet") return { observedGeneration: generation, desiredNumberScheduled: 1, currentNumberScheduled: 1, numberReady: 1, numberAvailable: 1, updatedNumberScheduled: 1 };
  if (group === "batch" && kind === "Job") return { succeeded: 1, conditions: [{ type: "Complete", status: "True", lastTransitionTime: now }], completionTime: now };
  if (group === "" && kind === "PersistentVolumeClaim") return { phase: "Bound" };
  return null;
}
