// Turns an importer's draft into inventory.yaml text: fixed key order, nodes sorted, explanatory comments.
import { Document, isCollection, isMap, isScalar, type Node, type Pair, type YAMLMap } from "yaml";

export interface DraftNode {
  readonly name: string;
  readonly address: string;
  readonly role: "server" | "agent" | "none";
  readonly init: boolean;
  /** Omitted when the cluster-wide default applies. */
  readonly interface?: string;
  readonly bootDevice: string;
}

export interface DraftInventory {
  /** Lines of the comment at the top of the file. */
  readonly header: readonly string[];
  readonly cluster: {
    readonly name: string;
    readonly channel: string;
    readonly network: { readonly gateway: string; readonly prefixLength: number; readonly nameservers: readonly string[]; readonly interface?: string };
    readonly admin: { readonly user: string; readonly sshKeys: readonly string[] };
    readonly k3s: { readonly tokenSecret: string; readonly apiAddress?: string };
  };
  readonly nodes: readonly DraftNode[];
  /** Comments placed above a key, by dot-path (e.g. "cluster.admin.ssh_keys"). */
  readonly comments?: ReadonlyMap<string, readonly string[]>;
}

/** The rollout section every import starts from: the documented defaults, written out so they can be found. */
const ROLLOUT_DEFAULTS = { max_unavailable: 1, max_unavailable_servers: 1, reboot: "auto", window: null, settle_seconds: 0, checks: [] };

function byName(a: DraftNode, b: DraftNode): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function plainNode(n: DraftNode): Record<string, unknown> {
  return {
    address: n.address,
    role: n.role,
    ...(n.init ? { init: true } : {}),
    ...(n.interface !== undefined ? { interface: n.interface } : {}),
    boot_device: n.bootDevice,
  };
}

/** The pair under `path` ("a.b.c"), so a comment can sit above its key. */
function pairAt(doc: Document, path: string): Pair<Node, unknown> | undefined {
  const keys = path.split(".");
  const last = keys.pop()!;
  const parent = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
  if (!isMap(parent)) return undefined;
  return (parent as YAMLMap<Node, unknown>).items.find((p) => isScalar(p.key) && p.key.value === last);
}

/** Serialises the draft; the same draft always gives the same bytes. */
export function emitInventory(draft: DraftInventory): string {
  const c = draft.cluster;
  const plain = {
    cluster: {
      name: c.name,
      nixpkgs: { channel: c.channel },
      timezone: "UTC",
      network: {
        gateway: c.network.gateway,
        prefix_length: c.network.prefixLength,
        nameservers: [...c.network.nameservers],
        ...(c.network.interface !== undefined ? { interface: c.network.interface } : {}),
      },
      admin: { user: c.admin.user, ssh_keys: [...c.admin.sshKeys] },
      k3s: { token_secret: c.k3s.tokenSecret, ...(c.k3s.apiAddress !== undefined ? { api_address: c.k3s.apiAddress } : {}) },
      rollout: ROLLOUT_DEFAULTS,
    },
    nodes: Object.fromEntries([...draft.nodes].sort(byName).map((n) => [n.name, plainNode(n)])),
  };
  const doc = new Document(plain);
  doc.commentBefore = draft.header.map((l) => ` ${l}`).join("\n");
  const nameservers = doc.getIn(["cluster", "network", "nameservers"], true);
  if (isCollection(nameservers)) nameservers.flow = true;
  for (const [path, lines] of draft.comments ?? []) {
    const pair = pairAt(doc, path);
    if (pair && isScalar(pair.key)) pair.key.commentBefore = lines.map((l) => ` ${l}`).join("\n");
  }
  return doc.toString({ flowCollectionPadding: false, lineWidth: 0 });
}
