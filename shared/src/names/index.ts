// Public surface of shared/names: the name rules for nodes and secrets.
export { assertNodeName, assertPreviewName, assertSecretName, isPreviewName, PREVIEW_NAME_RULE, DNS_LABEL, DNS_LABEL_PATTERN, isNodeName, isSecretName, NODE_NAME_RULE, SECRET_NAME, SECRET_NAME_RULE } from "./name-rules.js";
export { HOST_PORT, LISTEN_HOST_PORT } from "./host-port.js";
export { nearestName } from "./nearest-name.js";
