// Reads the `notify:` section: targets for rollout events, each with its kind, URL and event filter.
import { SECRET_NAME } from "../names/index.js";
import { NOTIFY_EVENTS, type NotifyEvent, type NotifyTarget } from "./model.js";
import type { Located, YamlReader } from "./yaml-reader.js";

const KINDS = ["webhook", "ntfy", "slack"] as const;

export function readNotify(r: YamlReader, loc: Located | undefined): NotifyTarget[] {
  if (!loc?.node) return [];
  const out: NotifyTarget[] = [];
  const names = new Set<string>();
  for (const item of r.seq(loc) ?? []) {
    const f = item.node ? r.map(item, ["name", "kind", "url", "events", "hmac_secret"]) : null;
    if (!f) continue;
    const name = r.require(r.string(f.get("name")), item, "name", "a name for metrics and logs, e.g. ops-chat");
    if (name !== undefined && names.has(name)) r.report(f.get("name")!.pos, `${item.path}.name`, `duplicate target name "${name}"`);
    if (name !== undefined) names.add(name);
    const kind = r.require(r.oneOf(f.get("kind"), KINDS), item, "kind", KINDS.join(" | "));
    const url = r.require(r.string(f.get("url")), item, "url", "the http(s) URL to POST to");
    if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) r.report(f.get("url")!.pos, `${item.path}.url`, `expected an http:// or https:// URL, got "${url}"`);
    const events = (r.stringList(f.get("events")) ?? []).filter((e, i) => {
      if ((NOTIFY_EVENTS as readonly string[]).includes(e)) return true;
      r.report(f.get("events")!.pos, `${item.path}.events[${i}]`, `unknown event "${e}" (expected some of: ${NOTIFY_EVENTS.join(", ")})`);
      return false;
    }) as NotifyEvent[];
    const secret = r.string(f.get("hmac_secret"));
    if (secret !== undefined && !SECRET_NAME.test(secret)) r.report(f.get("hmac_secret")!.pos, `${item.path}.hmac_secret`, `"${secret}" is not a secret name: give the name of a coordinator secret (nkctl secret set), never the key itself`);
    if (secret !== undefined && kind !== undefined && kind !== "webhook") r.report(f.get("hmac_secret")!.pos, `${item.path}.hmac_secret`, "only applies to kind webhook");
    if (name === undefined || kind === undefined || url === undefined || !/^https?:\/\/[^\s]+$/.test(url)) continue;
    out.push({ name, kind, url, events, ...(secret !== undefined && SECRET_NAME.test(secret) && kind === "webhook" ? { hmacSecret: secret } : {}) });
  }
  return out;
}
