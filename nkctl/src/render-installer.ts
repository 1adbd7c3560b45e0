// `nkctl render-installer <node>`: a NixOS installer configuration that partitions the node's boot device,
// installs a minimal system with the agent enrolled, and reboots into it (the "boot stick" workflow).
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { holdsPemCertificate } from "../../shared/src/config/index.js";
import { isCoordinatorAddress, renderInstaller } from "../../shared/src/installer/index.js";
import { bundleInputs } from "../../shared/src/lock/index.js";
import type { CliContext } from "./cli-context.js";
import { EXIT } from "./exit-codes.js";
import { fsReason } from "../../shared/src/fs/index.js";
import { renderChecked } from "./render.js";
import { writeBundlesFor } from "./write-bundles.js";
import { readRepoDir } from "./repo-files.js";

interface RenderInstallerOptions {
  readonly dir: string;
  readonly nodeCoordinator?: string[];
  readonly enrollTokenFile?: string;
  readonly autoInstall?: boolean;
  readonly disk?: string;
  readonly out: string;
  readonly force?: boolean;
}

/** The token in --enroll-token-file: a file that is missing or empty is an error, never "no token" in silence. */
async function readEnrollToken(path: string, node: string): Promise<string> {
  const text = await readFile(path, "utf8").catch((err: unknown) => {
    throw new NkError("INVALID_ARGUMENT", `cannot read --enroll-token-file ${path}: ${fsReason(err)}`);
  });
  const token = text.trim();
  if (token === "") throw new NkError("INVALID_ARGUMENT", `--enroll-token-file ${path} is empty (get a token with: nkctl node enroll ${node} -o json | jq -r .token > ${path})`);
  return token;
}

export function registerRenderInstaller(program: Command, ctx: CliContext): void {
  program
    .command("render-installer")
    .description("write a NixOS installer (ISO) configuration for one node: partition, install, enroll, reboot")
    .argument("<node>", "the node to install")
    .option("--dir <dir>", "the inventory checkout", ".")
    .option("--node-coordinator <host:port...>", "coordinator address(es) the node will use (default: --coordinator / NK_COORDINATOR)")
    .option("--enroll-token-file <file>", "the node's token from `nkctl node enroll` (put on the stick, never in a .nix file)")
    .option("--auto-install", "install without asking when the stick boots (kernel option nk.autoinstall)")
    .option("--disk <device>", "the whole disk to erase (required for systemd-boot and grub-efi nodes; grub-bios uses its boot device)")
    .requiredOption("--out <dir>", "where to write the installer files")
    .option("--force", "write into a non-empty --out directory")
    .addHelpText("after", '\nBuild the ISO in <out>/<node> with: nix build "path:$PWD#iso" ("path:" takes the untracked enroll-token along)')
    .action(async (node: string, opts: RenderInstallerOptions, cmd: Command) => {
      const coordinator = opts.nodeCoordinator ?? [cmd.optsWithGlobals<{ coordinator?: string }>().coordinator ?? ctx.env.NK_COORDINATOR ?? ""].filter(Boolean);
      if (coordinator.length === 0) throw new NkError("INVALID_ARGUMENT", "name the coordinator the node will use: --node-coordinator host:port (or --coordinator / NK_COORDINATOR)");
      const badAddress = coordinator.find((c) => !isCoordinatorAddress(c));
      if (badAddress !== undefined) {
        const from = opts.nodeCoordinator ? "--node-coordinator" : "--coordinator / NK_COORDINATOR";
        throw new NkError("INVALID_ARGUMENT", `${from}: "${badAddress}" is not host:port (the agent's gRPC address, e.g. coordinator.lan:7443)`);
      }
      const repo = await readRepoDir(opts.dir);
      const rendered = renderChecked(ctx, repo, "", opts.dir);
      if (!rendered) {
        ctx.exitCode = EXIT.PROBLEMS;
        return;
      }
      // The same CA nkctl pins (--ca-file / NK_CA_FILE): the node must trust the coordinator nkctl trusts.
      const caFile = cmd.optsWithGlobals<{ caFile?: string }>().caFile ?? ctx.env.NK_CA_FILE;
      if (!caFile) throw new NkError("INVALID_ARGUMENT", "name the coordinator CA the node pins: --ca-file <file> (or NK_CA_FILE)");
      const caFrom = cmd.optsWithGlobals<{ caFile?: string }>().caFile !== undefined ? "--ca-file" : "NK_CA_FILE";
      const caPem = await readFile(caFile, "utf8").catch((err: unknown) => {
        throw new NkError("INVALID_ARGUMENT", `cannot read the CA file ${caFile} (${caFrom}): ${fsReason(err)}`);
      });
      if (!holdsPemCertificate(caPem)) throw new NkError("INVALID_ARGUMENT", `${caFile} (${caFrom}) holds no PEM certificate: use the coordinator's <stateDir>/tls/ca.crt`);
      const enrollToken = opts.enrollTokenFile === undefined ? undefined : await readEnrollToken(opts.enrollTokenFile, node);
      const files = renderInstaller(rendered.inventory, node, { coordinator, caPem, inputs: bundleInputs(rendered.inventory, repo), ...(enrollToken ? { enrollToken } : {}), ...(opts.autoInstall ? { autoInstall: true } : {}), ...(opts.disk !== undefined ? { disk: opts.disk } : {}) });
      // writeBundles writes <out>/<node>/...; the installer is one tree per node, so the same layout fits.
      if (!(await writeBundlesFor(ctx, opts.out, [{ node, role: "", sha256: "", files }], opts.force === true))) return;
      ctx.stdout.write(`wrote the installer for ${node} to ${opts.out}/${node} (${files.length} files)${enrollToken ? "; the token is in enroll-token (mode 0600 at install time)" : "; no token: the installer asks for it"}\n`);
    });
}
