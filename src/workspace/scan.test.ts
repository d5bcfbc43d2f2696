import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { scanLayers } from './scan.ts';
import { appErrorOf as thrown } from '../../test/support/errors.ts';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sac-scan-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function put(root: string, rel: string, text = rel): string {
  const path = join(root, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('scanLayers', () => {
  it('overlays layers in order: a later file wins, every file stays listed', () => {
    const t = tempDir();
    const base = join(t, 'base');
    const own = join(t, 'own');
    put(base, 'CLAUDE.md');
    put(base, '.claude/skills/a/SKILL.md');
    put(own, 'CLAUDE.md');
    put(own, '.claude/skills/b/SKILL.md');
    const tree = scanLayers([
      { name: 'baseline', root: base },
      { name: 'to_home', root: own },
    ]);
    expect(tree.files.get('CLAUDE.md')).toMatchObject({
      layer: 'to_home',
      path: join(own, 'CLAUDE.md'),
    });
    expect([...tree.files.keys()].sort()).toEqual([
      '.claude/skills/a/SKILL.md',
      '.claude/skills/b/SKILL.md',
      'CLAUDE.md',
    ]);
    expect(tree.all.filter((f) => f.rel === 'CLAUDE.md').map((f) => f.layer)).toEqual([
      'baseline',
      'to_home',
    ]);
    expect([...tree.dirs.keys()].sort()).toEqual([
      '.claude',
      '.claude/skills',
      '.claude/skills/a',
      '.claude/skills/b',
    ]);
  });

  it('skips a missing layer', () => {
    const t = tempDir();
    expect(scanLayers([{ name: 'to_home', root: join(t, 'nope') }]).layers).toEqual([]);
  });

  it('dereferences symlinks (files and directories)', () => {
    const t = tempDir();
    const own = join(t, 'own');
    const target = put(t, 'elsewhere/tool.sh', '#!/bin/sh\n');
    chmodSync(target, 0o755);
    mkdirSync(own);
    symlinkSync(target, join(own, 'tool.sh'));
    symlinkSync(join(t, 'elsewhere'), join(own, 'linked'));
    const tree = scanLayers([{ name: 'to_home', root: own }]);
    expect(tree.files.get('tool.sh')?.mode).toBe(0o100755);
    expect(tree.files.has('linked/tool.sh')).toBe(true);
  });

  it('refuses every .credentials.json, at any depth, and lists them all', () => {
    const t = tempDir();
    const base = join(t, 'base');
    const own = join(t, 'own');
    put(base, '.credentials.json', '{}');
    put(own, '.claude/.credentials.json', '{}');
    const err = thrown(() =>
      scanLayers([
        { name: 'baseline', root: base },
        { name: 'to_home', root: own },
      ]),
    );
    expect(err.code).toBe('WORKSPACE_INVALID');
    expect(err.message).toBe(
      `${join(base, '.credentials.json')}: .credentials.json is never copied into an agent's home (and 1 more problem)`,
    );
    expect(err.details?.problems).toHaveLength(2);
    expect(err.hint).toContain('real credentials never enter the sandbox');
  });

  it('refuses a symlink with an innocent name that points at credentials', () => {
    const t = tempDir();
    const own = join(t, 'own');
    mkdirSync(own);
    symlinkSync(put(t, 'op/.claude/.credentials.json', '{}'), join(own, 'notes.json'));
    expect(() => scanLayers([{ name: 'to_home', root: own }])).toThrow(
      /links to a \.credentials\.json/,
    );
  });

  it('refuses dangling symlinks and loops', () => {
    const t = tempDir();
    const own = join(t, 'own');
    mkdirSync(join(own, 'd'), { recursive: true });
    symlinkSync('/nonexistent/x', join(own, 'dangling'));
    symlinkSync('..', join(own, 'd', 'up'));
    const err = thrown(() => scanLayers([{ name: 'to_home', root: own }]));
    const problems = err.details?.problems as string[];
    expect(problems).toContain(`${join(own, 'dangling')}: dangling symlink (-> /nonexistent/x)`);
    expect(problems.some((p) => p.startsWith(`${join(own, 'd', 'up')}: symlink loop`))).toBe(true);
  });

  it('refuses a file in one layer where the other has a directory', () => {
    const t = tempDir();
    put(join(t, 'base'), 'skills', 'file');
    put(join(t, 'own'), 'skills/x.md');
    expect(() =>
      scanLayers([
        { name: 'baseline', root: join(t, 'base') },
        { name: 'to_home', root: join(t, 'own') },
      ]),
    ).toThrow(/is a directory, but baseline has a file at skills/);
  });
});
