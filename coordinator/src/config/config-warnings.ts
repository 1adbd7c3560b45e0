// The unsafe settings a coordinator runs with, in words: logged at start and shown on every status view.
import { NO_KUBE_WARNING } from "../kube/no-kube.js";
import { CLEAR_SECRETS_WARNING } from "../store/secret-cipher.js";
import type { CoordinatorConfig } from "./coordinator-config.js";

export function configWarnings(config: Pick<CoordinatorConfig, "kube" | "store">): string[] {
  return [
    ...(config.kube === "none" ? [NO_KUBE_WARNING] : []),
    ...(config.store.kind === "etcd" && config.store.secretsKeyFile === undefined ? [CLEAR_SECRETS_WARNING] : []),
  ];
}
