import { describe, expect, it } from 'vitest';
import { HostConfigSchema, ignoredHostConfigPaths } from './host-config.ts';

describe('HostConfigSchema', () => {
  it('resolves every default for an empty file', () => {
    expect(HostConfigSchema.parse({})).toEqual({
      host: { aliases: {}, fallback: 'hostname-short' },
      peers: {},
      lead: { name: 'lead', a2a_port: 8642 },
      listen: { host: '127.0.0.1', port: 7878 },
      a2a: { port_range: [19000, 19999] },
      sandbox: { uid_range: [61000, 61999] },
    });
  });

  it("loads the original's documented shape", () => {
    const cfg = HostConfigSchema.parse({
      host: { canonical: 'lab1', aliases: { 'lab1-login': 'lab1' }, fallback: 'hostname-fqdn' },
      peers: {
        nas: {
          ssh: 'me@nas:2222',
          via: ['gw'],
          env_preamble: ['module load x'],
          login_shell: true,
        },
        'spartan*': { via: ['spartan'], env_preamble: [] },
      },
      lead: { name: 'lead', host: 'nas', a2a_port: 8642 },
      listen: { host: '127.0.0.1', port: 7878 },
      a2a: { port_range: [19000, 19999] },
      comms_nodes: { sync_on_start: true },
      scratch_root: 'none',
      scratch_root_reason: 'small disk',
    });
    expect(cfg.peers['spartan*']).toEqual({
      via: ['spartan'],
      env_preamble: [],
      resolve: {},
      login_shell: false,
    });
  });

  it('checks ranges', () => {
    expect(HostConfigSchema.safeParse({ a2a: { port_range: [2000, 1000] } }).success).toBe(false);
    expect(HostConfigSchema.safeParse({ a2a: { port_range: [2000, 2000] } }).success).toBe(false);
    expect(HostConfigSchema.safeParse({ a2a: { port_range: [0, 10] } }).success).toBe(false);
    expect(HostConfigSchema.safeParse({ sandbox: { uid_range: [0, 10] } }).success).toBe(false);
    expect(HostConfigSchema.safeParse({ sandbox: { uid_range: [70000, 70000] } }).success).toBe(
      true,
    );
  });

  it('rejects unknown keys', () => {
    const r = HostConfigSchema.safeParse({ listen: { hots: 'x' }, peers: { a: { shh: 'x' } } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path)).toEqual([['peers', 'a'], ['listen']]);
  });

  it('lists the accepted-but-ignored keys', () => {
    expect([...ignoredHostConfigPaths().keys()]).toEqual([
      'comms_nodes',
      'scratch_root',
      'scratch_root_reason',
    ]);
  });
});
