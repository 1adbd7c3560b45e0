// WatchDesired's serializer: a DesiredWire is encoded into one scratch buffer, byte for byte the generated encoder's.
import { describe, expect, it } from "vitest";
import { desiredToWire, type DesiredBundle } from "../../../shared/src/wire/index.js";
import { generatedDesiredBytes, sampleDesired } from "../../../shared/src/wire/test-fixtures.js";
import { DesiredWire, serializeWatchDesired } from "./agent-definition.js";

const bundle = (node: string, content: string): DesiredBundle => sampleDesired(node, [{ path: "configuration.nix", content }]);
const generated = generatedDesiredBytes;

describe("serializeWatchDesired", () => {
  it("writes each message's own bytes, one after another, as grpc-js copies each before the next", () => {
    // Growing sizes (the scratch buffer grows), then a smaller one (it must not carry the larger one's tail).
    const messages = [bundle("n1", "a".repeat(100)), bundle("n2", "b".repeat(40_000)), bundle("n3", "c".repeat(10))];
    for (const d of messages) {
      const bytes = Buffer.from(serializeWatchDesired(new DesiredWire(() => d)));
      expect(bytes.equals(generated(d))).toBe(true);
    }
  });

  it("gives a message over 1 MiB a buffer of its own, and passes encoded bytes and messages through", () => {
    const big = bundle("n1", "x".repeat(1024 * 1024 + 1));
    const first = serializeWatchDesired(new DesiredWire(() => big));
    const small = serializeWatchDesired(new DesiredWire(() => bundle("n2", "y")));
    expect(first.equals(generated(big))).toBe(true);
    expect(first.buffer).not.toBe(small.buffer);
    const encoded = generated(bundle("n3", "z"));
    expect(serializeWatchDesired(encoded)).toBe(encoded);
    expect(Buffer.from(serializeWatchDesired({ desired: desiredToWire(bundle("n4", "w")), preview: undefined })).equals(generated(bundle("n4", "w")))).toBe(true);
  });
});
