// Parsing dry-activate output, as printed by both the Perl and the Rust switch-to-configuration.
import { describe, expect, it } from "vitest";
import { interruptedUnits, parseDryActivate } from "./dry-activate.js";

describe("parseDryActivate", () => {
  it("reads every kind of line and ignores the rest", () => {
    const out = [
      "would stop the following units: k3s.service, old.service",
      "would NOT stop the following changed units: systemd-journald.service",
      "would activate the configuration...",
      "would restart systemd",
      "would reload the following units: dbus.service",
      "would restart the following units: nscd.service, containerd.service",
      "would start the following units: k3s.service",
    ].join("\n");
    const d = parseDryActivate(out);
    expect(d).toEqual({
      stopUnits: ["k3s.service", "old.service"],
      restartUnits: ["nscd.service", "containerd.service"],
      reloadUnits: ["dbus.service"],
      startUnits: ["k3s.service"],
    });
    expect(interruptedUnits(d)).toEqual(["containerd.service", "k3s.service", "nscd.service", "old.service"]);
  });

  it("finds nothing in a quiet activation", () => {
    expect(interruptedUnits(parseDryActivate("would activate the configuration...\n"))).toEqual([]);
  });
});
