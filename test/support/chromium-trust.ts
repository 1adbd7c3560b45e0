// Makes headless Chromium trust exactly one server key (the coordinator's CA-signed certificate) instead of ignoring TLS errors.
import { createHash, X509Certificate } from "node:crypto";

/** `--ignore-certificate-errors-spki-list=<base64 sha256 of the certificate's SubjectPublicKeyInfo>` for chromium.launch. */
export function trustServerCertArg(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
  return `--ignore-certificate-errors-spki-list=${createHash("sha256").update(spki).digest("base64")}`;
}
