// Whether a CA file holds a certificate at all: caught at start, rather than as a TLS failure on every connection.

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;

/** A PEM certificate somewhere in the text (a CA file may hold comments around it). */
export function holdsPemCertificate(text: string): boolean {
  return PEM_CERT.test(text);
}
