// Reads the `cluster:` section into typed settings, with defaults and per-field diagnostics.
import { isSeq } from "yaml";
import { NK_VERSION } from "../version/index.js";
import { isIpv6, parseIpv4 } from "./ipv4.js";
import type { AgentPin, ApiVip, ClusterSettings, NixpkgsPin, RolloutSettings } from "./model.js";
import { readBlockingPods, readCanary, readPerLabel, readPools, readWindows } from "./parse-rollout-policy.js";
import { readFleetLock } from "./parse-fleetlock.js";
import { readBootDraft, type BootDraft } from "./parse-boot.js";
import { readBuild } from "./parse-build.js";
import { readClusterChecks } from "./parse-checks.js";
import type { Located, YamlReader } from "./yaml-reader.js";
import { DNS_LABEL, SECRET_NAME } from "../names/index.js";

/** The channels nixpkgs.channel accepts. */
export const NIXOS_CHANNEL = /^nixos-([0-9]{2}\.[0-9]{2}|unstable)(-small)?$/;

const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const SSH_KEY = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/;

/** Partial settings: fields that failed to read are absent and already reported. */
export type ClusterDraft = Omit<ClusterSettings, "k3s"> & { k3s: Omit<ClusterSettings["k3s"], "apiAddress"> & { apiAddress?: string } };

/** The cluster section and the defaults it gives nodes (boot applies per node, so it is not a cluster setting). */
export interface ClusterRead {
  readonly cluster: ClusterDraft;
  readonly bootDefault?: BootDraft;
}

export function readIpv4(r: YamlReader, loc: Located | undefined): string | undefined {
  const v = r.string(loc);
  if (v === undefined || !loc) return undefined;
  if (parseIpv4(v) === null) {
    r.report(loc.pos, loc.path, `"${v}" is not an IPv4 address`);
    return undefined;
  }
  return v;
}

function readNixpkgs(r: YamlReader, loc: Located | undefined, parent: Located): NixpkgsPin | undefined {
  if (!loc) {
    r.report(parent.pos, "cluster.nixpkgs", "is required ({ channel: nixos-24.11 } or { flake: <ref> })");
    return undefined;
  }
  const f = r.map(loc, ["channel", "flake", "rev"]);
  if (!f) return undefined;
  const channel = r.string(f.get("channel"));
  const flake = r.string(f.get("flake"));
  const rev = r.string(f.get("rev"));
  if ((channel === undefined) === (flake === undefined)) {
    r.report(loc.pos, loc.path, "needs exactly one of channel or flake");
    return undefined;
  }
  if (channel !== undefined && !NIXOS_CHANNEL.test(channel)) {
    r.report(f.get("channel")!.pos, "cluster.nixpkgs.channel", `"${channel}" is not a NixOS channel (e.g. nixos-24.11, nixos-unstable)`);
  }
  if (rev !== undefined) {
    if (flake !== undefined) r.report(f.get("rev")!.pos, "cluster.nixpkgs.rev", "only applies to channel (put the revision in the flake reference)");
    else if (!/^[0-9a-f]{40}$/.test(rev)) r.report(f.get("rev")!.pos, "cluster.nixpkgs.rev", "expected a 40-character git commit id");
  }
  return { ...(channel !== undefined ? { channel } : {}), ...(flake !== undefined ? { flake } : {}), ...(rev !== undefined && flake === undefined ? { rev } : {}) };
}

function readStateVersion(r: YamlReader, loc: Located | undefined, nixpkgs: NixpkgsPin | undefined, parent: Located): string {
  const given = r.string(loc, { coerce: true });
  if (given !== undefined) {
    if (!/^[0-9]{2}\.[0-9]{2}$/.test(given)) r.report(loc!.pos, "cluster.state_version", `expected YY.MM such as "24.11", got "${given}"`);
    return given;
  }
  const fromChannel = nixpkgs?.channel?.match(/^nixos-([0-9]{2}\.[0-9]{2})/)?.[1];
  if (fromChannel) return fromChannel;
  if (nixpkgs) r.report(parent.pos, "cluster.state_version", "is required when nixpkgs is not a versioned channel (e.g. \"24.11\")");
  return "";
}

function readRollout(r: YamlReader, loc: Located | undefined): RolloutSettings {
  const f = (loc && r.map(loc, ["max_unavailable", "max_unavailable_servers", "max_unavailable_per", "pools", "canary", "blocking_pods", "fleetlock", "reboot", "window", "windows", "expected_disruption_seconds", "settle_seconds", "health_deadline_seconds", "drain_timeout_seconds", "reboot_timeout_seconds", "activation_timeout_seconds", "etcd_snapshot", "checks"])) || new Map<string, Located>();
  return {
    maxUnavailable: r.integer(f.get("max_unavailable"), 1, 100_000) ?? 1,
    maxUnavailableServers: r.integer(f.get("max_unavailable_servers"), 1, 100_000) ?? 1,
    reboot: r.oneOf(f.get("reboot"), ["auto", "always", "never"] as const) ?? "auto",
    windows: readWindows(r, f.get("window"), f.get("windows")),
    expectedDisruptionSeconds: r.integer(f.get("expected_disruption_seconds"), 0, 86_400) ?? 900,
    pools: readPools(r, f.get("pools")),
    maxUnavailablePer: readPerLabel(r, f.get("max_unavailable_per")),
    canary: readCanary(r, f.get("canary")),
    blockingPods: readBlockingPods(r, f.get("blocking_pods")),
    fleetlock: readFleetLock(r, f.get("fleetlock")),
    settleSeconds: r.integer(f.get("settle_seconds"), 0, 86_400) ?? 0,
    healthDeadlineSeconds: r.integer(f.get("health_deadline_seconds"), 5, 86_400) ?? 300,
    drainTimeoutSeconds: r.integer(f.get("drain_timeout_seconds"), 5, 86_400) ?? 600,
    rebootTimeoutSeconds: r.integer(f.get("reboot_timeout_seconds"), 10, 86_400) ?? 900,
    activationTimeoutSeconds: r.integer(f.get("activation_timeout_seconds"), 10, 86_400) ?? 300,
    etcdSnapshot: r.boolean(f.get("etcd_snapshot")) ?? true,
    checks: readClusterChecks(r, f.get("checks")),
  };
}

/** `k3s.api: { vip, interface?, on: servers | [names], vrrp_password_secret? }`; cross-node rules come later. */
function readApiVip(r: YamlReader, loc: Located | undefined): ApiVip | undefined {
  if (!loc) return undefined;
  const f = r.map(loc, ["vip", "interface", "on", "vrrp_password_secret"]);
  if (!f) return undefined;
  const vip = r.require(readIpv4(r, f.get("vip")), loc, "vip", "an unused IPv4 address in the cluster subnet");
  const iface = r.string(f.get("interface"));
  const onLoc = f.get("on");
  let on: ApiVip["on"] = "servers";
  if (onLoc?.node && isSeq(onLoc.node)) on = r.stringList(onLoc) ?? [];
  else if (onLoc?.node) {
    const v = r.string(onLoc);
    if (v !== undefined && v !== "servers") r.report(onLoc.pos, onLoc.path, `expected servers or a list of node names, got "${v}"`);
  }
  const secret = matching(r, f.get("vrrp_password_secret"), SECRET_NAME, "a secret name") ?? "vrrp-password";
  if (vip === undefined) return undefined;
  return { vip, ...(iface !== undefined ? { interface: iface } : {}), on, vrrpPasswordSecret: secret };
}

function matching(r: YamlReader, loc: Located | undefined, pattern: RegExp, what: string): string | undefined {
  const v = r.string(loc);
  if (v !== undefined && loc && !pattern.test(v)) {
    r.report(loc.pos, loc.path, `"${v}" is not ${what}`);
    return undefined;
  }
  return v;
}

/**
 * The nk the bundles import: a flake of the operator's choice, or (the default) the source the coordinator
 * serves, which nk.lock pins. A version is only meaningful with a flake: the coordinator serves its own.
 */
function agentPin(r: YamlReader, f: Map<string, Located> | null): AgentPin {
  const flake = r.string(f?.get("flake"));
  const version = r.string(f?.get("version"), { coerce: true });
  if (flake === undefined && version !== undefined) {
    r.report(f!.get("version")!.pos, "cluster.agent.version", `only applies with cluster.agent.flake: without one the bundles import the source the coordinator serves (nk ${NK_VERSION}; nkctl pin --update nk moves to it)`);
  }
  return { ...(flake !== undefined ? { flake } : {}), version: version ?? NK_VERSION };
}

export function readCluster(r: YamlReader, loc: Located): ClusterRead | undefined {
  const f = r.map(loc, ["name", "nixpkgs", "state_version", "timezone", "network", "admin", "k3s", "rollout", "agent", "boot", "build"]);
  if (!f) return undefined;
  const name = r.require(matching(r, f.get("name"), DNS_LABEL, "a DNS label (lower-case letters, digits, '-')"), loc, "name", "cluster name");
  const nixpkgs = readNixpkgs(r, f.get("nixpkgs"), loc);
  const stateVersion = readStateVersion(r, f.get("state_version"), nixpkgs, loc);

  const netLoc = f.get("network");
  const net = netLoc ? r.map(netLoc, ["gateway", "prefix_length", "nameservers", "interface"]) : null;
  if (!netLoc) r.report(loc.pos, "cluster.network", "is required (gateway, prefix_length)");
  const nameservers = r.stringList(net?.get("nameservers")) ?? ["1.1.1.1"];
  nameservers.forEach((ns, i) => {
    if (parseIpv4(ns) === null && !isIpv6(ns)) r.report(net!.get("nameservers")!.pos, `cluster.network.nameservers[${i}]`, `"${ns}" is not an IP address`);
  });
  const iface = r.string(net?.get("interface"));

  const adminLoc = f.get("admin");
  const admin = adminLoc ? r.map(adminLoc, ["user", "ssh_keys"]) : null;
  if (!adminLoc) r.report(loc.pos, "cluster.admin", "is required (user, ssh_keys)");
  const sshKeys = (adminLoc && admin && r.require(r.stringList(admin.get("ssh_keys")), adminLoc, "ssh_keys", "at least one public key")) || [];
  if (admin?.has("ssh_keys") && sshKeys.length === 0) r.report(admin.get("ssh_keys")!.pos, "cluster.admin.ssh_keys", "needs at least one public key (there are no passwords)");
  sshKeys.forEach((key, i) => {
    if (!SSH_KEY.test(key)) r.report(admin!.get("ssh_keys")!.pos, `cluster.admin.ssh_keys[${i}]`, "is not an OpenSSH public key (\"ssh-ed25519 AAAA... comment\")");
  });

  const k3sLoc = f.get("k3s");
  const k3s = k3sLoc ? r.map(k3sLoc, ["token_secret", "api_address", "api", "extra_flags", "disable"]) : null;
  if (!k3sLoc) r.report(loc.pos, "cluster.k3s", "is required (token_secret)");

  const api = readApiVip(r, k3s?.get("api"));
  const agentLoc = f.get("agent");
  const agent = agentLoc ? r.map(agentLoc, ["flake", "version"]) : null;

  const bootDefault = readBootDraft(r, f.get("boot"));
  const cluster: ClusterDraft = {
    name: name ?? "",
    nixpkgs: nixpkgs ?? {},
    stateVersion,
    timezone: r.string(f.get("timezone")) ?? "UTC",
    network: {
      gateway: (netLoc && net && r.require(readIpv4(r, net.get("gateway")), netLoc, "gateway", "IPv4 address")) || "",
      prefixLength: (netLoc && net && r.require(r.integer(net.get("prefix_length"), 1, 32), netLoc, "prefix_length", "1..32")) || 0,
      nameservers,
      ...(iface !== undefined ? { interface: iface } : {}),
    },
    admin: {
      user: (adminLoc && admin && r.require(matching(r, admin.get("user"), UNIX_USER, "a valid user name"), adminLoc, "user", "admin user name")) || "",
      sshKeys,
    },
    k3s: {
      tokenSecret: (k3sLoc && k3s && r.require(matching(r, k3s.get("token_secret"), SECRET_NAME, "a secret name"), k3sLoc, "token_secret", "name of a secret in the coordinator's store")) || "",
      ...(k3s?.get("api_address") ? { apiAddress: readIpv4(r, k3s.get("api_address")) ?? "" } : {}),
      ...(api ? { api } : {}),
      extraFlags: r.stringList(k3s?.get("extra_flags")) ?? [],
      disable: r.stringList(k3s?.get("disable")) ?? [],
    },
    rollout: readRollout(r, f.get("rollout")),
    agent: agentPin(r, agent),
    build: readBuild(r, f.get("build")),
  };
  return { cluster, ...(bootDefault ? { bootDefault } : {}) };
}
