/**
 * Issue 3 acceptance, end to end: real CLI, real supervisors, real Claude Code in real bwrap,
 * scripted model endpoint on loopback. Runs as root here (as CI does).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../src/sandbox/proc.ts';
import { e2e, e2eSkipReason, json, REAL_TOKEN, waitFor } from './harness.ts';

const skip = e2eSkipReason();
if (skip) console.log(`skipping end-to-end agent tests: ${skip}`);

interface Status {
  name: string;
  state: string;
  liveness: string;
  turns: number;
  tokens: { input: number; output: number };
  restarts: number;
  session_id: string | null;
  exit_reason: string | null;
  last_error: string | null;
  stderr_tail: string[];
  pid: number | null;
  claude_pid: number | null;
}

describe.skipIf(!!skip)('running agents', () => {
  it('starts two agents, answers their startup prompts, sends, tails and reports status', async () => {
    const t = await e2e();
    t.agent('alpha', '  startup_prompts: ["alpha first prompt", "alpha second prompt"]\n', {
      'CLAUDE.md': 'Standing orders: MARKER_TO_HOME_7781\n',
    });
    t.agent('beta', '  startup_prompts: ["beta first prompt"]\n');
    const started = await t.sac(['--json', 'agents', 'start', 'alpha', 'beta']);
    expect(started.code, started.stderr).toBe(0);
    expect(
      json<{ agents: { name: string; ok: boolean }[] }>(started).agents.map((a) => [a.name, a.ok]),
    ).toEqual([
      ['alpha', true],
      ['beta', true],
    ]);

    const reply = await t.sac(['agents', 'send', 'alpha', 'What is 2+2?']);
    expect(reply).toMatchObject({ code: 0, stdout: 'FAKE_REPLY: What is 2+2?\n' });

    // every startup prompt was a turn, in order, answered
    await waitFor(
      'alpha startup turns',
      () => t.transcript('alpha').filter((r) => r.type === 'result').length >= 3,
    );
    const users = t
      .transcript('alpha')
      .filter((r) => r.type === 'user')
      .map((r) => r.text);
    expect(users).toEqual(['alpha first prompt', 'alpha second prompt', 'What is 2+2?']);

    const tail = await t.sac(['agents', 'tail', 'alpha', 'beta', '-n', '50']);
    expect(tail.stdout).toContain('[alpha]');
    expect(tail.stdout).toMatch(/\[alpha\] \S+ \[user\] What is 2\+2\?/);
    expect(tail.stdout).toMatch(/\[alpha\] \S+ \[assistant\] FAKE_REPLY: What is 2\+2\?/);
    expect(tail.stdout).toMatch(/\[beta\] \S+ \[assistant\] FAKE_REPLY: beta first prompt/);

    const status = json<{ agents: Status[] }>(await t.sac(['--json', 'agents', 'status']));
    const byName = Object.fromEntries(status.agents.map((a) => [a.name, a]));
    expect(byName.alpha).toMatchObject({ liveness: 'running', turns: 3 });
    expect(byName.beta).toMatchObject({ liveness: 'running', turns: 1 });
    expect(byName.alpha!.tokens.input).toBeGreaterThan(0);
    const table = await t.sac(['agents', 'status']);
    expect(table.stdout).toMatch(
      /^NAME\s+STATE\s+RUNTIME\s+MODEL\s+UPTIME\s+RESTARTS\s+TURNS\s+TOKENS\s+PORT/,
    );

    // the marker written in to_home/CLAUDE.md reached the model's request
    expect(t.fake.requests.some((r) => r.bodyText.includes('MARKER_TO_HOME_7781'))).toBe(true);
    // the endpoint saw the real token on every request, never the agent's own
    expect(t.fake.requests.length).toBeGreaterThan(0);
    expect(t.fake.requests.every((r) => r.tokenOk === true)).toBe(true);

    const recall = await t.sac(['agents', 'recall', 'alpha']);
    expect(recall.stdout).toContain('3 turn(s)');

    const stopped = await t.sac(['agents', 'stop', 'alpha', 'beta']);
    expect(stopped.code, stopped.stderr).toBe(0);
    for (const name of ['alpha', 'beta']) {
      const s = json<Status>(await t.sac(['--json', 'agents', 'status', name]));
      expect(s).toMatchObject({ liveness: 'stopped', exit_reason: 'operator-stop' });
    }
  });

  it('proves the sandbox from inside, as root: uid, canary, token, cmdlines, mounts', async () => {
    const t = await e2e();
    const { mkdirSync, writeFileSync, chmodSync } = await import('node:fs');
    const data = `${t.env.SAC_HOME}/data`;
    mkdirSync(`${data}/ro`, { recursive: true });
    mkdirSync(`${data}/rw`, { recursive: true });
    writeFileSync(`${data}/ro/canary`, 'ROOT_ONLY_CANARY\n', { mode: 0o600 });
    writeFileSync(`${data}/ro/readable.txt`, 'readable\n', { mode: 0o644 });
    chmodSync(`${data}/rw`, 0o777);
    t.agent(
      'probe',
      `  mounts:\n    - ${data}/ro:/data/ro:ro\n    - ${data}/rw:/data/rw:rw\n  startup_prompts: ["ready?"]\n`,
    );
    expect((await t.sac(['agents', 'start', 'probe'])).code).toBe(0);
    const ask = async (cmd: string): Promise<string> => {
      const r = await t.sac(['agents', 'send', 'probe', `USE_BASH: ${cmd}`]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    const idOut = await ask('id -u; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status');
    expect(idOut).toMatch(/\b610\d\d\b/);
    expect(idOut).toMatch(/CapEff:\s+0000000000000000/);
    expect(idOut).toMatch(/CapBnd:\s+0000000000000000/);
    expect(idOut).toMatch(/NoNewPrivs:\s+1/);
    expect(await ask('cat /data/ro/canary || echo CANARY_DENIED')).toContain('CANARY_DENIED');
    expect(await ask('cat /data/ro/readable.txt')).toContain('readable');
    expect(await ask('echo $HOME; pwd')).toMatch(/\/home\/agent[\s\S]*\/work/);
    expect(await ask(`ls /root /etc/shadow ${t.env.SAC_HOME} 2>&1 | head -5`)).not.toMatch(
      /ROOT_ONLY|state\.db/,
    );
    expect(await ask('env | grep -c sk-ant-e2e || true')).toMatch(/TOOL_RESULT_SEEN: 0/);
    expect(
      await ask(
        // the needle is decoded inside, so the command itself (which Claude Code records) never holds it
        'N=$(echo UkVBTFRPS0VOLTAxMjM0NTY3ODlhYmNkZWY= | base64 -d); grep -rl "$N" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr 2>/dev/null | head -3; echo END',
      ),
    ).toMatch(/TOOL_RESULT_SEEN: END/);
    expect(
      await ask(
        'touch /usr/x 2>&1; touch /etc/x 2>&1; touch /data/ro/x 2>&1; touch /data/rw/ok && echo RW_OK',
      ),
    ).toMatch(/Read-only file system[\s\S]*RW_OK/);
    expect(await ask('unshare -r id 2>&1 || echo USERNS_BLOCKED')).toContain('USERNS_BLOCKED');
    // own pid namespace: no host process is visible (not the supervisor, not the test runner)
    const ps = await ask('ps -e -o comm=');
    expect(ps).not.toMatch(/\bnode\b|vitest|sac-supervisor/);
    // private /tmp: nothing of the host's /tmp
    expect(await ask('ls -A /tmp | grep -c sac- || true')).toMatch(/TOOL_RESULT_SEEN: 0/);
    // the environment is rebuilt from an allow-list: nothing of the operator's
    const envOut = await ask('env | cut -d= -f1 | sort | tr "\\n" " "');
    expect(envOut).not.toMatch(/\b(SAC_HOME|FAKE_KEY|VITEST|npm_config_\w+)\b/);
    expect(envOut).toMatch(/\bHOME\b/);
    expect(await ask('cat /etc/passwd')).toMatch(/agent:x:610\d\d/);

    // no secret on any host command line while the agent runs
    const hits: string[] = [];
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.includes(REAL_TOKEN) || cmd.includes('sac-agent-')) hits.push(`${pid}: ${cmd}`);
      } catch {
        // gone
      }
    }
    expect(hits).toEqual([]);
    expect(t.fake.requests.every((r) => r.tokenOk === true)).toBe(true);
    expect((await t.sac(['agents', 'stop', 'probe'])).code).toBe(0);
  });

  it('restarts Claude Code after kill -9 with the same session; turns sent meanwhile are answered', async () => {
    const t = await e2e();
    t.agent(
      'phoenix',
      '  startup_prompts: ["remember ZEBRA"]\n  restart:\n    policy: on-failure\n    backoff: {initial: 2, max: 4}\n',
    );
    expect((await t.sac(['agents', 'start', 'phoenix'])).code).toBe(0);
    await waitFor('first result', () => t.transcript('phoenix').some((r) => r.type === 'result'));
    const before = t.heartbeat('phoenix');
    expect(before.claude_pid).toBeTruthy();
    const requestsBefore = t.fake.requests.length;
    process.kill(before.claude_pid!, 'SIGKILL');
    // a turn sent during the restart backoff is queued durably and answered after the restart
    await waitFor('restarting', () => t.heartbeat('phoenix').state === 'restarting');
    const during = await t.sac(['agents', 'send', 'phoenix', 'sent during restart']);
    expect(during).toMatchObject({ code: 0, stdout: 'FAKE_REPLY: sent during restart\n' });
    const after = json<Status>(await t.sac(['--json', 'agents', 'status', 'phoenix']));
    expect(after.restarts).toBe(1);
    expect(after.session_id).toBe(before.session_id);
    // the model received the earlier history with the new turn
    const resumed = t.fake.requests
      .slice(requestsBefore)
      .find((r) => r.bodyText.includes('sent during restart'));
    expect(resumed?.bodyText).toContain('remember ZEBRA');
    expect(
      t.transcript('phoenix').some((r) => r.type === 'supervisor' && r.event === 'restarting'),
    ).toBe(true);
    expect((await t.sac(['agents', 'stop', 'phoenix'])).code).toBe(0);
  });

  it('ends failed after max_retries when Claude Code always crashes, with the reason and stderr', async () => {
    const t = await e2e();
    t.agent(
      'crashy',
      '  claude:\n    model: haiku\n    flags: [--dangerously-skip-permissions, --this-flag-does-not-exist]\n    provider: {base_url: "http://127.0.0.1:9", auth_token_env: FAKE_KEY}\n  restart:\n    policy: on-failure\n    max_retries: 2\n    backoff: {initial: 0.2, max: 0.5}\n',
    );
    const r = await t.sac(['agents', 'start', 'crashy']);
    expect(r.code).toBe(19);
    expect(r.stderr).toMatch(/error\[START_FAILED\]/);
    const s = await waitFor('failed', () => {
      const st = JSON.parse(readFileSync(`${t.runtimeDir('crashy')}/heartbeat.json`, 'utf8')) as {
        state: string;
      };
      return st.state === 'failed';
    });
    expect(s).toBe(true);
    const status = json<Status>(await t.sac(['--json', 'agents', 'status', 'crashy']));
    expect(status).toMatchObject({ liveness: 'failed', restarts: 2, exit_reason: 'max-retries' });
    expect(status.stderr_tail.join('\n')).toMatch(/this-flag-does-not-exist|unknown option/);
    const text = await t.sac(['agents', 'status', 'crashy']);
    expect(text.stdout).toMatch(/last lines of Claude Code stderr/);
  });

  it('reports a killed supervisor at once, and resurrect brings the agent back with its session', async () => {
    const t = await e2e();
    t.agent('lazarus', '  startup_prompts: ["remember OKAPI"]\n');
    expect((await t.sac(['agents', 'start', 'lazarus'])).code).toBe(0);
    await waitFor('first result', () => t.transcript('lazarus').some((r) => r.type === 'result'));
    const hb = await waitFor('session id in the heartbeat', () => {
      const h = t.heartbeat('lazarus');
      return h.session_id ? h : undefined;
    });
    process.kill(hb.pid, 'SIGKILL');
    await waitFor('supervisor gone', () => !isAlive(hb.pid));
    // the sandbox dies with its supervisor
    if (hb.claude_pid) await waitFor('claude gone', () => !isAlive(hb.claude_pid!), 10_000);
    const dead = json<Status>(await t.sac(['--json', 'agents', 'status', 'lazarus']));
    expect(dead.liveness).toBe('dead');
    expect((await t.sac(['agents', 'send', 'lazarus', 'hi'])).code).toBe(8);
    const res = await t.sac(['--json', 'agents', 'resurrect']);
    expect(res.code, res.stderr).toBe(0);
    expect(json<{ agents: { name: string; ok: boolean }[] }>(res).agents).toEqual([
      expect.objectContaining({ name: 'lazarus', ok: true }),
    ]);
    const back = await t.sac(['agents', 'send', 'lazarus', 'are you back?']);
    expect(back).toMatchObject({ code: 0, stdout: 'FAKE_REPLY: are you back?\n' });
    const last = t.fake.requests.filter((r) => r.bodyText.includes('are you back?')).at(-1);
    expect(last?.bodyText).toContain('remember OKAPI');
    expect(json<Status>(await t.sac(['--json', 'agents', 'status', 'lazarus'])).session_id).toBe(
      hb.session_id,
    );
    // startup prompts are not repeated on recovery
    expect(
      t.transcript('lazarus').filter((r) => r.type === 'user' && r.text === 'remember OKAPI'),
    ).toHaveLength(1);
    expect((await t.sac(['agents', 'stop', 'lazarus'])).code).toBe(0);
  });

  it('one-shot runs its startup prompts and exits by itself', async () => {
    const t = await e2e();
    t.agent('once', '  residency: one-shot\n  startup_prompts: ["do the one thing"]\n');
    expect((await t.sac(['agents', 'start', 'once'])).code).toBe(0);
    const deadline = Date.now() + 30_000;
    let s: Status;
    for (;;) {
      s = json<Status>(await t.sac(['--json', 'agents', 'status', 'once']));
      if (s.liveness !== 'running' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(s).toMatchObject({ liveness: 'stopped', exit_reason: 'oneshot-complete' });
    expect(
      t
        .transcript('once')
        .some((r) => r.type === 'assistant' && r.text === 'FAKE_REPLY: do the one thing'),
    ).toBe(true);
  });
});
