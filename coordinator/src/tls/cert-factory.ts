// Creates the coordinator's ECDSA P-256 CA and the server certificates it signs (@peculiar/x509 over WebCrypto).
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPrivateKey, randomBytes, webcrypto } from "node:crypto";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface KeyAndCert {
  certPem: string;
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"), accepted by node:tls and grpc-js. */
  keyPem: string;
}

/** A subject alternative name, already normalised (lower-case DNS, canonical IP). */
export interface HostName {
  kind: "dns" | "ip";
  value: string;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive, as RFC 5280 requires
  return bytes.toString("hex");
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function privatePem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return createPrivateKey({ key: der, format: "der", type: "pkcs8" }).export({ format: "pem", type: "pkcs8" }).toString();
}

async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const der = createPrivateKey(keyPem).export({ format: "der", type: "pkcs8" });
  return webcrypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
}

/** notBefore is an hour back so a peer whose clock is slightly behind still accepts the cert. */
function validity(nowMs: number, days: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(nowMs - HOUR_MS), notAfter: new Date(nowMs + days * DAY_MS) };
}

export async function createCa(nowMs: number, validityDays: number): Promise<KeyAndCert> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    // A random suffix keeps CAs of different clusters apart in trust stores and logs.
    name: `CN=nk coordinator CA ${randomBytes(4).toString("hex")}, O=nk`,
    ...validity(nowMs, validityDays),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await privatePem(keys.privateKey) };
}

export async function issueServerCert(ca: KeyAndCert, hosts: readonly HostName[], nowMs: number, validityDays: number): Promise<KeyAndCert> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: "CN=nk-coordinator, O=nk",
    issuer: caCert.subject,
    ...validity(nowMs, validityDays),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: h.kind, value: h.value }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await privatePem(keys.privateKey) };
}
