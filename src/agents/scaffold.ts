/**
 * `sac agents new`: a fresh agent directory with a spec that validates and a `to_home/` to fill.
 * @module
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import { type Env, gitRoot, layout, sacRoot } from '../paths.ts';
import { assertAgentName } from '../spec/names.ts';

export interface NewAgentOptions {
  /** `user` (the sac root) or `project` (the git root's `.scitex/agent-container`). */
  in?: 'user' | 'project';
  runtime?: 'bwrap' | 'apptainer' | 'host';
  model?: string;
  env?: Env;
  cwd?: string;
}

export interface NewAgentResult {
  name: string;
  scope: 'user' | 'project';
  agentDir: string;
  specPath: string;
  files: string[];
}

/** Absolute path of the editor schema shipped with this sac. */
export function schemaFile(): string {
  return fileURLToPath(new URL('../../schema/agent-spec.schema.json', import.meta.url));
}

/** The spec text `sac agents new` writes. */
export function scaffoldSpec(name: string, runtime: string, model: string): string {
  const image =
    runtime === 'apptainer'
      ? '  apptainer:\n    image: ~/.scitex/agent-container/containers/sac-base.sif\n\n'
      : '';
  return `# yaml-language-server: $schema=${schemaFile()}
# Agent "${name}". Check it with \`sac agents check ${name}\`; see every field and its default
# with \`sac agents explain ${name}\`. Reference: docs/spec-reference.md.
apiVersion: scitex-agent-container/v3
kind: Agent

metadata:
  labels:
    description: "${name}: describe what this agent is for"
    capabilities: ""

spec:
  runtime: ${runtime}

${image}  claude:
    model: ${model}
    flags:
      - --dangerously-skip-permissions

  startup_prompts:
    - "Introduce yourself in one sentence."

  restart:
    policy: on-failure
`;
}

const CLAUDE_MD = (name: string): string => `# ${name}

Standing instructions for this agent. sac copies \`to_home/\` into the agent's own home
(\`/home/agent\` inside its sandbox) at every start, and this file reaches the model as the
agent's instructions. Skills go in \`to_home/.claude/skills/<skill>/SKILL.md\`.
`;

/** Create `<scope>/agents/NAME/{spec.yaml,to_home/CLAUDE.md}`; refuses to overwrite anything. */
export function newAgent(name: string, opts: NewAgentOptions = {}): NewAgentResult {
  assertAgentName(name);
  const env = opts.env ?? process.env;
  const scope = opts.in ?? 'user';
  let root: string;
  if (scope === 'project') {
    const top = gitRoot(opts.cwd ?? process.cwd());
    if (!top) {
      throw new AppError('USAGE', 'not inside a git repository, so there is no project scope', {
        hint: 'run it inside your project, or use --in user',
      });
    }
    root = join(top, '.scitex', 'agent-container');
  } else {
    root = sacRoot(env);
  }
  const agentsDir = layout(root).agents;
  const agentDir = join(agentsDir, name);
  mkdirSync(agentsDir, { recursive: true });
  // Build in a temporary sibling and rename: the agent appears whole or not at all.
  const tmp = join(agentsDir, `.${name}.new-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'to_home'), { recursive: true });
  writeFileSync(
    join(tmp, 'spec.yaml'),
    scaffoldSpec(name, opts.runtime ?? 'bwrap', opts.model ?? 'sonnet'),
  );
  writeFileSync(join(tmp, 'to_home', 'CLAUDE.md'), CLAUDE_MD(name));
  try {
    // rename(2) onto an existing non-empty directory fails, so an agent is never overwritten
    mkdirSync(agentDir);
    renameSync(tmp, agentDir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') {
      throw new AppError(
        'AGENT_EXISTS',
        `agent ${JSON.stringify(name)} already exists at ${agentDir}`,
        {
          hint: 'choose another name, or edit the existing spec',
          details: { agentDir },
        },
      );
    }
    throw err;
  }
  return {
    name,
    scope,
    agentDir,
    specPath: join(agentDir, 'spec.yaml'),
    files: [join(agentDir, 'spec.yaml'), join(agentDir, 'to_home', 'CLAUDE.md')],
  };
}
