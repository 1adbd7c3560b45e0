// Public surface of coordinator/tls: the coordinator's own CA and server certificate.
export {
  CA_CERT_FILE,
  CA_KEY_FILE,
  SERVER_CERT_FILE,
  SERVER_KEY_FILE,
  TLS_DIR,
  ensureTls,
  type EnsureTlsOptions,
  type TlsMaterial,
} from "./ensure-tls.js";
export { LOCAL_HOSTS, normalizeHost } from "./host-names.js";
