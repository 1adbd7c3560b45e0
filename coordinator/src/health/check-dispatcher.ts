// Cluster command checks run by agents: the coordinator asks a chosen node, the node answers by request id.
export interface CheckRequest {
  readonly requestId: string;
  readonly checkName: string;
  readonly command: readonly string[];
  readonly expect: string;
  readonly timeoutMs: number;
}

export interface CheckOutcome {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
  readonly observedAtMs: number;
}

/** The gRPC layer's side of agent-run checks. */
export interface CheckDispatcher {
  /** An agent's WatchCheckRequests stream: requests for this node until the returned function is called. */
  watch(node: string, listener: (request: CheckRequest) => void): () => void;
  /** ReportCheckResult from an agent; results for requests that were not sent to this node are ignored. */
  result(node: string, requestId: string, outcome: CheckOutcome): void;
}
