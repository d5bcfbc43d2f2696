/**
 * The agent's transcript, `runtime/<name>/session.jsonl`: one JSON object per line, the original's
 * record types (`user`, `assistant`, `result`, `error`, `supervisor`) plus tool calls and results,
 * timestamps in UTC RFC 3339, known secret shapes redacted. Mapping SDK messages is pure.
 * @module
 */
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { redactSecrets } from '../util/redact.ts';

export type TranscriptRecord =
  | { ts: string; type: 'user'; text: string; turn_id?: string; caller?: string }
  | { ts: string; type: 'assistant'; text: string }
  | { ts: string; type: 'tool_use'; id: string; name: string; input: string }
  | { ts: string; type: 'tool_result'; tool_use_id: string; content: string; is_error: boolean }
  | {
      ts: string;
      type: 'result';
      subtype: string;
      is_error: boolean;
      session_id: string;
      num_turns: number;
      usage: Record<string, number>;
      total_cost_usd: number;
      text?: string;
      turn_id?: string;
    }
  | { ts: string; type: 'system'; subtype: string; session_id?: string; model?: string }
  | { ts: string; type: 'error'; kind: string; detail: string }
  | ({ ts: string; type: 'supervisor'; event: string } & Record<string, unknown>);

/** Tool inputs and outputs can be huge; the transcript keeps a readable head of each. */
export const MAX_FIELD = 4000;

function clip(s: string): string {
  const r = redactSecrets(s);
  return r.length > MAX_FIELD
    ? `${r.slice(0, MAX_FIELD)}… [${r.length - MAX_FIELD} more chars]`
    : r;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b: { type?: string; text?: string; content?: unknown }) =>
      b.type === 'text' ? (b.text ?? '') : b.type === 'tool_result' ? textOf(b.content) : '',
    )
    .join('');
}

type Block = { type: string; [k: string]: unknown };

/** The transcript records one SDK message stands for (often none: stream events, hooks, ...). */
export function transcriptRecords(
  msg: SDKMessage,
  ts = new Date().toISOString(),
): TranscriptRecord[] {
  switch (msg.type) {
    case 'assistant': {
      const out: TranscriptRecord[] = [];
      for (const b of msg.message.content as unknown as Block[]) {
        if (b.type === 'text' && typeof b.text === 'string' && b.text) {
          out.push({ ts, type: 'assistant', text: redactSecrets(b.text) });
        } else if (b.type === 'tool_use') {
          out.push({
            ts,
            type: 'tool_use',
            id: String(b.id),
            name: String(b.name),
            input: clip(JSON.stringify(b.input ?? {})),
          });
        }
      }
      if (msg.error) out.push({ ts, type: 'error', kind: 'assistant', detail: String(msg.error) });
      return out;
    }
    case 'user': {
      const content = msg.message.content;
      if (!Array.isArray(content)) return [];
      return (content as unknown as Block[])
        .filter((b) => b.type === 'tool_result')
        .map((b) => ({
          ts,
          type: 'tool_result' as const,
          tool_use_id: String(b.tool_use_id),
          content: clip(textOf(b.content)),
          is_error: b.is_error === true,
        }));
    }
    case 'result': {
      const u = msg.usage as unknown as Record<string, unknown>;
      const usage: Record<string, number> = {};
      for (const k of [
        'input_tokens',
        'output_tokens',
        'cache_creation_input_tokens',
        'cache_read_input_tokens',
      ]) {
        if (typeof u[k] === 'number') usage[k] = u[k];
      }
      return [
        {
          ts,
          type: 'result',
          subtype: msg.subtype,
          is_error: msg.is_error,
          session_id: msg.session_id,
          num_turns: msg.num_turns,
          usage,
          total_cost_usd: msg.total_cost_usd,
          ...(msg.subtype === 'success' ? { text: redactSecrets(msg.result) } : {}),
        },
      ];
    }
    case 'system':
      return msg.subtype === 'init'
        ? [{ ts, type: 'system', subtype: 'init', session_id: msg.session_id, model: msg.model }]
        : [];
    case 'auth_status':
    case 'conversation_reset':
    case 'prompt_suggestion':
    case 'rate_limit_event':
    case 'stream_event':
    case 'tool_progress':
    case 'tool_use_summary':
    default:
      // stream events, hooks, status and the like are not part of the transcript
      return [];
  }
}

/** The text of an assistant message (what a turn "says"). */
export function assistantText(msg: SDKMessage): string {
  if (msg.type !== 'assistant') return '';
  return (msg.message.content as unknown as Block[])
    .filter((b) => b.type === 'text')
    .map((b) => (typeof b.text === 'string' ? b.text : ''))
    .join('');
}
