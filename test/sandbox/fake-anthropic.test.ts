/** The fake Anthropic API's own contract, so tests built on it can trust their scripting. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.ts';
import type { FakeAnthropic } from '../fixtures/fake-anthropic.ts';

const TOKEN = 'sk-real-fake-test';

async function post(
  fake: FakeAnthropic,
  body: unknown,
  headers: Record<string, string> = { 'x-api-key': TOKEN },
) {
  const res = await fetch(`${fake.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

interface Reply {
  content: { type: string; text?: string; name?: string; input?: unknown }[];
  stop_reason?: string;
  error?: { type: string };
}
const json = (text: string): Reply => JSON.parse(text) as Reply;

const user = (text: string) => ({
  model: 'm',
  messages: [{ role: 'user', content: [{ type: 'text', text }] }],
});

describe('fake Anthropic API', () => {
  let fake: FakeAnthropic;
  beforeAll(async () => {
    fake = await startFakeAnthropic({ expectToken: TOKEN, forbidden: ['AGENT-TOKEN'] });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('requires the expected token (x-api-key or Bearer) and records whether it was seen', async () => {
    expect((await post(fake, user('hi'), { 'x-api-key': 'wrong' })).status).toBe(401);
    expect((await post(fake, user('hi'), { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect(fake.requests.map((r) => r.tokenOk)).toEqual([false, true]);
    expect(fake.requests[0]?.headers['x-api-key']).toBe('<5 chars>');
  });

  it('scripts replies: text, USE_BASH, USE_WRITE, FAIL_nnn; tool results are echoed', async () => {
    expect(json((await post(fake, user('hello'))).text).content[0]?.text).toBe('FAKE_REPLY: hello');
    const bash = json((await post(fake, user('USE_BASH: echo hi'))).text);
    expect(bash.content[0]).toMatchObject({
      type: 'tool_use',
      name: 'Bash',
      input: { command: 'echo hi' },
    });
    expect(bash.stop_reason).toBe('tool_use');
    const write = json((await post(fake, user('USE_WRITE: /work/x.txt some content'))).text);
    expect(write.content[0]).toMatchObject({
      name: 'Write',
      input: { file_path: '/work/x.txt', content: 'some content\n' },
    });
    const fail = await post(fake, user('please FAIL_529'));
    expect(fail.status).toBe(529);
    expect(json(fail.text).error?.type).toBe('overloaded_error');
    const seen = await post(fake, {
      messages: [
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'out' }] },
      ],
    });
    expect(json(seen.text).content[0]?.text).toBe('TOOL_RESULT_SEEN: out');
  });

  it('streams SSE when asked; SLOW streams many deltas', async () => {
    const quick = await post(fake, { ...user('hi'), stream: true });
    expect(quick.text).toMatch(/^event: message_start\n/);
    expect(quick.text).toContain('event: message_stop');
    const ac = new AbortController();
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': TOKEN },
      body: JSON.stringify({ ...user('SLOW please'), stream: true }),
      signal: ac.signal,
    });
    const reader = res.body?.getReader();
    let text = '';
    while (!text.includes('[2]'))
      text += new TextDecoder().decode((await reader?.read())?.value as Uint8Array | undefined);
    ac.abort();
    expect(text).toContain('SLOW please [1]');
  });

  it('keeps each body and flags forbidden strings', async () => {
    fake.requests.length = 0;
    await post(fake, user('marker-XYZ and AGENT-TOKEN'));
    expect(fake.requests[0]?.bodyText).toContain('marker-XYZ');
    expect(fake.requests[0]?.nMessages).toBe(1);
    expect(fake.requests[0]?.forbiddenSeen).toBe(true);
  });
});
