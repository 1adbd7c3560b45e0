// What the lease manager and node health need from Kubernetes: node readiness, cordon, drain.

/** One k8s node as nk sees it. `ready`/`exists` are null when the coordinator has no Kubernetes access. */
export interface KubeNodeStatus {
  readonly name: string;
  readonly exists: boolean | null;
  /** Condition Ready == "True" (kubelet reason "KubeletReady"). */
  readonly ready: boolean | null;
  /** spec.unschedulable. */
  readonly cordoned: boolean;
  /** The marker nk left when it cordoned the node (annotation nk.dev/cordoned-by), else null. */
  readonly cordonedBy: string | null;
  /** The Ready condition's reason and message, or why readiness is unknown. */
  readonly readyReason: string;
}

export interface DrainOptions {
  /** Whole drain (evictions, PDB retries, waiting for pods to go) must end within this. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /**
   * Also evict pods that no controller owns (they are gone for good afterwards), like
   * `kubectl drain --force`. Without it such pods stop the drain with a reason.
   */
  readonly force?: boolean;
  /** Left on the node while it is cordoned, so a re-run (after a coordinator crash) knows the cordon is its own. */
  readonly marker?: string;
  /**
   * Asked right before each call: false ends the drain as aborted. For what an abort signal cannot say in time: a
   * leader whose lease clock ran out while its process was paused, before the loss was announced.
   */
  readonly mayAct?: () => boolean;
}

export interface DrainResult {
  readonly ok: boolean;
  /** "namespace/name" of every pod evicted (or found already gone) by this drain. */
  readonly evicted: readonly string[];
  /** Whether the node was already cordoned before this drain (an operator's cordon must be kept). */
  readonly wasCordoned: boolean;
  /** Why the drain did not finish; when ok, at most a note (NoKube says the drain was skipped). */
  readonly reason?: string;
}

export interface CordonResult {
  /** The node was already unschedulable before the call, by someone else than the given marker. */
  readonly wasCordoned: boolean;
}

/** A pod as the blocking-pod rule sees it. */
export interface KubePod {
  /** "namespace/name". */
  readonly key: string;
  readonly node: string;
  readonly phase: string;
}

export interface KubeDriver {
  /** False for NoKube: readiness is unknown, cordon and drain do nothing. */
  readonly enabled: boolean;
  nodeStatus(name: string, signal?: AbortSignal): Promise<KubeNodeStatus>;
  listNodes(signal?: AbortSignal): Promise<readonly KubeNodeStatus[]>;
  /** Throws NkError("NODE_UNKNOWN") when the node is not registered in Kubernetes. */
  /** `mayAct`: asked right before the write (after the node's read); false throws NOT_LEADER and writes nothing. */
  cordon(name: string, signal?: AbortSignal, marker?: string, mayAct?: () => boolean): Promise<CordonResult>;
  /** With `marker`, only a cordon carrying it (nk's own) is lifted; another (an operator's) stays: wasCordoned then. */
  uncordon(name: string, signal?: AbortSignal, marker?: string, mayAct?: () => boolean): Promise<CordonResult>;
  /** Pods matching a label selector, in every namespace; NoKube finds none. */
  listPods(labelSelector: string, signal?: AbortSignal): Promise<readonly KubePod[]>;
  /** Cordon, evict every evictable pod and wait until they are gone. Expected failures are returned, not thrown. */
  drain(name: string, options: DrainOptions): Promise<DrainResult>;
}
