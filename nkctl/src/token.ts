// `nkctl token create|list|revoke`: scoped API tokens (admin, operator, viewer, fleetlock); a value is shown once, at creation.
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { emit, formatAgo, formatTable } from "./output.js";

const ROLES = ["admin", "operator", "viewer", "fleetlock"];
const TOKEN_NAME = /^[a-z0-9]([a-z0-9._-]{0,62})$/;

function checkName(name: string): void {
  if (!TOKEN_NAME.test(name)) throw new NkError("INVALID_ARGUMENT", `"${name}" is not a valid token name (lower-case letters, digits, '.', '_', '-'; at most 63)`);
}

export function registerToken(program: Command, ctx: CliContext): void {
  const group = program.command("token").description("scoped API tokens: admin (everything), operator (leases, rollout, push), viewer (read-only, clone), fleetlock (FleetLock reboot slots only)");
  group
    .command("create")
    .description("create a token; its value is printed once and only its hash is kept")
    .requiredOption("--role <role>", `one of ${ROLES.join(", ")}`)
    .requiredOption("--name <name>", "a name for audit lines and revocation, e.g. ci or wall-screen")
    .action(async (opts: { role: string; name: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      if (!ROLES.includes(opts.role)) throw new NkError("INVALID_ARGUMENT", `"${opts.role}" is not a role: use ${ROLES.join(", ")}`);
      checkName(opts.name);
      const res = await withAdmin(ctx, globals, (api) => api.createToken(opts.name, opts.role));
      emit(ctx, globals.output, { name: res.name, role: res.role, token: res.token }, () => `Token "${res.name}" (role ${res.role}), shown once:\n\n  ${res.token}\n\nRevoke it with: nkctl token revoke ${res.name}\n`);
    });
  group
    .command("list")
    .description("token names, roles and ages (never the values)")
    .action(async (_opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const res = await withAdmin(ctx, globals, (api) => api.listTokens());
      const tokens = [...res.tokens].sort((a, b) => (a.name < b.name ? -1 : 1));
      emit(ctx, globals.output, { tokens }, () =>
        tokens.length === 0 ? "no API tokens (the bootstrap admin token is not listed)\n" : formatTable(["NAME", "ROLE", "CREATED"], tokens.map((t) => [t.name, t.role, formatAgo(t.createdAtMs, ctx.now())])),
      );
    });
  group
    .command("revoke")
    .description("revoke a token; it is refused at once")
    .argument("<name>", "the token's name")
    .action(async (name: string, _opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      checkName(name);
      await withAdmin(ctx, globals, (api) => api.revokeToken(name));
      emit(ctx, globals.output, { name, revoked: true }, () => `token ${name} revoked\n`);
    });
}
