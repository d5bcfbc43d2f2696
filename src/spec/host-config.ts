/**
 * The host config (`~/.scitex/agent-container/config.yaml`, or the project's, or
 * `$SCITEX_AGENT_CONTAINER_CONFIG`): the original's keys plus `sandbox.uid_range`. Strict, described,
 * every default resolved. Loading and the flag/env/project/user cascade live in `src/config.ts`.
 * @module
 */
import { z } from 'zod';
import { ignoredPaths, restoreDefaults } from './schema.ts';

function ignored<T extends z.ZodType>(schema: T, description: string, reason: string): T {
  return schema.describe(`${description} Accepted, ignored by sac: ${reason}.`).meta({
    sacIgnored: reason,
  });
}

const port = z.number().int().min(1).max(65535);

/** `[lo, hi]` with lo < hi (ports) or lo <= hi (uids). */
function range(min: number, max: number, strict: boolean): z.ZodType<[number, number]> {
  return z
    .tuple([z.number().int().min(min).max(max), z.number().int().min(min).max(max)])
    .refine(([lo, hi]) => (strict ? lo < hi : lo <= hi), {
      error: strict ? 'expected [lo, hi] with lo < hi' : 'expected [lo, hi] with lo <= hi',
    });
}

const PeerSchema = z
  .strictObject({
    ssh: z
      .string()
      .min(1)
      .optional()
      .describe(
        'ssh destination: user@host[:port] or an ~/.ssh/config alias. Default: the peer name (for glob keys, the name asked for).',
      ),
    via: z
      .array(z.string().min(1))
      .default([])
      .describe('Peers to jump through, in order (ssh ProxyJump). Default: [].'),
    env_preamble: z
      .array(z.string())
      .default([])
      .describe('Shell lines run on the peer before sac (module loads, PATH). Default: [].'),
    resolve: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('Name-resolution overrides for this peer. Default: {}.'),
    login_shell: z
      .boolean()
      .default(false)
      .describe('Run remote commands in a login shell (bash -lc). Default: false.'),
    reverse_ssh: z
      .string()
      .min(1)
      .optional()
      .describe('ssh destination the peer uses to reach back to this host.'),
  })
  .describe('How to reach one peer host.');

export const HostConfigSchema = z
  .strictObject({
    host: z
      .strictObject({
        canonical: z
          .string()
          .min(1)
          .optional()
          .describe(
            "This host's name in the fleet. Order: $SAC_HOST, host.canonical, host.aliases[hostname -s], then the fallback.",
          ),
        aliases: z
          .record(z.string(), z.string().min(1))
          .default({})
          .describe(
            'hostname -s → canonical name, for hosts known under several names. Default: {}.',
          ),
        fallback: z
          .enum(['hostname-short', 'hostname-fqdn'])
          .default('hostname-short')
          .describe('Name used when nothing else names this host. Default: hostname-short.'),
      })
      .prefault({})
      .describe("This host's identity."),
    peers: z
      .record(z.string().min(1), PeerSchema)
      .default({})
      .describe(
        'Other hosts, by stable name. Keys may be globs ("spartan*") giving defaults for every matching name. Default: {}.',
      ),
    lead: z
      .strictObject({
        name: z.string().min(1).default('lead').describe('Agent name of the lead. Default: lead.'),
        host: z.string().min(1).optional().describe('Peer the lead runs on. Default: this host.'),
        a2a_port: port.default(8642).describe("Lead's A2A port. Default: 8642."),
      })
      .prefault({})
      .describe('Where agents report to (`sac fleet notify`).'),
    listen: z
      .strictObject({
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .describe(
            'Address `sac listen` binds. Anything but loopback exposes the control plane (bearer-protected). Default: 127.0.0.1.',
          ),
        port: port.default(7878).describe('Port `sac listen` binds. Default: 7878.'),
      })
      .prefault({})
      .describe('The host control plane, `sac listen`.'),
    a2a: z
      .strictObject({
        port_range: range(1, 65535, true)
          .default([19000, 19999])
          .describe(
            'Ports handed to agents with a2a.port: auto, as [lo, hi] (inclusive, lo < hi). Default: [19000, 19999].',
          ),
      })
      .prefault({})
      .describe('Per-agent HTTP endpoints.'),
    sandbox: z
      .strictObject({
        uid_range: range(1, 4294967294, false)
          .default([61000, 61999])
          .describe(
            "When sac runs as root, each agent without spec.user runs as its own uid from this range [lo, hi] (inclusive), never root; sac owns the agent's home and the workdirs it creates accordingly. Default: [61000, 61999].",
          ),
      })
      .prefault({})
      .describe('Sandbox settings for every agent on this host.'),
    comms_nodes: ignored(
      z
        .strictObject({
          sync_on_start: z.boolean().optional().describe('Sync the node registry at start.'),
        })
        .optional(),
      'Cross-host node registry sync.',
      'the cross-host registry is not implemented',
    ),
    scratch_root: ignored(
      z.string().min(1).optional(),
      "Root for per-agent scratch volumes (<scratch_root>/sac/agents/<name>/uvwork), or 'none' with scratch_root_reason.",
      'scratch volumes are not implemented',
    ),
    scratch_root_reason: ignored(
      z.string().optional(),
      "Why scratch_root is 'none'.",
      'scratch volumes are not implemented',
    ),
  })
  .describe('Host-wide sac settings (config.yaml).');

export type HostConfig = z.output<typeof HostConfigSchema>;
export type HostConfigInput = z.input<typeof HostConfigSchema>;
export type PeerConfig = z.output<typeof PeerSchema>;

/** The editor JSON Schema of config.yaml (draft-07, input side). */
export function hostConfigJsonSchema(): z.core.JSONSchema.JSONSchema {
  return z.toJSONSchema(HostConfigSchema, {
    io: 'input',
    target: 'draft-07',
    override: restoreDefaults,
  });
}

/** Keys of config.yaml that load but that sac does not act on: dotted path → reason. */
export function ignoredHostConfigPaths(): Map<string, string> {
  return ignoredPaths(hostConfigJsonSchema());
}
