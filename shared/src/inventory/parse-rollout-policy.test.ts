// The rollout policy keys: windows (time zone, excluded dates, several), pools, per-label limits and FleetLock groups, with precise errors.
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "./format-diagnostic.js";
import type { CronWindow } from "./model.js";
import { validateInventoryText } from "./validate-repo.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyExampleKeyExampleKeyExampleKey00 ops@laptop";

/** Line 7 onwards is the rollout section a test gives. */
function inventory(rollout: string): string {
  return `cluster:
  name: lab
  nixpkgs: { channel: nixos-24.11 }
  network: { gateway: 10.0.0.1, prefix_length: 24, interface: enp1s0 }
  admin: { user: ops, ssh_keys: ["${KEY}"] }
  k3s: { token_secret: k3s-token }
${rollout}
nodes:
  n1: { address: 10.0.0.11, role: server, init: true, boot_device: /dev/sda, labels: { zone: a } }
  n2: { address: 10.0.0.12, role: server, boot_device: /dev/sda, labels: { zone: b } }
  n3: { address: 10.0.0.13, role: server, boot_device: /dev/sda, labels: { zone: c } }
  g1: { address: 10.0.0.21, role: agent, boot_device: /dev/sda, labels: { zone: a, gpu: "true" } }
`;
}

const problems = (rollout: string): string[] => validateInventoryText(inventory(rollout)).diagnostics.map(formatDiagnostic);
const rolloutOf = (rollout: string) => validateInventoryText(inventory(rollout)).inventory?.cluster.rollout;

describe("rollout windows", () => {
  it("reads several windows with a time zone and excluded dates", () => {
    const text = `  rollout:
    expected_disruption_seconds: 1200
    windows:
      - { days: [mon, tue], start: "22:00", end: "02:00", timezone: Europe/Berlin, exclude: ["2024-12-24"] }
      - { start: "03:00", end: "04:00" }`;
    expect(problems(text)).toEqual([]);
    const r = rolloutOf(text)!;
    expect(r.expectedDisruptionSeconds).toBe(1200);
    expect(r.windows).toEqual([
      { days: ["mon", "tue"], startMinute: 1320, endMinute: 120, timezone: "Europe/Berlin", exclude: ["2024-12-24"] },
      { days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], startMinute: 180, endMinute: 240 },
    ]);
  });

  it("rejects an unknown zone, a bad date, and window together with windows", () => {
    expect(problems(`  rollout:
    windows:
      - { start: "22:00", end: "02:00", timezone: Mars/Olympus, exclude: ["2024-02-30", "24.12.2024"] }`)).toEqual([
      'inventory.yaml:9:51 cluster.rollout.windows[0].timezone: "Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)',
      'inventory.yaml:9:74 cluster.rollout.windows[0].exclude[0]: expected a date YYYY-MM-DD (local to the window\'s time zone), got "2024-02-30"',
      'inventory.yaml:9:74 cluster.rollout.windows[0].exclude[1]: expected a date YYYY-MM-DD (local to the window\'s time zone), got "24.12.2024"',
    ]);
    expect(problems(`  rollout:
    window: { start: "22:00", end: "02:00" }
    windows: [{ start: "03:00", end: "04:00" }]`)).toEqual([
      "inventory.yaml:9:14 cluster.rollout.windows: give either window (one) or windows (a list), not both: move the window into the list",
    ]);
  });

  it("reads a cron window: five fields or a macro, a duration, a zone and excluded dates", () => {
    const text = `  rollout:
    windows:
      - { cron: "0 2 * * sat,sun", duration: 4h, timezone: Europe/Berlin, exclude: ["2025-12-27"] }
      - { cron: "@daily", duration: 1h30m }`;
    expect(problems(text)).toEqual([]);
    const [weekend, daily] = rolloutOf(text)!.windows as [CronWindow, CronWindow];
    expect(weekend).toMatchObject({ durationMinutes: 240, timezone: "Europe/Berlin", exclude: ["2025-12-27"], cron: { expression: "0 2 * * sat,sun", minutes: [0], hours: [2], daysOfWeek: [0, 6], anyDayOfMonth: true, anyDayOfWeek: false } });
    expect(daily).toMatchObject({ durationMinutes: 90, cron: { expression: "@daily", minutes: [0], hours: [0] } });
  });

  it("says which cron field is wrong and what it expected, and rejects a bad duration and days beside cron", () => {
    expect(problems(`  rollout:
    windows:
      - { cron: "0 25 * * sat", duration: 4h }
      - { cron: "0 2 * * sat-mon", duration: 90 }
      - { cron: "0 2 * *", days: [sat], duration: 8d }
      - { cron: "*/0 2 * * fri" }`)).toEqual([
      'inventory.yaml:9:17 cluster.rollout.windows[0].cron: hour (field 2, "25"): 25 is out of range 0-23 (fields: minute hour day-of-month month day-of-week)',
      'inventory.yaml:10:17 cluster.rollout.windows[1].cron: day-of-week (field 5, "sat-mon"): range sat-mon runs backwards; write it as two items (e.g. sat-7,0-mon) (fields: minute hour day-of-month month day-of-week)',
      'inventory.yaml:10:46 cluster.rollout.windows[1].duration: expected a duration such as 4h, 90m, 1h30m or 1d, got "90"',
      'inventory.yaml:11:17 cluster.rollout.windows[2].cron: expected five fields (minute hour day-of-month month day-of-week, e.g. "0 2 * * sat,sun"), got 4 (fields: minute hour day-of-month month day-of-week)',
      "inventory.yaml:11:34 cluster.rollout.windows[2].days: a cron window takes cron and duration, not days: put the days and the start time into the cron expression",
      'inventory.yaml:11:51 cluster.rollout.windows[2].duration: expected between 1m and 7d, got "8d"',
      'inventory.yaml:12:9 cluster.rollout.windows[3].duration: is required (how long each opening lasts, e.g. "4h", "90m" or "1h30m")',
      'inventory.yaml:12:17 cluster.rollout.windows[3].cron: minute (field 1, "*/0"): expected a step of 1 or more after "/", got "0" (fields: minute hour day-of-month month day-of-week)',
    ]);
  });

  it("defaults the expected disruption to 15 minutes and bounds it", () => {
    expect(rolloutOf("")!.expectedDisruptionSeconds).toBe(900);
    expect(problems("  rollout: { expected_disruption_seconds: -1 }")).toEqual(["inventory.yaml:7:43 cluster.rollout.expected_disruption_seconds: must be between 0 and 86400, got -1"]);
  });
});

describe("canary", () => {
  it("reads listed canaries or a count, then and the soak", () => {
    expect(rolloutOf("  rollout: { canary: { nodes: [g1], soak_seconds: 600 } }")!.canary).toEqual({ nodes: ["g1"], count: 0, then: "pause", soakSeconds: 600 });
    expect(rolloutOf("  rollout: { canary: { count: 2, then: continue } }")!.canary).toEqual({ nodes: [], count: 2, then: "continue", soakSeconds: 0 });
    expect(rolloutOf("")!.canary).toBeNull();
  });

  it("rejects both or neither of nodes and count, unknown nodes and a bad then", () => {
    expect(problems("  rollout: { canary: { nodes: [g1], count: 1 } }")).toEqual([
      "inventory.yaml:7:22 cluster.rollout.canary: needs exactly one of nodes (a list of node names) or count (how many of the first nodes to ask for a lease)",
    ]);
    expect(problems("  rollout: { canary: { nodes: [g1, g9], then: wait } }")).toEqual([
      'inventory.yaml:7:36 cluster.rollout.canary.nodes[1]: "g9" is not a node of this inventory',
      'inventory.yaml:7:47 cluster.rollout.canary.then: expected one of pause, continue, got "wait"',
    ]);
  });
});

describe("PromQL and alert checks", () => {
  it("reads a PromQL gate and an alert check with Alertmanager silences", () => {
    const r = rolloutOf(`  rollout:
    checks:
      - { name: load, promql: { url: "http://prom:9090", query: "max(node_load1)", expect: "< 0.8" } }
      - { name: alerts, prometheus: { url: "http://prom:9090", alertmanager: "http://am:9093", silenced_block: true } }`)!;
    expect(r.checks.map((c) => c.spec)).toEqual([
      { kind: "promql", url: "http://prom:9090", query: "max(node_load1)", op: "<", value: 0.8, onEmpty: "fail" },
      { kind: "prometheus", url: "http://prom:9090", include: [], exclude: [], alertmanager: "http://am:9093", silencedBlocks: true },
    ]);
  });

  it("says what a comparison must look like", () => {
    expect(problems(`  rollout:
    checks:
      - { name: load, promql: { url: "http://prom:9090", query: "up", expect: "about 3" } }`)).toEqual([
      'inventory.yaml:9:79 cluster.rollout.checks[0].promql.expect: expected a comparison such as "== 0", "< 0.8" or ">= 3" (==, !=, <, <=, >, >= and a number), got "about 3"',
    ]);
  });
});

describe("notify", () => {
  const withNotify = (notify: string) => `${inventory("")}notify:\n${notify}\n`;
  it("reads targets with their kind, URL, event filter and HMAC secret name", () => {
    const r = validateInventoryText(withNotify(`  - { name: hook, kind: webhook, url: "https://hooks.example/nk", hmac_secret: notify-key }
  - { name: phone, kind: ntfy, url: "https://ntfy.example/nk", events: [rollout-halted, node-failed] }`));
    expect(r.diagnostics).toEqual([]);
    expect(r.inventory?.notify).toEqual([
      { name: "hook", kind: "webhook", url: "https://hooks.example/nk", events: [], hmacSecret: "notify-key" },
      { name: "phone", kind: "ntfy", url: "https://ntfy.example/nk", events: ["rollout-halted", "node-failed"] },
    ]);
  });

  it("rejects an unknown event, a bad kind and an HMAC key written in place of a secret name", () => {
    expect(validateInventoryText(withNotify(`  - { name: chat, kind: teams, url: "https://x.example", events: [node-exploded] }
  - { name: hook, kind: webhook, url: "https://x.example", hmac_secret: "Sup3r Secret!" }`)).diagnostics.map(formatDiagnostic)).toEqual([
      'inventory.yaml:14:25 notify[0].kind: expected one of webhook, ntfy, slack, got "teams"',
      'inventory.yaml:14:66 notify[0].events[0]: unknown event "node-exploded" (expected some of: rollout-started, rollout-paused, rollout-resumed, rollout-halted, rollout-completed, canary-awaiting-approval, node-failed, node-rolled-back, node-did-not-return, deadline-passed)',
      'inventory.yaml:15:73 notify[1].hmac_secret: "Sup3r Secret!" is not a secret name: give the name of a coordinator secret (nkctl secret set), never the key itself',
    ]);
  });
});

describe("blocking pods", () => {
  it("reads a selector and scope, node by default, and rejects a malformed selector", () => {
    expect(rolloutOf('  rollout: { blocking_pods: { selector: "app=backup,tier in (db, cache)" } }')!.blockingPods).toEqual({ selector: "app=backup,tier in (db, cache)", scope: "node" });
    expect(rolloutOf('  rollout: { blocking_pods: { selector: "!skip", scope: cluster } }')!.blockingPods).toEqual({ selector: "!skip", scope: "cluster" });
    expect(problems('  rollout: { blocking_pods: { selector: "app=backup,tier in db" } }')).toEqual([
      'inventory.yaml:7:41 cluster.rollout.blocking_pods.selector: "tier in db" is not a label selector requirement (k=v, k!=v, k in (a,b), k notin (a,b), k, !k; joined by commas)',
    ]);
  });
});

describe("pools and per-label limits", () => {
  it("reads pools by count and percentage, and max_unavailable_per in both forms", () => {
    const text = `  rollout:
    max_unavailable_per: zone
    pools:
      - { name: gpu, selector: { gpu: "true" }, max_unavailable: 1 }
      - { name: zone-a, selector: { zone: a }, max_unavailable: "50%" }`;
    expect(problems(text)).toEqual([]);
    const r = rolloutOf(text)!;
    expect(r.pools).toEqual([
      { name: "gpu", selector: { gpu: "true" }, maxUnavailable: { count: 1 } },
      { name: "zone-a", selector: { zone: "a" }, maxUnavailable: { percent: 50 } },
    ]);
    expect(r.maxUnavailablePer).toEqual({ label: "zone", max: 1 });
    expect(rolloutOf("  rollout: { max_unavailable_per: { label: zone, max: 2 } }")!.maxUnavailablePer).toEqual({ label: "zone", max: 2 });
    expect(rolloutOf("")!.pools).toEqual([]);
    expect(rolloutOf("")!.maxUnavailablePer).toBeNull();
  });

  it("says exactly what is wrong with a pool", () => {
    expect(problems(`  rollout:
    pools:
      - { name: GPU, selector: { gpu: "true" }, max_unavailable: "150%" }
      - { name: gpu2, selector: {}, max_unavailable: 0 }
      - { name: gpu2, max_unavailable: 1 }`)).toEqual([
      'inventory.yaml:9:17 cluster.rollout.pools[0].name: "GPU" is not a DNS label (lower-case letters, digits, \'-\')',
      'inventory.yaml:9:66 cluster.rollout.pools[0].max_unavailable: a percentage must be between 1% and 100%, got "150%"',
      "inventory.yaml:10:33 cluster.rollout.pools[1].selector: needs at least one label (an empty selector would match every node: use max_unavailable instead)",
      'inventory.yaml:10:54 cluster.rollout.pools[1].max_unavailable: expected a node count (1 or more) or a percentage such as "25%", got "0"',
      "inventory.yaml:11:9 cluster.rollout.pools[2].selector: is required (labels the pool's nodes carry, e.g. { zone: a })",
      "inventory.yaml:11:17 cluster.rollout.pools[2].name: duplicate pool name \"gpu2\" (first at line 10)",
    ]);
  });

  it("warns about a pool or a per-label limit that selects no node", () => {
    const d = validateInventoryText(inventory(`  rollout:
    max_unavailable_per: rack
    pools: [{ name: ssd, selector: { disk: ssd }, max_unavailable: 1 }]`)).diagnostics;
    expect(d.map((x) => [x.severity, formatDiagnostic(x)])).toEqual([
      ["warning", 'inventory.yaml:8:26 warning: cluster.rollout.max_unavailable_per: no node has the label "rack", so this limits nothing: add it under nodes.<name>.labels'],
      ["warning", "inventory.yaml:9:36 warning: cluster.rollout.pools[0].selector: pool ssd selects no node (no node has the labels disk=ssd): check the labels under nodes.<name>.labels"],
    ]);
  });
});

describe("rollout.fleetlock", () => {
  it("reads each group's limit, and no groups without the key", () => {
    const text = "  rollout: { fleetlock: { groups: { default: { max_unavailable: 1 }, workers.eu-1: { max_unavailable: 3 } } } }";
    expect(problems(text)).toEqual([]);
    expect(rolloutOf(text)!.fleetlock).toEqual({ groups: [{ name: "default", maxUnavailable: 1 }, { name: "workers.eu-1", maxUnavailable: 3 }] });
    expect(rolloutOf("")!.fleetlock).toEqual({ groups: [] });
  });

  it("rejects a bad group name, a missing or bad limit, an unknown key and an empty group list", () => {
    expect(problems("  rollout: { fleetlock: { groups: { db_1: { max_unavailable: 1 }, web: {}, api: { max_unavailable: 0 }, x: { max: 1 } } } }")).toEqual([
      'inventory.yaml:7:43 cluster.rollout.fleetlock.groups.db_1: "db_1" is not a FleetLock group name (letters, digits, \'.\', \'-\'; zincati\'s default group is "default")',
      "inventory.yaml:7:72 cluster.rollout.fleetlock.groups.web.max_unavailable: is required (how many of this group's hosts may reboot at once, e.g. 1)",
      "inventory.yaml:7:100 cluster.rollout.fleetlock.groups.api.max_unavailable: must be between 1 and 100000, got 0",
      "inventory.yaml:7:108 cluster.rollout.fleetlock.groups.x.max_unavailable: is required (how many of this group's hosts may reboot at once, e.g. 1)",
      'inventory.yaml:7:110 cluster.rollout.fleetlock.groups.x.max: unknown key "max" (expected one of: max_unavailable)',
    ]);
    expect(problems("  rollout: { fleetlock: { groups: {} } }")).toEqual(['inventory.yaml:7:35 cluster.rollout.fleetlock.groups: needs at least one group (zincati\'s default group is "default")']);
    expect(problems("  rollout: { fleetlock: {} }")).toEqual(["inventory.yaml:7:25 cluster.rollout.fleetlock.groups: is required (a mapping of zincati groups to their limit, e.g. { default: { max_unavailable: 1 } })"]);
  });
});
