// fetchClosure's exact command lines (the real-Nix run is test/nix/binary-cache.test.ts).
import { describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { fetchClosure } from "./nix-fetch.js";
import { RecordingRunner } from "./recording-runner.js";

const SP = "/nix/store/abcdfghijklmnpqrsvwxyz0123456789-nixos-system-n1";
const CACHE = { url: "https://cache.example/lab", publicKey: "cache-1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=" };
const COPY = `nix --extra-experimental-features nix-command flakes copy --from https://cache.example/lab --option trusted-public-keys ${CACHE.publicKey} --option require-sigs true ${SP}`;

describe("fetchClosure", () => {
  it("copies the closure trusting only the cache's key, then roots it at the bundle's result link", async () => {
    const runner = new RecordingRunner();
    expect(await fetchClosure(runner, "/var/lib/nk-agent/bundles/x", SP, CACHE)).toEqual({ ok: true, systemPath: SP, log: "" });
    expect(runner.lines()).toEqual([COPY, `nix-store --realise ${SP} --add-root /var/lib/nk-agent/bundles/x/result`]);
    // One argv word per value: the key and the URL are never split or passed through a shell.
    expect(runner.calls[0]!.argv.slice(0, 3)).toEqual(["nix", "--extra-experimental-features", "nix-command flakes"]);
  });

  it("says so when the signature is not the trusted key's, and roots nothing", async () => {
    for (const said of ["lacks a valid signature", "lacks a signature by a trusted key"]) {
      // Older Nix says the first, newer the second.
      const runner = new RecordingRunner().on("nix --extra", { exitCode: 1, stderr: `copying 1 paths...\nerror: cannot add path '${SP}' because it ${said}\n` });
      expect(await fetchClosure(runner, "/b/x", SP, CACHE)).toMatchObject({ ok: false, error: `refused ${SP} from https://cache.example/lab: not signed by the trusted key cache-1` });
      expect(runner.lines()).toEqual([COPY]);
    }
  });

  it("reports any other copy failure with Nix's error line, not its warnings", async () => {
    const runner = new RecordingRunner().on("nix --extra", { exitCode: 1, stderr: "warning: the group 'nixbld' does not exist\nerror: path 'x' is not valid\nwarning: trailing\n" });
    expect(await fetchClosure(runner, "/b/x", SP, CACHE)).toMatchObject({ ok: false, error: `cannot fetch ${SP} from https://cache.example/lab: error: path 'x' is not valid` });
  });

  it("never passes something that is not a store path to nix", async () => {
    const runner = new RecordingRunner();
    const err = await fetchClosure(runner, "/b/x", "--store=/tmp/evil", CACHE).catch((e: unknown) => e);
    expect(isNkError(err) && err.message).toBe('not a Nix store path: "--store=/tmp/evil"');
    expect(runner.lines()).toEqual([]);
  });
});
