// install.json, what the install script reads (node, disk, loader, filesystem ids, coordinators), and the filesystem ids themselves.
import { createHash } from "node:crypto";
import type { BootLoader } from "../inventory/model.js";

export interface InstallSettings {
  readonly cluster: string;
  readonly node: string;
  /** The whole disk the script erases. */
  readonly disk: string;
  /** The node's boot loader: an EFI one needs the stick booted in UEFI mode. */
  readonly loader: BootLoader;
  /** Where the ESP is mounted (the loader's, or /boot/efi when the loader uses none). */
  readonly efiMountPoint: string;
  /** ext4 UUID of the root filesystem (mkfs.ext4 -U), lower-case. */
  readonly rootUuid: string;
  /** FAT volume id of the ESP (mkfs.vfat -i): 8 upper-case hex digits. */
  readonly espSerial: string;
  readonly coordinators: readonly string[];
}

export interface FilesystemIds {
  readonly rootUuid: string;
  readonly espSerial: string;
}

/**
 * Filesystem ids derived from cluster and node: the same on every render, different between nodes. The
 * node's first system mounts by these ids (a label could also match another disk in the machine), and the
 * install script recognises a disk it already installed by them.
 */
export function filesystemIds(cluster: string, node: string): FilesystemIds {
  const hex = createHash("sha256").update(`nk-installer\0${cluster}\0${node}`).digest("hex");
  // RFC 9562 version 8 (custom) with the RFC variant bits, so tools treat it as a well-formed UUID.
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  const u = `${hex.slice(0, 12)}8${hex.slice(13, 16)}${variant}${hex.slice(17, 32)}`;
  return {
    rootUuid: `${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20, 32)}`,
    espSerial: hex.slice(32, 40).toUpperCase(),
  };
}

/** How the ESP's id appears under /dev/disk/by-uuid: XXXX-XXXX. */
export function espUuid(espSerial: string): string {
  return `${espSerial.slice(0, 4)}-${espSerial.slice(4)}`;
}

export function renderInstallJson(settings: InstallSettings): string {
  const ordered = {
    cluster: settings.cluster,
    node: settings.node,
    disk: settings.disk,
    loader: settings.loader,
    efiMountPoint: settings.efiMountPoint,
    rootUuid: settings.rootUuid,
    espSerial: settings.espSerial,
    coordinators: settings.coordinators,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}
