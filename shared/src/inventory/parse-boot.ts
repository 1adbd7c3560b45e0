// Reads `boot:` (cluster default, node override, the boot_device shorthand) into one BootSettings per node.
import { BOOT_LOADERS, type BootLoader, type BootSettings, type NodeSystem } from "./model.js";
import type { Located, YamlReader } from "./yaml-reader.js";

/** A boot loader disk: a path under /dev. */
export const DEVICE_PATH = /^\/dev\/[A-Za-z0-9/_.:-]+$/;
const MOUNT_POINT = /^(\/[A-Za-z0-9._-]+)+$/;
export const DEFAULT_EFI_MOUNT_POINT = "/boot";

/** A `boot:` mapping as written: any field may be absent; each remembers where it was written. */
export interface BootDraft {
  readonly at: Located;
  readonly loader?: { readonly value: BootLoader; readonly at: Located };
  readonly device?: { readonly value: string; readonly at: Located };
  readonly efiMountPoint?: { readonly value: string; readonly at: Located };
  /** Something in it did not read (already reported): nodes using it get no boot settings and no further messages. */
  readonly broken?: boolean;
}

export function readBootDraft(r: YamlReader, loc: Located | undefined): BootDraft | undefined {
  if (!loc) return undefined;
  const problemsBefore = r.diagnostics.length;
  const f = r.map(loc, ["loader", "device", "efi_mount_point"]);
  if (!f) {
    if (loc.node === null) r.report(loc.pos, loc.path, `expected a mapping such as { loader: systemd-boot }`);
    return undefined;
  }
  const loader = r.oneOf(f.get("loader"), BOOT_LOADERS);
  const device = r.string(f.get("device"));
  const mount = r.string(f.get("efi_mount_point"));
  if (device !== undefined && !DEVICE_PATH.test(device)) r.report(f.get("device")!.pos, f.get("device")!.path, `expected a device path under /dev, got "${device}"`);
  if (mount !== undefined && !MOUNT_POINT.test(mount)) {
    r.report(f.get("efi_mount_point")!.pos, f.get("efi_mount_point")!.path, `expected an absolute path such as /boot or /boot/efi, got "${mount}"`);
  }
  return {
    at: loc,
    ...(loader !== undefined ? { loader: { value: loader, at: f.get("loader")! } } : {}),
    ...(device !== undefined && DEVICE_PATH.test(device) ? { device: { value: device, at: f.get("device")! } } : {}),
    ...(mount !== undefined && MOUNT_POINT.test(mount) ? { efiMountPoint: { value: mount, at: f.get("efi_mount_point")! } } : {}),
    ...(r.diagnostics.length > problemsBefore ? { broken: true } : {}),
  };
}

/** `boot_device: X` on a node is short for `boot: { loader: grub-bios, device: X }` (its meaning before `boot`). */
export function bootDeviceShorthand(r: YamlReader, loc: Located | undefined): BootDraft | undefined {
  const device = r.string(loc);
  if (device === undefined || !loc) return undefined;
  if (!DEVICE_PATH.test(device)) {
    r.report(loc.pos, loc.path, `expected a device path under /dev, got "${device}"`);
    return undefined;
  }
  return { at: loc, loader: { value: "grub-bios", at: loc }, device: { value: device, at: loc } };
}

const WHY_NO_DEVICE: Readonly<Record<Exclude<BootLoader, "grub-bios">, string>> = {
  "systemd-boot": "systemd-boot installs into the EFI system partition, not onto a disk",
  "grub-efi": "grub-efi installs into the EFI system partition, not onto a disk",
  extlinux: "extlinux writes /boot/extlinux/extlinux.conf for the board's firmware",
};

/**
 * A node's boot settings: the node's own `boot` when it names a loader, else its fields over the cluster default.
 * Problems at a cluster field are reported once (`reported` remembers them), problems of the node at the node.
 */
export function resolveBoot(r: YamlReader, node: Located, own: BootDraft | undefined, cluster: BootDraft | undefined, reported: Set<string>): BootSettings | undefined {
  if (own?.broken || (!own?.loader && cluster?.broken)) return undefined;
  const pick = <K extends "loader" | "device" | "efiMountPoint">(key: K): BootDraft[K] => (own?.loader ? own[key] : (own?.[key] ?? cluster?.[key]));
  const loader = pick("loader");
  const device = pick("device");
  const mount = pick("efiMountPoint");
  const once = (at: Located, message: string): void => {
    const key = `${at.path}\0${message}`;
    if (reported.has(key)) return;
    reported.add(key);
    r.report(at.pos, at.path, message);
  };
  if (!loader) {
    if (own || cluster) once(own?.at ?? cluster!.at, `needs a loader (${BOOT_LOADERS.join(", ")})`);
    else r.report(node.pos, `${node.path}.boot`, "is required (or set cluster.boot as the default): { loader: systemd-boot } for a UEFI machine, { loader: grub-bios, device: /dev/sda } for a BIOS one");
    return undefined;
  }
  let ok = true;
  if (loader.value === "grub-bios") {
    if (!device) {
      r.report(own?.at.pos ?? node.pos, `${node.path}.boot.device`, "is required for grub-bios (the disk whose boot sector GRUB is installed in, e.g. /dev/sda), here or in cluster.boot");
      ok = false;
    }
  } else if (device) {
    once(device.at, `only applies to grub-bios, not ${loader.value}: ${WHY_NO_DEVICE[loader.value]}; remove it`);
    ok = false;
  }
  if (loader.value === "extlinux" && mount) {
    once(mount.at, "does not apply to extlinux (there is no EFI system partition); remove it");
    ok = false;
  }
  if (!ok) return undefined;
  if (loader.value === "extlinux") return { loader: "extlinux" };
  if (loader.value === "grub-bios") return { loader: "grub-bios", device: device!.value, ...(mount ? { efiMountPoint: mount.value } : {}) };
  return { loader: loader.value, efiMountPoint: mount?.value ?? DEFAULT_EFI_MOUNT_POINT };
}

/** BIOS GRUB exists for x86 PCs only. */
export function checkBootForSystem(r: YamlReader, node: Located, systemAt: Located | undefined, system: NodeSystem, boot: BootSettings): void {
  if (system === "aarch64-linux" && boot.loader === "grub-bios") {
    r.report((systemAt ?? node).pos, `${node.path}.system`, "aarch64-linux cannot boot with grub-bios (BIOS exists on x86 PCs only): use systemd-boot or grub-efi (UEFI), or extlinux (e.g. Raspberry Pi)");
  }
}
