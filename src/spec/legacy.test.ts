import { describe, expect, it } from 'vitest';
import {
  LEGACY_RUNTIMES,
  legacyKeyHint,
  legacyValueHint,
  RELOCATED_SPEC_FIELDS,
  REMOVED_SPEC_FIELDS,
} from './legacy.ts';
import { ignoredFieldPaths, agentSpecFields } from './schema.ts';

describe('legacy hints', () => {
  it("relocates image and model with the original's wording", () => {
    expect(legacyKeyHint(['spec'], 'image')).toEqual({
      code: 'relocated',
      message:
        'spec.image is no longer accepted at the top level; move it to spec.apptainer.image (v3 spec realignment §3).',
      hint: 'move it to spec.apptainer.image',
    });
    expect(legacyKeyHint(['spec'], 'model')?.hint).toBe('move it to spec.claude.model');
    expect(legacyKeyHint(['spec'], 'dot_claude')?.message).toContain('Use spec.to_home');
  });

  it('keeps spec.mounts and spec.env valid', () => {
    for (const key of ['mounts', 'env']) {
      expect(RELOCATED_SPEC_FIELDS[key]).toBeUndefined();
      expect(REMOVED_SPEC_FIELDS[key]).toBeUndefined();
      expect(legacyKeyHint(['spec'], key)).toBeUndefined();
    }
  });

  it('names only keys the schema does not accept', () => {
    const accepted = new Set(agentSpecFields().map((f) => f.path));
    for (const key of [
      ...Object.keys(RELOCATED_SPEC_FIELDS),
      ...Object.keys(REMOVED_SPEC_FIELDS),
    ]) {
      expect(accepted.has(`spec.${key}`), key).toBe(false);
    }
  });

  it('points relocations at fields that exist', () => {
    const accepted = new Set(agentSpecFields().map((f) => f.path));
    for (const target of Object.values(RELOCATED_SPEC_FIELDS))
      expect(accepted.has(target), target).toBe(true);
  });

  it('explains removed keys', () => {
    expect(legacyKeyHint(['spec'], 'skills')).toMatchObject({
      code: 'removed',
      message:
        'spec.skills is no longer accepted; skills now live under to_home/.claude/skills/ (§3 Removed).',
    });
    expect(legacyKeyHint(['spec'], 'scheduling')?.message).toContain('Use spec.host');
    expect(legacyKeyHint(['spec'], 'remote')?.code).toBe('removed');
  });

  it('says the name comes from the directory', () => {
    expect(legacyKeyHint(['metadata'], 'name')?.message).toMatch(
      /^metadata\.name is no longer accepted/,
    );
  });

  it('has nothing to say about unknown keys elsewhere', () => {
    expect(legacyKeyHint(['spec'], 'imagee')).toBeUndefined();
    expect(legacyKeyHint(['spec', 'claude'], 'image')).toBeUndefined();
    expect(legacyKeyHint([], 'name')).toBeUndefined();
  });

  it('recognises v1 and v2 apiVersions', () => {
    for (const v of ['cld-agent/v1', 'cld-agent/v2', 'scitex-agent-container/v2']) {
      expect(legacyValueHint(['apiVersion'], v)?.code).toBe('legacy_api_version');
    }
    expect(legacyValueHint(['apiVersion'], 'something/v9')).toBeUndefined();
  });

  it('explains dead runtime and health values', () => {
    expect(legacyValueHint(['spec', 'runtime'], 'docker')?.hint).toContain('runtime: bwrap');
    expect(legacyValueHint(['spec', 'health', 'method'], 'multiplexer-alive')?.hint).toContain(
      'sdk-alive',
    );
    expect(legacyValueHint(['spec', 'claude', 'provider'], 'codex')?.hint).toContain('base_url');
    expect(legacyValueHint(['spec', 'runtime'], 'bwrap')).toBeUndefined();
  });

  it('maps both later launch modes', () => {
    expect(Object.keys(LEGACY_RUNTIMES).sort()).toEqual(['claude-agent-sdk', 'tui']);
    expect(LEGACY_RUNTIMES.tui).toContain('interactive driver is not available yet');
  });

  it('never overlaps with accepted-but-ignored keys', () => {
    for (const key of ignoredFieldPaths().keys()) {
      const [, top] = key.split('.');
      if (top !== undefined) expect(legacyKeyHint(['spec'], top), key).toBeUndefined();
    }
  });
});
