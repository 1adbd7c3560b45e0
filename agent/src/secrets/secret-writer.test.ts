import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { renderCluster, SECRETS_DIR, secretNamesFor } from "../../../shared/src/render/index.js";
import { lbInventory, lockFilesFor } from "../../../shared/src/render/test-inventory.js";
import { agentConfigSchema } from "../config/agent-config.js";
import { SecretWriter } from "./secret-writer.js";

it("writes secrets 0600 in a 0700 directory and refuses unsafe names", async () => {
  const dir = join(await mkdtemp(join(tmpdir(), "nk-secrets-")), "secrets");
  const writer = new SecretWriter(dir);
  const paths = await writer.writeAll(new Map([["k3s-token", Buffer.from("t0ken")]]));
  expect(paths).toEqual([join(dir, "k3s-token")]);
  expect(await readFile(paths[0]!, "utf8")).toBe("t0ken");
  expect((await stat(paths[0]!)).mode & 0o777).toBe(0o600);
  expect((await stat(dir)).mode & 0o777).toBe(0o700);
  await writer.writeAll(new Map([["k3s-token", Buffer.from("new")]]));
  expect(await readFile(paths[0]!, "utf8")).toBe("new");
  await expect(writer.writeAll(new Map([["../etc/passwd", Buffer.from("x")]]))).rejects.toThrow('refusing to write secret with unsafe name "../etc/passwd"');
});

it("writes the VRRP password where keepalived's secretFile points, on carriers only, and no bundle holds it", async () => {
  const inv = lbInventory();
  const bundles = renderCluster(inv, lockFilesFor(inv));
  const defaults = agentConfigSchema.parse({ node: "lb1", coordinators: ["127.0.0.1:7443"], caFile: "/x/ca.crt", tokenFile: "/x/token" });
  // The agent's own secrets directory (a tmpfs under /run) is the one bundles point at.
  expect(defaults.secretsDir).toBe(SECRETS_DIR);
  const password = "NK_VRRP_PASSWORD=c0ffee42\n";
  for (const node of inv.nodes) {
    const names = secretNamesFor(inv, node);
    const keepalived = bundles.get(node.name)!.files.find((f) => f.path === "nk/keepalived.nix")?.content;
    expect(names.includes("vrrp-password")).toBe(keepalived !== undefined);
    for (const f of bundles.get(node.name)!.files) expect(f.content).not.toContain("c0ffee42");
    if (!keepalived) continue;
    expect(keepalived).toContain(`secretFile = "${new SecretWriter(defaults.secretsDir).path("vrrp-password")}";`);
  }
  // What the agent writes there is what keepalived's unit reads: the variable line, mode 0600.
  const dir = join(await mkdtemp(join(tmpdir(), "nk-secrets-")), "secrets");
  const [path] = await new SecretWriter(dir).writeAll(new Map([["vrrp-password", Buffer.from(password)]]));
  expect(await readFile(path!, "utf8")).toBe(password);
  expect((await stat(path!)).mode & 0o777).toBe(0o600);
});
