// What a node's desired state says about its system, given the build mode and its build job: build, fetch, wait or halt.
import { buildFallbackOf, type BuildSettings, type NodeSpec } from "../../../shared/src/inventory/index.js";
import type { PrebuiltSystem } from "../../../shared/src/wire/index.js";
import type { BuildJobRecord } from "./build-queue.js";

export type NodeBuildDecision =
  /** Local mode, or no job for this bundle (e.g. a node no builder can build yet and that may fall back): the agent builds. */
  | { readonly kind: "local" }
  /** Sent with the store path: the agent fetches instead of building. */
  | { readonly kind: "prebuilt"; readonly prebuilt: PrebuiltSystem }
  /** The node's new desired state waits for its build; other nodes do not. */
  | { readonly kind: "waiting"; readonly state: "queued" | "building" }
  /** The revision's build failed for this node: its rollout halts with this reason. */
  | { readonly kind: "halted"; readonly reason: string };

export function nodeBuildDecision(build: BuildSettings, node: NodeSpec, bundleSha256: string, job: BuildJobRecord | undefined): NodeBuildDecision {
  if (build.mode === "local") return { kind: "local" };
  const fallbackLocal = buildFallbackOf(build, node) === "local";
  if (!job || job.bundleSha256 !== bundleSha256) {
    return fallbackLocal ? { kind: "local" } : { kind: "halted", reason: `no build job for ${node.name}'s bundle ${bundleSha256.slice(0, 12)} and build_fallback is none` };
  }
  switch (job.state) {
    case "queued":
    case "building":
      return { kind: "waiting", state: job.state };
    case "failed":
      return { kind: "halted", reason: `the build of revision ${job.revision.slice(0, 12)} for ${node.name} failed${job.builder ? ` on builder ${job.builder}` : ""}: ${job.error ?? "unknown error"}` };
    case "pushed":
      return { kind: "prebuilt", prebuilt: { systemPath: job.built!.systemPath, cacheUrl: build.cache.url, cachePublicKey: build.cache.publicKey, fallbackLocal } };
  }
}
