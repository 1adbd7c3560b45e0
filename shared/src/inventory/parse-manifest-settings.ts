// Reads the `manifests:` section (apply mode, conflicts, default namespace, protection, bootstrap files).
import type { ManifestSettings } from "./model.js";
import { DNS_LABEL } from "../names/index.js";
import type { Located, YamlReader } from "./yaml-reader.js";

export const DEFAULT_MANIFEST_SETTINGS: ManifestSettings = {
  apply: "after-servers",
  forceConflicts: false,
  defaultNamespace: "default",
  protectNamespaces: [],
  protectKinds: [],
  bootstrap: [],
};

const KIND_REF = /^[A-Z][A-Za-z0-9]*(\.[a-z0-9]([a-z0-9.-]*[a-z0-9])?)?$/;
const BOOTSTRAP_FILE = /^[A-Za-z0-9._-]+\.(ya?ml|json)$/;

function checked(r: YamlReader, loc: Located | undefined, items: readonly string[] | undefined, pattern: RegExp, what: string): string[] {
  return (items ?? []).filter((item, i) => {
    if (pattern.test(item)) return true;
    const path = `${loc?.path ?? ""}[${i}]`;
    r.report(r.positions.get(path) ?? loc?.pos ?? { line: 1, col: 1 }, path, `"${item}" is not ${what}`);
    return false;
  });
}

export function readManifestSettings(r: YamlReader, loc: Located | undefined): ManifestSettings {
  if (!loc) return DEFAULT_MANIFEST_SETTINGS;
  const f = r.map(loc, ["apply", "force_conflicts", "default_namespace", "protect", "bootstrap"]);
  if (!f) return DEFAULT_MANIFEST_SETTINGS;
  const protectLoc = f.get("protect");
  const protect = protectLoc ? r.map(protectLoc, ["namespaces", "kinds"]) : null;
  const namespace = r.string(f.get("default_namespace"));
  if (namespace !== undefined && !DNS_LABEL.test(namespace)) r.report(f.get("default_namespace")!.pos, "manifests.default_namespace", `"${namespace}" is not a namespace name (a DNS label)`);
  const bootstrapLoc = f.get("bootstrap");
  const bootstrap = checked(r, bootstrapLoc, r.stringList(bootstrapLoc), BOOTSTRAP_FILE, "a file name directly in manifests/ (e.g. cni.yaml)");
  return {
    apply: r.oneOf(f.get("apply"), ["after-servers", "immediately", "manual"] as const) ?? DEFAULT_MANIFEST_SETTINGS.apply,
    forceConflicts: r.boolean(f.get("force_conflicts")) ?? false,
    defaultNamespace: namespace !== undefined && DNS_LABEL.test(namespace) ? namespace : DEFAULT_MANIFEST_SETTINGS.defaultNamespace,
    protectNamespaces: checked(r, protect?.get("namespaces"), r.stringList(protect?.get("namespaces")), DNS_LABEL, "a namespace name (a DNS label)"),
    protectKinds: checked(r, protect?.get("kinds"), r.stringList(protect?.get("kinds")), KIND_REF, "a kind (Kind or Kind.group, e.g. PersistentVolumeClaim or Certificate.cert-manager.io)"),
    bootstrap,
  };
}
