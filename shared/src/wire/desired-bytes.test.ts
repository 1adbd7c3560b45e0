import { describe, expect, it } from "vitest";
import { WatchDesiredResponse } from "../proto/gen/nk/v1/agent.js";
import { encodeDesiredResponse } from "./desired-bytes.js";
import { desiredFromWire, type DesiredBundle } from "./desired-codec.js";
import { generatedDesiredBytes, sampleDesired } from "./test-fixtures.js";

const base: DesiredBundle = sampleDesired("w00001", [
  { path: "configuration.nix", content: "{ imports = [ ./nk/k3s.nix ]; }\n".repeat(20) },
  { path: "extra/empty.nix", content: "" },
  { path: "nk/users.nix", content: "# Zoë — 運用 🚀\n" },
]);

const generated = generatedDesiredBytes;

describe("encodeDesiredResponse", () => {
  const cases: Record<string, DesiredBundle> = {
    "a plain node": base,
    "every field set": {
      ...base,
      rebootPolicy: "never",
      checks: [
        { name: "disk", command: ["sh", "-c", "df -h / | grep -q ' [0-8][0-9]%'"], expect: "exit-0", timeoutMs: 5_000 },
        { name: "empty-arg", command: ["true", ""], expect: "", timeoutMs: 0 },
      ],
      secretNames: ["k3s-token", "", "wifi-psk"],
      activationTimeoutMs: 300_000,
      createdAtMs: 1_796_000_000_123,
      prebuilt: { systemPath: "/nix/store/abc-nixos-system", cacheUrl: "https://cache.example.org", cachePublicKey: "cache:AAAA=", fallbackLocal: true },
      apiVip: "10.20.0.5",
      etcdSnapshot: "nk-0123456789ab-s01",
    },
    "a prebuilt system without fallback, always reboot": { ...base, rebootPolicy: "always", prebuilt: { systemPath: "/nix/store/x", cacheUrl: "", cachePublicKey: "k", fallbackLocal: false } },
    "empty strings and no files": { ...base, node: "", revision: "", sha256: "", files: [], agentVersion: "", secretNames: [], healthDeadlineMs: 0 },
    // Lengths past 127 and 16,383 bytes need two and three varint bytes.
    "a file of 200 KiB": { ...base, files: [{ path: "manifests/big.yaml", content: "x".repeat(200 * 1024) }] },
  };

  for (const [name, d] of Object.entries(cases)) {
    it(`writes the generated encoder's bytes: ${name}`, () => {
      const bytes = encodeDesiredResponse(d);
      expect(bytes.equals(generated(d))).toBe(true);
      expect(desiredFromWire(WatchDesiredResponse.decode(bytes).desired!)).toEqual(d);
    });
  }
});
