# checks.<system>.vm: a coordinator and two agents in VMs; enroll, push a first inventory over git, agents report.
# Needs Nix with KVM (`nix flake check` or `nix build .#checks.x86_64-linux.vm`). `pkgs` must carry the nk overlay.
{ pkgs }:

let
  # Test-only secret: in the store on purpose, nowhere else.
  adminToken = "nk-vm-test-admin-token-0123456789abcdef";
  coordinatorAddress = "coordinator:7443";

  agentNode = { extra ? { } }: {
    virtualisation.memorySize = 1536;
    services.nk-agent = { enable = true; } // extra;
    environment.systemPackages = [ pkgs.jq ];
  };

  inventory = ''
    cluster:
      name: vmtest
      nixpkgs: { channel: nixos-24.11 }
      network: { gateway: 192.168.1.254, prefix_length: 24, nameservers: [192.168.1.254], interface: eth1 }
      admin:
        user: ops
        ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop"]
      k3s: { token_secret: k3s-token, api_address: 192.168.1.1 }
    nodes:
      agent1: { address: 192.168.1.1, role: server, init: true, boot_device: /dev/vda }
      agent2: { address: 192.168.1.2, role: agent, boot_device: /dev/vda }
  '';

  # nk.lock in Nix's exact form, with a rev and narHash that no real tree has: the VMs have no network, so nothing
  # is fetched, and the test covers enrolment, a validated push and reports, not builds. A real cluster's lock comes
  # from `nkctl pin --nk-source <the coordinator's GET /nk/source>`.
  nkSource = "https://coordinator:7080/nk/source/nk-0.1.0.tar.gz";
  nkLock = builtins.toJSON {
    version = 1;
    nk_source = nkSource;
    locks = {
      "github:NixOS/nixpkgs/nixos-24.11" = {
        original = { type = "github"; owner = "NixOS"; repo = "nixpkgs"; ref = "nixos-24.11"; };
        locked = {
          type = "github";
          owner = "NixOS";
          repo = "nixpkgs";
          rev = "a47676d7eec24cadfd2002bf7df6c3009ac8c96b";
          narHash = "sha256-pHZ21+7CTK39IAK/ffbDAJrIyWsg+Zi4ipEuG1VshPM=";
          lastModified = 1732924800;
        };
      };
      ${nkSource} = {
        original = { type = "tarball"; url = nkSource; };
        locked = { type = "tarball"; url = nkSource; narHash = "sha256-SECQHbe1jH4+Kur+pYZsAIJkesT6te5GM0ZFCSPrx8k="; };
      };
    };
  };
in
pkgs.testers.runNixOSTest {
  name = "nk";

  # The raw modules: runNixOSTest hands the nodes a read-only pkgs, which already has pkgs.nk.
  defaults.imports = [ ./agent.nix ./coordinator.nix ];

  nodes = {
    coordinator = {
      virtualisation.memorySize = 2048;
      services.nk-coordinator = {
        enable = true;
        openFirewall = true;
        tls.hosts = [ "coordinator" ];
        adminTokenFile = "/etc/nk-test/admin.token";
        # The VM test has no k3s API for the coordinator to reach.
        kube = "none";
      };
      environment.etc."nk-test/admin.token" = { text = adminToken; mode = "0600"; };
      environment.etc."nk-test/inventory.yaml".text = inventory;
      environment.etc."nk-test/nk.lock".text = nkLock;
      environment.systemPackages = [ pkgs.nk pkgs.git pkgs.curl pkgs.jq ];
    };
    # agent1 names its coordinator in the module; agent2 gets it from /etc/nk/agent.local.json, as under a bundle.
    agent1 = agentNode { extra.coordinator = coordinatorAddress; };
    agent2 = agentNode { };
  };

  testScript = ''
    import shlex

    start_all()
    coordinator.wait_for_unit("nk-coordinator.service")
    coordinator.wait_for_open_port(7443)
    coordinator.wait_for_open_port(7080)
    coordinator.succeed('test "$(systemctl show -p User --value nk-coordinator.service)" = nk-coordinator')
    coordinator.succeed("jq -e '.adminTokenFile == \"/run/credentials/nk-coordinator.service/admin-token\"' /etc/nk/coordinator.json")

    nkctl = "NK_COORDINATOR=localhost:7443 NK_TOKEN_FILE=/etc/nk-test/admin.token NK_CA_FILE=/var/lib/nk-coordinator/tls/ca.crt nkctl"
    with subtest("first inventory over git"):
        coordinator.succeed(f"printf %s vm-test-k3s-token | {nkctl} secret set k3s-token")
        coordinator.succeed(
            "set -eu; rm -rf /tmp/inv; mkdir /tmp/inv; cd /tmp/inv; git init -q -b main;"
            " cp /etc/nk-test/inventory.yaml inventory.yaml; cp /etc/nk-test/nk.lock nk.lock; git add inventory.yaml nk.lock;"
            " git -c user.name=vm -c user.email=vm@test commit -qm 'first inventory';"
            " git -c http.sslCAInfo=/var/lib/nk-coordinator/tls/ca.crt push https://ops:${adminToken}@localhost:7080/git/inventory.git main"
        )

    ca = coordinator.succeed("cat /var/lib/nk-coordinator/tls/ca.crt")
    with subtest("enroll both agents"):
        for machine in [agent1, agent2]:
            token = coordinator.succeed(
                "curl -sf --cacert /var/lib/nk-coordinator/tls/ca.crt -X POST -H 'authorization: Bearer ${adminToken}'"
                f" https://localhost:7080/api/v1/nodes/{machine.name}/enroll | jq -r .token"
            ).strip()
            machine.succeed(f"mkdir -p /etc/nk && printf %s {shlex.quote(ca)} > /etc/nk/ca.pem")
            machine.succeed(f"(umask 077 && printf %s {shlex.quote(token)} > /etc/nk/token)")
        agent2.succeed("""printf '{"coordinators": ["${coordinatorAddress}"]}' > /etc/nk/agent.local.json""")

    with subtest("agents start on the merged config and report"):
        for machine in [agent1, agent2]:
            machine.succeed("systemctl restart nk-agent.service")
            machine.wait_for_unit("nk-agent.service")
            machine.succeed("jq -e '.coordinators == [\"${coordinatorAddress}\"]' /run/nk/agent.json")
            machine.succeed('test "$(stat -c %a /run/nk/agent.json)" = 600')
            machine.succeed('test "$(stat -c %a /run/nk/secrets)" = 700')
        for name in ["agent1", "agent2"]:
            coordinator.wait_until_succeeds(
                "curl -sf --cacert /var/lib/nk-coordinator/tls/ca.crt -H 'authorization: Bearer ${adminToken}' https://localhost:7080/api/v1/nodes"
                f" | jq -e '.nodes[] | select(.name == \"{name}\") | .connected and .lastReportMs > 0'",
                timeout=300,
            )

    with subtest("the self-update guard confirms the running agent"):
        for machine in [agent1, agent2]:
            machine.succeed("systemctl is-active nk-agent-guard.timer")
            machine.wait_until_succeeds("test -e /var/lib/nk-agent/alive.json", timeout=300)
            machine.wait_until_succeeds("test -e /var/lib/nk-agent/guard/confirmed", timeout=300)
            machine.succeed("test ! -e /var/lib/nk-agent/guard/armed")
  '';
}
