import { describe, expect, it } from 'vitest';
import { compareVersions, findExecutable } from './host.ts';

describe('host helpers', () => {
  it('compares dotted versions numerically', () => {
    expect(compareVersions('0.8.0', '0.8.0')).toBe(0);
    expect(compareVersions('0.10.0', '0.8.0')).toBe(1);
    expect(compareVersions('0.7.9', '0.8')).toBe(-1);
  });

  it('finds executables on a given PATH only', () => {
    expect(findExecutable('sh', '/nonexistent:/bin')).toBe('/bin/sh');
    expect(findExecutable('sh', '/nonexistent')).toBeUndefined();
    expect(findExecutable('sh', '')).toBeUndefined();
  });
});
