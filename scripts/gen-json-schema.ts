/**
 * Writes schema/agent-spec.schema.json (the editor schema for spec.yaml) from src/spec/schema.ts.
 *
 *   npx tsx scripts/gen-json-schema.ts           # write it
 *   npx tsx scripts/gen-json-schema.ts --check   # exit 1 when the committed file is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentSpecJsonSchema } from '../src/spec/schema.ts';

export const SCHEMA_FILE = join(import.meta.dirname, '..', 'schema', 'agent-spec.schema.json');

/** The file's exact text: stable key order (declaration order), two-space indent, final newline. */
export function renderSchema(): string {
  return `${JSON.stringify(agentSpecJsonSchema(), null, 2)}\n`;
}

function main(argv: readonly string[]): number {
  const text = renderSchema();
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(SCHEMA_FILE, 'utf8');
    } catch {
      // a missing file is simply out of date
    }
    if (current !== text) {
      console.error(`${SCHEMA_FILE} is out of date: run npx tsx scripts/gen-json-schema.ts`);
      return 1;
    }
    return 0;
  }
  writeFileSync(SCHEMA_FILE, text);
  console.log(`wrote ${SCHEMA_FILE}`);
  return 0;
}

if (process.argv[1] && import.meta.filename === process.argv[1])
  process.exitCode = main(process.argv.slice(2));
