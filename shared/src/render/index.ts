// Public surface of shared/render: the pure, deterministic inventory → per-node bundle renderer.
export { renderCluster, renderNode, renderNodeIn } from "./render-cluster.js";
export { createRenderContext, type RenderContext, type CopiedFile } from "./render-context.js";
export { nixpkgsUrl } from "./nixpkgs-url.js";
export { renderFlakeLock } from "./flake-lock.js";
export { bundleSha256, makeBundle, sortFiles, type Bundle, type BundleFile } from "./bundle.js";
export { SECRETS_DIR, secretPath, secretNamesFor } from "./secrets.js";
export {
  canonicalJson,
  checksJson,
  nodeChecks,
  nodeChecksJson,
  type CheckCommand,
  type NodeChecksFile,
} from "./checks-json.js";
export { k3sFlags } from "./k3s-nix.js";
export { etcdSnapshotFor, etcdSnapshotName, isEmbeddedEtcdServer } from "./etcd-snapshot.js";
export { renderKeepalivedNix, vipCarriers, VRRP_PASSWORD_VARIABLE } from "./keepalived-nix.js";
export { VIP_HANDOVER_FLAG } from "./vip-handover.js";
export { renderHaproxyNix } from "./haproxy-nix.js";
export { nixString, nixAttr, nixStringList } from "./nix-string.js";
export { renderNetworkNix } from "./network-nix.js";
export { renderBootNix } from "./boot-nix.js";
export { guardDeadlineSeconds } from "./agent-nix.js";
export { renderUsersNix } from "./users-nix.js";
export { diffBundles, type NodeBundleDiff } from "./bundle-diff.js";
