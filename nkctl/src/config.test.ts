// Where nkctl's connection settings come from: flags > environment > config file, and how bad ones are reported.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NkError } from "../../shared/src/errors/index.js";
import { checkToken, configFilePath, loadConnection, normalizeAddress, parseConfigFile, planConnection, type FileConfig } from "./config.js";

const FILE = "/home/op/.config/nk/config.yaml";
const fileConfig: FileConfig = { coordinator: "file.lan:7000", tokenFile: "/etc/nk/file.token", caFile: "/etc/nk/file-ca.crt" };
const fullEnv = { NK_COORDINATOR: "env.lan:7100", NK_TOKEN_FILE: "/env/token", NK_CA_FILE: "/env/ca.crt" };
const flags = { coordinator: "flag.lan:7200", tokenFile: "flag.token", caFile: "flag-ca.crt" };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof NkError ? `${err.code}: ${err.message}` : String(err);
  }
  return "no error";
}

describe("planConnection precedence", () => {
  it("takes flags over environment over the config file, resolving flag paths against the cwd", () => {
    const plan = planConnection(flags, fullEnv, fileConfig, FILE, "/work");
    expect(plan).toEqual({
      address: "flag.lan:7200",
      addressFrom: "--coordinator",
      token: { file: "/work/flag.token" },
      tokenFrom: "--token-file",
      tls: { caFile: "/work/flag-ca.crt", from: "--ca-file" },
    });
  });

  it("falls back to the environment, then to the file, setting by setting", () => {
    const env = planConnection({ coordinator: "flag.lan" }, fullEnv, fileConfig, FILE, "/work");
    expect(env).toMatchObject({ address: "flag.lan:7443", token: { file: "/env/token" }, tokenFrom: "NK_TOKEN_FILE", tls: { caFile: "/env/ca.crt", from: "NK_CA_FILE" } });
    const file = planConnection({}, { NK_CA_FILE: "/env/ca.crt" }, fileConfig, FILE, "/work");
    expect(file).toMatchObject({ address: "file.lan:7000", addressFrom: `coordinator in ${FILE}`, token: { file: "/etc/nk/file.token" }, tls: { caFile: "/env/ca.crt" } });
  });

  it("prefers NK_TOKEN (the token itself) over NK_TOKEN_FILE, and --token-file over both", () => {
    const env = { ...fullEnv, NK_TOKEN: "direct-token" };
    expect(planConnection({}, env, null, FILE, "/").token).toEqual({ value: "direct-token" });
    expect(planConnection({ tokenFile: "/t" }, env, null, FILE, "/").token).toEqual({ file: "/t" });
  });

  it("uses plaintext only with --insecure, which overrides a CA from env or file but not a CA flag", () => {
    expect(planConnection({ insecure: true }, fullEnv, fileConfig, FILE, "/").tls).toBe("insecure");
    expect(codeOf(() => planConnection({ insecure: true, caFile: "/ca" }, fullEnv, null, FILE, "/"))).toBe("INVALID_ARGUMENT: --insecure and --ca-file exclude each other");
  });

  it("names every way to provide a missing setting", () => {
    expect(codeOf(() => planConnection({}, {}, null, FILE, "/"))).toBe(
      `CONFIG_INVALID: no coordinator: pass --coordinator host:port, set NK_COORDINATOR, or put coordinator: in ${FILE}`,
    );
    expect(codeOf(() => planConnection({}, { NK_COORDINATOR: "c:1" }, null, FILE, "/"))).toMatch(/^CONFIG_INVALID: no admin token: pass --token-file, set NK_TOKEN or NK_TOKEN_FILE/);
    expect(codeOf(() => planConnection({}, { NK_COORDINATOR: "c:1", NK_TOKEN: "t" }, null, FILE, "/"))).toMatch(/^CONFIG_INVALID: no CA certificate: pass --ca-file/);
    expect(codeOf(() => planConnection({}, { NK_COORDINATOR: "c:99999" }, null, FILE, "/"))).toBe('CONFIG_INVALID: NK_COORDINATOR: "c:99999" is not host:port (e.g. coordinator.lan:7443)');
  });
});

describe("config file and addresses", () => {
  it("finds the file under XDG_CONFIG_HOME when it is absolute, else under ~/.config", () => {
    expect(configFilePath({ XDG_CONFIG_HOME: "/xdg" }, "/home/op")).toBe("/xdg/nk/config.yaml");
    expect(configFilePath({ XDG_CONFIG_HOME: "relative" }, "/home/op")).toBe("/home/op/.config/nk/config.yaml");
    expect(configFilePath({}, "/home/op")).toBe("/home/op/.config/nk/config.yaml");
  });

  it("adds the default port and accepts IPv6 literals", () => {
    expect(normalizeAddress("coord.lan")).toBe("coord.lan:7443");
    expect(normalizeAddress("[::1]:9000")).toBe("[::1]:9000");
    expect(normalizeAddress("10.0.0.1:0")).toBeNull();
    expect(normalizeAddress("http://x:1")).toBeNull();
  });

  it("resolves relative paths in the file against the file's folder", () => {
    expect(parseConfigFile("coordinator: c.lan:7443\ntokenFile: admin.token\ncaFile: /abs/ca.crt\n", FILE)).toEqual({
      coordinator: "c.lan:7443",
      tokenFile: "/home/op/.config/nk/admin.token",
      caFile: "/abs/ca.crt",
    });
    expect(parseConfigFile("", FILE)).toEqual({});
  });

  it("reports every problem at once with line, column and field", () => {
    const text = "coordinator: 42\ncaFile: ''\ntoken: abc\n";
    expect(codeOf(() => parseConfigFile(text, FILE))).toBe(
      [
        "CONFIG_INVALID: invalid config file:",
        `${FILE}:1:14 coordinator: expected a non-empty string`,
        `${FILE}:2:9 caFile: expected a non-empty string`,
        `${FILE}:3:1 token: unknown key (expected one of coordinator, tokenFile, caFile)`,
      ].join("\n"),
    );
    expect(codeOf(() => parseConfigFile("- a\n", FILE))).toBe(`CONFIG_INVALID: invalid config file:\n${FILE}:1:1 expected a mapping with coordinator, tokenFile, caFile`);
  });

  it("trims the token and refuses empty or spaced ones", () => {
    expect(checkToken("  abc.def\n", "NK_TOKEN")).toBe("abc.def");
    expect(codeOf(() => checkToken("\n", "--token-file"))).toBe("CONFIG_INVALID: the admin token from --token-file is empty");
    expect(codeOf(() => checkToken("a b", "NK_TOKEN"))).toBe("CONFIG_INVALID: the admin token from NK_TOKEN contains spaces or non-ASCII characters");
  });
});

describe("loadConnection", () => {
  const dir = mkdtempSync(join(tmpdir(), "nkctl-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "xdg", "nk"), { recursive: true });
  const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  writeFileSync(join(dir, "xdg", "nk", "config.yaml"), "coordinator: file.lan\ntokenFile: admin.token\ncaFile: ca.crt\n");
  writeFileSync(join(dir, "xdg", "nk", "admin.token"), "file-token\n");
  writeFileSync(join(dir, "xdg", "nk", "ca.crt"), PEM);
  writeFileSync(join(dir, "not-a-cert"), "hello\n");
  const ctx = { env: { XDG_CONFIG_HOME: join(dir, "xdg") }, home: join(dir, "home"), cwd: dir };

  it("reads the token and CA the config file names", async () => {
    expect(await loadConnection({}, ctx)).toEqual({ address: "file.lan:7443", token: "file-token", caPem: Buffer.from(PEM) });
  });

  it("lets flags and environment override single settings", async () => {
    const conn = await loadConnection({ coordinator: "127.0.0.1:9" }, { ...ctx, env: { ...ctx.env, NK_TOKEN: "env-token" } });
    expect(conn).toMatchObject({ address: "127.0.0.1:9", token: "env-token" });
    expect((await loadConnection({ insecure: true }, ctx)).caPem).toBeNull();
  });

  it("says which setting pointed at an unreadable or wrong file", async () => {
    await expect(loadConnection({ tokenFile: "missing.token" }, ctx)).rejects.toThrow(`cannot read the token file ${join(dir, "missing.token")} (from --token-file): no such file or directory`);
    await expect(loadConnection({ caFile: "not-a-cert" }, ctx)).rejects.toThrow(`the CA file ${join(dir, "not-a-cert")} holds no PEM certificate`);
  });
});
