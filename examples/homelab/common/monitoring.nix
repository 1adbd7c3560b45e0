# Shared by every node: node exporter for Prometheus.
{ config, pkgs, ... }:
{
  services.prometheus.exporters.node.enable = true;
}
