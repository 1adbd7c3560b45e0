// nkctl render-installer end to end: writes the installer tree for one node; the token stays out of .nix files.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { parseNixFiles } from "../shared/src/nix/index.js";

const ROOT = new URL("..", import.meta.url).pathname;
const CA = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIUexample0000000000000000000000wCgYIKoZIzj0EAwIw\n-----END CERTIFICATE-----\n";

it("writes an installer for one node whose Nix parses and whose token stays in enroll-token", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nk-installer-"));
  await writeFile(join(dir, "ca.pem"), CA);
  await writeFile(join(dir, "token"), "tok3n-abcdefghijklmnopqrstuvwxyz0123456789AB\n");
  const out = join(dir, "out");
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, "bin/nkctl.js"), "render-installer", "n2", "--dir", join(ROOT, "examples/homelab"), "--node-coordinator", "10.1.2.3:7443", "--ca-file", join(dir, "ca.pem"), "--enroll-token-file", join(dir, "token"), "--out", out]);
  expect(stdout).toContain(`wrote the installer for n2 to ${out}/n2`);
  const files = await readdir(join(out, "n2"), { recursive: true });
  const nix = files.filter((f) => f.endsWith(".nix")).map((f) => join(out, "n2", f));
  expect(nix.length).toBeGreaterThan(1);
  for (const r of await parseNixFiles(nix)) expect(r, r.error).toMatchObject({ ok: true });
  for (const f of nix) expect(await readFile(f, "utf8")).not.toContain("tok3n-abcdefghijklmnopqrstuvwxyz0123456789AB");
  expect((await readFile(join(out, "n2", "enroll-token"), "utf8")).trim()).toBe("tok3n-abcdefghijklmnopqrstuvwxyz0123456789AB");
  const all = (await Promise.all(files.map(async (f) => ((await stat(join(out, "n2", f))).isFile() ? readFile(join(out, "n2", f), "utf8") : "")))).join("\n");
  expect(all).toContain("172.30.190.4");
  expect(all).toContain("/dev/nvme0n1");
}, 60_000);

it("takes --disk for an EFI loader's node, which names no disk in the inventory, and refuses without it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nk-installer-efi-"));
  await cp(join(ROOT, "examples/homelab"), join(dir, "repo"), { recursive: true });
  const inventory = join(dir, "repo/inventory.yaml");
  const text = await readFile(inventory, "utf8");
  expect(text).toContain("  n3: { address: 172.30.190.5, role: server, boot_device: /dev/nvme0n1 }\n");
  await writeFile(inventory, text.replace("  n3: { address: 172.30.190.5, role: server, boot_device: /dev/nvme0n1 }\n", "  n3: { address: 172.30.190.5, role: server, boot: { loader: systemd-boot } }\n"));
  await writeFile(join(dir, "ca.pem"), CA);
  const args = (...extra: string[]): string[] => [join(ROOT, "bin/nkctl.js"), "render-installer", "n3", "--dir", join(dir, "repo"), "--node-coordinator", "10.1.2.3:7443", "--ca-file", join(dir, "ca.pem"), "--out", join(dir, "out"), ...extra];
  const refused = await promisify(execFile)(process.execPath, args()).then(
    () => null,
    (err: { code: number; stderr: string }) => err,
  );
  expect(refused).toMatchObject({ code: 2, stderr: "nkctl: node n3 boots with systemd-boot, whose settings name no disk: say which disk to erase with --disk (e.g. --disk /dev/nvme0n1)\n" });
  await promisify(execFile)(process.execPath, args("--disk", "/dev/nvme0n1"));
  expect(JSON.parse(await readFile(join(dir, "out/n3/install.json"), "utf8"))).toMatchObject({ disk: "/dev/nvme0n1", loader: "systemd-boot", efiMountPoint: "/boot" });
  expect(await readFile(join(dir, "out/n3/nk/boot.nix"), "utf8")).toContain("boot.loader.systemd-boot = {");
}, 60_000);
