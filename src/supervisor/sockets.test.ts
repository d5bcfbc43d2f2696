import { describe, expect, it } from 'vitest';
import { agentKey, turnQueueName } from './sockets.ts';

describe('turnQueueName', () => {
  it("keeps user-root agents' plain names and qualifies agents with a runtime dir of their own", () => {
    expect(
      turnQueueName(
        'rev',
        '/home/u/.scitex/agent-container/runtime/rev',
        '/home/u/.scitex/agent-container/runtime',
      ),
    ).toBe('rev');
    const a = turnQueueName(
      'rev',
      '/repo-a/.scitex/agent-container/runtime/rev',
      '/home/u/.scitex/agent-container/runtime',
    );
    const b = turnQueueName(
      'rev',
      '/repo-b/.scitex/agent-container/runtime/rev',
      '/home/u/.scitex/agent-container/runtime',
    );
    expect(a).toMatch(/^rev@[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });

  it('derives stable socket keys per runtime dir', () => {
    expect(agentKey('a', '/x/runtime/a')).toBe(agentKey('a', '/x/runtime/a'));
    expect(agentKey('a', '/x/runtime/a')).not.toBe(agentKey('a', '/y/runtime/a'));
  });
});
