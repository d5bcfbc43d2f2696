/**
 * Spec loading: YAML text → every problem at once, each located at its node → a typed spec with
 * every default resolved. Expected failures are values (`ok: false`), never throws.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { AppError, type SpecIssue } from '../errors.ts';
import { legacyKeyHint, legacyValueHint } from './legacy.ts';
import { dotPath, locate, type PathSegment, yamlMessage } from './locate.ts';
import { checkRules } from './rules.ts';
import { type AgentSpec, AgentSpecSchema, ignoredFieldPaths } from './schema.ts';
import { knownKeysAt, suggest } from './schema-walk.ts';

export type ParseResult =
  | { ok: true; spec: AgentSpec; issues: SpecIssue[]; sha256: string }
  | { ok: false; issues: SpecIssue[]; sha256: string };

/** A problem found by a check, before it is located in the file. */
export interface RawIssue {
  severity: 'error' | 'warning';
  code: string;
  path: PathSegment[];
  message: string;
  hint?: string;
  /** Point at the key (unknown, relocated, ignored keys) rather than its value. */
  at?: 'key' | 'value';
}

function located(file: string, doc: Document, counter: LineCounter, issue: RawIssue): SpecIssue {
  const pos = locate(doc, counter, issue.path, issue.at ?? 'value');
  return {
    severity: issue.severity,
    code: issue.code,
    path: dotPath(issue.path),
    message: issue.message,
    ...(issue.hint ? { hint: issue.hint } : {}),
    file,
    ...(pos ? { line: pos.line, col: pos.col } : {}),
  };
}

function zodIssues(error: z.ZodError, raw: unknown): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(path);
      for (const key of issue.keys) {
        const legacy = legacyKeyHint(path, key);
        if (legacy) {
          out.push({
            severity: 'error',
            code: legacy.code,
            path: [...path, key],
            message: legacy.message,
            hint: legacy.hint,
            at: 'key',
          });
          continue;
        }
        const guess = suggest(key, known);
        const extensionsHint =
          path.length === 1 && path[0] === 'spec'
            ? 'tool-specific data belongs under spec.extensions'
            : undefined;
        const hint = guess ? `did you mean "${guess}"?` : extensionsHint;
        out.push({
          severity: 'error',
          code: 'unknown_key',
          path: [...path, key],
          message: `unknown key "${key}"`,
          ...(hint ? { hint } : {}),
          at: 'key',
        });
      }
      continue;
    }
    const value = getIn(raw, path);
    const legacy = legacyValueHint(path, value);
    if (legacy) {
      out.push({
        severity: 'error',
        code: legacy.code,
        path,
        message: legacy.message,
        hint: legacy.hint,
      });
      continue;
    }
    out.push({
      severity: 'error',
      code: issue.code,
      path,
      message:
        issue.code === 'invalid_type' && value === undefined
          ? `missing required field (${issue.message})`
          : issue.message,
    });
  }
  return out;
}

/** "accepted, ignored" warnings for compatibility keys that are present in the spec. */
function ignoredIssues(raw: unknown): RawIssue[] {
  const out: RawIssue[] = [];
  const warned: string[] = [];
  for (const [dotted, reason] of ignoredFieldPaths()) {
    // list-item keys and keys under an already-warned parent add nothing
    if (dotted.includes('[]') || warned.some((w) => dotted.startsWith(w + '.'))) continue;
    const path = dotted.split('.');
    if (getIn(raw, path) === undefined) continue;
    warned.push(dotted);
    out.push({
      severity: 'warning',
      code: 'ignored',
      path,
      message: `accepted, ignored: ${reason}`,
      at: 'key',
    });
  }
  return out;
}

function getIn(value: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

function sortIssues(issues: SpecIssue[]): SpecIssue[] {
  return issues.sort(
    (a, b) =>
      (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) ||
      (a.col ?? 0) - (b.col ?? 0),
  );
}

/** Parse and validate spec text. `file` is only used to label issues. */
export function parseSpecText(text: string, file: string): ParseResult {
  const sha256 = createHash('sha256').update(text).digest('hex');
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });

  const syntax = [...doc.errors, ...doc.warnings].map((e): SpecIssue => {
    const pos = e.linePos?.[0];
    return {
      severity: doc.errors.includes(e) ? 'error' : 'warning',
      code: 'yaml_syntax',
      path: '',
      message: yamlMessage(e.message),
      file,
      ...(pos ? { line: pos.line, col: pos.col } : {}),
    };
  });
  if (doc.errors.length > 0) return { ok: false, issues: sortIssues(syntax), sha256 };

  const raw: unknown = doc.toJS();
  if (!isMap(doc.contents)) {
    return {
      ok: false,
      sha256,
      issues: [
        {
          severity: 'error',
          code: 'invalid_type',
          path: '',
          message: 'a spec must be a YAML mapping with apiVersion, kind and spec',
          file,
          line: 1,
          col: 1,
        },
      ],
    };
  }

  const rawIssues: RawIssue[] = ignoredIssues(raw);
  const parsed = AgentSpecSchema.safeParse(raw);
  if (!parsed.success) rawIssues.push(...zodIssues(parsed.error, raw));
  else rawIssues.push(...checkRules(parsed.data, raw));

  const issues = sortIssues([...syntax, ...rawIssues.map((i) => located(file, doc, counter, i))]);
  if (parsed.success && !issues.some((i) => i.severity === 'error')) {
    return { ok: true, spec: parsed.data, issues, sha256 };
  }
  return { ok: false, issues, sha256 };
}

/** Read and validate a spec file. A file that cannot be read is an AppError; a bad spec is a value. */
export function parseSpecFile(path: string): ParseResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AppError(
      code === 'ENOENT' ? 'AGENT_NOT_FOUND' : 'FAILED',
      `cannot read spec ${path}: ${code ?? String(err)}`,
      { cause: err },
    );
  }
  return parseSpecText(text, path);
}
