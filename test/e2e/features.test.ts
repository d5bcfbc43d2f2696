/**
 * Spec features end to end: startup_commands inside the sandbox, the host runtime, autonomous
 * mode, stall detection, MCP server environments kept off command lines, hooks.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { claudeBinaryPath } from '../../src/plan/claude-binary.ts';
import { describe, expect, it } from 'vitest';
import { e2e, e2eSkipReason, json, waitFor } from './harness.ts';

const skip = e2eSkipReason();

/** The host runtime needs the checkout (the Claude Code binary) traversable by the agent's uid. */
function checkoutTraversable(): boolean {
  const bin = claudeBinaryPath();
  if (!bin) return false;
  for (let dir = dirname(bin); dir !== '/'; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
  }
  return true;
}
const hostRuntimeSkip = !skip && !checkoutTraversable();
if (hostRuntimeSkip)
  console.log('skipping the host-runtime test: the sac checkout is not traversable by other uids');

interface Status {
  liveness: string;
  state: string;
  exit_reason: string | null;
  runtime: string;
  isolated: boolean;
}

function cmdlinesContaining(needle: string): string[] {
  const hits: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(needle)) hits.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`);
    } catch {
      // gone
    }
  }
  return hits;
}

describe.skipIf(!!skip)('spec features', () => {
  it('runs startup_commands inside the sandbox, as the agent, before the session; hooks on the host', async () => {
    const t = await e2e();
    const hostMarker = join(t.env.SAC_HOME!, 'hook-ran');
    t.agent(
      'prepared',
      `  startup_commands:
    - command: "id -u > /work/prepared-by && echo prepared"
  hooks:
    pre_start: ["echo pre-start-hook > ${hostMarker}"]
  startup_prompts: ["USE_BASH: cat /work/prepared-by"]
`,
    );
    expect((await t.sac(['agents', 'start', 'prepared'])).code).toBe(0);
    await waitFor('tool result', () => t.transcript('prepared').some((r) => r.type === 'result'));
    const result = t.transcript('prepared').find((r) => r.type === 'tool_result');
    expect(String(result?.content)).toMatch(/^610\d\d/);
    expect(readFileSync(hostMarker, 'utf8')).toBe('pre-start-hook\n');
    const log = readFileSync(join(t.runtimeDir('prepared'), 'supervisor.log'), 'utf8');
    expect(log).toMatch(/startup_commands\[0\] \| prepared/);
  });

  it('a failing startup command fails the start with its output', async () => {
    const t = await e2e();
    t.agent(
      'unprepared',
      '  startup_commands:\n    - command: "echo cannot-prepare >&2; exit 3"\n',
    );
    const r = await t.sac(['agents', 'start', 'unprepared']);
    expect(r.code).toBe(19);
    expect(r.stderr).toMatch(/startup_commands\[0\] failed with exit code 3/);
    expect(r.stderr).toMatch(/cannot-prepare/);
  });

  it.skipIf(hostRuntimeSkip)(
    'runs the host runtime without isolation but, as root, as the agent uid; says so loudly',
    async () => {
      const t = await e2e();
      t.agent('hosted', '  startup_prompts: ["USE_BASH: id -u"]\n');
      // the harness writes runtime: bwrap; switch it to host
      const spec = join(t.env.SAC_HOME!, 'agents/hosted/spec.yaml');
      writeFileSync(spec, readFileSync(spec, 'utf8').replace('runtime: bwrap', 'runtime: host'));
      // the agent's real uid must be able to traverse to its home: no sandbox mounts it there
      mkdirSync(join(t.env.SAC_HOME!, 'runtime'), { recursive: true });
      for (const d of [dirname(t.env.SAC_HOME!), t.env.SAC_HOME!, join(t.env.SAC_HOME!, 'runtime')])
        chmodSync(d, 0o711);
      const explain = await t.sac(['agents', 'explain', 'hosted']);
      expect(explain.stdout).toMatch(/NO ISOLATION/);
      expect((await t.sac(['agents', 'start', 'hosted'])).code).toBe(0);
      await waitFor('tool result', () =>
        t.transcript('hosted').some((r) => r.type === 'tool_result'),
      );
      const idOut = String(t.transcript('hosted').find((r) => r.type === 'tool_result')?.content);
      expect(idOut).toMatch(/^610\d\d/);
      const s = json<Status>(await t.sac(['--json', 'agents', 'status', 'hosted']));
      expect(s).toMatchObject({ runtime: 'host', isolated: false });
      expect((await t.sac(['agents', 'status'])).stdout).toMatch(/hosted\s+\S+ \[NO ISOLATION\]/);
    },
  );

  it('autonomous: kicks until the reply contains drive_until, then a one-shot agent exits', async () => {
    const t = await e2e();
    t.agent(
      'driver',
      `  residency: one-shot
  startup_prompts: ["start the job"]
  autonomous:
    enabled: true
    drive_until: FINISHED
    kick_text: "Continue, then say FINISHED"
    idle_kick_after_s: 1
    max_turns: 5
`,
    );
    expect((await t.sac(['agents', 'start', 'driver'])).code).toBe(0);
    await waitFor('one-shot exit', () => t.heartbeat('driver').state === 'stopped', 30_000);
    const users = t
      .transcript('driver')
      .filter((r) => r.type === 'user')
      .map((r) => r.text);
    expect(users).toEqual(['start the job', 'Continue, then say FINISHED']);
    const s = json<Status>(await t.sac(['--json', 'agents', 'status', 'driver']));
    expect(s).toMatchObject({ liveness: 'stopped', exit_reason: 'oneshot-complete' });
  });

  it('reports a stalled turn and interrupts it (health.on_stall: interrupt)', async () => {
    const t = await e2e();
    t.agent(
      'staller',
      '  health:\n    stall_after: 2\n    on_stall: interrupt\n  startup_prompts: ["hi"]\n',
    );
    expect((await t.sac(['agents', 'start', 'staller'])).code).toBe(0);
    const r = json<{ state: string }>(
      await t.sac(['--json', 'agents', 'send', 'staller', 'SLOW long answer']),
    );
    expect(r.state).toBe('interrupted');
    const events = t
      .transcript('staller')
      .filter((x) => x.type === 'supervisor')
      .map((x) => x.event);
    expect(events).toContain('turn-stalled');
    expect(events).toContain('turn-interrupted');
    const after = await t.sac(['agents', 'send', 'staller', 'after the stall']);
    expect(after.stdout).toBe('FAKE_REPLY: after the stall\n');
  });

  it('keeps MCP server environments off every command line', async () => {
    const t = await e2e();
    const secret = 'mcp-secret-value-55e1f0';
    t.agent(
      'mcp',
      `  mcp_servers:
    quitter:
      command: /bin/sh
      args: ["-c", "exit 0"]
      env: {MCP_TOKEN: "${secret}"}
  startup_prompts: ["hello"]
`,
    );
    expect((await t.sac(['agents', 'start', 'mcp'])).code).toBe(0);
    await waitFor('answered', () => t.transcript('mcp').some((r) => r.type === 'result'));
    expect(cmdlinesContaining(secret)).toEqual([]);
  });
});
