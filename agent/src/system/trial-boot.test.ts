// grub.cfg as install-grub.pl writes it: a generation's entry is found by GRUB's index path, specialisations included.
import { describe, expect, it } from "vitest";
import { grubEntryPath } from "./trial-boot.js";

const CFG = [
  "if [ -s $prefix/grubenv ]; then",
  "  load_env",
  "fi",
  'menuentry "NixOS - Default" --class nixos --unrestricted {',
  "  linux /nix/store/x-linux/bzImage init=/nix/store/y/init",
  "}",
  'menuentry "Windows" {',
  "  chainloader (hd1,1)+1",
  "}",
  'submenu "NixOS - All configurations" --class submenu {',
  '  submenu "> NixOS - Configuration 8 (2026-12-03 - 25.05.20250601.abcdef0)" --class submenu {',
  '    menuentry "NixOS - Configuration 8 - Default (2026-12-03 - 25.05.20250601.abcdef0)" --class nixos {',
  "    }",
  '    menuentry "NixOS - Configuration 8 - gpu (2026-12-03 - 25.05.20250601.abcdef0)" --class nixos {',
  "    }",
  "  }",
  '  menuentry "NixOS - Configuration 7 (2026-12-02 - 24.11.20241201.abcdef0)" --class nixos {',
  "  }",
  "}",
  `submenu "NixOS - Profile 'test'" --class submenu {`,
  '  menuentry "NixOS - Configuration 9 (2026-12-01 - 24.11)" --class nixos {',
  "  }",
  "}",
].join("\n");

describe("grubEntryPath", () => {
  it("numbers entries as GRUB does: top-level items, then the all-configurations submenu's children", () => {
    expect(grubEntryPath(CFG, 7)).toEqual({ path: "2>1", title: "NixOS - Configuration 7 (2026-12-02 - 24.11.20241201.abcdef0)" });
  });

  it("finds a generation with specialisations inside its own submenu, as its Default entry", () => {
    // The submenu's title starts with "> ": by title, grub-reboot would read that as a separator.
    expect(grubEntryPath(CFG, 8)).toEqual({ path: "2>0>0", title: "NixOS - Configuration 8 - Default (2026-12-03 - 25.05.20250601.abcdef0)" });
  });

  it("never takes a generation of another profile, nor one that is not there", () => {
    expect(grubEntryPath(CFG, 9)).toBeNull();
    expect(grubEntryPath(CFG, 6)).toBeNull();
  });
});
