// The HTTP listen address taken apart for fastify, and the URL this process serves on as seen from the same host.

/** "host:port", "[::1]:port" or ":port" into fastify's host and port. */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(address.slice(i + 1)) };
}

/** Where this process serves HTTP(S); loopback when listening on every address (tests and the demo call it there). */
export function localHttpUrl(host: string, boundPort: number, plaintext: boolean): string {
  const name = ["0.0.0.0", "::", ""].includes(host) ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `${plaintext ? "http" : "https"}://${name}:${boundPort}`;
}
