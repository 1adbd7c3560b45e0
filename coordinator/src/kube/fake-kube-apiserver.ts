// An in-process stand-in for kube-apiserver (plain HTTP on 127.0.0.1) with the endpoints nk uses, for tests and the demo.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ObjectStore } from "./fake/object-store.js";
import { parseLabelSelector } from "./fake/label-selector.js";
import { routeObjects } from "./fake/object-routes.js";

export interface FakeNode {
  readonly name: string;
  /** Ready condition status; "Unknown" is what the node controller sets when the kubelet goes silent. */
  readonly ready: boolean | "Unknown";
  readonly reason?: string;
  readonly message?: string;
  readonly unschedulable?: boolean;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface FakePod {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  /** Kind of the controlling owner (ReplicaSet, StatefulSet, DaemonSet, Job...); none for a bare pod. */
  readonly owner?: string;
  /** A static pod's API mirror (annotation kubernetes.io/config.mirror). */
  readonly mirror?: boolean;
  readonly emptyDir?: boolean;
  readonly phase?: string;
  /** Evictions answered 429 by a PodDisruptionBudget before one succeeds; Infinity blocks for ever. */
  readonly pdbBlocks?: number;
  /** Reads that still find the pod after its eviction (graceful termination). */
  readonly lingerReads?: number;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface FakeApiserverOptions {
  /** Reads of a new CRD before it is Established (0: at once), standing in for the apiextensions controller. */
  readonly establishAfterReads?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType: string;
  readonly body: unknown;
  /** Wall-clock arrival time, so tests can order these calls against other observations. */
  readonly atMs: number;
  /** The caller's bearer token: several clients sharing one fake apiserver each get a kubeconfig of their own. */
  readonly bearer: string;
}

interface PodState {
  spec: FakePod;
  uid: string;
  blocksLeft: number;
  evicted: boolean;
  readsLeft: number;
}

type Json = Record<string, unknown>;

/** Requests the fake leaves unanswered, as a black-holed apiserver connection would. */
interface BlackHole {
  readonly method: string;
  readonly pathPrefix: string;
  readonly onHeld: (request: RecordedRequest) => void;
}

function status(code: number, reason: string, message: string, details?: Json): Json {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code, ...(details ? { details } : {}) };
}

export class FakeKubeApiserver {
  /** Every request in arrival order, for asserting the exact calls a driver made. */
  readonly requests: RecordedRequest[] = [];
  private readonly nodes = new Map<string, FakeNode>();
  private readonly pods = new Map<string, PodState>();
  private nextUid = 1;
  private holes: BlackHole[] = [];
  private hangUps = 0;
  private readonly hangUpWaiters: { count: number; resolve: () => void }[] = [];
  /**
   * Every other resource (namespaces, config maps, workloads, CRDs and their custom resources), with
   * server-side apply's field managers, conflicts and dry run, label-selected lists and deletes.
   */
  readonly objects: ObjectStore;

  private constructor(private readonly server: Server, readonly url: string, options: FakeApiserverOptions) {
    this.objects = new ObjectStore(options.establishAfterReads ?? 1);
  }

  static async start(options: FakeApiserverOptions = {}): Promise<FakeKubeApiserver> {
    let fake: FakeKubeApiserver | undefined;
    const server = createServer((req, res) => void fake?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake = new FakeKubeApiserver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, options);
    return fake;
  }

  /** An object of the generic store as the API would return it, or undefined. */
  object(apiGroup: string, kind: string, namespace: string | null, name: string): Record<string, unknown> | undefined {
    const type = this.objects.resources.byKind(apiGroup, kind);
    return type ? this.objects.get(type, namespace, name) : undefined;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** A kubeconfig for this server (plain HTTP needs insecure-skip-tls-verify in client-node); `token` names its user's calls. */
  kubeconfigYaml(token = "fake-token"): string {
    return JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fake", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "nk", user: { token } }],
      contexts: [{ name: "fake", context: { cluster: "fake", user: "nk" } }],
      "current-context": "fake",
    });
  }

  setNode(node: FakeNode): void {
    this.nodes.set(node.name, node);
  }

  removeNode(name: string): void {
    this.nodes.delete(name);
  }

  node(name: string): FakeNode | undefined {
    return this.nodes.get(name);
  }

  addPod(pod: FakePod): void {
    this.pods.set(`${pod.namespace}/${pod.name}`, { spec: pod, uid: `uid-${this.nextUid++}`, blocksLeft: pod.pdbBlocks ?? 0, evicted: false, readsLeft: pod.lingerReads ?? 0 });
  }

  /** "namespace/name" of pods still present (evicted pods disappear once their linger reads are used up). */
  podKeys(): string[] {
    return [...this.pods.keys()];
  }

  /**
   * Requests matching a method and path prefix get no answer from now on (the connection stays open), until
   * `fillBlackHoles`; `onHeld` hears each as it arrives. A caller that gives up closes the connection: see `hungUp`.
   */
  blackHole(method: string, pathPrefix = "", onHeld: (request: RecordedRequest) => void = () => undefined): void {
    this.holes.push({ method, pathPrefix, onHeld });
  }

  /** Requests are answered again (those held so far stay unanswered). */
  fillBlackHoles(): void {
    this.holes = [];
  }

  /** Resolves once callers have closed `count` held requests' connections: their abort reached the socket. */
  hungUp(count: number): Promise<void> {
    return count <= this.hangUps ? Promise.resolve() : new Promise((resolve) => this.hangUpWaiters.push({ count, resolve }));
  }

  private noteHangUp(): void {
    this.hangUps += 1;
    for (const w of this.hangUpWaiters.filter((w) => w.count <= this.hangUps)) {
      this.hangUpWaiters.splice(this.hangUpWaiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Requests matching a method and path prefix, e.g. ("POST", "/api/v1/namespaces/"). */
  calls(method: string, pathPrefix = ""): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", this.url);
    const method = req.method ?? "GET";
    let body: unknown = undefined;
    if (text !== "") {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = text;
      }
    }
    const contentType = req.headers["content-type"] ?? "";
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    const request: RecordedRequest = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), contentType, body, atMs: Date.now(), bearer };
    this.requests.push(request);
    const hole = this.holes.find((h) => h.method === method && url.pathname.startsWith(h.pathPrefix));
    if (hole !== undefined) {
      res.on("close", () => this.noteHangUp());
      hole.onHeld(request);
      return;
    }
    const [code, payload] = this.route(method, url, body) ?? routeObjects(this.objects, method, url, text, contentType) ?? [404, status(404, "NotFound", `the server could not find ${url.pathname}`)];
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(payload));
  }

  /** Nodes and pods (cordon, drain); null hands the request to the generic object routes. */
  private route(method: string, url: URL, body: unknown): readonly [number, Json] | null {
    const parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
    const [api, v1, kind, a, b, c, d] = parts;
    if (api !== "api" || v1 !== "v1") return null;
    if (kind === "nodes" && a === undefined && method === "GET") {
      return [200, { kind: "NodeList", apiVersion: "v1", metadata: { resourceVersion: "1" }, items: [...this.nodes.values()].map(nodeJson) }];
    }
    if (kind === "nodes" && a !== undefined && b === undefined) return this.nodeRoute(method, a, body);
    if (kind === "pods" && a === undefined && method === "GET") return this.podList(url.searchParams.get("fieldSelector") ?? "", url.searchParams.get("labelSelector") ?? "");
    if (kind === "namespaces" && a !== undefined && b === "pods" && c !== undefined) {
      if (d === undefined && method === "GET") return this.readPod(`${a}/${c}`);
      if (d === "eviction" && method === "POST") return this.evict(`${a}/${c}`);
    }
    if (kind === "nodes" || kind === "pods" || (kind === "namespaces" && b === "pods")) return [405, status(405, "MethodNotAllowed", `${method} ${url.pathname} is not served by the fake`)];
    return null;
  }

  private nodeRoute(method: string, name: string, body: unknown): [number, Json] {
    const node = this.nodes.get(name);
    if (node === undefined) return [404, status(404, "NotFound", `nodes "${name}" not found`)];
    if (method === "GET") return [200, nodeJson(node)];
    if (method === "PATCH") {
      const patch = body as { spec?: { unschedulable?: boolean | null }; metadata?: { annotations?: Record<string, string | null> } } | undefined;
      let next: FakeNode = node;
      if (patch?.spec !== undefined && "unschedulable" in patch.spec) next = { ...next, unschedulable: patch.spec.unschedulable === true };
      // Strategic merge of annotations: a null value removes the key.
      if (patch?.metadata?.annotations) {
        const annotations: Record<string, string> = { ...next.annotations };
        for (const [k, v] of Object.entries(patch.metadata.annotations)) {
          if (v === null) delete annotations[k];
          else annotations[k] = v;
        }
        next = { ...next, annotations };
      }
      this.nodes.set(name, next);
      return [200, nodeJson(next)];
    }
    return [405, status(405, "MethodNotAllowed", `${method} on node`)];
  }

  private podList(fieldSelector: string, labelSelector: string): [number, Json] {
    const onNode = /^spec\.nodeName=(.*)$/.exec(fieldSelector)?.[1];
    let matches: (labels: Readonly<Record<string, string>> | undefined) => boolean;
    try {
      matches = parseLabelSelector(labelSelector);
    } catch (err) {
      return [400, status(400, "BadRequest", `unable to parse requirement: ${(err as Error).message}`)];
    }
    const items = [...this.pods.values()].filter((p) => (onNode === undefined || p.spec.nodeName === onNode) && matches(p.spec.labels)).map(podJson);
    return [200, { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "1" }, items }];
  }

  private readPod(key: string): [number, Json] {
    const pod = this.pods.get(key);
    if (pod === undefined) return [404, status(404, "NotFound", `pods "${key.split("/")[1]}" not found`)];
    if (pod.evicted) {
      if (pod.readsLeft <= 0) {
        this.pods.delete(key);
        return [404, status(404, "NotFound", `pods "${key.split("/")[1]}" not found`)];
      }
      pod.readsLeft -= 1;
    }
    return [200, podJson(pod)];
  }

  private evict(key: string): [number, Json] {
    const pod = this.pods.get(key);
    if (pod === undefined) return [404, status(404, "NotFound", `pods "${key.split("/")[1]}" not found`)];
    if (pod.blocksLeft > 0) {
      pod.blocksLeft -= 1;
      return [
        429,
        status(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.", {
          causes: [{ reason: "DisruptionBudget", message: `The disruption budget ${pod.spec.name}-pdb needs 1 healthy pods and has 1 currently` }],
        }),
      ];
    }
    pod.evicted = true;
    if (pod.readsLeft <= 0) this.pods.delete(key);
    return [201, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 }];
  }
}

function nodeJson(node: FakeNode): Json {
  const readyStatus = node.ready === "Unknown" ? "Unknown" : node.ready ? "True" : "False";
  const reason = node.reason ?? (node.ready === true ? "KubeletReady" : node.ready === "Unknown" ? "NodeStatusUnknown" : "KubeletNotReady");
  return {
    kind: "Node",
    apiVersion: "v1",
    metadata: { name: node.name, uid: `node-${node.name}`, labels: { "kubernetes.io/hostname": node.name }, annotations: { ...node.annotations } },
    spec: node.unschedulable === true ? { unschedulable: true } : {},
    status: {
      conditions: [
        { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory" },
        { type: "Ready", status: readyStatus, reason, message: node.message ?? (node.ready === true ? "kubelet is posting ready status" : "") },
      ],
    },
  };
}

function podJson(pod: PodState): Json {
  const { spec } = pod;
  const owner = spec.owner === undefined ? [] : [{ apiVersion: "apps/v1", kind: spec.owner, name: `${spec.name}-owner`, uid: `owner-${spec.name}`, controller: true }];
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      uid: pod.uid,
      labels: { ...spec.labels },
      ownerReferences: owner,
      annotations: spec.mirror === true ? { "kubernetes.io/config.mirror": "mirror-hash" } : {},
      ...(pod.evicted ? { deletionTimestamp: "2024-01-01T00:00:00Z" } : {}),
    },
    spec: {
      nodeName: spec.nodeName,
      containers: [{ name: "main", image: "example/app:1" }],
      volumes: spec.emptyDir === true ? [{ name: "scratch", emptyDir: {} }] : [],
    },
    status: { phase: spec.phase ?? "Running" },
  };
}
