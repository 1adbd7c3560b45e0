// renderInstaller: the files of a node's installer stick (flake, ISO module, first system, install script, settings).
import { NkError } from "../errors/index.js";
import type { Inventory } from "../inventory/model.js";
import { sortFiles, type BundleFile } from "../render/bundle.js";
import { renderNetworkNix } from "../render/index.js";
import { nixpkgsUrl } from "../render/render-context.js";
import { renderUsersNix } from "../render/index.js";
import { INSTALL_SCRIPT } from "./install-script.js";
import { filesystemIds, renderInstallJson } from "./install-settings.js";
import { renderInstallerFlakeNix } from "./installer-flake-nix.js";
import { renderInstallerNix } from "./installer-nix.js";
import { renderInstallerReadme } from "./installer-readme.js";
import { renderNodeNix } from "./node-nix.js";

export interface InstallerOptions {
  /** The coordinator's gRPC address as the node reaches it (host:port), or several for failover. */
  readonly coordinator: string | readonly string[];
  /** PEM of the coordinator CA (its <stateDir>/tls/ca.crt). */
  readonly caPem: string;
  /**
   * The node's token (nkctl node enroll). It goes into the file enroll-token, never into a .nix file, and is
   * installed as /etc/nk/token (0600). Without it the installer asks for the token, or the operator writes it later.
   */
  readonly enrollToken?: string;
  /** Put nk.autoinstall on the stick's kernel command line: install without asking. */
  readonly autoInstall?: boolean;
}

/** The file names the install script and installer.nix expect beside each other. */
export const INSTALLER_FILES = {
  flake: "flake.nix",
  installer: "installer.nix",
  node: "node.nix",
  script: "install.sh",
  settings: "install.json",
  ca: "ca.pem",
  token: "enroll-token",
} as const;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/;
const TOKEN = /^[\x21-\x7e]+$/;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;

function checkedCoordinators(coordinator: string | readonly string[]): string[] {
  const list = typeof coordinator === "string" ? [coordinator] : [...coordinator];
  if (list.length === 0) throw new NkError("INVALID_ARGUMENT", "the installer needs the coordinator's address (host:port)");
  for (const c of list) {
    const port = Number(c.slice(c.lastIndexOf(":") + 1));
    if (!HOST_PORT.test(c) || port < 1 || port > 65535) {
      throw new NkError("INVALID_ARGUMENT", `coordinator "${c}" is not host:port (e.g. coordinator.lan:7443)`);
    }
  }
  return list;
}

/** Every file of the installer for `nodeName`, sorted by path; pure and deterministic. */
export function renderInstaller(inventory: Inventory, nodeName: string, options: InstallerOptions): BundleFile[] {
  const node = inventory.nodes.find((n) => n.name === nodeName);
  if (!node) throw new NkError("NODE_UNKNOWN", `node "${nodeName}" is not in the inventory`);
  if (!DNS_LABEL.test(node.name)) throw new NkError("INVENTORY_INVALID", `node name "${node.name}" is not a DNS label`);
  if (!node.bootDevice.startsWith("/dev/")) {
    throw new NkError("INVENTORY_INVALID", `nodes.${node.name}.boot_device must be a device under /dev (e.g. /dev/nvme0n1), got "${node.bootDevice}"`);
  }
  const coordinators = checkedCoordinators(options.coordinator);
  if (!PEM_CERT.test(options.caPem)) throw new NkError("INVALID_ARGUMENT", "caPem must be the coordinator CA certificate in PEM form");
  const token = options.enrollToken?.trim();
  if (options.enrollToken !== undefined && (token === undefined || !TOKEN.test(token))) {
    throw new NkError("INVALID_ARGUMENT", "the enroll token must be one word of printable ASCII");
  }

  const { cluster } = inventory;
  const ids = filesystemIds(cluster.name, node.name);
  const files: BundleFile[] = [
    { path: INSTALLER_FILES.flake, content: renderInstallerFlakeNix(cluster.name, node.name, nixpkgsUrl(cluster.nixpkgs), cluster.agent.flake) },
    { path: INSTALLER_FILES.installer, content: renderInstallerNix({ node: node.name, autoInstall: options.autoInstall ?? false }) },
    { path: INSTALLER_FILES.node, content: renderNodeNix(cluster, node, ids) },
    { path: "nk/network.nix", content: renderNetworkNix(cluster.network, node) },
    { path: "nk/users.nix", content: renderUsersNix(cluster.admin) },
    { path: INSTALLER_FILES.script, content: INSTALL_SCRIPT },
    {
      path: INSTALLER_FILES.settings,
      content: renderInstallJson({ cluster: cluster.name, node: node.name, bootDevice: node.bootDevice, ...ids, coordinators }),
    },
    { path: INSTALLER_FILES.ca, content: options.caPem.endsWith("\n") ? options.caPem : `${options.caPem}\n` },
    { path: "README.md", content: renderInstallerReadme(node.name, node.bootDevice, token !== undefined) },
  ];
  if (token !== undefined) files.push({ path: INSTALLER_FILES.token, content: token });
  return sortFiles(files);
}
