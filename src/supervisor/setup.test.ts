import { describe, expect, it } from 'vitest';
import { protectiveMounts } from './setup.ts';

describe('protectiveMounts', () => {
  const protect = [
    { host: '/home/op/.scitex/agent-container', how: 'hide' as const },
    { host: '/repo/.scitex/agent-container', how: 'ro' as const },
    { host: '/repo/.scitex/agent-container/runtime', how: 'hide' as const },
    { host: '/repo/.scitex/agent-container/agents/a/spec.yaml', how: 'ro' as const },
  ];

  it('makes sac files inside a mounted directory read-only or hidden, parents first', () => {
    const m = protectiveMounts([{ host: '/repo', container: '/work' }], protect, '/run/empty');
    expect(m).toEqual([
      {
        host: '/repo/.scitex/agent-container',
        container: '/work/.scitex/agent-container',
        mode: 'ro',
      },
      { host: '/run/empty', container: '/work/.scitex/agent-container/runtime', mode: 'ro' },
      {
        host: '/repo/.scitex/agent-container/agents/a/spec.yaml',
        container: '/work/.scitex/agent-container/agents/a/spec.yaml',
        mode: 'ro',
      },
    ]);
  });

  it('protects the spec file when the workdir is the agent directory itself', () => {
    const m = protectiveMounts(
      [{ host: '/repo/.scitex/agent-container/agents/a', container: '/work' }],
      protect,
      '/e',
    );
    expect(m).toEqual([
      {
        host: '/repo/.scitex/agent-container/agents/a/spec.yaml',
        container: '/work/spec.yaml',
        mode: 'ro',
      },
    ]);
  });

  it('hides the sac root under a mounted home, and ignores unrelated mounts', () => {
    expect(protectiveMounts([{ host: '/home/op', container: '/data' }], protect, '/e')).toEqual([
      { host: '/e', container: '/data/.scitex/agent-container', mode: 'ro' },
    ]);
    expect(protectiveMounts([{ host: '/srv/data', container: '/data' }], protect, '/e')).toEqual(
      [],
    );
    expect(
      protectiveMounts(
        [{ host: '/home/op/.scitex/agent-container/runtime/a/work', container: '/work' }],
        protect,
        '/e',
      ),
    ).toEqual([]);
  });

  it('refuses to mount exactly a directory that holds sac files', () => {
    expect(() =>
      protectiveMounts(
        [{ host: '/home/op/.scitex/agent-container', container: '/x' }],
        protect,
        '/e',
      ),
    ).toThrow(/holds sac's own files/);
  });
});
