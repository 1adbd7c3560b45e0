// The coordinator's HTTP address as nodes reach it: configured, or made from the listen address, the TLS names or the host name.
import { hostname } from "node:os";

export interface PublicUrlSettings {
  readonly publicUrl?: string;
  /** host:port the HTTP listener binds. */
  readonly listen: string;
  readonly tlsHosts: readonly string[];
  /** The listener serves plain HTTP (http.plaintext); otherwise HTTPS with the coordinator's CA. */
  readonly plaintext: boolean;
}

const WILDCARD = new Set(["0.0.0.0", "[::]", "::", ""]);

/** http.publicUrl if set; else http(s)://<listen host unless a wildcard, else tls.hosts[0], else the host name>:<bound port>. */
export function publicHttpUrl(s: PublicUrlSettings, boundPort: number): string {
  if (s.publicUrl) return s.publicUrl.replace(/\/+$/, "");
  const host = s.listen.slice(0, s.listen.lastIndexOf(":"));
  const name = !WILDCARD.has(host) ? host : (s.tlsHosts[0] ?? hostname());
  const bracketed = name.includes(":") && !name.startsWith("[") ? `[${name}]` : name;
  return `${s.plaintext ? "http" : "https"}://${bracketed}:${boundPort}`;
}
