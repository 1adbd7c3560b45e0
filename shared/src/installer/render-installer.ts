// renderInstaller: the files of a node's installer stick (flake, ISO module, first system, install script, settings).
import { isTokenText } from "../config/load-config.js";
import { holdsPemCertificate } from "../config/pem.js";
import { HOST_PORT } from "../names/index.js";
import { NkError } from "../errors/index.js";
import type { Inventory, NodeSpec } from "../inventory/model.js";
import { sortFiles, type BundleFile } from "../render/bundle.js";
import { renderBootNix, renderFlakeLock, renderNetworkNix, renderUsersNix } from "../render/index.js";
import type { BundleInputs } from "../lock/index.js";
import { INSTALL_SCRIPT } from "./install-script.js";
import { filesystemIds, renderInstallJson } from "./install-settings.js";
import { renderInstallerFlakeNix } from "./installer-flake-nix.js";
import { renderInstallerNix } from "./installer-nix.js";
import { renderInstallerReadme } from "./installer-readme.js";
import { installerEfiMountPoint, renderNodeNix } from "./node-nix.js";
import { isNodeName } from "../names/index.js";

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
  /**
   * The whole disk to erase and install onto. Required for EFI loaders (their settings name no disk); for
   * grub-bios it defaults to the loader's device and must equal it.
   */
  readonly disk?: string;
  /** nixpkgs and nk as nk.lock pins them (the bundles' inputs), so the first system is the one the bundles build on. */
  readonly inputs: BundleInputs;
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


/** host:port exactly as the agent's `coordinators` check takes it: an address the agent would refuse must not be baked in. */
export function isCoordinatorAddress(c: string): boolean {
  return HOST_PORT.test(c);
}

const DEVICE = /^\/dev\/[A-Za-z0-9/_.:-]+$/;

/** The disk the stick erases: --disk, or the grub-bios device (which must then be the same disk). */
function installDisk(node: NodeSpec, disk: string | undefined): string {
  const { boot } = node;
  if (boot.loader === "extlinux") {
    throw new NkError("INVALID_ARGUMENT", `node ${node.name} boots with extlinux (e.g. a Raspberry Pi): install it from the NixOS SD card image instead of an installer stick (docs/nixos.md)`);
  }
  if (disk !== undefined && !DEVICE.test(disk)) throw new NkError("INVALID_ARGUMENT", `--disk must be a device under /dev (e.g. /dev/nvme0n1), got "${disk}"`);
  if (boot.loader !== "grub-bios") {
    if (disk === undefined) throw new NkError("INVALID_ARGUMENT", `node ${node.name} boots with ${boot.loader}, whose settings name no disk: say which disk to erase with --disk (e.g. --disk /dev/nvme0n1)`);
    return disk;
  }
  // The validator is stricter; this guards against an inventory built in code.
  if (!boot.device.startsWith("/dev/")) throw new NkError("INVENTORY_INVALID", `nodes.${node.name}.boot.device must be a device under /dev (e.g. /dev/nvme0n1), got "${boot.device}"`);
  if (disk !== undefined && disk !== boot.device) {
    throw new NkError("INVALID_ARGUMENT", `--disk ${disk} is not nodes.${node.name}.boot.device ${boot.device}: GRUB would go onto a disk the installer did not partition`);
  }
  return boot.device;
}

function checkedCoordinators(coordinator: string | readonly string[]): string[] {
  const list = typeof coordinator === "string" ? [coordinator] : [...coordinator];
  if (list.length === 0) throw new NkError("INVALID_ARGUMENT", "the installer needs the coordinator's address (host:port)");
  for (const c of list) {
    if (!isCoordinatorAddress(c)) throw new NkError("INVALID_ARGUMENT", `coordinator "${c}" is not host:port (e.g. coordinator.lan:7443)`);
  }
  return list;
}

/** Every file of the installer for `nodeName`, sorted by path; pure and deterministic. */
export function renderInstaller(inventory: Inventory, nodeName: string, options: InstallerOptions): BundleFile[] {
  const node = inventory.nodes.find((n) => n.name === nodeName);
  if (!node) throw new NkError("NODE_UNKNOWN", `node "${nodeName}" is not in the inventory`);
  if (!isNodeName(node.name)) throw new NkError("INVENTORY_INVALID", `node name "${node.name}" is not a DNS label`);
  const disk = installDisk(node, options.disk);
  const coordinators = checkedCoordinators(options.coordinator);
  if (!holdsPemCertificate(options.caPem)) throw new NkError("INVALID_ARGUMENT", "caPem must be the coordinator CA certificate in PEM form");
  const token = options.enrollToken?.trim();
  if (options.enrollToken !== undefined && (token === undefined || !isTokenText(token))) {
    throw new NkError("INVALID_ARGUMENT", "the enroll token must be one word of printable ASCII");
  }

  const { cluster } = inventory;
  const ids = filesystemIds(cluster.name, node.name);
  const files: BundleFile[] = [
    { path: INSTALLER_FILES.flake, content: renderInstallerFlakeNix(cluster.name, node.name, node.system, options.inputs.nixpkgs.url, options.inputs.nk.url) },
    { path: "flake.lock", content: renderFlakeLock(options.inputs) },
    { path: INSTALLER_FILES.installer, content: renderInstallerNix({ node: node.name, autoInstall: options.autoInstall ?? false }) },
    { path: INSTALLER_FILES.node, content: renderNodeNix(cluster, node, ids) },
    { path: "nk/boot.nix", content: renderBootNix(node.boot) },
    { path: "nk/network.nix", content: renderNetworkNix(cluster.network, node) },
    { path: "nk/users.nix", content: renderUsersNix(cluster.admin) },
    { path: INSTALLER_FILES.script, content: INSTALL_SCRIPT },
    {
      path: INSTALLER_FILES.settings,
      content: renderInstallJson({ cluster: cluster.name, node: node.name, disk, loader: node.boot.loader, efiMountPoint: installerEfiMountPoint(node), ...ids, coordinators }),
    },
    { path: INSTALLER_FILES.ca, content: options.caPem.endsWith("\n") ? options.caPem : `${options.caPem}\n` },
    { path: "README.md", content: renderInstallerReadme(node.name, disk, node.boot.loader, token !== undefined) },
  ];
  if (token !== undefined) files.push({ path: INSTALLER_FILES.token, content: token });
  return sortFiles(files);
}
