/** delete, forget, dry-run, and sandbox.network: none (the relay enters as a unix socket). */
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { e2e, e2eSkipReason, json, waitFor } from './harness.ts';

const skip = e2eSkipReason();

describe.skipIf(!!skip)('agent administration', () => {
  it('reaches the model with sandbox.network: none, where the sandbox has no network at all', async () => {
    const t = await e2e();
    t.agent(
      'offline',
      '  sandbox:\n    network: none\n  startup_prompts: ["USE_BASH: cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d \' \'"]\n',
    );
    expect((await t.sac(['agents', 'start', 'offline'])).code).toBe(0);
    await waitFor('tool result', () =>
      t.transcript('offline').some((r) => r.type === 'tool_result'),
    );
    const ifaces = String(
      t.transcript('offline').find((r) => r.type === 'tool_result')?.content,
    ).trim();
    expect(ifaces).toBe('lo');
    const r = await t.sac(['agents', 'send', 'offline', 'still reachable?']);
    expect(r).toMatchObject({ code: 0, stdout: 'FAKE_REPLY: still reachable?\n' });
    expect(t.fake.requests.every((x) => x.tokenOk === true)).toBe(true);
  });

  it('keeps the agent from rewriting its own spec when its workdir is its agent directory', async () => {
    const t = await e2e();
    const dir = t.agent(
      'selfish',
      '  workdir: .\n  startup_prompts: ["USE_BASH: echo x >> /work/spec.yaml 2>&1; echo y > /work/notes.txt && echo NOTES_OK"]\n',
    );
    // writable by anyone (as a non-root operator's own directory is to the agent): only the
    // read-only bind sac puts over the spec can stop the agent
    chmodSync(dir, 0o777);
    chmodSync(`${dir}/spec.yaml`, 0o666);
    expect((await t.sac(['agents', 'start', 'selfish'])).code).toBe(0);
    await waitFor('tool result', () =>
      t.transcript('selfish').some((r) => r.type === 'tool_result'),
    );
    const out = String(t.transcript('selfish').find((r) => r.type === 'tool_result')?.content);
    expect(out).toMatch(/Read-only file system[\s\S]*NOTES_OK/);
    expect(readFileSync(`${t.env.SAC_HOME}/agents/selfish/spec.yaml`, 'utf8')).not.toMatch(
      /\nx\n?$/,
    );
  });

  it('--dry-run starts nothing; delete removes a running agent entirely; forget drops records only', async () => {
    const t = await e2e();
    const dir = t.agent('doomed', '  startup_prompts: ["hi"]\n');
    const dry = await t.sac(['--json', 'agents', 'start', 'doomed', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(json<{ plans: { runtime: { name: string } }[] }>(dry).plans[0]!.runtime.name).toBe(
      'bwrap',
    );
    expect(existsSync(t.runtimeDir('doomed'))).toBe(false);

    expect((await t.sac(['agents', 'start', 'doomed'])).code).toBe(0);
    expect((await t.sac(['agents', 'forget', 'doomed'])).code).toBe(7);
    expect((await t.sac(['agents', 'delete', 'doomed'])).code).toBe(2);
    const del = await t.sac(['agents', 'delete', 'doomed', '-y']);
    expect(del.code, del.stderr).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(t.runtimeDir('doomed'))).toBe(false);
    expect((await t.sac(['agents', 'status', 'doomed'])).code).toBe(4);

    t.agent('forgettable', '  startup_prompts: ["hi"]\n');
    expect((await t.sac(['agents', 'start', 'forgettable'])).code).toBe(0);
    expect((await t.sac(['agents', 'stop', 'forgettable'])).code).toBe(0);
    const f = json<{ rows: Record<string, number> }>(
      await t.sac(['--json', 'agents', 'forget', 'forgettable']),
    );
    expect(f.rows).toHaveProperty('turns');
    expect(existsSync(t.runtimeDir('forgettable'))).toBe(true);
    const turns = json<{ rows: unknown[] }>(
      await t.sac(['--json', 'db', 'query', 'turns', '--where', 'name=forgettable']),
    );
    expect(turns.rows).toEqual([]);
  });
});
