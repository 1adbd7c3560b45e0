// `nkctl import nk3|plans`: turns an older inventory format into inventory.yaml (+ extra files).
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { importNk3, importPlans, type ImportOptions, type ImportResult } from "../../shared/src/import/index.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { fsReason } from "../../shared/src/fs/index.js";
import { emit } from "./output.js";
import { writeFileAtomic } from "../../shared/src/fs/index.js";

interface ImportFlags {
  readonly out?: string;
  readonly force?: boolean;
  readonly sshKey: string[];
  readonly clusterName?: string;
  readonly adminUser?: string;
  readonly interface?: string;
  readonly bootDevice?: string;
  readonly channel?: string;
}

const KEY_PREFIX = /^(ssh-|ecdsa-|sk-)/;

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new NkError("INVALID_ARGUMENT", `cannot read ${what} ${path}: ${fsReason(err)}`, { cause: err });
  }
}

/** Each --ssh-key is a public key, or a file of them (e.g. ~/.ssh/id_ed25519.pub). */
export async function resolveSshKeys(values: readonly string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const v of values) {
    if (KEY_PREFIX.test(v.trim())) keys.push(v.trim());
    else if (existsSync(v)) {
      const lines = (await readText(v, "SSH key file")).split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
      if (lines.length === 0) throw new NkError("INVALID_ARGUMENT", `${v} holds no public key`);
      keys.push(...lines);
    } else throw new NkError("INVALID_ARGUMENT", `--ssh-key ${JSON.stringify(v)} is neither a public key (ssh-ed25519 AAAA...) nor a readable file`);
  }
  return keys;
}

async function importOptions(flags: ImportFlags): Promise<ImportOptions> {
  return {
    sshKeys: await resolveSshKeys(flags.sshKey),
    ...(flags.clusterName !== undefined ? { clusterName: flags.clusterName } : {}),
    ...(flags.adminUser !== undefined ? { adminUser: flags.adminUser } : {}),
    ...(flags.interface !== undefined ? { interface: flags.interface } : {}),
    ...(flags.bootDevice !== undefined ? { bootDevice: flags.bootDevice } : {}),
    ...(flags.channel !== undefined ? { channel: flags.channel } : {}),
  };
}

/** Writes inventory.yaml and the extra files; refuses to replace an inventory unless --force. */
async function writeImport(out: string, result: ImportResult, force: boolean): Promise<string[]> {
  if (!force && existsSync(join(out, "inventory.yaml"))) throw new NkError("INVALID_ARGUMENT", `${join(out, "inventory.yaml")} exists (use --force to replace it)`);
  const files = new Map([["inventory.yaml", result.yaml], ...result.extraFiles]);
  for (const [path, content] of files) {
    const target = join(out, path);
    await mkdir(dirname(target), { recursive: true })
      .then(() => writeFileAtomic(target, content, 0o644))
      .catch((err: unknown) => {
        throw new NkError("IO", `cannot write ${target} (--out ${out}): ${fsReason(err)}`, { cause: err });
      });
  }
  return [...files.keys()];
}

async function finish(ctx: CliContext, globals: GlobalOptions, flags: ImportFlags, result: ImportResult): Promise<void> {
  for (const note of result.notes) ctx.stderr.write(`note: ${note}\n`);
  if (flags.out !== undefined) {
    const written = await writeImport(flags.out, result, flags.force === true);
    emit(ctx, globals.output, { out: flags.out, files: written, notes: result.notes }, () => `wrote ${written.join(", ")} to ${flags.out}\n`);
    return;
  }
  const files = Object.fromEntries([["inventory.yaml", result.yaml], ...result.extraFiles]);
  emit(ctx, globals.output, { files, notes: result.notes }, () => result.yaml);
  if ((globals.output === "table" || globals.output === "wide") && result.extraFiles.size > 0) {
    ctx.stderr.write(`note: not written (use --out DIR): ${[...result.extraFiles.keys()].join(", ")}\n`);
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerImport(program: Command, ctx: CliContext): void {
  const group = program.command("import").description("convert an older inventory format into inventory.yaml");
  const common = (cmd: Command): Command =>
    cmd
      .option("--out <dir>", "write inventory.yaml and extra files here (default: print inventory.yaml)")
      .option("--force", "replace an existing inventory.yaml in --out")
      .option("--ssh-key <key-or-file>", "admin SSH public key, or a .pub file (repeatable)", collect, [])
      .option("--cluster-name <name>", "cluster.name")
      .option("--admin-user <user>", "cluster.admin.user");

  common(group.command("nk3").description("import an nk3 inventory.yaml (nodes keyed by IP)").argument("<file>", "the nk3 inventory.yaml"))
    .option("--interface <name>", "the nodes' network interface (nk3 names none; default eth0)")
    .addHelpText("after", "\nNotes on what was mapped or defaulted go to stderr. Exits 1 when the input cannot be imported.")
    .action(async (file: string, flags: ImportFlags, cmd: Command) => {
      const result = importNk3(await readText(file, "nk3 inventory"), file, await importOptions(flags));
      await finish(ctx, cmd.optsWithGlobals<GlobalOptions>(), flags, result);
    });

  common(group.command("plans").description("import csv plans (hosts.csv, k3s.csv, network.yaml, nixConfigs/)").argument("<dir>", "the folder with the plans"))
    .option("--boot-device <dev>", "boot loader disk of every node (default /dev/sda)")
    .option("--channel <channel>", "nixpkgs channel (default nixos-24.11)")
    .addHelpText("after", "\nNotes on what was mapped or defaulted go to stderr. Exits 1 when the input cannot be imported.")
    .action(async (dir: string, flags: ImportFlags, cmd: Command) => {
      const nixDir = join(dir, "nixConfigs");
      const nixConfigs = new Map<string, string>();
      if (existsSync(nixDir)) {
        for (const name of (await readdir(nixDir)).filter((n) => n.endsWith(".nix")).sort()) {
          nixConfigs.set(name.slice(0, -".nix".length), await readText(join(nixDir, name), "Nix config"));
        }
      }
      const input = {
        hostsCsv: await readText(join(dir, "hosts.csv"), "plans file"),
        k3sCsv: await readText(join(dir, "k3s.csv"), "plans file"),
        networkYaml: await readText(join(dir, "network.yaml"), "plans file"),
        nixConfigs,
      };
      await finish(ctx, cmd.optsWithGlobals<GlobalOptions>(), flags, importPlans(input, await importOptions(flags)));
    });
}
