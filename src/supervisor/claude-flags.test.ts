import { describe, expect, it } from 'vitest';
import { mapClaudeFlags } from './claude-flags.ts';

describe('mapClaudeFlags', () => {
  it('maps --dangerously-skip-permissions to bypass mode', () => {
    expect(mapClaudeFlags(['--dangerously-skip-permissions'])).toMatchObject({
      permissionMode: 'bypassPermissions',
      allowDangerouslySkipPermissions: true,
      extraArgs: {},
    });
  });

  it('defaults to the default permission mode (always passed explicitly)', () => {
    expect(mapClaudeFlags([]).permissionMode).toBe('default');
  });

  it('maps SDK-known flags in both spellings and passes the rest through', () => {
    const o = mapClaudeFlags([
      '--permission-mode=acceptEdits',
      '--allowedTools',
      'Bash(git:*),Read',
      '--disallowed-tools=Write',
      '--append-system-prompt',
      'Be terse.',
      '--max-turns',
      '7',
      '--add-dir',
      '/data',
      '--debug',
    ]);
    expect(o).toMatchObject({
      permissionMode: 'acceptEdits',
      allowedTools: ['Bash(git:*)', 'Read'],
      disallowedTools: ['Write'],
      appendSystemPrompt: 'Be terse.',
      maxTurns: 7,
      extraArgs: { 'add-dir': '/data', debug: null },
      ignored: [],
    });
  });

  it('refuses flags that would undo what sac manages', () => {
    const o = mapClaudeFlags(['--model', 'opus', '--resume', 'abc', '--mcp-config=/x.json', '-p']);
    expect(o.ignored).toEqual(['--model', '--resume', '--mcp-config=/x.json', '-p']);
    expect(o.extraArgs).toEqual({});
  });
});
