// KubeDriver over the real Kubernetes API (@kubernetes/client-node), configured from the coordinator's kubeconfig.
import { CoreV1Api, KubeConfig, PatchStrategy } from "@kubernetes/client-node";
import { assertMayAct } from "./call-timeout.js";
import { NkError } from "../../../shared/src/errors/index.js";
import { silentLogger, type Logger } from "../../../shared/src/log/index.js";
import { systemDrainClock, type DrainClock } from "./drain-clock.js";
import { defaultDrainTuning, drainNode, type DrainTuning } from "./drain-node.js";
import { callOptions } from "./kube-call.js";
import { kubeErrorMessage, statusCode } from "./kube-errors.js";
import type { CordonResult, DrainOptions, DrainResult, KubeDriver, KubeNodeStatus, KubePod } from "./kube-driver.js";
import { CORDONED_BY, missingNode, nodeStatusOf } from "./node-status.js";

export interface KubeClientOptions {
  readonly log?: Logger;
  readonly clock?: DrainClock;
  readonly tuning?: Partial<DrainTuning>;
}

export class KubeClient implements KubeDriver {
  readonly enabled = true;
  private readonly api: CoreV1Api;
  private readonly log: Logger;
  private readonly clock: DrainClock;
  private readonly tuning: DrainTuning;

  constructor(config: KubeConfig, options: KubeClientOptions = {}) {
    this.api = config.makeApiClient(CoreV1Api);
    this.log = options.log ?? silentLogger();
    this.clock = options.clock ?? systemDrainClock;
    this.tuning = { ...defaultDrainTuning, ...options.tuning };
  }

  /** From a kubeconfig file (k3s writes one at /etc/rancher/k3s/k3s.yaml); its current context is used. */
  static fromFile(path: string, options: KubeClientOptions = {}): KubeClient {
    return new KubeClient(loadKubeConfig(path), options);
  }

  async nodeStatus(name: string, signal?: AbortSignal): Promise<KubeNodeStatus> {
    try {
      return nodeStatusOf(await this.api.readNode({ name }, callOptions(signal)));
    } catch (err) {
      if (statusCode(err) === 404) return missingNode(name);
      throw unavailable(`reading node ${name}`, err);
    }
  }

  async listPods(labelSelector: string, signal?: AbortSignal): Promise<readonly KubePod[]> {
    try {
      const list = await this.api.listPodForAllNamespaces({ labelSelector }, callOptions(signal));
      return list.items.map((p) => ({ key: `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`, node: p.spec?.nodeName ?? "", phase: p.status?.phase ?? "" }));
    } catch (err) {
      throw unavailable(`listing pods matching ${labelSelector}`, err);
    }
  }

  async listNodes(signal?: AbortSignal): Promise<readonly KubeNodeStatus[]> {
    try {
      const list = await this.api.listNode({}, callOptions(signal));
      return list.items.map(nodeStatusOf);
    } catch (err) {
      throw unavailable("listing nodes", err);
    }
  }

  cordon(name: string, signal?: AbortSignal, marker?: string, mayAct?: () => boolean): Promise<CordonResult> {
    return this.setUnschedulable(name, true, signal, marker, mayAct);
  }

  uncordon(name: string, signal?: AbortSignal, marker?: string, mayAct?: () => boolean): Promise<CordonResult> {
    return this.setUnschedulable(name, false, signal, marker, mayAct);
  }

  drain(name: string, options: DrainOptions): Promise<DrainResult> {
    const deps = { api: this.api, clock: this.clock, tuning: this.tuning, log: this.log, cordon: (n: string, s: AbortSignal) => this.cordon(n, s, options.marker, options.mayAct) };
    return drainNode(deps, name, options);
  }

  /**
   * Reads first so callers learn whether an operator had cordoned the node already; the patch is
   * skipped when nothing changes. Uncordon sends null (what kubectl sends) so the field is removed.
   */
  private async setUnschedulable(name: string, unschedulable: boolean, signal?: AbortSignal, marker?: string, mayAct?: () => boolean): Promise<CordonResult> {
    const before = await this.nodeStatus(name, signal);
    if (before.exists !== true) throw new NkError("NODE_UNKNOWN", `node ${name} is not registered in Kubernetes`);
    // An uncordon for a marker lifts only a cordon carrying it: a cordon without it is someone else's to lift.
    if (!unschedulable && marker !== undefined && before.cordoned && before.cordonedBy !== marker) {
      this.log.info({ node: name, cordonedBy: before.cordonedBy, marker }, "node left cordoned: its cordon is not this lease's");
      return { wasCordoned: true };
    }
    if (before.cordoned !== unschedulable) {
      // The marker rides along with our cordon and leaves with the uncordon; an operator's cordon has none.
      const annotations = unschedulable ? (marker ? { [CORDONED_BY]: marker } : undefined) : { [CORDONED_BY]: null };
      const body = { ...(annotations ? { metadata: { annotations } } : {}), spec: { unschedulable: unschedulable ? true : null } };
      // The read took a while: a leader that may no longer act (its lease clock ran out meanwhile) writes nothing.
      assertMayAct(`${unschedulable ? "cordoning" : "uncordoning"} node ${name}`, mayAct);
      try {
        await this.api.patchNode({ name, body }, callOptions(signal, PatchStrategy.StrategicMergePatch));
      } catch (err) {
        if (statusCode(err) === 404) throw new NkError("NODE_UNKNOWN", `node ${name} is not registered in Kubernetes`);
        throw unavailable(`${unschedulable ? "cordoning" : "uncordoning"} node ${name}`, err);
      }
      this.log.info({ node: name, unschedulable }, unschedulable ? "node cordoned" : "node uncordoned");
    }
    // A cordon carrying this very marker is our own from an earlier run, not an operator's.
    return { wasCordoned: before.cordoned && (marker === undefined || before.cordonedBy !== marker) };
  }
}

/** A kubeconfig file (k3s writes one at /etc/rancher/k3s/k3s.yaml); its current context is used. */
export function loadKubeConfig(path: string): KubeConfig {
  const config = new KubeConfig();
  try {
    config.loadFromFile(path);
  } catch (err) {
    throw new NkError("CONFIG_INVALID", `cannot load kubeconfig ${path}: ${kubeErrorMessage(err)}`, { cause: err });
  }
  if (config.getCurrentCluster() === null) throw new NkError("CONFIG_INVALID", `kubeconfig ${path} has no current cluster`);
  return config;
}

function unavailable(what: string, err: unknown): NkError {
  return new NkError("UNAVAILABLE", `Kubernetes API: ${what} failed: ${kubeErrorMessage(err)}`, { cause: err });
}
