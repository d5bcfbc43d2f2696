import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envSetting, loadHostConfig } from './config.ts';
import { isAppError, SpecError } from './errors.ts';

let root: string;
let env: Record<string, string>;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sac-config-'));
  env = { HOME: join(root, 'home'), SAC_HOME: join(root, 'sac') };
  mkdirSync(join(root, 'sac'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('host config cascade', () => {
  it('uses built-in defaults with no files', () => {
    const c = loadHostConfig({ env, cwd: root });
    expect(c.config.sandbox.uid_range).toEqual([61000, 61999]);
    expect(c.sources['listen.port']).toBe('default');
  });

  it('applies flag > env > project > user', () => {
    writeFileSync(
      join(root, 'sac/config.yaml'),
      'listen:\n  port: 7000\na2a:\n  port_range: [20000, 20099]\n',
    );
    const proj = join(root, 'proj');
    mkdirSync(join(proj, '.git'), { recursive: true });
    mkdirSync(join(proj, '.scitex/agent-container/agents'), { recursive: true });
    writeFileSync(join(proj, '.scitex/agent-container/config.yaml'), 'listen:\n  port: 7100\n');

    expect(loadHostConfig({ env, cwd: root }).config.listen.port).toBe(7000);
    const p = loadHostConfig({ env, cwd: proj });
    expect(p.config.listen.port).toBe(7100);
    expect(p.sources['listen.port']).toBe('project');
    expect(p.config.a2a.port_range).toEqual([20000, 20099]);
    expect(p.sources['a2a.port_range']).toBe('user');

    const e = loadHostConfig({
      env: { ...env, SAC_LISTEN_PORT: '7200', SAC_A2A_PORT_RANGE: '21000-21010' },
      cwd: proj,
    });
    expect(e.config.listen.port).toBe(7200);
    expect(e.config.a2a.port_range).toEqual([21000, 21010]);
    expect(e.sources['listen.port']).toBe('env');

    const f = loadHostConfig({
      env: { ...env, SAC_LISTEN_PORT: '7200' },
      cwd: proj,
      flags: { 'listen.port': 7300 },
    });
    expect(f.config.listen.port).toBe(7300);
    expect(f.sources['listen.port']).toBe('flag');
  });

  it('refuses the two environment spellings disagreeing', () => {
    expect(() =>
      envSetting('listen.port', { SAC_LISTEN_PORT: '1', SCITEX_AGENT_CONTAINER_LISTEN_PORT: '2' }),
    ).toThrow(/disagree/);
    expect(
      envSetting('listen.port', { SAC_LISTEN_PORT: '5', SCITEX_AGENT_CONTAINER_LISTEN_PORT: '5' }),
    ).toBe(5);
  });

  it('reports an invalid config.yaml located, with its own error code', () => {
    writeFileSync(join(root, 'sac/config.yaml'), 'listen:\n  port: nope\nbogus: 1\n');
    try {
      loadHostConfig({ env, cwd: root });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SpecError);
      const e = err as SpecError;
      expect(isAppError(e) && e.code).toBe('CONFIG_INVALID');
      expect(e.issues.map((i) => [i.path, i.line])).toEqual(
        expect.arrayContaining([
          ['listen.port', 2],
          ['bogus', 3],
        ]),
      );
    }
  });

  it('honours SCITEX_AGENT_CONTAINER_CONFIG', () => {
    const file = join(root, 'elsewhere.yaml');
    writeFileSync(file, 'sandbox:\n  uid_range: [70000, 70010]\n');
    const c = loadHostConfig({ env: { ...env, SCITEX_AGENT_CONTAINER_CONFIG: file }, cwd: root });
    expect(c.config.sandbox.uid_range).toEqual([70000, 70010]);
    expect(c.files.user).toBe(file);
  });
});
