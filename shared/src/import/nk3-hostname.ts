// nk3's node names: RFC 4122 name-based UUIDs (version 5, SHA-1) of the node's IP in the OID namespace.
import { createHash } from "node:crypto";

export const NAMESPACE_OID = "6ba7b812-9dad-11d1-80b4-00c04fd430c8";

/** RFC 4122 §4.3 version 5 UUID of `name` (UTF-8) in `namespace`; same result as Python's uuid.uuid5. */
export function uuid5(namespace: string, name: string): string {
  const nsHex = namespace.replace(/-/g, "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(nsHex)) throw new TypeError(`namespace is not a UUID: ${namespace}`);
  const bytes = createHash("sha1").update(Buffer.from(nsHex, "hex")).update(name, "utf8").digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The hostname nk3 gave the node at `ip`, kept so imported clusters keep their Kubernetes node names. */
export function nk3Hostname(ip: string): string {
  return uuid5(NAMESPACE_OID, ip);
}
