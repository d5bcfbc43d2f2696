/**
 * `spec.claude.flags` are Claude Code command-line flags. The Agent SDK has options for the common
 * ones; those are mapped (so the SDK and sac agree on them), the rest pass through as extra CLI
 * arguments. Pure.
 * @module
 */
import type { PermissionMode } from '@anthropic-ai/claude-agent-sdk';

export interface FlagOptions {
  permissionMode: PermissionMode;
  allowDangerouslySkipPermissions: boolean;
  allowedTools?: string[];
  disallowedTools?: string[];
  appendSystemPrompt?: string;
  maxTurns?: number;
  /** Everything else, as the SDK's `extraArgs` (`--name value` → `{name: value}`, bare → null). */
  extraArgs: Record<string, string | null>;
  /** Flags sac refuses because they would undo what it manages (model, session, settings, mcp). */
  ignored: string[];
}

const PERMISSION_MODES = new Set([
  'default',
  'acceptEdits',
  'bypassPermissions',
  'plan',
  'dontAsk',
  'auto',
]);
/** Managed by sac itself; a spec flag must not override them. */
const MANAGED = new Set([
  'model',
  'resume',
  'continue',
  'c',
  'r',
  'session-id',
  'setting-sources',
  'settings',
  'mcp-config',
  'strict-mcp-config',
  'output-format',
  'input-format',
  'print',
  'p',
  'verbose',
]);

const list = (v: string): string[] => v.split(/[,\s]+/).filter(Boolean);

/** Map Claude Code flags onto SDK options. `--flag=value` and `--flag value` are both understood. */
export function mapClaudeFlags(flags: readonly string[]): FlagOptions {
  const out: FlagOptions = {
    permissionMode: 'default',
    allowDangerouslySkipPermissions: false,
    extraArgs: {},
    ignored: [],
  };
  for (let i = 0; i < flags.length; i++) {
    const raw = flags[i]!;
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(raw);
    if (!m) {
      out.ignored.push(raw);
      continue;
    }
    const name = m[1]!;
    const takesValue = (): string | undefined => {
      if (m[2] !== undefined) return m[2];
      const next = flags[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        i++;
        return next;
      }
      return undefined;
    };
    switch (name) {
      case 'dangerously-skip-permissions':
        out.permissionMode = 'bypassPermissions';
        out.allowDangerouslySkipPermissions = true;
        break;
      case 'permission-mode': {
        const v = takesValue();
        if (v && PERMISSION_MODES.has(v)) {
          out.permissionMode = v as PermissionMode;
          if (v === 'bypassPermissions') out.allowDangerouslySkipPermissions = true;
        } else out.ignored.push(raw);
        break;
      }
      case 'allowedTools':
      case 'allowed-tools': {
        const v = takesValue();
        if (v) out.allowedTools = [...(out.allowedTools ?? []), ...list(v)];
        break;
      }
      case 'disallowedTools':
      case 'disallowed-tools': {
        const v = takesValue();
        if (v) out.disallowedTools = [...(out.disallowedTools ?? []), ...list(v)];
        break;
      }
      case 'append-system-prompt': {
        const v = takesValue();
        if (v !== undefined) out.appendSystemPrompt = v;
        break;
      }
      case 'max-turns': {
        const v = Number(takesValue());
        if (Number.isInteger(v) && v > 0) out.maxTurns = v;
        else out.ignored.push(raw);
        break;
      }
      default: {
        if (MANAGED.has(name)) {
          out.ignored.push(raw);
          if (m[2] === undefined && flags[i + 1] !== undefined && !flags[i + 1]!.startsWith('-'))
            i++;
          break;
        }
        const v =
          m[2] ??
          (flags[i + 1] !== undefined && !flags[i + 1]!.startsWith('-') ? flags[++i]! : null);
        out.extraArgs[name] = v;
      }
    }
  }
  return out;
}
