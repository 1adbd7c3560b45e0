// Boot loader and system settings: cluster default, node override, the boot_device shorthand, every rule's exact message.
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "./format-diagnostic.js";
import type { NodeSpec } from "./model.js";
import { validateInventoryText } from "./validate-repo.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyExampleKeyExampleKeyExampleKey00 ops@laptop";

/** Line 7 is the cluster's boot default, lines 9-11 the nodes: tests replace those. */
function inventory(clusterBoot: string, n1: string, n2: string, n3: string): string {
  return `cluster:
  name: lab
  nixpkgs: { channel: nixos-24.11 }
  network: { gateway: 10.0.0.1, prefix_length: 24, interface: enp1s0 }
  admin: { user: ops, ssh_keys: ["${KEY}"] }
  k3s: { token_secret: k3s-token }
${clusterBoot}
nodes:
  n1: { address: 10.0.0.11, role: server, init: true${n1} }
  n2: { address: 10.0.0.12, role: server${n2} }
  n3: { address: 10.0.0.13, role: server${n3} }
`;
}

function read(text: string): { problems: string[]; nodes: Record<string, Pick<NodeSpec, "system" | "boot">> } {
  const result = validateInventoryText(text);
  const nodes = Object.fromEntries((result.inventory?.nodes ?? []).map((n) => [n.name, { system: n.system, boot: n.boot }]));
  return { problems: result.diagnostics.map(formatDiagnostic), nodes };
}

describe("boot and system", () => {
  it("applies the cluster default, lets a node override it whole or field by field, and keeps boot_device as grub-bios", () => {
    const { problems, nodes } = read(
      inventory("  boot: { loader: grub-bios, device: /dev/nvme0n1 }", "", ", boot: { device: /dev/sda, efi_mount_point: /boot/efi }", ", boot_device: /dev/vda"),
    );
    expect(problems).toEqual([]);
    expect(nodes).toEqual({
      n1: { system: "x86_64-linux", boot: { loader: "grub-bios", device: "/dev/nvme0n1" } },
      n2: { system: "x86_64-linux", boot: { loader: "grub-bios", device: "/dev/sda", efiMountPoint: "/boot/efi" } },
      n3: { system: "x86_64-linux", boot: { loader: "grub-bios", device: "/dev/vda" } },
    });
  });

  it("defaults the EFI mount point to /boot, and a node naming a loader replaces the default entirely", () => {
    const { problems, nodes } = read(
      inventory("  boot: { loader: systemd-boot }", "", ", boot: { loader: grub-efi, efi_mount_point: /efi }", ", system: aarch64-linux, boot: { loader: extlinux }"),
    );
    expect(problems).toEqual([]);
    expect(nodes).toEqual({
      n1: { system: "x86_64-linux", boot: { loader: "systemd-boot", efiMountPoint: "/boot" } },
      n2: { system: "x86_64-linux", boot: { loader: "grub-efi", efiMountPoint: "/efi" } },
      n3: { system: "aarch64-linux", boot: { loader: "extlinux" } },
    });
  });

  const cases: [string, [string, string, string, string], string[]][] = [
    ["no boot settings anywhere", ["", ", boot: { loader: systemd-boot }", "", ", boot_device: /dev/sda"], [
      "inventory.yaml:10:7 nodes.n2.boot: is required (or set cluster.boot as the default): { loader: systemd-boot } for a UEFI machine, { loader: grub-bios, device: /dev/sda } for a BIOS one",
    ]],
    ["an unknown loader", ["  boot: { loader: uefi }", "", "", ""], [
      'inventory.yaml:7:19 cluster.boot.loader: expected one of systemd-boot, grub-efi, grub-bios, extlinux, got "uefi"',
    ]],
    ["grub-bios without a device", ["  boot: { loader: grub-bios }", ", boot: { device: /dev/sda }", "", ", boot_device: /dev/sda"], [
      "inventory.yaml:10:7 nodes.n2.boot.device: is required for grub-bios (the disk whose boot sector GRUB is installed in, e.g. /dev/sda), here or in cluster.boot",
    ]],
    ["a device for an EFI loader, reported once where it is written", ["  boot: { loader: systemd-boot, device: /dev/sda }", "", "", ", boot: { loader: grub-efi, device: /dev/vda }"], [
      "inventory.yaml:7:41 cluster.boot.device: only applies to grub-bios, not systemd-boot: systemd-boot installs into the EFI system partition, not onto a disk; remove it",
      "inventory.yaml:11:77 nodes.n3.boot.device: only applies to grub-bios, not grub-efi: grub-efi installs into the EFI system partition, not onto a disk; remove it",
    ]],
    ["a node's device over an EFI default", ["  boot: { loader: grub-efi }", ", boot: { device: /dev/sda }", "", ""], [
      "inventory.yaml:9:71 nodes.n1.boot.device: only applies to grub-bios, not grub-efi: grub-efi installs into the EFI system partition, not onto a disk; remove it",
    ]],
    ["a device or an EFI mount point for extlinux", ["  boot: { loader: extlinux, device: /dev/mmcblk0, efi_mount_point: /boot }", "", "", ""], [
      "inventory.yaml:7:37 cluster.boot.device: only applies to grub-bios, not extlinux: extlinux writes /boot/extlinux/extlinux.conf for the board's firmware; remove it",
      "inventory.yaml:7:68 cluster.boot.efi_mount_point: does not apply to extlinux (there is no EFI system partition); remove it",
    ]],
    ["boot and boot_device together", ["", ", boot: { loader: systemd-boot }, boot_device: /dev/sda", ", boot_device: /dev/sda", ", boot_device: /dev/sda"], [
      "inventory.yaml:9:100 nodes.n1.boot_device: is the short form of boot: { loader: grub-bios, device: ... }: set boot or boot_device, not both",
    ]],
    ["a device outside /dev and a relative mount point", ["  boot: { loader: grub-bios, device: sda, efi_mount_point: boot/efi }", ", boot_device: /dev/sda", ", boot_device: /dev/sda", ", boot_device: /dev/sda"], [
      'inventory.yaml:7:38 cluster.boot.device: expected a device path under /dev, got "sda"',
      'inventory.yaml:7:60 cluster.boot.efi_mount_point: expected an absolute path such as /boot or /boot/efi, got "boot/efi"',
    ]],
    ["a boot default without a loader", ["  boot: { efi_mount_point: /boot }", "", "", ""], [
      "inventory.yaml:7:9 cluster.boot: needs a loader (systemd-boot, grub-efi, grub-bios, extlinux)",
    ]],
    ["an unknown system", ["  boot: { loader: systemd-boot }", ", system: arm64", "", ""], [
      'inventory.yaml:9:63 nodes.n1.system: expected one of x86_64-linux, aarch64-linux, got "arm64"',
    ]],
    ["grub-bios on aarch64", ["", ", system: aarch64-linux, boot_device: /dev/sda", ", boot_device: /dev/sda", ", boot_device: /dev/sda"], [
      "inventory.yaml:9:63 nodes.n1.system: aarch64-linux cannot boot with grub-bios (BIOS exists on x86 PCs only): use systemd-boot or grub-efi (UEFI), or extlinux (e.g. Raspberry Pi)",
    ]],
  ];

  for (const [name, [clusterBoot, n1, n2, n3], expected] of cases) {
    it(`reports ${name}`, () => {
      const text = inventory(clusterBoot, n1, n2, n3);
      expect(read(text).problems).toEqual(expected);
      expect(validateInventoryText(text).inventory).toBeNull();
    });
  }
});
