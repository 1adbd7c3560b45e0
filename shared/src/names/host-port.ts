// host:port as the daemons' configs take it: a DNS name, IPv4 or bracketed IPv6, and a port that exists. A bare
// `[0-9]{1,5}` let port 70000 through, and the coordinator wrote its state before the listen call refused it.

const PORT = "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
const HOST = "(?:\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+)";

/** An address to connect to: port 1 to 65535. */
export const HOST_PORT = new RegExp(`^${HOST}:${PORT}$`);

/** An address to listen on: port 0 (any free port) to 65535. */
export const LISTEN_HOST_PORT = new RegExp(`^${HOST}:(?:0|${PORT})$`);
