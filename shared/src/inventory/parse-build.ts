// Reads `cluster.build` (local or builders with a binary cache) and checks it against the nodes.
import { isMap } from "yaml";
import { DNS_LABEL } from "../names/index.js";
import { NODE_SYSTEMS, type BuildCache, type BuildFallback, type BuilderSpec, type BuildSettings, type NodeSpec, type NodeSystem } from "./model.js";
import type { Located, SourcePos, YamlReader } from "./yaml-reader.js";

export const BUILD_FALLBACKS: readonly BuildFallback[] = ["local", "none"];
/** The store URL schemes nodes can fetch from without extra credentials on the node: a local or mounted dir, S3, HTTP(S) caches. */
const CACHE_URL = /^(file:\/\/\/[^\s?#]*|s3:\/\/[a-z0-9][a-z0-9.-]{1,62}(\/[^\s?#]*)?(\?[^\s#]*)?|https?:\/\/[^\s/?#]+(\/[^\s?#]*)?)$/;
const KEY_NAME = /^[A-Za-z0-9._+-]{1,64}$/;
const KEY_EXAMPLE = "nix key generate-secret --key-name builder-1 > builder.sk; nix key convert-secret-to-public < builder.sk";

export const LOCAL_BUILD: BuildSettings = { mode: "local" };

/** The node's effective fallback: its own setting, else the cluster's. */
export function buildFallbackOf(build: BuildSettings, node: NodeSpec): BuildFallback {
  return build.mode === "builders" ? (node.buildFallback ?? build.fallback) : "local";
}

function readPublicKey(r: YamlReader, loc: Located | undefined): string | undefined {
  const v = r.string(loc);
  if (v === undefined || !loc) return undefined;
  const colon = v.indexOf(":");
  const name = v.slice(0, colon);
  const bytes = colon > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(v.slice(colon + 1)) ? Buffer.from(v.slice(colon + 1), "base64").length : -1;
  if (bytes === 64) {
    r.report(loc.pos, loc.path, `is a secret signing key (64 bytes): it must never be in the repo; put its public half here (nix key convert-secret-to-public) and keep the secret key file on the builders only`);
  } else if (colon <= 0 || !KEY_NAME.test(name) || bytes !== 32) {
    r.report(loc.pos, loc.path, `"${v}" is not a Nix public key (expected name:base64 of 32 bytes, e.g. from: ${KEY_EXAMPLE})`);
  } else return v;
  return undefined;
}

function readCache(r: YamlReader, loc: Located | undefined, parent: Located): BuildCache | undefined {
  if (!loc) {
    r.report(parent.pos, "cluster.build.cache", "is required with mode: builders ({ url: <Nix store URL>, public_key: <name:base64> })");
    return undefined;
  }
  const f = r.map(loc, ["url", "public_key"]);
  if (!f) return undefined;
  let url = r.require(r.string(f.get("url")), loc, "url", "a Nix store URL: file:///srv/nix-cache, s3://bucket or https://cache.example");
  if (url !== undefined && !CACHE_URL.test(url)) {
    r.report(f.get("url")!.pos, "cluster.build.cache.url", `"${url}" is not a Nix store URL nk supports (file:///absolute/dir, s3://bucket[/prefix][?region=...], http(s)://host[/path])`);
    url = undefined;
  }
  const publicKey = r.require(readPublicKey(r, f.get("public_key")), loc, "public_key", `the cache's public key, e.g. from: ${KEY_EXAMPLE}`);
  return url !== undefined && publicKey !== undefined ? { url, publicKey } : undefined;
}

function readSystems(r: YamlReader, loc: Located | undefined): NodeSystem[] | undefined {
  const list = r.stringList(loc);
  if (list === undefined || !loc) return undefined;
  if (list.length === 0) r.report(loc.pos, loc.path, `needs at least one system (${NODE_SYSTEMS.join(", ")})`);
  return list.filter((s, i) => {
    if ((NODE_SYSTEMS as readonly string[]).includes(s)) return true;
    r.report(loc.pos, `${loc.path}[${i}]`, `expected one of ${NODE_SYSTEMS.join(", ")}, got "${s}"`);
    return false;
  }) as NodeSystem[];
}

/** A builder is a node name, or `{ name, systems }`; a bare name's systems come from the node later (empty until then). */
function readBuilder(r: YamlReader, item: Located): BuilderSpec | undefined {
  let name: string | undefined;
  let systems: NodeSystem[] = [];
  if (item.node !== null && isMap(item.node)) {
    const f = r.map(item, ["name", "systems"]);
    if (!f) return undefined;
    name = r.require(r.string(f.get("name")), item, "name", "a node name or the name the builder host is enrolled with");
    systems = readSystems(r, f.get("systems")) ?? [];
  } else name = r.string(item);
  if (name === undefined) return undefined;
  if (!DNS_LABEL.test(name)) {
    r.report(item.pos, item.path, `"${name}" is not a valid builder name (a DNS label: lower-case letters, digits, '-')`);
    return undefined;
  }
  const spec: BuilderSpec = { name, systems };
  r.origins.set(spec, item.path);
  return spec;
}

export function readBuild(r: YamlReader, loc: Located | undefined): BuildSettings {
  if (!loc || loc.node === null) return LOCAL_BUILD;
  const f = r.map(loc, ["mode", "builders", "cache", "fallback"]);
  if (!f) return LOCAL_BUILD;
  const mode = r.oneOf(f.get("mode"), ["local", "builders"] as const) ?? "local";
  const fallback = r.oneOf(f.get("fallback"), BUILD_FALLBACKS) ?? "local";
  if (mode === "local") {
    for (const key of ["builders", "cache", "fallback"]) {
      const given = f.get(key);
      if (given) r.report(given.pos, given.path, "only applies with mode: builders (ignored in local mode, where every node builds its own system)", "warning");
    }
    return LOCAL_BUILD;
  }
  const buildersLoc = f.get("builders");
  if (!buildersLoc) r.report(loc.pos, "cluster.build.builders", "is required with mode: builders (a list of node names or { name, systems })");
  const items = (buildersLoc && r.seq(buildersLoc)) || [];
  if (buildersLoc && items.length === 0) r.report(buildersLoc.pos, "cluster.build.builders", "needs at least one builder");
  const builders = items.map((item) => readBuilder(r, item)).filter((b): b is BuilderSpec => b !== undefined);
  const cache = readCache(r, f.get("cache"), loc);
  return { mode, builders, cache: cache ?? { url: "", publicKey: "" }, fallback };
}

/** Builders named twice, unknown hosts without systems, and nodes whose system no builder builds. Fills in node builders' systems. */
export function applyBuildRules(r: YamlReader, build: BuildSettings, nodes: readonly NodeSpec[]): BuildSettings {
  const at = (path: string): SourcePos => r.positions.get(path) ?? r.positions.get("cluster.build") ?? { line: 1, col: 1 };
  if (build.mode === "local") {
    for (const n of nodes.filter((n) => n.buildFallback !== undefined)) {
      const path = `nodes.${n.name}.build_fallback`;
      r.report(at(path), path, "only applies with cluster.build.mode: builders (every node builds its own system in local mode)", "warning");
    }
    return build;
  }
  const seen = new Set<string>();
  const builders: BuilderSpec[] = [];
  for (const b of build.builders) {
    const path = r.origins.get(b) ?? "cluster.build.builders";
    if (seen.has(b.name)) r.report(at(path), path, `builder "${b.name}" is listed twice`);
    seen.add(b.name);
    const node = nodes.find((n) => n.name === b.name);
    // A builder whose systems were given but did not read is already reported.
    if (b.systems.length === 0 && !node && !r.positions.has(`${path}.systems`)) {
      r.report(at(path), path, `"${b.name}" is not a node of this inventory: a builder host outside the cluster needs its systems, e.g. { name: ${b.name}, systems: [x86_64-linux] }`);
    }
    builders.push(b.systems.length > 0 || !node ? b : { name: b.name, systems: [node.system] });
  }
  if (builders.length === 0) return { ...build, builders };
  const bySystem = new Map<NodeSystem, string[]>();
  for (const n of nodes) bySystem.set(n.system, [...(bySystem.get(n.system) ?? []), n.name]);
  for (const [system, names] of bySystem) {
    if (builders.some((b) => b.systems.includes(system))) continue;
    const fallbackless = names.filter((name) => buildFallbackOf(build, nodes.find((n) => n.name === name)!) === "none");
    const severity = fallbackless.length > 0 ? "error" : "warning";
    const consequence = fallbackless.length > 0 ? `${fallbackless.join(", ")} cannot get a system (build_fallback: none)` : "they fall back to building their own";
    r.report(at("cluster.build.builders"), "cluster.build.builders", `no builder builds ${system}, the system of ${names.join(", ")}: ${consequence}; add a builder with systems: [${system}]`, severity);
  }
  return { ...build, builders };
}
