import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
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
