// Public surface of shared/names: the name rules for nodes and secrets.
export { assertNodeName, assertSecretName, DNS_LABEL, DNS_LABEL_PATTERN, isNodeName, isSecretName, NODE_NAME_RULE, SECRET_NAME, SECRET_NAME_RULE } from "./name-rules.js";
