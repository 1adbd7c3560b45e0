// Normalises the host names/IPs a server certificate must cover, so "names changed" is a set comparison.
import { isIP } from "node:net";
import { NkError } from "../../../shared/src/errors/index.js";
import type { HostName } from "./cert-factory.js";

/** Always covered, so local tools and health probes work without configuration. */
export const LOCAL_HOSTS = ["localhost", "127.0.0.1", "::1"] as const;

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const DNS_NAME = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);

/** IPv6 in its compressed lower-case form ("0:0::1" → "::1"), IPv4 as is. */
function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

export function normalizeHost(raw: string): HostName {
  let h = raw.trim();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (isIP(h)) return { kind: "ip", value: canonicalIp(h) };
  h = h.toLowerCase().replace(/\.$/, "");
  if (h.length === 0 || h.length > 253 || !DNS_NAME.test(h)) throw new NkError("CONFIG_INVALID", `tls host ${JSON.stringify(raw)} is neither an IP address nor a DNS name`);
  return { kind: "dns", value: h };
}

export function hostKey(h: HostName): string {
  return `${h.kind}:${h.value}`;
}

/** The configured hosts plus the local ones, de-duplicated and sorted (DNS first, then IPs). */
export function wantedHosts(hosts: readonly string[]): HostName[] {
  const byKey = new Map<string, HostName>();
  for (const raw of [...LOCAL_HOSTS, ...hosts]) {
    const h = normalizeHost(raw);
    byKey.set(hostKey(h), h);
  }
  return [...byKey.values()].sort((a, b) => (hostKey(a) < hostKey(b) ? -1 : 1));
}

/** Reads node's `subjectAltName` text ("DNS:a, IP Address:1.2.3.4") back into host keys. */
export function sanKeys(subjectAltName: string | undefined): Set<string> {
  const keys = new Set<string>();
  for (const part of (subjectAltName ?? "").split(", ")) {
    if (part.startsWith("DNS:")) keys.add(`dns:${part.slice(4).toLowerCase()}`);
    else if (part.startsWith("IP Address:")) keys.add(`ip:${canonicalIp(part.slice(11))}`);
    else if (part) keys.add(`other:${part}`);
  }
  return keys;
}
