import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors.ts';
import { BRIDGE_PORT, buildSandboxEnv } from './env.ts';

describe('buildSandboxEnv', () => {
  it('network none: bridge port and a loopback base URL; nothing from process.env', () => {
    process.env.SAC_TEST_LEAK = 'should-not-appear';
    const env = buildSandboxEnv({ network: 'none', agentToken: 'tok' });
    expect(env).toEqual({
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/home/agent',
      USER: 'agent',
      LOGNAME: 'agent',
      SHELL: '/bin/bash',
      LANG: 'C.UTF-8',
      TMPDIR: '/tmp',
      CLAUDE_CODE_TMPDIR: '/tmp/claude-agent',
      ANTHROPIC_BASE_URL: `http://127.0.0.1:${BRIDGE_PORT}`,
      ANTHROPIC_API_KEY: 'tok',
      SAC_BRIDGE_PORT: String(BRIDGE_PORT),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_ERROR_REPORTING: '1',
    });
    delete process.env.SAC_TEST_LEAK;
  });

  it('network host: the relay TCP port, no bridge', () => {
    const env = buildSandboxEnv({
      network: 'host',
      agentToken: 'tok',
      relayPort: 4321,
      extra: { FOO: 'bar' },
    });
    expect(env.ANTHROPIC_BASE_URL).toBe('http://127.0.0.1:4321');
    expect(env.SAC_BRIDGE_PORT).toBeUndefined();
    expect(env.FOO).toBe('bar');
  });

  it.each(['IS_SANDBOX', 'ANTHROPIC_API_KEY', 'HOME', 'ANTHROPIC_AUTH_TOKEN'])(
    'refuses reserved key %s in extra',
    (key) => {
      let err: unknown;
      try {
        buildSandboxEnv({ network: 'none', agentToken: 't', extra: { [key]: 'x' } });
      } catch (e) {
        err = e;
      }
      expect(isAppError(err) && err.code).toBe('SPEC_INVALID');
    },
  );
});
