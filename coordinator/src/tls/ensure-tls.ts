// Keeps <stateDir>/tls current: a CA made once and kept, and a server cert re-issued when names change or expiry nears.
import { X509Certificate, createHash, createPrivateKey } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import type { KeyAndCert } from "./cert-factory.js";
import { hostKey, sanKeys, wantedHosts } from "./host-names.js";

const DAY_MS = 24 * 3_600_000;

/**
 * The certificate factory (@peculiar/x509 and its ASN.1 modules) only when a certificate must be made: loading it was
 * about a third of the coordinator's start-up module loading, which a restart with current certificates never needs.
 */
const certFactory = () => import("./cert-factory.js");

export const TLS_DIR = "tls";
export const CA_CERT_FILE = "ca.crt";
export const CA_KEY_FILE = "ca.key";
export const SERVER_CERT_FILE = "server.crt";
export const SERVER_KEY_FILE = "server.key";

export interface EnsureTlsOptions {
  /** Names and IPs clients use to reach the coordinator; localhost, 127.0.0.1 and ::1 are always added. */
  hosts: readonly string[];
  clock: () => number;
  caValidityDays?: number;
  serverValidityDays?: number;
  /** Re-issue the server cert when it has fewer days left than this. */
  renewBeforeDays?: number;
}

export interface TlsMaterial {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** sha256 over the CA certificate's DER, lower-case hex: what agents pin and operators compare. */
  caFingerprintSha256: string;
  caNotAfterMs: number;
  serverNotAfterMs: number;
  /** True when this call wrote a new server certificate. */
  serverIssued: boolean;
}

async function readPair(dir: string, certFile: string, keyFile: string): Promise<{ certPem?: string; keyPem?: string }> {
  const read = async (file: string): Promise<string | undefined> => {
    try {
      return await readFile(join(dir, file), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new NkError("IO", `cannot read ${join(dir, file)}: ${(err as Error).message}`, { cause: err });
    }
  };
  const [certPem, keyPem] = await Promise.all([read(certFile), read(keyFile)]);
  return { ...(certPem !== undefined && { certPem }), ...(keyPem !== undefined && { keyPem }) };
}

/** Key first: a crash in between leaves a key without a cert, which is simply replaced next time. */
async function writePair(dir: string, certFile: string, keyFile: string, pair: KeyAndCert): Promise<void> {
  await writeFileAtomic(join(dir, keyFile), pair.keyPem, 0o600);
  await writeFileAtomic(join(dir, certFile), pair.certPem, 0o644);
}

interface Parsed {
  pair: KeyAndCert;
  cert: X509Certificate;
}

/** Parses a stored pair; undefined when it is unusable (missing, unparseable, or key and cert do not belong together). */
function parsePair(stored: { certPem?: string; keyPem?: string }): Parsed | undefined {
  const { certPem, keyPem } = stored;
  if (certPem === undefined || keyPem === undefined) return undefined;
  try {
    const cert = new X509Certificate(certPem);
    return cert.checkPrivateKey(createPrivateKey(keyPem)) ? { pair: { certPem, keyPem }, cert } : undefined;
  } catch {
    return undefined;
  }
}

async function ensureCa(dir: string, nowMs: number, validityDays: number): Promise<Parsed> {
  const stored = await readPair(dir, CA_CERT_FILE, CA_KEY_FILE);
  if (stored.certPem === undefined) {
    // No cert was ever written, so nobody can have pinned this CA: (re)create it.
    const pair = await (await certFactory()).createCa(nowMs, validityDays);
    await writePair(dir, CA_CERT_FILE, CA_KEY_FILE, pair);
    return { pair, cert: new X509Certificate(pair.certPem) };
  }
  const parsed = parsePair(stored);
  if (!parsed || !parsed.cert.ca) {
    // Replacing it would silently break every agent that pinned it: an operator must decide.
    throw new NkError("STATE_CORRUPT", `${join(dir, CA_CERT_FILE)} exists but ${join(dir, CA_KEY_FILE)} is missing, unreadable or does not match it; restore both from a backup`);
  }
  return parsed;
}

function serverCertUsable(cert: X509Certificate, ca: X509Certificate, wanted: Set<string>, nowMs: number, renewBeforeDays: number): boolean {
  if (!cert.verify(ca.publicKey)) return false;
  const names = sanKeys(cert.subjectAltName);
  if (names.size !== wanted.size || ![...wanted].every((k) => names.has(k))) return false;
  return Date.parse(cert.validFrom) <= nowMs && Date.parse(cert.validTo) - nowMs > renewBeforeDays * DAY_MS;
}

export async function ensureTls(stateDir: string, options: EnsureTlsOptions): Promise<TlsMaterial> {
  const hosts = wantedHosts(options.hosts);
  const dir = join(stateDir, TLS_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const nowMs = options.clock();
  const ca = await ensureCa(dir, nowMs, options.caValidityDays ?? 3650);

  const stored = parsePair(await readPair(dir, SERVER_CERT_FILE, SERVER_KEY_FILE));
  let server: KeyAndCert;
  let serverIssued = false;
  if (stored && serverCertUsable(stored.cert, ca.cert, new Set(hosts.map(hostKey)), nowMs, options.renewBeforeDays ?? 30)) {
    server = stored.pair;
  } else {
    server = await (await certFactory()).issueServerCert(ca.pair, hosts, nowMs, options.serverValidityDays ?? 365);
    await writePair(dir, SERVER_CERT_FILE, SERVER_KEY_FILE, server);
    serverIssued = true;
  }
  return {
    caCertPem: ca.pair.certPem,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    caFingerprintSha256: createHash("sha256").update(ca.cert.raw).digest("hex"),
    caNotAfterMs: Date.parse(ca.cert.validTo),
    serverNotAfterMs: Date.parse(new X509Certificate(server.certPem).validTo),
    serverIssued,
  };
}
