// `nkctl secret set|list`: secrets live in the coordinator; values come from stdin, never from argv.
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { emit, formatAgo, formatTable } from "./output.js";
import { isSecretName, SECRET_NAME_RULE } from "../../shared/src/names/index.js";

const MAX_SECRET_BYTES = 64 * 1024;

/** Drops exactly one trailing newline (`echo` and heredocs add one); anything else is kept as is. */
export function stripOneNewline(value: Buffer): Buffer {
  if (value.length >= 2 && value[value.length - 2] === 0x0d && value[value.length - 1] === 0x0a) return value.subarray(0, -2);
  if (value.length >= 1 && value[value.length - 1] === 0x0a) return value.subarray(0, -1);
  return value;
}

async function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) throw new NkError("TOO_LARGE", `secret values are limited to ${MAX_SECRET_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export function registerSecret(program: Command, ctx: CliContext): void {
  const group = program.command("secret").description("secrets in the coordinator's store (e.g. the k3s token)");
  group
    .command("set")
    .description("set a secret from stdin (one trailing newline is dropped)")
    .argument("<name>", "the secret's name, e.g. k3s-token")
    .addHelpText("after", "\nExample: openssl rand -hex 32 | nkctl secret set k3s-token")
    // The value never goes on a command line (ps, shell history): say so instead of commander's "too many arguments".
    .allowExcessArguments(true)
    .action(async (name: string, _opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      if (cmd.args.length > 1) throw new NkError("INVALID_ARGUMENT", `secret set takes the value on stdin, never as an argument (it would show in ps and the shell's history): printf %s "$VALUE" | nkctl secret set ${isSecretName(name) ? name : "<name>"}`);
      if (!isSecretName(name)) throw new NkError("INVALID_ARGUMENT", `"${name}" is not a valid secret name (${SECRET_NAME_RULE})`);
      if (ctx.stdin.isTTY) ctx.stderr.write(`value for ${name} (end with Ctrl-D):\n`);
      // Read before connecting: a wrong invocation should not need the coordinator to fail.
      const value = stripOneNewline(await readAll(ctx.stdin, MAX_SECRET_BYTES + 2));
      if (value.length === 0) throw new NkError("INVALID_ARGUMENT", `refusing to set ${name} to an empty value (pipe the value on stdin)`);
      if (value.length > MAX_SECRET_BYTES) throw new NkError("TOO_LARGE", `secret values are limited to ${MAX_SECRET_BYTES} bytes`);
      await withAdmin(ctx, globals, (api) => api.setSecret(name, value));
      emit(ctx, globals.output, { name, sizeBytes: value.length }, () => `secret ${name} set (${value.length} bytes)\n`);
    });
  group
    .command("list")
    .description("secret names, sizes and when they were set (never the values)")
    .action(async (_opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const res = await withAdmin(ctx, globals, (api) => api.listSecrets());
      const secrets = [...res.secrets].sort((a, b) => (a.name < b.name ? -1 : 1));
      emit(ctx, globals.output, { secrets }, () =>
        secrets.length === 0 ? "no secrets\n" : formatTable(["NAME", "SIZE", "UPDATED"], secrets.map((s) => [s.name, `${s.sizeBytes} B`, formatAgo(s.updatedAtMs, ctx.now())])),
      );
    });
}
