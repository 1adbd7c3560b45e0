// Silences one Node warning that grpc-js triggers for every TLS connection to an IP address.

/**
 * grpc-js passes the target host as TLS servername, and Node warns (DEP0123) when that is an IP
 * address, which is how many homelabs reach their coordinator. Certificate checks are unaffected.
 */
export function dropIpServernameWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const code = typeof rest[0] === "object" && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (code !== "DEP0123") emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
