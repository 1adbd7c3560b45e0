// The build step's source of the system: fetched from the binary cache when a builder built it, else built here.
import type { Logger } from "../../../shared/src/log/index.js";
import type { BuildResult, System } from "../system/index.js";
import type { Prebuilt } from "./agent-state.js";

/**
 * With `prebuilt`, the signed closure is fetched; a failed fetch builds locally only if the node may fall back, and
 * the failure then names both. Without it, the bundle is built as always.
 */
export async function obtainSystem(system: System, bundleDir: string, node: string, prebuilt: Prebuilt | null, log: Logger, signal?: AbortSignal): Promise<BuildResult> {
  if (prebuilt === null) return system.build(bundleDir, node, signal);
  const fetched = await system.fetch(bundleDir, prebuilt.systemPath, { url: prebuilt.cacheUrl, publicKey: prebuilt.cachePublicKey }, signal);
  if (fetched.ok) return fetched;
  if (!prebuilt.fallbackLocal) return { ...fetched, error: `${fetched.error} (build_fallback: none, so the node does not build it itself)` };
  log.warn({ systemPath: prebuilt.systemPath, error: fetched.error }, "fetching the prebuilt system failed; building locally (build_fallback: local)");
  const built = await system.build(bundleDir, node, signal);
  return built.ok ? built : { ...built, error: `${built.error} (after fetching the prebuilt system failed: ${fetched.error})` };
}
