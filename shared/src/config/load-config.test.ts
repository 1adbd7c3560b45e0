import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfigFile, readSecretFile, readTokenFile, secretFileExposure } from "./load-config.js";

const schema = z.strictObject({
  stateDir: z.string().default("/var/lib/x"),
  grpc: z.strictObject({ listen: z.string(), maxStreams: z.number().int().positive().default(10) }),
});

describe("loadConfigFile", () => {
  it("merges overrides over the file and fills defaults", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-config-"));
    const file = join(dir, "c.yaml");
    await writeFile(file, "grpc:\n  listen: 0.0.0.0:1\n");
    expect(await loadConfigFile(schema, file, { grpc: { listen: "127.0.0.1:2" } })).toEqual({ stateDir: "/var/lib/x", grpc: { listen: "127.0.0.1:2", maxStreams: 10 } });
  });

  it("reports every problem by dot-path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-config-"));
    const file = join(dir, "c.yaml");
    await writeFile(file, "grpc:\n  listen: 5\n  maxStreams: -1\nextra: true\n");
    await expect(loadConfigFile(schema, file)).rejects.toThrow(
      `${file} is invalid:\n  grpc.listen: Invalid input: expected string, received number\n  grpc.maxStreams: Too small: expected number to be >0\n  (top level): Unrecognized key: "extra"`,
    );
  });

  it("names the flag, not the file, for a bad value given on the command line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-config-"));
    const file = join(dir, "c.yaml");
    await writeFile(file, "grpc:\n  listen: 0.0.0.0:1\n");
    const flags = { "grpc.listen": "--grpc-listen", stateDir: "--state-dir" };
    await expect(loadConfigFile(schema, file, { grpc: { listen: 7 } }, flags)).rejects.toThrow(`the command line is invalid:\n  --grpc-listen: Invalid input: expected string, received number`);
    await writeFile(file, "grpc:\n  listen: 0.0.0.0:1\n  maxStreams: 0\n");
    await expect(loadConfigFile(schema, file, { grpc: { listen: 7 } }, flags)).rejects.toThrow(
      `${file} and the command line are invalid:\n  --grpc-listen: Invalid input: expected string, received number\n  grpc.maxStreams: Too small: expected number to be >0`,
    );
    // A key with a dot in its name is the file's, not the flag's.
    await writeFile(file, "grpc:\n  listen: 0.0.0.0:1\ngrpc.listen: x\n");
    await expect(loadConfigFile(schema, file, { grpc: { listen: "127.0.0.1:2" } }, flags)).rejects.toThrow(`${file} is invalid:\n  (top level): Unrecognized key: "grpc.listen"`);
    // A flag not given leaves the file's own setting named as such.
    await writeFile(file, "grpc:\n  listen: 5\n");
    await expect(loadConfigFile(schema, file, { grpc: undefined }, flags)).rejects.toThrow(`${file} is invalid:\n  grpc.listen: Invalid input: expected string, received number`);
  });

  it("names, for a rule across settings, the flag or the file's line that gave each setting it read", async () => {
    const pair = z
      .strictObject({ listen: z.string().default("0.0.0.0:1"), plain: z.boolean().default(false), other: z.number().optional() })
      .refine((c) => !c.plain || c.listen.startsWith("127."), { message: "plain needs a loopback listen: drop plain or listen on 127.0.0.1", path: ["plain"], params: { involves: ["listen", "plain"] } });
    const dir = await mkdtemp(join(tmpdir(), "nk-config-"));
    const file = join(dir, "c.yaml");
    const flags = { listen: "--listen" };
    await writeFile(file, "other: 1\nplain: true\n");
    await expect(loadConfigFile(pair, file, { listen: "0.0.0.0:2" }, flags)).rejects.toThrow(
      `${file} and the command line are invalid:\n  --listen and plain (${file}:2): plain needs a loopback listen: drop plain or listen on 127.0.0.1`,
    );
    // The file alone at fault, the default listen not named; then both settings from the file, each with its line.
    await expect(loadConfigFile(pair, file)).rejects.toThrow(`${file} is invalid:\n  plain (${file}:2): plain needs`);
    await writeFile(file, "plain: true\nother: 1\nlisten: 0.0.0.0:2\n");
    await expect(loadConfigFile(pair, file, { listen: undefined }, flags)).rejects.toThrow(`${file} is invalid:\n  listen (${file}:3) and plain (${file}:1): plain needs`);
    // JSON has lines too; a flag that fixes the file's value is taken.
    await writeFile(file, JSON.stringify({ plain: true, listen: "0.0.0.0:2" }, null, 2));
    await expect(loadConfigFile(pair, file)).rejects.toThrow(`listen (${file}:3) and plain (${file}:2): plain needs`);
    expect(await loadConfigFile(pair, file, { listen: "127.0.0.1:2" }, flags)).toMatchObject({ listen: "127.0.0.1:2", plain: true });
  });

  it("names an unreadable file and an empty secret", async () => {
    await expect(loadConfigFile(schema, "/nonexistent/c.yaml")).rejects.toThrow("cannot read config file /nonexistent/c.yaml");
    const dir = await mkdtemp(join(tmpdir(), "nk-config-"));
    await writeFile(join(dir, "t"), "\n");
    await expect(readSecretFile(join(dir, "t"), "admin token")).rejects.toThrow(`admin token file ${join(dir, "t")} is empty`);
    await writeFile(join(dir, "t"), "s3cret\n");
    expect(await readSecretFile(join(dir, "t"), "admin token")).toBe("s3cret");
  });

  it("says a file is empty, or not a mapping, instead of checking it key by key", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-config-"));
    const at = async (name: string, text: string) => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    };
    const empty = await at("empty.yaml", "# nothing yet\n");
    await expect(loadConfigFile(schema, empty)).rejects.toThrow(`${empty} holds no settings (it is empty or only comments)`);
    const list = await at("list.yaml", "- node: n1\n");
    await expect(loadConfigFile(schema, list)).rejects.toThrow(`${list}: expected a mapping of settings (key: value lines), got a list`);
    const colonless = await at("colon.yaml", "node n1\n");
    await expect(loadConfigFile(schema, colonless)).rejects.toThrow(`${colonless}: expected a mapping of settings (key: value lines), got a single string (a ':' missing after a key?)`);
  });

  it("refuses a token file that holds more than the token, without showing what it holds", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-config-"));
    const path = join(dir, "token");
    await writeFile(path, "Token for node n1 (shown once; the coordinator keeps only its hash):\n\n  nk_s3cret\n\nInstall it on n1\n");
    const refused = readTokenFile(path, "node token", "write it with: nkctl node enroll n1 -o json | jq -r .token");
    await expect(refused).rejects.toThrow(`node token file ${path} is not one word of printable ASCII (5 lines, spaces or other characters): it must hold only the token; write it with: nkctl node enroll n1 -o json | jq -r .token`);
    await expect(refused).rejects.not.toThrow(/nk_s3cret/);
    await writeFile(path, "nk_s3cret\n");
    expect(await readTokenFile(path, "node token", "")).toBe("nk_s3cret");
  });

  it("says when a secret's file lets every user read or write it, and leaves its group alone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-config-"));
    const path = join(dir, "token");
    await writeFile(path, "nk_s3cret\n");
    const mode = async (m: number): Promise<string | undefined> => {
      await chmod(path, m);
      return secretFileExposure(path, "node token");
    };
    expect(await mode(0o644)).toBe(`node token file ${path} has mode 0644: every user of this machine can read it; run chmod o-rwx ${path} (0600 or 0400, owned by the service's user)`);
    expect(await mode(0o606)).toContain("has mode 0606: every user of this machine can read and write it");
    expect(await mode(0o601)).toBeUndefined();
    expect(await mode(0o640)).toBeUndefined();
    expect(await mode(0o600)).toBeUndefined();
    expect(await secretFileExposure(join(dir, "missing"), "node token")).toBeUndefined();
  });
});
