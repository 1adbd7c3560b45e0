// IPv4 parsing and subnet arithmetic for address validation.

/** The address as an unsigned 32-bit number, or null when it is not dotted-quad IPv4. */
export function parseIpv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

export interface Subnet {
  readonly network: number;
  readonly broadcast: number;
  readonly prefixLength: number;
}

export function subnetOf(address: number, prefixLength: number): Subnet {
  const size = 2 ** (32 - prefixLength);
  const network = Math.floor(address / size) * size;
  return { network, broadcast: network + size - 1, prefixLength };
}

export function formatSubnet(subnet: Subnet): string {
  return `${formatIpv4(subnet.network)}/${subnet.prefixLength}`;
}

export function inSubnet(address: number, subnet: Subnet): boolean {
  return address >= subnet.network && address <= subnet.broadcast;
}

/** IPv6 in any textual form node accepts; nameservers may be IPv6. */
export function isIpv6(text: string): boolean {
  return /^[0-9a-fA-F:.]+$/.test(text) && text.includes(":") && text.split("::").length <= 2;
}
