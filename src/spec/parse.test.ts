import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpecText } from './parse.ts';

const example = (name: string): string =>
  readFileSync(
    fileURLToPath(new URL(`../../examples/agents/${name}/spec.yaml`, import.meta.url)),
    'utf8',
  );

const MANY_FAULTS = `apiVersion: scitex-agent-container/v3
kind: Agent
spec:
  image: old.sif
  bogus_key: 1
  restart:
    policy: sometimes
    backoff:
      initial: "thirty"
  claude:
    modle: haiku
`;

describe('parseSpecText', () => {
  it('loads the seed README hello-agent spec unchanged, with every default resolved', () => {
    const r = parseSpecText(example('hello-agent'), 'hello-agent/spec.yaml');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec.spec.claude.model).toBe('haiku');
    expect(r.spec.spec.restart.backoff).toEqual({ initial: 30, max: 300, multiplier: 2 });
    expect(r.spec.spec.a2a.port).toBe('auto');
    expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('reports every fault at once, each located at its node, with hints', () => {
    const r = parseSpecText(MANY_FAULTS, 'bad.yaml');
    expect(r.ok).toBe(false);
    const byPath = Object.fromEntries(r.issues.map((i) => [i.path, i]));
    expect(byPath['spec.image']).toMatchObject({
      code: 'relocated',
      line: 4,
      col: 3,
      hint: 'move it to spec.apptainer.image',
    });
    expect(byPath['spec.bogus_key']).toMatchObject({ code: 'unknown_key', line: 5, col: 3 });
    expect(byPath['spec.restart.policy']).toMatchObject({
      code: 'invalid_value',
      line: 7,
      col: 13,
    });
    expect(byPath['spec.restart.backoff.initial']).toMatchObject({
      code: 'invalid_type',
      line: 9,
      col: 16,
    });
    expect(byPath['spec.claude.modle']).toMatchObject({
      code: 'unknown_key',
      hint: 'did you mean "model"?',
      line: 11,
      col: 5,
    });
    expect(r.issues.every((i) => i.file === 'bad.yaml')).toBe(true);
  });

  it('locates YAML syntax errors', () => {
    const r = parseSpecText('apiVersion: x\nkind: [\n', 'broken.yaml');
    expect(r.ok).toBe(false);
    expect(r.issues[0]).toMatchObject({ code: 'yaml_syntax', severity: 'error', line: 3 });
    expect(r.issues[0]!.message).not.toMatch(/at line/);
  });

  it('refuses duplicate keys', () => {
    const r = parseSpecText(
      'apiVersion: scitex-agent-container/v3\nkind: Agent\nspec: {}\nspec: {}\n',
      'd.yaml',
    );
    expect(r.ok).toBe(false);
    expect(r.issues[0]).toMatchObject({ code: 'yaml_syntax', line: 4 });
  });

  it('explains legacy apiVersions and metadata.name', () => {
    const r = parseSpecText(
      'apiVersion: cld-agent/v1\nkind: Agent\nmetadata:\n  name: x\nspec: {}\n',
      'v1.yaml',
    );
    expect(r.ok).toBe(false);
    const codes = r.issues.map((i) => `${i.path}:${i.code}:${i.line}`);
    expect(codes).toContain('apiVersion:legacy_api_version:1');
    expect(codes).toContain('metadata.name:removed:4');
  });

  it('warns "accepted, ignored" at keys sac does not implement, and still loads', () => {
    const r = parseSpecText(
      'apiVersion: scitex-agent-container/v3\nkind: Agent\nspec:\n  watchdog:\n    enabled: true\n  multiplexer: tmux\n',
      'w.yaml',
    );
    expect(r.ok).toBe(true);
    const warnings = r.issues.filter((i) => i.severity === 'warning');
    expect(warnings.map((w) => [w.path, w.line])).toEqual([
      ['spec.watchdog', 4],
      ['spec.multiplexer', 6],
    ]);
    expect(warnings[0]!.message).toMatch(/^accepted, ignored: /);
  });

  it('refuses a document that is not a mapping', () => {
    const r = parseSpecText('- a\n- b\n', 'list.yaml');
    expect(r.ok).toBe(false);
    expect(r.issues[0]).toMatchObject({ line: 1, col: 1 });
  });

  it('hashes the text so launches can tell when the spec changed', () => {
    const a = parseSpecText(example('minimal-agent'), 'a');
    const b = parseSpecText(example('minimal-agent') + '\n# edited\n', 'a');
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.sha256).not.toBe(b.sha256);
  });
});
