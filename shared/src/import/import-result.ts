// What an importer returns and accepts, and the parts of a draft both importers fill the same way.
export interface ImportResult {
  /** The new inventory.yaml text. */
  readonly yaml: string;
  /** For the operator: what was mapped, dropped or defaulted, and what to do before the first push. */
  readonly notes: string[];
  /** Further repo files by path, e.g. `nodes/<name>.nix`; sorted by path. */
  readonly extraFiles: Map<string, string>;
}

/** Values the old formats do not hold; every one has a default that the notes mention. */
export interface ImportOptions {
  /** cluster.name; default "nk3" or "plans". */
  readonly clusterName?: string;
  /** cluster.admin.ssh_keys; without one the output does not validate until the operator adds a key. */
  readonly sshKeys?: readonly string[];
  /** The admin user: nk3 has none (default "ops"); for plans it overrides the hosts.csv admin column. */
  readonly adminUser?: string;
  /** nk3: the nodes' network interface (default "eth0"); the plans format names it per host. */
  readonly interface?: string;
  /** plans: the boot loader disk of every node (default /dev/sda); nk3 names it per node. */
  readonly bootDevice?: string;
  /** plans: the nixpkgs channel (default nixos-24.11); nk3 names it. */
  readonly channel?: string;
}

export const TOKEN_SECRET = "k3s-token";
export { DNS_LABEL } from "../names/index.js";

/** The admin keys to write, with a comment and a note when there are none yet. */
export function adminKeys(options: ImportOptions, notes: string[], comments: Map<string, string[]>): string[] {
  const keys = (options.sshKeys ?? []).map((k) => k.trim()).filter((k) => k !== "");
  if (keys.length === 0) {
    comments.set("cluster.admin.ssh_keys", [
      "Add at least one OpenSSH public key here, e.g. \"ssh-ed25519 AAAA... you@laptop\":",
      "the inventory does not validate without one (nodes accept no passwords).",
    ]);
    notes.push(
      "cluster.admin.ssh_keys is empty: add at least one public key before pushing; the inventory does not validate without one (nodes accept no passwords)",
    );
  } else {
    notes.push(`cluster.admin.ssh_keys: ${keys.length} key${keys.length > 1 ? "s" : ""} given to the importer`);
  }
  return keys;
}

export function tokenComment(comments: Map<string, string[]>): void {
  comments.set("cluster.k3s", [`The k3s join token is never in git: it lives in the coordinator (nkctl secret set ${TOKEN_SECRET}).`]);
}

/** etcd quorum: an even member count tolerates no more failures than one member fewer. */
export function quorumNote(servers: number, notes: string[]): void {
  if (servers > 0 && servers % 2 === 0) {
    notes.push(`${servers} servers: an even number of etcd members tolerates no more failures than ${servers - 1}; consider an odd number of servers`);
  }
}

/** Sorted copy, so the extra files come out in one order whatever order they were found in. */
export function sortedFiles(files: Map<string, string>): Map<string, string> {
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
