// Reads `rollout.fleetlock: { groups: { <group>: { max_unavailable: N } } }`: the FleetLock groups and their slots.
import type { FleetLockGroup, FleetLockSettings } from "./model.js";
import type { Located, YamlReader } from "./yaml-reader.js";

/** The FleetLock protocol's group syntax (coreos/zincati docs/development/fleetlock/protocol.md). */
export const FLEETLOCK_GROUP = /^[a-zA-Z0-9.-]+$/;
const NO_GROUPS: FleetLockSettings = { groups: [] };

export function readFleetLock(r: YamlReader, loc: Located | undefined): FleetLockSettings {
  if (!loc?.node) return NO_GROUPS;
  const f = r.map(loc, ["groups"]);
  const groupsLoc = f?.get("groups");
  if (!f || !groupsLoc?.node) {
    if (f) r.require(undefined, loc, "groups", "a mapping of zincati groups to their limit, e.g. { default: { max_unavailable: 1 } }");
    return NO_GROUPS;
  }
  const entries = r.map(groupsLoc, "any");
  if (!entries) return NO_GROUPS;
  const groups: FleetLockGroup[] = [];
  for (const [name, item] of entries) {
    if (!FLEETLOCK_GROUP.test(name)) r.report(item.pos, item.path, `"${name}" is not a FleetLock group name (letters, digits, '.', '-'; zincati's default group is "default")`);
    const g = item.node ? r.map(item, ["max_unavailable"]) : null;
    if (!g) {
      if (!item.node) r.report(item.pos, item.path, "expected { max_unavailable: N }, the number of this group's hosts that may reboot at once");
      continue;
    }
    const max = r.require(r.integer(g.get("max_unavailable"), 1, 100_000), item, "max_unavailable", "how many of this group's hosts may reboot at once, e.g. 1");
    if (max !== undefined && FLEETLOCK_GROUP.test(name)) groups.push({ name, maxUnavailable: max });
  }
  if (entries.size === 0) r.report(groupsLoc.pos, groupsLoc.path, "needs at least one group (zincati's default group is \"default\")");
  return { groups };
}
