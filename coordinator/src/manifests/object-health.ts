// Health of an applied object from its status, the way kubectl rollout status and operators read it.
import type { Health } from "./manifest-driver.js";

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

type Obj = { metadata?: { generation?: number }; spec?: Record<string, unknown>; status?: Record<string, unknown> };

function condition(obj: Obj, type: string): Condition | undefined {
  return ((obj.status?.["conditions"] as Condition[] | undefined) ?? []).find((c) => c.type === type);
}

function num(v: unknown, fallback = 0): number {
  return typeof v === "number" ? v : fallback;
}

/** Deployments and StatefulSets: every replica updated and ready for the latest generation. */
function replicasHealth(obj: Obj, readyField: string): { health: Health; detail: string } {
  const want = num(obj.spec?.["replicas"], 1);
  const ready = num(obj.status?.[readyField]);
  const updated = num(obj.status?.["updatedReplicas"]);
  const observed = num(obj.status?.["observedGeneration"]);
  const generation = num(obj.metadata?.generation, 1);
  if (observed < generation) return { health: "progressing", detail: `generation ${generation} not yet observed` };
  if (ready >= want && updated >= want) return { health: "healthy", detail: `${ready}/${want} ready` };
  return { health: "progressing", detail: `${ready}/${want} ready, ${updated} updated` };
}

export function objectHealth(group: string, kind: string, obj: Obj): { health: Health; detail: string } {
  const gk = group === "" ? kind : `${kind}.${group}`;
  switch (gk) {
    case "Deployment.apps": {
      const available = condition(obj, "Available");
      const base = replicasHealth(obj, "availableReplicas");
      if (available?.status === "False") return { health: "degraded", detail: available.message ?? available.reason ?? "not available" };
      return base;
    }
    case "StatefulSet.apps":
      return replicasHealth(obj, "readyReplicas");
    case "DaemonSet.apps": {
      const want = num(obj.status?.["desiredNumberScheduled"]);
      const ready = num(obj.status?.["numberReady"]);
      return ready >= want ? { health: "healthy", detail: `${ready}/${want} ready` } : { health: "progressing", detail: `${ready}/${want} ready` };
    }
    case "Job.batch": {
      if (condition(obj, "Complete")?.status === "True") return { health: "healthy", detail: "complete" };
      const failed = condition(obj, "Failed");
      if (failed?.status === "True") return { health: "degraded", detail: failed.message ?? failed.reason ?? "failed" };
      return { health: "progressing", detail: "running" };
    }
    case "CustomResourceDefinition.apiextensions.k8s.io":
      return condition(obj, "Established")?.status === "True" ? { health: "healthy", detail: "established" } : { health: "progressing", detail: "not yet established" };
    case "Namespace":
      return obj.status?.["phase"] === "Terminating" ? { health: "degraded", detail: "terminating" } : { health: "healthy", detail: "active" };
    case "PersistentVolumeClaim":
      return obj.status?.["phase"] === "Bound" ? { health: "healthy", detail: "bound" } : { health: "progressing", detail: String(obj.status?.["phase"] ?? "pending") };
    default: {
      // A custom resource that reports a Ready condition is judged by it; anything else exists, so it is fine.
      const ready = condition(obj, "Ready");
      if (ready?.status === "True") return { health: "healthy", detail: "ready" };
      if (ready?.status === "False") return { health: "degraded", detail: ready.message ?? ready.reason ?? "not ready" };
      return { health: "healthy", detail: "exists" };
    }
  }
}
