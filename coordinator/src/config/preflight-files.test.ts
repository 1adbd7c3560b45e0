import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { coordinatorConfigSchema } from "./coordinator-config.js";
import { preflightFiles } from "./preflight-files.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-preflight-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const config = (extra: Record<string, unknown>) => coordinatorConfigSchema.parse({ stateDir: join(dir, "state"), kube: "none", ...extra });

describe("preflightFiles", () => {
  it("names the setting of a missing file, before the state directory exists", async () => {
    const c = coordinatorConfigSchema.parse({ stateDir: join(dir, "state"), kubeconfigFile: join(dir, "k3s.yaml") });
    await expect(preflightFiles(c)).rejects.toThrow(`cannot read kubeconfigFile ${join(dir, "k3s.yaml")}: no such file or directory`);
    const upstream = config({ source: { kind: "upstream", url: "https://git.example.invalid/inv.git", passwordFile: join(dir, "pw") } });
    await expect(preflightFiles(upstream)).rejects.toThrow(`cannot read source.passwordFile file ${join(dir, "pw")}: no such file or directory`);
    expect(existsSync(join(dir, "state"))).toBe(false);
  });

  it("does not repeat a secret written where its file's path belongs, whatever it looks like", async () => {
    // A token, a short password, base64 with a '/', and a pasted key spanning lines.
    for (const secret of ["nka_0123456789abcdef0123456789abcdef", "hunter2", "q8/Zr+0aV1/8mP3w9xKk2A==", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n"]) {
      const c = config({ source: { kind: "upstream", url: "https://git.example.invalid/inv.git", passwordFile: secret } });
      const refused = preflightFiles(c);
      await expect(refused).rejects.toThrow(/^the source\.passwordFile file setting is not a path nk can read \(\w+; the value is not shown/);
      const message = await refused.catch((err: Error) => `${err.message} ${String((err as { cause?: unknown }).cause ?? "")}`);
      expect(message).not.toContain(secret.slice(0, 6));
    }
  });

  it("refuses a short admin token before anything is written", async () => {
    await writeFile(join(dir, "admin.token"), "short-token\n");
    await expect(preflightFiles(config({ adminTokenFile: join(dir, "admin.token") }))).rejects.toThrow(`adminTokenFile ${join(dir, "admin.token")}: the admin token must be at least 32 characters`);
    expect(existsSync(join(dir, "state"))).toBe(false);
  });

  it("refuses a state directory that is a file, and an admin token file holding more than a token", async () => {
    await writeFile(join(dir, "state"), "x");
    await expect(preflightFiles(config({}))).rejects.toThrow(`stateDir ${join(dir, "state")} exists but is not a directory`);
    await rm(join(dir, "state"));
    await writeFile(join(dir, "admin.token"), "token: abc\n");
    await expect(preflightFiles(config({ adminTokenFile: join(dir, "admin.token") }))).rejects.toThrow(`adminTokenFile file ${join(dir, "admin.token")} is not one word of printable ASCII`);
    await writeFile(join(dir, "admin.token"), `${"a".repeat(40)}\n`);
    await chmod(join(dir, "admin.token"), 0o600);
    expect(await preflightFiles(config({ adminTokenFile: join(dir, "admin.token") }))).toEqual({ adminToken: "a".repeat(40), warnings: [] });
  });

  it("warns, without refusing, of a secret's file every user may read", async () => {
    const token = join(dir, "admin.token");
    await writeFile(token, `${"a".repeat(40)}\n`);
    await chmod(token, 0o644);
    const { warnings } = await preflightFiles(config({ adminTokenFile: token }));
    expect(warnings).toEqual([`adminTokenFile file ${token} has mode 0644: every user of this machine can read it; run chmod o-rwx ${token} (0600 or 0400, owned by the service's user)`]);
    expect(warnings.join()).not.toContain("a".repeat(40));
    await chmod(token, 0o640);
    expect((await preflightFiles(config({ adminTokenFile: token }))).warnings).toEqual([]);
  });
});
