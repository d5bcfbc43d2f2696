import { describe, expect, it } from 'vitest';
import { interpolate, interpolateJson } from './interpolate.ts';

const vars = { name: 'alpha', labels: { role: 'reviewer', 'team.x': 'core "q"' } };

describe('interpolate', () => {
  it('replaces the name and labels', () => {
    expect(interpolate('I am ${metadata.name}, ${metadata.labels.role}.', vars)).toEqual({
      text: 'I am alpha, reviewer.',
      unresolved: [],
    });
    expect(interpolate('${metadata.labels.team.x}', vars).text).toBe('core "q"');
  });

  it('never expands host environment variables', () => {
    const text = 'key=${ANTHROPIC_API_KEY} home=$HOME ${HOME} ${metadata}';
    expect(interpolate(text, vars)).toEqual({ text, unresolved: [] });
  });

  it('reports unknown placeholders with their line and leaves them', () => {
    const r = interpolate('a\nb ${metadata.labels.nope}\n${metadata.uid}', vars);
    expect(r.text).toBe('a\nb ${metadata.labels.nope}\n${metadata.uid}');
    expect(r.unresolved).toEqual([
      { placeholder: '${metadata.labels.nope}', line: 2 },
      { placeholder: '${metadata.uid}', line: 3 },
    ]);
  });

  it('$${...} escapes a placeholder', () => {
    expect(interpolate('write $${metadata.name} to get ${metadata.name}', vars).text).toBe(
      'write ${metadata.name} to get alpha',
    );
  });
});

describe('interpolateJson', () => {
  it('interpolates string values only, keeping JSON valid whatever a label holds', () => {
    const unresolved: string[] = [];
    const out = interpolateJson(
      { '${metadata.name}': { args: ['--team', '${metadata.labels.team.x}', 3, null] }, n: true },
      vars,
      unresolved,
    );
    expect(out).toEqual({ '${metadata.name}': { args: ['--team', 'core "q"', 3, null] }, n: true });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
    expect(unresolved).toEqual([]);
  });
});
