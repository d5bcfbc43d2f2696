import { describe, expect, it } from 'vitest';
import {
  assertNoMarkers,
  MARKER_END,
  MARKER_START,
  mergeManaged,
  splitManaged,
} from './markers.ts';
import { appErrorOf as thrown } from '../../test/support/errors.ts';

const F = '/h/CLAUDE.md';

const block = (body: string): string => `${MARKER_START}\n${body}${MARKER_END}\n`;

describe('mergeManaged', () => {
  it('wraps the generated content in markers for a new file', () => {
    expect(mergeManaged(undefined, 'hello', F)).toEqual({ text: block('hello\n'), warnings: [] });
    expect(mergeManaged(undefined, undefined, F).text).toBeUndefined();
  });

  it('replaces the block and keeps what surrounds it byte for byte', () => {
    const existing = `my head\n${block('old\nstuff\n')}notes of the agent\n\n  indented\n`;
    const r = mergeManaged(existing, 'new\n', F);
    expect(r.text).toBe(`my head\n${block('new\n')}notes of the agent\n\n  indented\n`);
    expect(r.warnings).toEqual([]);
  });

  it('is idempotent', () => {
    const once = mergeManaged(`${block('a\n')}tail`, 'b', F).text!;
    expect(mergeManaged(once, 'b', F).text).toBe(once);
  });

  it('empties the block when no source provides the file, keeping the tail', () => {
    expect(mergeManaged(`${block('gone\n')}mine\n`, undefined, F).text).toBe(`${block('')}mine\n`);
  });

  it('keeps a marker-less file below the block and warns', () => {
    const r = mergeManaged('written by hand\n', 'gen\n', F);
    expect(r.text).toBe(`${block('gen\n')}written by hand\n`);
    expect(r.warnings[0]).toContain(`${F}: had no sac markers`);
  });

  it('does not duplicate a verbatim earlier copy of the source', () => {
    expect(mergeManaged('gen\n', 'gen\n', F)).toEqual({ text: block('gen\n'), warnings: [] });
  });

  it('leaves a marker-less file alone when there is no source', () => {
    expect(mergeManaged('theirs\n', undefined, F).text).toBeUndefined();
  });

  it('accepts a marker line with other comment text and CRLF endings', () => {
    const s = splitManaged(
      'a\r\n<!-- sac:managed:start -->\r\nx\r\n<!--sac:managed:end-->\r\nz',
      F,
    );
    expect(s).toEqual({ head: 'a\r\n', managed: 'x\r\n', tail: 'z' });
  });
});

describe('malformed markers are located errors', () => {
  it.each([
    [
      `${MARKER_START}\nx\n${MARKER_START}\n${MARKER_END}\n`,
      3,
      /duplicated sac start marker \(also on line 1\)/,
    ],
    [`${MARKER_START}\n${MARKER_END}\n${MARKER_END}\n`, 3, /duplicated sac end marker/],
    [`x\n${MARKER_END}\n`, 2, /end marker without its start marker/],
    [`x\ny\n${MARKER_START}\n`, 3, /start marker without its end marker/],
    [`${MARKER_END}\n${MARKER_START}\n`, 1, /end marker comes before the start marker \(line 2\)/],
    [`ok\n<!-- sac:managed:start oops\n`, 2, /must be an HTML comment alone on its line/],
    [`text <!-- sac:managed:end --> more\n`, 1, /must be an HTML comment alone/],
  ])('%#', (text, line, message) => {
    const err = thrown(() => mergeManaged(text, 'gen', F));
    expect(err.code).toBe('WORKSPACE_INVALID');
    expect(err.message).toMatch(new RegExp(`^${F}:${line}: `));
    expect(err.message).toMatch(message);
    expect(err.details).toMatchObject({ file: F, line });
    expect(err.hint).toContain('exactly one start and one end marker');
  });
});

describe('assertNoMarkers', () => {
  it('refuses markers in a source file, at their line', () => {
    expect(() => assertNoMarkers('plain\n', '/t/CLAUDE.md')).not.toThrow();
    const err = thrown(() => assertNoMarkers(`a\n${MARKER_START}\n`, '/t/CLAUDE.md'));
    expect(err.message).toMatch(/^\/t\/CLAUDE\.md:2: a to_home file must not contain sac markers/);
  });
});
