import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors.ts';
import { canonicalJson, mergeMcp, parseMcpJson } from './mcp.ts';

const src = (
  label: string,
  servers: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) => ({
  label,
  file: `/${label}.json`,
  doc: { ...extra, mcpServers: servers },
});

describe('mergeMcp', () => {
  it('unions servers from every source, in order', () => {
    const r = mergeMcp([
      src('baseline', { a: { command: 'a' } }),
      src('to_home', { b: { type: 'http', url: 'http://x' } }),
      src('spec', { c: { command: 'c', args: ['1'] } }),
    ]);
    expect(r.doc).toEqual({
      mcpServers: {
        a: { command: 'a' },
        b: { type: 'http', url: 'http://x' },
        c: { command: 'c', args: ['1'] },
      },
    });
    expect(r.origin).toEqual({ a: 'baseline', b: 'to_home', c: 'spec' });
  });

  it('accepts the same server defined identically twice (key order does not matter)', () => {
    const r = mergeMcp([
      src('baseline', { a: { command: 'x', args: ['1'] } }),
      src('to_home', { a: { args: ['1'], command: 'x' } }),
    ]);
    expect(Object.keys(r.doc.mcpServers)).toEqual(['a']);
  });

  it('fails naming both sources when one name has two definitions', () => {
    let err: unknown;
    try {
      mergeMcp([src('baseline', { a: { command: 'x' } }), src('spec', { a: { command: 'y' } })]);
    } catch (e) {
      err = e;
    }
    expect(isAppError(err) && err.code).toBe('WORKSPACE_INVALID');
    expect((err as Error).message).toBe(
      '/spec.json: MCP server "a" is defined differently in baseline and in spec',
    );
  });

  it('deep-merges other top-level keys, later sources winning', () => {
    const r = mergeMcp([
      src('baseline', {}, { x: { a: 1, b: 1 } }),
      src('to_home', {}, { x: { b: 2 } }),
    ]);
    expect(r.doc).toEqual({ x: { a: 1, b: 2 }, mcpServers: {} });
  });
});

describe('parseMcpJson', () => {
  it('locates a syntax error', () => {
    expect(() => parseMcpJson('{\n  "mcpServers": {,\n}', '/t/.mcp.json')).toThrow(
      /^\/t\/\.mcp\.json:2: not valid JSON/,
    );
  });

  it('checks the shape', () => {
    expect(() => parseMcpJson('[]', '/f')).toThrow(/expected a JSON object/);
    expect(() => parseMcpJson('{"mcpServers": 1}', '/f')).toThrow(/mcpServers must be an object/);
    expect(() => parseMcpJson('{"mcpServers": {"a": "x"}}', '/f')).toThrow(/mcpServers.a must be/);
    expect(parseMcpJson('{}', '/f')).toEqual({});
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 1 } })).toBe(
      '{"a":{"c":1,"d":[{"y":2,"z":1}]},"b":1}',
    );
  });
});
