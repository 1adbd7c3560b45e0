// Parses and validates manifests/**/*.{yaml,yml,json} into objects: every problem at once, each at file:line:col.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type YAMLMap } from "yaml";
import type { Diagnostic, ManifestSettings, RepoFiles } from "../inventory/model.js";
import { APPLYSET_PART_OF } from "./applyset.js";
import { builtinKind, isBuiltinGroup, splitApiVersion } from "./builtin-kinds.js";
import { groupKind, refKey, type ManifestObject } from "./manifest-object.js";
import { DNS_LABEL } from "../names/index.js";

export const MANIFESTS_DIR = "manifests/";
/** The apiserver refuses larger requests, and etcd values above ~1.5 MiB. */
export const MAX_OBJECT_BYTES = 1024 * 1024;
export const MAX_OBJECTS = 10_000;

const MANIFEST_PATH = /^manifests\/([A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]+\.(ya?ml|json)$/;

export interface ManifestRead {
  readonly objects: readonly ManifestObject[];
  readonly diagnostics: readonly Diagnostic[];
}

/** What a CustomResourceDefinition in the set makes available. */
export interface DefinedKind {
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export function isManifestPath(path: string): boolean {
  return path.startsWith(MANIFESTS_DIR);
}

/** The kind a CRD object defines, or null when its spec is not complete enough to say. */
export function definedKind(body: Readonly<Record<string, unknown>>): DefinedKind | null {
  const spec = body["spec"] as { group?: unknown; scope?: unknown; names?: { kind?: unknown; plural?: unknown } } | undefined;
  const { group, scope } = spec ?? {};
  const { kind, plural } = spec?.names ?? {};
  if (typeof group !== "string" || typeof kind !== "string" || typeof plural !== "string") return null;
  return { group, kind, plural, namespaced: scope !== "Cluster" };
}

export function isCrd(ref: { group: string; kind: string }): boolean {
  return ref.group === "apiextensions.k8s.io" && ref.kind === "CustomResourceDefinition";
}

class ManifestReader {
  readonly diagnostics: Diagnostic[] = [];
  readonly objects: ManifestObject[] = [];
  private readonly seen = new Map<string, ManifestObject>();
  private readonly pending: { file: string; lines: LineCounter; node: YAMLMap; js: Record<string, unknown> }[] = [];

  constructor(private readonly settings: ManifestSettings) {}

  problem(file: string, line: number, col: number, field: string, message: string): void {
    this.diagnostics.push({ file, line, col, field, message, severity: "error" });
  }

  readFile(file: string, content: string): void {
    const lines = new LineCounter();
    const docs = parseAllDocuments(content, { lineCounter: lines, prettyErrors: false });
    const list = Array.isArray(docs) ? docs : [docs];
    let syntaxOk = true;
    for (const doc of list) {
      for (const err of doc.errors) {
        const pos = lines.linePos(err.pos[0]);
        this.problem(file, pos.line, pos.col, "", `YAML: ${err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`);
        syntaxOk = false;
      }
    }
    if (!syntaxOk || this.settings.bootstrap.includes(file.slice(MANIFESTS_DIR.length))) return;
    for (const doc of list) this.readDocument(file, lines, doc);
  }

  private readDocument(file: string, lines: LineCounter, doc: Document.Parsed): void {
    const node = doc.contents as Node | null;
    if (node === null || (isScalar(node) && node.value === null)) return; // An empty document (a trailing ---) holds no object, as kubectl reads it.
    const at = lines.linePos(node.range?.[0] ?? 0);
    if (!isMap(node)) {
      this.problem(file, at.line, at.col, "", "expected a Kubernetes object (a mapping with apiVersion, kind and metadata)");
      return;
    }
    const js = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
    const items = node.get("items", true);
    if (typeof js["kind"] === "string" && js["kind"].endsWith("List") && isSeq(items)) {
      items.items.forEach((item, i) => {
        const pos = lines.linePos((item as Node).range?.[0] ?? 0);
        if (isMap(item)) this.pending.push({ file, lines, node: item, js: (js["items"] as Record<string, unknown>[])[i]! });
        else this.problem(file, pos.line, pos.col, `items[${i}]`, "expected a Kubernetes object");
      });
      return;
    }
    this.pending.push({ file, lines, node, js });
  }

  /** After every file is read, so a custom resource can be checked against a CRD of any file. */
  finish(): void {
    const defined = new Map<string, DefinedKind>();
    for (const p of this.pending) {
      const { group } = splitApiVersion(String(p.js["apiVersion"] ?? ""));
      const kind = definedKind(p.js);
      if (isCrd({ group, kind: String(p.js["kind"]) }) && kind) defined.set(groupKind(kind), kind);
    }
    for (const p of this.pending) this.readObject(p.file, p.lines, p.node, p.js, defined);
    if (this.objects.length > MAX_OBJECTS) this.problem("manifests", 1, 1, "", `${this.objects.length} objects; at most ${MAX_OBJECTS} are supported`);
  }

  private readObject(file: string, lines: LineCounter, node: YAMLMap, js: Record<string, unknown>, defined: ReadonlyMap<string, DefinedKind>): void {
    const posOf = (path: readonly string[]): { line: number; col: number } => {
      const found = node.getIn(path, true) as Node | undefined;
      return lines.linePos((found ?? node).range?.[0] ?? 0);
    };
    const start = posOf([]);
    const before = this.diagnostics.length;
    /** At the node of `path` (or the nearest existing one), for the dot-path `field`. */
    const report = (path: readonly string[], field: string, message: string): void => {
      const pos = posOf(path);
      this.problem(file, pos.line, pos.col, field, message);
    };
    const { apiVersion, kind } = js;
    const metadata = js["metadata"];
    if (apiVersion === undefined) report([], "apiVersion", "is required (e.g. v1, apps/v1)");
    else if (typeof apiVersion !== "string" || !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) report(["apiVersion"], "apiVersion", `${JSON.stringify(apiVersion)} is not <group>/<version> or <version>`);
    if (kind === undefined) report([], "kind", "is required (e.g. ConfigMap)");
    else if (typeof kind !== "string" || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) report(["kind"], "kind", `${JSON.stringify(kind)} is not a kind name (e.g. ConfigMap)`);
    let ok = typeof apiVersion === "string" && typeof kind === "string" && this.diagnostics.length === before;
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
      report(metadata === undefined ? [] : ["metadata"], "metadata", "is required: a mapping with at least name");
      return;
    }
    const meta = metadata as Record<string, unknown>;
    const name = meta["name"];
    if (typeof name !== "string" || name === "") {
      report(name === undefined ? ["metadata"] : ["metadata", "name"], "metadata.name", meta["generateName"] !== undefined ? "is required (nk applies objects by name; generateName is not supported)" : "is required");
      ok = false;
    } else if (name.length > 253 || name.includes("/") || name === "." || name === ".." || name.includes("%")) {
      report(["metadata", "name"], "metadata.name", `${JSON.stringify(name)} is not a valid object name (at most 253 characters, no '/' or '%')`);
      ok = false;
    }
    const labels = meta["labels"] as Record<string, unknown> | undefined;
    if (labels !== undefined && typeof labels === "object" && labels !== null && APPLYSET_PART_OF in labels) {
      report(["metadata", "labels", APPLYSET_PART_OF], `metadata.labels.${APPLYSET_PART_OF}`, "is set by nk (it marks what nk applied and may prune); remove it");
      ok = false;
    }
    let namespace = meta["namespace"] === undefined || meta["namespace"] === null ? null : meta["namespace"];
    if (namespace !== null && (typeof namespace !== "string" || !DNS_LABEL.test(namespace))) {
      report(["metadata", "namespace"], "metadata.namespace", `${JSON.stringify(namespace)} is not a namespace name (a DNS label)`);
      ok = false;
    }
    if (!ok) return;
    const group = splitApiVersion(apiVersion as string).group;
    const scope = builtinKind(group, kind as string) ?? defined.get(groupKind({ group, kind: kind as string }));
    if (scope === undefined && isBuiltinGroup(group)) {
      report(["kind"], "kind", `${apiVersion as string} has no kind ${kind as string} (a typo, or a custom resource whose CustomResourceDefinition uses another group?)`);
      return;
    }
    let body: Record<string, unknown> = js;
    if (scope?.namespaced === true && namespace === null) {
      namespace = this.settings.defaultNamespace;
      body = { ...js, metadata: { ...meta, namespace } };
    } else if (scope?.namespaced === false && namespace !== null) {
      report(["metadata", "namespace"], "metadata.namespace", `${kind as string} is cluster-scoped: remove the namespace`);
      return;
    }
    const bytes = Buffer.byteLength(JSON.stringify(body));
    if (bytes > MAX_OBJECT_BYTES) {
      report([], "", `object is ${bytes} bytes as JSON; the API accepts at most ${MAX_OBJECT_BYTES}`);
      return;
    }
    const object: ManifestObject = { group, kind: kind as string, namespace: namespace as string | null, name: name as string, apiVersion: apiVersion as string, file, line: start.line, body };
    const key = refKey(object);
    const first = this.seen.get(key);
    if (first) {
      report(["metadata", "name"], "", `${key} is already defined at ${first.file}:${first.line}; each object may appear once`);
      return;
    }
    this.seen.set(key, object);
    this.objects.push(object);
  }
}

/**
 * Reads every manifest file (bootstrap files only for YAML syntax). Objects come in file order;
 * apply order is decided by orderForApply.
 */
export function readManifests(files: RepoFiles, settings: ManifestSettings): ManifestRead {
  const reader = new ManifestReader(settings);
  const paths = [...files.keys()].filter(isManifestPath).sort();
  for (const path of paths) {
    if (!MANIFEST_PATH.test(path)) {
      reader.problem(path, 1, 1, "", "manifests/ holds only *.yaml, *.yml and *.json files (names of letters, digits, '.', '_' and '-')");
      continue;
    }
    reader.readFile(path, files.get(path)!);
  }
  settings.bootstrap.forEach((name, i) => {
    if (!files.has(`${MANIFESTS_DIR}${name}`)) reader.problem("inventory.yaml", 1, 1, `manifests.bootstrap[${i}]`, `manifests/${name} does not exist (bootstrap names files directly in manifests/)`);
  });
  reader.finish();
  const diagnostics = reader.diagnostics.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
  return { objects: reader.objects, diagnostics };
}
