import { describe, expect, it } from 'vitest';
import { decodeText, isCredentialsFile, modeFor, ruleFor } from './rules.ts';

describe('ruleFor', () => {
  it.each([
    ['CLAUDE.md', 'managed'],
    ['state.md', 'managed'],
    ['.claude/CLAUDE.md', 'managed'],
    ['.claude/skills/x/state.md', 'copy'],
    ['docs/CLAUDE.md', 'copy'],
    ['.mcp.json', 'mcp'],
    ['sub/.mcp.json', 'copy'],
    ['.claude.json', 'claude-json'],
    ['.env', 'private'],
    ['.envrc', 'private'],
    ['tools/.env', 'private'],
    ['.claude/settings.json', 'copy'],
  ])('%s → %s', (rel, rule) => {
    expect(ruleFor(rel)).toBe(rule);
  });

  it('finds credentials files at any depth', () => {
    expect(isCredentialsFile('.credentials.json')).toBe(true);
    expect(isCredentialsFile('.claude/.credentials.json')).toBe(true);
    expect(isCredentialsFile('.claude/credentials.json')).toBe(false);
  });
});

describe('modeFor', () => {
  it('keeps the source permissions, never set-id bits; private files are 0600', () => {
    expect(modeFor('copy', 0o100755)).toBe(0o755);
    expect(modeFor('copy', 0o104755)).toBe(0o755);
    expect(modeFor('copy', 0o444)).toBe(0o444);
    expect(modeFor('private', 0o644)).toBe(0o600);
    expect(modeFor('mcp', 0o644)).toBe(0o600);
    expect(modeFor('managed', 0o444)).toBe(0o644);
  });
});

describe('decodeText', () => {
  it('accepts UTF-8 without NUL, refuses binary', () => {
    expect(decodeText(Buffer.from('héllo ${x}'))).toBe('héllo ${x}');
    expect(decodeText(Buffer.from([0x68, 0, 0x69]))).toBeUndefined();
    expect(decodeText(Buffer.from([0xff, 0xfe, 0x41]))).toBeUndefined();
  });
});
