# Extra NixOS configuration for n5 only.
{ config, pkgs, ... }:
{
  hardware.cpu.intel.updateMicrocode = true;
}
