// The Desired message carries every field of a node's desired state through a real protobuf encode and decode.
import { expect, it } from "vitest";
import { Desired } from "../proto/gen/nk/v1/common.js";
import { desiredFromWire, desiredToWire, type DesiredBundle } from "./desired-codec.js";

it("round-trips a desired bundle, activation timeout and API VIP included", () => {
  const d: DesiredBundle = {
    node: "n1",
    revision: "0123abcd",
    sha256: "a".repeat(64),
    files: [{ path: "flake.nix", content: "{ }\n" }],
    agentVersion: "0.1.0",
    rebootPolicy: "always",
    checks: [{ name: "zfs", command: ["zpool", "status", "-x"], expect: "healthy", timeoutMs: 5_000 }],
    secretNames: ["k3s-token"],
    healthDeadlineMs: 300_000,
    activationTimeoutMs: 120_000,
    createdAtMs: 1_700_000_000_000,
    prebuilt: null,
    apiVip: "172.30.190.10",
  };
  expect(desiredFromWire(Desired.decode(Desired.encode(desiredToWire(d)).finish()))).toEqual(d);
  // An older coordinator sends no timeout: 0, which the agent reads as its default.
  const { activationTimeoutMs: _none, ...older } = desiredToWire(d);
  expect(desiredFromWire(Desired.decode(Desired.encode(Desired.fromPartial(older)).finish())).activationTimeoutMs).toBe(0);
  // A node that carries no VIP (or an older coordinator) gets none.
  const { apiVip: _vip, ...noVip } = d;
  expect(desiredFromWire(Desired.decode(Desired.encode(desiredToWire(noVip)).finish()))).toEqual(noVip);
});

it("carries the prebuilt system of builders mode, and its absence", () => {
  const prebuilt = { systemPath: "/nix/store/abcdfghijklmnpqrsvwxyz0123456789-nixos-system-n1", cacheUrl: "file:///srv/nix-cache", cachePublicKey: "cache-1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", fallbackLocal: false };
  const d: DesiredBundle = { node: "n1", revision: "r", sha256: "b".repeat(64), files: [], agentVersion: "0.1.0", rebootPolicy: "auto", checks: [], secretNames: [], healthDeadlineMs: 0, activationTimeoutMs: 0, createdAtMs: 0, prebuilt };
  expect(desiredFromWire(Desired.decode(Desired.encode(desiredToWire(d)).finish())).prebuilt).toEqual(prebuilt);
  expect(Desired.encode(desiredToWire({ ...d, prebuilt: null })).finish().length).toBeLessThan(Desired.encode(desiredToWire(d)).finish().length);
  expect(desiredFromWire(Desired.decode(Desired.encode(desiredToWire({ ...d, prebuilt: null })).finish())).prebuilt).toBeNull();
});
