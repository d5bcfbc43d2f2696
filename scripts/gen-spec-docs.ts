/**
 * Regenerates the field reference in docs/spec-reference.md from the schemas' own descriptions,
 * so the docs cannot drift from the code. Only the text between the `<!-- generated:NAME:start -->`
 * and `<!-- generated:NAME:end -->` markers is replaced; the prose around it is hand-written.
 *
 *   npx tsx scripts/gen-spec-docs.ts           # rewrite the generated sections
 *   npx tsx scripts/gen-spec-docs.ts --check   # exit 1 when the committed file is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { hostConfigJsonSchema } from '../src/spec/host-config.ts';
import {
  LEGACY_API_VERSION_HINT,
  LEGACY_RUNTIMES,
  METADATA_NAME_MESSAGE,
  RELOCATED_SPEC_FIELDS,
  REMOVED_SPEC_FIELDS,
} from '../src/spec/legacy.ts';
import { RULE_CODES } from '../src/spec/rules.ts';
import { agentSpecFields, type FieldDoc, walkFields } from '../src/spec/schema.ts';

export const DOCS_FILE = join(import.meta.dirname, '..', 'docs', 'spec-reference.md');

function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** Prose from descriptions: `<name>` would be read as an HTML tag, `*` as emphasis. */
function md(text: string): string {
  return text.replace(/[<*]/g, (c) => `\\${c}`);
}

function renderDefault(f: FieldDoc): string {
  if (!f.hasDefault) return f.required ? 'required' : 'no default';
  return `default ${code(JSON.stringify(f.default))}`;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('.');
  return i < 0 ? '' : path.slice(0, i);
}

function isUnder(path: string, prefix: string): boolean {
  return path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[]`);
}

/** Fields grouped by parent object, skipping everything below an ignored key. */
function groups(fields: readonly FieldDoc[]): Map<string, FieldDoc[]> {
  const ignoredRoots = fields.filter((f) => f.ignored !== undefined).map((f) => f.path);
  const out = new Map<string, FieldDoc[]>();
  for (const f of fields) {
    if (ignoredRoots.some((root) => isUnder(f.path, root))) continue;
    const parent = parentOf(f.path);
    const list = out.get(parent) ?? [];
    list.push(f);
    out.set(parent, list);
  }
  return out;
}

function renderField(f: FieldDoc): string {
  const tag = f.ignored !== undefined ? ' · **accepted, ignored**' : '';
  return `- **${code(f.path)}** · ${code(f.type)} · ${renderDefault(f)}${tag}  \n  ${md(f.description)}`;
}

/** The field list of one schema, one section per parent object. */
export function renderFields(fields: readonly FieldDoc[], rootTitle: string): string {
  const parts: string[] = [];
  for (const [parent, list] of groups(fields)) {
    parts.push(
      `#### ${parent === '' ? rootTitle : code(parent)}\n\n${list.map(renderField).join('\n')}`,
    );
  }
  return parts.join('\n\n');
}

/** The accepted-but-ignored keys, with why and which sub-keys load. */
export function renderIgnored(fields: readonly FieldDoc[]): string {
  const rows = fields
    .filter((f) => f.ignored !== undefined)
    .map((f) => {
      const children = fields
        .filter((c) => parentOf(c.path) === f.path || parentOf(c.path) === `${f.path}[]`)
        .map((c) => c.path.slice(c.path.lastIndexOf('.') + 1));
      const shape = children.length ? `${code(f.type)}: ${children.join(', ')}` : code(f.type);
      return `| ${code(f.path)} | ${shape.replaceAll('|', '\\|')} | ${md(f.ignored ?? '').replaceAll('|', '\\|')} |`;
    });
  return ['| Key | Accepted shape | Why sac ignores it |', '| --- | --- | --- |', ...rows].join(
    '\n',
  );
}

/** Old spellings and what to write instead. */
export function renderLegacy(): string {
  const cell = (t: string): string => md(t).replaceAll('|', '\\|');
  const rows = [
    ...Object.entries(RELOCATED_SPEC_FIELDS).map(
      ([k, to]) => `| ${code(`spec.${k}`)} | error: moved to ${code(to)} |`,
    ),
    ...Object.entries(REMOVED_SPEC_FIELDS).map(
      ([k, msg]) => `| ${code(`spec.${k}`)} | error: ${cell(msg)} |`,
    ),
    `| ${code('metadata.name')} | error: ${cell(METADATA_NAME_MESSAGE)} |`,
    `| ${code('apiVersion: cld-agent/v1')}, v2 | error: ${cell(LEGACY_API_VERSION_HINT)} |`,
    ...Object.entries(LEGACY_RUNTIMES).map(
      ([k, msg]) => `| ${code(`runtime: ${k}`)} | warning: ${cell(msg)} |`,
    ),
  ];
  return ['| Written | Result |', '| --- | --- |', ...rows].join('\n');
}

/** The codes `checkRules` can report. */
export function renderRuleCodes(): string {
  const rows = Object.entries(RULE_CODES).map(([c, what]) => `| ${code(c)} | ${what} |`);
  return ['| Code | Raised for |', '| --- | --- |', ...rows].join('\n');
}

export function hostConfigFields(): FieldDoc[] {
  return walkFields(hostConfigJsonSchema());
}

/** Replace the text between the markers of `name`. */
export function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- generated:${name}:start -->`;
  const end = `<!-- generated:${name}:end -->`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error(`docs: missing markers ${start} … ${end}`);
  return `${doc.slice(0, i + start.length)}\n\n${body}\n\n${doc.slice(j)}`;
}

/** The whole docs file as it should be, formatted with the repository's prettier config. */
export async function renderDocs(current: string): Promise<string> {
  const spec = agentSpecFields();
  let doc = current;
  doc = replaceSection(doc, 'spec-fields', renderFields(spec, 'Document'));
  doc = replaceSection(doc, 'ignored', renderIgnored(spec));
  doc = replaceSection(doc, 'legacy', renderLegacy());
  doc = replaceSection(doc, 'rule-codes', renderRuleCodes());
  doc = replaceSection(doc, 'host-config', renderFields(hostConfigFields(), '`config.yaml`'));
  const options = (await prettier.resolveConfig(DOCS_FILE)) ?? {};
  return prettier.format(doc, { ...options, filepath: DOCS_FILE });
}

async function main(argv: readonly string[]): Promise<number> {
  const current = readFileSync(DOCS_FILE, 'utf8');
  const next = await renderDocs(current);
  if (argv.includes('--check')) {
    if (next !== current) {
      console.error(`${DOCS_FILE} is out of date: run npx tsx scripts/gen-spec-docs.ts`);
      return 1;
    }
    return 0;
  }
  writeFileSync(DOCS_FILE, next);
  console.log(`wrote ${DOCS_FILE}`);
  return 0;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
